package craft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ICMPv6 types (RFC 4443 §2.1, RFC 4861 §4; IANA "icmpv6-parameters").
// Types below 128 are errors, which quote the packet that caused them.
const (
	ICMPv6Unreachable     uint8 = 1
	ICMPv6PacketTooBig    uint8 = 2
	ICMPv6TimeExceeded    uint8 = 3
	ICMPv6ParamProblem    uint8 = 4
	ICMPv6EchoRequest     uint8 = 128
	ICMPv6EchoReply       uint8 = 129
	ICMPv6RouterSolicit   uint8 = 133 // RFC 4861 §4.1
	ICMPv6RouterAdvert    uint8 = 134 // RFC 4861 §4.2
	ICMPv6NeighborSolicit uint8 = 135 // RFC 4861 §4.3
	ICMPv6NeighborAdvert  uint8 = 136 // RFC 4861 §4.4
	ICMPv6Redirect        uint8 = 137 // RFC 4861 §4.5
)

// Destination unreachable codes (RFC 4443 §3.1; RFC 6550 §20.18; RFC 8883 §4).
const (
	CodeV6NoRoute         uint8 = 0 // no route to destination
	CodeV6AdminProhibited uint8 = 1 // communication administratively prohibited
	CodeV6BeyondScope     uint8 = 2 // beyond scope of source address
	CodeV6AddrUnreachable uint8 = 3 // address unreachable
	CodeV6PortUnreachable uint8 = 4 // port unreachable: nothing listens (UDP)
	CodeV6SourcePolicy    uint8 = 5 // source address failed ingress/egress policy
	CodeV6RejectRoute     uint8 = 6 // reject route to destination
	CodeV6SourceRouting   uint8 = 7 // error in source routing header (RFC 6550)
	CodeV6HeadersTooLong  uint8 = 8 // headers too long (RFC 8883)
)

// Parameter problem codes (RFC 4443 §3.4; RFC 7112 §5; RFC 8883 §3).
const (
	CodeV6ErroneousField  uint8 = 0 // erroneous header field encountered
	CodeV6UnknownNext     uint8 = 1 // unrecognized Next Header type
	CodeV6UnknownOption   uint8 = 2 // unrecognized IPv6 option
	CodeV6IncompleteChain uint8 = 3 // the first fragment has an incomplete header chain (RFC 7112)
)

// ICMPv6 is an ICMPv6 message header (RFC 4443 §2.1), laid out as ICMPv4's:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|        Rest of header: id/seq, MTU, pointer, NDP fields       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data: echo data, as much of the offending packet as fits in  |
//	|  1280 bytes (errors), or the NDP message body (see NDP)       |
//
// Unlike ICMPv4's, the checksum covers the IPv6 pseudo-header
// (RFC 4443 §2.3, RFC 8200 §8.1) with next header 58.
type ICMPv6 struct {
	Type     uint8
	Code     uint8
	Checksum Auto[uint16] // computed over the pseudo-header and message unless forced
	// Rest is the 32-bit word after the checksum: echo identifier (high 16)
	// and sequence (low 16); Packet Too Big, the MTU; parameter problem,
	// the pointer (a byte offset into the quoted packet); for NDP, the
	// message's first word (see NDP); otherwise unused, zero.
	Rest uint32
}

// Echo6 returns an ICMPv6 echo request (type 128).
func Echo6(id, seq uint16) ICMPv6 {
	return ICMPv6{Type: ICMPv6EchoRequest, Rest: uint32(id)<<16 | uint32(seq)}
}

// EchoReply6 returns an ICMPv6 echo reply (type 129).
func EchoReply6(id, seq uint16) ICMPv6 {
	return ICMPv6{Type: ICMPv6EchoReply, Rest: uint32(id)<<16 | uint32(seq)}
}

// Unreachable6 returns a destination unreachable message (type 1) with code.
func Unreachable6(code uint8) ICMPv6 { return ICMPv6{Type: ICMPv6Unreachable, Code: code} }

// PacketTooBig returns Packet Too Big (type 2) with the next link's MTU
// (RFC 4443 §3.2): what an IPv6 router sends instead of fragmenting.
func PacketTooBig(mtu uint32) ICMPv6 { return ICMPv6{Type: ICMPv6PacketTooBig, Rest: mtu} }

// TimeExceeded6 returns time exceeded (type 3): code 0 hop limit exceeded
// in transit, 1 fragment reassembly time exceeded.
func TimeExceeded6(code uint8) ICMPv6 { return ICMPv6{Type: ICMPv6TimeExceeded, Code: code} }

// ParamProblem6 returns parameter problem (type 4) with code and pointer,
// the byte offset in the quoted packet where the error was found.
func ParamProblem6(code uint8, pointer uint32) ICMPv6 {
	return ICMPv6{Type: ICMPv6ParamProblem, Code: code, Rest: pointer}
}

// ID is the echo identifier, the high 16 bits of Rest.
func (h *ICMPv6) ID() uint16 { return uint16(h.Rest >> 16) }

