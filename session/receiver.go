package session

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
)

// recv is the receiving end of one connection (Server.Run).
type recv struct {
	cfg      ServerConfig
	res      ServerResult
	mac      craft.MAC
	rx       *listen.Listener
	tx       frameSender
	peer     netip.Addr
	peerPort uint16
	peerMAC  craft.MAC
	iss, irs uint32
	sndNxt   uint32
	rcvNxt   uint32
	// right is the window's right edge: the application has room for the
	// bytes before it. lastRight is the edge last advertised: it never
	// moves left (RFC 9293 §3.8.6, "shrinking the window" is discouraged).
	right, lastRight uint32
	lastWin          int // the window last advertised, in bytes
	ourShift         int
	peerShift        int
	mss              int // the client's MSS (536 without the option)
	ts, sack         bool
	tsRecent, tsBase uint32
	lastAckSent      uint32
	start            time.Time
	ooo              []oooSeg // out-of-order data held, newest last
	dataSegs         int
	ackDue           time.Time // a delayed ACK to send then (zero: none)
	nextRead         time.Time
	finRcvd          bool
	finSent          time.Time // when our FIN went (zero: not yet)
	finRetrans       int
	finAcked         bool
	buf              []byte
	log              *wireLog
}

type oooSeg struct {
	seq  uint32
	data []byte
}

func seqLT(a, b uint32) bool { return int32(a-b) < 0 }

// run: SYN, SYN-ACK, the handshake's ACK, then the data until the end.
func (r *recv) run() error {
	defer r.log.finish(func(deadline time.Time) error {
		s, _, err := r.segment(deadline)
		if s != nil && r.peer.IsValid() {
			s.Why = "after the connection ended: rawcraft no longer answers"
			r.record(*s)
		}
		return err
	})
	if err := r.awaitSYN(); err != nil {
		return err
	}
	if err := r.handshake(); err != nil || r.res.Reset {
		return err
	}
	return r.receive()
}

// segment reads the next segment of the connection (or, before it, a SYN
// to our port); nil for other frames.
func (r *recv) segment(deadline time.Time) (*Step, *craft.Decoded, error) {
	p, fromUs, err := r.log.next(deadline)
	if err != nil || p == nil || fromUs {
		return nil, nil, err
	}
	d := &p.Decoded
	if d.IPv4.Dst != r.cfg.Addr || d.TCP.DstPort != r.cfg.Port {
		return nil, nil, nil
	}
	t := &d.TCP
	if r.peer.IsValid() && (d.IPv4.Src != r.peer || t.SrcPort != r.peerPort) {
		return nil, nil, nil // another client: this Server takes one
	}
	if !r.peer.IsValid() && t.Flags&(craft.TCPSyn|craft.TCPAck) != craft.TCPSyn {
		return nil, nil, nil
	}
	s := Step{Time: p.Meta.Time, Wire: true, From: netip.AddrPortFrom(d.IPv4.Src, t.SrcPort), To: netip.AddrPortFrom(d.IPv4.Dst, t.DstPort),
		Flags: t.Flags, Seq: t.Seq, Ack: t.Ack, Len: len(d.Payload), Window: t.Window, Scale: r.peerShift,
		Payload: append([]byte(nil), d.Payload...), Options: craft.DescribeOptions(t.Options, false), Frame: append([]byte(nil), p.Frame...)}
	if t.Flags&craft.TCPSyn != 0 {
		s.Scale = -1
	}
	irs := r.irs
	if !r.peer.IsValid() {
		irs = t.Seq
	}
	s.RelSeq, s.RelAck = t.Seq-irs, t.Ack-r.iss
	return &s, d, nil
}

