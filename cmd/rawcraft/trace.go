package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/rawcraft/rawcraft/probe"
	"github.com/spf13/cobra"
)

type traceOpts struct {
	dst              *targetValue
	proto            string
	paris, pmtu      bool
	probes           int
	firstTTL, maxTTL int
	dport, sport     int
	timeout          time.Duration
	interval         time.Duration
	iface            string
	asJSON           bool
	pcapFile         string
	owned            bool
}

func newTraceCmd() *cobra.Command {
	o := &traceOpts{dst: &targetValue{}}
	cmd := &cobra.Command{
		Use:   "trace --dst ADDR [--proto udp|tcp|icmp] [--paris] [--probes N] [--first-ttl N] [--max-ttl N] [--pmtu] [--json] [--pcap FILE]",
		Short: "traceroute: every router on the path, by TTL, with RTTs, ICMP details and path MTU",
		Long: `trace sends probes with TTL 1, 2, 3 … and shows, hop by hop, the routers
whose ICMP "time exceeded" answers came back: their addresses, RTTs from
kernel timestamps, the ICMP type and code, the TTL they quoted and any MPLS
label stack (RFC 4950). The destination's own answer — port unreachable to
UDP, RST or SYN-ACK to a TCP SYN, echo reply to ICMP — ends the trace.

Classic traceroute changes the ports of every probe (UDP: the destination
port; TCP: the source port; ICMP: the sequence number, and so the
checksum). A router that balances load per flow then sends probes of one
hop down different paths, and the trace draws links that do not exist.
--paris holds the flow identifier still (the ports; for ICMP the checksum,
balanced through the first two data bytes), so every probe follows one
path (Paris traceroute, IMC 2006).

--pmtu sets DF and sends probes as large as the path allows so far; a
router's "fragmentation needed" lowers the size to the MTU it names and the
hop is asked again, as tracepath does. Ctrl-C prints the path so far.

Outside rawcraft's lab probes go at 100 a second unless --interval says
otherwise.`,
		Example: `  # in the lab: the routed variant's far host, two hops away
  sudo rawcraft lab up --routed
  sudo rawcraft lab exec hc -- rawcraft trace --dst 198.18.2.2
  # TCP SYNs to the one port a firewall lets through, Paris-style
  sudo rawcraft lab exec hc -- rawcraft trace --dst 198.18.2.2 --proto tcp --dport 9999 --paris
  # the path MTU, hop by hop, as JSON lines, with a capture
  sudo rawcraft lab exec hc -- rawcraft trace --dst 198.18.2.2 --pmtu --json --pcap trace.pcap
  # classic and Paris side by side on two load-balanced paths
  sudo rawcraft exercise paris`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	fs.Var(o.dst, "dst", "IPv4 destination: an address or a host name (resolved once)")
	fs.StringVar(&o.proto, "proto", "udp", "udp, tcp (SYN) or icmp (echo request)")
	fs.BoolVar(&o.paris, "paris", false, "hold the flow identifier constant, so every probe takes one path")
	fs.IntVar(&o.probes, "probes", probe.DefaultTraceProbes, "probes per hop, 1 to 10")
	fs.IntVar(&o.firstTTL, "first-ttl", 1, "the first hop to ask, 1 to 255")
	fs.IntVar(&o.maxTTL, "max-ttl", probe.DefaultMaxTTL, "the farthest hop to ask, 1 to 255")
	fs.IntVar(&o.dport, "dport", 0, "TCP: the port (default 80); UDP: the first port (default 33434)")
	fs.IntVar(&o.sport, "sport", 0, "the source port (default: one at random per run)")
	fs.BoolVar(&o.pmtu, "pmtu", false, "find the path MTU: DF probes as large as the path allows")
	durationVar(fs, &o.timeout, "timeout", time.Second, "wait this long for a hop's answers")
	durationVar(fs, &o.interval, "interval", 0, "pause between probes")
	fs.StringVar(&o.iface, "iface", "", "outgoing interface, instead of the routing table's")
	fs.BoolVar(&o.asJSON, "json", false, "one JSON object per hop")
	fs.StringVar(&o.pcapFile, "pcap", "", "write the probes and their answers to a pcap file")
	ownFlag(fs, &o.owned)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return runTrace(cmd.OutOrStdout(), cmd.ErrOrStderr(), fs.Changed("interval"), o)
	}
	return cmd
}

