package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// Trace bounds and defaults.
const (
	// TraceUDPPort is classic traceroute's first UDP destination port.
	TraceUDPPort = 33434
	// TraceTCPPort is the default destination port of a TCP trace.
	TraceTCPPort = 80
	// DefaultTraceProbes and MaxTraceProbes: probes per hop.
	DefaultTraceProbes = 3
	MaxTraceProbes     = 10
	// DefaultMaxTTL is the farthest hop tried unless told otherwise.
	DefaultMaxTTL = 30
	// maxMTUSteps bounds how often a path MTU trace lowers its size.
	maxMTUSteps = 16
)

// TraceConfig is one traceroute. Probes go out hop by hop: Probes probes
// with TTL FirstTTL, then FirstTTL+1…, until the destination itself
// answers, MaxTTL is passed, or Stop is closed.
type TraceConfig struct {
	// Proto is craft.ProtoUDP (to an unused port: the destination answers
	// port unreachable), ProtoTCP (a SYN: SYN-ACK or RST) or ProtoICMP (an
	// echo request: echo reply).
	Proto uint8
	Dst   netip.Addr
	// DstPort: TCP, the port (default TraceTCPPort), left as it is in both
	// modes so that a firewall passing only it passes the trace; UDP, the
	// first port (default TraceUDPPort). SrcPort: 0 picks one per run.
	DstPort, SrcPort uint16
	// Paris holds the flow identifier constant (Augustin et al., "Avoiding
	// traceroute anomalies with Paris traceroute", IMC 2006): both ports,
	// and for ICMP the checksum — each echo request's sequence number is
	// balanced by the first two bytes of its data — so that a router that
	// balances load per flow sends every probe of the run down one path.
	// Probes are then told apart by IP ID (UDP), sequence number (TCP) or
	// echo sequence number (ICMP). Without Paris, the classic mode, the
	// UDP destination port (TCP: the source port; ICMP: the sequence number
	// and with it the checksum) changes with every probe, as traceroute's
	// do.
	Paris bool
	// Probes per hop (default DefaultTraceProbes, at most MaxTraceProbes);
	// FirstTTL (default 1) and MaxTTL (default DefaultMaxTTL), 1 to 255.
	Probes           int
	FirstTTL, MaxTTL int
	// PMTU sends every probe with DF set, as large as the path MTU known so
	// far (first the interface's MTU); a fragmentation-needed answer lowers
	// it to the next-hop MTU the router names (RFC 1191), and the hop is
	// asked again, as tracepath does.
	PMTU bool
	// Timeout is how long to wait for a hop's answers after its last probe
	// (default 1 s, at most MaxTimeout); Interval the pause between probes
	// (at most MaxInterval; see Rails).
	Timeout, Interval time.Duration
	// Iface overrides the route's interface.
	Iface string
	// Stop, when closed, ends the trace at once; the report holds the path
	// so far (Ctrl-C).
	Stop <-chan struct{}
	// OnPacket, when set, sees every captured packet of the trace — probes
	// leaving and their answers — for a capture file. It must not keep p.
	OnPacket func(k listen.Kind, p *listen.Packet)
}

// TraceProbe is one probe of a hop and what answered it.
type TraceProbe struct {
	SrcPort, DstPort uint16 // TCP and UDP
	ICMPSeq          uint16 // ICMP
	IPID             uint16
	Size             int       // the datagram's length, IP header included
	Sent             time.Time // kernel timestamp of the probe leaving, when captured
	// Reply is the answer, Reason NoResponse when none came: From is who
	// sent it, QuotedTTL the TTL an ICMP error quoted (1 from the router
	// where it ran out), MTU a fragmentation-needed error's next-hop MTU.
	Reply listen.Reply
	// Type and Code are the answer's ICMP type and code when it is ICMP.
	Type, Code uint8
	RTT        time.Duration // the answer's kernel timestamp minus Sent
	// MPLS is the label stack an MPLS router quoted (RFC 4950), if any.
	MPLS []craft.MPLSEntry
}

