package listen

import (
	"errors"
	"os"
	"time"
)

// Result is what became of one probe.
type Result struct {
	Probe    Probe
	Reply    Reply // Reason NoResponse when nothing answered
	State    State
	Attempts int           // times it was sent
	Sent     time.Time     // when the answered attempt left: the kernel's timestamp of its outgoing copy when seen
	RTT      time.Duration // reply's kernel timestamp minus Sent; zero without a reply
	// KernelRST: after the SYN-ACK, this host's own kernel reset the
	// connection, because no socket of its own had opened it.
	KernelRST bool
}

// ProberConfig wires a Prober to its sockets.
type ProberConfig struct {
	Matcher *Matcher  // the probes, registered with Add
	Rx      *Listener // opened before anything is sent, on the outgoing interface
	// Send puts one frame or datagram on the wire.
	Send func(b []byte) error
	// Build returns the frames of probe i's attempt (0 for the first try)
	// and the IP ID they carry. Fragments are several frames.
	Build func(i, attempt int) (frames [][]byte, ipID uint16, err error)
	// Timeout is how long to wait for replies after a round's last probe
	// (default 1 s); Retries how many times an unanswered probe is sent
	// again (default 0); Interval the pause between probes (default none).
	Timeout  time.Duration
	Retries  int
	Interval time.Duration
	// Linger keeps listening after the last reply for this host's kernel
	// resetting connections that SYN-ACKs opened (default 100 ms).
	Linger time.Duration
	// OnPacket sees every captured packet that belongs to a probe: the
	// probe leaving, its reply, a kernel RST. For pcap files and live output.
	OnPacket func(k Kind, i int, p *Packet)
}

// Stats are the kernel's capture counters over a run.
type Stats struct {
	Captured, Dropped uint64
}

// Run sends every probe, retries the unanswered ones, and waits at most
// Timeout after each round: it is bounded by (Retries+1) × (probes ×
// Interval + Timeout) + Linger.
func Run(cfg ProberConfig) ([]Result, Stats, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Linger <= 0 {
		cfg.Linger = 100 * time.Millisecond
	}
	m := cfg.Matcher
	n := m.Len()
	res := make([]Result, n)
	for i := range res {
		res[i].Probe = *m.Probe(i)
	}
	answered := 0
	synAcks := 0
	_, _, _ = cfg.Rx.Stats() // reset the counters
	var st Stats
	handle := func(p *Packet) {
		k, i, r := m.Match(p)
		if k == Unrelated {
			return
		}
		res := &res[i]
		switch k {
		case ProbeCopy:
			if res.Reply.Reason == NoResponse && !p.Meta.Time.IsZero() {
				res.Sent = p.Meta.Time
			}
		case Answer:
			if res.Reply.Reason == NoResponse {
				res.Reply = r
				res.RTT = r.Time.Sub(res.Sent)
				answered++
				if r.Reason == SynAck {
					synAcks++
				}
			}
		case KernelRST:
			res.KernelRST = true
		}
		if cfg.OnPacket != nil {
			cfg.OnPacket(k, i, p)
		}
	}
	drain := func(deadline time.Time) error {
		for {
			p, err := cfg.Rx.Next(deadline)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					return nil
				}
				return err
			}
			handle(p)
			if answered == n && deadline.After(time.Now().Add(cfg.Linger)) {
				deadline = time.Now().Add(cfg.Linger)
			}
		}
	}
	for attempt := 0; attempt <= cfg.Retries && answered < n; attempt++ {
		for i := 0; i < n; i++ {
			if res[i].Reply.Reason != NoResponse {
				continue
			}
			frames, id, err := cfg.Build(i, attempt)
			if err != nil {
				return res, st, err
			}
			m.SentID(i, id)
			res[i].Sent = time.Now()
			res[i].Attempts++
			for _, f := range frames {
				if err := cfg.Send(f); err != nil {
					return res, st, err
				}
			}
			if err := cfg.Rx.Drain(handle); err != nil { // whatever came back meanwhile
				return res, st, err
			}
			if cfg.Interval > 0 {
				if err := drain(time.Now().Add(cfg.Interval)); err != nil {
					return res, st, err
				}
			}
		}
		if err := drain(time.Now().Add(cfg.Timeout)); err != nil {
			return res, st, err
		}
	}
	if synAcks > 0 {
		if err := drain(time.Now().Add(cfg.Linger)); err != nil {
			return res, st, err
		}
	}
	for i := range res {
		res[i].State = Classify(res[i].Probe.Proto, res[i].Reply.Reason)
		if res[i].Reply.Reason == NoResponse {
			res[i].RTT = 0
		}
	}
	st.Captured, st.Dropped, _ = cfg.Rx.Stats()
	return res, st, nil
}
