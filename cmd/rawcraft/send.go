package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/rawcraft/rawcraft/probe"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/spf13/cobra"
)

// maxCount bounds send's and listen's --count, and maxRate probe's and
// replay's --rate: one source for each limit, which the flag rules, the
// help and the checks all quote.
const (
	maxCount = rawsock.MaxFloodCount // every flood stops by itself
	maxRate  = 1_000_000             // probes or packets a second
)

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
	owned    bool
	dst      *targetValue
}

func newSendCmd() *cobra.Command {
	o := &sendOpts{count: numValue{v: 1, bits: 32, rule: fmt.Sprintf("the count is 1 to %d", maxCount)}, cpus: numValue{bits: 8, rule: "1 to 255 workers"}}
	cmd := &cobra.Command{
		Use:   "send PROTO [packet flags] [--count N] [--interval D | --rate PPS] [--via ip|packet] [--iface NAME]",
		Short: "send a crafted packet, through AF_PACKET (exact bytes) or a raw IP socket",
		Long: `send builds the packet the flags describe, as build does, and puts it on the wire.

--via packet (the default) sends the whole Ethernet frame through AF_PACKET,
byte for byte: bad checksums, lying lengths and self-made fragments go out as
built. The interface, source address and next hop come from the routing
table, the next hop's MAC from the neighbour table or an ARP request;
--iface, --src, --src-mac and --dst-mac override each step.

--via ip sends the IPv4 datagram through a raw socket with IP_HDRINCL: the
kernel adds the Ethernet header and fills the header checksum and total
length, and the identification and source address when they are zero
(raw(7)). -v lists what it will rewrite. A value you set that it would
rewrite (--ip-csum, --ip-len, --id 0, --src 0.0.0.0) and a datagram it would
refuse (an IHL below 5 or past the datagram's end, more than the link's MTU)
are refused before anything is sent (exit 2): send those --via packet, and
one over the MTU in fragments (--frag or --mtu). An IPv6 packet goes
through a raw IPv6 socket (IPPROTO_RAW), which rewrites nothing in it.

Each run picks a fresh random identification (the IPv4 ID, or the IPv6
Fragment headers' identification), as frag does, so that the fragments of
two runs within the receiver's ipfrag_time never join into one datagram;
--id sets it. With --count, packet k carries the identification plus k.

--dst is an IPv4 or IPv6 address or a host name (resolved once, shown on
stderr); an IPv6 one makes the packet IPv6 (icmp is then ICMPv6, and the
IPv6 flags --hop-limit, --tclass, --flow-label and --ext apply), with the
next hop's MAC from the neighbour table or a Neighbor Solicitation;
loopback works (lo carries a 14-byte Ethernet header with zero MACs), and so
do interfaces without ARP. Without --count one packet is sent, and then one
a second. Outside rawcraft's lab the rails apply: --rate max, more than
16384 packets, and a broadcast or multicast destination need
--i-own-the-network, and each says on stderr what is about to happen.`,
		Example: `  # to this machine: a SYN to a closed port, and the kernel's RST|ACK with listen
  sudo rawcraft send tcp --dst 127.0.0.1 --dport 8080 --flags S
  # to the host next to you on the switch, by name, through the kernel's raw socket
  sudo rawcraft send udp --dst printer.local --dport 9999 --data Hello --via ip -v
  # in the lab
  sudo rawcraft lab up
  # the SYN of Exercise 6 to a closed port: Hs's kernel answers RST|ACK
  sudo rawcraft lab exec hc -- rawcraft send tcp --dst 198.18.1.1 --dport 9999 --flags S
  # the same through the kernel's raw socket, with what it rewrites
  sudo rawcraft lab exec hc -- rawcraft send tcp --dst 198.18.1.1 --dport 9999 --flags S --via ip -v
  # Exercise 7: UDP to a closed port brings ICMP port unreachable
  sudo rawcraft lab exec hc -- rawcraft send udp --dst 198.18.1.1 --dport 9999 --data Hello
  # a bad IPv4 checksum only AF_PACKET can send, five times, 10 a second
  sudo rawcraft lab exec hc -- rawcraft send udp --dst 198.18.1.1 --ip-csum 0xdead --count 5 --rate 10
  # three fragments of a 4000-byte datagram, last first, the middle one lost
  sudo rawcraft lab exec hc -- rawcraft send udp --dst 198.18.1.1 --size 4000 --mtu 1500 --frag-order reverse --frag-drop 2
  # Exercise 7 over IPv6: the closed port's answer is ICMPv6 type 1 code 4
  sudo rawcraft lab exec hc -- rawcraft send udp --dst 2001:2:0:1::1 --dport 9999 --data Hello`,
		Args: argsRule(1, -1, "PROTO: tcp, udp, icmp or arp"),
	}
	pf := newPacketFlags(cmd.Flags())
	pf.allowIPv6()
	fs := cmd.Flags()
	if f := fs.Lookup("id"); f != nil {
		f.Usage += "; without it each run picks a fresh random one"
		f.DefValue = "0" // not 1: shown as no default
	}
	o.dst = takeDst(fs, pf, false)
	ownFlag(fs, &o.owned)
	fs.StringVar(&o.via, "via", "packet", "packet: AF_PACKET, the exact frame; ip: raw IP socket, the kernel adds the link layer")
	fs.Var(&o.count, "count", fmt.Sprintf("packets to send (1 to %d)", maxCount))
	durationVar(fs, &o.interval, "interval", time.Second, "time between packets")
	fs.StringVar(&o.rate, "rate", "", "packets per second, instead of --interval; max: as fast as possible")
	fs.Var(&o.cpus, "cpus", "with --rate max: senders in parallel (default: every core)")
	fs.Var(ifaceValue{&o.iface}, "iface", "outgoing interface, instead of the routing table's")
	fs.BoolVar(&o.asJSON, "json", false, "one JSON object per packet sent")
	fs.StringVar(&o.pcapFile, "pcap", "", "also write what was sent to a pcap file")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "say how the route and MAC were found, and what the kernel rewrites")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no line per packet and no running count: only the summary")
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
	via, err := rawsock.ParseVia(o.via)
	if err != nil {
		return usagef("--via %q: packet (AF_PACKET, the exact frame) or ip (raw IP socket)", o.via)
	}
	if o.count.v < 1 || o.count.v > maxCount {
		return usagef("--count %d: 1 to %d", o.count.v, maxCount)
	}
	interval := o.interval
	rateMax := o.rate == "max"
	if pf.fs.Changed("rate") && !rateMax {
		r, err := craft.ParseNumber(o.rate, 32)
		if err != nil || r < 1 || r > rawsock.MaxFloodCount {
			return usagef("--rate %q: packets per second, 1 to %d, or max", o.rate, rawsock.MaxFloodCount)
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
	if proto == "arp" && via == rawsock.ViaIP {
		return usagef("--via ip: ARP is not IP; send it --via packet")
	}
	if via == rawsock.ViaIP && (pf.ether || pf.set("src-mac") || pf.set("dst-mac") || pf.set("vlan")) {
		return usagef("--via ip: the kernel adds the link layer; --ether, --src-mac and --dst-mac need --via packet")
	}
	if !pf.set("id") && proto != "arp" {
		// A fresh identification each run, as frag picks one: two runs
		// within the receiver's ipfrag_time that shared one would have
		// their fragments joined into one datagram (RFC 791 §3.2; RFC 8200
		// §4.5), and the lesson of a lost fragment would disappear.
		_, _, v6, err := pf.family()
		if err != nil {
			return err
		}
		pf.id.v = freshID(v6)
	}
	pre, err := pf.build(proto) // every packet flag, before any socket
	if err != nil {
		return err
	}
	if !pf.set("dst") {
		return usagef("send needs --dst: an address or a host name, such as 198.18.7.1, 2001:2:0:1::1 or localhost")
	}
	if via == rawsock.ViaIP {
		if err := viaIPExact(pf, pre, 0, false, false); err != nil {
			return err
		}
	}
	iface, err := o.dst.iface(o.iface)
	if err != nil {
		return err
	}
	o.iface = iface
	// The rails come after every value: they name the run, not one flag.
	if _, err := checkRails(errw, rails(o.owned), probe.Ask{Targets: o.dst.targets, Count: o.count.v * uint64(max(1, len(pre.frames))),
		RateMax: rateMax || interval == 0 && o.count.v > 1, Interval: interval, Paced: true}); err != nil {
		return err
	}
	o.dst.showResolved(errw)
	if err := rawsock.CheckPrivilege(); err != nil {
		return err
	}
	var pw *pcap.Writer
	if o.pcapFile != "" {
		link := pcap.LinkRaw
		if via == rawsock.ViaPacket {
			link = pcap.LinkEthernet
		}
		w, closeFile, err := createPcap(o.pcapFile, link)
		if err != nil {
			return err
		}
		defer closeFile()
		pw = w
	}
	tx, err := rawsock.Open(pf.dst.a, via, openConfig(pf, o.iface))
	if err != nil {
		return err
	}
	defer tx.Close()
	rt := tx.Route()
	ifname := o.iface
	if rt.Iface != nil {
		ifname = rt.Iface.Name
	}
	if o.verbose && via == rawsock.ViaPacket {
		hop := "on-link"
		if rt.Gateway {
			hop = "through gateway " + rt.NextHop.String()
		}
		fmt.Fprintf(errw, "route: %v %s via %s, source %v; next hop %v is at %v (from %s)\n", pf.dst.a, hop, rt.Iface.Name, rt.Src, rt.NextHop, rt.DstMAC, rt.How)
	}
	// Built once; each later packet is the same bytes with its own IP ID
	// (and ICMP echo sequence number), patched in place with the checksums
	// updated incrementally (craft.Template, RFC 1624) — the same bytes a
	// rebuild would give, without building again.
	b, err := pf.buildAt(proto, linkAt{src: rt.Src, eth: tx.Ethernet()})
	if err != nil {
		return err
	}
	if via == rawsock.ViaIP || rt.Datagrams {
		// Toward this host's own address even --via packet hands the
		// datagram to a raw IP socket (rawsock.Route.Datagrams): the
		// same kernel rules apply.
		mtu := 0
		if rt.Iface != nil {
			mtu = rt.Iface.MTU
		}
		if err := viaIPExact(pf, b, mtu, true, via == rawsock.ViaPacket); err != nil {
			return err
		}
	}
	if via == rawsock.ViaIP && o.verbose && b.packet.IPv6 != nil {
		fmt.Fprintln(errw, "kernel rewrites nothing: a raw IPv6 socket (IPPROTO_RAW) sends the packet as built, lying payload length and bad checksums included (rawv6_send_hdrinc); the route and the link layer are the kernel's")
	} else if via == rawsock.ViaIP && o.verbose {
		for _, fr := range b.frames {
			for _, rw := range rawsock.KernelRewrites(fr.bytes) {
				fmt.Fprintln(errw, rw)
			}
		}
		fmt.Fprintln(errw, "a deliberately bad IPv4 checksum or total length needs --via packet: IP_HDRINCL always recomputes them")
	}
	tmpls, err := b.templates(pf)
	if err != nil {
		return err
	}
	fc := rawsock.FloodConfig{Packet: tmpls, Count: o.count.v, Interval: interval, Workers: int(o.cpus.v),
		BaseID: uint16(pf.id.v), BaseICMPSeq: uint16(pf.icmpSeq.v), VaryICMPSeq: b.echo(), Ring: o.txRing, QdiscBypass: rateMax,
		VaryFragID: b.nfrags > 0 && b.packet.IPv6 != nil, BaseFragID: uint32(pf.id.v)}
	if tmpls != nil && via == rawsock.ViaPacket && o.count.v > 1 && (rateMax || interval < time.Millisecond) && pw == nil && !o.asJSON {
		// Many packets, fast: batches through sendmmsg, patched in place; no
		// line per packet at this pace, a running count on a terminal.
		count := startCount(errw, o.quiet, "send "+proto, int(o.count.v)*len(tmpls))
		if count != nil {
			fc.OnProgress = func(frames int) { count.add(frames, 0) }
		}
		n, el, err := rawsock.Flood(rt.Iface, fc)
		count.done()
		if err != nil {
			return err
		}
		pkts := n / uint64(len(tmpls))
		fmt.Fprintf(errw, "sent %d packets (%d frames) via packet on %s in %v: %.0f packets/s\n", pkts, n, ifname, el.Round(time.Microsecond), float64(pkts)/el.Seconds())
		return nil
	}
	start := time.Now()
	sent, bytes := 0, 0
	for i := uint64(0); i < o.count.v; i++ {
		if i > 0 {
			if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
				time.Sleep(wait)
			}
		}
		for j, fr := range b.frames {
			fb := fr.bytes
			if tmpls != nil {
				t := &tmpls[j]
				t.SetIPID(fc.BaseID + uint16(i))
				if fc.VaryFragID {
					t.SetFragID(fc.BaseFragID + uint32(i))
				}
				if fc.VaryICMPSeq && (t.Carries(craft.LayerICMP) || t.Carries(craft.LayerICMPv6)) {
					t.SetICMPSeq(fc.BaseICMPSeq + uint16(i))
				}
				fb = t.Bytes()
			}
			now := time.Now()
			n, err := tx.Send(fb)
			if err != nil {
				return fmt.Errorf("packet %d: %w", sent+1, err)
			}
			sent++
			bytes += n
			if pw != nil {
				rec := fb
				if via == rawsock.ViaPacket && len(rec) < craft.MinFrameLen {
					rec = append(append([]byte(nil), rec...), make([]byte, craft.MinFrameLen-len(rec))...)
				}
				_ = pw.Write(now, rec)
			}
			if !o.quiet {
				reportSent(out, o, sent, now, ifname, frame{bytes: fb, frag: fr.frag}, b, n)
			}
		}
	}
	el := time.Since(start)
	fmt.Fprintf(errw, "sent %s (%s) via %s on %s in %v\n", craft.Units(sent, "packet"), craft.Units(bytes, "byte"), via, ifname, el.Round(time.Microsecond))
	return nil
}