// Answered reports whether anything answered the probe.
func (p *TraceProbe) Answered() bool { return p.Reply.Reason != listen.NoResponse }

// Hop is one TTL's probes.
type Hop struct {
	TTL    int
	Probes []TraceProbe
	// MTU is, in a PMTU trace, the path MTU of the probes that reached this
	// hop: the smallest MTU of the links up to it.
	MTU int
}

// Responders returns the addresses that answered the hop's probes, each
// once, in the order they first answered.
func (h *Hop) Responders() []netip.Addr {
	var out []netip.Addr
	for i := range h.Probes {
		p := &h.Probes[i]
		if !p.Answered() || p.Reply.Reason == listen.ICMPFragNeeded {
			continue
		}
		seen := false
		for _, a := range out {
			seen = seen || a == p.Reply.From
		}
		if !seen {
			out = append(out, p.Reply.From)
		}
	}
	return out
}

// TraceReport is a whole trace.
type TraceReport struct {
	Proto    uint8
	Src, Dst netip.Addr
	Paris    bool
	Hops     []Hop
	// Reached: the destination itself answered (the trace's last hop).
	Reached bool
	// Stopped: Stop was closed before the trace ended.
	Stopped bool
	// PMTU is, in a PMTU trace, the path MTU found: the last hop's MTU.
	PMTU    int
	Sent    int // probes sent
	Elapsed time.Duration
	Stats   listen.Stats
}

// ends reports whether r is the destination's own answer, or an error that
// ends the path (an unreachable from a router): anything but time exceeded
// and fragmentation needed.
func ends(r *listen.Reply) bool {
	switch r.Reason {
	case listen.NoResponse, listen.ICMPTTLExceeded, listen.ICMPFragNeeded:
		return false
	}
	return true
}

func (c *TraceConfig) check() error {
	switch c.Proto {
	case craft.ProtoUDP, craft.ProtoTCP, craft.ProtoICMP:
	default:
		return configErr("protocol %d: udp (17), tcp (6) or icmp (1)", c.Proto)
	}
	if !c.Dst.Is4() {
		return configErr("destination %v: not an IPv4 address", c.Dst)
	}
	if c.Probes < 0 || c.Probes > MaxTraceProbes {
		return configErr("probes %d: 1 to %d per hop", c.Probes, MaxTraceProbes)
	}
	if c.FirstTTL < 0 || c.FirstTTL > 255 || c.MaxTTL < 0 || c.MaxTTL > 255 {
		return configErr("TTL %d to %d: 1 to 255", c.FirstTTL, c.MaxTTL)
	}
	if first, last := max(c.FirstTTL, 1), c.maxTTL(); first > last {
		return configErr("first TTL %d is beyond the max TTL %d", first, last)
	}
	if c.Timeout < 0 || c.Timeout > MaxTimeout {
		return configErr("timeout %v: more than 0, at most %v", c.Timeout, MaxTimeout)
	}
	if c.Interval < 0 || c.Interval > MaxInterval {
		return configErr("interval %v: 0 to %v", c.Interval, MaxInterval)
	}
	return nil
}

func (c *TraceConfig) maxTTL() int {
	if c.MaxTTL == 0 {
		return DefaultMaxTTL
	}
	return c.MaxTTL
}

// tracer is the state of one trace.
type tracer struct {
	cfg     TraceConfig
	tx      *rawsock.Tx
	rx      *listen.Listener
	pk      craft.Packet
	tmpl    craft.Template
	size    int // datagram length of the probes
	hdr     int // IP and transport header length
	sport   uint16
	seq     uint32 // TCP: the first probe's sequence number
	icmpID  uint16
	baseID  uint16
	baseSeq uint16 // ICMP: the first probe's sequence number
	n       int    // probes sent so far: the next probe's index
	// Each probe is registered in the first matcher that can tell it from
	// the probes already there: in Paris mode TCP and UDP probes share one
	// 4-tuple, so each gets a matcher of its own.
	groups  []*listen.Matcher
	global  [][]int  // groups[g]'s probe j is probe global[g][j]
	loc     [][2]int // probe i is rep.Hops[loc[i][0]].Probes[loc[i][1]]
	mpls    []craft.MPLSEntry
	rep     *TraceReport
	stopped atomic.Bool
}

