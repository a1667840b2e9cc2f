package craft

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// ReassemblyKey identifies the fragments of one datagram: source,
// destination, protocol and identification (RFC 791 §2.3). For IPv6 it is
// source, destination and the 32-bit identification (RFC 8200 §4.5), and
// Proto is zero.
type ReassemblyKey struct {
	Src, Dst netip.Addr
	Proto    uint8
	ID       uint32 // 16 bits for IPv4
}

// String formats the key as "198.18.1.3→198.18.1.1 proto 17 id 0x1234".
func (k ReassemblyKey) String() string {
	if k.Src.Is6() {
		return fmt.Sprintf("%v→%v id 0x%08x", k.Src, k.Dst, k.ID)
	}
	return fmt.Sprintf("%v→%v proto %d id 0x%04x", k.Src, k.Dst, k.Proto, k.ID)
}

// Hole is a range of data bytes not yet received, First to Last inclusive,
// as RFC 815 §3 describes it. Last is Infinity until the last fragment (the
// one without MF) has arrived.
type Hole struct{ First, Last int }

// Infinity is the Last of a hole that reaches past every fragment seen so
// far (RFC 815's "infinity").
const Infinity = 1<<31 - 1

// ReassemblyEvent says what one fragment did to its datagram.
type ReassemblyEvent struct {
	Key    ReassemblyKey
	Offset int  // the fragment's data offset, in bytes
	Len    int  // its data length
	MF     bool // its More Fragments flag
	// Duplicate: every byte it carries had already arrived, unchanged.
	Duplicate bool
	// Overlap counts bytes it carries that had already arrived (zero for a
	// duplicate, which is reported as such).
	Overlap int
	// Conflict: some of those overlapping bytes differ from the ones that
	// arrived first.
	Conflict bool
	// Inconsistent: the fragment contradicts the datagram's end (data past
	// the last fragment, or a second, different last fragment).
	Inconsistent bool
	// Holes left after this fragment, a view valid until the next call.
	Holes []Hole
	// Complete: no hole is left. Datagram then holds the reassembled
	// datagram (header of fragment zero, data), valid until the next call.
	Complete bool
	Datagram []byte
	// Fragments counts the fragments of this datagram seen so far,
	// duplicates included.
	Fragments int
	// Discarded: with DiscardOverlaps or Linux, this fragment made the
	// receiver throw the datagram away (Reason says why); later fragments
	// start a new one, and no ICMP is sent for it.
	Discarded bool
	// Dropped: with Linux, the receiver dropped this fragment alone and
	// kept the datagram (a duplicate, a fragment of a datagram already
	// given up...); Reason says why.
	Dropped bool
	// Trimmed counts bytes cut from the end of a fragment with MF whose
	// data length is not a multiple of 8: Linux keeps only whole 8-byte
	// units of it (Linux only).
	Trimmed int
	// Reason says, with Linux, why the fragment was dropped or the datagram
	// discarded, and which rule of Linux's receiver did it.
	Reason string
}

