package probe

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// Run probes every port of cfg.Dst, or of each host of cfg.Targets in
// turn (or sends each one echo request), retries the unanswered, and
// returns a Result per probe, host by host. A host of a list whose link
// address cannot be found (no ARP reply) gets its Results with no response,
// and a note; with one host that is the run's error. It opens its sockets in the
// calling thread's network namespace. A stateful run is bounded by
// (Retries+1) × (probes × Interval + Timeout) plus 100 ms for this host's
// kernel RSTs; a stateless one by (Retries+1) × (sending + Timeout).
// A sharded run, and a plain TCP SYN run over more than one host with more
// than StatelessAbove probes in all (or Stateless), is a Scan across hosts
// and ports when its targets share a gateway, with its Results in address
// and then port order.
// Errors caused by cfg's values wrap ErrConfig; nothing has been sent then.
func Run(cfg Config) (*Report, error) {
	if cfg.wantsScan() {
		rep, err := scanOf(cfg)
		if !errors.Is(err, ErrOnLink) {
			return rep, err
		}
	}
	if len(cfg.Targets) == 0 {
		return runHost(cfg)
	}
	if _, err := cfg.check(); err != nil {
		return nil, err
	}
	if err := rawsock.CheckPrivilege(); err != nil {
		return nil, err
	}
	all := &Report{}
	var down []netip.Addr
	downs := 0
	start := time.Now()
	for _, t := range cfg.Targets {
		t = t.Masked()
		for a := t.Addr(); a.IsValid() && t.Contains(a); a = a.Next() {
			c := cfg
			c.Targets, c.Dst = nil, a
			rep, err := runHost(c)
			if err != nil && (errors.Is(err, rawsock.ErrNoARPReply) || errors.Is(err, rawsock.ErrNoNDPReply)) {
				downs++
				if len(down) < 5 {
					down = append(down, a)
				}
				rep = unanswered(&c)
			} else if err != nil {
				return all, fmt.Errorf("%v: %w", a, err)
			}
			all.merge(rep)
		}
	}
	all.Elapsed = time.Since(start)
	if downs > 0 {
		more := ""
		if downs > len(down) {
			more = " …"
		}
		all.Notes = append(all.Notes, fmt.Sprintf("%d host(s) answered no ARP request or Neighbor Solicitation, so nothing was sent to them (down, or not on this link): %v%s", downs, down, more))
	}
	return all, nil
}

// unanswered is the Report of a host nothing was sent to.
func unanswered(c *Config) *Report {
	ports, _ := c.check()
	rep := &Report{Results: make([]Result, len(ports))}
	for i, p := range ports {
		r := &rep.Results[i]
		r.Probe = listen.Probe{Proto: c.Proto, Dst: c.Dst, DstPort: p, Scan: c.scanType()}
		r.State = listen.ClassifyProbe(&r.Probe, &r.Reply)
	}
	return rep
}

// merge adds one host's report to r.
func (r *Report) merge(h *Report) {
	r.Results = append(r.Results, h.Results...)
	r.Stats.Captured += h.Stats.Captured
	r.Stats.Dropped += h.Stats.Dropped
	r.Stateless = r.Stateless || h.Stateless
	r.Stray += h.Stray
	for _, n := range h.Notes {
		if !slices.Contains(r.Notes, n) {
			r.Notes = append(r.Notes, n)
		}
	}
}

