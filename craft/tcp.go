package craft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// TCP control bits, the low byte of the 16-bit word at offset 12
// (RFC 9293 §3.1; CWR and ECE from RFC 3168 §6.1).
const (
	TCPFin uint8 = 0x01 // no more data from sender
	TCPSyn uint8 = 0x02 // synchronize sequence numbers
	TCPRst uint8 = 0x04 // reset the connection
	TCPPsh uint8 = 0x08 // push
	TCPAck uint8 = 0x10 // the acknowledgment number is significant
	TCPUrg uint8 = 0x20 // the urgent pointer is significant
	TCPEce uint8 = 0x40 // ECN echo
	TCPCwr uint8 = 0x80 // congestion window reduced
)

// TCPFlagLetters are the letters of the control bits from FIN (bit 0) to CWR
// (bit 7), as rawcraft's --flags takes them.
const TCPFlagLetters = "FSRPAUEC"

// TCPHeaderLen is the length of a TCP header without options.
const TCPHeaderLen = 20

// TCP is a Transmission Control Protocol header (RFC 9293 §3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Source Port          |       Destination Port        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Sequence Number                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Acknowledgment Number                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data |       |C|E|U|A|P|R|S|F|                               |
//	| Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//	|       |       |R|E|G|K|H|T|N|N|                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Checksum            |         Urgent Pointer        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           [Options]                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type TCP struct {
	SrcPort uint16
	DstPort uint16
	Seq     uint32 // sequence number of the first data byte; with SYN, the initial sequence number (ISN)
	Ack     uint32 // next sequence number the sender expects; meaningful when ACK is set
	// DataOffset, the header length in 32-bit words (4 bits). Computed from
	// the options unless forced; a forced value past the segment's end makes
	// a segment the receiver must drop.
	DataOffset Auto[uint8]
	Reserved   uint8 // the 4 reserved bits (RFC 9293 §3.1); must be zero
	Flags      uint8 // control bits: TCPFin | TCPSyn | …
	Window     uint16
	// Checksum over the pseudo-header (RFC 9293 §3.1), header and data;
	// computed unless forced.
	Checksum Auto[uint16]
	Urgent   uint16 // urgent pointer, an offset from Seq; meaningful when URG is set
	// Options as raw bytes, written as given and padded with zero bytes (End
	// of Option List) to a multiple of 4. Build them with AppendTCPOpt… or
	// ParseTCPOptions. At most 40 bytes fit.
	Options []byte
}

// Len returns the header length in bytes: 20 plus the options, padded to a
// multiple of 4.
func (h *TCP) Len() int { return TCPHeaderLen + (len(h.Options)+3)&^3 }

// FlagString returns the set control bits as letters in the order of
// TCPFlagLetters ("S", "SA", "FA", "RA"…), or "-" for none.
func FlagString(f uint8) string {
	var buf [8]byte
	n := 0
	for i := 0; i < 8; i++ {
		if f&(1<<i) != 0 {
			buf[n] = TCPFlagLetters[i]
			n++
		}
	}
	if n == 0 {
		return "-"
	}
	return string(buf[:n])
}

// ParseFlags reads control bits from letters of TCPFlagLetters in any order
// and case ("S", "sa", "FPA"); "" and "-" mean none.
func ParseFlags(s string) (uint8, error) {
	var f uint8
	if s == "-" {
		return 0, nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		j := -1
		for k := 0; k < len(TCPFlagLetters); k++ {
			if TCPFlagLetters[k] == c {
				j = k
			}
		}
		if j < 0 {
			return 0, fmt.Errorf("TCP flags %q: %q is not a flag letter; use F S R P A U E C (FIN SYN RST PSH ACK URG ECE CWR)", s, s[i:i+1])
		}
		f |= 1 << j
	}
	return f, nil
}

// Encode writes the header into b[:h.Len()], taking the rest of b as the
// segment's data; src and dst are the pseudo-header's addresses: two IPv4
// addresses (RFC 9293 §3.1) or two IPv6 addresses (RFC 8200 §8.1).
func (h *TCP) Encode(b []byte, src, dst netip.Addr) error {
	return h.encode(b, pseudoAddrs(src, dst))
}