// ReassemblyConfig bounds a Reassembler. Zero fields take the defaults.
type ReassemblyConfig struct {
	// MaxDatagrams in progress at once (default 64); the oldest is evicted
	// to make room. Each holds at most 65535 bytes.
	MaxDatagrams int
	// Timeout after the first fragment (default 30 s, Linux's
	// net.ipv4.ipfrag_time; RFC 1122 §3.3.2 suggests 60 to 120 s).
	Timeout time.Duration
	// DiscardOverlaps applies the policy Linux has followed since 4.19 (and
	// RFC 5722 requires of IPv6): a fragment that overlaps data already
	// received, other than an exact duplicate, discards the whole datagram.
	// Without it the first copy of each byte wins and reassembly goes on.
	DiscardOverlaps bool
	// Linux models Linux's IPv4 receiver (net/ipv4/ip_fragment.c,
	// ip_frag_queue and ip_frag_reasm; net/ipv4/inet_fragment.c,
	// inet_frag_queue_insert, since 4.19), rule by rule:
	//   - a fragment with MF keeps only whole 8-byte units of its data
	//     (its end is rounded down to a multiple of 8; Trimmed);
	//   - a fragment left with no data discards the datagram;
	//   - a last fragment (no MF) that ends before data already received,
	//     or a second last fragment with another end, discards the datagram;
	//     so does data with MF past a last fragment's end;
	//   - a fragment lying wholly inside a run of contiguous fragments
	//     already received is a duplicate and is dropped alone (its bytes
	//     are not compared); any other overlap discards the datagram;
	//   - the datagram completes when fragment zero and the last fragment
	//     have arrived and the data bytes fill the length; if header and
	//     data exceed 65535 bytes it is discarded instead;
	//   - a datagram discarded or completed is forgotten: a later
	//     fragment with its key starts a new one;
	//   - a fragment whose header checksum is wrong never reaches
	//     reassembly (ip_rcv_core).
	// Expire, on the caller's clock, then says whether Linux sends ICMP
	// time exceeded (fragment zero had arrived) or stays silent.
	Linux bool
}

// Reassembler puts fragments back together with the hole-descriptor
// algorithm of RFC 815, and reports what each fragment did: holes,
// overlaps, duplicates, completion. It reports rather than decides: a
// receiver's policy on overlaps (Linux drops the whole datagram) is for the
// caller to apply. It is bounded in memory (MaxDatagrams × 64 KiB) and in
// time (Timeout, on the caller's clock). It is not safe for concurrent use.
type Reassembler struct {
	nhAt    int   // IPv6: where the packet being added names its Fragment header
	nh      uint8 // and what that header says follows it
	cfg     ReassemblyConfig
	entries []*reasmEntry
	free    []*reasmEntry
}

type span struct{ first, last int }

type reasmEntry struct {
	// Linux's queue: runs of contiguous fragments (inet_frag_queue_insert),
	// sorted; tail is the end of the last fragment queued; qlen and meat as
	// in struct inet_frag_queue; lastIn as INET_FRAG_LAST_IN.
	runs       []span
	tail       int
	qlen, meat int
	lastIn     bool
	key        ReassemblyKey
	started    time.Time
	holes      []Hole
	received   []span // sorted, merged
	data       []byte // 65535 bytes
	header     []byte // header of fragment zero, once seen
	hdrBuf     [60]byte
	end        int // data length once the last fragment has arrived, else -1
	frags      int
	out        []byte
	// IPv6: the per-fragment headers of fragment zero (header), the offset
	// of the next-header byte before its Fragment header, and the next
	// header that Fragment header named.
	v6      bool
	nhAt    int
	nh      uint8
	hdrBuf6 []byte
}

// NewReassembler returns a Reassembler bounded by cfg (nil for defaults).
func NewReassembler(cfg *ReassemblyConfig) *Reassembler {
	r := &Reassembler{}
	if cfg != nil {
		r.cfg = *cfg
	}
	if r.cfg.MaxDatagrams <= 0 {
		r.cfg.MaxDatagrams = 64
	}
	if r.cfg.Timeout <= 0 {
		r.cfg.Timeout = 30 * time.Second
	}
	return r
}

// Pending returns the keys of the datagrams still waiting for fragments.
func (r *Reassembler) Pending() []ReassemblyKey {
	keys := make([]ReassemblyKey, 0, len(r.entries))
	for _, e := range r.entries {
		keys = append(keys, e.key)
	}
	return keys
}

// Expire drops every datagram whose first fragment arrived more than Timeout
// before now, and returns their keys with the holes they still had. A real
// receiver answers such a timeout with ICMP time exceeded code 1, but only if
// it had received fragment zero (RFC 792; RFC 1122 §3.3.2).
func (r *Reassembler) Expire(now time.Time) []ExpiredDatagram {
	var out []ExpiredDatagram
	kept := r.entries[:0]
	for _, e := range r.entries {
		if now.Sub(e.started) > r.cfg.Timeout {
			out = append(out, ExpiredDatagram{Key: e.key, Holes: append([]Hole(nil), e.holes...), HadFirst: e.header != nil})
			r.free = append(r.free, e)
			continue
		}
		kept = append(kept, e)
	}
	clear(r.entries[len(kept):])
	r.entries = kept
	return out
}

