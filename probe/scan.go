package probe

import (
	"errors"
	"hash/maphash"
	"net/netip"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// Cookies derive a probe's source port and sequence number from a secret
// and its destination, so that a reply proves by arithmetic which probe it
// answers — the SYN-cookie idea (RFC 4987 §3.6), as masscan and zmap use it.
// Nothing is remembered per probe, and nothing is looked up per reply.
type Cookies struct{ seed maphash.Seed }

// NewCookies returns cookies with a fresh random secret.
func NewCookies() Cookies { return Cookies{seed: maphash.MakeSeed()} }

type cookieKey struct {
	dst  [4]byte
	port uint16
}

// Of returns the source port (from 32768 up) and sequence number of the probe
// to dst:port.
func (c Cookies) Of(dst netip.Addr, port uint16) (sport uint16, seq uint32) {
	h := maphash.Comparable(c.seed, cookieKey{dst.As4(), port})
	return 32768 | uint16(h>>48)&0x7fff, uint32(h)
}

// scanState is the state of every port, indexed by port number.
type scanState struct {
	reason [65536]listen.Reason // NoResponse, SynAck or Rst
	sent   [65536]time.Time
	rtt    [65536]time.Duration
	probed [65536]bool
	stray  int
}

// scan is a stateless TCP SYN scan of one host's ports: a SYN to every port,
// patched from one template in batches through sendmmsg, the listener polled
// between batches, each port classified from the replies whose
// acknowledgement number and ports pass the cookie check. It allocates
// nothing per probe or per reply.
func scan(cfg *Config, pk *craft.Packet, ports []uint16, tx *rawsock.Tx, rx *listen.Listener) (*Report, error) {
	tmpl, err := pk.Template(nil)
	if err != nil {
		return nil, err
	}
	// A Sender of its own: out of Go's poller, it sends faster than the
	// probe's Conn (see rawsock.Sender).
	fast, err := rawsock.NewSender(tx.Route().Iface, nil)
	if err != nil {
		return nil, err
	}
	defer fast.Close()
	cookies := NewCookies()
	src, dst := pk.IPv4.Src, pk.IPv4.Dst
	st := &scanState{}
	pending := 0 // probed ports with no answer yet
	for _, p := range ports {
		if !st.probed[p] {
			st.probed[p] = true
			pending++
		}
	}
	slots := rawsock.MaxBatch
	bufs := make([]craft.Template, slots)
	n := len(tmpl.Bytes())
	for i := range bufs {
		b := make([]byte, max(n, craft.MinFrameLen)) // padded once: SendBatch need not copy
		bufs[i] = tmpl.Clone(b[:n])
	}
	batch := make([][]byte, 0, slots)
	handle := func(p *listen.Packet) {
		d := &p.Decoded
		if !d.Has(craft.LayerTCP) || p.Meta.Outgoing || d.IPv4.Src != dst || d.IPv4.Dst != src {
			return
		}
		t := &d.TCP
		sport, seq := cookies.Of(dst, t.SrcPort)
		if t.DstPort != sport || !st.probed[t.SrcPort] || t.Flags&craft.TCPAck == 0 || t.Ack != seq+1 {
			st.stray++
			return
		}
		if st.reason[t.SrcPort] != listen.NoResponse {
			return
		}
		switch {
		case t.Flags&(craft.TCPSyn|craft.TCPAck) == craft.TCPSyn|craft.TCPAck:
			st.reason[t.SrcPort] = listen.SynAck
		case t.Flags&craft.TCPRst != 0:
			st.reason[t.SrcPort] = listen.Rst
		default:
			return
		}
		st.rtt[t.SrcPort] = p.Meta.Time.Sub(st.sent[t.SrcPort])
		pending--
	}
	_, _, _ = rx.Stats()
	id := uint16(time.Now().UnixNano())
	start := time.Now()
	// Every port answered: no retry to send, no timeout to wait out.
	for attempt := 0; attempt <= cfg.Retries && pending > 0; attempt++ {
		round := time.Now()
		k := 0
		for i := 0; i < len(ports); {
			batch = batch[:0]
			for ; i < len(ports) && len(batch) < slots; i++ {
				port := ports[i]
				if st.reason[port] != listen.NoResponse {
					continue
				}
				t := &bufs[len(batch)]
				sport, seq := cookies.Of(dst, port)
				id++
				t.SetIPID(id)
				t.SetSrcPort(sport)
				t.SetDstPort(port)
				t.SetSeq(seq)
				st.sent[port] = time.Now()
				batch = append(batch, t.Bytes()[:max(n, craft.MinFrameLen)])
				k++
				if cfg.Interval > 0 {
					break // one at a time, on schedule
				}
			}
			for rest := batch; len(rest) > 0; { // rest, not batch: batch keeps its capacity
				m, err := fast.SendBatch(rest)
				if err != nil {
					return nil, err
				}
				rest = rest[m:]
			}
			if err := rx.Drain(handle); err != nil {
				return nil, err
			}
			if cfg.Interval > 0 {
				time.Sleep(time.Until(round.Add(time.Duration(k) * cfg.Interval)))
			}
		}
		deadline := time.Now().Add(cfg.Timeout)
		for pending > 0 {
			p, err := rx.Next(deadline)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return nil, err
			}
			handle(p)
		}
	}
	rep := &Report{Stateless: true, Stray: st.stray, Elapsed: time.Since(start), Results: make([]Result, 0, len(ports))}
	rep.Stats.Captured, rep.Stats.Dropped, _ = rx.Stats()
	for _, p := range ports {
		r := Result{Probe: listen.Probe{Proto: craft.ProtoTCP, Src: src, Dst: dst, DstPort: p}, Reply: listen.Reply{Reason: st.reason[p], From: dst}, RTT: st.rtt[p], Attempts: 1}
		r.State = listen.Classify(craft.ProtoTCP, r.Reply.Reason)
		rep.Results = append(rep.Results, r)
	}
	return rep, nil
}
