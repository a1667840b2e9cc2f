package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/spf13/cobra"
)

// maxCount bounds --count: every flood stops by itself.
const maxCount = 10_000_000

type sendOpts struct {
	via      string
	count    numValue
	interval time.Duration
	rate     string
	cpus     numValue
	iface    string
	asJSON   bool
	pcapFile string
	verbose  bool
	quiet    bool
	txRing   bool
}

func newSendCmd() *cobra.Command {
	o := &sendOpts{count: numValue{v: 1, bits: 32, rule: "the count is 1 to 10000000"}, cpus: numValue{bits: 8, rule: "1 to 255 workers"}}
	cmd := &cobra.Command{
		Use:   "send PROTO [packet flags] [--count N] [--interval D | --rate PPS] [--via ip|packet] [--iface NAME]",
		Short: "send a crafted packet into the lab, through AF_PACKET (exact bytes) or a raw IPv4 socket",
		Long: `send builds the packet the flags describe, as build does, and puts it on the wire.

--via packet (the default) sends the whole Ethernet frame through AF_PACKET,
byte for byte: bad checksums, lying lengths and self-made fragments go out as
built. The interface, source address and next hop come from the routing
table, the next hop's MAC from the neighbour table or an ARP request;
--iface, --src, --src-mac and --dst-mac override each step.

--via ip sends the IPv4 datagram through a raw socket with IP_HDRINCL: the
kernel adds the Ethernet header and fills the header checksum and total
length, and the identification and source address when they are zero
(raw(7)). -v lists what it will rewrite.

Only destinations in 198.18.0.0/15, the lab's range, are accepted. Without
--count one packet is sent.`,
		Example: `  sudo rawcraft lab up
  # the SYN of Exercise 6 to a closed port: Hs's kernel answers RST/ACK
  sudo rawcraft lab exec hc -- rawcraft send tcp --dst 198.18.1.1 --dport 9999 --flags S
  # the same through the kernel's raw socket, with what it rewrites
  sudo rawcraft lab exec hc -- rawcraft send tcp --dst 198.18.1.1 --dport 9999 --flags S --via ip -v
  # Exercise 7: UDP to a closed port brings ICMP port unreachable
  sudo rawcraft lab exec hc -- rawcraft send udp --dst 198.18.1.1 --dport 9999 --data Hello
  # a bad IPv4 checksum only AF_PACKET can send, five times, 10 a second
  sudo rawcraft lab exec hc -- rawcraft send udp --dst 198.18.1.1 --ip-csum 0xdead --count 5 --rate 10
  # three fragments of a 4000-byte datagram, last first, the middle one lost
  sudo rawcraft lab exec hc -- rawcraft send udp --dst 198.18.1.1 --size 4000 --mtu 1500 --frag-order reverse --frag-drop 2`,
		Args: cobra.MinimumNArgs(1),
	}
	pf := newPacketFlags(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&o.via, "via", "packet", "packet: AF_PACKET, the exact frame; ip: raw IPv4 socket, the kernel adds the link layer")
	fs.Var(&o.count, "count", "packets to send (1 to 10000000)")
	fs.DurationVar(&o.interval, "interval", time.Second, "time between packets")
	fs.StringVar(&o.rate, "rate", "", "packets per second, instead of --interval; max: as fast as possible")
	fs.Var(&o.cpus, "cpus", "with --rate max: senders in parallel (default: every core)")
	fs.StringVar(&o.iface, "iface", "", "outgoing interface, instead of the routing table's")
	fs.BoolVar(&o.asJSON, "json", false, "one JSON object per packet sent")
	fs.StringVar(&o.pcapFile, "pcap", "", "also write what was sent to a pcap file")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "say how the route and MAC were found, and what the kernel rewrites")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no line per packet, only the summary")
	fs.BoolVar(&o.txRing, "tx-ring", false, "with --rate max: send through a PACKET_TX_RING instead of sendmmsg batches (measured slower here: each frame is still copied into its slot)")
	cmd.MarkFlagsMutuallyExclusive("interval", "rate")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return usagef("unexpected argument %q: packet flags start with --", args[1])
		}
		return runSend(cmd, args[0], pf, o)
	}
	return cmd
}

