package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/rawcraft/rawcraft/probe"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/spf13/cobra"
)

// maxReplay bounds the packets one replay holds and sends.
const maxReplay = 1_000_000

type replayOpts struct {
	timing       string
	rate         string
	count        numValue
	duration     time.Duration
	wait         time.Duration
	src, dst     addrValue
	sport, dport numValue
	srcMAC       macValue
	dstMAC       macValue
	keepSums     bool
	iface        string
	link         string
	owned        bool
	quiet        bool
	from         string
}

func newReplayCmd() *cobra.Command {
	o := &replayOpts{count: numValue{bits: 32, rule: fmt.Sprintf("the count is 1 to %d", maxReplay)},
		sport: port("a port is 0 to 65535"), dport: port("a port is 0 to 65535")}
	cmd := &cobra.Command{
		Use:   "replay FILE|- [--timing original | --rate PPS|max] [--src A] [--dst A] [--sport P] [--dport P] [--src-mac M] [--dst-mac M] [--keep-checksums]",
		Short: "send a capture's packets (pcap, pcapng, hex dump) into the lab, and show what came back",
		Long: `replay reads a capture — pcap or pcapng (gzip too), or a hex dump as read
takes it — and sends its IPv4 packets out of one interface through
AF_PACKET, byte for byte: Ethernet frames as captured, raw-IP packets behind
the route's Ethernet header. Other link types are refused; packets that are
not IPv4, or that the capture cut short (snaplen), are skipped and counted.

By default only one side of the conversation is replayed: the packets from
the first packet's source (--from ADDR names another, --from any takes all).
The other side's packets are the answers the lab's hosts will make again;
they are skipped and counted.

Timing: --timing original keeps the capture's gaps (the default in the lab);
--rate PPS sends that many packets a second; --rate max as fast as it can.
Outside rawcraft's lab the rails apply, as for send: without a rate the
pace is 100 packets a second, and --rate max, a capture whose packets share
one timestamp, more than 16384 packets or a broadcast destination need
--i-own-the-network. --count and --duration bound the run.

Rewrites apply to every packet: --src, --dst, --sport, --dport, --src-mac,
--dst-mac. The IPv4 header checksum and the TCP/UDP checksum are updated
incrementally (RFC 1624), so a packet whose checksums were right stays
right, and one that was wrong stays wrong by the same amount;
--keep-checksums leaves them exactly as captured.

While replaying, rawcraft listens on the interface and matches the replies
to the replayed packets it can identify, as probe does: a TCP SYN's SYN-ACK
or RST, a UDP datagram's reply or ICMP error, an echo request's reply.
Other packets that came back between the capture's hosts are listed too.`,
		Example: `  # record a probe run, then replay it: the same RSTs and port unreachables come back
  sudo rawcraft lab exec hc -- rawcraft probe tcp --dst 198.18.1.1 --ports 9998-9999 --pcap run.pcap
  sudo rawcraft lab exec hc -- rawcraft replay run.pcap
  # a capture from elsewhere, aimed at the lab's server, from the client's address
  sudo rawcraft lab exec hc -- rawcraft replay capture.pcapng --src 198.18.1.3 --dst 198.18.1.1 --src-mac route --dst-mac route --rate 10
  # hex from a bug report (an IPv4 datagram: an echo request from Hc to Hs)
  echo 4500001c000100004001ecb7c6120103c61201010800f7ff00000000 | sudo rawcraft lab exec hc -- rawcraft replay - --link raw`,
		Args: argsRule(1, 1, "FILE, the capture to replay (- reads standard input)"),
	}
	fs := cmd.Flags()
	fs.StringVar(&o.timing, "timing", "", "original: keep the capture's gaps between packets")
	fs.StringVar(&o.rate, "rate", "", fmt.Sprintf("packets per second (1 to %d), or max: as fast as possible", maxRate))
	fs.Var(&o.count, "count", fmt.Sprintf("replay at most this many IPv4 packets (default: all, up to %d)", maxReplay))
	durationVar(fs, &o.duration, "duration", time.Minute, "stop sending after this long (at most 1h)")
	durationVar(fs, &o.wait, "wait", time.Second, "after the last packet, listen this long for replies (at most 1m)")
	fs.Var(&o.src, "src", "rewrite every packet's IPv4 source address")
	fs.Var(&o.dst, "dst", "rewrite every packet's IPv4 destination address")
	fs.Var(&o.sport, "sport", "rewrite every TCP/UDP source port")
	fs.Var(&o.dport, "dport", "rewrite every TCP/UDP destination port")
	fs.Var(&o.srcMAC, "src-mac", "rewrite every frame's source MAC (route: this interface's)")
	fs.Var(&o.dstMAC, "dst-mac", "rewrite every frame's destination MAC (route: the next hop's)")
	fs.BoolVar(&o.keepSums, "keep-checksums", false, "rewrite without updating any checksum")
	fs.Var(ifaceValue{&o.iface}, "iface", "outgoing interface, instead of the routing table's")
	fs.StringVar(&o.link, "link", "", "a hex dump's link type: ether or raw (default: guessed)")
	fs.StringVar(&o.from, "from", "", "replay only the packets from this source address, as captured (default: the first packet's source); any: every packet")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no line per packet: only the replies and the summary")
	ownFlag(fs, &o.owned)
	cmd.MarkFlagsMutuallyExclusive("timing", "rate")
	// "route" is a MAC value here: the route's.
	for _, name := range []string{"src-mac", "dst-mac"} {
		f := fs.Lookup(name)
		f.Value = &routeMAC{macValue: f.Value.(*macValue)}
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return runReplay(cmd, args[0], o)
	}
	return cmd
}