// encode writes the header; addrs is the pseudo-header's address sum
// (pseudoAddrs4 or pseudoAddrs6), to which the protocol and length are added.
func (h *TCP) encode(b []byte, addrs uint64) error {
	n := h.Len()
	if n > 60 {
		return &FieldError{Layer: "TCP", Field: "options length", Value: uint64(len(h.Options)), Max: 40, Err: ErrTooLong}
	}
	if len(b) < n {
		return &FieldError{Layer: "TCP", Field: "buffer", Value: uint64(len(b)), Max: uint64(n), Err: ErrTruncated}
	}
	off := h.DataOffset.Or(uint8(n / 4))
	if off > 15 {
		return rangeErr("TCP", "data offset", uint64(off), 15)
	}
	if h.Reserved > 15 {
		return rangeErr("TCP", "reserved bits", uint64(h.Reserved), 15)
	}
	// The fixed header in three wide stores (RFC 9293 §3.1), the checksum
	// zero for now.
	_ = b[19]
	w0 := uint64(h.SrcPort)<<48 | uint64(h.DstPort)<<32 | uint64(h.Seq)
	w1 := uint64(h.Ack)<<32 | uint64(off<<4|h.Reserved)<<24 | uint64(h.Flags)<<16 | uint64(h.Window)
	binary.BigEndian.PutUint64(b[0:], w0)
	binary.BigEndian.PutUint64(b[8:], w1)
	binary.BigEndian.PutUint32(b[16:], uint32(h.Urgent))
	if n > 20 { // options, padded with zeros
		o := copy(b[20:n], h.Options)
		clear(b[20+o : n])
	}
	csum, ok := h.Checksum.Get()
	if !ok {
		// The fixed header from the registers, the options from where they
		// came from (their zero padding adds nothing), the data from b.
		acc := addrs + uint64(ProtoTCP) + uint64(len(b)) + halves(w0) + halves(w1) + uint64(h.Urgent)
		if len(h.Options) > 0 {
			acc = sum(h.Options, acc)
		}
		if len(b) > n {
			acc = sum(b[n:], acc)
		}
		csum = ^fold(acc)
	}
	binary.BigEndian.PutUint16(b[16:], csum)
	return nil
}

// decode reads a TCP header. It returns the header length; with partial
// (a segment quoted by an ICMP error, RFC 792: 8 bytes) it fills the fields
// that are present and reports how many header bytes were there.
func (h *TCP) decode(b []byte, base int, layer string) (int, error) {
	*h = TCP{}
	if len(b) < TCPHeaderLen {
		if len(b) >= 2 {
			h.SrcPort = binary.BigEndian.Uint16(b[0:])
		}
		if len(b) >= 4 {
			h.DstPort = binary.BigEndian.Uint16(b[2:])
		}
		if len(b) >= 8 {
			h.Seq = binary.BigEndian.Uint32(b[4:])
		}
		if len(b) >= 12 {
			h.Ack = binary.BigEndian.Uint32(b[8:])
		}
		if len(b) >= 14 {
			h.DataOffset = Set(b[12] >> 4)
			h.Reserved = b[12] & 0xf
			h.Flags = b[13]
		}
		if len(b) >= 16 {
			h.Window = binary.BigEndian.Uint16(b[14:])
		}
		if len(b) >= 18 {
			h.Checksum = Set(binary.BigEndian.Uint16(b[16:]))
		}
		return len(b), &ParseError{Layer: layer, Field: "header", Offset: base, Err: ErrTruncated,
			Detail: fmt.Sprintf("%s, the fixed header has 20", Units(len(b), "byte"))}
	}
	h.SrcPort = binary.BigEndian.Uint16(b[0:])
	h.DstPort = binary.BigEndian.Uint16(b[2:])
	h.Seq = binary.BigEndian.Uint32(b[4:])
	h.Ack = binary.BigEndian.Uint32(b[8:])
	off := b[12] >> 4
	h.DataOffset = Set(off)
	h.Reserved = b[12] & 0xf
	h.Flags = b[13]
	h.Window = binary.BigEndian.Uint16(b[14:])
	h.Checksum = Set(binary.BigEndian.Uint16(b[16:]))
	h.Urgent = binary.BigEndian.Uint16(b[18:])
	if off < 5 {
		return TCPHeaderLen, &ParseError{Layer: layer, Field: "data offset", Offset: base + 12, Err: ErrMalformed,
			Detail: fmt.Sprintf("data offset %d (%d bytes), the header has at least 5 words", off, int(off)*4)}
	}
	n := int(off) * 4
	if n > len(b) {
		h.Options = b[20:]
		return len(b), &ParseError{Layer: layer, Field: "data offset", Offset: base + 12, Err: ErrTruncated,
			Detail: fmt.Sprintf("data offset says %d header bytes, %d present", n, len(b))}
	}
	h.Options = b[20:n:n]
	return n, nil
}

