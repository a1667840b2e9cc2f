package main

import (
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/exercise"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type fragOpts struct {
	via    string
	sender string
	wait   time.Duration
	quiet  bool
}

func newFragCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "frag [udp|icmp|tcp] [packet flags] [--sender craft|socket]",
		Short: "run one fragmentation experiment on a lab and tell its story: sent, arrived, reassembled, delivered, answered",
		Long: `frag builds a routed lab, starts a UDP application on the destination (Hs,
198.18.1.1, or Hf, 198.18.2.2 behind R's 1280-byte link), listens on both
ends, sends one datagram as the fragment flags plan it, and prints a
timeline: each fragment leaving Hc, each fragment arriving, what craft's
reassembler (RFC 815) makes of them — holes, overlaps, duplicates —, what
the application received (the whole datagram, or nothing), and the ICMP
that came back to Hc, matched to the datagram it quotes. The lab is removed
at the end. The receivers' net.ipv4.ipfrag_time is 3 s in the lab.

--sender socket sends the payload through an ordinary UDP socket instead,
and lets Hc's kernel do the fragmenting.

With an IPv6 --dst (Hs, 2001:2:0:1::1, or Hf, 2001:2:0:2::1) the same
controls make fragments behind Fragment headers (RFC 8200 §4.5) with a
random 32-bit identification (--id sets one), and the story puts what the
destination's kernel did next to what craft's model of Linux's IPv6
receiver expects: delivery; overlaps discarding the whole packet (RFC
5722); a first fragment without the whole header chain (--ext dest
--frag-tiny 8, say) dropped with ICMPv6 parameter problem code 3 (RFC
7112); time exceeded code 1 after net.ipv6.ip6frag_time (3 s) when the
first fragment came but not all. R never fragments IPv6: a packet too big
for R–Hf brings ICMPv6 Packet Too Big, MTU 1280.`,
		Example: `  sudo rawcraft frag --size 4000 --mtu 1500                      # three fragments, delivered whole
  sudo rawcraft frag --size 4000 --frag 1480 --frag-order reverse  # last first: still whole
  sudo rawcraft frag --size 4000 --frag 1480 --frag-drop 2         # nothing delivered; ICMP time exceeded (reassembly)
  sudo rawcraft frag --size 4000 --frag 1480 --frag-drop 1         # nothing delivered, and no ICMP at all
  sudo rawcraft frag --size 4000 --frag 1480 --frag-dup 2          # a duplicate: delivered once
  sudo rawcraft frag --size 4000 --frag 1480 --frag-overlap 8      # overlapping fragments: see what Linux does
  sudo rawcraft frag --dst 198.18.2.2 --size 1400 --df             # too big for R–Hf: fragmentation needed, MTU 1280
  sudo rawcraft frag --size 4000 --sender socket                   # the kernel fragments: 1480 + 1480 + 1048
  sudo rawcraft frag --dst 2001:2:0:1::1 --size 4000 --mtu 1500 --frag-order reverse  # IPv6: Fragment headers, delivered whole
  sudo rawcraft frag --dst 2001:2:0:2::1 --size 1400 --wait 1s     # IPv6 too big for R–Hf: Packet Too Big, MTU 1280`,
		Args: argsRule(0, 1, "at most one protocol: udp, icmp or tcp"),
	}
	pf, o := fragFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		proto := "udp"
		if len(args) == 1 {
			proto = args[0]
		}
		return runFrag(cmd.OutOrStdout(), cmd.ErrOrStderr(), proto, pf, o)
	}
	return cmd
}

// fragFlags registers frag's flags: the packet flags, IPv4 or IPv6, and
// the experiment's own.
func fragFlags(fs *pflag.FlagSet) (*packetFlags, *fragOpts) {
	o := &fragOpts{}
	pf := newPacketFlags(fs)
	pf.allowIPv6()
	fs.StringVar(&o.sender, "sender", "craft", "craft: send the planned fragments; socket: an ordinary UDP socket, the kernel fragments")
	fs.StringVar(&o.via, "via", "packet", "packet (AF_PACKET) or ip (raw socket: each fragment its own datagram)")
	durationVar(fs, &o.wait, "wait", 0, "how long to wait for the application or an ICMP error (default: ipfrag_time + 1.5 s; at most 1m)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no live timeline on the terminal while it runs: only the story at the end")
	return pf, o
}

// runFrag checks the flags, runs the experiment and tells its story on out.
func runFrag(out, errw io.Writer, proto string, pf *packetFlags, o *fragOpts) error {
	cfg, err := fragConfig(proto, pf, o)
	if err != nil {
		return err
	}
	if !o.quiet && isTerminal(errw) {
		cfg.OnEvent = liveTimeline(errw) // the events as they happen; the story follows
	}
	if os.Geteuid() != 0 {
		return labErr(lab.ErrPermission)
	}
	rep, err := exercise.Frag(cfg)
	if err != nil {
		return labErr(err)
	}
	return rep.Write(out)
}