// rewriteFlags are the flags that set the IPv4 header fields a raw socket's
// kernel may rewrite (rawsock.KernelRewrites names them by field).
var rewriteFlags = map[string]string{"total length": "ip-len", "header checksum": "ip-csum", "identification": "id", "source address": "src"}

// viaIPExact refuses, before anything is sent, what a raw IP socket would
// not send as given: a value the user set that the kernel rewrites
// (rawsock.KernelRewrites), or a datagram it refuses (rawsock.KernelRefuses,
// checked against the link's MTU when known). routed: b was built with
// the route's source address, so the checksum the kernel computes is known
// even when --src was not given. loopback: --via packet toward this host's
// own address, whose frames lose their link header and go through a raw
// IP socket all the same.
func viaIPExact(pf *packetFlags, b *built, mtu int, routed, loopback bool) error {
	how, instead := "sent --via ip", "send it --via packet, which hands AF_PACKET the frame as built"
	if loopback {
		how, instead = "sent toward this host's own address", "no socket sends it to this host as built (lo drops such frames as martians); send it to another host"
	}
	for _, fr := range b.frames {
		dg := fr.bytes
		if b.linkEth {
			if len(dg) < craft.EthernetLen {
				continue
			}
			dg = dg[craft.EthernetLen:]
		}
		if err := rawsock.KernelRefuses(dg, mtu); err != nil {
			if mtu > 0 && len(dg) > mtu {
				// AF_PACKET refuses a frame over the MTU too.
				return usagef("%s: %v; send fragments (--frag or --mtu), each its own datagram", how, err)
			}
			return usagef("%s: %v; %s", how, err, instead)
		}
		for _, rw := range rawsock.KernelRewrites(dg) {
			flag := rewriteFlags[rw.Field]
			if !rw.Changed || flag == "" || !pf.set(flag) || flag == "ip-csum" && !routed && !pf.set("src") {
				continue
			}
			return usagef("--%s %s: %s, the datagram goes through a raw IPv4 socket with IP_HDRINCL, whose kernel rewrites the %s (%s, raw(7)), so it would go out as %s, not as given; %s",
				flag, rw.From, how, rw.Field, rw.Why, rw.To, instead)
		}
	}
	return nil
}

// freshID is a random identification, never 0: 16 bits for IPv4's header,
// 32 for an IPv6 Fragment header.
func freshID(v6 bool) uint64 {
	if v6 {
		return uint64(rand.Uint32() | 1)
	}
	return uint64(uint16(rand.Uint32()) | 1)
}

// openConfig is what the packet flags override of the route.
func openConfig(pf *packetFlags, iface string) *rawsock.OpenConfig {
	c := &rawsock.OpenConfig{Iface: iface}
	if pf.set("src") {
		c.Src = pf.src.a
	}
	if pf.set("src-mac") {
		c.SrcMAC = &pf.srcMAC.m
	}
	if pf.set("dst-mac") {
		c.DstMAC = &pf.dstMAC.m
	}
	return c
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
