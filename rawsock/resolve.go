package rawsock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/rawcraft/rawcraft/craft"
)

// ResolveConfig overrides steps of Resolve. A nil *ResolveConfig resolves
// everything.
type ResolveConfig struct {
	Iface  string     // outgoing interface, instead of the routing table's
	Src    netip.Addr // source address, instead of the route's
	SrcMAC *craft.MAC // instead of the interface's
	DstMAC *craft.MAC // instead of the neighbour table or ARP
	// ARPWait bounds each ARP attempt, or each Neighbor Solicitation for
	// an IPv6 next hop (default 300 ms); ARPTries bounds the attempts
	// (default 3).
	ARPWait  time.Duration
	ARPTries int
}

// ErrNoARPReply is returned when no host answered the ARP requests.
var ErrNoARPReply = errors.New("no ARP reply")

// ErrNoNDPReply is returned when no host answered the Neighbor
// Solicitations for an IPv6 address.
var ErrNoNDPReply = errors.New("no Neighbor Advertisement")

// ARP asks who has target with a request built with craft (RFC 826),
// broadcast on ifi, and waits at most wait for each of tries attempts
// (defaults 300 ms and 3). A BPF filter in the kernel passes only replies
// from target.
func ARP(ifi *net.Interface, srcMAC craft.MAC, src, target netip.Addr, wait time.Duration, tries int) (craft.MAC, error) {
	if wait <= 0 {
		wait = 300 * time.Millisecond
	}
	if tries <= 0 {
		tries = 3
	}
	filter, err := ARPReplyFilter(target)
	if err != nil {
		return craft.MAC{}, err
	}
	c, err := Listen(ifi, &Config{EtherType: craft.EtherTypeARP, Filter: filter})
	if err != nil {
		return craft.MAC{}, err
	}
	defer c.Close()
	req := craft.Packet{
		Ethernet: &craft.Ethernet{Dst: craft.Broadcast, Src: srcMAC},
		ARP:      &craft.ARP{Op: craft.ARPRequest, SenderHW: srcMAC, SenderIP: src, TargetIP: target},
	}
	frame, err := req.Append(make([]byte, 0, craft.MinFrameLen))
	if err != nil {
		return craft.MAC{}, err
	}
	buf := make([]byte, 1514)
	var d craft.Decoded
	for i := 0; i < tries; i++ {
		if _, err := c.Send(frame); err != nil {
			return craft.MAC{}, fmt.Errorf("sending an ARP request for %v: %w", target, err)
		}
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) {
			_ = c.SetReadDeadline(deadline)
			n, err := c.Recv(buf)
			if err != nil {
				break
			}
			if d.DecodeFrame(buf[:n]) == nil && d.Has(craft.LayerARP) && d.ARP.Op == craft.ARPReply && d.ARP.SenderIP == target {
				return d.ARP.SenderHW, nil
			}
		}
	}
	return craft.MAC{}, fmt.Errorf("%w from %v on %s after %d requests %v apart: is it up and on this link?", ErrNoARPReply, target, ifi.Name, tries, wait)
}

// NDP asks for target's link-layer address with a Neighbor Solicitation
// built with craft (RFC 4861 §4.3, §7.2.2): from src (an address of ifi)
// and srcMAC, with a source link-layer address option, hop limit 255, to
// target's solicited-node multicast address (SolicitedNode) and the
// matching 33:33 MAC (MulticastMAC), on ifi. It waits at most wait for each
// of tries attempts (defaults 300 ms and 3). A BPF filter in the kernel
// passes only advertisements for target (NeighborAdvertFilter); the MAC is
// their target link-layer address option, which an answer to a multicast
// solicitation must carry (RFC 4861 §7.2.4; one without it is ignored,
// §7.2.5).
func NDP(ifi *net.Interface, srcMAC craft.MAC, src, target netip.Addr, wait time.Duration, tries int) (craft.MAC, error) {
	if wait <= 0 {
		wait = 300 * time.Millisecond
	}
	if tries <= 0 {
		tries = 3
	}
	target = target.WithZone("")
	filter, err := NeighborAdvertFilter(target)
	if err != nil {
		return craft.MAC{}, err
	}
	c, err := Listen(ifi, &Config{EtherType: craft.EtherTypeIPv6, Filter: filter})
	if err != nil {
		return craft.MAC{}, err
	}
	defer c.Close()
	group := SolicitedNode(target)
	ns := craft.NDP{Type: craft.ICMPv6NeighborSolicit, Target: target, Options: craft.AppendNDPOptLinkAddr(nil, craft.NDPOptSourceLinkAddr, srcMAC)}
	h := ns.Header()
	req := craft.Packet{
		Ethernet: &craft.Ethernet{Dst: MulticastMAC(group), Src: srcMAC},
		IPv6:     &craft.IPv6{HopLimit: craft.Set[uint8](255), Src: src.WithZone(""), Dst: group},
		ICMPv6:   &h,
		Payload:  ns.AppendBody(nil),
	}
	frame, err := req.Append(make([]byte, 0, 128))
	if err != nil {
		return craft.MAC{}, err
	}
	buf := make([]byte, 1514)
	d := craft.Decoded{AcceptIPv6: true}
	for i := 0; i < tries; i++ {
		if _, err := c.Send(frame); err != nil {
			return craft.MAC{}, fmt.Errorf("sending a Neighbor Solicitation for %v: %w", target, err)
		}
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) {
			_ = c.SetReadDeadline(deadline)
			n, err := c.Recv(buf)
			if err != nil {
				break
			}
			if mac, ok := advertised(&d, buf[:n], target); ok {
				return mac, nil
			}
		}
	}
	return craft.MAC{}, fmt.Errorf("%w from %v on %s after %d Neighbor Solicitations %v apart: is it up and on this link?", ErrNoNDPReply, target, ifi.Name, tries, wait)
}