// runHost is a run against cfg.Dst alone.
func runHost(cfg Config) (*Report, error) {
	ports, err := cfg.check()
	if err != nil {
		return nil, err
	}
	stateless, err := cfg.stateless(ports)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	shape, err := cfg.packetFor(cfg.Dst)
	if err != nil {
		return nil, err
	}
	v6 := shape.IPv6 != nil
	var wantSrc netip.Addr
	if v6 {
		wantSrc = shape.IPv6.Src
	} else {
		wantSrc = shape.IPv4.Src
	}
	if err := rawsock.CheckPrivilege(); err != nil {
		return nil, err
	}
	tx, err := rawsock.Open(cfg.Dst, cfg.Via, &rawsock.OpenConfig{Iface: cfg.Iface, Src: wantSrc, SrcMAC: cfg.SrcMAC, DstMAC: cfg.DstMAC})
	if err != nil {
		return nil, err
	}
	defer tx.Close()
	rt := tx.Route()
	if rt.Iface == nil {
		return nil, fmt.Errorf("no interface toward %v to listen on", cfg.Dst)
	}
	var notes []string
	if stateless && rt.Datagrams {
		// lo: frames sent through AF_PACKET never reach the stack (see
		// rawsock.Route.Datagrams), and a stateless scan sends only frames.
		stateless = false
		notes = append(notes, "toward this host's own address the scan is stateful: the kernel takes loopback probes only through a raw IPv4 socket, one at a time")
	}
	src := rt.Src
	switch {
	case v6 && !is6(src):
		return nil, fmt.Errorf("no IPv6 source address toward %v", cfg.Dst)
	case !v6 && !src.Is4():
		return nil, fmt.Errorf("no IPv4 source address toward %v", cfg.Dst)
	}
	filter, err := rawsock.HostFilter(src)
	if err != nil {
		return nil, err
	}
	// Room for the burst a fast sender provokes: two frames (the probe's
	// own copy and the reply) per port, each about 1 KiB of kernel memory
	// queued on a socket, up to 64 MiB; a stateless scan captures through
	// a ring instead, where a small frame takes about 200 bytes.
	lc := &listen.Config{Filter: filter, ReadBuffer: min(64<<20, max(4<<20, 2048*len(ports)))}
	if stateless {
		lc.Ring, lc.ReadBuffer = true, min(64<<20, max(4<<20, 512*len(ports)))
	}
	rx, err := listen.Listen(rt.Iface, lc)
	if err != nil {
		return nil, err
	}
	defer rx.Close()

	pk := &shape // a copy: the run sets fields; the caller's stay as they are
	if v6 {
		pk.IPv6.Src, pk.IPv6.Dst = src, cfg.Dst
	} else {
		pk.IPv4.Src, pk.IPv4.Dst = src, cfg.Dst
	}
	pk.Ethernet = tx.Ethernet()
	if stateless {
		return scanHost(&cfg, pk, ports, rx)
	}
	// Identities: a random source port and sequence number per run, so that
	// two runs side by side never take each other's replies.
	r := random32()
	if cfg.Fixed&FixSrcPort == 0 {
		setSrcPort(pk, uint16(32768+r%28000))
	}
	if pk.TCP != nil && cfg.Fixed&FixSeq == 0 {
		pk.TCP.Seq = random32()
	}
	baseSeq := uint16(0)
	echo := echoRest(pk)
	if echo != nil {
		if cfg.Fixed&FixICMPID == 0 {
			*echo = uint32(uint16(r>>16))<<16 | *echo&0xffff
		}
		baseSeq = uint16(*echo)
	}
	baseID := uint16(random32())
	if cfg.Fixed&FixIPID != 0 && !v6 {
		baseID = pk.IPv4.ID
	}
	b, err := newBuilder(pk, cfg.Frag)
	if err != nil {
		return nil, err
	}
	link := 0
	if pk.Ethernet != nil {
		link = pk.Ethernet.Len()
	}
	mal := &malformed{kernelFills: !v6 && (cfg.Via == rawsock.ViaIP || rt.Datagrams), onFound: cfg.OnMalformed}
	m := listen.NewMatcher(len(ports))
	for i, port := range ports {
		p := listen.Probe{Proto: cfg.Proto, Src: src, Dst: cfg.Dst, DstPort: port, Frag: b.fragmented()}
		if v6 && cfg.Proto == craft.ProtoICMP {
			p.Proto = craft.ProtoICMPv6
		}
		switch {
		case pk.TCP != nil:
			p.SrcPort, p.Seq = pk.TCP.SrcPort, pk.TCP.Seq
			p.Flags, p.Ack, p.Len, p.Scan = pk.TCP.Flags, pk.TCP.Ack, len(pk.Payload), cfg.scanType()
		case pk.UDP != nil:
			p.SrcPort = pk.UDP.SrcPort
		default:
			p.DstPort, p.ICMPID, p.ICMPSeq = 0, uint16(*echo>>16), baseSeq+uint16(i)
		}
		if _, err := m.Add(p); err != nil {
			return nil, err
		}
	}
	p := &prober{m: m, rx: rx, timeout: cfg.Timeout, retries: cfg.Retries, interval: cfg.Interval, linger: 100 * time.Millisecond,
		onPacket: cfg.OnPacket, paceDown: cfg.Proto == craft.ProtoUDP && len(ports) > 1, paceBudget: cfg.RateLimitBudget, host: cfg.Dst,
		send: func(f []byte) error { _, err := tx.Send(f); return err },
		build: func(i, attempt int) ([][]byte, uint16, error) {
			pr := m.Probe(i)
			id := baseID + uint16(attempt*m.Len()+i) // every attempt of every probe its own ID
			frames, err := b.frames(pr.DstPort, pr.ICMPSeq, id)
			if b.fragmented() && v6 {
				m.SentFragID(i, b.idHigh|uint32(id))
			}
			if err == nil {
				mal.sent(i, m.Len(), frames, link)
			}
			return frames, id, err
		}}
	p.onProgress = cfg.OnProgress
	start := time.Now()
	rep, err := p.run()
	if rep != nil {
		mal.mark(rep.Results)
		rep.Elapsed = time.Since(start)
		rep.Notes = append(rep.Notes, notes...)
		if cfg.Proto == craft.ProtoUDP && len(ports) > 1 && !p.paced {
			for _, r := range rep.Results {
				if r.Reply.Reason == listen.NoResponse && r.Malformed == nil {
					if v6 {
						rep.Notes = append(rep.Notes, "a host sends ICMPv6 errors at a limited rate — Linux by default about one port unreachable per second to each destination (net.ipv6.icmp.ratelimit, 1000 ms) — so a closed UDP port can look open|filtered. The lab lifts it inside its namespaces; elsewhere pace the probes (--interval 1s) and raise --retries.")
						break
					}
					rep.Notes = append(rep.Notes, "a host sends ICMP errors at a limited rate — Linux by default about one port unreachable per second to each destination (net.ipv4.icmp_ratelimit) and at most 1000 a second in all, in bursts of 50 (icmp_msgs_per_sec, icmp_msgs_burst) — so a closed UDP port can look open|filtered. The lab lifts both inside its namespaces; elsewhere pace the probes (--interval 1s) and raise --retries.")
					break
				}
			}
		}
	}
	return rep, err
}

