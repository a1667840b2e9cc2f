package rawsock

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/rawcraft/rawcraft/craft"
)

// PermissionError is returned when the kernel refuses a raw socket. Its
// message says what to do.
type PermissionError struct {
	Op  string // "AF_PACKET socket", "raw IPv4 socket", "raw IPv6 socket"
	Err error
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("opening a %s needs CAP_NET_RAW (%v): run as root (sudo rawcraft …), or grant it once with sudo setcap cap_net_raw,cap_net_admin+ep $(which rawcraft)", e.Op, e.Err)
}

// Unwrap returns the system call's error.
func (e *PermissionError) Unwrap() error { return e.Err }

// Route is what sending a frame toward an address needs.
type Route struct {
	Iface   *net.Interface
	Src     netip.Addr // the source address the kernel would choose
	NextHop netip.Addr // the destination itself when on-link, else the gateway
	Gateway bool       // NextHop is a router
	SrcMAC  craft.MAC  // the interface's address
	DstMAC  craft.MAC  // the next hop's address
	// How says where DstMAC came from: "neighbour table", "ARP", "NDP"
	// (a Neighbor Solicitation, for an IPv6 next hop), "given",
	// "loopback" (both MACs zero), "broadcast", "multicast …", "NOARP …",
	// or "no link-layer header".
	How string
	// NoLink is set for an interface that carries no Ethernet header (no
	// 6-byte hardware address: a tun, a PPP link): only ViaIP sends there.
	NoLink bool
	// Datagrams is set on lo, toward this host's own addresses: a frame
	// sent there through AF_PACKET carries no route, and Linux's input
	// routing drops it as a martian (127.0.0.0/8 without route_localnet; a
	// local source address without accept_local: ip_route_input_slow,
	// fib_validate_source). IPv6 destinations on lo take the same path,
	// so that both families behave alike. A ViaPacket Tx therefore sends
	// its frames' datagrams through a raw IP socket of their family, where
	// the kernel fills IPv4's header checksum and total length and leaves
	// IPv6's header alone (KernelRewrites); the replies come back on lo,
	// where a listener sees them as frames.
	Datagrams bool
}

// Rewrite is a field of an IP header that the kernel fills in when the
// header is sent through a raw socket with IP_HDRINCL (raw(7)).
type Rewrite struct {
	Field string
	From  string // as built
	To    string // what the kernel writes, when known before sending
	Why   string
	// Changed: what goes out differs from what was built (or may: a value
	// the kernel chooses). A field the kernel rewrites to the value it
	// already holds is not changed.
	Changed bool
	// Kept: the kernel leaves the field as built, where it could have
	// filled it (a zero identification with DF set).
	Kept bool
}

// String says the rewrite in one line for a student: "kernel rewrites
// total length: 1000 → 40 (always set to the length handed to sendto)",
// "kernel fills total length (40, the same as built): always set to …",
// "kernel leaves identification 0: …".
func (r Rewrite) String() string {
	switch {
	case r.Kept:
		return fmt.Sprintf("kernel leaves %s %s: %s", r.Field, r.From, r.Why)
	case !r.Changed && r.From == r.To:
		return fmt.Sprintf("kernel fills %s (%s, the same as built): %s", r.Field, r.To, r.Why)
	}
	return fmt.Sprintf("kernel rewrites %s: %s → %s (%s)", r.Field, r.From, r.To, r.Why)
}