// Trace runs a traceroute from the calling thread's network namespace and
// returns the path, hop by hop. It is bounded by (MaxTTL−FirstTTL+1) ×
// (Probes × Interval + Timeout), and in a PMTU trace 16 more hops at most.
// A closed Stop returns the path so far, with Stopped set and no error.
// Errors caused by cfg's values wrap ErrConfig; nothing has been sent then.
func Trace(cfg TraceConfig) (*TraceReport, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Probes == 0 {
		cfg.Probes = DefaultTraceProbes
	}
	cfg.FirstTTL, cfg.MaxTTL = max(cfg.FirstTTL, 1), cfg.maxTTL()
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	if cfg.DstPort == 0 {
		cfg.DstPort = TraceUDPPort
		if cfg.Proto == craft.ProtoTCP {
			cfg.DstPort = TraceTCPPort
		}
	}
	if err := rawsock.CheckPrivilege(); err != nil {
		return nil, err
	}
	tx, err := rawsock.Open(cfg.Dst, rawsock.ViaPacket, &rawsock.OpenConfig{Iface: cfg.Iface})
	if err != nil {
		return nil, err
	}
	defer tx.Close()
	rt := tx.Route()
	if rt.Iface == nil || !rt.Src.Is4() {
		return nil, fmt.Errorf("no interface with an IPv4 address toward %v", cfg.Dst)
	}
	if rt.Datagrams {
		return nil, fmt.Errorf("%v is this host's own address: there is no path to trace", cfg.Dst)
	}
	filter, err := rawsock.HostFilter(rt.Src)
	if err != nil {
		return nil, err
	}
	rx, err := listen.Listen(rt.Iface, &listen.Config{Filter: filter})
	if err != nil {
		return nil, err
	}
	defer rx.Close()
	t := &tracer{cfg: cfg, tx: tx, rx: rx, rep: &TraceReport{Proto: cfg.Proto, Src: rt.Src, Dst: cfg.Dst, Paris: cfg.Paris}}
	r := random32()
	t.sport, t.icmpID, t.baseID, t.baseSeq, t.seq = uint16(32768+r%28000), uint16(r>>16), uint16(random32()), uint16(random32()), random32()
	if cfg.SrcPort != 0 {
		t.sport = cfg.SrcPort
	}
	t.pk = craft.Packet{Ethernet: tx.Ethernet(), IPv4: &craft.IPv4{Src: rt.Src, Dst: cfg.Dst}}
	switch cfg.Proto {
	case craft.ProtoUDP:
		t.pk.UDP = &craft.UDP{SrcPort: t.sport, DstPort: cfg.DstPort}
		t.hdr = craft.IPv4HeaderLen + craft.UDPHeaderLen
	case craft.ProtoTCP:
		t.pk.TCP = &craft.TCP{SrcPort: t.sport, DstPort: cfg.DstPort, Flags: craft.TCPSyn, Window: 64240}
		t.hdr = craft.IPv4HeaderLen + craft.TCPHeaderLen
	default:
		t.pk.ICMP = &craft.ICMP{Type: craft.ICMPEcho, Rest: uint32(t.icmpID)<<16 | uint32(t.baseSeq)}
		t.hdr = craft.IPv4HeaderLen + craft.ICMPHeaderLen
	}
	size := t.hdr
	if cfg.Proto != craft.ProtoTCP {
		size += 32 // traceroute's 60-byte probes, less its 28 of headers
	}
	if cfg.PMTU {
		t.pk.IPv4.Flags = craft.FlagDF
		size = rt.Iface.MTU
	}
	if err := t.resize(size); err != nil {
		return nil, err
	}
	if cfg.Stop != nil {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-cfg.Stop:
				t.stopped.Store(true)
				_ = rx.Interrupt()
			case <-done:
			}
		}()
	}
	start := time.Now()
	err = t.run()
	t.rep.Elapsed = time.Since(start)
	t.rep.Stopped = t.stopped.Load()
	t.rep.Stats.Captured, t.rep.Stats.Dropped, _ = rx.Stats()
	if cfg.PMTU {
		t.rep.PMTU = t.size
	}
	return t.rep, err
}