// advertised returns the target link-layer address of frame when it is a
// Neighbor Advertisement for target, as RFC 4861 §7.1.2 has a receiver
// check it: hop limit 255, code 0, a good checksum.
func advertised(d *craft.Decoded, frame []byte, target netip.Addr) (craft.MAC, bool) {
	if d.DecodeFrame(frame) != nil || !d.Has(craft.LayerICMPv6) || d.ICMPv6.Type != craft.ICMPv6NeighborAdvert ||
		d.ICMPv6.Code != 0 || d.IPv6.HopLimit.Or(0) != 255 {
		return craft.MAC{}, false
	}
	var cs [2]craft.ChecksumResult
	for _, c := range d.Checksums(cs[:0]) {
		if c.Status != craft.ChecksumGood {
			return craft.MAC{}, false
		}
	}
	na, err := craft.ParseNDP(&d.ICMPv6, d.Payload)
	if err != nil || na.Target != target {
		return craft.MAC{}, false
	}
	for off := 0; off < len(na.Options); {
		o, nxt, err := craft.NextNDPOption(na.Options, off)
		if err != nil {
			break
		}
		if o.Type == craft.NDPOptTargetLinkAddr && len(o.Data) >= 6 {
			return craft.MAC(o.Data[:6]), true
		}
		off = nxt
	}
	return craft.MAC{}, false
}

// SolicitedNode returns the solicited-node multicast address of an IPv6
// address: ff02::1:ff00:0/104 with its low 24 bits (RFC 4291 §2.7.1),
// where a Neighbor Solicitation for it is sent.
func SolicitedNode(a netip.Addr) netip.Addr {
	b := a.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 0x01, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]})
}

// MulticastMAC returns the Ethernet address a multicast group maps to:
// 01:00:5e and the low 23 bits of an IPv4 group (RFC 1112 §6.4), 33:33 and
// the low 32 bits of an IPv6 group (RFC 2464 §7).
func MulticastMAC(group netip.Addr) craft.MAC {
	if group.Unmap().Is4() {
		b := group.Unmap().As4()
		return craft.MAC{0x01, 0x00, 0x5e, b[1] & 0x7f, b[2], b[3]}
	}
	b := group.As16()
	return craft.MAC{0x33, 0x33, b[12], b[13], b[14], b[15]}
}

// scope checks dst and the interface asked for, and returns dst without
// its zone and the interface its zone names: an IPv4-mapped IPv6 address is
// taken as the IPv4 address it maps; an IPv6 link-local address needs an
// interface, from its zone or from iface (the two must agree).
func scope(dst netip.Addr, iface string) (netip.Addr, string, error) {
	if !dst.IsValid() {
		return dst, "", errors.New("resolve: no destination address")
	}
	if dst.Is4In6() {
		return dst.Unmap(), iface, nil
	}
	if dst.Is4() {
		return dst, iface, nil
	}
	if z := dst.Zone(); z != "" {
		if iface != "" && iface != z {
			return dst, "", fmt.Errorf("resolve %v: its zone names %s, the interface given is %s", dst, z, iface)
		}
		dst, iface = dst.WithZone(""), z
	}
	if iface == "" && needsZone(dst) {
		return dst, "", fmt.Errorf("resolve %v: a link-local address needs its interface: add %%IFACE (%v%%eth0) or give --iface", dst, dst)
	}
	return dst, iface, nil
}

// needsZone says whether a is an IPv6 address that means something only on
// one link: link-local unicast, or interface- or link-local multicast.
func needsZone(a netip.Addr) bool {
	return a.Is6() && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast())
}

// IsDirectedBroadcast says whether a is the broadcast address (all host
// bits set, RFC 919 §7) of a subnet of /30 or larger configured on ifi.
func IsDirectedBroadcast(ifi *net.Interface, a netip.Addr) bool {
	addrs, err := ifi.Addrs()
	if err != nil {
		return false
	}
	for _, x := range addrs {
		p, err := netip.ParsePrefix(x.String())
		if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
			continue
		}
		if p.Contains(a) && lastAddr(p.Masked()) == a {
			return true
		}
	}
	return false
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= uint32(1)<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
