package craft

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strings"
)

// The Internet checksum (RFC 1071): add the data as 16-bit big-endian words
// in one's-complement arithmetic (every carry out of bit 15 is added back in
// at bit 0), then take the one's complement of the sum. An odd final byte is
// padded on the right with a zero byte (RFC 1071 §4.1). IPv4 (RFC 791 §3.1),
// ICMP (RFC 792), UDP (RFC 768) and TCP (RFC 9293 §3.1) all use it.

// sum adds b as big-endian 16-bit words to the one's-complement sum s,
// without folding: 64-bit words are 16-bit words shifted by multiples of 16
// bits, and 2^16 ≡ 1 (mod 2^16 − 1), so folding at the end gives the same
// sum (RFC 1071 §2(B) and §2(C), byte order and deferred carries).
func sum(b []byte, s uint64) uint64 {
	// 64 bits at a time, the carry out of bit 63 added back in at once
	// (the end-around carry of one's-complement addition, on a wider word).
	var c uint64
	for len(b) >= 32 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[8:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[16:]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	if len(b) >= 16 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[8:]), c)
		b = b[16:]
	}
	if len(b) >= 8 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	// The last 0 to 7 bytes, as a 32-bit word, a 16-bit word and a byte
	// padded with zero; they go in with a carry too, since s may already be
	// close to 2^64.
	var t uint64
	if len(b) >= 4 {
		t = uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		t += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		t += uint64(b[0]) << 8
	}
	s, c2 := bits.Add64(s, t, c)
	return s + c2 // cannot overflow: a carry out leaves s at most 2^64 − 2
}

// fold adds the carries of s back in until it fits 16 bits: a 64-bit
// one's-complement sum folds to 32, then 16 bits (hi·2^32 + lo ≡ hi + lo mod
// 2^16 − 1, as 2^32 ≡ 1). Each step adds the word to itself rotated by half
// its width: the upper half then holds hi + lo with the carry out of lo + hi
// already added back in (the end-around carry), in one addition — the way
// Linux's csum_fold does it.
func fold(s uint64) uint16 {
	t := uint32((s + bits.RotateLeft64(s, 32)) >> 32)
	return uint16((t + bits.RotateLeft32(t, 16)) >> 16)
}

// halves adds a 64-bit word's two 32-bit halves: the partial sum of a header
// word built in a register. Encoders sum their fixed headers from the values
// they store rather than reading the bytes back, which would cost a load
// spanning two stores (a store-forwarding stall) on most CPUs. Any 16-bit
// aligned word counts the same (RFC 1071 §2: the sum is order-independent).
func halves(w uint64) uint64 { return w>>32 + w&0xffffffff }

// Checksum returns the Internet checksum of b: the one's complement of the
// one's-complement sum of its 16-bit words. A packet whose checksum field
// holds the right value sums, checksum included, to 0xffff, so Checksum of
// the whole header returns 0.
func Checksum(b []byte) uint16 { return ^fold(sum(b, 0)) }

// pseudoSum is the sum of the RFC 768 / RFC 9293 §3.1 pseudo-header: source
// address, destination address, a zero byte, the protocol and the transport
// length. Addresses that are not IPv4 count as 0.0.0.0.
func pseudoSum(src, dst netip.Addr, proto uint8, length int) uint64 {
	return pseudoSum4(as4(src), as4(dst), proto, length)
}

// pseudoSum4 is pseudoSum with the addresses as bytes.
func pseudoSum4(s, d [4]byte, proto uint8, length int) uint64 {
	return uint64(binary.BigEndian.Uint32(s[:])) + uint64(binary.BigEndian.Uint32(d[:])) + uint64(proto) + uint64(length)
}

// pseudoAddrs4 is the sum of the two addresses of the IPv4 pseudo-header.
func pseudoAddrs4(s, d [4]byte) uint64 {
	return uint64(binary.BigEndian.Uint32(s[:])) + uint64(binary.BigEndian.Uint32(d[:]))
}

// pseudoAddrs6 is the sum of the two addresses of the IPv6 pseudo-header
// (RFC 8200 §8.1). The 32-bit upper-layer length and the next header added
// to it as plain numbers sum the same as their 16-bit words.
func pseudoAddrs6(s, d *[16]byte) uint64 {
	return sum(d[:], sum(s[:], 0))
}

