package craft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IP protocol numbers (RFC 790; IANA "protocol-numbers").
const (
	ProtoICMP uint8 = 1
	ProtoTCP  uint8 = 6
	ProtoUDP  uint8 = 17
)

// IPv4 flag bits, the three high bits of the 16-bit word at byte 6
// (RFC 791 §3.1 "Flags"; RFC 3514 for the reserved bit).
const (
	FlagEvil uint8 = 0x4 // bit 0, reserved, must be zero (RFC 791); the "evil bit" of RFC 3514
	FlagDF   uint8 = 0x2 // bit 1, Don't Fragment
	FlagMF   uint8 = 0x1 // bit 2, More Fragments
)

// IPv4HeaderLen is the length of an IPv4 header without options.
const IPv4HeaderLen = 20

// MaxIPv4Len is the largest value of the 16-bit Total Length field.
const MaxIPv4Len = 65535

// IPv4 is an Internet Protocol version 4 header (RFC 791 §3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Identification        |Flags|      Fragment Offset    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Source Address                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination Address                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Options                    |    Padding    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A raw IPv4 socket with IP_HDRINCL does not send these bytes unchanged: the
// kernel fills the checksum and the total length, the identification when it
// is zero, and the source address when it is 0.0.0.0 (raw(7)). AF_PACKET
// sends them as they are.
type IPv4 struct {
	Version Auto[uint8] // 4 bits; 4 unless forced
	// IHL, the header length in 32-bit words (4 bits). Computed from the
	// options; a forced value is written as given, and the header checksum
	// then covers IHL×4 bytes, as the receiver will.
	IHL Auto[uint8]
	TOS uint8 // type of service (RFC 791), now DSCP (6 bits, RFC 2474) and ECN (2 bits, RFC 3168)
	// TotalLen, the length of the datagram, header included (16 bits).
	// Computed from what follows the header unless forced.
	TotalLen Auto[uint16]
	ID       uint16 // identification: the fragments of one datagram share it (RFC 791 §2.3)
	Flags    uint8  // 3 bits: FlagEvil | FlagDF | FlagMF
	// FragOff is the fragment offset in units of 8 bytes (13 bits): where this
	// fragment's data starts in the original datagram's data.
	FragOff uint16
	// TTL, time to live: each router decrements it and drops the datagram at
	// zero, answering with ICMP time exceeded (RFC 791 §3.2; RFC 1812 §5.3.1).
	// 64 unless forced; Set(0) sends a zero TTL.
	TTL Auto[uint8]
	// Protocol of the payload: 1 ICMP, 6 TCP, 17 UDP. Taken from the next
	// layer unless forced.
	Protocol Auto[uint8]
	Checksum Auto[uint16] // header checksum (RFC 791 §3.1); computed unless forced
	Src      netip.Addr   // source address; anything that is not IPv4 is written as 0.0.0.0
	Dst      netip.Addr   // destination address
	// Options as raw bytes (RFC 791 §3.1 "Options"), written as given and
	// padded with zero bytes (End of Option List) to a multiple of 4. Build
	// them with AppendIPOpt… or ParseIPOptions; anything else, malformed
	// options included, may be put here by hand. At most 40 bytes fit.
	Options []byte
}

// Len returns the header length in bytes: 20 plus the options, padded to a
// multiple of 4.
func (h *IPv4) Len() int { return IPv4HeaderLen + (len(h.Options)+3)&^3 }

// IsFragment reports whether the header describes a fragment: MF is set or
// the offset is not zero.
func (h *IPv4) IsFragment() bool { return h.Flags&FlagMF != 0 || h.FragOff != 0 }

// Encode writes the header into b[:h.Len()], taking the rest of b as the
// datagram's data for the total length. proto is the protocol written when
// Protocol is not forced.
func (h *IPv4) Encode(b []byte, proto uint8) error {
	return h.encode(b, proto, as4(h.Src), as4(h.Dst))
}

