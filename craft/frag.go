package craft

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// FragOptions says how to split a datagram (RFC 791 §2.3, "Fragmentation and
// Reassembly"; §3.2 gives the procedure). Set DataSize or MTU.
type FragOptions struct {
	// DataSize is the number of data bytes in each fragment but the last:
	// a multiple of 8, because the offset field counts 8-byte units.
	DataSize int
	// MTU, instead of DataSize, is the largest fragment, header included:
	// DataSize becomes (MTU − header length) rounded down to a multiple of
	// 8. MTU 1500 with a 20-byte header gives 1480, the article's split.
	// A datagram no longer than MTU is not fragmented (RFC 791 §2.3: only
	// a datagram larger than the link's MTU is; Linux's ip_finish_output
	// fragments only past it): it comes back whole, byte for byte, as one
	// Fragment with Whole set — unless TinyFirst asks for a cut. Over IPv6
	// it carries no Fragment header (RFC 8200 §5).
	MTU int
	// TinyFirst, when not zero, makes the first fragment carry only this many
	// data bytes (a multiple of 8): 8 holds a UDP header or the ports and
	// sequence number of a TCP header, and nothing more (RFC 1858 §3).
	TinyFirst int
	// Overlap makes every fragment after the first start this many bytes
	// (a multiple of 8) before the previous one ended. The overlapping bytes
	// are the datagram's own, so both copies agree.
	Overlap int
}

// Fragment is one fragment of a split datagram.
type Fragment struct {
	Index  int    // 1, 2, …: the fragment's place in offset order
	Offset int    // where its data starts in the original data, in bytes (the header says Offset/8)
	Len    int    // data bytes it carries
	MF     bool   // More Fragments: set on all but the last
	Bytes  []byte // the whole fragment, header and data; a view into the buffer Fragments appended to
	// Whole: the datagram fit the MTU and was not fragmented; Bytes is the
	// datagram as given (no offset, length or checksum rewritten, and over
	// IPv6 no Fragment header).
	Whole bool
}

// dataSize returns the per-fragment data size for a header of hl bytes.
func (o FragOptions) dataSize(hl int) (int, error) {
	switch {
	case o.DataSize != 0 && o.MTU != 0:
		return 0, fmt.Errorf("fragment size %d and MTU %d: give one or the other", o.DataSize, o.MTU)
	case o.DataSize < 0 || o.DataSize%8 != 0:
		return 0, fmt.Errorf("fragment size %d: the data of every fragment but the last is a positive multiple of 8 bytes (the offset counts 8-byte units)", o.DataSize)
	case o.DataSize > 0:
		if o.DataSize+hl > MaxIPv4Len {
			return 0, fmt.Errorf("fragment size %d: with a %d-byte header it exceeds 65535 bytes", o.DataSize, hl)
		}
		return o.DataSize, nil
	case o.MTU > 0:
		n := (o.MTU - hl) &^ 7
		if o.MTU < 68 || n < 8 {
			return 0, fmt.Errorf("MTU %d: too small for a %d-byte header and 8 data bytes (RFC 791 requires 68)", o.MTU, hl)
		}
		if o.MTU > MaxIPv4Len {
			return 0, fmt.Errorf("MTU %d: at most 65535", o.MTU)
		}
		return n, nil
	}
	return 0, fmt.Errorf("fragments need a data size (a multiple of 8) or an MTU")
}

