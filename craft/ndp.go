package craft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// NDP option types (RFC 4861 §4.6).
const (
	NDPOptSourceLinkAddr uint8 = 1
	NDPOptTargetLinkAddr uint8 = 2
	NDPOptPrefixInfo     uint8 = 3
	NDPOptRedirected     uint8 = 4
	NDPOptMTU            uint8 = 5
)

// NDP flag bits, the byte after the checksum's word (RFC 4861 §4.2, §4.4).
const (
	NDPFlagManaged   uint8 = 0x80 // RA M: addresses from DHCPv6
	NDPFlagOther     uint8 = 0x40 // RA O: other configuration from DHCPv6
	NDPFlagRouter    uint8 = 0x80 // NA R: the sender is a router
	NDPFlagSolicited uint8 = 0x40 // NA S: sent in answer to a solicitation
	NDPFlagOverride  uint8 = 0x20 // NA O: override a cached link address
)

// NDP is a Neighbor Discovery message (RFC 4861 §4), carried in ICMPv6:
// its first word goes in ICMPv6.Rest (see Header), the rest in the
// message's data (see AppendBody). Which fields count depends on Type:
//
//	RS (133)  reserved                                          options
//	RA (134)  cur hop limit, flags, router lifetime | reachable time,
//	          retrans timer                                     options
//	NS (135)  reserved | target                                 options
//	NA (136)  flags R S O, reserved | target                    options
//	Redirect (137)  reserved | target | destination             options
//
// NDP messages are sent with hop limit 255 and dropped by receivers with
// any other (RFC 4861 §6.1, §7.1.1).
type NDP struct {
	Type           uint8
	CurHopLimit    uint8      // RA: hop limit hosts should use; 0 unspecified
	Flags          uint8      // RA: M, O…; NA: R, S, O (NDPFlag…)
	RouterLifetime uint16     // RA: seconds as a default router; 0 not one
	ReachableTime  uint32     // RA: milliseconds
	RetransTimer   uint32     // RA: milliseconds
	Target         netip.Addr // NS, NA, Redirect
	Destination    netip.Addr // Redirect
	// Options as raw bytes (build with AppendNDPOpt…); a view when decoded.
	Options []byte
}

// Header returns the ICMPv6 header of the message: type, code 0, and the
// first word in Rest.
func (n *NDP) Header() ICMPv6 {
	h := ICMPv6{Type: n.Type}
	switch n.Type {
	case ICMPv6RouterAdvert:
		h.Rest = uint32(n.CurHopLimit)<<24 | uint32(n.Flags)<<16 | uint32(n.RouterLifetime)
	case ICMPv6NeighborAdvert:
		h.Rest = uint32(n.Flags) << 24
	}
	return h
}

// BodyLen returns the number of bytes AppendBody appends.
func (n *NDP) BodyLen() int {
	switch n.Type {
	case ICMPv6RouterAdvert:
		return 8 + len(n.Options)
	case ICMPv6NeighborSolicit, ICMPv6NeighborAdvert:
		return 16 + len(n.Options)
	case ICMPv6Redirect:
		return 32 + len(n.Options)
	}
	return len(n.Options)
}

// AppendBody appends what follows the 8-byte ICMPv6 header: the message's
// fixed fields and its options. It allocates nothing when b has room.
func (n *NDP) AppendBody(b []byte) []byte {
	switch n.Type {
	case ICMPv6RouterAdvert:
		b = binary.BigEndian.AppendUint32(b, n.ReachableTime)
		b = binary.BigEndian.AppendUint32(b, n.RetransTimer)
	case ICMPv6NeighborSolicit, ICMPv6NeighborAdvert:
		t := as16(n.Target)
		b = append(b, t[:]...)
	case ICMPv6Redirect:
		t, d := as16(n.Target), as16(n.Destination)
		b = append(append(b, t[:]...), d[:]...)
	}
	return append(b, n.Options...)
}

// ParseNDP reads an NDP message from its ICMPv6 header and the bytes after
// it. Options is a view of body. A body shorter than the type's fixed
// fields returns ErrTruncated with what was there.
func ParseNDP(h *ICMPv6, body []byte) (NDP, error) {
	n := NDP{Type: h.Type}
	fixed := 0
	switch h.Type {
	case ICMPv6RouterSolicit:
	case ICMPv6RouterAdvert:
		n.CurHopLimit, n.Flags, n.RouterLifetime = uint8(h.Rest>>24), uint8(h.Rest>>16), uint16(h.Rest)
		fixed = 8
		if len(body) >= 8 {
			n.ReachableTime = binary.BigEndian.Uint32(body)
			n.RetransTimer = binary.BigEndian.Uint32(body[4:])
		}
	case ICMPv6NeighborSolicit, ICMPv6NeighborAdvert:
		if h.Type == ICMPv6NeighborAdvert {
			n.Flags = uint8(h.Rest >> 24)
		}
		fixed = 16
		if len(body) >= 16 {
			n.Target = netip.AddrFrom16([16]byte(body))
		}
	case ICMPv6Redirect:
		fixed = 32
		if len(body) >= 32 {
			n.Target = netip.AddrFrom16([16]byte(body))
			n.Destination = netip.AddrFrom16([16]byte(body[16:]))
		}
	default:
		return n, &ParseError{Layer: "NDP", Field: "type", Offset: 0, Err: ErrMalformed, Detail: fmt.Sprintf("type %d is not an NDP message", h.Type)}
	}
	if len(body) < fixed {
		return n, &ParseError{Layer: "NDP", Field: "body", Offset: ICMPHeaderLen + len(body), Err: ErrTruncated,
			Detail: fmt.Sprintf("%s has %d bytes after the ICMPv6 header, %d present", ICMPv6TypeName(h.Type), fixed, len(body))}
	}
	n.Options = body[fixed:]
	return n, nil
}