// ExpiredDatagram is a datagram given up by Expire.
type ExpiredDatagram struct {
	Key      ReassemblyKey
	Holes    []Hole
	HadFirst bool // fragment zero had arrived: a receiver sends ICMP time exceeded (reassembly)
}

// Add feeds one IPv4 or IPv6 packet, received at now. A packet that is not
// a fragment completes at once, and so does an IPv6 atomic fragment (offset
// 0, M clear: RFC 6946, RFC 8021), whose Datagram is the packet as it came.
// Expired datagrams are dropped first. For IPv6 see add6.
func (r *Reassembler) Add(now time.Time, pkt []byte) (ReassemblyEvent, error) {
	if len(pkt) > 0 && pkt[0]>>4 == 6 {
		return r.add6(now, pkt)
	}
	var ev ReassemblyEvent
	var h IPv4
	hl, err := h.decode(pkt, 0, "IPv4")
	if err != nil {
		return ev, err
	}
	total := int(binary.BigEndian.Uint16(pkt[2:]))
	if total < hl || total > len(pkt) {
		return ev, &ParseError{Layer: "IPv4", Field: "total length", Offset: 2, Err: ErrMalformed,
			Detail: fmt.Sprintf("total length %d with a %d-byte header and %d bytes present", total, hl, len(pkt))}
	}
	data := pkt[hl:total]
	ev.Key = ReassemblyKey{Src: h.Src, Dst: h.Dst, Proto: h.Protocol.Or(0), ID: uint32(h.ID)}
	ev.Offset, ev.Len, ev.MF = int(h.FragOff)*8, len(data), h.Flags&FlagMF != 0
	if ev.Offset+ev.Len > MaxIPv4Len-IPv4HeaderLen && !r.cfg.Linux {
		return ev, &ParseError{Layer: "IPv4", Field: "fragment offset", Offset: 6, Err: ErrMalformed,
			Detail: fmt.Sprintf("data would end at byte %d, past the largest datagram", ev.Offset+ev.Len)}
	}
	if !h.IsFragment() {
		ev.Complete, ev.Datagram, ev.Fragments = true, pkt[:total], 1
		return ev, nil
	}
	r.Expire(now)
	if r.cfg.Linux {
		return r.addLinux(now, ev, pkt, hl, data), nil
	}
	return r.addRFC815(now, ev, pkt, hl, data), nil
}

// addRFC815 is Add without Linux's rules: holes as RFC 815 keeps them, the
// first copy of each byte winning, or the datagram discarded on an overlap
// with DiscardOverlaps. hl is the length of the headers before the data.
func (r *Reassembler) addRFC815(now time.Time, ev ReassemblyEvent, pkt []byte, hl int, data []byte) ReassemblyEvent {
	e := r.lookup(ev.Key, now)
	e.frags++
	ev.Fragments = e.frags
	first, last := ev.Offset, ev.Offset+ev.Len-1

	// Overlaps and duplicates, against what has arrived.
	for _, s := range e.received {
		lo, hi := max(s.first, first), min(s.last, last)
		if lo > hi {
			continue
		}
		ev.Overlap += hi - lo + 1
		if !bytes.Equal(e.data[lo:hi+1], data[lo-first:hi-first+1]) {
			ev.Conflict = true
		}
	}
	if ev.Len > 0 && ev.Overlap == ev.Len && !ev.Conflict {
		ev.Duplicate, ev.Overlap = true, 0
	}
	if e.end >= 0 && (last >= e.end || (!ev.MF && last+1 != e.end)) {
		ev.Inconsistent = true
	}
	if r.cfg.DiscardOverlaps && ev.Overlap > 0 {
		ev.Discarded = true
		ev.Holes = nil
		r.remove(e)
		return ev
	}
	if !ev.MF && e.end < 0 {
		e.end = last + 1
		// data already received beyond the end contradicts it
		for _, s := range e.received {
			if s.last >= e.end {
				ev.Inconsistent = true
			}
		}
	}
	// First arrival wins for the bytes themselves; keep only the new ones.
	if !ev.Duplicate && ev.Len > 0 {
		for i := first; i <= last; i++ {
			if !covered(e.received, i) {
				e.data[i] = data[i-first]
			}
		}
		e.received = addSpan(e.received, span{first, last})
	}
	if ev.Offset == 0 && e.header == nil {
		r.setHeader(e, pkt[:hl])
	}
	// RFC 815 §3, steps 1-7.
	if ev.Len > 0 {
		e.holes = fillHoles(e.holes, first, last, ev.MF)
	}
	if !ev.MF {
		e.holes = trimHoles(e.holes, last)
	}
	ev.Holes = e.holes
	if len(e.holes) == 0 && e.header != nil {
		ev.Complete = true
		ev.Datagram = e.assemble()
		r.remove(e)
	}
	return ev
}

