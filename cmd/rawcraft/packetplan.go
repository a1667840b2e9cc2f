package main

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/spf13/pflag"
)

// fragPlan reads the fragment flags: how to split, and in which order the
// fragments leave; on is false when no fragment flag asks for it.
func (p *packetFlags) fragPlan() (o craft.FragOptions, s craft.Schedule, on bool, err error) {
	on = p.set("frag") || p.set("mtu")
	for _, n := range []string{"frag-order", "frag-drop", "frag-dup", "frag-overlap", "frag-tiny", "frag-seed"} {
		if p.set(n) && !on {
			return o, s, false, usagef("--%s needs --frag BYTES or --mtu N to make fragments", n)
		}
	}
	if !on {
		return o, s, false, nil
	}
	if p.set("frag") && p.set("mtu") {
		return o, s, on, usagef("--frag %d and --mtu %d: give one or the other", p.frag.v, p.mtu.v)
	}
	if p.set("frag") && (p.frag.v == 0 || p.frag.v%8 != 0) {
		return o, s, on, usagef("--frag %d: the data of every fragment but the last is a positive multiple of 8 bytes (the offset counts 8-byte units)", p.frag.v)
	}
	if p.set("mtu") && p.mtu.v < 68 {
		return o, s, on, usagef("--mtu %d: RFC 791 requires every link to carry 68 bytes", p.mtu.v)
	}
	o = craft.FragOptions{DataSize: int(p.frag.v), MTU: int(p.mtu.v), Overlap: int(p.fragOverlap.v), TinyFirst: int(p.fragTiny.v)}
	s = craft.Schedule{Seed: p.seed.v}
	switch p.fragOrder {
	case "":
	case "reverse":
		s.Reverse = true
	case "random":
		s.Random = true
	default:
		if s.Order, err = craft.ParseIndexList(p.fragOrder); err != nil {
			return o, s, on, usagef("--frag-order %q: a list of fragment numbers like 3,1,2, or reverse, or random", p.fragOrder)
		}
	}
	for _, l := range []struct {
		name, val string
		dst       *[]int
	}{{"frag-drop", p.fragDrop, &s.Drop}, {"frag-dup", p.fragDup, &s.Dup}} {
		if l.val == "" {
			continue
		}
		if *l.dst, err = craft.ParseIndexList(l.val); err != nil {
			return o, s, on, usagef("--%s %q: fragment numbers from 1, like 2 or 1,3", l.name, l.val)
		}
	}
	return o, s, on, nil
}

// fragments splits dg when a fragment flag asks for it, and returns the
// fragments to send, in order, and how many were made.
func (p *packetFlags) fragments(dg []byte) ([]frame, int, error) {
	o, s, on, err := p.fragPlan()
	if err != nil {
		return nil, 0, err
	}
	if !on {
		return []frame{{bytes: dg}}, 0, nil
	}
	_, frags, err := craft.Fragments(nil, nil, dg, o)
	if err != nil {
		return nil, 0, usageError{err}
	}
	return p.schedule(frags, s)
}

// schedule puts fragments in the order the flags ask for, and returns them
// with their count: 0 when the datagram fit the MTU and goes whole (RFC
// 791 §2.3, RFC 8200 §5). A forced header field that every fragment
// recomputes for itself (total length, header checksum, IPv6 payload
// length) is refused rather than lost.
func (p *packetFlags) schedule(frags []craft.Fragment, s craft.Schedule) ([]frame, int, error) {
	whole := len(frags) == 1 && frags[0].Whole
	if !whole {
		for _, n := range []string{"ip-len", "ip-csum", "payload-len"} {
			if p.set(n) {
				return nil, 0, usagef("--%s with fragments: each of the %d fragments gets its own, computed from its own header and length, so one forced value cannot be sent as given; force it on one fragment built by hand (--mf, --frag-offset) instead", n, len(frags))
			}
		}
	}
	plan, err := s.Plan(nil, len(frags))
	if err != nil {
		return nil, 0, usageError{err}
	}
	if len(plan) == 0 {
		return nil, 0, usagef("--frag-drop %s: drops all %d fragments, so nothing would be sent", p.fragDrop, len(frags))
	}
	out := make([]frame, 0, len(plan))
	for _, i := range plan {
		if whole {
			out = append(out, frame{bytes: frags[0].Bytes})
			continue
		}
		out = append(out, frame{bytes: frags[i-1].Bytes, frag: i})
	}
	if whole {
		return out, 0, nil
	}
	return out, len(frags), nil
}

