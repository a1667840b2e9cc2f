package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/rawcraft/rawcraft/probe"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/spf13/cobra"
)

type probeOpts struct {
	ports     string
	timeout   time.Duration
	retries   numValue
	interval  time.Duration
	rlBudget  time.Duration
	via       string
	iface     string
	asJSON    bool
	pcapFile  string
	verbose   bool
	open      bool
	quiet     bool
	stateless bool
	rate      string
	owned     bool
	dst       *targetValue
	shard     string
	seed      uint64
}

func newProbeCmd() *cobra.Command {
	o := &probeOpts{retries: numValue{v: 1, bits: 8, rule: "retries are 0 to 10"}}
	cmd := &cobra.Command{
		Use:   "probe tcp|udp|icmp --dst ADDR [--ports LIST] [--timeout D] [--retries N] [--json] [--pcap FILE]",
		Short: "send probes, catch the replies ordinary sockets never see, and say what they mean",
		Long: `probe sends one packet per port (or one echo request), listens on the same
interface with a BPF filter in the kernel, pairs every reply with the probe
that caused it, times it from kernel timestamps and classifies the port as
nmap does. TCP: SYN-ACK open, RST closed, ICMP unreachable or nothing
filtered. UDP: a UDP reply open, ICMP port unreachable closed, other ICMP
errors filtered, nothing open|filtered. ICMP: echo reply up. IPv6 targets
get the same probes over IPv6 (icmp is ICMPv6; a closed UDP port answers
ICMPv6 type 1 code 4), and a list may mix both families: the flags shape
the first target's family, and each other target gets the same probe in
its own (--ttl and --tos become the hop limit and traffic class; --df and
--id, which IPv6 has not, are left out). A router's Packet Too Big reads
filtered: the probe never reached the port (nmap, which ignores it, says
open|filtered).

Above 25 ports a host's text lists, as nmap does, its open ports and the
states few ports share, then counts each state held by more than 25 in one
line: "Not shown: 998 closed tcp ports on 198.18.1.1 (reset)". --open lists
only the open (and possibly open) ports, -v every port; --json always has
every port.

Any packet flag of build and send shapes the probe (--size, --df, --ttl,
--frag, --tcp-opt…). --dst takes addresses, host names (resolved once,
shown on stderr) and CIDR blocks, comma-separated; hosts are probed one after
the other. 127.0.0.1 and this host's own addresses work, through lo.

Outside rawcraft's lab the rails apply: probes go at 100 a second unless
--rate or --interval says otherwise; --rate max, more than 1024 ports, more
than 256 hosts, more than 16384 probes and broadcast or multicast
destinations need --i-own-the-network, and each is announced on stderr.`,
		Example: `  # the article's question, on this machine: is the server on 8080 running?
  sudo rawcraft probe tcp --dst 127.0.0.1 --ports 8080
  # the laptop next to you on the switch, and a small block of a class network
  sudo rawcraft probe tcp --dst 192.168.1.20 --ports 22,80,443
  sudo rawcraft probe icmp --dst 192.168.1.0/28
  # in the lab
  sudo rawcraft lab up
  sudo rawcraft lab exec hc -- rawcraft probe tcp --dst 198.18.1.1 --ports 9999
  sudo rawcraft lab exec hc -- rawcraft probe udp --dst 198.18.1.1 --ports 9999
  # a range, as JSON lines, with probes and replies in one pcap
  sudo rawcraft lab exec hc -- rawcraft probe tcp --dst 198.18.1.1 --ports 9990-9999 --json --pcap probe.pcap
  # ping, by hand
  sudo rawcraft lab exec hc -- rawcraft probe icmp --dst 198.18.1.1
  # the same server over IPv6, and both families in one run
  sudo rawcraft lab exec hc -- rawcraft probe udp --dst 2001:2:0:1::1 --ports 9998,9999
  sudo rawcraft lab exec hc -- rawcraft probe tcp --dst 198.18.1.1,2001:2:0:1::1 --ports 9999`,
		Args: argsRule(1, 1, "the protocol to probe with: tcp, udp or icmp"),
	}
	pf := newPacketFlags(cmd.Flags())
	pf.allowIPv6()
	fs := cmd.Flags()
	o.dst = takeDst(fs, pf, true)
	ownFlag(fs, &o.owned)
	fs.StringVar(&o.rate, "rate", "", "probes per second, instead of --interval; max: as fast as possible (default outside the lab: 100)")
	fs.StringVar(&o.ports, "ports", "", "ports to probe: 9999, 22,80 or 9990-9999 (default: --dport); port 0 is probed when you name it, as nmap does (0, 0-1023)")
	durationVar(fs, &o.timeout, "timeout", time.Second, "wait this long for replies after the last probe of a round")
	fs.Var(&o.retries, "retries", "send an unanswered probe again this many times (0 to 10)")
	durationVar(fs, &o.interval, "interval", 0, "pause between probes")
	durationVar(fs, &o.rlBudget, "rate-limit-budget", 30*time.Second, "UDP: how long to probe silent ports again below the host's ICMP rate limit (at most 5m)")
	fs.StringVar(&o.via, "via", "packet", "packet (AF_PACKET) or ip (raw IP socket)")
	fs.Var(ifaceValue{&o.iface}, "iface", "outgoing interface, instead of the routing table's")
	fs.BoolVar(&o.asJSON, "json", false, "one JSON object per probe")
	fs.StringVar(&o.pcapFile, "pcap", "", "write probes and replies, in time order, to a pcap file")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "show every probe and reply as it is captured, and every port in the text output")
	fs.BoolVar(&o.open, "open", false, "list only the open (and possibly open) ports; count the rest")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no running count on the terminal while the probes go")
	fs.BoolVar(&o.stateless, "stateless", false, "TCP: a stateless scan, the probe's identity hashed into its source port and sequence number (automatic above 1024 ports)")
	fs.StringVar(&o.shard, "shard", "", "TCP SYN scan: send part I of N (0/4 … 3/4); N processes with the same --dst, --ports and --seed cover every host and port once")
	fs.Uint64Var(&o.seed, "seed", 0, "the scan's order, shared by its shards (default: a hash of --dst and --ports)")
	cmd.MarkFlagsMutuallyExclusive("interval", "rate")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return runProbe(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], pf, o)
	}
	return cmd
}