func (r *recv) awaitSYN() error {
	deadline := time.Now().Add(r.cfg.Wait)
	for {
		s, d, err := r.segment(deadline)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("%w on %v:%d within %v", ErrNoClient, r.cfg.Addr, r.cfg.Port, r.cfg.Wait)
		}
		if err != nil {
			return err
		}
		if s == nil {
			continue
		}
		r.peer, r.peerPort, r.peerMAC = d.IPv4.Src, d.TCP.SrcPort, d.Ethernet.Src
		r.irs, r.rcvNxt = s.Seq, s.Seq+1
		r.res.Client, r.res.ClientISN, r.res.ClientOpts = netip.AddrPortFrom(r.peer, r.peerPort), s.Seq, s.Options
		theirs := parseOptions(d.TCP.Options)
		mss, sackOK := synMSS(d.TCP.Options)
		r.mss = mss
		opts := r.cfg.Options
		if opts == nil {
			opts = r.defaultSynAckOptions(theirs, sackOK)
		}
		opts = echoTS(opts, theirs.tsval)
		r.cfg.Options = opts
		ours := parseOptions(opts)
		_, ourSack := synMSS(opts)
		if ours.ws >= 0 && theirs.ws >= 0 {
			r.ourShift, r.peerShift = min(ours.ws, 14), min(theirs.ws, 14)
		}
		r.ts = ours.ts && theirs.ts
		if r.ts {
			r.tsBase, r.tsRecent = ours.tsval, theirs.tsval
		}
		r.sack = ourSack && sackOK
		r.res.OurScale, r.res.PeerScale, r.res.Timestamps, r.res.SACK = r.ourShift, r.peerShift, r.ts, r.sack
		r.right = r.rcvNxt + uint32(r.cfg.Window)
		s.Why = fmt.Sprintf("SYN from %v:%d: its ISN is %d; it offers %s", r.peer, r.peerPort, s.Seq, offerText(s.Options))
		r.record(*s)
		return nil
	}
}

// handshake sends the SYN-ACK until the client's ACK of it arrives.
func (r *recv) handshake() error {
	rto := r.cfg.RTO
	for n := 0; n <= r.cfg.Retries; n++ {
		if err := r.send(craft.TCPSyn|craft.TCPAck, r.iss, r.rcvNxt, r.cfg.Options, nil, n, r.synAckWhy(n)); err != nil {
			return err
		}
		deadline := time.Now().Add(rto)
		for {
			s, d, err := r.segment(deadline)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return err
			}
			if s == nil {
				continue
			}
			switch {
			case s.Flags&craft.TCPRst != 0:
				s.Why = "RST: the client gave up the connection"
				r.record(*s)
				r.res.Reset = true
				return nil
			case s.Flags&craft.TCPSyn != 0:
				s.Why = "the client sent its SYN again: our SYN-ACK was lost or late; we answer again"
				r.record(*s)
				if err := r.send(craft.TCPSyn|craft.TCPAck, r.iss, r.rcvNxt, r.cfg.Options, nil, n+1, r.synAckWhy(n+1)); err != nil {
					return err
				}
			case s.Flags&craft.TCPAck != 0 && s.Ack == r.iss+1:
				r.sndNxt = r.iss + 1
				r.res.Connected = true
				if s.Len == 0 {
					s.Why = fmt.Sprintf("ACK: ack %d = our ISN %d + 1; the three-way handshake is complete", s.Ack, r.iss)
					r.updateTS(d, s.Seq)
					r.record(*s)
					return nil
				}
				return r.absorb(s, d)
			default:
				s.Why = "not an answer to our SYN-ACK"
				r.record(*s)
			}
		}
		rto *= 2
	}
	return fmt.Errorf("%w: our SYN-ACK, after %s", ErrNoAnswer, craft.Units(r.cfg.Retries, "retransmission"))
}

// receive handles the client's segments, the application's reads, the
// delayed ACK and our FIN's retransmissions until the connection ends.
func (r *recv) receive() error {
	end := time.Now().Add(r.cfg.For)
	if r.cfg.ReadBytes > 0 {
		r.nextRead = time.Now().Add(r.cfg.ReadEvery)
	}
	for !r.res.Reset && !r.res.Closed {
		wake := end
		for _, t := range []time.Time{r.ackDue, r.nextRead, r.finDue()} {
			if !t.IsZero() && t.Before(wake) {
				wake = t
			}
		}
		s, d, err := r.segment(wake)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
		case err != nil:
			return err
		case s != nil:
			if err := r.absorb(s, d); err != nil {
				return err
			}
		}
		now := time.Now()
		if !now.Before(end) && !r.res.Reset && !r.res.Closed {
			r.res.Expired, r.res.Reset = true, true
			return r.send(craft.TCPRst|craft.TCPAck, r.sndNxt, r.rcvNxt, nil, nil, 0,
				fmt.Sprintf("RST: the %v this connection was given is up; rawcraft ends it", r.cfg.For))
		}
		if err := r.timers(now); err != nil {
			return err
		}
	}
	return nil
}

