// Package session drives one TCP connection by hand from crafted segments:
// the three-way handshake, data, the four-way close, with the sequence and
// acknowledgement arithmetic of every step explained (RFC 9293 §3.5, §3.6,
// §3.8, §3.10); and a RST sent by hand into a live connection (Reset, RFC
// 5961 §3.2).
//
// A connection rawcraft opens by hand needs a guard against this host's
// kernel, which would reset it (guard.go). NewClient applies the guard
// policy and sets the guard up; what the guard may touch on the machine (the
// namespace it runs in, the addresses a ghost may take) is handed in as a
// Scope: session imports nothing that knows about the lab. Run drives a
// conversation over sockets the caller opened. Nothing in session prints.
package session

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// Config describes a conversation.
type Config struct {
	Src     netip.Addr // our address: a ghost one, or this host's own behind a firewall rule
	SrcMAC  craft.MAC  // our MAC: the ghost's, or the interface's
	SrcPort uint16
	Dst     netip.Addr
	DstMAC  craft.MAC // the next hop's
	DstPort uint16
	ISN     uint32 // our initial sequence number
	Window  uint16 // our receive window (default 64240)
	Options []byte // the SYN's options (RFC 9293 §3.2; RFC 7323; RFC 2018)
	Data    []byte // sent after the handshake, with PSH
	// RTO is the first retransmission timeout (default 300 ms); it doubles
	// at each retransmission (RFC 6298 §5.5), at most Retries times
	// (0: the default 5; negative: none): every wait is bounded.
	RTO     time.Duration
	Retries int
	// Linger is how long to wait for the server's reply data and FIN after
	// our data is acknowledged (default 500 ms).
	Linger time.Duration
	// Tx sends the frames: through AF_PACKET, or on lo through a raw IP
	// socket (rawsock.Open, Route.Datagrams: lo's input routing drops a
	// frame sent there through AF_PACKET as a martian).
	Tx *rawsock.Tx
	Rx *listen.Listener // sees frames to and from Src (a ghost's included: AF_PACKET sees other hosts' frames)
	// Step is called for every segment of the record (Result.Steps) once
	// it is final: timed by the kernel, in the order the conversation
	// took them, which is the wire's but for two frames racing each other.
	Step func(Step)
}

// Step is one segment of the conversation, explained.
type Step struct {
	// Time is when the frame passed the interface, the kernel's timestamp
	// (one clock for both directions) when Wire is set; otherwise
	// rawcraft's clock just before sending (its copy was never seen).
	Time time.Time
	Wire bool
	// From and To are the segment's sender and receiver: which end sent
	// it is read from them, whichever end rawcraft plays.
	From, To netip.AddrPort
	Out      bool // sent by rawcraft
	Flags    uint8
	Seq, Ack uint32 // absolute
	RelSeq   uint32 // relative to the sender's ISN
	RelAck   uint32 // relative to the other side's ISN
	Len      int
	Window   uint16
	// Scale is the shift the window field is read with (RFC 7323 §2.2):
	// the window in bytes is Window << Scale; -1 on a SYN, never scaled,
	// and when the SYNs did not agree on scaling.
	Scale   int
	Options []string
	Payload []byte
	Why     string // the arithmetic and the meaning
	Retrans int    // 0, or which retransmission this is
	// Kernel: not rawcraft's segment but this host's kernel's, sent from our
	// address (without a guard): the RST that ends a hand-made connection.
	Kernel bool
	// Frame is the segment as an Ethernet frame, as sent or as captured
	// (on lo both MACs are zero): what a ladder or a pcap file is drawn from.
	Frame []byte
}

// Result is how the conversation went.
type Result struct {
	// Steps is the one record of the conversation: every segment of the
	// connection seen on the wire, both directions — rawcraft's, the
	// server's, this host's kernel's — in the order of their times.
	Steps      []Step
	Connected  bool   // the handshake completed
	Refused    bool   // the server answered the SYN with RST
	Reset      bool   // a RST ended it later
	Closed     bool   // both FINs were exchanged and acknowledged
	KernelRST  bool   // this host's kernel reset the connection (no guard)
	Received   []byte // the server's data
	ServerISN  uint32
	ServerOpts []string
}

// ErrNoAnswer is returned when a segment was retransmitted Retries times
// without an answer.
var ErrNoAnswer = errors.New("no answer")

type conv struct {
	cfg Config
	res Result
	// What the SYNs negotiated (RFC 7323): the shifts each side applies to
	// its window fields (-1: no scaling), and whether every segment must
	// carry timestamps, with the server's latest TSval to echo.
	ourShift, peerShift int
	ts                  bool
	tsRecent            uint32
	tsBase              uint32
	start               time.Time
	synAck              synOptions
	sndNxt              uint32 // next sequence number we send
	sndUna              uint32 // oldest unacknowledged
	rcvNxt              uint32 // next we expect from the server
	irs                 uint32
	finRcvd             bool
	finAckd             bool
	buf                 []byte
	log                 *wireLog
}

