package craft

import (
	"encoding/binary"
	"fmt"
)

// ICMP types (RFC 792; IANA "icmp-parameters").
const (
	ICMPEchoReply      uint8 = 0
	ICMPUnreachable    uint8 = 3
	ICMPSourceQuench   uint8 = 4
	ICMPRedirect       uint8 = 5
	ICMPEcho           uint8 = 8
	ICMPTimeExceeded   uint8 = 11
	ICMPParamProblem   uint8 = 12
	ICMPTimestamp      uint8 = 13
	ICMPTimestampReply uint8 = 14
	ICMPInfoRequest    uint8 = 15 // information request (RFC 792), obsolete (RFC 6918)
	ICMPInfoReply      uint8 = 16 // information reply (RFC 792), obsolete (RFC 6918)
	ICMPAddrMaskReq    uint8 = 17 // address mask request (RFC 950), obsolete (RFC 6918)
	ICMPAddrMaskReply  uint8 = 18 // address mask reply (RFC 950), obsolete (RFC 6918)
)

// Destination unreachable codes (RFC 792; RFC 1122 §3.2.2.1; RFC 1812 §5.2.7.1).
const (
	CodeNetUnreachable   uint8 = 0
	CodeHostUnreachable  uint8 = 1
	CodeProtoUnreachable uint8 = 2
	CodePortUnreachable  uint8 = 3
	CodeFragNeeded       uint8 = 4 // fragmentation needed and DF set; carries the next-hop MTU (RFC 1191 §4)
	CodeSourceRouteFail  uint8 = 5
	CodeAdminProhibited  uint8 = 13 // communication administratively prohibited (RFC 1812)
)

// Time exceeded codes (RFC 792).
const (
	CodeTTLExceeded        uint8 = 0 // time to live exceeded in transit
	CodeReassemblyExceeded uint8 = 1 // fragment reassembly time exceeded
)

// ICMPHeaderLen is the length of the ICMP header: type, code, checksum and
// the 32-bit "rest of header".
const ICMPHeaderLen = 8

// ICMP is an ICMPv4 message header (RFC 792):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     Rest of header (by type)                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Data: echo data, or the quoted IP header + first 8 bytes …  |
//
// An error message (destination unreachable, time exceeded, parameter
// problem, redirect, source quench) carries as its data the IP header and at
// least the first 8 data bytes of the datagram that caused it (RFC 792;
// RFC 1812 §4.3.2.3 lets routers quote more). Those 8 bytes hold the UDP or
// TCP ports and the TCP sequence number, which is how a reply is matched to
// the probe that caused it.
type ICMP struct {
	Type     uint8
	Code     uint8
	Checksum Auto[uint16] // over the whole ICMP message, data included; computed unless forced
	// Rest is the 32-bit word after the checksum, whose meaning depends on
	// Type: echo and echo reply, identifier (high 16 bits) and sequence
	// number (low 16); destination unreachable code 4, unused (high) and the
	// next-hop MTU (low, RFC 1191 §4); parameter problem, the pointer (high
	// 8 bits); redirect, the gateway address; otherwise unused, zero.
	Rest uint32
}

// Echo returns an echo request (type 8) with identifier id and sequence seq.
func Echo(id, seq uint16) ICMP { return ICMP{Type: ICMPEcho, Rest: uint32(id)<<16 | uint32(seq)} }

// EchoReply returns an echo reply (type 0).
func EchoReply(id, seq uint16) ICMP {
	return ICMP{Type: ICMPEchoReply, Rest: uint32(id)<<16 | uint32(seq)}
}

// Unreachable returns a destination unreachable message (type 3) with code.
func Unreachable(code uint8) ICMP { return ICMP{Type: ICMPUnreachable, Code: code} }

// FragNeeded returns "fragmentation needed and DF set" (type 3, code 4) with
// the next-hop MTU of RFC 1191 §4.
func FragNeeded(mtu uint16) ICMP {
	return ICMP{Type: ICMPUnreachable, Code: CodeFragNeeded, Rest: uint32(mtu)}
}

// TimeExceeded returns a time exceeded message (type 11): code 0 for a TTL
// that reached zero in transit, 1 for a reassembly that timed out.
func TimeExceeded(code uint8) ICMP { return ICMP{Type: ICMPTimeExceeded, Code: code} }

