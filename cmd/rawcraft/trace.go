package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

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
	flowLabel        numValue
	flowSet          bool // --flow-label was given
	timeout          time.Duration
	interval         time.Duration
	iface            string
	asJSON           bool
	pcapFile         string
	owned            bool
}

func newTraceCmd() *cobra.Command {
	o := &traceOpts{dst: &targetValue{v6: true}, flowLabel: numValue{bits: 20, rule: "the flow label is 20 bits, 0 to 1048575"}}
	cmd := &cobra.Command{
		Use:   "trace --dst ADDR [--proto udp|tcp|icmp] [--paris] [--probes N] [--first-ttl N] [--max-ttl N] [--pmtu] [--json] [--pcap FILE]",
		Short: "traceroute over IPv4 or IPv6: every router on the path, with RTTs, ICMP or ICMPv6 details and path MTU",
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

` + fillParagraph(`To an IPv6 address the probes are IPv6 (icmp is an ICMPv6 echo request)
and --first-ttl and --max-ttl set hop limits: a router where the hop limit
runs out answers ICMPv6 "time exceeded" (type 3 code 0), quoting hop limit
1, and the destination ICMPv6 "port unreachable" (type 1 code 4) to UDP.
The flow label is part of the flow identifier: `+craft.ClaimFlowLabelHashed.Text()+`. --paris holds it
still with the ports (--flow-label picks it); classic mode changes it
with every probe. IPv6 has no IP ID: Paris UDP probes are told apart by
their UDP checksum, set through the first two data bytes. There is no DF
bit either: routers never fragment IPv6, so with --pmtu a router whose
next link is too small answers "packet too big" (type 2) with that
link's MTU, never below 1280. In --json an IPv6 hop has "hop_limit"
where an IPv4 hop has "ttl", and its probes "quoted_hop_limit",
"icmpv6_type", "icmpv6_code" and "flow_label" where IPv4's have
"quoted_ttl", "icmp_type", "icmp_code" and "ip_id".`, 72) + `

Outside rawcraft's lab probes go at 100 a second unless --interval says
otherwise.`,
		Example: `  # in the lab: the routed variant's far host, two hops away
  sudo rawcraft lab up --routed
  sudo rawcraft lab exec hc -- rawcraft trace --dst 198.18.2.2
  # TCP SYNs to the one port a firewall lets through, Paris-style
  sudo rawcraft lab exec hc -- rawcraft trace --dst 198.18.2.2 --proto tcp --dport 9999 --paris
  # the path MTU, hop by hop, as JSON lines, with a capture
  sudo rawcraft lab exec hc -- rawcraft trace --dst 198.18.2.2 --pmtu --json --pcap trace.pcap
  # over IPv6: ICMPv6 echo requests, and R's "packet too big" for the 1280-byte link
  sudo rawcraft lab exec hc -- rawcraft trace --dst 2001:2:0:2::1 --proto icmp
  sudo rawcraft lab exec hc -- rawcraft trace --dst 2001:2:0:2::1 --pmtu --paris --flow-label 0x12345
  # classic and Paris side by side on two load-balanced paths
  sudo rawcraft exercise paris`,
		Args: noArgs,
	}
	fs := cmd.Flags()
	fs.Var(o.dst, "dst", "destination: an IPv4 or IPv6 address, or a host name (IPv4, resolved once)")
	fs.StringVar(&o.proto, "proto", "udp", "udp, tcp (SYN) or icmp (echo request; ICMPv6 to an IPv6 address)")
	fs.BoolVar(&o.paris, "paris", false, "hold the flow identifier constant, so every probe takes one path")
	fs.IntVar(&o.probes, "probes", probe.DefaultTraceProbes, "probes per hop, 1 to 10")
	fs.IntVar(&o.firstTTL, "first-ttl", 1, "the first hop to ask, 1 to 255 (the TTL; IPv6: the hop limit)")
	fs.IntVar(&o.maxTTL, "max-ttl", probe.DefaultMaxTTL, "the farthest hop to ask, 1 to 255 (the TTL; IPv6: the hop limit)")
	fs.IntVar(&o.dport, "dport", 0, "TCP: the port (default 80); UDP: the first port (default 33434)")
	fs.IntVar(&o.sport, "sport", 0, "the source port (default: one at random per run)")
	fs.Var(&o.flowLabel, "flow-label", "IPv6: the flow label, 0 to 0xfffff (default: one at random per run); classic mode counts up from it")
	fs.BoolVar(&o.pmtu, "pmtu", false, "find the path MTU: DF probes (IPv6: every probe) as large as the path allows")
	durationVar(fs, &o.timeout, "timeout", time.Second, "wait this long for a hop's answers")
	durationVar(fs, &o.interval, "interval", 0, "pause between probes")
	fs.Var(ifaceValue{&o.iface}, "iface", "outgoing interface, instead of the routing table's")
	fs.BoolVar(&o.asJSON, "json", false, "one JSON object per hop")
	fs.StringVar(&o.pcapFile, "pcap", "", "write the probes and their answers to a pcap file")
	ownFlag(fs, &o.owned)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		o.flowSet = fs.Changed("flow-label")
		return runTrace(cmd.OutOrStdout(), cmd.ErrOrStderr(), fs.Changed("interval"), o)
	}
	return cmd
}

// fillParagraph rewraps a paragraph of help text to lines of at most width
// columns (a longer word stands alone): for one holding a claim's text.
func fillParagraph(s string, width int) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(s) {
		switch {
		case n == 0:
		case n+1+utf8.RuneCountInString(w) > width:
			b.WriteByte('\n')
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += utf8.RuneCountInString(w)
	}
	return b.String()
}

// traceConfig turns the flags into the engine's plain values.
func traceConfig(o *traceOpts) (probe.TraceConfig, error) {
	var c probe.TraceConfig
	proto, ok := protoNumbers[strings.ToLower(o.proto)]
	if !ok {
		return c, usagef("--proto %q: udp, tcp or icmp", o.proto)
	}
	dst := o.dst.addr()
	if !dst.IsValid() {
		return c, usagef("trace needs --dst: an IPv4 or IPv6 address or a host name, such as 198.18.2.2 or 2001:2:0:2::1")
	}
	v6 := dst.Is6()
	icmp, hops := "ICMP", "1 to 255"
	if v6 {
		icmp, hops = "ICMPv6", "a hop limit, 1 to 255"
	}
	switch {
	case strings.Contains(o.dst.raw, "%"):
		return c, usagef("--dst %s: trace takes no zone; give the address without it and the interface with --iface", o.dst.raw)
	case v6 && dst.IsLinkLocalUnicast():
		return c, usagef("--dst %v: a link-local address is on this link, one hop away: there is no path to trace", dst)
	case o.flowSet && !v6:
		return c, usagef("--flow-label: IPv6 has a flow label; %v is IPv4", dst)
	case o.probes < 1 || o.probes > probe.MaxTraceProbes:
		return c, usagef("--probes %d: 1 to %d", o.probes, probe.MaxTraceProbes)
	case o.firstTTL < 1 || o.firstTTL > 255:
		return c, usagef("--first-ttl %d: %s", o.firstTTL, hops)
	case o.maxTTL < 1 || o.maxTTL > 255:
		return c, usagef("--max-ttl %d: %s", o.maxTTL, hops)
	case o.firstTTL > o.maxTTL:
		return c, usagef("--first-ttl %d: at most --max-ttl (%d)", o.firstTTL, o.maxTTL)
	case o.dport < 0 || o.dport > 65535:
		return c, usagef("--dport %d: 0 to 65535", o.dport)
	case o.sport < 0 || o.sport > 65535:
		return c, usagef("--sport %d: 0 to 65535", o.sport)
	case o.dport != 0 && proto == craft.ProtoICMP, o.sport != 0 && proto == craft.ProtoICMP:
		return c, usagef("--dport, --sport: %s has no ports", icmp)
	case o.timeout <= 0 || o.timeout > probe.MaxTimeout:
		return c, usagef("--timeout %v: more than 0, at most 1m", o.timeout)
	case o.interval < 0 || o.interval > probe.MaxInterval:
		return c, usagef("--interval %v: 0 to 10s", o.interval)
	}
	c = probe.TraceConfig{Proto: proto, Dst: dst, DstPort: uint16(o.dport), SrcPort: uint16(o.sport), Paris: o.paris,
		Probes: o.probes, FirstTTL: o.firstTTL, MaxTTL: o.maxTTL, PMTU: o.pmtu, Timeout: o.timeout, Interval: o.interval, Iface: o.iface}
	if o.flowSet {
		c.FlowLabel = craft.Set(uint32(o.flowLabel.v))
	}
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
		v6 := rep.Dst.Is6()
		for i := range rep.Hops {
			if o.asJSON {
				_ = writeJSON(out, traceHopJSON(&rep.Hops[i], v6))
			} else {
				fmt.Fprint(out, traceHopText(&rep.Hops[i], v6))
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