func random32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

func setSrcPort(p *craft.Packet, port uint16) {
	switch {
	case p.TCP != nil:
		p.TCP.SrcPort = port
	case p.UDP != nil:
		p.UDP.SrcPort = port
	}
}

// builder makes the frames of each attempt: a template patched in place
// (RFC 1624) for a whole datagram; for fragments, the datagram built again
// and split, because each fragment's header and the first one's transport
// checksum change together.
type builder struct {
	pk     *craft.Packet
	frag   *Fragmenting
	idHigh uint32 // IPv6: the high half of every Fragment header's 32-bit identification, one per run
	tmpl   craft.Template
	out    [][]byte
	dgBuf  []byte
	frBuf  []byte
	frags  []craft.Fragment
	order  []int
	framed [][]byte
}

func newBuilder(pk *craft.Packet, frag *Fragmenting) (*builder, error) {
	b := &builder{pk: pk, frag: frag, idHigh: random32() << 16}
	if frag == nil {
		t, err := pk.Template(nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		b.tmpl, b.out = t, make([][]byte, 1)
		return b, nil
	}
	if _, err := b.frames(0, 0, 0); err != nil { // the plan must hold before anything is sent
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return b, nil
}

// fragmented says whether the probes leave in fragments: not when a
// datagram fits the MTU it was to be cut for (craft.Fragment.Whole).
func (b *builder) fragmented() bool {
	return b.frag != nil && !(len(b.frags) == 1 && b.frags[0].Whole)
}

// frames returns the frames of a probe to dport (an echo: with sequence
// number icmpSeq) carrying IP ID id, valid until the next call.
func (b *builder) frames(dport, icmpSeq, id uint16) ([][]byte, error) {
	if b.frag == nil {
		t := &b.tmpl
		t.SetIPID(id) // nothing on IPv6, which has no identification
		if b.pk.ICMP != nil || b.pk.ICMPv6 != nil {
			t.SetICMPSeq(icmpSeq)
		} else {
			t.SetDstPort(dport)
		}
		b.out[0] = t.Bytes()
		return b.out, nil
	}
	pk := b.pk
	if pk.IPv4 != nil {
		pk.IPv4.ID = id
	}
	switch {
	case pk.TCP != nil:
		pk.TCP.DstPort = dport
	case pk.UDP != nil:
		pk.UDP.DstPort = dport
	case pk.ICMP != nil:
		pk.ICMP.Rest = pk.ICMP.Rest&0xffff0000 | uint32(icmpSeq)
	case pk.ICMPv6 != nil:
		pk.ICMPv6.Rest = pk.ICMPv6.Rest&0xffff0000 | uint32(icmpSeq)
	}
	eth := pk.Ethernet
	pk.Ethernet = nil
	dg, err := pk.Append(b.dgBuf[:0])
	pk.Ethernet = eth
	if err != nil {
		return nil, err
	}
	b.dgBuf = dg
	etherType := craft.EtherTypeIPv4
	if pk.IPv6 != nil {
		// Each attempt its own 32-bit identification (RFC 8200 §4.5), so
		// that a receiver never joins fragments of two attempts.
		etherType = craft.EtherTypeIPv6
		b.frBuf, b.frags, err = craft.Fragments6(b.frBuf[:0], b.frags[:0], dg, craft.FragOptions6{FragOptions: b.frag.Options, ID: b.idHigh | uint32(id)})
	} else {
		b.frBuf, b.frags, err = craft.Fragments(b.frBuf[:0], b.frags[:0], dg, b.frag.Options)
	}
	if err != nil {
		return nil, err
	}
	if b.order, err = b.frag.Schedule.Plan(b.order[:0], len(b.frags)); err != nil {
		return nil, err
	}
	b.framed = b.framed[:0]
	for _, i := range b.order {
		f := b.frags[i-1].Bytes
		if eth != nil {
			e := *eth
			fb := make([]byte, craft.EthernetLen, craft.EthernetLen+len(f))
			if err := e.Encode(fb, etherType); err != nil {
				return nil, err
			}
			f = append(fb, f...)
		}
		b.framed = append(b.framed, f)
	}
	return b.framed, nil
}

// prober is a stateful run: every probe registered with the matcher, each
// reply matched to its probe.
type prober struct {
	m        *listen.Matcher
	rx       *listen.Listener
	send     func(b []byte) error
	build    func(i, attempt int) (frames [][]byte, ipID uint16, err error)
	timeout  time.Duration
	retries  int
	interval time.Duration
	// linger keeps listening after the last reply for this host's kernel
	// resetting connections that SYN-ACKs opened.
	linger   time.Duration
	onPacket func(k listen.Kind, i int, p *listen.Packet)
	// paceDown: a UDP run that, when the host's ICMP rate limit swallowed
	// answers, probes the silent ports again below that rate (paceBudget
	// bounds it); host names the target in its notes.
	paceDown   bool
	paceBudget time.Duration
	host       netip.Addr
	// What came back: the kernel times of the port unreachables (for the
	// rate), and how many probes went out when.
	unreachAt     []time.Time
	paced         bool // the silent ports were probed again below the host's rate
	sent          int
	firstS, lastS time.Time
	res           []Result
	// userSent is when each probe's latest attempt was handed to the
	// socket, by this process's clock: the RTT's start when the kernel's
	// timestamp of the outgoing copy is missing or comes after the reply's.
	userSent []time.Time

	onProgress func(sent, answered int) // Config.OnProgress
}

func (cfg *prober) run() (*Report, error) {
	m := cfg.m
	n := m.Len()
	rep := &Report{Results: make([]Result, n)}
	res := rep.Results
	cfg.res = res
	cfg.userSent = make([]time.Time, n)
	for i := range res {
		res[i].Probe = *m.Probe(i)
	}
	answered, reported := 0, 0
	synAcks := 0
	_, _, _ = cfg.rx.Stats() // reset the counters
	handle := func(p *listen.Packet) {
		k, i, r := m.Match(p)
		if k == listen.Unrelated {
			return
		}
		res := &res[i]
		switch k {
		case listen.ProbeCopy:
			if res.Reply.Reason == listen.NoResponse && !p.Meta.Time.IsZero() {
				res.Sent = p.Meta.Time
			}
		case listen.ProbeFragment:
			// A first fragment without the transport header starts the
			// probe on the wire as the transport's copy would.
			if f := p.Decoded.FragExt(); f != nil && f.FragOffset() == 0 && res.Reply.Reason == listen.NoResponse && !p.Meta.Time.IsZero() {
				res.Sent = p.Meta.Time
			}
		case listen.Answer:
			if r.Reason == listen.ICMPPortUnreachable && len(cfg.unreachAt) < 1<<17 {
				cfg.unreachAt = append(cfg.unreachAt, r.Time)
			}
			if res.Reply.Reason == listen.NoResponse {
				res.Reply = r
				res.RTT = r.Time.Sub(res.Sent)
				if res.RTT < 0 {
					// The capture's stamp of the probe's own copy came
					// after the reply's. The listener's ring stamps each
					// frame as it passes, so this is a last line: time
					// from the send call instead, which can only
					// overstate the RTT.
					res.Sent = cfg.userSent[i]
					res.RTT = max(r.Time.Sub(res.Sent), 0)
				}
				answered++
				if r.Reason == listen.SynAck {
					synAcks++
				}
			}
		case listen.KernelRST:
			res.KernelRST = true
		}
		if cfg.onPacket != nil {
			cfg.onPacket(k, i, p)
		}
	}
	drain := func(deadline time.Time) error {
		for {
			p, err := cfg.rx.Next(deadline)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					return nil
				}
				return err
			}
			handle(p)
			if answered == n && deadline.After(time.Now().Add(cfg.linger)) {
				deadline = time.Now().Add(cfg.linger)
			}
		}
	}
	sendProbe := func(i, attempt int) error {
		frames, id, err := cfg.build(i, attempt)
		if err != nil {
			return err
		}
		m.SentID(i, id)
		res[i].Sent = time.Now()
		cfg.userSent[i] = res[i].Sent
		res[i].Attempts++
		if cfg.sent == 0 {
			cfg.firstS = res[i].Sent
		}
		cfg.sent++
		cfg.lastS = res[i].Sent
		for _, f := range frames {
			if err := cfg.send(f); err != nil {
				return err
			}
		}
		return cfg.rx.Drain(handle) // whatever came back meanwhile
	}
	attempt := 0
	for ; attempt <= cfg.retries && answered < n; attempt++ {
		for i := 0; i < n; i++ {
			if res[i].Reply.Reason != listen.NoResponse {
				continue
			}
			if err := sendProbe(i, attempt); err != nil {
				return rep, err
			}
			if cfg.onProgress != nil {
				cfg.onProgress(1, answered-reported)
				reported = answered
			}
			if cfg.interval > 0 {
				if err := drain(time.Now().Add(cfg.interval)); err != nil {
					return rep, err
				}
			}
		}
		if err := drain(time.Now().Add(cfg.timeout)); err != nil {
			return rep, err
		}
	}
	if cfg.paceDown && answered < n {
		if err := cfg.resolveRateLimit(rep, attempt, sendProbe, drain); err != nil {
			return rep, err
		}
	}
	if synAcks > 0 {
		if err := drain(time.Now().Add(cfg.linger)); err != nil {
			return rep, err
		}
	}
	for i := range res {
		res[i].State = listen.ClassifyProbe(&res[i].Probe, &res[i].Reply)
		if res[i].Reply.Reason == listen.NoResponse {
			res[i].RTT = 0
		}
	}
	rep.Stats.Captured, rep.Stats.Dropped, _ = cfg.rx.Stats()
	return rep, nil
}
