// Package tcpseq draws the time-sequence graph of one TCP flow, as tcptrace
// does: sequence number against time, with the ACK line, the receive
// window's right edge, retransmissions, SACK blocks and zero-window probes
// marked. It reads what listen's TCPAnalyzer says about each segment and
// renders it as text (time downward, sequence across) or as SVG.
//
// Sequence numbers are relative to the flow's first sequence number seen
// (its ISN when the SYN was captured), as Wireshark shows them.
package tcpseq

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
)

// Kind says what a point of the graph is.
type Kind uint8

// Kinds.
const (
	Data Kind = iota // a segment of the data flow
	Ack              // a segment of the reverse flow: the receiver's ACK
)

// Point is one segment on the graph.
type Point struct {
	Kind Kind
	T    time.Duration // since the first segment of either flow
	// Data: the segment's bytes [Seq, Seq+Len), relative.
	Seq uint32
	Len int
	// Ack: the acknowledgment (relative to the data flow) and the window's
	// right edge, Ack + the scaled window, in bytes.
	AckNo, Edge uint32
	Win         int
	SACK        []listen.SACKBlock // relative to the data flow
	Note        listen.TCPNote
	Flags       uint8
}

// Trace is the graph of one flow, the data direction, and its reverse.
type Trace struct {
	Flow   listen.Flow
	Points []Point
	start  time.Time
	isn    uint32
	have   bool
}

// New returns an empty graph of flow (the direction that carries the data).
func New(flow listen.Flow) *Trace { return &Trace{Flow: flow} }

func reverse(f listen.Flow) listen.Flow {
	return listen.Flow{Src: f.Dst, Dst: f.Src, SrcPort: f.DstPort, DstPort: f.SrcPort}
}

// Add puts one analyzed segment on the graph; segments of other flows are
// ignored. p is the captured packet, ev what the analyzer said of it.
func (tr *Trace) Add(p *listen.Packet, ev listen.TCPEvent) {
	if !p.Decoded.Has(craft.LayerTCP) {
		return
	}
	t := &p.Decoded.TCP
	var k Kind
	switch ev.Flow {
	case tr.Flow:
		k = Data
	case reverse(tr.Flow):
		k = Ack
	default:
		return
	}
	if tr.start.IsZero() {
		tr.start = p.Meta.Time
	}
	if k == Data && !tr.have {
		tr.isn, tr.have = t.Seq, true
	}
	if k == Ack && !tr.have && t.Flags&craft.TCPAck != 0 {
		tr.isn, tr.have = t.Ack-1, true
	}
	pt := Point{Kind: k, T: p.Meta.Time.Sub(tr.start), Note: ev.Note, Flags: t.Flags, Win: ev.Window}
	if k == Data {
		pt.Seq, pt.Len = t.Seq-tr.isn, ev.Len
	} else if t.Flags&craft.TCPAck != 0 {
		pt.AckNo = t.Ack - tr.isn
		pt.Edge = pt.AckNo + uint32(ev.Window)
		for _, b := range ev.SACK[:ev.NSACK] {
			pt.SACK = append(pt.SACK, listen.SACKBlock{Left: b.Left - tr.isn, Right: b.Right - tr.isn})
		}
	}
	tr.Points = append(tr.Points, pt)
}

// Retransmissions returns the data points the analyzer marked as
// retransmitted.
func (tr *Trace) Retransmissions() []Point {
	var out []Point
	for _, p := range tr.Points {
		if p.Kind == Data && p.Note.Has(listen.TCPRetransmission) {
			out = append(out, p)
		}
	}
	return out
}

func (tr *Trace) maxSeq() uint32 {
	var m uint32 = 1
	for _, p := range tr.Points {
		m = max(m, p.Seq+uint32(p.Len), p.AckNo)
		if p.Kind == Ack && p.Edge > m && p.Edge-m < 1<<30 {
			m = p.Edge
		}
	}
	return m
}