// routeMAC is a MAC flag that also takes "route".
type routeMAC struct {
	*macValue
	route bool
}

func (m *routeMAC) Set(s string) error {
	if s == "route" {
		m.route = true
		return nil
	}
	return m.macValue.Set(s)
}

func (m *routeMAC) String() string {
	if m.route {
		return "route"
	}
	return m.macValue.String()
}

// replayPacket is one packet to replay: its frame, rewritten, and what
// matching its replies needs.
type replayPacket struct {
	n     int // its number in the capture, from 1
	at    time.Duration
	eth   bool // captured with an Ethernet header (else raw IP, framed at send time)
	frame []byte
	probe int // the matcher's index, or -1
	sent  time.Time
}

// replayLinkEth says whether link type t carries Ethernet (true) or raw IP
// (false); ok is false for any other link.
func replayLinkEth(t uint32) (eth, ok bool) {
	switch t {
	case pcap.LinkEthernet:
		return true, true
	case pcap.LinkRaw, pcap.LinkRawOld, pcap.LinkRawAlt, pcap.LinkIPv4:
		return false, true
	}
	return false, false
}

// loadReplay reads every packet of the capture before anything is sent: a
// damaged file or a link replay cannot send is bad input.
func loadReplay(name string, in io.Reader, o *replayOpts) (pkts []replayPacket, notIPv4, truncated, others int, format string, err error) {
	var from netip.Addr
	switch o.from {
	case "", "any":
	default:
		a, err := netip.ParseAddr(o.from)
		if err != nil || !a.Is4() {
			return nil, 0, 0, 0, "", usagef("--from %q: an IPv4 address, or any", o.from)
		}
		from = a
	}
	pf, closeFn, err := openCapture(name, in, o.link)
	if err != nil {
		return nil, 0, 0, 0, "", err
	}
	defer closeFn()
	limit := uint64(maxReplay)
	if o.count.v > 0 {
		limit = o.count.v
	}
	var first time.Time
	for n := 1; ; n++ {
		p, err := pf.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, 0, 0, "", usagef("%s: damaged after %d packet%s: %v", name, n-1, map[bool]string{true: "", false: "s"}[n == 2], err)
		}
		if pf.Format == pcap.FormatHex {
			p.LinkType = pf.LinkType
		}
		eth, ok := replayLinkEth(p.LinkType)
		if !ok {
			return nil, 0, 0, 0, "", usagef("%s: packet %d has %s: replay sends Ethernet and raw-IP captures only", name, n, pcap.LinkTypeWords(p.LinkType))
		}
		if p.Truncated() {
			truncated++
			continue
		}
		// Not IPv4 (ARP, IPv6), or no IPv4 header that decodes: skipped.
		t, err := craft.ParseTemplate(p.Data, eth)
		if err != nil || !t.Carries(craft.LayerIPv4) {
			notIPv4++
			continue
		}
		src := netip.AddrFrom4([4]byte(p.Data[t.IPOffset()+12 : t.IPOffset()+16]))
		if !from.IsValid() && o.from == "" {
			from = src
		}
		if from.IsValid() && src != from {
			others++
			continue
		}
		if uint64(len(pkts)) == limit {
			if o.count.v == 0 {
				return nil, 0, 0, 0, "", usagef("%s: more than %d IPv4 packets; replay the first with --count", name, maxReplay)
			}
			break
		}
		if len(pkts) == 0 {
			first = p.Time
		}
		at := p.Time.Sub(first)
		if at < 0 {
			at = 0 // a capture's clock stepping back: no gap
		}
		pkts = append(pkts, replayPacket{n: n, at: at, eth: eth, frame: append([]byte(nil), p.Data...), probe: -1})
	}
	format = string(pf.Format)
	if pf.Gzip {
		format += ", gzip"
	}
	return pkts, notIPv4, truncated, others, format, nil
}