func (r *recv) finDue() time.Time {
	if r.finSent.IsZero() || r.finAcked {
		return time.Time{}
	}
	return r.finSent.Add(r.cfg.RTO << r.finRetrans)
}

// timers runs what is due: the application's read, the delayed ACK, our
// FIN's retransmission.
func (r *recv) timers(now time.Time) error {
	if !r.nextRead.IsZero() && !now.Before(r.nextRead) {
		r.nextRead = r.nextRead.Add(r.cfg.ReadEvery)
		if r.nextRead.Before(now) {
			r.nextRead = now.Add(r.cfg.ReadEvery)
		}
		limit := r.rcvNxt + uint32(max(r.cfg.Window, r.cfg.ReadBytes))
		right := r.right + uint32(r.cfg.ReadBytes)
		if seqLT(limit, right) {
			right = limit
		}
		if seqLT(r.right, right) {
			r.right = right
			// A window update when the client may be stalled: the window
			// it knows is less than a segment (RFC 9293 §3.8.6.2.2).
			if r.lastWin < r.mss && r.res.Connected && !r.finRcvd && r.cfg.Withhold >= 0 {
				if err := r.sendAck(fmt.Sprintf("window update: the application read %s; the window opens to %s", craft.Units(r.cfg.ReadBytes, "byte"), craft.Units(int(r.right-r.rcvNxt), "byte"))); err != nil {
					return err
				}
			}
		}
	}
	if !r.ackDue.IsZero() && !now.Before(r.ackDue) {
		r.ackDue = time.Time{}
		if err := r.sendAck(fmt.Sprintf("delayed ACK (%v): everything up to %d (relative %d)", r.cfg.AckDelay, r.rcvNxt, r.rcvNxt-r.irs)); err != nil {
			return err
		}
	}
	if due := r.finDue(); !due.IsZero() && !now.Before(due) {
		if r.finRetrans >= r.cfg.Retries {
			return fmt.Errorf("%w: our FIN, after %s", ErrNoAnswer, craft.Units(r.cfg.Retries, "retransmission"))
		}
		r.finRetrans++
		r.finSent = now
		return r.send(craft.TCPFin|craft.TCPAck, r.sndNxt-1, r.rcvNxt, nil, nil, r.finRetrans, "FIN|ACK again: no ACK of our FIN within the timeout")
	}
	return nil
}