// halted reports whether Stop was closed.
func (t *tracer) halted() bool {
	if t.stopped.Load() {
		return true
	}
	select {
	case <-t.cfg.Stop:
		t.stopped.Store(true)
		return true
	default:
		return false
	}
}

// resize builds the probes' template for datagrams of size bytes.
func (t *tracer) resize(size int) error {
	if size < t.hdr+2 && t.cfg.Proto == craft.ProtoICMP || size < t.hdr {
		return fmt.Errorf("%w: a probe of %d bytes cannot hold its headers", ErrConfig, size)
	}
	t.size = size
	t.pk.Payload = make([]byte, size-t.hdr)
	if t.cfg.Proto == craft.ProtoICMP {
		// The checksum balance: sequence number + this word = 0xffff for
		// every probe (see TraceConfig.Paris).
		binary.BigEndian.PutUint16(t.pk.Payload, 0xffff-t.baseSeq)
	}
	tm, err := t.pk.Template(t.tmpl.Bytes()[:0])
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	t.tmpl = tm
	return nil
}

func (t *tracer) run() error {
	cfg := &t.cfg
	steps := 0
	for ttl := cfg.FirstTTL; ttl <= cfg.MaxTTL && !t.halted(); ttl++ {
		t.rep.Hops = append(t.rep.Hops, Hop{TTL: ttl})
		h := len(t.rep.Hops) - 1
		for {
			first := len(t.rep.Hops[h].Probes)
			if err := t.ask(h, ttl); err != nil {
				return err
			}
			hop := &t.rep.Hops[h]
			hop.MTU = 0
			if cfg.PMTU {
				hop.MTU = t.size
			}
			lower := 0
			for _, p := range hop.Probes[first:] {
				if p.Reply.Reason == listen.ICMPFragNeeded && int(p.Reply.MTU) < t.size && int(p.Reply.MTU) >= t.hdr+2 {
					lower = max(lower, int(p.Reply.MTU))
				}
			}
			if lower == 0 || !cfg.PMTU || steps >= maxMTUSteps || t.halted() {
				break
			}
			steps++
			if err := t.resize(lower); err != nil {
				return err
			}
		}
		for _, p := range t.rep.Hops[h].Probes {
			if ends(&p.Reply) {
				t.rep.Reached = p.Reply.From == cfg.Dst
				return nil
			}
		}
	}
	return nil
}

