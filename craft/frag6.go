package craft

import (
	"encoding/binary"
	"fmt"
)

// FragOptions6 says how to split an IPv6 packet with Fragment headers
// (RFC 8200 §4.5). DataSize, MTU, TinyFirst and Overlap mean what they mean
// for IPv4 (the MTU counts the per-fragment headers and the 8-byte Fragment
// header a fragment carries; a packet no longer than the MTU carries none
// and goes whole).
type FragOptions6 struct {
	FragOptions
	// ID is the 32-bit identification every fragment carries.
	ID uint32
	// Atomic makes one "atomic fragment" (RFC 8021): offset 0, M clear, the
	// whole packet behind a Fragment header; the size options are ignored.
	Atomic bool
}

// Fragments6 splits an IPv6 packet (as Packet.Append builds it) into
// fragments written one after another to buf, and appends their
// descriptions to frags. The per-fragment part (RFC 8200 §4.5) is the IPv6
// header and the extension headers up to and including the last Routing
// header, or else the Hop-by-Hop header: it is repeated in every fragment,
// with its payload length set and the next header before the Fragment
// header set to 44. The rest, the fragmentable part, is cut into pieces of
// DataSize bytes (a multiple of 8), each behind a Fragment header with its
// offset in 8-byte units, M on all but the last, and ID.
//
// A TinyFirst smaller than the extension headers and upper-layer header in
// the fragmentable part makes a first fragment that splits the header chain,
// which RFC 7112 forbids and receivers drop (see ChainSplit). With buf and
// frags large enough it allocates nothing.
func Fragments6(buf []byte, frags []Fragment, packet []byte, o FragOptions6) ([]byte, []Fragment, error) {
	if len(packet) < IPv6HeaderLen || packet[0]>>4 != 6 {
		return buf, frags, fmt.Errorf("fragmenting: not an IPv6 packet")
	}
	unfrag, nhAt := perFragmentLen(packet)
	data := packet[unfrag:]
	next := packet[nhAt]
	var size int
	if o.Atomic {
		size = len(data)
	} else {
		var err error
		if size, err = o.dataSize6(unfrag); err != nil {
			return buf, frags, err
		}
		if o.TinyFirst < 0 || o.TinyFirst%8 != 0 || o.TinyFirst > size {
			return buf, frags, fmt.Errorf("tiny first fragment %d: a multiple of 8 between 8 and the fragment size %d", o.TinyFirst, size)
		}
		if o.Overlap < 0 || o.Overlap%8 != 0 || o.Overlap >= size || (o.TinyFirst > 0 && o.Overlap > o.TinyFirst) {
			return buf, frags, fmt.Errorf("overlap %d: a multiple of 8, smaller than the fragment size %d and no larger than a tiny first fragment", o.Overlap, size)
		}
		if o.fits(len(packet)) {
			// Within the MTU a packet goes whole, without a Fragment
			// header (RFC 8200 §5; Linux's ip6_finish_output).
			return whole(buf, frags, packet, len(data), false)
		}
	}
	first, firstFrag := len(buf), len(frags)
	start := 0
	for i := 1; ; i++ {
		n := size
		if i == 1 && o.TinyFirst > 0 && !o.Atomic {
			n = o.TinyFirst
		}
		end := min(start+n, len(data))
		more := end < len(data)
		if off := start / 8; off > 0x1fff {
			return buf[:first], frags[:firstFrag], fmt.Errorf("fragment %d would start at byte %d (offset %d): %w; the 13-bit offset holds 0..8191 units of 8 bytes",
				i, start, off, ErrRange)
		}
		pl := unfrag - IPv6HeaderLen + 8 + end - start
		if pl > 0xffff {
			return buf[:first], frags[:firstFrag], fmt.Errorf("fragment %d: payload length %d: %w", i, pl, ErrTooLong)
		}
		at := len(buf)
		buf = append(buf, packet[:unfrag]...)
		var fh [8]byte
		fh[0] = next
		binary.BigEndian.PutUint16(fh[2:], uint16(start/8)<<3|b2u16(more))
		binary.BigEndian.PutUint32(fh[4:], o.ID)
		buf = append(buf, fh[:]...)
		buf = append(buf, data[start:end]...)
		f := buf[at:]
		binary.BigEndian.PutUint16(f[4:], uint16(pl))
		f[nhAt] = ProtoFragment
		frags = append(frags, Fragment{Index: i, Offset: start, Len: end - start, MF: more})
		if !more {
			break
		}
		start = end - o.Overlap
	}
	pos := first
	for i := firstFrag; i < len(frags); i++ {
		n := unfrag + 8 + frags[i].Len
		frags[i].Bytes = buf[pos : pos+n : pos+n]
		pos += n
	}
	return buf, frags, nil
}