// pseudoAddrs is the address sum of the pseudo-header for src and dst: the
// IPv6 one when either is IPv6 (not IPv4-mapped), else the IPv4 one.
func pseudoAddrs(src, dst netip.Addr) uint64 {
	if (src.Is6() && !src.Is4In6()) || (dst.Is6() && !dst.Is4In6()) {
		s, d := as16(src), as16(dst)
		return pseudoAddrs6(&s, &d)
	}
	return pseudoAddrs4(as4(src), as4(dst))
}

// as16 returns the sixteen bytes of an address (an IPv4 one as IPv4-mapped),
// or zeroes for the zero Addr.
func as16(a netip.Addr) [16]byte {
	if a.IsValid() {
		return a.As16()
	}
	return [16]byte{}
}

// as4 returns the four bytes of an IPv4 address, or zeroes for anything else
// (the zero Addr included), so that building never panics.
func as4(a netip.Addr) [4]byte {
	if a.Is4() {
		return a.As4()
	}
	return [4]byte{}
}

// TransportChecksum returns the TCP or UDP checksum of segment (header and
// data, with its checksum field as it stands) between src and dst, over the
// pseudo-header of RFC 768 and RFC 9293 §3.1, or of RFC 8200 §8.1 when an
// address is IPv6 (proto 58 for ICMPv6). To compute a checksum, zero the
// field first; to verify one, the result over the segment as received is 0.
func TransportChecksum(src, dst netip.Addr, proto uint8, segment []byte) uint16 {
	return ^fold(sum(segment, pseudoAddrs(src, dst)+uint64(proto)+uint64(len(segment))))
}

// ChecksumWord is one 16-bit word added into a checksum, with the running sum
// after it.
type ChecksumWord struct {
	Offset int    // byte offset in the summed data (pseudo-header words are negative: they are not sent)
	Label  string // what the word is: "pseudo: source address (high)", "data \"Co\""…
	Value  uint16 // the word
	Sum    uint32 // running sum after adding it, carries not yet folded
}

// ChecksumFold is one step of adding the carry back: Before = Carry·65536 + low
// 16 bits, After = low 16 bits + Carry.
type ChecksumFold struct {
	Before uint32
	Carry  uint32
	After  uint32
}

// ChecksumSteps is the Internet checksum computed the way RFC 1071 and the
// transport-layer article present it, with every step kept as data.
type ChecksumSteps struct {
	Words    []ChecksumWord
	Sum      uint32         // the sum of all words, carries not yet folded
	Folds    []ChecksumFold // each carry added back in, until the sum fits 16 bits
	Folded   uint16         // the one's-complement sum
	Checksum uint16         // its complement: the value of the checksum field
}

// String renders the steps as the article does: "0x436F + 0x6D70 + … = 0x18BC5".
// It is linear in the number of words: one builder, grown once.
func (s ChecksumSteps) String() string {
	var sb strings.Builder
	sb.Grow(64*(len(s.Words)+len(s.Folds)) + 80)
	for i, w := range s.Words {
		op := "+"
		if i == 0 {
			op = " "
		}
		fmt.Fprintf(&sb, "%s 0x%04X  %-34s sum 0x%05X\n", op, w.Value, w.Label, w.Sum)
	}
	for _, f := range s.Folds {
		fmt.Fprintf(&sb, "  fold: 0x%05X → 0x%04X + carry 0x%X = 0x%04X\n", f.Before, f.Before&0xffff, f.Carry, f.After)
	}
	fmt.Fprintf(&sb, "  one's-complement sum 0x%04X, complement → checksum 0x%04X\n", s.Folded, s.Checksum)
	return sb.String()
}

type stepper struct{ s ChecksumSteps }

func (st *stepper) add(off int, label string, v uint16) {
	st.s.Sum += uint32(v)
	st.s.Words = append(st.s.Words, ChecksumWord{Offset: off, Label: label, Value: v, Sum: st.s.Sum})
}

func (st *stepper) data(b []byte, base int, label func(i int, w []byte) string) {
	for i := 0; i < len(b); i += 2 {
		var w [2]byte
		n := copy(w[:], b[i:])
		st.add(base+i, label(base+i, w[:n]), binary.BigEndian.Uint16(w[:]))
	}
}

