package listen

import (
	"errors"
	"hash/maphash"
	"net/netip"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
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

// ScanConfig is a stateless TCP SYN scan of one host's ports.
type ScanConfig struct {
	Template []byte // an Ethernet + IPv4 + TCP SYN, built once; its ports, sequence number and ID are patched per probe
	Dst      netip.Addr
	Src      netip.Addr
	Ports    []uint16
	Cookies  Cookies
	Tx       *rawsock.Sender
	Rx       *Listener
	// Interval between probes (0: as fast as the socket takes them);
	// Timeout to wait after the last; Retries for the unanswered.
	Interval time.Duration
	Timeout  time.Duration
	Retries  int
}

// ScanResult is the state of every port, indexed by port number.
type ScanResult struct {
	Reason [65536]Reason // NoResponse, SynAck or Rst (or ICMP errors)
	Code   [65536]uint8
	Sent   [65536]time.Time
	RTT    [65536]time.Duration
	Probed [65536]bool
	Stats  Stats
	// Stray counts replies that failed the cookie check: another run's, or
	// forged.
	Stray int
}

// Scan sends a SYN to every port — patched from the template, in batches
// through sendmmsg — polling the listener between batches, and classifies
// each port from the replies whose acknowledgement number and ports pass
// the cookie check. It allocates nothing per probe or per reply.
func Scan(cfg ScanConfig) (*ScanResult, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	res := &ScanResult{}
	pending := 0 // probed ports with no answer yet
	for _, p := range cfg.Ports {
		if !res.Probed[p] {
			res.Probed[p] = true
			pending++
		}
	}
	const ip, tcp = craft.EthernetLen, craft.EthernetLen + craft.IPv4HeaderLen
	slots := rawsock.MaxBatch
	bufs := make([][]byte, slots)
	for i := range bufs {
		bufs[i] = make([]byte, max(len(cfg.Template), craft.MinFrameLen)) // padded once: SendBatch need not copy
		copy(bufs[i], cfg.Template)
	}
	batch := make([][]byte, 0, slots)
	dst := cfg.Dst
	handle := func(p *Packet) {
		d := &p.Decoded
		if !d.Has(craft.LayerTCP) || p.Meta.Outgoing || d.IPv4.Src != dst || d.IPv4.Dst != cfg.Src {
			return
		}
		t := &d.TCP
		sport, seq := cfg.Cookies.Of(dst, t.SrcPort)
		if t.DstPort != sport || !res.Probed[t.SrcPort] || t.Flags&craft.TCPAck == 0 || t.Ack != seq+1 {
			res.Stray++
			return
		}
		if res.Reason[t.SrcPort] != NoResponse {
			return
		}
		switch {
		case t.Flags&(craft.TCPSyn|craft.TCPAck) == craft.TCPSyn|craft.TCPAck:
			res.Reason[t.SrcPort] = SynAck
		case t.Flags&craft.TCPRst != 0:
			res.Reason[t.SrcPort] = Rst
		default:
			return
		}
		res.RTT[t.SrcPort] = p.Meta.Time.Sub(res.Sent[t.SrcPort])
		pending--
	}
	_, _, _ = cfg.Rx.Stats()
	id := uint16(time.Now().UnixNano())
	// Every port answered: no retry to send, no timeout to wait out.
	for attempt := 0; attempt <= cfg.Retries && pending > 0; attempt++ {
		start := time.Now()
		k := 0
		for i := 0; i < len(cfg.Ports); {
			batch = batch[:0]
			for ; i < len(cfg.Ports) && len(batch) < slots; i++ {
				port := cfg.Ports[i]
				if res.Reason[port] != NoResponse {
					continue
				}
				f := bufs[len(batch)]
				sport, seq := cfg.Cookies.Of(dst, port)
				id++
				craft.Patch16(f, ip+4, id, ip+10)
				craft.Patch16(f, tcp, sport, tcp+16)
				craft.Patch16(f, tcp+2, port, tcp+16)
				craft.Patch32(f, tcp+4, seq, tcp+16)
				res.Sent[port] = time.Now()
				batch = append(batch, f)
				k++
				if cfg.Interval > 0 {
					break // one at a time, on schedule
				}
			}
			for rest := batch; len(rest) > 0; { // rest, not batch: batch keeps its capacity
				n, err := cfg.Tx.SendBatch(rest)
				if err != nil {
					return res, err
				}
				rest = rest[n:]
			}
			if err := cfg.Rx.Drain(handle); err != nil {
				return res, err
			}
			if cfg.Interval > 0 {
				time.Sleep(time.Until(start.Add(time.Duration(k) * cfg.Interval)))
			}
		}
		deadline := time.Now().Add(cfg.Timeout)
		for pending > 0 {
			p, err := cfg.Rx.Next(deadline)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return res, err
			}
			handle(p)
		}
	}
	res.Stats.Captured, res.Stats.Dropped, _ = cfg.Rx.Stats()
	return res, nil
}