// absorb takes in one segment of the client's and answers it.
func (r *recv) absorb(s *Step, d *craft.Decoded) error {
	if s.Flags&craft.TCPRst != 0 {
		s.Why = "RST: the client reset the connection"
		r.record(*s)
		r.res.Reset = true
		return nil
	}
	if s.Flags&craft.TCPSyn != 0 {
		s.Why = "the client's SYN again: it did not see our handshake complete"
		r.record(*s)
		return nil
	}
	r.updateTS(d, s.Seq)
	if !r.finSent.IsZero() && s.Flags&craft.TCPAck != 0 && seqGE(s.Ack, r.sndNxt) {
		r.finAcked = true
	}
	n := s.Len
	fin := s.Flags&craft.TCPFin != 0
	if n == 0 && !fin {
		switch {
		case s.Seq == r.rcvNxt-1 && r.lastWin == 0:
			// Linux probes a zero window with a segment one below the
			// window's edge, no data (tcp_xmit_probe_skb): unacceptable,
			// so it must be answered with an ACK (RFC 9293 §3.10.7.4).
			s.Why = fmt.Sprintf("zero-window probe: seq %d is one below the %d we expect; we answer with our window", s.Seq, r.rcvNxt)
			r.record(*s)
			r.res.Probes++
			return r.ackNow(0, "ACK answering the probe: the window is still "+r.windowWords())
		case s.Seq != r.rcvNxt:
			s.Why = fmt.Sprintf("an unacceptable segment (seq %d, we expect %d): we answer with an ACK", s.Seq, r.rcvNxt)
			r.record(*s)
			return r.ackNow(0, "ACK: where we are")
		}
		s.Why = fmt.Sprintf("ACK from the client: it has everything up to %d (relative %d)", s.Ack, s.RelAck)
		if r.finAcked && r.finRcvd {
			s.Why = "ACK of our FIN: the connection is closed"
			r.res.Closed = true
		}
		r.record(*s)
		return nil
	}
	if n > 0 {
		r.dataSegs++
	}
	win := int(int32(r.right - r.rcvNxt))
	switch {
	case n > 0 && seqGE(r.rcvNxt, s.Seq+uint32(n)):
		s.Why = fmt.Sprintf("%s we already have (seq relative %d): a retransmission", craft.Units(n, "byte"), s.RelSeq)
		r.record(*s)
		return r.ackNow(n, "duplicate ACK: we had those bytes already")
	case n > 0 && win <= 0 && s.Seq == r.rcvNxt:
		s.Why = fmt.Sprintf("%s into a closed window: a zero-window probe carrying data; not accepted", craft.Units(n, "byte"))
		r.record(*s)
		r.res.Probes++
		return r.ackNow(n, "ACK answering the probe: the window is still "+r.windowWords())
	case n > 0 && seqLT(r.rcvNxt, s.Seq):
		if !seqLT(s.Seq, r.right) {
			s.Why = fmt.Sprintf("%s beyond our window's edge %d: dropped", craft.Units(n, "byte"), r.right)
			r.record(*s)
			return r.ackNow(n, "ACK: the window ends at "+fmt.Sprint(r.right))
		}
		data := s.Payload
		if room := int(r.right - s.Seq); len(data) > room {
			data = data[:room]
		}
		r.holdOOO(s.Seq, data)
		s.Why = fmt.Sprintf("%s out of order at seq %d (relative %d): we expected %d (relative %d) — a hole before them", craft.Units(n, "byte"), s.Seq, s.RelSeq, r.rcvNxt, r.rcvNxt-r.irs)
		r.record(*s)
		r.res.DupAcks++
		why := "duplicate ACK: we still expect " + fmt.Sprint(r.rcvNxt) + "; the sender's third one triggers its fast retransmit (RFC 5681 §3.2)"
		if r.sack {
			r.res.SACKs++
			why += "; the SACK blocks say what we hold beyond the hole (RFC 2018)"
		}
		return r.ackNow(n, why)
	}
	// In order (perhaps overlapping what we have): take what fits.
	took := 0
	if n > 0 {
		skip := int(r.rcvNxt - s.Seq)
		data := s.Payload[skip:]
		if len(data) > win {
			data = data[:max(win, 0)]
		}
		r.take(data)
		took = len(data)
		r.pullOOO()
	}
	if fin && s.Seq+uint32(n) == r.rcvNxt {
		r.rcvNxt++
		r.finRcvd = true
	}
	switch {
	case fin && r.finRcvd:
		s.Why = fmt.Sprintf("FIN from the client (with %s): it has no more data; the FIN uses one sequence number", craft.Units(took, "byte"))
	case took < n:
		s.Why = fmt.Sprintf("%s in order, of which %d fit the window (%s)", craft.Units(n, "byte"), took, r.windowWords())
	default:
		s.Why = fmt.Sprintf("%s in order at seq %d (relative %d)", craft.Units(n, "byte"), s.Seq, s.RelSeq)
	}
	r.record(*s)
	if r.finRcvd {
		if err := r.ackNow(n, fmt.Sprintf("ACK of the client's FIN: ack %d counts it as one byte", r.rcvNxt)); err != nil {
			return err
		}
		if r.finSent.IsZero() {
			r.sndNxt++
			r.finSent = time.Now()
			return r.send(craft.TCPFin|craft.TCPAck, r.sndNxt-1, r.rcvNxt, nil, nil, 0, "FIN|ACK: we have no more data either")
		}
		return nil
	}
	if r.withhold(n) {
		return nil
	}
	if r.cfg.AckDelay > 0 {
		if r.ackDue.IsZero() {
			r.ackDue = time.Now().Add(r.cfg.AckDelay)
		}
		return nil
	}
	return r.sendAck(fmt.Sprintf("ACK: everything up to %d (relative %d); the window is %s", r.rcvNxt, r.rcvNxt-r.irs, r.windowWords()))
}

