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
// answers, MaxTTL is passed, or Stop is closed. To an IPv6 destination the
// probes are IPv6 and the TTLs are hop limits (RFC 8200 §3): a router
// where the hop limit runs out answers ICMPv6 time exceeded, type 3 code 0
// (RFC 4443 §3.3), and the destination ICMPv6 port unreachable, type 1
// code 4, to UDP.
type TraceConfig struct {
	// Proto is craft.ProtoUDP (to an unused port: the destination answers
	// port unreachable), ProtoTCP (a SYN: SYN-ACK or RST) or ProtoICMP (an
	// echo request: echo reply). To an IPv6 destination ProtoICMP and
	// ProtoICMPv6 both mean an ICMPv6 echo request (RFC 4443 §4.1).
	Proto uint8
	// Dst is an IPv4 or an IPv6 address (not IPv4-mapped, without a zone:
	// Iface names the interface).
	Dst netip.Addr
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
	//
	// Over IPv6 the flow label (RFC 6437) is part of the flow identifier
	// too: Linux hashes it, with the addresses and the next header, to
	// choose among equal-cost IPv6 routes (fib_multipath_hash_policy 0, its
	// default; policy 1 takes the ports instead). Paris mode holds it
	// still; classic mode changes it with every probe, as a Linux host's
	// automatic flow labels change with the ports of traceroute's sockets.
	// IPv6 has no IP ID, so Paris UDP probes are told apart by their UDP
	// checksum, which the first two data bytes set to one value per probe
	// (as Paris traceroute does); a router quotes it and no load balancer
	// reads it.
	Paris bool
	// FlowLabel is, over IPv6, the probes' flow label: in Paris mode every
	// probe's, in classic mode the first probe's (each next one's is one
	// more). Unset, one is picked at random per run. IPv4 has none.
	FlowLabel craft.Auto[uint32]
	// Probes per hop (default DefaultTraceProbes, at most MaxTraceProbes);
	// FirstTTL (default 1) and MaxTTL (default DefaultMaxTTL), 1 to 255.
	Probes           int
	FirstTTL, MaxTTL int
	// PMTU sends every probe with DF set, as large as the path MTU known so
	// far (first the interface's MTU); a fragmentation-needed answer lowers
	// it to the next-hop MTU the router names (RFC 1191), and the hop is
	// asked again, as tracepath does. IPv6 has no DF bit: routers never
	// fragment IPv6, every packet is as if DF were set, and the router
	// whose next link is too small answers Packet Too Big with that link's
	// MTU (RFC 8201, RFC 4443 §3.2), never below IPv6's minimum 1280.
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
	ICMPSeq          uint16 // ICMP and ICMPv6
	IPID             uint16 // IPv4
	// FlowLabel is an IPv6 probe's flow label; UDPChecksum a Paris IPv6 UDP
	// probe's checksum, which tells it from the others of its flow.
	FlowLabel   uint32
	UDPChecksum uint16
	Size        int       // the datagram's length, IP header included
	Sent        time.Time // kernel timestamp of the probe leaving, when captured
	// Reply is the answer, Reason NoResponse when none came: From is who
	// sent it, QuotedTTL the TTL (IPv6: hop limit) an ICMP error quoted (1
	// from the router where it ran out), MTU a fragmentation-needed or
	// Packet Too Big error's next-hop MTU.
	Reply listen.Reply
	// Type and Code are the answer's ICMP (ICMPv6) type and code when it is
	// ICMP (ICMPv6).
	Type, Code uint8
	RTT        time.Duration // the answer's kernel timestamp minus Sent
	// MPLS is the label stack an MPLS router quoted (RFC 4950), if any.
	MPLS []craft.MPLSEntry
}

// Answered reports whether anything answered the probe.
func (p *TraceProbe) Answered() bool { return p.Reply.Reason != listen.NoResponse }