// TCP option kinds (RFC 9293 §3.2; RFC 7323; RFC 2018; IANA "tcp-parameters").
const (
	TCPOptEOL        uint8 = 0 // End of Option List
	TCPOptNOP        uint8 = 1 // No-Operation
	TCPOptMSS        uint8 = 2 // Maximum Segment Size, SYN only (RFC 9293 §3.7.1)
	TCPOptWScale     uint8 = 3 // Window Scale, SYN only (RFC 7323 §2)
	TCPOptSACKOK     uint8 = 4 // SACK-Permitted, SYN only (RFC 2018 §2)
	TCPOptSACK       uint8 = 5 // SACK blocks (RFC 2018 §3)
	TCPOptTimestamps uint8 = 8 // Timestamps TSval, TSecr (RFC 7323 §3)
)

// AppendTCPOptMSS appends a Maximum Segment Size option (kind 2, length 4).
func AppendTCPOptMSS(b []byte, mss uint16) []byte {
	return append(b, TCPOptMSS, 4, byte(mss>>8), byte(mss))
}

// AppendTCPOptWScale appends a Window Scale option (kind 3, length 3): the
// peer shifts our window left by shift bits (at most 14, RFC 7323 §2.3).
func AppendTCPOptWScale(b []byte, shift uint8) []byte {
	return append(b, TCPOptWScale, 3, shift)
}

// AppendTCPOptSACKOK appends SACK-Permitted (kind 4, length 2).
func AppendTCPOptSACKOK(b []byte) []byte { return append(b, TCPOptSACKOK, 2) }

// SACKBlock is one block of a SACK option: the data from Left up to, not
// including, Right has been received (RFC 2018 §3).
type SACKBlock struct{ Left, Right uint32 }

// AppendTCPOptSACK appends a SACK option (kind 5, length 2+8n) with blocks.
func AppendTCPOptSACK(b []byte, blocks ...SACKBlock) []byte {
	b = append(b, TCPOptSACK, byte(2+8*len(blocks)))
	for _, s := range blocks {
		b = binary.BigEndian.AppendUint32(b, s.Left)
		b = binary.BigEndian.AppendUint32(b, s.Right)
	}
	return b
}

// AppendTCPOptTimestamps appends a Timestamps option (kind 8, length 10):
// the sender's clock TSval and the echo of the peer's last TSval, TSecr.
func AppendTCPOptTimestamps(b []byte, val, echo uint32) []byte {
	b = append(b, TCPOptTimestamps, 10)
	b = binary.BigEndian.AppendUint32(b, val)
	return binary.BigEndian.AppendUint32(b, echo)
}

// AppendTCPOptNOP appends a No-Operation (kind 1).
func AppendTCPOptNOP(b []byte) []byte { return append(b, TCPOptNOP) }

// AppendTCPOptEOL appends End of Option List (kind 0).
func AppendTCPOptEOL(b []byte) []byte { return append(b, TCPOptEOL) }
