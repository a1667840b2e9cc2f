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

// TCPNote says what the analyzer noticed about a segment.
type TCPNote uint8

// Notes.
const (
	TCPNothing TCPNote = iota
	// TCPRetransmission: the segment carries sequence numbers the flow has
	// already sent (RFC 9293 §3.8.1; RFC 6298).
	TCPRetransmission
	// TCPDupAck: a pure ACK repeating the flow's last acknowledgement and
	// window: the receiver saw a segment out of order (RFC 5681 §2).
	TCPDupAck
	// TCPZeroWindow: the sender's receive buffer is full (RFC 9293 §3.8.6.1).
	TCPZeroWindow
)

// TCPEvent is the analyzer's verdict on one segment.
type TCPEvent struct {
	Note  TCPNote
	Flow  Flow
	Seq   uint32
	Len   int
	Copy  int           // retransmission: 2 for the first retransmission (the second copy)
	Since time.Duration // retransmission: time since the previous copy
	Ratio float64       // retransmission: Since divided by the previous interval (≈2 under RFC 6298 back-off)
	Dups  int           // duplicate ACK: how many so far
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
	sndMax   uint32 // highest sequence number sent + 1
	seen     bool
	lastAck  uint32
	lastWin  uint16
	ackSeen  bool
	dups     int
	segments map[uint32]*Segment
}

// TCPAnalyzer watches TCP segments go by and notices retransmissions — with
// the interval since the previous copy, the article's Exercise 5 —,
// duplicate ACKs and zero windows. It is bounded: at most MaxFlows flows
// (default 1024) are followed, the rest ignored.
type TCPAnalyzer struct {
	MaxFlows int
	flows    map[Flow]*flowState
	order    []segKey // retransmitted segments, in order of first retransmission
}

// NewTCPAnalyzer returns an empty analyzer.
func NewTCPAnalyzer() *TCPAnalyzer { return &TCPAnalyzer{flows: map[Flow]*flowState{}} }

// Add looks at one captured packet.
func (a *TCPAnalyzer) Add(p *Packet) TCPEvent {
	d := &p.Decoded
	if !d.Has(craft.LayerTCP) || d.TransportLen < craft.TCPHeaderLen || d.Frag != craft.NotFragment {
		return TCPEvent{}
	}
	t := &d.TCP
	f := Flow{Src: d.IPv4.Src, Dst: d.IPv4.Dst, SrcPort: t.SrcPort, DstPort: t.DstPort}
	st := a.flows[f]
	if st == nil {
		max := a.MaxFlows
		if max <= 0 {
			max = 1024
		}
		if len(a.flows) >= max {
			return TCPEvent{}
		}
		st = &flowState{segments: map[uint32]*Segment{}}
		a.flows[f] = st
	}
	n := len(d.Payload)
	seqLen := uint32(n)
	if t.Flags&(craft.TCPSyn|craft.TCPFin) != 0 {
		seqLen++
	}
	ev := TCPEvent{Flow: f, Seq: t.Seq, Len: n}
	switch {
	case t.Flags&craft.TCPRst != 0:
		return ev
	case seqLen > 0:
		end := t.Seq + seqLen
		if st.seen && int32(t.Seq-st.sndMax) < 0 {
			seg := st.segments[t.Seq]
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
			ev.Note, ev.Copy = TCPRetransmission, len(seg.Copies)
			if iv := seg.Intervals(); len(iv) > 0 {
				ev.Since = iv[len(iv)-1]
				if len(iv) > 1 && iv[len(iv)-2] > 0 {
					ev.Ratio = float64(iv[len(iv)-1]) / float64(iv[len(iv)-2])
				}
			}
		} else if len(st.segments) < 4096 {
			st.segments[t.Seq] = &Segment{Flow: f, Seq: t.Seq, Len: n, Copies: []time.Time{p.Meta.Time}}
		}
		if !st.seen || int32(end-st.sndMax) > 0 {
			st.sndMax, st.seen = end, true
		}
	case t.Flags&craft.TCPAck != 0:
		if st.ackSeen && t.Ack == st.lastAck && t.Window == st.lastWin && t.Window != 0 {
			st.dups++
			ev.Note, ev.Dups = TCPDupAck, st.dups
		} else {
			st.dups = 0
		}
	}
	if t.Flags&craft.TCPAck != 0 {
		st.lastAck, st.lastWin, st.ackSeen = t.Ack, t.Window, true
	}
	if t.Window == 0 && t.Flags&craft.TCPSyn == 0 && ev.Note == TCPNothing {
		ev.Note = TCPZeroWindow
	}
	return ev
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
	switch ev.Note {
	case TCPRetransmission:
		s := fmt.Sprintf("retransmission: copy %d of seq %d, %.3f s after the previous", ev.Copy, ev.Seq, ev.Since.Seconds())
		if ev.Ratio > 0 {
			s += fmt.Sprintf(" (×%.2f)", ev.Ratio)
		}
		return s
	case TCPDupAck:
		return fmt.Sprintf("duplicate ACK #%d", ev.Dups)
	case TCPZeroWindow:
		return "zero window: the receiver's buffer is full"
	}
	return ""
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
