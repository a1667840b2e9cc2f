package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/spf13/cobra"
)

type fragOpts struct {
	via    string
	sender string
	wait   time.Duration
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
	fs.DurationVar(&o.wait, "wait", 0, "how long to wait for the application or an ICMP error (default: ipfrag_time + 1.5 s)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		proto := "udp"
		if len(args) == 1 {
			proto = args[0]
		}
		_, err := runFrag(cmd.OutOrStdout(), cmd.ErrOrStderr(), proto, pf, o)
		return err
	}
	return cmd
}

// seen is one frame captured during the experiment.
type seen = listen.Captured

// fragReport is what an experiment observed.
type fragReport struct {
	payload     []byte
	planned     [][]byte // the frames as built, in sending order
	id          uint16
	made        int
	sent        []seen // fragments leaving Hc
	arrived     []seen // at the receiver
	reasm       []craft.ReassemblyEvent
	complete    bool // craft's reassembler completed the datagram
	appGot      [][]byte
	appTimes    []time.Time
	replies     []listen.Reply
	replyFrames []seen
}

func runFrag(out, errw io.Writer, proto string, pf *packetFlags, o *fragOpts) (*fragReport, error) {
	if os.Geteuid() != 0 {
		return nil, labErr(lab.ErrPermission)
	}
	if !pf.set("dst") {
		pf.dst.a = lab.AddrHs
	}
	var target string
	switch pf.dst.a {
	case lab.AddrHs:
		target = lab.Hs
	case lab.AddrHf:
		target = lab.Hf
	default:
		return nil, usagef("--dst %v: frag experiments go to Hs (198.18.1.1) or Hf (198.18.2.2)", pf.dst.a)
	}
	if o.sender != "craft" && o.sender != "socket" {
		return nil, usagef("--sender %q: craft or socket", o.sender)
	}
	if o.sender == "socket" && (proto != "udp" || pf.set("frag") || pf.set("mtu")) {
		return nil, usagef("--sender socket sends UDP through an ordinary socket and lets the kernel fragment: no --frag or --mtu")
	}
	if o.via != "packet" && o.via != "ip" {
		return nil, usagef("--via %q: packet or ip", o.via)
	}
	if !pf.set("id") {
		pf.id.v = uint64(random32() | 1)
	}
	if !pf.set("sport") {
		pf.sport.v = uint64(32768 + random32()%28000)
	}
	if _, err := pf.build(proto); err != nil {
		return nil, err
	}
	cfg := lab.Config{Name: fmt.Sprintf("frag%d", os.Getpid()), Routed: true}
	l, err := lab.Up(cfg)
	if err != nil {
		return nil, labErr(err)
	}
	defer l.Down()
	wait := o.wait
	if wait == 0 {
		wait = time.Duration(l.Config().FragTime)*time.Second + 1500*time.Millisecond
	}

	rep := &fragReport{}
	// The application: an ordinary UDP socket on the destination.
	var app net.PacketConn
	if proto == "udp" {
		if err := l.Do(target, func() (err error) {
			app, err = net.ListenPacket("udp4", fmt.Sprintf("%v:%d", pf.dst.a, pf.dport.v))
			return err
		}); err != nil {
			return nil, err
		}
		defer app.Close()
	}
	var appMu sync.Mutex
	appDone := make(chan struct{}, 1)
	if app != nil {
		go func() {
			buf := make([]byte, 65536)
			for {
				n, _, err := app.ReadFrom(buf)
				if err != nil {
					return
				}
				appMu.Lock()
				rep.appGot = append(rep.appGot, append([]byte(nil), buf[:n]...))
				rep.appTimes = append(rep.appTimes, time.Now())
				appMu.Unlock()
				select {
				case appDone <- struct{}{}:
				default:
				}
			}
		}()
	}
	// Listeners at both ends, open before anything leaves.
	open := func(host string, f listen.Filter) (*listen.Listener, error) {
		var ln *listen.Listener
		err := l.Do(host, func() error {
			ifi, err := net.InterfaceByName(lab.HostIfc)
			if err != nil {
				return err
			}
			prog, err := f.Compile()
			if err != nil {
				return err
			}
			ln, err = listen.Listen(ifi, &listen.Config{Filter: prog})
			return err
		})
		return ln, err
	}
	atTarget, err := open(target, listen.Filter{Host: lab.AddrHc})
	if err != nil {
		return nil, err
	}
	defer atTarget.Close()
	atHc, err := open(lab.Hc, listen.Filter{Host: lab.AddrHc})
	if err != nil {
		return nil, err
	}
	defer atHc.Close()
	recHc, recTarget := listen.Record(atHc, 0), listen.Record(atTarget, 0)

	// Send.
	var frames []frame
	err = l.Do(lab.Hc, func() error {
		if o.sender == "socket" {
			data, err := pf.payload(proto)
			if err != nil {
				return err
			}
			rep.payload = data
			c, err := net.ListenPacket("udp4", fmt.Sprintf("198.18.1.3:%d", pf.sport.v))
			if err != nil {
				return err
			}
			defer c.Close()
			dst := &net.UDPAddr{IP: pf.dst.a.AsSlice(), Port: int(pf.dport.v)}
			_, err = c.WriteTo(data, dst)
			return err
		}
		via, _ := rawsock.ParseVia(o.via)
		tx, err := rawsock.Open(pf.dst.a, via, openConfig(pf, ""))
		if err != nil {
			return err
		}
		defer tx.Close()
		b, err := pf.buildAt(proto, linkAt{src: tx.Route().Src, eth: tx.Ethernet()})
		if err != nil {
			return err
		}
		rep.payload, rep.made, frames = b.packet.Payload, b.nfrags, b.frames
		for _, f := range b.frames {
			fb := f.bytes
			if o.via == "ip" && b.linkEth {
				fb = fb[craft.EthernetLen:]
			}
			rep.planned = append(rep.planned, fb)
			if _, err := tx.Send(fb); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		recHc.Stop()
		recTarget.Stop()
		return nil, err
	}
	rep.id = uint16(pf.id.v)
	// Wait for the application, or for the receiver to give up.
	select {
	case <-appDone:
		time.Sleep(150 * time.Millisecond) // duplicates and stragglers
	case <-time.After(wait):
	}
	hcSeen, targetSeen := recHc.Stop(), recTarget.Stop()

	// What left Hc, what arrived, what the reassembler makes of it, what came back.
	probe := listen.Probe{Proto: craft.ProtoUDP, Src: lab.AddrHc, Dst: pf.dst.a, SrcPort: uint16(pf.sport.v), DstPort: uint16(pf.dport.v)}
	switch proto {
	case "icmp":
		probe = listen.Probe{Proto: craft.ProtoICMP, Src: lab.AddrHc, Dst: pf.dst.a, ICMPID: uint16(pf.icmpID.v), ICMPSeq: uint16(pf.icmpSeq.v)}
	case "tcp":
		probe = listen.Probe{Proto: craft.ProtoTCP, Src: lab.AddrHc, Dst: pf.dst.a, SrcPort: uint16(pf.sport.v), DstPort: uint16(pf.dport.v), Seq: uint32(pf.seq.v)}
	}
	m := listen.NewMatcher(1)
	_, _ = m.Add(probe)
	var d craft.Decoded
	ourID := func(s seen) bool {
		return d.DecodeFrame(s.Frame) == nil || d.Layers&craft.LayerIPv4 != 0
	}
	for _, s := range hcSeen {
		if !ourID(s) || d.Layers&craft.LayerIPv4 == 0 {
			continue
		}
		if s.Meta.Outgoing && d.IPv4.Src == lab.AddrHc && d.IPv4.Dst == pf.dst.a {
			rep.sent = append(rep.sent, s)
			m.SentID(0, d.IPv4.ID)
			rep.id = d.IPv4.ID
		}
	}
	for _, s := range hcSeen {
		if s.Meta.Outgoing {
			continue
		}
		p := listen.Packet{Frame: s.Frame, Meta: s.Meta}
		p.Err = p.Decoded.DecodeFrame(s.Frame)
		if k, _, r := m.Match(&p); k == listen.Answer {
			rep.replies = append(rep.replies, r)
			rep.replyFrames = append(rep.replyFrames, s)
		}
	}
	// The receiver's policy, as observed on Linux: overlapping fragments
	// discard the datagram (exact duplicates do not).
	ra := craft.NewReassembler(&craft.ReassemblyConfig{Timeout: time.Duration(l.Config().FragTime) * time.Second, DiscardOverlaps: true})
	for _, s := range targetSeen {
		if s.Meta.Outgoing || d.DecodeFrame(s.Frame) != nil && d.Layers&craft.LayerIPv4 == 0 || d.IPv4.Src != lab.AddrHc || d.IPv4.ID != rep.id {
			continue
		}
		rep.arrived = append(rep.arrived, s)
		end := craft.EthernetLen + int(d.IPv4.TotalLen.Or(0))
		ev, err := ra.Add(s.Meta.Time, s.Frame[craft.EthernetLen:min(end, len(s.Frame))])
		if err != nil {
			continue
		}
		ev.Holes = append([]craft.Hole(nil), ev.Holes...)
		rep.reasm = append(rep.reasm, ev)
		rep.complete = rep.complete || ev.Complete
	}
	appMu.Lock()
	defer appMu.Unlock()
	printFrag(out, rep, frames, proto, pf, target)
	return rep, nil
}

func printFrag(w io.Writer, rep *fragReport, planned []frame, proto string, pf *packetFlags, target string) {
	host := map[string]string{lab.Hs: "Hs", lab.Hf: "Hf"}[target]
	fmt.Fprintf(w, "One %s datagram of %d data bytes from Hc to %s (%v), IP ID 0x%04x", strings.ToUpper(proto), len(rep.payload), host, pf.dst.a, rep.id)
	if rep.made > 0 {
		fmt.Fprintf(w, ", made into %d fragments, sent in the order %s", rep.made, order(planned))
	}
	fmt.Fprintln(w, ":")
	type line struct {
		t    time.Time
		text string
	}
	var lines []line
	var d craft.Decoded
	frag := func(s seen) string {
		_ = d.DecodeFrame(s.Frame)
		ip := &d.IPv4
		mf := ""
		if ip.Flags&craft.FlagMF != 0 {
			mf = ", MF"
		}
		if ip.Flags&craft.FlagDF != 0 {
			mf += ", DF"
		}
		dataLen := int(ip.TotalLen.Or(0)) - int(ip.IHL.Or(5))*4
		what := "fragment"
		if !ip.IsFragment() {
			what = "whole datagram"
		}
		return fmt.Sprintf("%s: offset %d, %d data bytes%s", what, int(ip.FragOff)*8, dataLen, mf)
	}
	for _, s := range rep.sent {
		lines = append(lines, line{s.Meta.Time, fmt.Sprintf("Hc → %s", frag(s))})
	}
	for i, s := range rep.arrived {
		text := fmt.Sprintf("%s ← %s", host, frag(s))
		if i < len(rep.reasm) {
			text += "   reassembly: " + reasmText(rep.reasm[i])
		}
		lines = append(lines, line{s.Meta.Time, text})
	}
	for i, t := range rep.appTimes {
		got := rep.appGot[i]
		same := "exactly the bytes sent"
		if !bytes.Equal(got, rep.payload) {
			same = "NOT the bytes sent"
		}
		lines = append(lines, line{t, fmt.Sprintf("%s's application received %d bytes in one read: %s", host, len(got), same)})
	}
	for i, r := range rep.replies {
		lines = append(lines, line{rep.replyFrames[i].Meta.Time, "Hc ← " + replyText(r)})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].t.Before(lines[j].t) })
	var t0 time.Time
	if len(lines) > 0 {
		t0 = lines[0].t
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  %+10.3f ms  %s\n", float64(l.t.Sub(t0).Nanoseconds())/1e6, l.text)
	}
	fmt.Fprintln(w, "Outcome:")
	switch {
	case proto != "udp":
	case len(rep.appGot) == 0:
		fmt.Fprintf(w, "  the application received nothing: UDP delivers a datagram whole or not at all.\n")
	case len(rep.appGot) == 1:
		fmt.Fprintf(w, "  the application received the datagram once, whole.\n")
	default:
		fmt.Fprintf(w, "  the application received %d datagrams.\n", len(rep.appGot))
	}
	if proto == "udp" {
		agree := rep.complete == (len(rep.appGot) > 0)
		fmt.Fprintf(w, "  craft's reassembler %s the datagram; the kernel %s it — they %s.\n",
			map[bool]string{true: "completed", false: "did not complete"}[rep.complete],
			map[bool]string{true: "delivered", false: "did not deliver"}[len(rep.appGot) > 0],
			map[bool]string{true: "agree", false: "DISAGREE"}[agree])
	}
	overlap := false
	for _, e := range rep.reasm {
		overlap = overlap || e.Overlap > 0
	}
	if overlap {
		fmt.Fprintf(w, "  the fragments overlapped; this Linux receiver %s.\n", map[bool]string{true: "still delivered the datagram", false: "discarded the whole datagram (Linux has done so since 4.19, as RFC 5722 asks of IPv6)"}[len(rep.appGot) > 0])
	}
	if len(rep.replies) == 0 {
		switch {
		case len(rep.appGot) == 0 && !hasOffsetZero(rep.arrived):
			fmt.Fprintf(w, "  no ICMP came back: fragment 1 (offset 0) never arrived, and a receiver reports a reassembly timeout only when it has fragment zero (RFC 792; RFC 1122 §3.3.2).\n")
		case len(rep.appGot) == 0:
			fmt.Fprintf(w, "  no ICMP came back within the wait.\n")
		}
	}
}

