package listen

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
)

// Flow is one direction of a TCP connection.
type Flow struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
}

// TCPNote says what the analyzer noticed about a segment: a set of bits,
// named as Wireshark's tcp.analysis flags are, because students compare the
// two.
type TCPNote uint16

// Notes.
const (
	TCPNothing TCPNote = 0
	// TCPRetransmission: the segment carries sequence numbers the flow has
	// already sent (RFC 9293 §3.8.1; RFC 6298).
	TCPRetransmission TCPNote = 1 << (iota - 1)
	// TCPDupAck: a pure ACK at the flow's next sequence number repeating its
	// last acknowledgement and window: the receiver saw a segment out of
	// order (RFC 5681 §2, "duplicate acknowledgment").
	TCPDupAck
	// TCPZeroWindow: the sender's receive buffer is full (RFC 9293 §3.8.6.1).
	TCPZeroWindow
	// TCPZeroWindowProbe: one byte at the flow's next sequence number while
	// the peer's window is zero (RFC 9293 §3.8.6.1, "probing zero windows").
	TCPZeroWindowProbe
	// TCPKeepAlive: at most one byte, one below the flow's next sequence
	// number, so that the peer must answer with an ACK (RFC 9293 §3.8.4).
	// Linux probes a zero window this way too (tcp_xmit_probe_skb): no data,
	// the sequence number one below the window's left edge.
	TCPKeepAlive
	// TCPWindowUpdate: a pure ACK that changes only the window.
	TCPWindowUpdate
	// TCPWindowFull: the segment fills the window the peer last advertised.
	TCPWindowFull
	// TCPOutOfOrder: the segment's sequence numbers lie below the flow's
	// next sequence number, no earlier frame of the capture carried them,
	// and it came within one handshake round trip (3 ms when the handshake
	// was not seen) of the segment that last advanced the flow, as
	// Wireshark's tcp.analysis.out_of_order: the network reordered it
	// before the capture point. Later than that it is a retransmission of a
	// copy lost before the capture point.
	TCPOutOfOrder
	// TCPFastRetransmission: with TCPRetransmission, the segment answers
	// the peer's duplicate ACKs: at least two asked for its sequence
	// number, the last less than 20 ms earlier (RFC 5681 §3.2; Wireshark's
	// tcp.analysis.fast_retransmission).
	TCPFastRetransmission
	// TCPSpuriousRetransmission: with TCPRetransmission, every byte of the
	// segment was already acknowledged by the peer: the copy was not
	// needed (RFC 3522 §1; Wireshark's tcp.analysis.spurious_retransmission).
	TCPSpuriousRetransmission
	// TCPPreviousSegmentLost: the segment starts above the flow's next
	// sequence number: the bytes between were not captured (lost before
	// the capture point, or dropped by the capture); Wireshark's
	// tcp.analysis.lost_segment, "Previous segment not captured".
	TCPPreviousSegmentLost
	// TCPAckedUnseen: the segment acknowledges bytes the capture never saw
	// the peer send; Wireshark's tcp.analysis.ack_lost_segment.
	TCPAckedUnseen
	// TCPKeepAliveAck: the pure ACK that answers the peer's keep-alive.
	TCPKeepAliveAck
	// TCPZeroWindowProbeAck: the pure ACK, window still zero, that answers
	// the peer's zero-window probe.
	TCPZeroWindowProbeAck
)

var tcpNoteNames = [...]string{"retransmission", "duplicate ACK", "zero window", "zero-window probe", "keep-alive", "window update", "window full", "out-of-order",
	"fast retransmission", "spurious retransmission", "previous segment not captured", "ACKed unseen segment", "keep-alive ACK", "zero-window probe ACK"}

// Has says whether n includes every bit of m.
func (n TCPNote) Has(m TCPNote) bool { return m != 0 && n&m == m }