// ID is the echo identifier, the high 16 bits of Rest.
func (h *ICMP) ID() uint16 { return uint16(h.Rest >> 16) }

// Seq is the echo sequence number, the low 16 bits of Rest.
func (h *ICMP) Seq() uint16 { return uint16(h.Rest) }

// MTU is the next-hop MTU of a fragmentation-needed message, the low 16 bits
// of Rest (RFC 1191 §4); zero from a router older than RFC 1191.
func (h *ICMP) MTU() uint16 { return uint16(h.Rest) }

// IsError reports whether the type is an error message that quotes a
// datagram: destination unreachable, source quench, redirect, time exceeded,
// parameter problem.
func (h *ICMP) IsError() bool { return IsICMPError(h.Type) }

// IsICMPError reports whether ICMP type t quotes the datagram that caused it.
func IsICMPError(t uint8) bool {
	switch t {
	case ICMPUnreachable, ICMPSourceQuench, ICMPRedirect, ICMPTimeExceeded, ICMPParamProblem:
		return true
	}
	return false
}

// Len returns ICMPHeaderLen.
func (h *ICMP) Len() int { return ICMPHeaderLen }

// Encode writes the header into b[:8], taking the rest of b as the message's
// data, which the checksum covers.
func (h *ICMP) Encode(b []byte) error {
	if len(b) < ICMPHeaderLen {
		return &FieldError{Layer: "ICMP", Field: "buffer", Value: uint64(len(b)), Max: ICMPHeaderLen, Err: ErrTruncated}
	}
	b[0], b[1], b[2], b[3] = h.Type, h.Code, 0, 0
	binary.BigEndian.PutUint32(b[4:], h.Rest)
	csum, ok := h.Checksum.Get()
	if !ok {
		csum = Checksum(b)
	}
	binary.BigEndian.PutUint16(b[2:], csum)
	return nil
}

func (h *ICMP) decode(b []byte, base int, layer string) (int, error) {
	*h = ICMP{}
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

// ICMPTypeName names an ICMP type.
func ICMPTypeName(t uint8) string {
	switch t {
	case ICMPEchoReply:
		return "echo reply"
	case ICMPUnreachable:
		return "destination unreachable"
	case ICMPSourceQuench:
		return "source quench"
	case ICMPRedirect:
		return "redirect"
	case ICMPEcho:
		return "echo request"
	case ICMPTimeExceeded:
		return "time exceeded"
	case ICMPParamProblem:
		return "parameter problem"
	case ICMPTimestamp:
		return "timestamp"
	case ICMPTimestampReply:
		return "timestamp reply"
	case ICMPInfoRequest:
		return "information request"
	case ICMPInfoReply:
		return "information reply"
	case ICMPAddrMaskReq:
		return "address mask request"
	case ICMPAddrMaskReply:
		return "address mask reply"
	}
	return fmt.Sprintf("type %d", t)
}

var unreachableCodes = [16]string{
	"net unreachable",
	"host unreachable",
	"protocol unreachable",
	"port unreachable",
	"fragmentation needed and DF set",
	"source route failed",
	"destination network unknown",
	"destination host unknown",
	"source host isolated",
	"communication with destination network administratively prohibited",
	"communication with destination host administratively prohibited",
	"network unreachable for type of service",
	"host unreachable for type of service",
	"communication administratively prohibited",
	"host precedence violation",
	"precedence cutoff in effect",
}

// ICMPCodeName names the code of an ICMP type, as RFC 792, RFC 1122 §3.2.2.1
// and RFC 1812 §5.2.7.1 do.
func ICMPCodeName(t, c uint8) string {
	switch {
	case t == ICMPUnreachable && int(c) < len(unreachableCodes):
		return unreachableCodes[c]
	case t == ICMPTimeExceeded && c == 0:
		return "time to live exceeded in transit"
	case t == ICMPTimeExceeded && c == 1:
		return "fragment reassembly time exceeded"
	case t == ICMPRedirect && c < 4:
		return [4]string{"redirect for network", "redirect for host", "redirect for TOS and network", "redirect for TOS and host"}[c]
	case t == ICMPParamProblem && c == 0:
		return "pointer indicates the error"
	case c == 0:
		return "no code"
	}
	return fmt.Sprintf("code %d", c)
}