func runSend(cmd *cobra.Command, proto string, pf *packetFlags, o *sendOpts) error {
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	// Everything is checked before anything is sent.
	if o.via != "packet" && o.via != "ip" {
		return usagef("--via %q: packet (AF_PACKET, the exact frame) or ip (raw IPv4 socket)", o.via)
	}
	if o.count.v < 1 || o.count.v > maxCount {
		return usagef("--count %d: between 1 and %d", o.count.v, maxCount)
	}
	interval := o.interval
	rateMax := o.rate == "max"
	if pf.fs.Changed("rate") && !rateMax {
		r, err := craft.ParseNumber(o.rate, 32)
		if err != nil || r < 1 || r > maxCount {
			return usagef("--rate %q: packets per second, 1 to %d, or max", o.rate, maxCount)
		}
		interval = time.Second / time.Duration(r)
	}
	if rateMax {
		interval = 0
	}
	if o.txRing && !rateMax {
		return usagef("--tx-ring goes with --rate max")
	}
	if pf.fs.Changed("cpus") && (!rateMax || o.cpus.v == 0) {
		return usagef("--cpus %d: goes with --rate max, 1 or more", o.cpus.v)
	}
	if interval < 0 || interval > time.Hour {
		return usagef("--interval %v: between 0 and 1h", interval)
	}
	if proto == "arp" && o.via == "ip" {
		return usagef("--via ip: ARP is not IP; send it --via packet")
	}
	if o.via == "ip" && (pf.ether || pf.set("src-mac") || pf.set("dst-mac")) {
		return usagef("--via ip: the kernel adds the link layer; --ether, --src-mac and --dst-mac need --via packet")
	}
	if err := checkDst(pf, "send"); err != nil {
		return err
	}
	if _, err := pf.build(proto); err != nil { // every packet flag, before any socket
		return err
	}
	if err := rawsock.CheckPrivilege(); err != nil {
		return err
	}
	var pw *pcap.Writer
	var pfile *os.File
	if o.pcapFile != "" {
		f, err := os.Create(o.pcapFile)
		if err != nil {
			return usagef("--pcap %q: %v", o.pcapFile, errReason(err))
		}
		pfile = f
		defer pfile.Close()
	}

	tx, err := openSender(pf, o.via, o.iface, o.verbose, errw)
	if err != nil {
		return err
	}
	defer tx.close()
	ifname := tx.ifname
	if pfile != nil {
		link := pcap.LinkRaw
		if o.via == "packet" {
			link = pcap.LinkEthernet
		}
		w, err := pcap.NewWriter(pfile, link)
		if err != nil {
			return err
		}
		pw = w
	}

	// Build once; each later packet is the same bytes with its own IP ID
	// (and ICMP echo sequence number), patched in place with the checksums
	// updated incrementally (RFC 1624) — the same bytes a rebuild would give,
	// without building again.
	b, err := pf.build(proto)
	if err != nil {
		return err
	}
	if o.via == "ip" && o.verbose {
		for _, fr := range b.frames {
			for _, rw := range rawsock.KernelRewrites(fr.bytes) {
				fmt.Fprintf(errw, "kernel rewrites %s: %s → %s (%s)\n", rw.Field, rw.From, rw.To, rw.Why)
			}
		}
		fmt.Fprintln(errw, "a deliberately bad IPv4 checksum or total length needs --via packet: IP_HDRINCL always recomputes them")
	}
	baseID, baseSeq := uint16(pf.id.v), uint16(pf.icmpSeq.v)
	// Where the checksums are, relative to their headers; a forced checksum
	// is left exactly as given (-1).
	csumAt := func(forced bool, hdr, off int) int {
		if forced {
			return -1
		}
		return hdr + off
	}
	echo := proto == "icmp" && (pf.icmpType.v == uint64(craft.ICMPEcho) || pf.icmpType.v == uint64(craft.ICMPEchoReply))
	if o.via == "packet" && o.count.v > 1 && (rateMax || interval < time.Millisecond) && o.quiet && pw == nil && !o.asJSON {
		// Many packets, fast: batches through sendmmsg, patched in place.
		frames := make([][]byte, len(b.frames))
		for i, f := range b.frames {
			frames[i] = f.bytes
		}
		ifi := tx.route.Iface
		plan := fastPlan{frames: frames, linkEth: b.linkEth, count: o.count.v, interval: interval, workers: cpus(o.cpus.v),
			baseID: baseID, baseSeq: baseSeq, echo: echo, ipCsumForced: pf.set("ip-csum"), icmpCsumForced: pf.set("csum"), ring: o.txRing,
			open: func() (*rawsock.Sender, error) {
				return rawsock.NewSender(ifi, &rawsock.SenderConfig{QdiscBypass: rateMax})
			}}
		n, el, err := fastSend(plan)
		if err != nil {
			return err
		}
		pkts := n / uint64(len(frames))
		fmt.Fprintf(errw, "sent %d packets (%d frames) via packet on %s in %v: %.0f packets/s\n", pkts, n, ifname, el.Round(time.Microsecond), float64(pkts)/el.Seconds())
		return nil
	}
	start := time.Now()
	sent, bytes := 0, 0
	for i := uint64(0); i < o.count.v; i++ {
		if i > 0 {
			for _, fr := range b.frames {
				ip := 0
				if b.linkEth {
					ip = craft.EthernetLen
				}
				craft.Patch16(fr.bytes, ip+4, baseID+uint16(i), csumAt(pf.set("ip-csum"), ip, 10))
				if echo && fr.bytes[ip+6]&0x1f == 0 && fr.bytes[ip+7] == 0 { // the fragment that holds the ICMP header
					t := ip + int(fr.bytes[ip]&0xf)*4
					craft.Patch16(fr.bytes, t+6, baseSeq+uint16(i), csumAt(pf.set("csum"), t, 2))
				}
			}
			if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
				time.Sleep(wait)
			}
		}
		for _, fr := range b.frames {
			now := time.Now()
			n, err := tx.send(fr.bytes)
			if err != nil {
				return fmt.Errorf("packet %d: %w", sent+1, err)
			}
			sent++
			bytes += n
			if pw != nil {
				rec := fr.bytes
				if o.via == "packet" && len(rec) < craft.MinFrameLen {
					rec = append(append([]byte(nil), rec...), make([]byte, craft.MinFrameLen-len(rec))...)
				}
				_ = pw.Write(now, rec)
			}
			if !o.quiet {
				reportSent(out, o, sent, now, ifname, fr, b, n)
			}
		}
	}
	el := time.Since(start)
	fmt.Fprintf(errw, "sent %d packet%s (%d bytes) via %s on %s in %v\n", sent, plural(sent), bytes, o.via, ifname, el.Round(time.Microsecond))
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