// traceConfig turns the flags into the engine's plain values.
func traceConfig(o *traceOpts) (probe.TraceConfig, error) {
	var c probe.TraceConfig
	proto, ok := protoNumbers[strings.ToLower(o.proto)]
	if !ok {
		return c, usagef("--proto %q: udp, tcp or icmp", o.proto)
	}
	if !o.dst.addr().IsValid() {
		return c, usagef("trace needs --dst: an IPv4 address or host name, such as 198.18.2.2")
	}
	switch {
	case o.probes < 1 || o.probes > probe.MaxTraceProbes:
		return c, usagef("--probes %d: 1 to %d", o.probes, probe.MaxTraceProbes)
	case o.firstTTL < 1 || o.firstTTL > 255:
		return c, usagef("--first-ttl %d: 1 to 255", o.firstTTL)
	case o.maxTTL < 1 || o.maxTTL > 255:
		return c, usagef("--max-ttl %d: 1 to 255", o.maxTTL)
	case o.firstTTL > o.maxTTL:
		return c, usagef("--first-ttl %d: at most --max-ttl (%d)", o.firstTTL, o.maxTTL)
	case o.dport < 0 || o.dport > 65535:
		return c, usagef("--dport %d: 0 to 65535", o.dport)
	case o.sport < 0 || o.sport > 65535:
		return c, usagef("--sport %d: 0 to 65535", o.sport)
	case o.dport != 0 && proto == craft.ProtoICMP, o.sport != 0 && proto == craft.ProtoICMP:
		return c, usagef("--dport, --sport: ICMP has no ports")
	case o.timeout <= 0 || o.timeout > probe.MaxTimeout:
		return c, usagef("--timeout %v: more than 0, at most 1m", o.timeout)
	case o.interval < 0 || o.interval > probe.MaxInterval:
		return c, usagef("--interval %v: 0 to 10s", o.interval)
	}
	c = probe.TraceConfig{Proto: proto, Dst: o.dst.addr(), DstPort: uint16(o.dport), SrcPort: uint16(o.sport), Paris: o.paris,
		Probes: o.probes, FirstTTL: o.firstTTL, MaxTTL: o.maxTTL, PMTU: o.pmtu, Timeout: o.timeout, Interval: o.interval, Iface: o.iface}
	return c, nil
}

func runTrace(out, errw io.Writer, paced bool, o *traceOpts) error {
	cfg, err := traceConfig(o)
	if err != nil {
		return err
	}
	hops := cfg.MaxTTL - cfg.FirstTTL + 1
	v, err := checkRails(errw, rails(o.owned), probe.Ask{Targets: o.dst.targets, Count: uint64(hops * cfg.Probes), Interval: cfg.Interval, Paced: paced})
	if err != nil {
		return err
	}
	cfg.Interval = v.Interval
	o.dst.showResolved(errw)
	var pw *pcap.Writer
	closePcap := func() error { return nil }
	if o.pcapFile != "" {
		if pw, closePcap, err = createPcap(o.pcapFile, pcap.LinkEthernet); err != nil {
			return err
		}
		cfg.OnPacket = func(k listen.Kind, p *listen.Packet) { _ = pw.Write(p.Meta.Time, p.Frame) }
	}
	stop := make(chan struct{})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			close(stop)
		case <-done:
		}
	}()
	cfg.Stop = stop
	if !o.asJSON {
		fmt.Fprintln(out, traceHeading(&cfg))
	}
	rep, err := probe.Trace(cfg)
	signal.Stop(sig)
	close(done)
	if errors.Is(err, probe.ErrConfig) {
		_ = closePcap()
		return usageError{err}
	}
	if rep != nil {
		for i := range rep.Hops {
			if o.asJSON {
				_ = writeJSON(out, traceHopJSON(&rep.Hops[i]))
			} else {
				fmt.Fprint(out, traceHopText(&rep.Hops[i]))
			}
		}
		fmt.Fprintln(errw, traceSummary(rep))
	}
	if cerr := closePcap(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if rep.Stopped {
		os.Exit(exitInterrupted)
	}
	return nil
}

func traceHeading(c *probe.TraceConfig) string {
	mode := "classic: the ports change with every probe"
	if c.Proto == craft.ProtoICMP {
		mode = "classic: the checksum changes with every probe"
	}
	if c.Paris {
		mode = "Paris: one flow identifier for every probe"
	}
	s := fmt.Sprintf("trace to %v over %s, hops %d to %d, %d probes a hop (%s)", c.Dst, probe.ProtoName(c.Proto), c.FirstTTL, c.MaxTTL, c.Probes, mode)
	if c.PMTU {
		s += ", finding the path MTU"
	}
	return s
}

// traceHopText is one hop: a line per responder, its RTTs and what it said.
func traceHopText(h *probe.Hop) string {
	var b strings.Builder
	type group struct {
		from netip.Addr
		what string
		rtts []string
	}
	var groups []*group
	silent := 0
	for _, p := range h.Probes {
		if !p.Answered() {
			silent++
			continue
		}
		what := traceMeaning(&p)
		var g *group
		for _, x := range groups {
			if x.from == p.Reply.From && x.what == what {
				g = x
			}
		}
		if g == nil {
			g = &group{from: p.Reply.From, what: what}
			groups = append(groups, g)
		}
		g.rtts = append(g.rtts, fmt.Sprintf("%.3f ms", float64(p.RTT.Nanoseconds())/1e6))
	}
	lead := fmt.Sprintf("%3d  ", h.TTL)
	for _, g := range groups {
		fmt.Fprintf(&b, "%s%-15s  %s  %s\n", lead, g.from, strings.Join(g.rtts, "  "), g.what)
		lead = "     "
	}
	if silent > 0 {
		fmt.Fprintf(&b, "%s%s\n", lead, strings.TrimSpace(strings.Repeat("* ", silent))+"  (no answer)")
	}
	return b.String()
}