// Hop is one TTL's (IPv6: hop limit's) probes.
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
		if !p.Answered() || tooBig(&p.Reply) {
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
	// Proto is the config's, ICMPv6 (58) for an echo trace over IPv6.
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
// ends the path (an unreachable from a router): anything but time exceeded,
// fragmentation needed and Packet Too Big.
func ends(r *listen.Reply) bool {
	switch r.Reason {
	case listen.NoResponse, listen.ICMPTTLExceeded, listen.ICMPFragNeeded, listen.ICMPPacketTooBig:
		return false
	}
	return true
}

// tooBig reports whether r says the probe was too big for a link: ICMP
// fragmentation needed or ICMPv6 Packet Too Big.
func tooBig(r *listen.Reply) bool {
	return r.Reason == listen.ICMPFragNeeded || r.Reason == listen.ICMPPacketTooBig
}

// minMTU6 is IPv6's minimum link MTU (RFC 8200 §5): no path MTU is lower.
const minMTU6 = 1280

func (c *TraceConfig) check() error {
	v6 := is6(c.Dst)
	switch c.Proto {
	case craft.ProtoUDP, craft.ProtoTCP, craft.ProtoICMP:
	case craft.ProtoICMPv6:
		if !v6 {
			return configErr("protocol ICMPv6 (58) to %v: an IPv4 destination takes icmp (1)", c.Dst)
		}
	default:
		return configErr("protocol %d: udp (17), tcp (6) or icmp (1)", c.Proto)
	}
	switch {
	case c.Dst.Zone() != "":
		return configErr("destination %v: a zone is not taken; give the interface as Iface", c.Dst)
	case c.Dst.Is4In6():
		return configErr("destination %v: an IPv4-mapped address; trace %v itself", c.Dst, c.Dst.Unmap())
	case !c.Dst.Is4() && !v6:
		return configErr("destination %v: not an IPv4 or IPv6 address", c.Dst)
	}
	if fl, ok := c.FlowLabel.Get(); ok && (!v6 || fl > 0xfffff) {
		if !v6 {
			return configErr("flow label %d: IPv6's; %v is IPv4", fl, c.Dst)
		}
		return configErr("flow label %d: 20 bits, 0 to 1048575", fl)
	}
	ttl := "TTL"
	if v6 {
		ttl = "hop limit"
	}
	if c.Probes < 0 || c.Probes > MaxTraceProbes {
		return configErr("probes %d: 1 to %d per hop", c.Probes, MaxTraceProbes)
	}
	if c.FirstTTL < 0 || c.FirstTTL > 255 || c.MaxTTL < 0 || c.MaxTTL > 255 {
		return configErr("%s %d to %d: 1 to 255", ttl, c.FirstTTL, c.MaxTTL)
	}
	if first, last := max(c.FirstTTL, 1), c.maxTTL(); first > last {
		return configErr("first %s %d is beyond the max %s %d", ttl, first, ttl, last)
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
	v6      bool   // the probes are IPv6
	flow    uint32 // IPv6: the first probe's flow label
	// tags, in a Paris UDP trace over IPv6, finds a probe by its UDP
	// checksum: the probes share one 4-tuple and IPv6 has no IP ID.
	tags map[uint16]int
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
// returns the path, hop by hop; over IPv6 when cfg.Dst is an IPv6 address. It is bounded by (MaxTTL−FirstTTL+1) ×
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
	v6 := is6(cfg.Dst)
	if v6 && cfg.Proto == craft.ProtoICMP {
		cfg.Proto = craft.ProtoICMPv6
	}
	tx, err := rawsock.Open(cfg.Dst, rawsock.ViaPacket, &rawsock.OpenConfig{Iface: cfg.Iface})
	if err != nil {
		return nil, err
	}
	defer tx.Close()
	rt := tx.Route()
	switch {
	case v6 && (rt.Iface == nil || !is6(rt.Src)):
		return nil, fmt.Errorf("no interface with an IPv6 address toward %v", cfg.Dst)
	case !v6 && (rt.Iface == nil || !rt.Src.Is4()):
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
	t := &tracer{cfg: cfg, tx: tx, rx: rx, v6: v6, rep: &TraceReport{Proto: cfg.Proto, Src: rt.Src, Dst: cfg.Dst, Paris: cfg.Paris}}
	r := random32()
	t.sport, t.icmpID, t.baseID, t.baseSeq, t.seq = uint16(32768+r%28000), uint16(r>>16), uint16(random32()), uint16(random32()), random32()
	if cfg.SrcPort != 0 {
		t.sport = cfg.SrcPort
	}
	if v6 {
		t.flow = cfg.FlowLabel.Or(1 + random32()%0xfffff) // never 0, "no flow" (RFC 6437 §2)
		t.pk = craft.Packet{Ethernet: tx.Ethernet(), IPv6: &craft.IPv6{Src: rt.Src, Dst: cfg.Dst, FlowLabel: t.flow}}
		t.hdr = craft.IPv6HeaderLen
		if cfg.Paris && cfg.Proto == craft.ProtoUDP {
			t.tags = map[uint16]int{}
		}
	} else {
		t.pk = craft.Packet{Ethernet: tx.Ethernet(), IPv4: &craft.IPv4{Src: rt.Src, Dst: cfg.Dst}}
		t.hdr = craft.IPv4HeaderLen
	}
	switch cfg.Proto {
	case craft.ProtoUDP:
		t.pk.UDP = &craft.UDP{SrcPort: t.sport, DstPort: cfg.DstPort}
		t.hdr += craft.UDPHeaderLen
	case craft.ProtoTCP:
		t.pk.TCP = &craft.TCP{SrcPort: t.sport, DstPort: cfg.DstPort, Flags: craft.TCPSyn, Window: 64240}
		t.hdr += craft.TCPHeaderLen
	case craft.ProtoICMPv6:
		t.pk.ICMPv6 = &craft.ICMPv6{Type: craft.ICMPv6EchoRequest, Rest: uint32(t.icmpID)<<16 | uint32(t.baseSeq)}
		t.hdr += craft.ICMPHeaderLen
	default:
		t.pk.ICMP = &craft.ICMP{Type: craft.ICMPEcho, Rest: uint32(t.icmpID)<<16 | uint32(t.baseSeq)}
		t.hdr += craft.ICMPHeaderLen
	}
	size := t.hdr
	if cfg.Proto != craft.ProtoTCP {
		size += 32 // traceroute's 60-byte probes (traceroute6's 80), less their headers
	}
	if cfg.PMTU {
		if !v6 {
			t.pk.IPv4.Flags = craft.FlagDF // IPv6: every packet is as if DF were set
		}
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

// echo reports whether the probes are echo requests, ICMP or ICMPv6.
func (t *tracer) echo() bool {
	return t.cfg.Proto == craft.ProtoICMP || t.cfg.Proto == craft.ProtoICMPv6
}

// resize builds the probes' template for datagrams of size bytes.
func (t *tracer) resize(size int) error {
	if size < t.hdr+2 && (t.echo() || t.tags != nil) || size < t.hdr {
		return fmt.Errorf("%w: a probe of %d bytes cannot hold its headers", ErrConfig, size)
	}
	t.size = size
	t.pk.Payload = make([]byte, size-t.hdr)
	if t.echo() {
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
				mtu := int(p.Reply.MTU)
				if t.v6 {
					mtu = max(mtu, minMTU6) // RFC 8201 §4: never below 1280
				}
				if tooBig(&p.Reply) && mtu < t.size && mtu >= t.hdr+2 {
					lower = max(lower, mtu)
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
		tp := TraceProbe{Size: t.size}
		lp := listen.Probe{Proto: cfg.Proto, Src: t.rep.Src, Dst: cfg.Dst}
		tm := &t.tmpl
		tm.SetTTL(uint8(ttl)) // IPv6: the hop limit
		if t.v6 {
			tp.FlowLabel = t.flow
			if !cfg.Paris {
				tp.FlowLabel = classicFlowLabel(t.flow, i)
			}
			setFlowLabel(tm.Bytes()[tm.IPOffset():], tp.FlowLabel)
		} else {
			tp.IPID = t.baseID + uint16(i)
			tm.SetIPID(tp.IPID)
		}
		switch cfg.Proto {
		case craft.ProtoUDP:
			tp.SrcPort, tp.DstPort = t.sport, cfg.DstPort
			if !cfg.Paris {
				tp.DstPort += uint16(i)
			}
			tm.SetDstPort(tp.DstPort)
			lp.SrcPort, lp.DstPort = tp.SrcPort, tp.DstPort
			if t.tags != nil {
				tp.UDPChecksum = t.tag(uint16(i))
				t.tags[tp.UDPChecksum] = i
			}
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
		if t.tags == nil || len(t.groups) == 0 {
			// A tagged probe shares its flow's one registration.
			g, j, err := t.register(lp)
			if err != nil {
				return err
			}
			if !t.v6 {
				t.groups[g].SentID(j, tp.IPID)
			}
		}
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

// setFlowLabel writes the flow label of the IPv6 header ip starts with: the
// low 20 bits of its first word (RFC 8200 §3), which no checksum covers.
func setFlowLabel(ip []byte, fl uint32) {
	ip[1] = ip[1]&0xf0 | byte(fl>>16&0x0f)
	ip[2], ip[3] = byte(fl>>8), byte(fl)
}

// tag sets the UDP checksum of the template's probe to one value for probe
// i, 1 to 0xfffe (never 0 or 0xffff, both a one's-complement zero), by what
// it writes to the first two data bytes: for checksum c over data word w,
// RFC 1624 eqn. 3 gives ~c' = ~c + ~w + w', so w' = ~c' + c + w. It returns
// the checksum.
func (t *tracer) tag(i uint16) uint16 {
	b, l4 := t.tmpl.Bytes(), t.tmpl.TransportOffset()
	want := uint16(1 + (uint32(t.baseID)+uint32(i))%0xfffe)
	c, w := binary.BigEndian.Uint16(b[l4+6:]), binary.BigEndian.Uint16(b[l4+craft.UDPHeaderLen:])
	s := uint32(^want) + uint32(c) + uint32(w)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	craft.Patch16(b, l4+craft.UDPHeaderLen, uint16(s), l4+6)
	return binary.BigEndian.Uint16(b[l4+6:])
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
		if t.tags != nil {
			var ok bool
			if i, ok = t.tagged(k, p); !ok {
				return // a probe of another run's flow, or none
			}
		}
		tp := &t.rep.Hops[t.loc[i][0]].Probes[t.loc[i][1]]
		switch k {
		case listen.ProbeCopy:
			if !tp.Answered() && !p.Meta.Time.IsZero() {
				tp.Sent = p.Meta.Time
			}
		case listen.Answer:
			if !tp.Answered() {
				tp.Reply, tp.RTT = r, r.Time.Sub(tp.Sent)
				if d := &p.Decoded; d.Layers&craft.LayerICMPv6 != 0 {
					tp.Type, tp.Code = d.ICMPv6.Type, d.ICMPv6.Code
				} else if d.Layers&craft.LayerICMP != 0 {
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

// tagged finds the probe of a Paris UDP trace over IPv6 that p, a packet of
// its flow, is about: by the UDP checksum of the probe leaving, or the one
// an ICMPv6 error quotes. The destination's UDP reply quotes nothing: it
// goes to the first probe still unanswered.
func (t *tracer) tagged(k listen.Kind, p *listen.Packet) (int, bool) {
	d := &p.Decoded
	var c uint16
	var ok bool
	switch {
	case k == listen.ProbeCopy && d.Layers&craft.LayerUDP != 0:
		c, ok = d.UDP.Checksum.Get()
	case k == listen.Answer && d.Quoted.Layers&craft.LayerUDP != 0:
		c, ok = d.Quoted.UDP.Checksum.Get()
	case k == listen.Answer:
		for i := range t.loc {
			if !t.rep.Hops[t.loc[i][0]].Probes[t.loc[i][1]].Answered() {
				return i, true
			}
		}
		return 0, false
	}
	if !ok {
		return 0, false
	}
	i, ok := t.tags[c]
	return i, ok
}

// classicFlowLabel is the flow label of a classic (not Paris) trace's
// probe i: each probe its own, from base on, and never 0, which means "no
// flow" (RFC 6437 §2): 0xfffff is followed by 1.
func classicFlowLabel(base uint32, i int) uint32 {
	const labels = 0xfffff // 1 to 0xfffff
	return uint32(1 + (uint64(base)+labels-1+uint64(i))%labels)
}