func (p *packetFlags) arp(src netip.Addr, srcMAC craft.MAC) (*craft.ARP, error) {
	a := &craft.ARP{SenderHW: srcMAC, SenderIP: src, TargetHW: p.targetMAC.m, TargetIP: p.dst.a}
	switch p.arpOp {
	case "request":
		a.Op = craft.ARPRequest
	case "reply":
		a.Op = craft.ARPReply
	default:
		v, err := craft.ParseNumber(p.arpOp, 16)
		if err != nil {
			return nil, usagef("--op %q: request, reply, or a number 0 to 65535", p.arpOp)
		}
		a.Op = uint16(v)
	}
	if p.set("hlen") {
		a.HLen = craft.Set(uint8(p.hlen.v))
	}
	if p.set("plen") {
		a.PLen = craft.Set(uint8(p.plen.v))
	}
	return a, nil
}

// quoted builds the datagram an ICMP error quotes from packet flags, and
// keeps what is quoted: its IP header and 8 data bytes (RFC 792), or for
// IPv6 (v6 true) as much as fits in 1280 bytes (RFC 4443 §2.4(c)).
func quoted(spec string) (q []byte, v6 bool, err error) {
	args := strings.Fields(spec)
	if len(args) == 0 {
		return nil, false, usagef("--quote %q: give a protocol and packet flags, like \"udp --dport 9999\"", spec)
	}
	fs := pflag.NewFlagSet("quote", pflag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	qf := newPacketFlags(fs)
	qf.allowIPv6()
	if err := fs.Parse(args[1:]); err != nil {
		// pflag's own words ("invalid argument … for … flag") become
		// rawcraft's, as for the command's own flags.
		return nil, false, usagef("--quote %q: %v", spec, flagError(nil, err))
	}
	if fs.NArg() > 0 {
		return nil, false, usagef("--quote %q: unexpected %q", spec, fs.Arg(0))
	}
	if qf.set("frag") || qf.set("mtu") || qf.ether || qf.set("vlan") || qf.set("quote") || strings.ToLower(args[0]) == "arp" {
		return nil, false, usagef("--quote %q: the quoted datagram is one IP packet, without fragments, Ethernet or another quote", spec)
	}
	b, err := qf.build(args[0])
	if err != nil {
		return nil, false, usagef("--quote %q: %v", spec, err)
	}
	if b.packet.IPv6 != nil {
		return craft.QuoteV6(b.datagram), true, nil
	}
	return craft.Quote(b.datagram), false, nil
}

// templates returns the frames of b ready to be patched packet after packet
// (craft.Template): a whole datagram keeps the checksums the flags forced
// exactly as given; fragments are patched from their bytes. ARP has no
// field that varies: nil.
func (b *built) templates(pf *packetFlags) ([]craft.Template, error) {
	if b.proto == "arp" {
		return nil, nil
	}
	if len(b.frames) == 1 && b.nfrags == 0 {
		t, err := b.packet.Template(nil)
		if err != nil {
			return nil, usageError{err}
		}
		return []craft.Template{t}, nil
	}
	out := make([]craft.Template, len(b.frames))
	for i, f := range b.frames {
		t, err := craft.ParseTemplate(f.bytes, b.linkEth)
		if err != nil {
			return nil, fmt.Errorf("fragment %d: %w", f.frag, err)
		}
		if pf.set("ip-csum") {
			t.Keep(craft.LayerIPv4)
		}
		if pf.set("csum") {
			t.Keep(craft.LayerTCP | craft.LayerUDP | craft.LayerICMP)
		}
		out[i] = t
	}
	return out, nil
}

// echo says whether b is an ICMP echo request or reply, whose sequence
// number counts the packets a send repeats.
func (b *built) echo() bool {
	if c := b.packet.ICMPv6; c != nil {
		return c.Type == craft.ICMPv6EchoRequest || c.Type == craft.ICMPv6EchoReply
	}
	c := b.packet.ICMP
	return c != nil && (c.Type == craft.ICMPEcho || c.Type == craft.ICMPEchoReply)
}