func hasOffsetZero(arrived []seen) bool {
	var d craft.Decoded
	for _, s := range arrived {
		if d.DecodeFrame(s.Frame) == nil && d.IPv4.FragOff == 0 {
			return true
		}
	}
	return false
}

func reasmText(e craft.ReassemblyEvent) string {
	var parts []string
	switch {
	case e.Discarded:
		return fmt.Sprintf("overlaps %d bytes already received: the whole datagram is discarded (Linux's policy)", e.Overlap)
	case e.Duplicate:
		parts = append(parts, "duplicate, ignored")
	case e.Overlap > 0:
		s := fmt.Sprintf("overlaps %d bytes already received", e.Overlap)
		if e.Conflict {
			s += " WITH DIFFERENT CONTENT"
		}
		parts = append(parts, s)
	}
	if e.Complete {
		parts = append(parts, "complete")
	} else {
		var hs []string
		for _, h := range e.Holes {
			if h.Last == craft.Infinity {
				hs = append(hs, fmt.Sprintf("%d–end", h.First))
			} else {
				hs = append(hs, fmt.Sprintf("%d–%d", h.First, h.Last))
			}
		}
		parts = append(parts, "holes "+strings.Join(hs, ", "))
	}
	return strings.Join(parts, "; ")
}

func replyText(r listen.Reply) string {
	switch r.Reason {
	case listen.ICMPReassemblyExceeded:
		return fmt.Sprintf("ICMP time exceeded, fragment reassembly (type 11 code 1) from %v, quoting fragment 1 (IP ID 0x%04x): matched to the datagram", r.From, r.QuotedID)
	case listen.ICMPFragNeeded:
		return fmt.Sprintf("ICMP fragmentation needed (type 3 code 4) from %v, next-hop MTU %d: the DF datagram is too big for the next link (RFC 1191)", r.From, r.MTU)
	case listen.ICMPPortUnreachable:
		return fmt.Sprintf("ICMP port unreachable from %v (IP ID 0x%04x quoted): the datagram was reassembled, but nothing listens on its port", r.From, r.QuotedID)
	case listen.UDPReply:
		return fmt.Sprintf("UDP reply from %v", r.From)
	}
	return fmt.Sprintf("%v from %v", r.Reason, r.From)
}
