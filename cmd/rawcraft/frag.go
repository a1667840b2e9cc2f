package main

import (
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/internal/exercise"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/spf13/cobra"
)

type fragOpts struct {
	via    string
	sender string
	wait   time.Duration
	quiet  bool
}

func newFragCmd() *cobra.Command {
	o := &fragOpts{}
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
and lets Hc's kernel do the fragmenting.`,
		Example: `  sudo rawcraft frag --size 4000 --mtu 1500                      # three fragments, delivered whole
  sudo rawcraft frag --size 4000 --frag 1480 --frag-order reverse  # last first: still whole
  sudo rawcraft frag --size 4000 --frag 1480 --frag-drop 2         # nothing delivered; ICMP time exceeded (reassembly)
  sudo rawcraft frag --size 4000 --frag 1480 --frag-drop 1         # nothing delivered, and no ICMP at all
  sudo rawcraft frag --size 4000 --frag 1480 --frag-dup 2          # a duplicate: delivered once
  sudo rawcraft frag --size 4000 --frag 1480 --frag-overlap 8      # overlapping fragments: see what Linux does
  sudo rawcraft frag --dst 198.18.2.2 --size 1400 --df             # too big for R–Hf: fragmentation needed, MTU 1280
  sudo rawcraft frag --size 4000 --sender socket                   # the kernel fragments: 1480 + 1480 + 1048`,
		Args: cobra.MaximumNArgs(1),
	}
	pf := newPacketFlags(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&o.sender, "sender", "craft", "craft: send the planned fragments; socket: an ordinary UDP socket, the kernel fragments")
	fs.StringVar(&o.via, "via", "packet", "packet (AF_PACKET) or ip (raw socket: each fragment its own datagram)")
	durationVar(fs, &o.wait, "wait", 0, "how long to wait for the application or an ICMP error (default: ipfrag_time + 1.5 s; at most 1m)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no live timeline on the terminal while it runs: only the story at the end")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		proto := "udp"
		if len(args) == 1 {
			proto = args[0]
		}
		return runFrag(cmd.OutOrStdout(), cmd.ErrOrStderr(), proto, pf, o)
	}
	return cmd
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
	if pf.dst.a != lab.AddrHs && pf.dst.a != lab.AddrHf {
		return cfg, usagef("--dst %v: frag experiments go to Hs (198.18.1.1) or Hf (198.18.2.2)", pf.dst.a)
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
	ip := *pk.IPv4
	if !pf.set("id") {
		ip.ID = uint16(rand.Uint32() | 1)
	}
	pk.IPv4 = &ip
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
	frames, made, err := pf.fragments(dg)
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
