package craft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// UDPHeaderLen is the length of a UDP header.
const UDPHeaderLen = 8

// MaxUDPPayload is the most data one IPv4 UDP datagram can carry: 65535 − 20 (IPv4 header) − 8 (UDP header) = 65507 bytes.
const MaxUDPPayload = MaxIPv4Len - IPv4HeaderLen - UDPHeaderLen

// UDP is a User Datagram Protocol header (RFC 768):
//
//	 0      7 8     15 16    23 24    31
//	+--------+--------+--------+--------+
//	|     Source      |   Destination   |
//	|      Port       |      Port       |
//	+--------+--------+--------+--------+
//	|                 |                 |
//	|     Length      |    Checksum     |
//	+--------+--------+--------+--------+
type UDP struct {
	SrcPort uint16 // optional in RFC 768: zero when no reply is expected
	DstPort uint16
	// Length of header and data (16 bits); computed unless forced.
	Length Auto[uint16]
	// Checksum over the pseudo-header, header and data (RFC 768). Computed
	// unless forced; a computed zero is sent as 0xffff, because Set(0) means
	// "no checksum" (the receiver skips the check).
	Checksum Auto[uint16]
}

// Len returns UDPHeaderLen.
func (h *UDP) Len() int { return UDPHeaderLen }

// Encode writes the header into b[:8], taking the rest of b as the data; src
// and dst are the pseudo-header's addresses. When Length is forced to a
// value between 8 and len(b), the checksum covers that many bytes, as the
// Linux receiver will check it (it trims the datagram to Length first).
//
// Over IPv6 (src and dst IPv6 addresses, RFC 8200 §8.1) the checksum is
// mandatory: Set(0) still writes zero, which receivers drop.
func (h *UDP) Encode(b []byte, src, dst netip.Addr) error {
	return h.encode(b, pseudoAddrs(src, dst))
}

// encode writes the header; addrs is the pseudo-header's address sum.
func (h *UDP) encode(b []byte, addrs uint64) error {
	if len(b) < UDPHeaderLen {
		return &FieldError{Layer: "UDP", Field: "buffer", Value: uint64(len(b)), Max: UDPHeaderLen, Err: ErrTruncated}
	}
	length, forced := h.Length.Get()
	if !forced {
		if len(b) > 0xffff {
			return &FieldError{Layer: "UDP", Field: "length", Value: uint64(len(b)), Max: 0xffff, Err: ErrTooLong}
		}
		length = uint16(len(b))
	}
	w := uint64(h.SrcPort)<<48 | uint64(h.DstPort)<<32 | uint64(length)<<16 // checksum zero for now
	binary.BigEndian.PutUint64(b, w)
	csum, ok := h.Checksum.Get()
	if !ok {
		covered := b
		if int(length) >= UDPHeaderLen && int(length) <= len(b) {
			covered = b[:length]
		}
		// The header from the register, the data from b.
		csum = ^fold(sum(covered[UDPHeaderLen:], addrs+uint64(ProtoUDP)+uint64(len(covered))+halves(w)))
		if csum == 0 {
			csum = 0xffff
		}
	}
	binary.BigEndian.PutUint16(b[6:], csum)
	return nil
}

func (h *UDP) decode(b []byte, base int, layer string) (int, error) {
	*h = UDP{}
	if len(b) < UDPHeaderLen {
		if len(b) >= 2 {
			h.SrcPort = binary.BigEndian.Uint16(b[0:])
		}
		if len(b) >= 4 {
			h.DstPort = binary.BigEndian.Uint16(b[2:])
		}
		if len(b) >= 6 {
			h.Length = Set(binary.BigEndian.Uint16(b[4:]))
		}
		return len(b), &ParseError{Layer: layer, Field: "header", Offset: base, Err: ErrTruncated,
			Detail: fmt.Sprintf("%s, the header has 8", Units(len(b), "byte"))}
	}
	h.SrcPort = binary.BigEndian.Uint16(b[0:])
	h.DstPort = binary.BigEndian.Uint16(b[2:])
	l := binary.BigEndian.Uint16(b[4:])
	h.Length = Set(l)
	h.Checksum = Set(binary.BigEndian.Uint16(b[6:]))
	if l < UDPHeaderLen {
		return UDPHeaderLen, &ParseError{Layer: layer, Field: "length", Offset: base + 4, Err: ErrMalformed,
			Detail: fmt.Sprintf("length %d, shorter than the 8-byte header", l)}
	}
	return UDPHeaderLen, nil
}