func covered(spans []span, i int) bool {
	for _, s := range spans {
		if s.first <= i && i <= s.last {
			return true
		}
	}
	return false
}

func addSpan(spans []span, n span) []span {
	out := spans[:0:0]
	placed := false
	for _, s := range spans {
		switch {
		case s.last+1 < n.first:
			out = append(out, s)
		case n.last+1 < s.first:
			if !placed {
				out, placed = append(out, n), true
			}
			out = append(out, s)
		default:
			n = span{min(s.first, n.first), max(s.last, n.last)}
		}
	}
	if !placed {
		out = append(out, n)
	}
	return out
}

// fillHoles applies RFC 815 §3 steps 2-6 for a fragment covering first..last.
func fillHoles(holes []Hole, first, last int, mf bool) []Hole {
	out := make([]Hole, 0, len(holes)+1)
	for _, h := range holes {
		if first > h.Last || last < h.First { // steps 2, 3
			out = append(out, h)
			continue
		}
		if first > h.First { // step 5
			out = append(out, Hole{h.First, first - 1})
		}
		if last < h.Last && mf { // step 6
			out = append(out, Hole{last + 1, h.Last})
		}
	}
	return out
}

// trimHoles removes what lies past the last byte once the last fragment has
// told where the datagram ends.
func trimHoles(holes []Hole, last int) []Hole {
	out := holes[:0]
	for _, h := range holes {
		if h.First > last {
			continue
		}
		if h.Last > last {
			h.Last = last
		}
		out = append(out, h)
	}
	return out
}

func (e *reasmEntry) assemble() []byte {
	hl := len(e.header)
	if e.v6 {
		e.out = append(append(e.out[:0], e.header...), e.data[:e.end]...)
		binary.BigEndian.PutUint16(e.out[4:], uint16(min(hl-IPv6HeaderLen+e.end, 0xffff)))
		e.out[e.nhAt] = e.nh
		return e.out
	}
	e.out = append(append(e.out[:0], e.header...), e.data[:e.end]...)
	binary.BigEndian.PutUint16(e.out[2:], uint16(min(hl+e.end, MaxIPv4Len)))
	fo := binary.BigEndian.Uint16(e.out[6:])
	binary.BigEndian.PutUint16(e.out[6:], fo&0xc000) // keep evil and DF; clear MF and offset
	e.out[10], e.out[11] = 0, 0
	binary.BigEndian.PutUint16(e.out[10:], Checksum(e.out[:hl]))
	return e.out
}