// fragConfig turns frag's flags into the experiment's values. The IP ID and
// the source port, when not given, are chosen at random here, so that two
// runs are not confused with each other's stragglers.
func fragConfig(proto string, pf *packetFlags, o *fragOpts) (exercise.FragConfig, error) {
	var cfg exercise.FragConfig
	proto = strings.ToLower(proto)
	src, dst, v6, err := pf.family()
	if err != nil {
		return cfg, err
	}
	if dst != lab.AddrHs && dst != lab.AddrHf && dst != lab.Addr6Hs && dst != lab.Addr6Hf {
		return cfg, usagef("--dst %v: frag experiments go to Hs (198.18.1.1) or Hf (198.18.2.2), or over IPv6 to Hs (2001:2:0:1::1) or Hf (2001:2:0:2::1)", dst)
	}
	if v6 {
		if err := checkFrag6(pf, o, src); err != nil {
			return cfg, err
		}
	}
	switch o.sender {
	case "craft":
		cfg.Sender = exercise.SendPlanned
	case "socket":
		cfg.Sender = exercise.SendSocket
	default:
		return cfg, usagef("--sender %q: craft or socket", o.sender)
	}
	if o.sender == "socket" && (proto != "udp" || pf.set("frag") || pf.set("mtu")) {
		return cfg, usagef("--sender socket sends UDP through an ordinary socket and lets the kernel fragment: no --frag or --mtu")
	}
	via, err := rawsock.ParseVia(o.via)
	if err != nil {
		return cfg, usagef("--via %q: packet or ip", o.via)
	}
	if via == rawsock.ViaIP && (pf.ether || pf.set("src-mac") || pf.set("dst-mac") || pf.set("vlan")) {
		return cfg, usagef("--via ip: the kernel adds the link layer; --ether, --src-mac, --dst-mac and --vlan need --via packet")
	}
	if o.wait < 0 || o.wait > exercise.MaxFragWait {
		return cfg, usagef("--wait %v: 0 (the default: the lab's ipfrag_time + 1.5 s) up to %v", o.wait, exercise.MaxFragWait)
	}
	if proto == "arp" {
		return cfg, usagef("frag %s: a fragmentation experiment sends udp, icmp or tcp", proto)
	}
	b, err := pf.build(proto)
	if err != nil {
		return cfg, err
	}
	// The packet again, with the chosen ID and port, without Ethernet: the
	// experiment adds the route's link header itself.
	pk := b.packet
	pk.Ethernet = nil
	if !v6 {
		ip := *pk.IPv4
		if !pf.set("id") {
			ip.ID = uint16(rand.Uint32() | 1)
		}
		pk.IPv4 = &ip
	}
	sport := uint16(32768 + rand.Uint32()%28000)
	switch {
	case pk.UDP != nil && !pf.set("sport"):
		u := *pk.UDP
		u.SrcPort, pk.UDP = sport, &u
	case pk.TCP != nil && !pf.set("sport"):
		t := *pk.TCP
		t.SrcPort, pk.TCP = sport, &t
	}
	dg, err := pk.Append(nil)
	if err != nil {
		return cfg, usageError{err}
	}
	fragments := pf.fragments
	if v6 {
		fragments = func(dg []byte) ([]frame, int, error) { return fragments6(pf, dg) }
	}
	frames, made, err := fragments(dg)
	if err != nil {
		return cfg, err
	}
	cfg.Packet, cfg.Made, cfg.Via, cfg.Wait = pk, made, via, o.wait
	for _, f := range frames {
		cfg.Planned = append(cfg.Planned, f.bytes)
		if made > 0 {
			cfg.Order = append(cfg.Order, f.frag)
		}
	}
	if pf.set("src-mac") {
		m := pf.srcMAC.m
		cfg.SrcMAC = &m
	}
	if pf.set("dst-mac") {
		m := pf.dstMAC.m
		cfg.DstMAC = &m
	}
	return cfg, nil
}

// checkFrag6 refuses what an IPv6 experiment cannot do: send from another
// host than Hc, let the kernel's socket carry headers the flags set, or
// give the packet a Fragment header of its own as well as fragments.
func checkFrag6(pf *packetFlags, o *fragOpts, src netip.Addr) error {
	if pf.set("src") && src != lab.Addr6Hc {
		return usagef("--src %v: frag sends from Hc (%v)", src, lab.Addr6Hc)
	}
	if o.sender == "socket" {
		for _, n := range ipv6Only {
			if pf.set(n) {
				return usagef("--%s with --sender socket: the kernel builds the IPv6 header of an ordinary socket's packets; craft them (--sender craft) to set it", n)
			}
		}
	}
	for _, e := range pf.ext.exts {
		if e.Kind == craft.ProtoFragment && (pf.set("frag") || pf.set("mtu")) {
			return usagef("--ext %s and --frag or --mtu: the fragments get Fragment headers of their own; give one or the other", pf.ext.raw)
		}
	}
	return nil
}

// fragments6 splits an IPv6 packet as the flags say, with a random 32-bit
// identification in the Fragment headers unless --id gives one.
func fragments6(pf *packetFlags, dg []byte) ([]frame, int, error) {
	if !pf.set("id") {
		id := pf.id
		pf.id.v = uint64(rand.Uint32() | 1)
		defer func() { pf.id = id }()
	}
	return pf.fragments6(dg)
}