// withhold says whether this data segment's ACK is withheld, and counts it.
func (r *recv) withhold(n int) bool {
	if n == 0 || r.cfg.Withhold == 0 || r.cfg.Withhold > 0 && r.dataSegs > r.cfg.Withhold {
		return r.cfg.Withhold < 0
	}
	r.res.Withheld++
	r.res.Steps[len(r.res.Steps)-1].Why += "; its ACK is withheld"
	return true
}

// ackNow acknowledges at once, unless the ACK policy withholds it.
func (r *recv) ackNow(n int, why string) error {
	if r.withhold(n) {
		return nil
	}
	return r.sendAck(why)
}

func (r *recv) take(data []byte) {
	if len(r.res.Received)+len(data) <= MaxReceive {
		r.res.Received = append(r.res.Received, data...)
	}
	r.res.Bytes += len(data)
	r.rcvNxt += uint32(len(data))
	if r.cfg.ReadBytes == 0 {
		r.right = r.rcvNxt + uint32(r.cfg.Window) // the application reads at once
	}
}

func (r *recv) holdOOO(seq uint32, data []byte) {
	for i, o := range r.ooo {
		if o.seq == seq && len(o.data) >= len(data) {
			// Again: the newest becomes first in the SACK option.
			r.ooo = append(append(r.ooo[:i:i], r.ooo[i+1:]...), o)
			return
		}
	}
	r.ooo = append(r.ooo, oooSeg{seq: seq, data: append([]byte(nil), data...)})
}

// pullOOO takes in the held segments the in-order data now reaches.
func (r *recv) pullOOO() {
	for moved := true; moved; {
		moved = false
		keep := r.ooo[:0]
		for _, o := range r.ooo {
			end := o.seq + uint32(len(o.data))
			switch {
			case seqGE(r.rcvNxt, end):
			case seqGE(r.rcvNxt, o.seq):
				r.take(o.data[r.rcvNxt-o.seq:])
				moved = true
			default:
				keep = append(keep, o)
			}
		}
		r.ooo = keep
	}
}

// sackBlocks are the blocks of held data, the one holding the newest
// segment first (RFC 2018 §4), merged, at most max.
func (r *recv) sackBlocks(maxBlocks int) []craft.SACKBlock {
	var blocks []craft.SACKBlock
	for i := len(r.ooo) - 1; i >= 0 && len(blocks) < maxBlocks; i-- {
		b := craft.SACKBlock{Left: r.ooo[i].seq, Right: r.ooo[i].seq + uint32(len(r.ooo[i].data))}
		// Grow it over every held segment touching it.
		for grown := true; grown; {
			grown = false
			for _, o := range r.ooo {
				l, rt := o.seq, o.seq+uint32(len(o.data))
				if seqGE(rt, b.Left) && seqGE(b.Right, l) && (seqLT(l, b.Left) || seqLT(b.Right, rt)) {
					if seqLT(l, b.Left) {
						b.Left = l
					}
					if seqLT(b.Right, rt) {
						b.Right = rt
					}
					grown = true
				}
			}
		}
		dup := false
		for _, x := range blocks {
			dup = dup || x == b
		}
		if !dup {
			blocks = append(blocks, b)
		}
	}
	return blocks
}