// Fragments splits the IPv4 datagram (header and data, as Packet.Append
// builds it) into fragments written one after another to buf, and appends
// their descriptions to frags. Every fragment gets the datagram's
// identification, flags and TTL, its offset in 8-byte units, MF on all but
// the last, a correct total length and header checksum. Options whose
// copied flag is set travel in every fragment, the others in the first only
// (RFC 791 §3.1). A datagram that is itself a fragment keeps its MF on the
// last piece and adds its own offset. A fragment whose offset would not fit
// the 13-bit field (data past byte 65528) is an error wrapping ErrRange, and
// buf and frags come back as they were: the offset is never carried into the
// flags. With buf and frags large enough it allocates nothing.
func Fragments(buf []byte, frags []Fragment, datagram []byte, o FragOptions) ([]byte, []Fragment, error) {
	if len(datagram) < IPv4HeaderLen || datagram[0]>>4 != 4 {
		return buf, frags, fmt.Errorf("fragmenting: not an IPv4 datagram")
	}
	hl := int(datagram[0]&0xf) * 4
	if hl < IPv4HeaderLen || hl > len(datagram) {
		return buf, frags, fmt.Errorf("fragmenting: IHL %d does not fit the %d-byte datagram", hl/4, len(datagram))
	}
	size, err := o.dataSize(hl)
	if err != nil {
		return buf, frags, err
	}
	if o.TinyFirst < 0 || o.TinyFirst%8 != 0 || o.TinyFirst > size {
		return buf, frags, fmt.Errorf("tiny first fragment %d: a multiple of 8 between 8 and the fragment size %d", o.TinyFirst, size)
	}
	if o.Overlap < 0 || o.Overlap%8 != 0 || o.Overlap >= size || (o.TinyFirst > 0 && o.Overlap > o.TinyFirst) {
		return buf, frags, fmt.Errorf("overlap %d: a multiple of 8, smaller than the fragment size %d and no larger than a tiny first fragment", o.Overlap, size)
	}
	hdr, data := datagram[:hl], datagram[hl:]
	if o.fits(len(datagram)) {
		return whole(buf, frags, datagram, len(data), binary.BigEndian.Uint16(hdr[6:])&0x2000 != 0)
	}
	// The header of later fragments: the fixed part and the copied options.
	var later [60]byte
	ln := copy(later[:], hdr[:IPv4HeaderLen])
	for off := 0; off < hl-IPv4HeaderLen; {
		opts := hdr[IPv4HeaderLen:]
		opt, next, err := NextOption(opts, off)
		if err != nil || opt.Kind == IPOptEOL {
			break
		}
		if opt.Kind&0x80 != 0 {
			ln += copy(later[ln:], opts[off:next])
		}
		off = next
	}
	for ln%4 != 0 {
		later[ln] = 0
		ln++
	}
	later[0] = 0x40 | byte(ln/4)
	fo := binary.BigEndian.Uint16(hdr[6:])
	flags, base := fo&0xe000, int(fo&0x1fff)*8
	lastMF := fo&0x2000 != 0
	first, firstFrag := len(buf), len(frags)
	start := 0
	for i := 1; ; i++ {
		n := size
		if i == 1 && o.TinyFirst > 0 {
			n = o.TinyFirst
		}
		end := min(start+n, len(data))
		h := later[:ln]
		if i == 1 {
			h = hdr
		}
		mf := end < len(data)
		if off := (base + start) / 8; off > 0x1fff {
			// Never let the offset carry into the flags: the field has 13
			// bits (RFC 791 §3.1), so data can start at most at byte 65528.
			return buf[:first], frags[:firstFrag], fmt.Errorf("fragment %d would start at data byte %d (offset %d): %w; the 13-bit fragment offset holds 0..8191 units of 8 bytes, up to byte 65528",
				i, base+start, off, ErrRange)
		}
		total := len(h) + end - start
		at := len(buf)
		buf = append(buf, h...)
		buf = append(buf, data[start:end]...)
		f := buf[at:]
		f[0] = f[0]&0xf0 | byte(len(h)/4)
		binary.BigEndian.PutUint16(f[2:], uint16(total))
		word := flags&^0x2000 | uint16((base+start)/8)
		if mf || lastMF {
			word |= 0x2000
		}
		binary.BigEndian.PutUint16(f[6:], word)
		f[10], f[11] = 0, 0
		binary.BigEndian.PutUint16(f[10:], Checksum(f[:len(h)]))
		frags = append(frags, Fragment{Index: i, Offset: start, Len: end - start, MF: mf || lastMF})
		if !mf {
			break
		}
		start = end - o.Overlap
	}
	// Views are taken once buf has stopped moving: the new fragments lie
	// one after another from first on.
	pos := first
	for i := firstFrag; i < len(frags); i++ {
		n := int(buf[pos]&0xf)*4 + frags[i].Len
		frags[i].Bytes = buf[pos : pos+n : pos+n]
		pos += n
	}
	return buf, frags, nil
}