// ask sends the hop's probes with TTL ttl and waits for their answers.
func (t *tracer) ask(h, ttl int) error {
	cfg := &t.cfg
	var pending int
	for k := 0; k < cfg.Probes && !t.halted(); k++ {
		i := t.n
		t.n++
		tp := TraceProbe{Size: t.size, IPID: t.baseID + uint16(i)}
		lp := listen.Probe{Proto: cfg.Proto, Src: t.rep.Src, Dst: cfg.Dst}
		tm := &t.tmpl
		tm.SetTTL(uint8(ttl))
		tm.SetIPID(tp.IPID)
		switch cfg.Proto {
		case craft.ProtoUDP:
			tp.SrcPort, tp.DstPort = t.sport, cfg.DstPort
			if !cfg.Paris {
				tp.DstPort += uint16(i)
			}
			tm.SetDstPort(tp.DstPort)
			lp.SrcPort, lp.DstPort = tp.SrcPort, tp.DstPort
		case craft.ProtoTCP:
			tp.SrcPort, tp.DstPort = t.sport, cfg.DstPort
			if !cfg.Paris {
				tp.SrcPort += uint16(i)
			}
			tm.SetSrcPort(tp.SrcPort)
			tm.SetSeq(t.seq + uint32(i)<<8)
			lp.SrcPort, lp.DstPort, lp.Seq, lp.Flags, lp.Len = tp.SrcPort, tp.DstPort, t.seq+uint32(i)<<8, craft.TCPSyn, t.size-t.hdr
		default:
			tp.ICMPSeq = t.baseSeq + uint16(i)
			if cfg.Paris {
				// Sequence number and balance word change together: their
				// sum, and so the checksum, stays the same.
				b, l4 := tm.Bytes(), tm.TransportOffset()
				binary.BigEndian.PutUint16(b[l4+6:], tp.ICMPSeq)
				binary.BigEndian.PutUint16(b[l4+8:], 0xffff-tp.ICMPSeq)
			} else {
				tm.SetICMPSeq(tp.ICMPSeq)
			}
			lp.ICMPID, lp.ICMPSeq = t.icmpID, tp.ICMPSeq
		}
		g, j, err := t.register(lp)
		if err != nil {
			return err
		}
		t.groups[g].SentID(j, tp.IPID)
		hop := &t.rep.Hops[h]
		hop.Probes = append(hop.Probes, tp)
		t.loc = append(t.loc, [2]int{h, len(hop.Probes) - 1})
		hop.Probes[len(hop.Probes)-1].Sent = time.Now()
		if _, err := t.tx.Send(tm.Bytes()); err != nil {
			return err
		}
		t.rep.Sent++
		pending++
		if err := t.rx.Drain(t.handle); err != nil {
			return err
		}
		if cfg.Interval > 0 {
			if err := t.wait(time.Now().Add(cfg.Interval), h); err != nil {
				return err
			}
		}
	}
	return t.wait(time.Now().Add(cfg.Timeout), h)
}

// register adds p to the first matcher that can tell it apart.
func (t *tracer) register(p listen.Probe) (int, int, error) {
	for g, m := range t.groups {
		if j, err := m.Add(p); err == nil {
			t.global[g] = append(t.global[g], t.n-1)
			return g, j, nil
		}
	}
	m := listen.NewMatcher(MaxTraceProbes)
	j, err := m.Add(p)
	if err != nil {
		return 0, 0, err
	}
	t.groups = append(t.groups, m)
	t.global = append(t.global, []int{t.n - 1})
	return len(t.groups) - 1, j, nil
}

// wait handles answers until deadline, or until every probe of hop h is
// answered, or Stop.
func (t *tracer) wait(deadline time.Time, h int) error {
	for !t.halted() && !t.hopDone(h) {
		p, err := t.rx.Next(deadline)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return err
		}
		t.handle(p)
	}
	return nil
}

func (t *tracer) hopDone(h int) bool {
	for i := range t.rep.Hops[h].Probes {
		if !t.rep.Hops[h].Probes[i].Answered() {
			return false
		}
	}
	return true
}

// handle matches one captured packet to its probe.
func (t *tracer) handle(p *listen.Packet) {
	for g, m := range t.groups {
		k, j, r := m.Match(p)
		if k == listen.Unrelated {
			continue
		}
		i := t.global[g][j]
		tp := &t.rep.Hops[t.loc[i][0]].Probes[t.loc[i][1]]
		switch k {
		case listen.ProbeCopy:
			if !tp.Answered() && !p.Meta.Time.IsZero() {
				tp.Sent = p.Meta.Time
			}
		case listen.Answer:
			if !tp.Answered() {
				tp.Reply, tp.RTT = r, r.Time.Sub(tp.Sent)
				if d := &p.Decoded; d.Layers&craft.LayerICMP != 0 {
					tp.Type, tp.Code = d.ICMP.Type, d.ICMP.Code
					if d.ICMP.IsError() {
						if objs, err := craft.ICMPExtensions(d.ICMP.Rest, d.Payload); err == nil && objs != nil {
							t.mpls, _ = craft.AppendMPLSEntries(t.mpls[:0], objs)
							if len(t.mpls) > 0 {
								tp.MPLS = append([]craft.MPLSEntry(nil), t.mpls...)
							}
						}
					}
				}
			}
		}
		if t.cfg.OnPacket != nil {
			t.cfg.OnPacket(k, p)
		}
		return
	}
}