// traceMeaning says in words what answered a probe.
func traceMeaning(p *probe.TraceProbe) string {
	r := &p.Reply
	var s string
	switch r.Reason {
	case listen.SynAck:
		s = "SYN-ACK: the port is open"
	case listen.Rst:
		s = "RST: the port is closed"
	case listen.UDPReply:
		s = "a UDP reply"
	default:
		s = fmt.Sprintf("%s (type %d code %d)", craft.ICMPCodeName(p.Type, p.Code), p.Type, p.Code)
		if r.Reason == listen.EchoReply {
			s = "echo reply (type 0)"
		}
	}
	if craft.IsICMPError(p.Type) && r.Reason != listen.SynAck && r.Reason != listen.Rst {
		s += fmt.Sprintf(", quoted TTL %d", r.QuotedTTL)
	}
	if r.Reason == listen.ICMPFragNeeded {
		s += fmt.Sprintf(", next-hop MTU %d: probes of %d bytes are too big", r.MTU, p.Size)
	}
	if p.Size > 0 && r.Reason != listen.ICMPFragNeeded && p.Size >= 576 {
		s += fmt.Sprintf(", %d-byte probes pass", p.Size)
	}
	for _, m := range p.MPLS {
		s += fmt.Sprintf(", MPLS label %d TC %d S %d TTL %d", m.Label, m.TC, b2i(m.S), m.TTL)
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func traceSummary(r *probe.TraceReport) string {
	s := fmt.Sprintf("%d probes in %d hops, %v", r.Sent, len(r.Hops), r.Elapsed.Round(time.Millisecond))
	switch {
	case r.Stopped:
		s += "; interrupted: the path so far"
	case r.Reached:
		s += fmt.Sprintf("; %v answered itself", r.Dst)
	default:
		s += fmt.Sprintf("; %v did not answer", r.Dst)
	}
	if r.PMTU > 0 {
		s += fmt.Sprintf("; path MTU %d", r.PMTU)
	}
	return s
}

type traceProbeJSON struct {
	From      string         `json:"from,omitempty"`
	Reason    string         `json:"reason"`
	RTTms     float64        `json:"rtt_ms"`
	ICMPType  *uint8         `json:"icmp_type,omitempty"`
	ICMPCode  *uint8         `json:"icmp_code,omitempty"`
	QuotedTTL uint8          `json:"quoted_ttl,omitempty"`
	MTU       uint16         `json:"mtu,omitempty"`
	Size      int            `json:"size"`
	Sport     uint16         `json:"sport,omitempty"`
	Dport     uint16         `json:"dport,omitempty"`
	ICMPSeq   uint16         `json:"icmp_seq,omitempty"`
	IPID      uint16         `json:"ip_id"`
	MPLS      []traceMPLSLbl `json:"mpls,omitempty"`
}

type traceMPLSLbl struct {
	Label uint32 `json:"label"`
	TC    uint8  `json:"tc"`
	S     bool   `json:"s"`
	TTL   uint8  `json:"ttl"`
}

type traceHopJSONv struct {
	TTL    int              `json:"ttl"`
	MTU    int              `json:"mtu,omitempty"`
	Probes []traceProbeJSON `json:"probes"`
}

func traceHopJSON(h *probe.Hop) traceHopJSONv {
	j := traceHopJSONv{TTL: h.TTL, MTU: h.MTU, Probes: []traceProbeJSON{}}
	for _, p := range h.Probes {
		q := traceProbeJSON{Reason: p.Reply.Reason.String(), Size: p.Size, Sport: p.SrcPort, Dport: p.DstPort, ICMPSeq: p.ICMPSeq, IPID: p.IPID}
		if p.Answered() {
			q.From, q.RTTms, q.QuotedTTL, q.MTU = p.Reply.From.String(), float64(p.RTT.Nanoseconds())/1e6, p.Reply.QuotedTTL, p.Reply.MTU
			if p.Reply.Reason != listen.SynAck && p.Reply.Reason != listen.Rst && p.Reply.Reason != listen.UDPReply {
				t, c := p.Type, p.Code
				q.ICMPType, q.ICMPCode = &t, &c
			}
		}
		for _, m := range p.MPLS {
			q.MPLS = append(q.MPLS, traceMPLSLbl{m.Label, m.TC, m.S, m.TTL})
		}
		j.Probes = append(j.Probes, q)
	}
	return j
}
