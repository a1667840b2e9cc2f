package main

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/rawcraft/rawcraft/craft"
)

// build turns the flags into a packet and its frames.
func (p *packetFlags) build(proto string) (*built, error) { return p.buildAt(proto, linkAt{}) }

// linkAt is what an open socket's route adds to the flags: the source
// address when --src was not given, and the Ethernet header to send with
// (nil: as the flags say).
type linkAt struct {
	src netip.Addr
	eth *craft.Ethernet
}

// buildAt is build for a packet about to leave through a socket whose route
// gave at.
func (p *packetFlags) buildAt(proto string, at linkAt) (*built, error) {
	proto = strings.ToLower(proto)
	if _, ok := protoFlags[proto]; !ok {
		return nil, usagef("protocol %q: use tcp, udp, icmp or arp", proto)
	}
	if err := p.checkApplies(proto); err != nil {
		return nil, err
	}
	out := &built{proto: proto, linkEth: at.eth != nil || p.ether || p.set("src-mac") || p.set("dst-mac") || p.set("vlan") || proto == "arp"}
	pk := &out.packet
	src := p.src.a
	if at.src.IsValid() && !p.set("src") {
		src = at.src
	}
	srcMAC := p.srcMAC.m
	if out.linkEth {
		e := &craft.Ethernet{Src: p.srcMAC.m, Dst: p.dstMAC.m}
		if at.eth != nil {
			c := *at.eth
			e, srcMAC = &c, c.Src
		}
		if proto == "arp" && !p.set("dst-mac") && p.arpOp != "reply" && p.arpOp != "2" {
			e.Dst = craft.Broadcast
		}
		if p.set("vlan") {
			e.VLANs = p.vlan.tags
		}
		pk.Ethernet = e
	}
	return p.buildLayers(proto, src, srcMAC, out)
}

func (p *packetFlags) buildLayers(proto string, src netip.Addr, srcMAC craft.MAC, out *built) (*built, error) {
	pk := &out.packet
	if p.dst.v6 {
		s6, d6, v6, err := p.family()
		if err != nil {
			return nil, err
		}
		if v6 && !p.set("src") && src.Is6() && !src.Is4In6() {
			s6 = src // the route's, when a socket is about to send it
		}
		if v6 {
			return p.build6(proto, s6, d6, out)
		}
	} else {
		// Commands that send IPv4 only (handshake, reset…) still read the
		// IPv6 header's flags: refuse them rather than drop them silently.
		for _, n := range ipv6Only {
			if p.set(n) {
				return nil, usagef("--%s is an IPv6 header field, and this command sends IPv4 only (send, probe and frag take IPv6)", n)
			}
		}
	}
	if p.set("pointer") && (proto != "icmp" || p.icmpType.v != uint64(craft.ICMPParamProblem)) {
		return nil, usagef("--pointer %d: only parameter problem (icmp --type 12) carries a pointer", p.pointer.v)
	}
	if proto == "arp" {
		a, err := p.arp(src, srcMAC)
		if err != nil {
			return nil, err
		}
		pk.ARP = a
		b, err := pk.Append(nil)
		if err != nil {
			return nil, usageError{err}
		}
		out.datagram = b
		out.frames = []frame{{bytes: b}}
		return out, nil
	}
	data, err := p.payload(proto)
	if err != nil {
		return nil, err
	}
	if p.id.v > 0xffff {
		return nil, usagef("--id %d: the IPv4 identification is 16 bits, 0 to 65535 (an IPv6 Fragment header's is 32)", p.id.v)
	}
	ip := &craft.IPv4{TOS: uint8(p.tos.v), ID: uint16(p.id.v), FragOff: uint16(p.fragOffset.v),
		TTL: craft.Set(uint8(p.ttl.v)), Src: src, Dst: p.dst.a, Options: p.ipOpt.b}
	if p.df {
		ip.Flags |= craft.FlagDF
	}
	if p.mf {
		ip.Flags |= craft.FlagMF
	}
	if p.evil {
		ip.Flags |= craft.FlagEvil
	}
	if p.set("ihl") {
		ip.IHL = craft.Set(uint8(p.ihl.v))
	}
	if p.set("ip-len") {
		ip.TotalLen = craft.Set(uint16(p.ipLen.v))
	}
	if p.set("ip-csum") {
		ip.Checksum = craft.Set(uint16(p.ipCsum.v))
	}
	pk.IPv4 = ip
	pk.Payload = data
	hdr := 0
	switch proto {
	case "tcp":
		pk.TCP = p.tcpHeader()
		hdr = pk.TCP.Len()
	case "udp":
		pk.UDP, hdr = p.udpHeader(), craft.UDPHeaderLen
	case "icmp":
		c := &craft.ICMP{Type: uint8(p.icmpType.v), Code: uint8(p.icmpCode.v)}
		if p.set("csum") {
			c.Checksum = craft.Set(uint16(p.csum.v))
		}
		switch {
		case p.set("next-hop-mtu"):
			if c.Type != craft.ICMPUnreachable || c.Code != craft.CodeFragNeeded {
				return nil, usagef("--next-hop-mtu %d: only fragmentation needed (--type 3 --code 4) carries an MTU", p.nextHopMTU.v)
			}
			c.Rest = uint32(p.nextHopMTU.v)
		case c.Type == craft.ICMPEcho || c.Type == craft.ICMPEchoReply || c.Type == craft.ICMPTimestamp || c.Type == craft.ICMPTimestampReply:
			c.Rest = uint32(p.icmpID.v)<<16 | uint32(p.icmpSeq.v)
		case p.set("icmp-id") || p.set("icmp-seq"):
			return nil, usagef("--icmp-id and --icmp-seq belong to echo messages (--type 8 or 0), not type %d", c.Type)
		case p.set("pointer"):
			if p.pointer.v > 255 {
				return nil, usagef("--pointer %d: the ICMP pointer is one byte, 0 to 255", p.pointer.v)
			}
			c.Rest = uint32(p.pointer.v) << 24
		}
		if p.set("quote") {
			// The quoted packet's own flags are checked first: a bad
			// value in it is reported whatever --type says.
			q, q6, err := quoted(p.quote)
			if err != nil {
				return nil, err
			}
			if !c.IsError() {
				return nil, usagef("--quote: ICMP type %d (%s) is not an error and quotes nothing", c.Type, craft.ICMPTypeName(c.Type))
			}
			if sources := p.set("data") || p.set("data-hex") || p.set("data-file") || p.set("size"); sources {
				return nil, usagef("--quote and a payload flag both give the ICMP data: choose one")
			}
			if q6 {
				return nil, usagef("--quote %q: an IPv4 ICMP error quotes an IPv4 datagram; give the error an IPv6 --dst to make it ICMPv6", p.quote)
			}
			pk.Payload = q
		}
		pk.ICMP, hdr = c, craft.ICMPHeaderLen
	}
	if max := craft.MaxIPv4Len - ip.Len() - hdr; len(pk.Payload) > max {
		rule := fmt.Sprintf("an IPv4 datagram is at most 65535 bytes, so with these headers %s carries at most %d", strings.ToUpper(proto), max)
		if proto == "udp" && ip.Len() == craft.IPv4HeaderLen {
			rule = "an IPv4 UDP datagram carries at most 65507 bytes of data (65535 − 20 − 8)"
		}
		return nil, usagef("payload of %d bytes: %s; fragmenting does not raise that limit", len(pk.Payload), rule)
	}
	return out.frame(craft.EtherTypeIPv4, p.fragments)
}