// perFragmentLen returns the length of the per-fragment part of an IPv6
// packet and the offset of the next-header byte that announces what
// follows it (RFC 8200 §4.5): through the last Routing header, else the
// Hop-by-Hop header, else the IPv6 header alone.
func perFragmentLen(p []byte) (n, nhAt int) {
	n, nhAt = IPv6HeaderLen, 6
	off, next := IPv6HeaderLen, p[6]
	for next == ProtoHopByHop || next == ProtoRouting || next == ProtoDestOpts {
		if off+2 > len(p) {
			break
		}
		l := 8 * (int(p[off+1]) + 1)
		if off+l > len(p) {
			break
		}
		if next == ProtoHopByHop || next == ProtoRouting {
			n, nhAt = off+l, off
		}
		next = p[off]
		off += l
	}
	return n, nhAt
}

func (o FragOptions6) dataSize6(unfrag int) (int, error) {
	switch {
	case o.DataSize != 0 && o.MTU != 0:
		return 0, fmt.Errorf("fragment size %d and MTU %d: give one or the other", o.DataSize, o.MTU)
	case o.DataSize < 0 || o.DataSize%8 != 0:
		return 0, fmt.Errorf("fragment size %d: the data of every fragment but the last is a positive multiple of 8 bytes (the offset counts 8-byte units)", o.DataSize)
	case o.DataSize > 0:
		if o.DataSize+unfrag+8-IPv6HeaderLen > 0xffff {
			return 0, fmt.Errorf("fragment size %d: with %d bytes of per-fragment headers it exceeds a 65535-byte payload", o.DataSize, unfrag+8)
		}
		return o.DataSize, nil
	case o.MTU > 0:
		n := (o.MTU - unfrag - 8) &^ 7
		if o.MTU < MinIPv6MTU {
			return 0, fmt.Errorf("MTU %d: IPv6 requires every link to carry 1280 bytes (RFC 8200 §5); give a data size for smaller fragments", o.MTU)
		}
		if n < 8 {
			return 0, fmt.Errorf("MTU %d: too small for %d bytes of per-fragment headers, the 8-byte Fragment header and 8 data bytes", o.MTU, unfrag)
		}
		if o.MTU > 0xffff+IPv6HeaderLen {
			return 0, fmt.Errorf("MTU %d: at most 65575", o.MTU)
		}
		return n, nil
	}
	return 0, fmt.Errorf("fragments need a data size (a multiple of 8) or an MTU")
}

// ChainSplit reports whether a first fragment (offset 0) of an IPv6 packet
// lacks part of the header chain: the extension headers and the upper-layer
// header must all be in it (RFC 7112 §5), or receivers drop it and may
// answer parameter problem code 3. It understands TCP, UDP and ICMPv6
// headers; another upper layer counts as present once its first byte is.
func ChainSplit(fragment []byte) bool {
	if len(fragment) < IPv6HeaderLen || fragment[0]>>4 != 6 {
		return false
	}
	off, next, first := IPv6HeaderLen, fragment[6], false
	for isExtKind(next) {
		if off+2 > len(fragment) {
			return first
		}
		l := 8 * (int(fragment[off+1]) + 1)
		if next == ProtoFragment {
			if off+8 > len(fragment) {
				return false
			}
			if binary.BigEndian.Uint16(fragment[off+2:])>>3 != 0 {
				return false // a later fragment: no chain to hold
			}
			first, l = true, 8
		}
		if off+l > len(fragment) {
			return first
		}
		next, off = fragment[off], off+l
	}
	need := 1
	switch next {
	case ProtoTCP:
		need = TCPHeaderLen
	case ProtoUDP, ProtoICMPv6:
		need = 8
	case ProtoNoNext:
		need = 0
	}
	return first && off+need > len(fragment)
}