func (n TCPNote) String() string {
	var parts []string
	for i, name := range tcpNoteNames {
		if n&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	return strings.Join(parts, ", ")
}

// SACKBlock is one block of a SACK option (RFC 2018 §3): the receiver holds
// the bytes from Left up to, not including, Right.
type SACKBlock struct{ Left, Right uint32 }

// TCPEvent is the analyzer's verdict on one segment.
type TCPEvent struct {
	Note  TCPNote
	Flow  Flow
	Seq   uint32
	Len   int
	Copy  int           // retransmission: 2 for the first retransmission (the second copy); 1 when the capture holds no earlier copy
	Since time.Duration // retransmission: time since the previous copy
	Ratio float64       // retransmission: Since divided by the previous interval (≈2 under RFC 6298 back-off)
	Dups  int           // duplicate ACK: how many so far
	// Frame is the segment's frame number: the count of calls to Add,
	// from 1, so that it is the capture's own number when Add is called
	// for every frame. DupOf is a duplicate ACK's original: the frame number
	// of the flow's last segment that was not a duplicate (Wireshark's
	// "TCP Dup ACK 12#1" is DupOf 12, Dups 1).
	Frame, DupOf int
	// Window is the receive window the segment advertises, in bytes: the
	// field shifted by the window scale both SYNs agreed on (RFC 7323 §2.3,
	// the shift clamped to 14). Scale is that shift, or -1 when the
	// handshake was not seen (the field is then all there is, as Wireshark
	// says "window size scaling factor: -1 (unknown)").
	Window int
	Scale  int
	// SACK holds the segment's SACK blocks (at most four fit, RFC 2018 §3).
	SACK  [4]SACKBlock
	NSACK int
}

// Segment is the history of one segment that was sent more than once.
type Segment struct {
	Flow   Flow
	Seq    uint32
	Len    int
	Copies []time.Time // kernel timestamps of every copy
}

// Intervals returns the times between consecutive copies.
func (s *Segment) Intervals() []time.Duration {
	var out []time.Duration
	for i := 1; i < len(s.Copies); i++ {
		out = append(out, s.Copies[i].Sub(s.Copies[i-1]))
	}
	return out
}

type segKey struct {
	flow Flow
	seq  uint32
}

type flowState struct {
	nextSeq  uint32 // highest sequence number sent + 1
	seen     bool
	lastAck  uint32
	lastAckT time.Time // when the flow last sent an ACK
	lastWin  uint16    // the window field as sent
	winSeen  bool
	ackSeen  bool
	dups     int
	synScale int // the SYN's window scale option, clamped to 14; -1 none seen; -2 SYN without the option
	segments map[uint32]*Segment
	// nextSeqTime is when nextSeq last advanced.
	nextSeqTime time.Time
	conn        *connState
	lastNonDup  int     // frame number of the flow's last segment that was not a duplicate ACK
	lastNote    TCPNote // the notes of the flow's last segment
	// maxToAck is the end of the flow's bytes seen without a hole: the
	// most the peer can acknowledge of what the capture saw (Wireshark's
	// maxseqtobeacked); maxSet once it holds a value.
	maxToAck uint32
	maxSet   bool
}

// connState is what both directions of a connection share.
type connState struct {
	synTime  time.Time     // the latest SYN without ACK
	firstRTT time.Duration // from that SYN to the first segment with ACK and no SYN
}

// outOfOrderWindow is how soon after the flow last advanced a segment below
// it counts as reordered rather than resent: the handshake's round trip, or
// 3 ms when the handshake was not seen (Wireshark's rule).
func (c *connState) outOfOrderWindow() time.Duration {
	if c.firstRTT > 0 {
		return c.firstRTT
	}
	return 3 * time.Millisecond
}

// TCPAnalyzer watches TCP segments go by and notices what Wireshark's TCP
// analysis notices — retransmissions (with the interval since the previous
// copy, the article's Exercise 5), out-of-order segments, duplicate ACKs,
// zero windows and their probes, keep-alives, window updates, full windows —
// by the rules of Wireshark's packet-tcp.c, so that the two agree segment by
// segment, but for one: a segment the capture has already carried is a
// retransmission, where Wireshark, judging by timing alone, may call it
// out-of-order. It is bounded: at most MaxFlows flows (default 1024) are
// followed, the rest ignored, and at most 4096 segments per flow remembered.
type TCPAnalyzer struct {
	MaxFlows int
	flows    map[Flow]*flowState
	order    []segKey // retransmitted segments, in order of first retransmission
	frames   int      // calls to Add
}

// NewTCPAnalyzer returns an empty analyzer.
func NewTCPAnalyzer() *TCPAnalyzer { return &TCPAnalyzer{flows: map[Flow]*flowState{}} }

func (a *TCPAnalyzer) state(f Flow) *flowState {
	st := a.flows[f]
	if st == nil {
		max := a.MaxFlows
		if max <= 0 {
			max = 1024
		}
		if len(a.flows) >= max {
			return nil
		}
		st = &flowState{segments: map[uint32]*Segment{}, synScale: -1}
		if rev := a.flows[Flow{Src: f.Dst, Dst: f.Src, SrcPort: f.DstPort, DstPort: f.SrcPort}]; rev != nil {
			st.conn = rev.conn
		} else {
			st.conn = &connState{}
		}
		a.flows[f] = st
	}
	return st
}

// scale is the shift that applies to st's window fields: both SYNs must have
// carried the option (RFC 7323 §2.2); -1 when a SYN was not seen.
func scale(st, rev *flowState) int {
	switch {
	case st == nil || rev == nil || st.synScale == -1 || rev.synScale == -1:
		return -1
	case st.synScale < 0 || rev.synScale < 0:
		return 0
	}
	return st.synScale
}

// Add looks at one captured packet.
// Call it for every frame of a capture, TCP or not, for TCPEvent.Frame and
// DupOf to be the capture's frame numbers.
func (a *TCPAnalyzer) Add(p *Packet) TCPEvent {
	a.frames++
	d := &p.Decoded
	if !d.Has(craft.LayerTCP) || d.TransportLen < craft.TCPHeaderLen || d.Frag != craft.NotFragment {
		return TCPEvent{Frame: a.frames}
	}
	t := &d.TCP
	ip := addrsOf(&d.Datagram)
	f := Flow{Src: ip.Src, Dst: ip.Dst, SrcPort: t.SrcPort, DstPort: t.DstPort}
	st := a.state(f)
	if st == nil {
		return TCPEvent{Frame: a.frames}
	}
	rev := a.flows[Flow{Src: f.Dst, Dst: f.Src, SrcPort: f.DstPort, DstPort: f.SrcPort}]
	n := len(d.Payload)
	ev := TCPEvent{Flow: f, Seq: t.Seq, Len: n, Frame: a.frames}
	if t.Flags&craft.TCPSyn != 0 {
		st.synScale = -2
	}
	switch c := st.conn; {
	case t.Flags&(craft.TCPSyn|craft.TCPAck) == craft.TCPSyn:
		c.synTime, c.firstRTT = p.Meta.Time, 0
	case t.Flags&(craft.TCPSyn|craft.TCPAck) == craft.TCPAck && c.firstRTT == 0 && !c.synTime.IsZero():
		c.firstRTT = max(p.Meta.Time.Sub(c.synTime), 1)
	}
	for off := 0; off < len(t.Options); {
		o, next, err := craft.NextOption(t.Options, off)
		if err != nil || o.Kind == 0 {
			break
		}
		switch {
		case o.Kind == 3 && len(o.Data) == 1 && t.Flags&craft.TCPSyn != 0: // window scale (RFC 7323 §2.2)
			st.synScale = min(int(o.Data[0]), 14)
		case o.Kind == 5: // SACK (RFC 2018 §3)
			for i := 0; i+8 <= len(o.Data) && ev.NSACK < len(ev.SACK); i += 8 {
				ev.SACK[ev.NSACK] = SACKBlock{be32(o.Data[i:]), be32(o.Data[i+4:])}
				ev.NSACK++
			}
		}
		off = next
	}
	ev.Scale = scale(st, rev)
	ev.Window = int(t.Window)
	if ev.Scale > 0 && t.Flags&craft.TCPSyn == 0 { // a SYN's window is never scaled (RFC 7323 §2.2)
		ev.Window <<= ev.Scale
	}
	if t.Flags&craft.TCPRst != 0 {
		if t.Flags&craft.TCPAck != 0 && (!st.ackSeen || t.Ack != st.lastAck) {
			st.lastNonDup, st.dups = a.frames, 0
		}
		st.lastNote = 0
		return ev
	}
	seqLen := uint32(n)
	if t.Flags&(craft.TCPSyn|craft.TCPFin) != 0 {
		seqLen++
	}
	plain := t.Flags&(craft.TCPSyn|craft.TCPFin|craft.TCPRst) == 0
	ack := t.Flags&craft.TCPAck != 0
	// The checks and their order are Wireshark's (tcp_analyze_sequence_number).
	sameAck := ack && st.ackSeen && t.Ack == st.lastAck
	pureAtEdge := st.seen && n == 0 && t.Seq == st.nextSeq && sameAck && plain && st.winSeen
	if st.seen && n == 1 && t.Seq == st.nextSeq && rev != nil && rev.winSeen && rev.lastWin == 0 {
		ev.Note |= TCPZeroWindowProbe
	} else {
		if t.Window == 0 && plain {
			ev.Note |= TCPZeroWindow
		}
		if st.seen && int32(t.Seq-st.nextSeq) > 0 {
			ev.Note |= TCPPreviousSegmentLost
		}
		if st.seen && n <= 1 && plain && t.Seq == st.nextSeq-1 {
			ev.Note |= TCPKeepAlive
		}
		if pureAtEdge && t.Window != 0 && t.Window != st.lastWin {
			ev.Note |= TCPWindowUpdate
		}
		if n > 0 && plain && rev != nil && rev.ackSeen && rev.winSeen && ev.Scale >= 0 {
			revWin := uint32(rev.lastWin) << max(scale(rev, st), 0)
			if t.Seq+uint32(n) == rev.lastAck+revWin {
				ev.Note |= TCPWindowFull
			}
		}
		switch {
		case pureAtEdge && t.Window != 0 && t.Window == st.lastWin && rev != nil && rev.lastNote.Has(TCPKeepAlive):
			ev.Note |= TCPKeepAliveAck
		case pureAtEdge && t.Window == 0 && st.lastWin == 0 && rev != nil && rev.lastNote.Has(TCPZeroWindowProbe):
			ev.Note |= TCPZeroWindowProbeAck
		case pureAtEdge && t.Window != 0 && t.Window == st.lastWin:
			st.dups++
			ev.Note |= TCPDupAck
			ev.Dups, ev.DupOf = st.dups, st.lastNonDup
		}
	}
	if ack && (!st.ackSeen || t.Ack != st.lastAck) {
		// A new acknowledgement: duplicates count from here (Wireshark
		// resets its count when the ACK number changes).
		st.dups, st.lastNonDup = 0, a.frames
	}
	if ack && rev != nil && rev.maxSet && int32(t.Ack-rev.maxToAck) > 0 {
		ev.Note |= TCPAckedUnseen
		rev.maxToAck = rev.nextSeq // said once, not again for the same bytes
	}
	if !ev.Note.Has(TCPZeroWindowProbe) && !ev.Note.Has(TCPKeepAlive) {
		// A segment of new data that starts one byte below the edge
		// follows a zero-window probe whose byte was not counted: it
		// advances the flow (Wireshark's rule).
		below := seqLen > 0 && st.seen && int32(t.Seq-st.nextSeq) < 0 && !(n > 1 && t.Seq == st.nextSeq-1)
		var seg *Segment
		if below { // only a segment below the flow's edge can have been seen
			seg = st.segments[t.Seq]
		}
		fast := below && fastRetransmit(t.Seq, rev, p.Meta.Time)
		switch {
		case below && seg == nil && !fast &&
			p.Meta.Time.Sub(st.nextSeqTime) < st.conn.outOfOrderWindow() && t.Seq+seqLen != st.nextSeq:
			ev.Note |= TCPOutOfOrder
		case below:
			if seg == nil {
				seg = &Segment{Flow: f, Seq: t.Seq, Len: n}
				st.segments[t.Seq] = seg
			}
			if len(seg.Copies) == 1 {
				a.order = append(a.order, segKey{f, t.Seq})
			}
			if len(seg.Copies) < 64 {
				seg.Copies = append(seg.Copies, p.Meta.Time)
			}
			ev.Note |= TCPRetransmission
			switch {
			case fast:
				ev.Note |= TCPFastRetransmission
			case n > 0 && rev != nil && rev.ackSeen && int32(t.Seq+uint32(n)-rev.lastAck) <= 0:
				ev.Note |= TCPSpuriousRetransmission
			}
			ev.Copy = len(seg.Copies)
			if iv := seg.Intervals(); len(iv) > 0 {
				ev.Since = iv[len(iv)-1]
				if len(iv) > 1 && iv[len(iv)-2] > 0 {
					ev.Ratio = float64(iv[len(iv)-1]) / float64(iv[len(iv)-2])
				}
			}
		case seqLen > 0 && len(st.segments) < 4096:
			st.segments[t.Seq] = &Segment{Flow: f, Seq: t.Seq, Len: n, Copies: []time.Time{p.Meta.Time}}
		}
	}
	// A zero-window probe's byte is not counted as sent: the window is
	// closed, and the probe is repeated at the same number (as Wireshark
	// counts it).
	if end := t.Seq + seqLen; !ev.Note.Has(TCPZeroWindowProbe) && (!st.seen || int32(end-st.nextSeq) > 0) {
		st.nextSeq, st.seen, st.nextSeqTime = end, true, p.Meta.Time
	}
	// Only bytes that continue what was seen raise what the peer can
	// acknowledge: after a hole, an ACK beyond it acknowledges bytes unseen.
	if (!st.maxSet || t.Seq == st.maxToAck) && !ev.Note.Has(TCPZeroWindowProbe) {
		st.maxToAck, st.maxSet = st.nextSeq, true
	}
	if ack {
		st.lastAck, st.ackSeen, st.lastAckT = t.Ack, true, p.Meta.Time
	}
	st.lastWin, st.winSeen, st.lastNote = t.Window, true, ev.Note
	return ev
}

// fastRetransmit says whether a segment at seq answers the peer's duplicate
// ACKs: at least two of them asked for seq, the last less than 20 ms ago
// (Wireshark's fast-retransmission rule; RFC 5681 §3.2 waits for three, but
// the capture may have missed one).
func fastRetransmit(seq uint32, rev *flowState, at time.Time) bool {
	return rev != nil && rev.dups >= 2 && rev.lastAck == seq && at.Sub(rev.lastAckT) < 20*time.Millisecond
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Retransmitted returns every segment sent more than once, with the kernel
// timestamps of its copies, in the order their retransmissions began.
func (a *TCPAnalyzer) Retransmitted() []Segment {
	out := make([]Segment, 0, len(a.order))
	for _, k := range a.order {
		if s := a.flows[k.flow].segments[k.seq]; s != nil {
			out = append(out, *s)
		}
	}
	return out
}

// Text says what the event is, in words; "" for an ordinary segment.
func (ev TCPEvent) Text() string {
	var parts []string
	for i := range tcpNoteNames {
		n := TCPNote(1 << i)
		if !ev.Note.Has(n) {
			continue
		}
		switch n {
		case TCPRetransmission:
			if ev.Copy <= 1 {
				parts = append(parts, fmt.Sprintf("retransmission of seq %d: below the flow's next sequence number, with no earlier copy in this capture (lost before the capture point, or sent before the capture began)", ev.Seq))
				continue
			}
			s := fmt.Sprintf("retransmission: copy %d of seq %d, %.3f s after the previous", ev.Copy, ev.Seq, ev.Since.Seconds())
			if ev.Ratio > 0 {
				s += fmt.Sprintf(" (×%.2f)", ev.Ratio)
			}
			parts = append(parts, s)
		case TCPDupAck:
			parts = append(parts, fmt.Sprintf("duplicate ACK #%d", ev.Dups))
		case TCPZeroWindow:
			parts = append(parts, "zero window: the receiver's buffer is full")
		case TCPZeroWindowProbe:
			parts = append(parts, "zero-window probe: one byte into a closed window")
		case TCPKeepAlive:
			parts = append(parts, "keep-alive or window probe: seq one below the next, so the peer must ACK")
		case TCPWindowUpdate:
			parts = append(parts, fmt.Sprintf("window update: %d bytes", ev.Window))
		case TCPWindowFull:
			parts = append(parts, "window full: this segment fills the peer's advertised window")
		case TCPOutOfOrder:
			parts = append(parts, fmt.Sprintf("out-of-order: seq %d lies below data already seen and arrived within a round trip of it — reordered before the capture point", ev.Seq))
		case TCPFastRetransmission:
			parts = append(parts, "fast retransmission: sent again at the peer's duplicate ACKs, before the timer ran out (RFC 5681 §3.2)")
		case TCPSpuriousRetransmission:
			parts = append(parts, "spurious: the peer had already acknowledged every byte of it")
		case TCPPreviousSegmentLost:
			parts = append(parts, "previous segment not captured: it starts above the flow's next sequence number")
		case TCPAckedUnseen:
			parts = append(parts, "acknowledges bytes this capture never saw the peer send")
		case TCPKeepAliveAck:
			parts = append(parts, "answers the peer's keep-alive")
		case TCPZeroWindowProbeAck:
			parts = append(parts, "answers the peer's zero-window probe: the window is still closed")
		}
	}
	if ev.NSACK > 0 {
		var bs []string
		for _, b := range ev.SACK[:ev.NSACK] {
			bs = append(bs, fmt.Sprintf("%d-%d", b.Left, b.Right))
		}
		parts = append(parts, "SACK "+strings.Join(bs, " "))
	}
	return strings.Join(parts, "; ")
}

// Describe says how often the segment went out and the intervals between
// its copies, with the ratio of each to the one before — about 2 while the
// retransmission timeout doubles (RFC 6298 §5.5).
func (s Segment) Describe() string {
	iv := s.Intervals()
	var parts []string
	for i, d := range iv {
		p := fmt.Sprintf("%.3f s", d.Seconds())
		if i > 0 && iv[i-1] > 0 {
			p += fmt.Sprintf(" (×%.2f)", float64(d)/float64(iv[i-1]))
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("segment %v:%d → %v:%d seq %d (%d bytes) went out %d times; intervals %s — the retransmission timeout doubles after each loss (RFC 6298 §5.5); Linux's first resend may be a tail loss probe (RFC 8985), which does not double",
		s.Flow.Src, s.Flow.SrcPort, s.Flow.Dst, s.Flow.DstPort, s.Seq, s.Len, len(s.Copies), strings.Join(parts, ", "))
}

// wiresharkWords are Wireshark's names of the notes, in the order its Info
// column shows them (packet-tcp.c prepends each in turn, so the last
// checked comes first).
var wiresharkWords = [...]struct {
	note TCPNote
	word string
}{
	{TCPOutOfOrder, "TCP Out-Of-Order"},
	{TCPFastRetransmission, "TCP Fast Retransmission"},
	{TCPSpuriousRetransmission, "TCP Spurious Retransmission"},
	{TCPZeroWindowProbeAck, "TCP ZeroWindowProbeAck"},
	{TCPZeroWindow, "TCP ZeroWindow"},
	{TCPZeroWindowProbe, "TCP ZeroWindowProbe"},
	{TCPDupAck, "TCP Dup ACK"},
	{TCPKeepAliveAck, "TCP Keep-Alive ACK"},
	{TCPWindowFull, "TCP Window Full"},
	{TCPWindowUpdate, "TCP Window Update"},
	{TCPKeepAlive, "TCP Keep-Alive"},
	{TCPAckedUnseen, "TCP ACKed unseen segment"},
	{TCPPreviousSegmentLost, "TCP Previous segment not captured"},
	{TCPRetransmission, "TCP Retransmission"},
}

// Words returns the event's notes as Wireshark's Info column names them,
// in its order: "TCP Retransmission", "TCP Dup ACK 12#1" (the frame it
// repeats, # how many so far), "TCP ZeroWindow"…; a fast or spurious
// retransmission is named as that alone. Nil for an ordinary segment.
func (ev TCPEvent) Words() []string {
	var out []string
	for _, w := range wiresharkWords {
		switch {
		case !ev.Note.Has(w.note):
		case w.note == TCPRetransmission && ev.Note&(TCPFastRetransmission|TCPSpuriousRetransmission) != 0:
		case w.note == TCPDupAck:
			out = append(out, fmt.Sprintf("TCP Dup ACK %d#%d", ev.DupOf, ev.Dups))
		default:
			out = append(out, w.word)
		}
	}
	return out
}