// Run drives the conversation and returns what happened, step by step.
func Run(cfg Config) (Result, error) {
	if cfg.Window == 0 {
		cfg.Window = 64240
	}
	if cfg.RTO <= 0 {
		cfg.RTO = 300 * time.Millisecond
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 5
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.Linger <= 0 {
		cfg.Linger = 500 * time.Millisecond
	}
	c := &conv{cfg: cfg, sndNxt: cfg.ISN, sndUna: cfg.ISN, ourShift: -1, peerShift: -1, start: time.Now()}
	if o := parseOptions(cfg.Options); o.ts {
		c.tsBase = o.tsval
	}
	c.log = newWireLog(cfg.Rx, netip.AddrPortFrom(cfg.Src, cfg.SrcPort), &c.res.Steps, cfg.Step)
	err := c.run()
	// The last frames: copies of what we sent last, and what the server
	// still sends (a second RST, a retransmission), recorded, not answered.
	c.log.finish(func(deadline time.Time) error {
		_, err := c.next(deadline)
		return err
	})
	return c.res, err
}

func (c *conv) run() error {
	// 1. SYN → SYN-ACK (RFC 9293 §3.5).
	syn := func(n int) error { return c.send(craft.TCPSyn, c.cfg.ISN, 0, c.cfg.Options, nil, n) }
	got, err := c.exchange(syn, func(s *Step) bool {
		return s.Flags&craft.TCPRst != 0 || s.Flags&(craft.TCPSyn|craft.TCPAck) == craft.TCPSyn|craft.TCPAck && s.Ack == c.cfg.ISN+1
	})
	if err != nil {
		return err
	}
	if got.Flags&craft.TCPRst != 0 {
		c.res.Refused = true
		return nil
	}
	c.irs = got.Seq
	c.res.ServerISN, c.res.ServerOpts = got.Seq, got.Options
	// Window scaling and timestamps hold only when both SYNs asked for them
	// (RFC 7323 §2.2, §3.2); a shift above 14 is taken as 14 (§2.3).
	ours, theirs := parseOptions(c.cfg.Options), c.synAck
	if ours.ws >= 0 && theirs.ws >= 0 {
		c.ourShift, c.peerShift = min(ours.ws, 14), min(theirs.ws, 14)
	}
	c.ts = ours.ts && theirs.ts
	c.rcvNxt = got.Seq + 1
	c.sndNxt, c.sndUna = c.cfg.ISN+1, c.cfg.ISN+1
	// 2. ACK: the handshake is complete.
	if err := c.send(craft.TCPAck, c.sndNxt, c.rcvNxt, nil, nil, 0); err != nil {
		return err
	}
	c.res.Connected = true
	// 3. Data with PSH|ACK, until acknowledged (RFC 9293 §3.8).
	if len(c.cfg.Data) > 0 {
		seq := c.sndNxt
		c.sndNxt += uint32(len(c.cfg.Data))
		data := func(n int) error { return c.send(craft.TCPPsh|craft.TCPAck, seq, c.rcvNxt, nil, c.cfg.Data, n) }
		if _, err := c.exchange(data, func(s *Step) bool { return s.Flags&craft.TCPAck != 0 && seqGE(s.Ack, c.sndNxt) }); err != nil {
			return err
		}
		if c.res.Reset {
			return nil
		}
		c.sndUna = c.sndNxt
		// The server's reply data, if any, until it is quiet or closes.
		c.collect(time.Now().Add(c.cfg.Linger))
		if c.res.Reset {
			return nil
		}
	}
	// 4. FIN|ACK, the server's FIN|ACK, our last ACK (RFC 9293 §3.6).
	finSeq := c.sndNxt
	c.sndNxt++
	fin := func(n int) error { return c.send(craft.TCPFin|craft.TCPAck, finSeq, c.rcvNxt, nil, nil, n) }
	if _, err := c.exchange(fin, func(s *Step) bool { return s.Flags&craft.TCPAck != 0 && seqGE(s.Ack, c.sndNxt) }); err != nil {
		return err
	}
	if c.res.Reset {
		return nil
	}
	c.finAckd = true
	if !c.finRcvd {
		c.collect(time.Now().Add(c.cfg.RTO * time.Duration(1<<min(c.cfg.Retries, 5))))
	}
	c.res.Closed = c.finRcvd && c.finAckd
	return nil
}

func seqGE(a, b uint32) bool { return int32(a-b) >= 0 }

// exchange sends a segment and waits for an answer that done accepts,
// retransmitting with a doubling timeout; segments from the server that do
// not answer it (its data, its FIN, its retransmissions) are handled on the
// way.
func (c *conv) exchange(send func(retrans int) error, done func(*Step) bool) (*Step, error) {
	rto := c.cfg.RTO
	for n := 0; n <= c.cfg.Retries; n++ {
		if err := send(n); err != nil {
			return nil, err
		}
		deadline := time.Now().Add(rto)
		for {
			s, err := c.next(deadline)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return nil, err
			}
			if s == nil {
				continue
			}
			if done(s) {
				c.absorb(s)
				return s, nil
			}
			c.absorb(s)
			if c.res.Reset {
				return s, nil
			}
		}
		rto *= 2
	}
	return nil, fmt.Errorf("%w after %s", ErrNoAnswer, craft.Units(c.cfg.Retries, "retransmission"))
}