func (st *stepper) finish() ChecksumSteps {
	s := st.s.Sum
	for s>>16 != 0 {
		f := ChecksumFold{Before: s, Carry: s >> 16, After: s&0xffff + s>>16}
		st.s.Folds = append(st.s.Folds, f)
		s = f.After
	}
	st.s.Folded = uint16(s)
	st.s.Checksum = ^uint16(s)
	return st.s
}

func quoteWord(w []byte) string {
	if len(w) == 1 {
		return fmt.Sprintf("data %q + pad 0x00", w)
	}
	return fmt.Sprintf("data %q", w)
}

// StepsOf returns the checksum of data with each step: the article's worked
// example is StepsOf([]byte("Computer")), whose checksum is 0x7439.
func StepsOf(data []byte) ChecksumSteps {
	var st stepper
	st.data(data, 0, func(_ int, w []byte) string { return quoteWord(w) })
	return st.finish()
}

// TransportSteps returns the TCP or UDP checksum of segment between src and
// dst, step by step: the pseudo-header words first (RFC 768, RFC 9293 §3.1),
// then the header (its checksum field counted as zero), then the data.
func TransportSteps(src, dst netip.Addr, proto uint8, segment []byte) ChecksumSteps {
	var st stepper
	s, d := as4(src), as4(dst)
	st.add(-12, "pseudo: source address (high)", binary.BigEndian.Uint16(s[:2]))
	st.add(-10, "pseudo: source address (low)", binary.BigEndian.Uint16(s[2:]))
	st.add(-8, "pseudo: destination address (high)", binary.BigEndian.Uint16(d[:2]))
	st.add(-6, "pseudo: destination address (low)", binary.BigEndian.Uint16(d[2:]))
	st.add(-4, fmt.Sprintf("pseudo: zero + protocol %d", proto), uint16(proto))
	st.add(-2, "pseudo: length", uint16(len(segment)))
	hdr, csumAt := 8, 6
	names := udpWordNames[:]
	if proto == ProtoTCP {
		hdr, csumAt = 20, 16
		names = tcpWordNames[:]
	}
	if hdr > len(segment) {
		hdr = len(segment) &^ 1
	}
	for i := 0; i+2 <= hdr; i += 2 {
		v := binary.BigEndian.Uint16(segment[i:])
		label := names[i/2]
		if i == csumAt {
			v, label = 0, label+" (counted as 0)"
		}
		st.add(i, label, v)
	}
	body := segment[hdr:]
	st.data(body, hdr, func(off int, w []byte) string {
		if proto == ProtoTCP && off < tcpHeaderLen(segment) {
			return "TCP option bytes"
		}
		return quoteWord(w)
	})
	return st.finish()
}

var udpWordNames = [4]string{"UDP source port", "UDP destination port", "UDP length", "UDP checksum"}

var tcpWordNames = [10]string{
	"TCP source port", "TCP destination port", "TCP sequence number (high)", "TCP sequence number (low)",
	"TCP acknowledgment number (high)", "TCP acknowledgment number (low)", "TCP data offset, flags",
	"TCP window", "TCP checksum", "TCP urgent pointer",
}

func tcpHeaderLen(seg []byte) int {
	if len(seg) < 13 {
		return 20
	}
	return int(seg[12]>>4) * 4
}

// Verdict is the check's one verdict, the same words in every view (a
// capture's summary line, the field table, JSON): "good", "BAD (0xdead,
// should be 0x1c46)", "not yet filled (offload), 0x1c2b here and 0x7439 on
// the wire"…
func (c ChecksumResult) Verdict() string {
	switch c.Status {
	case ChecksumGood:
		if c.NegZero {
			return fmt.Sprintf("good (0x%04x = 0x%04x: −0 and +0 in one's complement)", c.Got, c.Want)
		}
	case ChecksumBad:
		return fmt.Sprintf("BAD (0x%04x, should be 0x%04x)", c.Got, c.Want)
	case ChecksumPartial:
		return fmt.Sprintf("not yet filled (offload), 0x%04x here and 0x%04x on the wire", c.Got, c.Want)
	case ChecksumPartialOrBad:
		return fmt.Sprintf("not yet filled (offload), or BAD (0x%04x, should be 0x%04x)", c.Got, c.Want)
	}
	return c.Status.String()
}