func runReplay(cmd *cobra.Command, name string, o *replayOpts) error {
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	fs := cmd.Flags()
	// Everything is checked before anything is sent.
	if o.timing != "" && o.timing != "original" {
		return usagef("--timing %q: original (the capture's gaps); or give --rate", o.timing)
	}
	rateMax := o.rate == "max"
	var interval time.Duration
	if o.rate != "" && !rateMax {
		r, err := craft.ParseNumber(o.rate, 32)
		if err != nil || r < 1 || r > maxRate {
			return usagef("--rate %q: packets per second, 1 to %d, or max", o.rate, maxRate)
		}
		interval = time.Second / time.Duration(r)
	}
	if fs.Changed("count") && (o.count.v < 1 || o.count.v > maxReplay) {
		return usagef("--count %d: 1 to %d packets", o.count.v, maxReplay)
	}
	if o.duration <= 0 || o.duration > time.Hour {
		return usagef("--duration %v: more than 0, at most 1h", o.duration)
	}
	if o.wait < 0 || o.wait > time.Minute {
		return usagef("--wait %v: 0 to 1m", o.wait)
	}
	pkts, notIPv4, truncated, others, format, err := loadReplay(name, cmd.InOrStdin(), o)
	if err != nil {
		return err
	}
	if len(pkts) == 0 {
		return usagef("%s: no IPv4 packet to replay (%d not IPv4, %d truncated by the capture, %d from other sources)", name, notIPv4, truncated, others)
	}
	srcMAC := fs.Lookup("src-mac").Value.(*routeMAC)
	dstMAC := fs.Lookup("dst-mac").Value.(*routeMAC)
	// Rewrites of the addresses first: they decide where the packets go.
	// The templates patch the frames in place; raw-IP packets are patched
	// as datagrams and framed once the route is known.
	dsts := map[netip.Addr]bool{}
	var firstDst netip.Addr
	for i := range pkts {
		p := &pkts[i]
		t, err := craft.ParseTemplate(p.frame, p.eth)
		if err != nil {
			return usagef("%s: packet %d: %v", name, p.n, err)
		}
		if o.keepSums {
			t.Keep(craft.LayerIPv4)
			t.Keep(craft.LayerTCP | craft.LayerUDP | craft.LayerICMP)
		}
		if fs.Changed("src") {
			t.SetSrc(o.src.a)
		}
		if fs.Changed("dst") {
			t.SetDst(o.dst.a)
		}
		if fs.Changed("sport") {
			t.SetSrcPort(uint16(o.sport.v))
		}
		if fs.Changed("dport") {
			t.SetDstPort(uint16(o.dport.v))
		}
		ip := t.Bytes()[t.IPOffset():]
		dst := netip.AddrFrom4([4]byte(ip[16:20]))
		if !firstDst.IsValid() {
			firstDst = dst
		}
		dsts[dst] = true
	}
	targets := make([]netip.Prefix, 0, len(dsts))
	for d := range dsts {
		targets = append(targets, netip.PrefixFrom(d, 32))
	}
	// The rails: --rate max, or a capture whose packets share a timestamp
	// replayed in its own timing, is as fast as the machine can.
	original := o.timing == "original" || o.rate == "" && rails(o.owned).Lab
	ask := probe.Ask{Targets: targets, Count: (uint64(len(pkts)) + uint64(len(targets)) - 1) / uint64(len(targets)),
		RateMax: rateMax, Interval: interval, Paced: o.rate != "" && !rateMax}
	if original {
		minGap := time.Duration(-1)
		for i := 1; i < len(pkts); i++ {
			if g := pkts[i].at - pkts[i-1].at; minGap < 0 || g < minGap {
				minGap = g
			}
		}
		ask.Paced, ask.Interval, ask.RateMax = true, max(minGap, 0), minGap == 0
	}
	v, err := checkRails(errw, rails(o.owned), ask)
	if err != nil {
		return err
	}
	if !original {
		interval = v.Interval
	}
	if err := rawsock.CheckPrivilege(); err != nil {
		return err
	}
	tx, err := rawsock.Open(firstDst, rawsock.ViaPacket, &rawsock.OpenConfig{Iface: o.iface})
	if err != nil {
		return err
	}
	defer tx.Close()
	rt := tx.Route()
	// Frame the raw-IP packets, rewrite the MACs, and register what can be
	// matched.
	m := listen.NewMatcher(len(pkts))
	unmatchable := 0
	d := new(craft.Decoded)
	for i := range pkts {
		p := &pkts[i]
		if !p.eth {
			f := make([]byte, craft.EthernetLen, craft.EthernetLen+len(p.frame))
			copy(f[0:6], rt.DstMAC[:])
			copy(f[6:12], rt.SrcMAC[:])
			f[12], f[13] = 0x08, 0x00 // IPv4
			p.frame = append(f, p.frame...)
		}
		switch {
		case srcMAC.route:
			copy(p.frame[6:12], rt.SrcMAC[:])
		case fs.Changed("src-mac"):
			copy(p.frame[6:12], srcMAC.m[:])
		}
		switch {
		case dstMAC.route:
			copy(p.frame[0:6], rt.DstMAC[:])
		case fs.Changed("dst-mac"):
			copy(p.frame[0:6], dstMAC.m[:])
		}
		_ = d.DecodeFrame(p.frame)
		if pr, ok := probeOf(d); ok {
			idx, err := m.Add(pr)
			if err == nil {
				p.probe = idx
				m.SentID(idx, d.IPv4.ID)
				continue
			}
		}
		unmatchable++
	}
	rx, err := listen.Listen(rt.Iface, &listen.Config{ReadBuffer: min(64<<20, max(4<<20, 2048*len(pkts)))})
	if err != nil {
		return err
	}
	defer rx.Close()
	res := &replayRun{m: m, pkts: pkts, replies: make([]listen.Reply, m.Len()), kernelRST: make([]bool, m.Len()),
		hosts: map[netip.Addr]bool{}}
	for i := range pkts {
		_ = d.DecodeFrame(pkts[i].frame)
		res.hosts[d.IPv4.Src], res.hosts[d.IPv4.Dst] = true, true
	}
	how := "in the capture's timing"
	switch {
	case rateMax:
		how = "as fast as possible"
	case !original:
		how = fmt.Sprintf("at %.0f packets/s", float64(time.Second)/float64(max(interval, 1)))
	}
	fmt.Fprintf(out, "replaying %s of %s (%s) on %s, %s\n", craft.Units(len(pkts), "packet"), name, format, rt.Iface.Name, how)
	start := time.Now()
	sent, stopped := 0, false
	for i := range pkts {
		p := &pkts[i]
		due := start.Add(time.Duration(i) * interval)
		if original {
			due = start.Add(p.at)
		}
		if due.Sub(start) > o.duration {
			stopped = true
			break
		}
		if err := res.drain(rx, due); err != nil {
			return err
		}
		p.sent = time.Now()
		if _, err := tx.Send(p.frame); err != nil {
			return fmt.Errorf("packet %d: %w", p.n, err)
		}
		sent++
		if err := rx.Drain(res.handle); err != nil {
			return err
		}
	}
	end := time.Now()
	if err := res.drain(rx, time.Now().Add(o.wait)); err != nil {
		return err
	}
	res.report(out, start, sent, o.quiet)
	fmt.Fprintf(out, "sent %d of %d packets in %v", sent, len(pkts), end.Sub(start).Round(time.Microsecond))
	if notIPv4+truncated+others > 0 {
		fmt.Fprintf(out, " (skipped: %d not IPv4, %d cut short by the capture, %d from other sources)", notIPv4, truncated, others)
	}
	fmt.Fprintf(out, "; %d of %d matchable answered", res.answered, m.Len())
	if unmatchable > 0 {
		fmt.Fprintf(out, "; %d not matchable (no SYN, datagram or echo identity, or one already replayed)", unmatchable)
	}
	fmt.Fprintln(out)
	if stopped {
		fmt.Fprintf(out, "stopped after --duration %v: the capture is longer\n", o.duration)
	}
	return nil
}