func (r *Reassembler) lookup(k ReassemblyKey, now time.Time) *reasmEntry {
	for _, e := range r.entries {
		if e.key == k {
			return e
		}
	}
	if len(r.entries) >= r.cfg.MaxDatagrams {
		r.remove(r.entries[0]) // the oldest
	}
	var e *reasmEntry
	if n := len(r.free); n > 0 {
		e, r.free = r.free[n-1], r.free[:n-1]
	} else {
		e = &reasmEntry{data: make([]byte, MaxIPv4Len)}
	}
	e.key, e.started, e.end, e.frags, e.header = k, now, -1, 0, nil
	e.v6 = k.Src.Is6()
	e.runs, e.tail, e.qlen, e.meat, e.lastIn = e.runs[:0], 0, 0, 0, false
	e.holes = append(e.holes[:0], Hole{0, Infinity})
	e.received = e.received[:0]
	r.entries = append(r.entries, e)
	return e
}

func (r *Reassembler) remove(e *reasmEntry) {
	for i, x := range r.entries {
		if x == e {
			r.entries = append(r.entries[:i], r.entries[i+1:]...)
			r.free = append(r.free, e)
			return
		}
	}
}

// addLinux is Add with Linux's rules (see ReassemblyConfig.Linux). Offsets
// and ends here are exclusive ends, as in the kernel.
func (r *Reassembler) addLinux(now time.Time, ev ReassemblyEvent, pkt []byte, hl int, data []byte) ReassemblyEvent {
	if pkt[0]>>4 == 4 && Checksum(pkt[:hl]) != 0 {
		ev.Dropped, ev.Reason = true, ClaimFragChecksumDropped.Text()
		return ev
	}
	e := r.lookup(ev.Key, now)
	e.frags++
	ev.Fragments = e.frags
	offset, end := ev.Offset, ev.Offset+ev.Len
	discard := func(reason string) ReassemblyEvent {
		ev.Discarded, ev.Reason, ev.Holes = true, reason, nil
		r.remove(e)
		return ev
	}
	if !ev.MF {
		if end < e.qlen || e.lastIn && end != e.qlen {
			ev.Inconsistent = true
			if end < e.qlen {
				return discard(fmt.Sprintf("last fragment ends at byte %d, before data already received (up to %d): %s", end, e.qlen, ClaimFragInconsistentDiscarded.Text()))
			}
			return discard(fmt.Sprintf("a second last fragment ends at byte %d, the first at %d: %s", end, e.qlen, ClaimFragInconsistentDiscarded.Text()))
		}
		e.lastIn, e.qlen = true, end
	} else {
		if end&7 != 0 && e.v6 {
			// IPv6 trims nothing: the fragment is dropped and answered.
			ev.Dropped = true
			ev.Reason = fmt.Sprintf("%d data bytes with M set, not a multiple of 8: %s", ev.Len, ClaimFrag6NotMultipleOf8.Text())
			ev.Holes = e.linuxHoles()
			return ev
		}
		if end&7 != 0 {
			ev.Trimmed = end & 7
			end &^= 7
		}
		if end > e.qlen {
			if e.lastIn {
				ev.Inconsistent = true
				return discard(fmt.Sprintf("data up to byte %d with MF, past the last fragment's end %d: %s", end, e.qlen, ClaimFragInconsistentDiscarded.Text()))
			}
			e.qlen = end
		}
	}
	if end == offset {
		what := "no data"
		if ev.Trimmed > 0 {
			what = fmt.Sprintf("%d data bytes with MF, less than one 8-byte unit", ev.Len)
		}
		return discard(fmt.Sprintf("a fragment with %s: %s", what, ClaimFragInconsistentDiscarded.Text()))
	}
	kept := data[:end-offset]
	// Overlaps, for the event: bytes already here, and whether they differ.
	// Bytes past the 65535 kept (data a fragment at offset 65528 carries)
	// can only belong to an oversized datagram: counted, not stored.
	stored := min(end, len(e.data))
	for _, s := range e.runs {
		lo, hi := max(s.first, offset), min(s.last+1, end)
		if lo < hi {
			ev.Overlap += hi - lo
			if hi = min(hi, stored); lo < hi && !bytes.Equal(e.data[lo:hi], kept[lo-offset:hi-offset]) {
				ev.Conflict = true
			}
		}
	}
	switch linuxInsert(e, offset, end) {
	case insertDup:
		ev.Duplicate, ev.Overlap, ev.Dropped = true, 0, true
		ev.Reason = ClaimFragDuplicateDropped.Text()
		ev.Holes = e.linuxHoles()
		return ev
	case insertOverlap:
		if e.v6 {
			return discard(fmt.Sprintf("overlaps %d bytes already received: %s", ev.Overlap, ClaimFrag6OverlapDiscarded.Text()))
		}
		return discard(fmt.Sprintf("overlaps %d bytes already received: %s", ev.Overlap, ClaimFragOverlapDiscarded.Text()))
	}
	if offset < stored {
		copy(e.data[offset:stored], kept)
	}
	e.meat += end - offset
	if offset == 0 {
		r.setHeader(e, pkt[:hl])
	}
	e.holes = e.linuxHoles()
	ev.Holes = e.holes
	if e.header != nil && e.lastIn && e.meat == e.qlen {
		if e.v6 && len(e.header)-IPv6HeaderLen+e.qlen > 0xffff {
			return discard(fmt.Sprintf("complete, but %d bytes of per-fragment headers and %d data bytes exceed a 65535-byte payload: %s", len(e.header)-IPv6HeaderLen, e.qlen, ClaimFrag6Oversized.Text()))
		}
		if !e.v6 && len(e.header)+e.qlen > MaxIPv4Len {
			return discard(fmt.Sprintf("complete, but %d header and %d data bytes exceed 65535: %s", len(e.header), e.qlen, ClaimFragOversized.Text()))
		}
		e.end = e.qlen
		ev.Complete = true
		ev.Datagram = e.assemble()
		r.remove(e)
	}
	return ev
}