// frame builds out's packet as a datagram without its Ethernet header,
// splits it as split says (the fragment flags of its family), and frames
// each piece behind the Ethernet header, when there is one, with etherType.
func (out *built) frame(etherType uint16, split func([]byte) ([]frame, int, error)) (*built, error) {
	pk := &out.packet
	eth := pk.Ethernet
	pk.Ethernet = nil
	dg, err := pk.Append(nil)
	pk.Ethernet = eth
	if err != nil {
		return nil, usageError{err}
	}
	out.datagram = dg
	pieces, made, err := split(dg)
	if err != nil {
		return nil, err
	}
	out.nfrags = made
	for _, pc := range pieces {
		b := pc.bytes
		if eth != nil {
			e := *eth
			fb := make([]byte, e.Len(), e.Len()+len(b))
			if err := e.Encode(fb, etherType); err != nil {
				return nil, err
			}
			b = append(fb, b...)
		}
		out.frames = append(out.frames, frame{bytes: b, frag: pc.frag})
	}
	return out, nil
}

// tcpHeader is the TCP header the flags describe, the same over IPv4 and
// IPv6: a SYN unless --flags says otherwise; --data-offset and --csum
// override what Build would compute.
func (p *packetFlags) tcpHeader() *craft.TCP {
	flags := craft.TCPSyn
	if p.set("flags") {
		flags = p.tcpFlags.f
	}
	t := &craft.TCP{SrcPort: uint16(p.sport.v), DstPort: uint16(p.dport.v), Seq: uint32(p.seq.v), Ack: uint32(p.ack.v),
		Flags: flags, Window: uint16(p.win.v), Urgent: uint16(p.urg.v), Options: p.tcpOpt.b}
	if p.set("data-offset") {
		t.DataOffset = craft.Set(uint8(p.doff.v))
	}
	if p.set("csum") {
		t.Checksum = craft.Set(uint16(p.csum.v))
	}
	return t
}

// udpHeader is the UDP header the flags describe; --udp-len and --csum
// override what Build would compute.
func (p *packetFlags) udpHeader() *craft.UDP {
	u := &craft.UDP{SrcPort: uint16(p.sport.v), DstPort: uint16(p.dport.v)}
	if p.set("udp-len") {
		u.Length = craft.Set(uint16(p.udpLen.v))
	}
	if p.set("csum") {
		u.Checksum = craft.Set(uint16(p.csum.v))
	}
	return u
}