// parsePorts reads --ports with probe.ParsePorts.
func parsePorts(s string) ([]uint16, error) {
	ports, err := probe.ParsePorts(s)
	if err != nil {
		return nil, usagef("--ports %q: %v", s, err)
	}
	return ports, nil
}

// probeConfig turns the flags into the engine's plain values.
func probeConfig(proto string, pf *packetFlags, o *probeOpts) (probe.Config, error) {
	var cfg probe.Config
	var ok bool
	if cfg.Proto, ok = protoNumbers[strings.ToLower(proto)]; !ok {
		return cfg, usagef("probe %q: tcp, udp or icmp", proto)
	}
	via, err := rawsock.ParseVia(o.via)
	if err != nil {
		return cfg, usagef("--via %q: packet or ip", o.via)
	}
	if o.retries.v > probe.MaxRetries {
		return cfg, usagef("--retries %d: 0 to %d", o.retries.v, probe.MaxRetries)
	}
	if o.timeout <= 0 || o.timeout > probe.MaxTimeout {
		return cfg, usagef("--timeout %v: more than 0, at most 1m", o.timeout)
	}
	if o.rlBudget <= 0 || o.rlBudget > probe.MaxRateLimitBudget {
		return cfg, usagef("--rate-limit-budget %v: more than 0, at most 5m", o.rlBudget)
	}
	if o.interval < 0 || o.interval > probe.MaxInterval {
		return cfg, usagef("--interval %v: 0 to 10s", o.interval)
	}
	ports := []uint16{uint16(pf.dport.v)}
	if pf.fs.Changed("ports") {
		if cfg.Proto == craft.ProtoICMP {
			return cfg, usagef("--ports: ICMP has no ports")
		}
		if ports, err = parsePorts(o.ports); err != nil {
			return cfg, err
		}
	}
	b, err := pf.build(proto)
	if err != nil {
		return cfg, err
	}
	fo, sched, fragmented, err := pf.fragPlan()
	if err != nil {
		return cfg, err
	}
	if fragmented {
		cfg.Frag = &probe.Fragmenting{Options: fo, Schedule: sched}
	}
	cfg.Packet = b.packet
	cfg.Packet.Ethernet = nil
	if !pf.set("src") && cfg.Packet.IPv4 != nil {
		cfg.Packet.IPv4.Src = netip.Addr{}
	}
	if !pf.set("src") && cfg.Packet.IPv6 != nil {
		cfg.Packet.IPv6.Src = netip.Addr{}
	}
	if pf.set("src-mac") {
		cfg.SrcMAC = &pf.srcMAC.m
	}
	if pf.set("dst-mac") {
		cfg.DstMAC = &pf.dstMAC.m
	}
	for flag, f := range map[string]probe.Fields{"sport": probe.FixSrcPort, "seq": probe.FixSeq, "icmp-id": probe.FixICMPID, "id": probe.FixIPID} {
		if pf.set(flag) {
			cfg.Fixed |= f
		}
	}
	if !pf.set("dst") {
		return cfg, usagef("probe needs --dst: addresses, host names or CIDR blocks, such as 198.18.7.1, localhost, 2001:2:0:1::1 or 198.18.7.0/28")
	}
	iface, err := o.dst.iface(o.iface)
	if err != nil {
		return cfg, err
	}
	cfg.Dst, cfg.Ports, cfg.Via, cfg.Iface = pf.dst.a, ports, via, iface
	if len(o.dst.targets) > 1 || !o.dst.targets[0].IsSingleIP() {
		cfg.Targets = o.dst.targets
	}
	cfg.Timeout, cfg.Retries, cfg.Interval, cfg.Stateless = o.timeout, int(o.retries.v), o.interval, o.stateless
	cfg.RateLimitBudget = o.rlBudget
	if o.stateless && cfg.Proto != craft.ProtoTCP {
		return cfg, usagef("--stateless: a stateless scan sends TCP SYNs; probe %s is stateful", proto)
	}
	if pf.fs.Changed("shard") {
		if cfg.Shard, err = probe.ParseShard(o.shard); err != nil {
			return cfg, usagef("--shard: %v", err)
		}
	}
	cfg.Shard.Seed = o.seed
	if pf.fs.Changed("rate") && o.rate != "max" {
		r, err := craft.ParseNumber(o.rate, 32)
		if err != nil || r < 1 || r > maxRate {
			return cfg, usagef("--rate %q: probes per second, 1 to %d, or max", o.rate, maxRate)
		}
		cfg.Interval = time.Second / time.Duration(r)
	}
	return cfg, nil
}