// IsNDP reports whether an ICMPv6 type is a Neighbor Discovery message.
func IsNDP(t uint8) bool { return t >= ICMPv6RouterSolicit && t <= ICMPv6Redirect }

// AppendNDPOpt appends an NDP option: type, length in 8-byte units, data,
// and zero bytes to the next multiple of 8 (RFC 4861 §4.6).
func AppendNDPOpt(b []byte, typ uint8, data []byte) []byte {
	n := (2 + len(data) + 7) &^ 7
	b = append(append(b, typ, uint8(n/8)), data...)
	for range n - 2 - len(data) {
		b = append(b, 0)
	}
	return b
}

// AppendNDPOptLinkAddr appends a source (NDPOptSourceLinkAddr) or target
// (NDPOptTargetLinkAddr) link-layer address option (RFC 4861 §4.6.1).
func AppendNDPOptLinkAddr(b []byte, typ uint8, mac MAC) []byte {
	return append(b, typ, 1, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
}

// AppendNDPOptMTU appends an MTU option (RFC 4861 §4.6.4).
func AppendNDPOptMTU(b []byte, mtu uint32) []byte {
	return binary.BigEndian.AppendUint32(append(b, NDPOptMTU, 1, 0, 0), mtu)
}

// NDP prefix information flags (RFC 4861 §4.6.2).
const (
	PrefixOnLink     uint8 = 0x80 // L
	PrefixAutonomous uint8 = 0x40 // A: usable for SLAAC
)

// AppendNDPOptPrefix appends a Prefix Information option (RFC 4861 §4.6.2):
// the prefix, its flags (PrefixOnLink, PrefixAutonomous) and its valid and
// preferred lifetimes in seconds.
func AppendNDPOptPrefix(b []byte, prefix netip.Prefix, flags uint8, valid, preferred uint32) []byte {
	b = append(b, NDPOptPrefixInfo, 4, uint8(prefix.Bits()), flags)
	b = binary.BigEndian.AppendUint32(b, valid)
	b = binary.BigEndian.AppendUint32(b, preferred)
	b = append(b, 0, 0, 0, 0)
	a := as16(prefix.Addr())
	return append(b, a[:]...)
}

// NDPOption is one option of an NDP message; Data is a view of the bytes
// after the type and length.
type NDPOption struct {
	Type uint8
	Len  uint8 // in 8-byte units, type and length included
	Data []byte
}

// NextNDPOption reads the option at opts[off:], returning it and the
// offset of the next. A length of zero, or one running past opts, returns
// ErrMalformed: receivers discard such a message (RFC 4861 §4.6).
func NextNDPOption(opts []byte, off int) (NDPOption, int, error) {
	if off+2 > len(opts) {
		if off < len(opts) {
			return NDPOption{Type: opts[off]}, len(opts), ErrMalformed
		}
		return NDPOption{}, off, ErrTruncated
	}
	o := NDPOption{Type: opts[off], Len: opts[off+1]}
	end := off + 8*int(o.Len)
	if o.Len == 0 || end > len(opts) {
		o.Data = opts[off+2:]
		return o, len(opts), ErrMalformed
	}
	o.Data = opts[off+2 : end]
	return o, end, nil
}

// DescribeNDPOption says what an option holds.
func DescribeNDPOption(o NDPOption) string {
	switch {
	case (o.Type == NDPOptSourceLinkAddr || o.Type == NDPOptTargetLinkAddr) && len(o.Data) >= 6:
		who := "source"
		if o.Type == NDPOptTargetLinkAddr {
			who = "target"
		}
		return fmt.Sprintf("%s link-layer address %v", who, MAC(o.Data[:6]))
	case o.Type == NDPOptPrefixInfo && len(o.Data) == 30:
		p := netip.PrefixFrom(netip.AddrFrom16([16]byte(o.Data[14:30])), int(o.Data[0]))
		return fmt.Sprintf("prefix %v, L=%d A=%d, valid %ds, preferred %ds", p, o.Data[1]>>7, o.Data[1]>>6&1,
			binary.BigEndian.Uint32(o.Data[2:]), binary.BigEndian.Uint32(o.Data[6:]))
	case o.Type == NDPOptMTU && len(o.Data) == 6:
		return fmt.Sprintf("MTU %d", binary.BigEndian.Uint32(o.Data[2:]))
	case o.Type == NDPOptRedirected:
		return fmt.Sprintf("redirected header: %d bytes of the packet that caused the redirect", max(len(o.Data)-6, 0))
	}
	return fmt.Sprintf("option type %d, %d bytes", o.Type, 8*int(o.Len))
}