type jsonSent struct {
	Index    int    `json:"index"`
	Time     string `json:"time"`
	Via      string `json:"via"`
	Iface    string `json:"iface"`
	Length   int    `json:"length"`
	Fragment int    `json:"fragment,omitempty"`
	Summary  string `json:"summary"`
	Hex      string `json:"hex"`
}

func reportSent(w io.Writer, o *sendOpts, i int, t time.Time, ifname string, fr frame, b *built, n int) {
	d, _ := decode(fr.bytes, b.linkEth)
	if o.asJSON {
		_ = writeJSON(w, jsonSent{Index: i, Time: t.Format(time.RFC3339Nano), Via: o.via, Iface: ifname, Length: n,
			Fragment: fr.frag, Summary: d.Summary(), Hex: hex.EncodeToString(fr.bytes)})
		return
	}
	pad := ""
	if o.via == "packet" && len(fr.bytes) < craft.MinFrameLen {
		pad = fmt.Sprintf(" (padded from %d)", len(fr.bytes))
	}
	fmt.Fprintf(w, "#%-4d %s via %s %-6s %s, %d bytes%s\n", i, t.Format("15:04:05.000000"), o.via, ifname, d.Summary(), n, pad)
}

// sender is an open socket for send and probe, with the route it found.
type sender struct {
	pconn  *rawsock.Conn
	iconn  *rawsock.IPConn
	ifname string
	route  rawsock.Route
}

