package main

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/spf13/cobra"
)

type probeOpts struct {
	ports     string
	timeout   time.Duration
	retries   numValue
	interval  time.Duration
	via       string
	iface     string
	asJSON    bool
	pcapFile  string
	verbose   bool
	quiet     bool // no per-probe lines, no summary (demo prints its own)
	stateless bool
	keep      func(k listen.Kind, i int, p *listen.Packet) // sees every packet that belongs to a probe
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
errors filtered, nothing open|filtered. ICMP: echo reply up.

Any packet flag of build and send shapes the probe (--size, --df, --ttl,
--frag, --tcp-opt…). Only destinations in 198.18.0.0/15 are accepted.`,
		Example: `  sudo rawcraft lab up
  # the article's question: what happens when the server is not running?
  sudo rawcraft lab exec hc -- rawcraft probe tcp --dst 198.18.1.1 --ports 9999
  sudo rawcraft lab exec hc -- rawcraft probe udp --dst 198.18.1.1 --ports 9999
  # a range, as JSON lines, with probes and replies in one pcap
  sudo rawcraft lab exec hc -- rawcraft probe tcp --dst 198.18.1.1 --ports 9990-9999 --json --pcap probe.pcap
  # ping, by hand
  sudo rawcraft lab exec hc -- rawcraft probe icmp --dst 198.18.1.1`,
		Args: cobra.ExactArgs(1),
	}
	pf := newPacketFlags(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&o.ports, "ports", "", "ports to probe: 9999, 22,80 or 9990-9999 (default: --dport)")
	fs.DurationVar(&o.timeout, "timeout", time.Second, "wait this long for replies after the last probe of a round")
	fs.Var(&o.retries, "retries", "send an unanswered probe again this many times (0 to 10)")
	fs.DurationVar(&o.interval, "interval", 0, "pause between probes")
	fs.StringVar(&o.via, "via", "packet", "packet (AF_PACKET) or ip (raw IPv4 socket)")
	fs.StringVar(&o.iface, "iface", "", "outgoing interface, instead of the routing table's")
	fs.BoolVar(&o.asJSON, "json", false, "one JSON object per probe")
	fs.StringVar(&o.pcapFile, "pcap", "", "write probes and replies, in time order, to a pcap file")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "show every probe and reply as it is captured")
	fs.BoolVar(&o.stateless, "stateless", false, "TCP: a stateless scan, the probe's identity hashed into its source port and sequence number (automatic above 1024 ports)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		_, _, err := runProbe(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], pf, o)
		return err
	}
	return cmd
}

// ParsePorts reads "9999", "22,80" or "9990-9999".
func parsePorts(s string) ([]uint16, error) {
	var out []uint16
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 != nil || err2 != nil || b < a {
			return nil, usagef("--ports %q: %q is not a port or range (0 to 65535, like 22 or 9990-9999)", s, item)
		}
		for p := a; p <= b; p++ {
			out = append(out, uint16(p))
		}
	}
	if len(out) > 65536 {
		return nil, usagef("--ports %q: at most 65536 ports", s)
	}
	return out, nil
}

func random32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

type jsonProbe struct {
	Dst       string  `json:"dst"`
	Proto     string  `json:"proto"`
	Port      uint16  `json:"port"`
	State     string  `json:"state"`
	Reason    string  `json:"reason"`
	RTTms     float64 `json:"rtt_ms"`
	From      string  `json:"from,omitempty"`
	Code      *uint8  `json:"code,omitempty"`
	MTU       uint16  `json:"mtu,omitempty"`
	Attempts  int     `json:"attempts"`
	Sport     uint16  `json:"sport,omitempty"`
	KernelRST bool    `json:"kernel_rst,omitempty"`
}

// runProbe is the probe command; demo calls it too.
func runProbe(out, errw io.Writer, proto string, pf *packetFlags, o *probeOpts) ([]listen.Result, listen.Stats, error) {
	var st listen.Stats
	proto = strings.ToLower(proto)
	var ipProto uint8
	switch proto {
	case "tcp":
		ipProto = craft.ProtoTCP
	case "udp":
		ipProto = craft.ProtoUDP
	case "icmp":
		ipProto = craft.ProtoICMP
	default:
		return nil, st, usagef("probe %q: tcp, udp or icmp", proto)
	}
	if err := checkDst(pf, "probe"); err != nil {
		return nil, st, err
	}
	if o.via != "packet" && o.via != "ip" {
		return nil, st, usagef("--via %q: packet or ip", o.via)
	}
	if o.retries.v > 10 {
		return nil, st, usagef("--retries %d: 0 to 10", o.retries.v)
	}
	if o.timeout <= 0 || o.timeout > time.Minute {
		return nil, st, usagef("--timeout %v: more than 0, at most 1m", o.timeout)
	}
	if o.interval < 0 || o.interval > 10*time.Second {
		return nil, st, usagef("--interval %v: 0 to 10s", o.interval)
	}
	ports := []uint16{uint16(pf.dport.v)}
	if o.ports != "" {
		if proto == "icmp" {
			return nil, st, usagef("--ports: ICMP has no ports")
		}
		var err error
		if ports, err = parsePorts(o.ports); err != nil {
			return nil, st, err
		}
	}
	if proto == "icmp" {
		ports = []uint16{0}
	}
	if _, err := pf.build(proto); err != nil {
		return nil, st, err
	}
	var pfile *os.File
	if o.pcapFile != "" {
		f, err := os.Create(o.pcapFile)
		if err != nil {
			return nil, st, usagef("--pcap %q: %v", o.pcapFile, errReason(err))
		}
		pfile = f
		defer pfile.Close()
	}
	if err := rawsock.CheckPrivilege(); err != nil {
		return nil, st, err
	}
	tx, err := openSender(pf, o.via, o.iface, false, errw)
	if err != nil {
		return nil, st, err
	}
	defer tx.close()
	ifi := tx.route.Iface
	if ifi == nil {
		return nil, st, fmt.Errorf("no interface toward %v to listen on", pf.dst.a)
	}
	filter, err := listen.HostFilter(pf.src.a)
	if err != nil {
		return nil, st, err
	}
	// Room for the burst a fast sender provokes: two frames (the probe's
	// own copy and the reply) per port, each about 1 KiB of kernel memory
	// queued on a socket, up to 64 MiB; a stateless scan captures through
	// a ring instead, where a small frame takes about 200 bytes.
	scan := proto == "tcp" && (o.stateless || len(ports) > 1024) && o.via == "packet" && !fragmentedFlags(pf)
	lc := &listen.Config{Filter: filter, ReadBuffer: min(64<<20, max(4<<20, 2048*len(ports)))}
	if scan {
		lc.Ring, lc.ReadBuffer = true, min(64<<20, max(4<<20, 512*len(ports)))
	}
	rx, err := listen.Listen(ifi, lc)
	if err != nil {
		return nil, st, err
	}
	defer rx.Close()

	if scan {
		return runScan(out, errw, pf, o, ports, tx, rx)
	}
	// Identities: a random source port and sequence number per run, so that
	// two runs side by side never take each other's replies.
	r := random32()
	if !pf.set("sport") {
		pf.sport.v = uint64(32768 + r%28000)
	}
	if !pf.set("seq") {
		pf.seq.v = uint64(random32())
	}
	if !pf.set("icmp-id") {
		pf.icmpID.v = uint64(r >> 16)
	}
	baseID := uint16(random32())
	if pf.set("id") {
		baseID = uint16(pf.id.v)
	}
	m := listen.NewMatcher(len(ports))
	fragmented := pf.set("frag") || pf.set("mtu")
	for i, port := range ports {
		p := listen.Probe{Proto: ipProto, Src: pf.src.a, Dst: pf.dst.a, SrcPort: uint16(pf.sport.v), DstPort: port,
			Seq: uint32(pf.seq.v), ICMPID: uint16(pf.icmpID.v), ICMPSeq: uint16(pf.icmpSeq.v) + uint16(i), Frag: fragmented}
		if proto == "icmp" {
			p.SrcPort, p.DstPort = 0, 0
		}
		if _, err := m.Add(p); err != nil {
			return nil, st, err
		}
	}
	var pw *pcap.Writer
	if pfile != nil {
		if pw, err = pcap.NewWriter(pfile, pcap.LinkEthernet); err != nil {
			return nil, st, err
		}
	}
	tries := int(o.retries.v) + 1
	build := func(i, attempt int) ([][]byte, uint16, error) {
		p := m.Probe(i)
		pf.dport.v = uint64(p.DstPort)
		pf.icmpSeq.v = uint64(p.ICMPSeq)
		id := baseID + uint16(i*tries+attempt)
		pf.id.v = uint64(id)
		b, err := pf.build(proto)
		if err != nil {
			return nil, 0, err
		}
		frames := make([][]byte, len(b.frames))
		for j, f := range b.frames {
			frames[j] = f.bytes
			if o.via == "ip" && b.linkEth {
				frames[j] = f.bytes[craft.EthernetLen:]
			}
		}
		return frames, id, nil
	}
	onPacket := func(k listen.Kind, i int, p *listen.Packet) {
		if o.keep != nil {
			o.keep(k, i, p)
		}
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
	results, st, err := listen.Run(listen.ProberConfig{
		Matcher: m, Rx: rx, Build: build, Timeout: o.timeout, Retries: int(o.retries.v), Interval: o.interval,
		Send:     func(b []byte) error { _, err := tx.send(b); return err },
		OnPacket: onPacket,
	})
	if err != nil {
		return results, st, err
	}
	if o.quiet {
		return results, st, nil
	}
	for _, res := range results {
		if o.asJSON {
			_ = writeJSON(out, probeJSON(res, proto))
		} else {
			fmt.Fprintln(out, describe(res, proto))
		}
	}
	summarize(errw, results, st)
	if proto == "udp" && len(ports) > 1 {
		silent := 0
		for _, r := range results {
			if r.Reply.Reason == listen.NoResponse {
				silent++
			}
		}
		if silent > 0 {
			fmt.Fprintf(errw, "note: a host sends ICMP errors at a limited rate — Linux by default about one port unreachable per second to each host (net.ipv4.icmp_ratelimit, icmp_msgs_per_sec) — so a closed UDP port can look open|filtered. The lab lifts the limit inside its namespaces; elsewhere pace the probes (--interval 1s) and raise --retries.\n")
		}
	}
	return results, st, nil
}

func probeJSON(r listen.Result, proto string) jsonProbe {
	j := jsonProbe{Dst: r.Probe.Dst.String(), Proto: proto, Port: r.Probe.DstPort, State: string(r.State),
		Reason: r.Reply.Reason.String(), RTTms: float64(r.RTT.Nanoseconds()) / 1e6, Attempts: r.Attempts, Sport: r.Probe.SrcPort, KernelRST: r.KernelRST}
	if r.Reply.Reason != listen.NoResponse {
		j.From = r.Reply.From.String()
	}
	switch r.Reply.Reason {
	case listen.ICMPUnreachable, listen.ICMPFragNeeded, listen.ICMPPortUnreachable, listen.ICMPTTLExceeded, listen.ICMPReassemblyExceeded:
		c := r.Reply.Code
		j.Code = &c
	}
	j.MTU = r.Reply.MTU
	return j
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Nanoseconds())/1e6, 'f', 3, 64) + " ms"
}

// describe says in one line what the reply means, for a student.
func describe(r listen.Result, proto string) string {
	p := r.Probe
	target := fmt.Sprintf("%v:%d/%s", p.Dst, p.DstPort, proto)
	if proto == "icmp" {
		target = fmt.Sprintf("%v/icmp", p.Dst)
	}
	head := fmt.Sprintf("%-22s %-13s %-22s", target, r.State, reasonText(r))
	from, in := r.Reply.From, ms(r.RTT)
	var why string
	switch r.Reply.Reason {
	case listen.SynAck:
		why = fmt.Sprintf("SYN/ACK from %v:%d in %s — a program listens there: the port is open", from, p.DstPort, in)
		if r.KernelRST {
			why += "; then this host's kernel sent RST, because it has no socket for a connection rawcraft opened by hand"
		}
	case listen.Rst:
		why = fmt.Sprintf("RST/ACK from %v:%d in %s — nothing listens there; the kernel refused the connection (a socket's connect() gets ECONNREFUSED)", from, p.DstPort, in)
	case listen.ICMPPortUnreachable:
		why = fmt.Sprintf("ICMP port unreachable from %v in %s, quoting our datagram (IP ID 0x%04x) — nothing listens on UDP port %d; an unconnected UDP socket is never told", from, in, r.Reply.QuotedID, p.DstPort)
	case listen.ICMPUnreachable:
		why = fmt.Sprintf("ICMP destination unreachable, code %d (%s), from %v in %s — something on the path refuses it", r.Reply.Code, craft.ICMPCodeName(craft.ICMPUnreachable, r.Reply.Code), from, in)
	case listen.ICMPFragNeeded:
		why = fmt.Sprintf("ICMP fragmentation needed from %v in %s: next-hop MTU %d — the datagram has DF set and is too big for the next link (RFC 1191)", from, in, r.Reply.MTU)
	case listen.ICMPTTLExceeded:
		why = fmt.Sprintf("ICMP time exceeded in transit from router %v in %s — the TTL ran out there", from, in)
	case listen.ICMPReassemblyExceeded:
		why = fmt.Sprintf("ICMP fragment reassembly time exceeded from %v in %s — it received fragment 1 but not all the others, and gave up", from, in)
	case listen.UDPReply:
		why = fmt.Sprintf("UDP reply from %v:%d in %s — a program answered: the port is open", from, p.DstPort, in)
	case listen.EchoReply:
		why = fmt.Sprintf("echo reply from %v in %s — the host is up", from, in)
	default:
		why = fmt.Sprintf("no reply to %d probe%s", r.Attempts, plural(r.Attempts))
		switch proto {
		case "tcp":
			why += " — filtered: a closed port would have answered RST, so something dropped the SYN or its answer"
		case "udp":
			why += " — open or filtered: a closed port would have answered ICMP port unreachable, an open one may stay silent"
			if p.Frag {
				why += "; a datagram that was never reassembled reaches no port at all"
			}
		default:
			why += " — the host is down, or something drops ICMP"
		}
	}
	return head + " " + why
}

func reasonText(r listen.Result) string {
	s := r.Reply.Reason.String()
	switch r.Reply.Reason {
	case listen.ICMPUnreachable:
		s += fmt.Sprintf(" code %d", r.Reply.Code)
	case listen.ICMPFragNeeded:
		s += fmt.Sprintf(" mtu %d", r.Reply.MTU)
	case listen.ICMPTTLExceeded:
		s += " from " + r.Reply.From.String()
	}
	return s
}

func summarize(w io.Writer, rs []listen.Result, st listen.Stats) {
	counts := map[listen.State]int{}
	var rtts []time.Duration
	lost := 0
	for _, r := range rs {
		counts[r.State]++
		if r.Reply.Reason == listen.NoResponse {
			lost++
		} else {
			rtts = append(rtts, r.RTT)
		}
	}
	var parts []string
	for _, s := range []listen.State{listen.Open, listen.Closed, listen.Filtered, listen.OpenFiltered, listen.Up, listen.Unreachable} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	fmt.Fprintf(w, "%d probe%s: %s", len(rs), plural(len(rs)), strings.Join(parts, ", "))
	if len(rtts) > 0 {
		sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
		var sum time.Duration
		for _, d := range rtts {
			sum += d
		}
		fmt.Fprintf(w, "; rtt min/avg/max %s/%s/%s", ms(rtts[0]), ms(sum/time.Duration(len(rtts))), ms(rtts[len(rtts)-1]))
	}
	fmt.Fprintf(w, "; %d unanswered (%.0f%% loss); the kernel captured %d frames and dropped %d\n", lost, 100*float64(lost)/float64(max(len(rs), 1)), st.Captured, st.Dropped)
}

func fragmentedFlags(pf *packetFlags) bool { return pf.set("frag") || pf.set("mtu") }

// runScan is probe's stateless path for many TCP ports.
func runScan(out, errw io.Writer, pf *packetFlags, o *probeOpts, ports []uint16, tx *sender, rx *listen.Listener) ([]listen.Result, listen.Stats, error) {
	b, err := pf.build("tcp")
	if err != nil {
		return nil, listen.Stats{}, err
	}
	if len(b.frames) != 1 || !b.linkEth || len(b.packet.IPv4.Options) > 0 {
		return nil, listen.Stats{}, usagef("a stateless scan sends plain SYNs: no IP options, fragments or via ip")
	}
	// A Sender of its own: out of Go's poller, it sends faster than the
	// probe's Conn (see rawsock.Sender).
	fast, err := rawsock.NewSender(tx.route.Iface, nil)
	if err != nil {
		return nil, listen.Stats{}, err
	}
	defer fast.Close()
	start := time.Now()
	res, err := listen.Scan(listen.ScanConfig{Template: b.frames[0].bytes, Dst: pf.dst.a, Src: pf.src.a, Ports: ports,
		Cookies: listen.NewCookies(), Tx: fast, Rx: rx, Interval: o.interval, Timeout: o.timeout, Retries: int(o.retries.v)})
	if err != nil {
		return nil, listen.Stats{}, err
	}
	el := time.Since(start)
	counts := map[listen.State]int{}
	results := make([]listen.Result, 0, len(ports))
	for _, p := range ports {
		r := listen.Result{Probe: listen.Probe{Proto: craft.ProtoTCP, Dst: pf.dst.a, DstPort: p}, Reply: listen.Reply{Reason: res.Reason[p], From: pf.dst.a}, RTT: res.RTT[p], Attempts: 1}
		r.State = listen.Classify(craft.ProtoTCP, r.Reply.Reason)
		results = append(results, r)
		counts[r.State]++
		switch {
		case o.quiet:
		case o.asJSON:
			_ = writeJSON(out, probeJSON(r, "tcp"))
		case r.State != listen.Closed:
			fmt.Fprintln(out, describe(r, "tcp"))
		}
	}
	if !o.quiet {
		if !o.asJSON && counts[listen.Closed] > 0 {
			fmt.Fprintf(out, "not shown: %d closed ports (each answered RST)\n", counts[listen.Closed])
		}
		fmt.Fprintf(errw, "stateless scan of %d ports in %v (%.0f probes/s): %d open, %d closed, %d filtered; %d stray replies; the kernel captured %d frames and dropped %d\n",
			len(ports), el.Round(time.Millisecond), float64(len(ports))/el.Seconds(), counts[listen.Open], counts[listen.Closed], counts[listen.Filtered], res.Stray, res.Stats.Captured, res.Stats.Dropped)
	}
	return results, res.Stats, nil
}