// Text writes the graph with time going down: one line per segment, the
// time in milliseconds, what it is, and a bar of width columns across the
// sequence space where '=' is new data, 'R' a retransmission, 'P' a
// zero-window probe, '|' the ACK, ']' the window's right edge, 's' SACKed
// bytes. Lines beyond maxLines (0: all) are elided in the middle.
func (tr *Trace) Text(w io.Writer, width, maxLines int) {
	if width < 20 {
		width = 20
	}
	top := tr.maxSeq()
	col := func(s uint32) int { return min(int(uint64(s)*uint64(width-1)/uint64(top)), width-1) }
	fmt.Fprintf(w, "time-sequence graph of %v:%d → %v:%d (relative seq 0 … %d; = data, R retransmission, P probe, | ACK, ] window edge, s SACKed)\n",
		tr.Flow.Src, tr.Flow.SrcPort, tr.Flow.Dst, tr.Flow.DstPort, top)
	lines := tr.Points
	skipFrom, skipTo := -1, -1
	if maxLines > 0 && len(lines) > maxLines {
		skipFrom, skipTo = maxLines/2, len(lines)-maxLines/2
	}
	bar := make([]byte, width)
	for i, p := range lines {
		if i == skipFrom {
			fmt.Fprintf(w, "  … %d segments …\n", skipTo-skipFrom)
		}
		if i >= skipFrom && i < skipTo {
			continue
		}
		for j := range bar {
			bar[j] = ' '
		}
		var what string
		switch p.Kind {
		case Data:
			c := byte('=')
			switch {
			case p.Note.Has(listen.TCPZeroWindowProbe) || p.Note.Has(listen.TCPKeepAlive):
				c = 'P'
			case p.Note.Has(listen.TCPRetransmission):
				c = 'R'
			}
			if p.Len > 0 || c == 'P' {
				for j := col(p.Seq); j <= col(p.Seq+uint32(max(p.Len, 1))-1); j++ {
					bar[j] = c
				}
			}
			what = fmt.Sprintf("data %d:%d (%d)", p.Seq, p.Seq+uint32(p.Len), p.Len)
			if p.Len == 0 {
				what = fmt.Sprintf("seq %d, no data", p.Seq)
			}
		case Ack:
			for _, b := range p.SACK {
				for j := col(b.Left); j <= col(b.Right-1) && b.Right > b.Left; j++ {
					bar[j] = 's'
				}
			}
			if p.Edge <= top {
				bar[col(p.Edge)] = ']'
			}
			bar[col(p.AckNo)] = '|'
			what = fmt.Sprintf("ack %d win %d", p.AckNo, p.Win)
		}
		note := ""
		if p.Note != 0 {
			note = " " + p.Note.String()
		}
		if len(p.SACK) > 0 {
			var bs []string
			for _, b := range p.SACK {
				bs = append(bs, fmt.Sprintf("%d-%d", b.Left, b.Right))
			}
			note += " SACK " + strings.Join(bs, " ")
		}
		fmt.Fprintf(w, "%9.3f ms %s %-24s%s\n", float64(p.T)/1e6, bar, what, note)
	}
}