// KernelRewrites says which fields of datagram the kernel will fill or
// rewrite when it is sent through a raw IP socket (ViaIP). A datagram whose
// version field says 6 is taken as IPv6: see KernelRewrites6. For IPv4,
// with IP_HDRINCL: the header checksum and the total
// length always, the identification when it is zero and DF is clear (with
// DF set Linux leaves a zero ID alone, which raw(7) does not say), the
// source address when it is 0.0.0.0 (raw(7), "IP_HDRINCL"; net/ipv4/raw.c,
// raw_send_hdrinc; net/ipv4/route.h, ip_select_ident_segs). Everything else
// goes out as built. A deliberately bad checksum or a lying total length
// therefore needs AF_PACKET (--via packet). What the kernel refuses
// outright, an IHL below 5 among it, is KernelRefuses's; for such a
// datagram KernelRewrites returns nil.
func KernelRewrites(datagram []byte) []Rewrite {
	if len(datagram) > 0 && datagram[0]>>4 == 6 {
		return KernelRewrites6(datagram)
	}
	if len(datagram) < craft.IPv4HeaderLen {
		return nil
	}
	ihl := int(datagram[0]&0xf) * 4
	if ihl < craft.IPv4HeaderLen {
		return nil // refused (KernelRefuses)
	}
	var out []Rewrite
	tl := binary.BigEndian.Uint16(datagram[2:])
	if int(tl) != len(datagram) {
		out = append(out, Rewrite{"total length", fmt.Sprint(tl), fmt.Sprint(len(datagram)), "always set to the length handed to sendto", true, false})
	} else {
		out = append(out, Rewrite{"total length", fmt.Sprint(tl), fmt.Sprint(tl), "always set to the length handed to sendto", false, false})
	}
	hdr := datagram[:min(ihl, len(datagram))]
	cs := binary.BigEndian.Uint16(datagram[10:])
	var fixed [60]byte
	n := copy(fixed[:], hdr)
	binary.BigEndian.PutUint16(fixed[2:], uint16(len(datagram)))
	fixed[10], fixed[11] = 0, 0
	idFilled := binary.BigEndian.Uint16(datagram[4:]) == 0 && datagram[6]&0x40 == 0
	srcFilled := datagram[12]|datagram[13]|datagram[14]|datagram[15] == 0
	if !idFilled && !srcFilled {
		want := craft.Checksum(fixed[:n])
		out = append(out, Rewrite{"header checksum", fmt.Sprintf("0x%04x", cs), fmt.Sprintf("0x%04x", want), "always computed by the kernel", cs != want, false})
	} else {
		out = append(out, Rewrite{"header checksum", fmt.Sprintf("0x%04x", cs), "computed", "always computed by the kernel, over the identification and source it fills in", true, false})
	}
	if binary.BigEndian.Uint16(datagram[4:]) == 0 {
		if !idFilled {
			out = append(out, Rewrite{Field: "identification", From: "0", To: "0", Why: "with DF set the datagram is atomic and Linux keeps a zero ID (ip_select_ident; RFC 6864)", Kept: true})
		} else {
			out = append(out, Rewrite{"identification", "0", "chosen by the kernel", "filled in when zero and DF is clear", true, false})
		}
	}
	if srcFilled {
		out = append(out, Rewrite{"source address", "0.0.0.0", "the outgoing interface's address", "filled in when zero", true, false})
	}
	return out
}

// KernelRefuses says why the kernel would refuse to send datagram through
// a raw IP socket (ViaIP) on a link of the given MTU (0: not known yet), or
// returns nil. Linux's raw_send_hdrinc (net/ipv4/raw.c) refuses an IPv4
// datagram longer than the MTU (EMSGSIZE: a raw socket never fragments),
// shorter than a 20-byte header (EINVAL), or whose IHL×4 runs past its end
// (EINVAL); an IHL below 5 is refused too (EINVAL, measured on Linux 6.18
// by TestIPConnKernelRefusesAndChanges). rawv6_send_hdrinc refuses an IPv6
// packet longer than the MTU (EMSGSIZE) or shorter than its 40-byte header
// (EINVAL). The error names the rule; AF_PACKET (ViaPacket) sends such
// bytes as built.
func KernelRefuses(datagram []byte, mtu int) error {
	v6 := len(datagram) > 0 && datagram[0]>>4 == 6
	least := craft.IPv4HeaderLen
	if v6 {
		least = craft.IPv6HeaderLen
	}
	switch {
	case mtu > 0 && len(datagram) > mtu:
		return fmt.Errorf("the %d-byte datagram is longer than the link's MTU %d, and a raw IP socket never fragments: the kernel refuses it (EMSGSIZE, raw(7))", len(datagram), mtu)
	case len(datagram) < least:
		return fmt.Errorf("the %d-byte datagram is shorter than a %d-byte header: the kernel refuses it (EINVAL, raw(7))", len(datagram), least)
	case !v6 && datagram[0]&0xf < 5:
		return fmt.Errorf("IHL %d says the header is %d bytes, shorter than the 20 bytes every IPv4 header has: the kernel refuses it (EINVAL)", datagram[0]&0xf, int(datagram[0]&0xf)*4)
	case !v6 && int(datagram[0]&0xf)*4 > len(datagram):
		return fmt.Errorf("IHL %d says the header is %d bytes, longer than the %d-byte datagram: the kernel refuses it (EINVAL, raw(7): IP_HDRINCL checks the header length against the length handed to sendto)",
			datagram[0]&0xf, int(datagram[0]&0xf)*4, len(datagram))
	}
	return nil
}

// KernelRewrites6 says which fields of an IPv6 datagram the kernel fills or
// rewrites when it is sent through a raw IPv6 socket with IPPROTO_RAW
// (ListenIP6, ViaIP): none. Linux copies the datagram as given
// (net/ipv6/raw.c, rawv6_send_hdrinc; measured on Linux 6.18 by
// TestIPConn6KernelRewrites): a payload length that lies, a zero (::)
// source address, hop limit 0, any traffic class and flow label, a version
// other than 6, and wrong or zero TCP, UDP and ICMPv6 checksums all go out
// as built — unlike IPv4's IP_HDRINCL, which fills the total length, the
// header checksum, a zero ID and a zero source. What the kernel does
// decide: the route, by the destination address in the header (which
// IPConn passes to sendto), and the link layer; and a datagram larger than
// the outgoing interface's MTU is refused whole (EMSGSIZE), never
// fragmented. It returns nil; it exists so that a front end can say so
// beside IPv4's list.
func KernelRewrites6(datagram []byte) []Rewrite { return nil }