// collect handles the server's segments until deadline, or until it has
// closed and we have acknowledged its FIN.
func (c *conv) collect(deadline time.Time) {
	for !c.res.Reset && !(c.finRcvd && c.finAckd) {
		s, err := c.next(deadline)
		if err != nil {
			return
		}
		if s != nil {
			c.absorb(s)
		}
	}
}

// absorb takes in what a server segment says: data, FIN, RST; and answers
// what needs an answer (RFC 9293 §3.10.7.4).
func (c *conv) absorb(s *Step) {
	if !c.res.Connected || s.Flags&craft.TCPSyn != 0 {
		if s.Flags&craft.TCPSyn != 0 && c.res.Connected {
			// The server resent its SYN-ACK: our ACK was lost. Answer again.
			_ = c.send(craft.TCPAck, c.sndNxt, c.rcvNxt, nil, nil, 0)
		}
		return
	}
	if s.Flags&craft.TCPRst != 0 {
		c.res.Reset = true
		return
	}
	advance := uint32(0)
	if len(s.Payload) > 0 && s.Seq == c.rcvNxt {
		c.res.Received = append(c.res.Received, s.Payload...)
		advance = uint32(len(s.Payload))
	}
	if s.Flags&craft.TCPFin != 0 && s.Seq+uint32(len(s.Payload)) == c.rcvNxt+advance {
		advance++
		c.finRcvd = true
	}
	switch {
	case advance > 0:
		c.rcvNxt += advance
		_ = c.send(craft.TCPAck, c.sndNxt, c.rcvNxt, nil, nil, 0)
	case len(s.Payload) > 0 || s.Flags&craft.TCPFin != 0:
		// Old or out-of-order: the server retransmitted what we already
		// have (our ACK was lost), or skipped ahead. Tell it where we are.
		_ = c.send(craft.TCPAck, c.sndNxt, c.rcvNxt, nil, nil, 0)
	}
}

// synOptions is what a SYN's options ask for.
type synOptions struct {
	ws    int // window scale shift; -1 without the option
	ts    bool
	tsval uint32
}

// parseOptions reads the window scale and timestamps options (RFC 7323).
func parseOptions(opts []byte) synOptions {
	o := synOptions{ws: -1}
	for off := 0; off < len(opts); {
		op, next, err := craft.NextOption(opts, off)
		if err != nil || op.Kind == 0 {
			break
		}
		switch {
		case op.Kind == 3 && len(op.Data) == 1:
			o.ws = int(op.Data[0])
		case op.Kind == 8 && len(op.Data) == 8:
			o.ts = true
			o.tsval = uint32(op.Data[0])<<24 | uint32(op.Data[1])<<16 | uint32(op.Data[2])<<8 | uint32(op.Data[3])
		}
		off = next
	}
	return o
}

// window is the window field of a segment we send: the SYN's unscaled
// (RFC 7323 §2.2), later ones shifted right by the scale our SYN announced.
func (c *conv) window(flags uint8) uint16 {
	if flags&craft.TCPSyn != 0 || c.ourShift <= 0 {
		return c.cfg.Window
	}
	return max(c.cfg.Window>>c.ourShift, 1)
}

// options are a later segment's options: the timestamps, once both SYNs
// carried them, on every segment but a RST (RFC 7323 §3.2), TSval ticking
// in milliseconds from the SYN's, TSecr echoing the server's latest.
func (c *conv) options(flags uint8, opts []byte) []byte {
	if flags&craft.TCPSyn != 0 || !c.ts || flags&craft.TCPRst != 0 || opts != nil {
		return opts
	}
	tsval := c.tsBase + uint32(time.Since(c.start)/time.Millisecond)
	return craft.AppendTCPOptTimestamps(craft.AppendTCPOptNOP(craft.AppendTCPOptNOP(nil)), tsval, c.tsRecent)
}

// Teardown finds the close among steps (listen.Teardown): how many
// segments it took, and whether an ACK rode on a FIN.
func Teardown(steps []Step) listen.Close {
	segs := make([]listen.CloseSegment, 0, len(steps))
	for _, s := range steps {
		segs = append(segs, listen.CloseSegment{From: s.From, Flags: s.Flags, Seq: s.Seq, Ack: s.Ack, Len: s.Len})
	}
	return listen.Teardown(segs)
}