// Seq is the echo sequence number, the low 16 bits of Rest.
func (h *ICMPv6) Seq() uint16 { return uint16(h.Rest) }

// IsError reports whether the message is an error (type < 128), which
// quotes the packet that caused it.
func (h *ICMPv6) IsError() bool { return h.Type < 128 }

// Len returns 8, the header's length.
func (h *ICMPv6) Len() int { return ICMPHeaderLen }

// Encode writes the header into b[:8], taking the rest of b as the message's
// data; src and dst are the IPv6 pseudo-header's addresses (the final
// destination when a Routing header has segments left).
func (h *ICMPv6) Encode(b []byte, src, dst netip.Addr) error {
	s, d := as16(src), as16(dst)
	return h.encode(b, pseudoAddrs6(&s, &d))
}

func (h *ICMPv6) encode(b []byte, addrs uint64) error {
	if len(b) < ICMPHeaderLen {
		return &FieldError{Layer: "ICMPv6", Field: "buffer", Value: uint64(len(b)), Max: ICMPHeaderLen, Err: ErrTruncated}
	}
	w := uint64(h.Type)<<56 | uint64(h.Code)<<48 | uint64(h.Rest)
	binary.BigEndian.PutUint64(b, w)
	csum, ok := h.Checksum.Get()
	if !ok {
		csum = ^fold(sum(b[ICMPHeaderLen:], addrs+uint64(ProtoICMPv6)+uint64(len(b))+halves(w)))
	}
	binary.BigEndian.PutUint16(b[2:], csum)
	return nil
}

func (h *ICMPv6) decode(b []byte, base int, layer string) (int, error) {
	*h = ICMPv6{}
	if len(b) < ICMPHeaderLen {
		if len(b) >= 1 {
			h.Type = b[0]
		}
		if len(b) >= 2 {
			h.Code = b[1]
		}
		if len(b) >= 4 {
			h.Checksum = Set(binary.BigEndian.Uint16(b[2:]))
		}
		return len(b), &ParseError{Layer: layer, Field: "header", Offset: base, Err: ErrTruncated,
			Detail: fmt.Sprintf("%s, the header has 8", Units(len(b), "byte"))}
	}
	h.Type, h.Code = b[0], b[1]
	h.Checksum = Set(binary.BigEndian.Uint16(b[2:]))
	h.Rest = binary.BigEndian.Uint32(b[4:])
	return ICMPHeaderLen, nil
}

// ICMPv6TypeName names an ICMPv6 type.
func ICMPv6TypeName(t uint8) string {
	switch t {
	case ICMPv6Unreachable:
		return "destination unreachable"
	case ICMPv6PacketTooBig:
		return "packet too big"
	case ICMPv6TimeExceeded:
		return "time exceeded"
	case ICMPv6ParamProblem:
		return "parameter problem"
	case ICMPv6EchoRequest:
		return "echo request"
	case ICMPv6EchoReply:
		return "echo reply"
	case ICMPv6MLDQuery:
		return "multicast listener query"
	case ICMPv6MLDReport:
		return "multicast listener report"
	case ICMPv6MLDDone:
		return "multicast listener done"
	case ICMPv6MLDv2Report:
		return "version 2 multicast listener report"
	case ICMPv6RouterSolicit:
		return "router solicitation"
	case ICMPv6RouterAdvert:
		return "router advertisement"
	case ICMPv6NeighborSolicit:
		return "neighbor solicitation"
	case ICMPv6NeighborAdvert:
		return "neighbor advertisement"
	case ICMPv6Redirect:
		return "redirect"
	}
	return fmt.Sprintf("type %d", t)
}

var v6UnreachableCodes = [9]string{
	"no route to destination",
	"communication with destination administratively prohibited",
	"beyond scope of source address",
	"address unreachable",
	"port unreachable",
	"source address failed ingress/egress policy",
	"reject route to destination",
	"error in source routing header",
	"headers too long",
}

var v6ParamCodes = [4]string{
	"erroneous header field encountered",
	"unrecognized Next Header type encountered",
	"unrecognized IPv6 option encountered",
	"IPv6 first fragment has incomplete IPv6 header chain",
}

// ICMPv6CodeName names the code of an ICMPv6 type (RFC 4443 §3, RFC 7112,
// RFC 8883).
func ICMPv6CodeName(t, c uint8) string {
	switch {
	case t == ICMPv6Unreachable && int(c) < len(v6UnreachableCodes):
		return v6UnreachableCodes[c]
	case t == ICMPv6TimeExceeded && c == 0:
		return "hop limit exceeded in transit"
	case t == ICMPv6TimeExceeded && c == 1:
		return "fragment reassembly time exceeded"
	case t == ICMPv6ParamProblem && int(c) < len(v6ParamCodes):
		return v6ParamCodes[c]
	case c == 0:
		return "no code"
	}
	return fmt.Sprintf("code %d", c)
}