func (h *IPv4) encode(b []byte, proto uint8, s, d [4]byte) error {
	n := h.Len()
	if n > 60 {
		return &FieldError{Layer: "IPv4", Field: "options length", Value: uint64(len(h.Options)), Max: 40, Err: ErrTooLong}
	}
	if len(b) < n {
		return &FieldError{Layer: "IPv4", Field: "buffer", Value: uint64(len(b)), Max: uint64(n), Err: ErrTruncated}
	}
	ver, ihl := h.Version.Or(4), h.IHL.Or(uint8(n/4))
	switch {
	case ver > 15:
		return rangeErr("IPv4", "version", uint64(ver), 15)
	case ihl > 15:
		return rangeErr("IPv4", "IHL", uint64(ihl), 15)
	case h.Flags > 7:
		return rangeErr("IPv4", "flags", uint64(h.Flags), 7)
	case h.FragOff > 0x1fff:
		return rangeErr("IPv4", "fragment offset", uint64(h.FragOff), 0x1fff)
	}
	total, forced := h.TotalLen.Get()
	if !forced {
		if len(b) > MaxIPv4Len {
			return &FieldError{Layer: "IPv4", Field: "total length", Value: uint64(len(b)), Max: MaxIPv4Len, Err: ErrTooLong}
		}
		total = uint16(len(b))
	}
	// The fixed header in three wide stores (RFC 791 §3.1's first 20
	// bytes): version…fragment offset, TTL…checksum (zero for now), and
	// the two addresses.
	_ = b[19]
	w0 := uint64(ver<<4|ihl)<<56 | uint64(h.TOS)<<48 | uint64(total)<<32 | uint64(h.ID)<<16 | uint64(uint16(h.Flags)<<13|h.FragOff)
	w1 := uint32(h.TTL.Or(64))<<24 | uint32(h.Protocol.Or(proto))<<16
	w2 := uint64(binary.BigEndian.Uint32(s[:]))<<32 | uint64(binary.BigEndian.Uint32(d[:]))
	binary.BigEndian.PutUint64(b[0:], w0)
	binary.BigEndian.PutUint32(b[8:], w1)
	binary.BigEndian.PutUint64(b[12:], w2)
	if n > 20 { // options, padded with zeros
		o := copy(b[20:n], h.Options)
		clear(b[20+o : n])
	}
	csum, ok := h.Checksum.Get()
	if !ok {
		if covered := min(int(ihl)*4, len(b)); covered == n {
			// The fixed header from the registers, the options from where
			// they came from (their zero padding adds nothing).
			acc := halves(w0) + uint64(w1) + halves(w2)
			if len(h.Options) > 0 {
				acc = sum(h.Options, acc)
			}
			csum = ^fold(acc)
		} else { // a forced IHL: the checksum covers what it says
			csum = Checksum(b[:covered])
		}
	}
	binary.BigEndian.PutUint16(b[10:], csum)
	return nil
}

// decode reads an IPv4 header from b; base is b's offset in the decoder's
// input, for errors. It returns the header length (IHL×4).
func (h *IPv4) decode(b []byte, base int, layer string) (int, error) {
	if len(b) < IPv4HeaderLen {
		return 0, &ParseError{Layer: layer, Field: "header", Offset: base, Err: ErrTruncated,
			Detail: fmt.Sprintf("%s, the fixed header has 20", Units(len(b), "byte"))}
	}
	ver, ihl := b[0]>>4, b[0]&0xf
	h.Version = Set(ver)
	h.IHL = Set(ihl)
	h.TOS = b[1]
	h.TotalLen = Set(binary.BigEndian.Uint16(b[2:]))
	h.ID = binary.BigEndian.Uint16(b[4:])
	fo := binary.BigEndian.Uint16(b[6:])
	h.Flags = uint8(fo >> 13)
	h.FragOff = fo & 0x1fff
	h.TTL = Set(b[8])
	h.Protocol = Set(b[9])
	h.Checksum = Set(binary.BigEndian.Uint16(b[10:]))
	h.Src = netip.AddrFrom4([4]byte(b[12:16]))
	h.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	h.Options = nil
	if ver != 4 {
		return 0, &ParseError{Layer: layer, Field: "version", Offset: base, Err: ErrMalformed,
			Detail: fmt.Sprintf("version %d, not 4", ver)}
	}
	if ihl < 5 {
		return 0, &ParseError{Layer: layer, Field: "IHL", Offset: base, Err: ErrMalformed,
			Detail: fmt.Sprintf("IHL %d (%d bytes), the header has at least 5 words", ihl, int(ihl)*4)}
	}
	n := int(ihl) * 4
	if tl := int(h.TotalLen.Or(0)); n > len(b) && tl != 0 && tl < n {
		// The header the IHL announces ends past the datagram the total
		// length announces: a header error, whatever the bytes in hand.
		h.Options = b[20:]
		return 0, &ParseError{Layer: layer, Field: "total length", Offset: base + 2, Err: ErrMalformed,
			Detail: fmt.Sprintf("total length %d is shorter than the %d-byte header the IHL announces", tl, n)}
	}
	if n > len(b) {
		h.Options = b[20:]
		return 0, &ParseError{Layer: layer, Field: "IHL", Offset: base, Err: ErrTruncated,
			Detail: fmt.Sprintf("IHL says %d header bytes, %d present", n, len(b))}
	}
	h.Options = b[20:n:n]
	return n, nil
}