// probeOf is the identity of a packet whose replies can be matched: a TCP
// SYN (without ACK), a UDP datagram (or its first fragment), an ICMP echo
// request.
func probeOf(d *craft.Decoded) (listen.Probe, bool) {
	pr := listen.Probe{Src: d.IPv4.Src, Dst: d.IPv4.Dst, Frag: d.IPv4.Flags&craft.FlagMF != 0}
	switch {
	case d.Layers&craft.LayerTCP != 0 && d.TCP.Flags&(craft.TCPSyn|craft.TCPAck|craft.TCPRst) == craft.TCPSyn:
		t := &d.TCP
		pr.Proto, pr.SrcPort, pr.DstPort, pr.Seq, pr.Flags, pr.Ack, pr.Len = craft.ProtoTCP, t.SrcPort, t.DstPort, t.Seq, t.Flags, t.Ack, len(d.Payload)
		pr.Scan = listen.ScanOf(t.Flags, false)
	case d.Layers&craft.LayerUDP != 0:
		pr.Proto, pr.SrcPort, pr.DstPort = craft.ProtoUDP, d.UDP.SrcPort, d.UDP.DstPort
	case d.Layers&craft.LayerICMP != 0 && d.ICMP.Type == 8:
		pr.Proto, pr.ICMPID, pr.ICMPSeq = craft.ProtoICMP, uint16(d.ICMP.Rest>>16), uint16(d.ICMP.Rest)
	default:
		return pr, false
	}
	return pr, true
}