// updateTS keeps TS.Recent by RFC 7323 §4.3: the TSval of a segment that
// covers the last ACK we sent — so a delayed ACK echoes the earliest
// unacknowledged segment's, and out-of-order data does not move it.
func (r *recv) updateTS(d *craft.Decoded, seq uint32) {
	if !r.ts {
		return
	}
	if o := parseOptions(d.TCP.Options); o.ts && !seqLT(r.lastAckSent, seq) && seqGE(o.tsval, r.tsRecent) {
		r.tsRecent = o.tsval
	}
}

// sendAck sends an ACK with our window, and SACK blocks when data is held.
func (r *recv) sendAck(why string) error {
	var opts []byte
	if r.sack && len(r.ooo) > 0 {
		n := 4
		if r.ts {
			n = 3
		}
		opts = craft.AppendTCPOptSACK(craft.AppendTCPOptNOP(craft.AppendTCPOptNOP(r.tsOption())), r.sackBlocks(n)...)
	}
	return r.send(craft.TCPAck, r.sndNxt, r.rcvNxt, opts, nil, 0, why)
}

func (r *recv) tsOption() []byte {
	if !r.ts {
		return nil
	}
	tsval := r.tsBase + uint32(time.Since(r.start)/time.Millisecond)
	return craft.AppendTCPOptTimestamps(craft.AppendTCPOptNOP(craft.AppendTCPOptNOP(nil)), tsval, r.tsRecent)
}

// window is the window field of a segment we send: a SYN-ACK's unscaled
// (RFC 7323 §2.2), later ones shifted right by our scale, never moving the
// advertised right edge left.
func (r *recv) window(flags uint8) uint16 {
	if flags&craft.TCPSyn != 0 {
		w := min(r.cfg.Window, 65535)
		r.lastWin, r.lastRight = w, r.rcvNxt+uint32(w)
		return uint16(w)
	}
	shift := max(r.ourShift, 0)
	adv := max(int(int32(r.right-r.rcvNxt)), 0)
	field := min(adv>>shift, 65535)
	if edge := r.rcvNxt + uint32(field<<shift); seqLT(edge, r.lastRight) && seqLT(r.rcvNxt, r.lastRight) {
		field = min((int(r.lastRight-r.rcvNxt)+1<<shift-1)>>shift, 65535)
	}
	r.lastWin = field << shift
	r.lastRight = r.rcvNxt + uint32(r.lastWin)
	if seqLT(r.right, r.lastRight) {
		r.right = r.lastRight // the client may use all we advertised
	}
	return uint16(field)
}

func (r *recv) windowWords() string {
	w := max(int(int32(r.right-r.rcvNxt)), 0)
	if w == 0 {
		return "zero"
	}
	return craft.Units(w, "byte")
}

// send builds a segment from our address to the client, sends it and
// records the step.
func (r *recv) send(flags uint8, seq, ack uint32, opts, data []byte, retrans int, why string) error {
	if opts == nil && flags&craft.TCPSyn == 0 && flags&craft.TCPRst == 0 {
		opts = r.tsOption()
	}
	win := r.window(flags)
	if flags&craft.TCPRst != 0 {
		win = 0
	}
	p := craft.Packet{
		Ethernet: &craft.Ethernet{Dst: r.peerMAC, Src: r.mac},
		IPv4:     &craft.IPv4{ID: uint16(seq), Flags: craft.FlagDF, Src: r.cfg.Addr, Dst: r.peer},
		TCP:      &craft.TCP{SrcPort: r.cfg.Port, DstPort: r.peerPort, Seq: seq, Ack: ack, Flags: flags, Window: win, Options: opts},
		Payload:  data,
	}
	b, err := p.Append(r.buf[:0])
	if err != nil {
		return err
	}
	r.buf = b
	sentAt := time.Now()
	if _, err := r.tx.Send(b); err != nil {
		return err
	}
	if flags&craft.TCPAck != 0 {
		r.lastAckSent = ack
		if flags&craft.TCPSyn == 0 {
			r.ackDue = time.Time{} // this ACK covers what a delayed one would
		}
	}
	s := Step{Time: sentAt, Out: true, Flags: flags, Seq: seq, Ack: ack, RelSeq: seq - r.iss, RelAck: ack - r.irs, Len: len(data),
		Window: win, Scale: r.ourShift, Payload: data, Retrans: retrans, Options: craft.DescribeOptions(opts, false), Why: why,
		From: netip.AddrPortFrom(r.cfg.Addr, r.cfg.Port), To: netip.AddrPortFrom(r.peer, r.peerPort)}
	if flags&craft.TCPSyn != 0 {
		s.Scale = -1
	}
	r.log.sent(s, b)
	return nil
}

