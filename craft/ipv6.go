package craft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// EtherTypeIPv6 is the EtherType of an IPv6 packet (RFC 2464 §3).
const EtherTypeIPv6 uint16 = 0x86dd

// IPv6 next-header values (IANA "protocol-numbers"; RFC 8200 §4).
const (
	ProtoHopByHop uint8 = 0  // Hop-by-Hop Options header (RFC 8200 §4.3)
	ProtoRouting  uint8 = 43 // Routing header (RFC 8200 §4.4)
	ProtoFragment uint8 = 44 // Fragment header (RFC 8200 §4.5)
	ProtoICMPv6   uint8 = 58 // ICMPv6 (RFC 4443)
	ProtoNoNext   uint8 = 59 // No Next Header (RFC 8200 §4.7)
	ProtoDestOpts uint8 = 60 // Destination Options header (RFC 8200 §4.6)
)

// IPv6HeaderLen is the length of the fixed IPv6 header (RFC 8200 §3).
const IPv6HeaderLen = 40

// MinIPv6MTU is the smallest link MTU IPv6 allows (RFC 8200 §5): an ICMPv6
// error quotes as much of the offending packet as fits in it.
const MinIPv6MTU = 1280

// IPv6 is an Internet Protocol version 6 header (RFC 8200 §3):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Traffic Class |           Flow Label                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Payload Length        |  Next Header  |   Hop Limit   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                         Source Address                        +
//	|                          (128 bits)                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                      Destination Address                      +
//	|                          (128 bits)                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// There is no header checksum: TCP, UDP and ICMPv6 checksums cover the
// addresses through the pseudo-header (RFC 8200 §8.1).
type IPv6 struct {
	Version      Auto[uint8] // 4 bits; 6 unless forced
	TrafficClass uint8       // DSCP (6 bits, RFC 2474) and ECN (2 bits, RFC 3168)
	FlowLabel    uint32      // 20 bits (RFC 6437); zero means "no flow"
	// PayloadLen, the bytes after this header, extension headers included
	// (16 bits). Computed unless forced.
	PayloadLen Auto[uint16]
	// NextHeader: the first extension header's type, or the transport's
	// protocol. Computed from what follows unless forced.
	NextHeader Auto[uint8]
	// HopLimit: each router decrements it and drops the packet at zero,
	// answering with ICMPv6 time exceeded (RFC 8200 §3). 64 unless forced.
	HopLimit Auto[uint8]
	Src      netip.Addr // an IPv4 address is written IPv4-mapped; the zero Addr as ::
	Dst      netip.Addr
}

// Len returns IPv6HeaderLen.
func (h *IPv6) Len() int { return IPv6HeaderLen }

// Encode writes the header into b[:40], taking the rest of b as its payload
// for the payload length; next is the next header written unless forced.
func (h *IPv6) Encode(b []byte, next uint8) error {
	if len(b) < IPv6HeaderLen {
		return &FieldError{Layer: "IPv6", Field: "buffer", Value: uint64(len(b)), Max: IPv6HeaderLen, Err: ErrTruncated}
	}
	ver := h.Version.Or(6)
	if ver > 15 {
		return rangeErr("IPv6", "version", uint64(ver), 15)
	}
	if h.FlowLabel > 0xfffff {
		return rangeErr("IPv6", "flow label", uint64(h.FlowLabel), 0xfffff)
	}
	pl, forced := h.PayloadLen.Get()
	if !forced {
		if len(b)-IPv6HeaderLen > 0xffff {
			return &FieldError{Layer: "IPv6", Field: "payload length", Value: uint64(len(b) - IPv6HeaderLen), Max: 0xffff, Err: ErrTooLong}
		}
		pl = uint16(len(b) - IPv6HeaderLen)
	}
	binary.BigEndian.PutUint64(b, uint64(ver)<<60|uint64(h.TrafficClass)<<52|uint64(h.FlowLabel)<<32|
		uint64(pl)<<16|uint64(h.NextHeader.Or(next))<<8|uint64(h.HopLimit.Or(64)))
	s, d := as16(h.Src), as16(h.Dst)
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
	return nil
}

func (h *IPv6) decode(b []byte, base int, layer string) error {
	*h = IPv6{}
	if len(b) >= 1 {
		h.Version = Set(b[0] >> 4)
	}
	if len(b) < IPv6HeaderLen {
		return &ParseError{Layer: layer, Field: "header", Offset: base, Err: ErrTruncated,
			Detail: fmt.Sprintf("%s, the header has 40", Units(len(b), "byte"))}
	}
	w := binary.BigEndian.Uint64(b)
	h.TrafficClass = uint8(w >> 52)
	h.FlowLabel = uint32(w>>32) & 0xfffff
	h.PayloadLen = Set(uint16(w >> 16))
	h.NextHeader = Set(uint8(w >> 8))
	h.HopLimit = Set(uint8(w))
	h.Src = netip.AddrFrom16([16]byte(b[8:24]))
	h.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	if v := b[0] >> 4; v != 6 {
		return &ParseError{Layer: layer, Field: "version", Offset: base, Err: ErrMalformed,
			Detail: fmt.Sprintf("version %d in an IPv6 header", v)}
	}
	return nil
}

// QuoteV6 returns the part of an IPv6 packet that an ICMPv6 error carries:
// as much of it as fits, with the error's 40-byte IPv6 and 8-byte ICMPv6
// headers, in the minimum MTU of 1280 bytes (RFC 4443 §2.4(c)): at most 1232
// bytes, a view of packet.
func QuoteV6(packet []byte) []byte {
	const most = MinIPv6MTU - IPv6HeaderLen - ICMPHeaderLen
	if len(packet) > most {
		return packet[:most]
	}
	return packet
}

// IPv6NextHeaderName names a next-header value.
func IPv6NextHeaderName(p uint8) string {
	switch p {
	case ProtoHopByHop:
		return "Hop-by-Hop Options header"
	case ProtoRouting:
		return "Routing header"
	case ProtoFragment:
		return "Fragment header"
	case ProtoDestOpts:
		return "Destination Options header"
	case ProtoICMPv6:
		return "ICMPv6"
	case ProtoNoNext:
		return "no next header"
	case 51:
		return "Authentication Header"
	case 50:
		return "Encapsulating Security Payload"
	case 135:
		return "Mobility header"
	case 4:
		return "IPv4 in IPv6"
	case 41:
		return "IPv6 in IPv6"
	}
	return protoName(p)
}