func runProbe(out, errw io.Writer, proto string, pf *packetFlags, o *probeOpts) error {
	cfg, err := probeConfig(proto, pf, o)
	if err != nil {
		return err
	}
	// The rails come after every value: they name the run, not one flag.
	n := len(cfg.Ports)
	if cfg.Proto == craft.ProtoICMP {
		n = 1
	}
	v, err := checkRails(errw, rails(o.owned), probe.Ask{Targets: o.dst.targets, Ports: n,
		RateMax: o.rate == "max", Interval: cfg.Interval, Paced: pf.fs.Changed("interval") || pf.fs.Changed("rate")})
	if err != nil {
		return err
	}
	cfg.Interval = v.Interval
	o.dst.showResolved(errw)
	var pw *pcap.Writer
	if o.pcapFile != "" {
		w, closeFile, err := createPcap(o.pcapFile, pcap.LinkEthernet)
		if err != nil {
			return err
		}
		defer closeFile()
		pw = w
	}
	if pw != nil || o.verbose {
		cfg.OnPacket = func(k listen.Kind, i int, p *listen.Packet) {
			if pw != nil {
				_ = pw.Write(p.Meta.Time, p.Frame)
			}
			if o.verbose {
				dir := "←"
				if p.Meta.Outgoing {
					dir = "→"
				}
				fmt.Fprintf(errw, "  %s %s %s\n", p.Meta.Time.Format("15:04:05.000000"), dir, p.Decoded.Summary())
			}
		}
	}
	warned, asked := false, "port"
	if cfg.Proto == craft.ProtoICMP {
		asked = "host"
	}
	cfg.OnMalformed = func(d craft.Drop) {
		if !warned {
			warned = true
			fmt.Fprintf(errw, "warning: the probe is malformed: %s — its silence will not be about the %s\n", d, asked)
		}
	}
	// -v writes every packet to stderr as it comes: no count under it.
	count := startCount(errw, o.quiet || o.verbose, "probe "+proto, n*int(probe.Hosts(o.dst.targets)))
	if count != nil {
		cfg.OnProgress = count.add
	}
	var rep *probe.Report
	streamed := false
	if o.asJSON && cfg.Scans() {
		// A scan's lines as they come: nothing is kept per host.
		rep, err = probe.Scan(cfg, func(r *probe.Result) { _ = writeJSON(out, r) })
		streamed = !errors.Is(err, probe.ErrOnLink)
	}
	if !streamed {
		rep, err = probe.Run(cfg)
	}
	count.done()
	if errors.Is(err, probe.ErrConfig) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	switch {
	case o.asJSON && streamed:
	case o.asJSON:
		for _, r := range rep.Results {
			_ = writeJSON(out, r)
		}
	case o.verbose:
		writeResults(out, rep.Results, viewAll)
	case o.open:
		writeResults(out, rep.Results, viewOpen)
	default:
		writeResults(out, rep.Results, viewSummary)
	}
	fmt.Fprintln(errw, rep.Summary())
	for _, n := range rep.Notes {
		fmt.Fprintln(errw, "note: "+n)
	}
	return nil
}