func (s *sender) send(b []byte) (int, error) {
	if s.pconn != nil {
		return s.pconn.Send(b)
	}
	return s.iconn.Send(b)
}

func (s *sender) close() {
	if s.pconn != nil {
		s.pconn.Close()
	}
	if s.iconn != nil {
		s.iconn.Close()
	}
}

// openSender resolves the route to --dst and opens the socket: via packet it
// fills the packet flags' source and MACs from the route (unless given), via
// ip only the source.
func openSender(pf *packetFlags, via, iface string, verbose bool, errw io.Writer) (*sender, error) {
	s := &sender{ifname: iface}
	if via == "ip" {
		c, err := rawsock.ListenIP(iface)
		if err != nil {
			return nil, err
		}
		s.iconn = c
		if rt, err := rawsock.Resolve(pf.dst.a, &rawsock.ResolveConfig{Iface: iface, DstMAC: &craft.MAC{}}); err == nil {
			s.route, s.ifname = rt, rt.Iface.Name
			if !pf.set("src") {
				pf.src.a = rt.Src
			}
		}
		return s, nil
	}
	rc := &rawsock.ResolveConfig{Iface: iface}
	if pf.set("src") {
		rc.Src = pf.src.a
	}
	if pf.set("src-mac") {
		rc.SrcMAC = &pf.srcMAC.m
	}
	if pf.set("dst-mac") {
		rc.DstMAC = &pf.dstMAC.m
	}
	rt, err := rawsock.Resolve(pf.dst.a, rc)
	if err != nil {
		return nil, err
	}
	if !pf.set("src") {
		pf.src.a = rt.Src
	}
	pf.srcMAC.m, pf.dstMAC.m, pf.ether = rt.SrcMAC, rt.DstMAC, true
	s.route, s.ifname = rt, rt.Iface.Name
	if verbose {
		hop := "on-link"
		if rt.Gateway {
			hop = "through gateway " + rt.NextHop.String()
		}
		fmt.Fprintf(errw, "route: %v %s via %s, source %v; next hop %v is at %v (from %s)\n", pf.dst.a, hop, rt.Iface.Name, rt.Src, rt.NextHop, rt.DstMAC, rt.How)
	}
	c, err := rawsock.Listen(rt.Iface, &rawsock.Config{SendOnly: true})
	if err != nil {
		return nil, err
	}
	s.pconn = c
	return s, nil
}

// checkDst enforces the network-safety rule: packets go only to the lab's
// range, 198.18.0.0/15, and only from inside one of the lab's namespaces —
// elsewhere even a 198.18 address would be routed out of the machine.
func checkDst(pf *packetFlags, cmd string) error {
	if !pf.set("dst") {
		return usagef("%s needs --dst: a lab address such as 198.18.1.1 (Hs)", cmd)
	}
	return checkLabTarget(pf.dst.a)
}

func checkLabTarget(dst netip.Addr) error {
	if !lab.Net.Contains(dst) {
		return usagef("--dst %v: rawcraft sends only to 198.18.0.0/15, the lab's benchmarking range (RFC 2544); build the packet with rawcraft build instead", dst)
	}
	if lab.Current() == "" {
		return usagef("rawcraft sends only from inside its lab's namespaces: run it as sudo rawcraft lab exec hc -- rawcraft … (after sudo rawcraft lab up)")
	}
	return nil
}