// fits says whether a datagram of n bytes goes whole: it fits the MTU and
// no tiny first fragment was asked for.
func (o FragOptions) fits(n int) bool { return o.MTU > 0 && o.TinyFirst == 0 && n <= o.MTU }

// whole appends datagram to buf unchanged, as the one piece of a datagram
// that needs no fragmenting; data is its data length (after the IP
// header, or IPv6's per-fragment part), mf its own More Fragments flag.
func whole(buf []byte, frags []Fragment, datagram []byte, data int, mf bool) ([]byte, []Fragment, error) {
	at := len(buf)
	buf = append(buf, datagram...)
	return buf, append(frags, Fragment{Index: 1, Len: data, MF: mf, Bytes: buf[at:len(buf):len(buf)], Whole: true}), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Schedule says in which order fragments leave, which are lost and which are
// sent twice. Fragments are numbered from 1 in offset order.
type Schedule struct {
	Order   []int  // explicit order: each fragment once
	Reverse bool   // last fragment first
	Random  bool   // shuffled with Seed (the caller's randomness)
	Seed    uint64 // seed of the shuffle
	Drop    []int  // fragments never sent
	Dup     []int  // fragments sent twice, the copy right after the original
}

// Plan returns the fragment numbers (1..n) in sending order, appended to dst.
func (s Schedule) Plan(dst []int, n int) ([]int, error) {
	check := func(what string, list []int) error {
		for _, i := range list {
			if i < 1 || i > n {
				return fmt.Errorf("%s: fragment %d does not exist; there are %d, numbered 1 to %d in offset order", what, i, n, n)
			}
		}
		return nil
	}
	modes := boolInt(len(s.Order) > 0) + boolInt(s.Reverse) + boolInt(s.Random)
	if modes > 1 {
		return dst, fmt.Errorf("fragment order: give one of a list, reverse or random")
	}
	for _, c := range []struct {
		what string
		list []int
	}{{"fragment order", s.Order}, {"fragment drop", s.Drop}, {"fragment dup", s.Dup}} {
		if err := check(c.what, c.list); err != nil {
			return dst, err
		}
	}
	order := make([]int, 0, n)
	if len(s.Order) > 0 {
		seen := make([]bool, n+1)
		for _, i := range s.Order {
			if seen[i] {
				return dst, fmt.Errorf("fragment order: fragment %d listed twice; use the dup list to send a copy", i)
			}
			seen[i] = true
		}
		if len(s.Order) != n {
			return dst, fmt.Errorf("fragment order lists %d of %d fragments: name each once (use the drop list to lose one)", len(s.Order), n)
		}
		order = append(order, s.Order...)
	} else {
		for i := 1; i <= n; i++ {
			order = append(order, i)
		}
		if s.Reverse {
			slices.Reverse(order)
		}
		if s.Random {
			r := rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
	}
	for _, i := range order {
		if slices.Contains(s.Drop, i) {
			continue
		}
		dst = append(dst, i)
		if slices.Contains(s.Dup, i) {
			dst = append(dst, i)
		}
	}
	return dst, nil
}

// ParseIndexList reads fragment numbers such as "3,1,2" or "1-3,5".
func ParseIndexList(s string) ([]int, error) {
	var out []int
	for _, item := range splitList(s) {
		lo, hi, isRange := strings.Cut(item, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 1 || b < a || b-a > 8192 {
			return nil, fmt.Errorf("fragment list %q: %q is not a fragment number or range (numbers from 1, like 2 or 1-3)", s, item)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("fragment list %q is empty", s)
	}
	return out, nil
}