// replayRun is what came back during a replay.
type replayRun struct {
	m         *listen.Matcher
	pkts      []replayPacket
	replies   []listen.Reply
	kernelRST []bool
	answered  int
	hosts     map[netip.Addr]bool // the capture's addresses, rewritten
	others    []string            // other packets between them that came back
	moreOther int
}

// maxOthers bounds the unmatched replies listed.
const maxOthers = 20

func (r *replayRun) handle(p *listen.Packet) {
	k, i, rep := r.m.Match(p)
	switch k {
	case listen.Answer:
		if r.replies[i].Reason == listen.NoResponse {
			r.replies[i] = rep
			r.answered++
		}
	case listen.KernelRST:
		r.kernelRST[i] = true
	case listen.Unrelated:
		d := &p.Decoded
		if p.Meta.Outgoing || d.Layers&craft.LayerIPv4 == 0 || !r.hosts[d.IPv4.Src] || !r.hosts[d.IPv4.Dst] {
			return
		}
		if len(r.others) < maxOthers {
			r.others = append(r.others, fmt.Sprintf("%s %s", p.Meta.Time.Format("15:04:05.000000"), d.Summary()))
		} else {
			r.moreOther++
		}
	}
}

// drain handles what arrives until deadline, ending early once every
// matchable packet is answered and the deadline is the final wait.
func (r *replayRun) drain(rx *listen.Listener, deadline time.Time) error {
	for time.Now().Before(deadline) {
		p, err := rx.Next(deadline)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil
		}
		if err != nil {
			return err
		}
		r.handle(p)
	}
	return nil
}

// report prints each replayed packet and what answered it, then the other
// packets that came back.
func (r *replayRun) report(w io.Writer, start time.Time, sent int, quiet bool) {
	d := new(craft.Decoded)
	for i := range r.pkts[:sent] {
		p := &r.pkts[i]
		answer := ""
		if p.probe >= 0 {
			rep := r.replies[p.probe]
			pr := r.m.Probe(p.probe)
			if rep.Reason == listen.NoResponse {
				answer = "no answer"
			} else {
				answer = fmt.Sprintf("%s from %v after %.3f ms: %s", rep.Reason, rep.From, float64(rep.Time.Sub(p.sent).Microseconds())/1000, listen.ClassifyProbe(pr, &rep))
				if rep.Reason == listen.SynAck && r.kernelRST[p.probe] {
					answer += "; this host's kernel reset the connection it never opened"
				}
			}
		}
		if quiet && answer == "" {
			continue
		}
		_ = d.DecodeFrame(p.frame)
		line := fmt.Sprintf("#%-4d %+10.6f s  %s", p.n, p.sent.Sub(start).Seconds(), d.Summary())
		if answer != "" {
			line += "\n        ← " + answer
		}
		fmt.Fprintln(w, line)
	}
	if len(r.others) > 0 {
		fmt.Fprintln(w, "also came back between the capture's hosts:")
		for _, s := range r.others {
			fmt.Fprintln(w, "  "+s)
		}
		if r.moreOther > 0 {
			fmt.Fprintf(w, "  … and %d more\n", r.moreOther)
		}
	}
}