// IPv4 option types (RFC 791 §3.1; IANA "ip-parameters"). The type byte holds
// the copied flag (bit 0), the class (bits 1-2) and the number (bits 3-7).
const (
	IPOptEOL       uint8 = 0  // End of Option List
	IPOptNOP       uint8 = 1  // No Operation, for alignment
	IPOptRR        uint8 = 7  // Record Route
	IPOptTimestamp uint8 = 68 // Internet Timestamp
)

// AppendIPOptEOL appends End of Option List (one zero byte).
func AppendIPOptEOL(b []byte) []byte { return append(b, IPOptEOL) }

// AppendIPOptNOP appends No Operation (one byte, 1).
func AppendIPOptNOP(b []byte) []byte { return append(b, IPOptNOP) }

// AppendIPOptRecordRoute appends a Record Route option (RFC 791 §3.1) with
// room for slots addresses (1 to 9); each router that forwards the datagram
// writes its address at the pointer and advances it by 4. The pointer starts
// at 4, the first slot.
func AppendIPOptRecordRoute(b []byte, slots int) []byte {
	b = append(b, IPOptRR, byte(3+4*slots), 4)
	for i := 0; i < 4*slots; i++ {
		b = append(b, 0)
	}
	return b
}

// AppendIPOptTimestamp appends an Internet Timestamp option (RFC 791 §3.1)
// with flag 0 (timestamps only, 4 bytes each) and room for slots entries
// (1 to 9). Pointer starts at 5; overflow and flag share the fourth byte.
func AppendIPOptTimestamp(b []byte, slots int) []byte {
	b = append(b, IPOptTimestamp, byte(4+4*slots), 5, 0)
	for i := 0; i < 4*slots; i++ {
		b = append(b, 0)
	}
	return b
}

// Option is one option of an IPv4 or TCP header, a view into the header.
type Option struct {
	Kind   uint8
	Offset int    // offset of the kind byte in the option area
	Len    int    // length as it stands on the wire: 1 for EOL and NOP, else the length byte
	Data   []byte // the bytes after kind and length
}

// NextOption reads the option at opts[off:], the TLV form shared by IPv4
// (RFC 791 §3.1) and TCP (RFC 9293 §3.1): kinds 0 and 1 are one byte, every
// other kind has a length byte counting kind and length. It returns the
// option and the offset of the next one, or an error when the length byte is
// missing, below 2 or runs past the option area. The loop stops at
// len(opts).
func NextOption(opts []byte, off int) (Option, int, error) {
	k := opts[off]
	if k == 0 || k == 1 {
		return Option{Kind: k, Offset: off, Len: 1}, off + 1, nil
	}
	if off+1 >= len(opts) {
		return Option{Kind: k, Offset: off}, len(opts), ErrTruncated
	}
	l := int(opts[off+1])
	if l < 2 {
		return Option{Kind: k, Offset: off, Len: l}, len(opts), ErrMalformed
	}
	if off+l > len(opts) {
		return Option{Kind: k, Offset: off, Len: l, Data: opts[off+2:]}, len(opts), ErrTruncated
	}
	return Option{Kind: k, Offset: off, Len: l, Data: opts[off+2 : off+l]}, off + l, nil
}