func (r *recv) record(s Step) { r.log.record(s) }

func (r *recv) synAckWhy(n int) string {
	why := fmt.Sprintf("SYN-ACK: our ISN is %d; ack %d = the client's ISN + 1; window %d", r.iss, r.rcvNxt, min(r.cfg.Window, 65535))
	if r.ourShift >= 0 {
		why += fmt.Sprintf(" (unscaled in a SYN; later ones shifted by %d)", r.ourShift)
	}
	if n > 0 {
		why += fmt.Sprintf(" (retransmission %d)", n)
	}
	return why
}

// defaultSynAckOptions answers a SYN as Linux does, in its order: MSS,
// SACK permitted, timestamps, window scale, each only if the SYN had it
// (RFC 7323 §1.3, RFC 2018 §2); the scale is the smallest that carries the
// largest window we will advertise.
func (r *recv) defaultSynAckOptions(theirs synOptions, sackOK bool) []byte {
	b := craft.AppendTCPOptMSS(make([]byte, 0, 20), 1460)
	switch {
	case sackOK && theirs.ts:
		b = craft.AppendTCPOptTimestamps(craft.AppendTCPOptSACKOK(b), r.tsBase, theirs.tsval)
	case theirs.ts:
		b = craft.AppendTCPOptTimestamps(craft.AppendTCPOptNOP(craft.AppendTCPOptNOP(b)), r.tsBase, theirs.tsval)
	case sackOK:
		b = craft.AppendTCPOptSACKOK(craft.AppendTCPOptNOP(craft.AppendTCPOptNOP(b)))
	}
	if theirs.ws >= 0 {
		shift := uint8(0)
		for w := max(r.cfg.Window, r.cfg.ReadBytes); w>>shift > 65535 && shift < 14; {
			shift++
		}
		b = craft.AppendTCPOptWScale(craft.AppendTCPOptNOP(b), shift)
	}
	return b
}

// synMSS reads a SYN's MSS (536 without the option, RFC 9293 §3.7.1) and
// whether it permits SACK.
func synMSS(opts []byte) (mss int, sackOK bool) {
	mss = 536
	for off := 0; off < len(opts); {
		op, next, err := craft.NextOption(opts, off)
		if err != nil || op.Kind == 0 {
			break
		}
		switch {
		case op.Kind == craft.TCPOptMSS && len(op.Data) == 2:
			mss = int(op.Data[0])<<8 | int(op.Data[1])
		case op.Kind == craft.TCPOptSACKOK:
			sackOK = true
		}
		off = next
	}
	return mss, sackOK
}

// echoTS returns opts with a timestamps option's TSecr 0 replaced by
// tsval, on a copy.
func echoTS(opts []byte, tsval uint32) []byte {
	out := append([]byte(nil), opts...)
	for off := 0; off < len(out); {
		op, next, err := craft.NextOption(out, off)
		if err != nil || op.Kind == 0 {
			break
		}
		if op.Kind == craft.TCPOptTimestamps && len(op.Data) == 8 && next-4 >= 0 {
			e := out[next-4 : next]
			if e[0]|e[1]|e[2]|e[3] == 0 {
				e[0], e[1], e[2], e[3] = byte(tsval>>24), byte(tsval>>16), byte(tsval>>8), byte(tsval)
			}
		}
		off = next
	}
	return out
}

func offerText(opts []string) string {
	if len(opts) == 0 {
		return "no options"
	}
	s := opts[0]
	for _, o := range opts[1:] {
		s += "; " + o
	}
	return s
}
