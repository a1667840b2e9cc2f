package craft

import (
	"encoding/binary"
	"fmt"
	"time"
)

// add6 feeds one IPv6 packet. The fragmentable part follows the Fragment
// header; the per-fragment part before it is kept from fragment zero and
// given back, with the Fragment header removed and the payload length
// fixed, when the packet completes (RFC 8200 §4.5). The key is source,
// destination and the 32-bit identification.
//
// With Linux, the rules are those of Linux's IPv6 receiver
// (net/ipv6/reassembly.c, ipv6_frag_rcv and ip6_frag_queue), which differ
// from IPv4's: a fragment with M whose data is not a multiple of 8 bytes is
// dropped and answered with parameter problem (not trimmed); a first
// fragment that does not hold the whole header chain is dropped and
// answered with parameter problem code 3 (RFC 7112); data past 65535 bytes
// is dropped with parameter problem; there is no header checksum. Overlaps
// discard the whole packet, exact duplicates inside a run are dropped alone
// (RFC 5722; inet_frag_queue_insert), as for IPv4.
func (r *Reassembler) add6(now time.Time, pkt []byte) (ReassemblyEvent, error) {
	var ev ReassemblyEvent
	var h IPv6
	if err := h.decode(pkt, 0, "IPv6"); err != nil {
		return ev, err
	}
	end := IPv6HeaderLen + int(h.PayloadLen.Or(0))
	if end > len(pkt) {
		return ev, &ParseError{Layer: "IPv6", Field: "payload length", Offset: 4, Err: ErrMalformed,
			Detail: fmt.Sprintf("payload length %d with %d bytes present after the header", end-IPv6HeaderLen, len(pkt)-IPv6HeaderLen)}
	}
	pkt = pkt[:end]
	// Find the Fragment header.
	off, nhAt, next := IPv6HeaderLen, 6, h.NextHeader.Or(0)
	for next != ProtoFragment {
		if !isExtKind(next) || off+2 > len(pkt) {
			ev.Key = ReassemblyKey{Src: h.Src, Dst: h.Dst}
			ev.Complete, ev.Datagram, ev.Fragments = true, pkt, 1
			return ev, nil // not a fragment
		}
		l := 8 * (int(pkt[off+1]) + 1)
		if off+l > len(pkt) {
			return ev, &ParseError{Layer: "IPv6 ext", Field: "Hdr Ext Len", Offset: off + 1, Err: ErrTruncated}
		}
		nhAt, next, off = off, pkt[off], off+l
	}
	if off+8 > len(pkt) {
		return ev, &ParseError{Layer: "IPv6 ext", Field: "header", Offset: off, Err: ErrTruncated,
			Detail: "a Fragment header has 8 bytes"}
	}
	fh := pkt[off : off+8]
	fo := binary.BigEndian.Uint16(fh[2:])
	ev.Key = ReassemblyKey{Src: h.Src, Dst: h.Dst, ID: binary.BigEndian.Uint32(fh[4:])}
	ev.Offset, ev.MF = int(fo>>3)*8, fo&1 != 0
	data := pkt[off+8:]
	ev.Len = len(data)
	if ev.Offset == 0 && !ev.MF {
		// An atomic fragment (RFC 6946): delivered as it is, never queued.
		ev.Complete, ev.Datagram, ev.Fragments = true, pkt, 1
		return ev, nil
	}
	r.nhAt, r.nh = nhAt, fh[0]
	if r.cfg.Linux {
		if ev.Offset+ev.Len > 0xffff {
			ev.Dropped = true
			ev.Reason = fmt.Sprintf("data would end at byte %d, past 65535: %s", ev.Offset+ev.Len, ClaimFrag6PastMax.Text())
			return ev, nil
		}
		if ev.Offset == 0 && ChainSplit(pkt) {
			ev.Dropped = true
			ev.Reason = ClaimFrag6ChainSplit.Text()
			return ev, nil
		}
	} else if ev.Offset+ev.Len > 0xffff {
		return ev, &ParseError{Layer: "IPv6 ext", Field: "fragment offset", Offset: off + 2, Err: ErrMalformed,
			Detail: fmt.Sprintf("data would end at byte %d, past the largest packet", ev.Offset+ev.Len)}
	}
	r.Expire(now)
	if r.cfg.Linux {
		return r.addLinux(now, ev, pkt, off, data), nil
	}
	return r.addRFC815(now, ev, pkt, off, data), nil
}