type insertResult uint8

const (
	insertOK insertResult = iota
	insertDup
	insertOverlap
)

// linuxInsert places [offset, end) among the runs as
// inet_frag_queue_insert does: past the tail it extends the last run when
// contiguous (or starts one); anywhere else it is a new run, a duplicate if
// it lies wholly inside one run, an overlap if it touches any other way.
func linuxInsert(e *reasmEntry, offset, end int) insertResult {
	if len(e.runs) == 0 {
		e.runs = append(e.runs, span{offset, end - 1})
		e.tail = end
		return insertOK
	}
	if e.tail < end {
		switch {
		case offset < e.tail:
			return insertOverlap
		case offset == e.tail:
			e.runs[len(e.runs)-1].last = end - 1
		default:
			e.runs = append(e.runs, span{offset, end - 1})
		}
		e.tail = end
		return insertOK
	}
	at := len(e.runs)
	for i, s := range e.runs {
		switch {
		case end <= s.first:
			at = min(at, i)
		case offset > s.last:
		case offset >= s.first && end <= s.last+1:
			return insertDup
		default:
			return insertOverlap
		}
	}
	e.runs = append(e.runs, span{})
	copy(e.runs[at+1:], e.runs[at:])
	e.runs[at] = span{offset, end - 1}
	return insertOK
}

// linuxHoles returns the data not yet received: the gaps between runs, and
// past the last one until the end is known.
func (e *reasmEntry) linuxHoles() []Hole {
	h := e.holes[:0]
	next := 0
	for _, s := range e.runs {
		if s.first > next {
			h = append(h, Hole{next, s.first - 1})
		}
		next = s.last + 1
	}
	switch {
	case !e.lastIn:
		h = append(h, Hole{next, Infinity})
	case next < e.qlen:
		h = append(h, Hole{next, e.qlen - 1})
	}
	e.holes = h
	return h
}

// setHeader keeps fragment zero's headers: IPv4's (at most 60 bytes), or
// IPv6's per-fragment part with what add6 found about it.
func (r *Reassembler) setHeader(e *reasmEntry, h []byte) {
	if !e.v6 {
		e.header = e.hdrBuf[:copy(e.hdrBuf[:], h)]
		return
	}
	e.hdrBuf6 = append(e.hdrBuf6[:0], h...)
	e.header, e.nhAt, e.nh = e.hdrBuf6, r.nhAt, r.nh
}