// SVG writes the graph as an SVG image: time across, sequence up; data
// segments as black vertical strokes, retransmissions red, zero-window
// probes orange, the ACK line green, the window's edge olive, SACK blocks
// purple.
func (tr *Trace) SVG(w io.Writer) error {
	const W, H, m = 960.0, 600.0, 60.0
	var end time.Duration = 1
	for _, p := range tr.Points {
		end = max(end, p.T)
	}
	top := float64(tr.maxSeq())
	x := func(t time.Duration) float64 { return m + (W-2*m)*float64(t)/float64(end) }
	y := func(s uint32) float64 { return H - m - (H-2*m)*float64(s)/top }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", W, H)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="20">%v:%d → %v:%d — sequence (relative bytes) against time</text>`+"\n", m, tr.Flow.Src, tr.Flow.SrcPort, tr.Flow.Dst, tr.Flow.DstPort)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/><line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`+"\n", m, H-m, W-m, H-m, m, m, m, H-m)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">0</text><text x="%.0f" y="%.0f" text-anchor="end">%.3f ms</text>`+"\n", m, H-m+16, W-m, H-m+16, float64(end)/1e6)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">%.0f</text>`+"\n", m-4, m+4, top)
	var ackPath, edgePath strings.Builder
	var lastAck, lastEdge struct {
		x, y float64
		ok   bool
	}
	for _, p := range tr.Points {
		px := x(p.T)
		switch p.Kind {
		case Data:
			color := "black"
			switch {
			case p.Note.Has(listen.TCPZeroWindowProbe) || p.Note.Has(listen.TCPKeepAlive):
				color = "orange"
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="none" stroke="orange"/>`+"\n", px, y(p.Seq))
			case p.Note.Has(listen.TCPRetransmission):
				color = "red"
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="red">R</text>`+"\n", px+3, y(p.Seq+uint32(p.Len)))
			}
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`+"\n", px, y(p.Seq), px, y(p.Seq+uint32(max(p.Len, 1))), color)
		case Ack:
			ay, ey := y(p.AckNo), y(p.Edge)
			step := func(pb *strings.Builder, last *struct {
				x, y float64
				ok   bool
			}, ny float64) {
				if !last.ok {
					fmt.Fprintf(pb, "M%.1f %.1f", px, ny)
				} else {
					fmt.Fprintf(pb, " L%.1f %.1f L%.1f %.1f", px, last.y, px, ny)
				}
				last.x, last.y, last.ok = px, ny, true
			}
			step(&ackPath, &lastAck, ay)
			if float64(p.Edge) <= top {
				step(&edgePath, &lastEdge, ey)
			}
			for _, s := range p.SACK {
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="purple" stroke-width="3" opacity="0.6"/>`+"\n", px+2, y(s.Left), px+2, y(s.Right))
			}
			if p.Note.Has(listen.TCPZeroWindow) {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="olive">0</text>`+"\n", px, ay-4)
			}
			if p.Note.Has(listen.TCPDupAck) {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="green" font-size="9">D</text>`+"\n", px, ay+10)
			}
		}
	}
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="green"/>`+"\n", ackPath.String())
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="olive" stroke-dasharray="4 2"/>`+"\n", edgePath.String())
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f"><tspan fill="black">data</tspan> <tspan fill="red">retransmission</tspan> <tspan fill="orange">window probe</tspan> <tspan fill="green">ACK (D: duplicate)</tspan> <tspan fill="olive">window edge (0: zero window)</tspan> <tspan fill="purple">SACK</tspan></text>`+"\n", m, H-20)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// InFlight returns, for each interval of length rtt from the first data
// segment, the highest data byte sent minus the highest byte acknowledged
// at the interval's end: bytes in flight per round trip, the sender's
// congestion window when it is the limit.
func (tr *Trace) InFlight(rtt time.Duration) []int {
	if rtt <= 0 {
		return nil
	}
	var out []int
	var sent, acked uint32
	var t0 time.Duration = -1
	var peak int
	for _, p := range tr.Points {
		if p.Kind == Data && p.Len > 0 && t0 < 0 {
			t0 = p.T
		}
		if t0 < 0 {
			continue
		}
		for p.T >= t0+rtt*time.Duration(len(out)+1) {
			out = append(out, peak)
			peak = 0
		}
		switch p.Kind {
		case Data:
			sent = max(sent, p.Seq+uint32(p.Len))
		case Ack:
			acked = max(acked, p.AckNo)
		}
		if f := int(sent) - int(acked); f > peak {
			peak = f
		}
	}
	if peak > 0 {
		out = append(out, peak)
	}
	return out
}

// First follows the first flow it meets that opens a connection (a SYN
// without ACK: the client's direction) or carries data, and graphs it; nil
// until then.
type First struct{ Trace *Trace }

// Add offers a segment; the first one that opens a connection or carries
// data picks the flow.
func (f *First) Add(p *listen.Packet, ev listen.TCPEvent) {
	if f.Trace == nil {
		if !p.Decoded.Has(craft.LayerTCP) {
			return
		}
		fl := p.Decoded.TCP.Flags
		if !(fl&craft.TCPSyn != 0 && fl&craft.TCPAck == 0) && ev.Len == 0 {
			return
		}
		if ev.Flow == (listen.Flow{}) {
			return
		}
		f.Trace = New(ev.Flow)
	}
	f.Trace.Add(p, ev)
}

// Round is one round trip of the sender, clocked by its ACKs: it begins
// with a data segment and ends when the ACK for that first segment comes
// back.
type Round struct {
	Start, End time.Duration
	// Flight is the most bytes sent and not yet acknowledged during the
	// round: at its end, in slow start, the congestion window — unless the
	// receiver's window (Rwnd, at the round's end) or the application held
	// the sender back.
	Flight int
	Rwnd   int
}

// Rounds splits the data flow into round trips by the ACK clock, so that
// timing noise does not move a segment into the wrong round.
func (tr *Trace) Rounds() []Round {
	var out []Round
	var sent, acked, first uint32
	var cur Round
	in := false
	for _, p := range tr.Points {
		switch p.Kind {
		case Data:
			if p.Len == 0 || p.Note.Has(listen.TCPRetransmission) {
				continue
			}
			end := p.Seq + uint32(p.Len)
			if !in {
				in, cur, first = true, Round{Start: p.T}, end
			}
			sent = max(sent, end)
			cur.Flight = max(cur.Flight, int(sent-acked))
		case Ack:
			if p.Flags&craft.TCPAck == 0 {
				continue
			}
			acked = max(acked, p.AckNo)
			if in && acked >= first {
				cur.End, cur.Rwnd = p.T, p.Win
				out = append(out, cur)
				in = false
			}
		}
	}
	return out
}
