package main

import (
	"net/netip"
	"strings"

	"github.com/rawcraft/rawcraft/craft"
)

// build6 builds an IPv6 packet (RFC 8200) from the flags: the header, the
// --ext chain, and TCP, UDP or ICMPv6 ("icmp" with an IPv6 address).
func (p *packetFlags) build6(proto string, src, dst netip.Addr, out *built) (*built, error) {
	if proto == "arp" {
		return nil, usagef("arp with an IPv6 address: IPv6 has no ARP; it finds neighbors with NDP (icmp --type 135, a neighbor solicitation)")
	}
	pk := &out.packet
	data, err := p.payload(proto)
	if err != nil {
		return nil, err
	}
	ip := &craft.IPv6{TrafficClass: uint8(p.tclass.v), FlowLabel: uint32(p.flowLabel.v), HopLimit: craft.Set(uint8(p.hopLimit.v)), Src: src, Dst: dst}
	if p.set("payload-len") {
		ip.PayloadLen = craft.Set(uint16(p.payloadLen.v))
	}
	pk.IPv6, pk.IPv6Ext, pk.Payload = ip, p.ext.exts, data
	hdr := 0
	switch proto {
	case "tcp":
		pk.TCP = p.tcpHeader()
		hdr = pk.TCP.Len()
	case "udp":
		// --csum 0 writes zero, which RFC 8200 §8.1 forbids: the
		// explanation flags it and receivers drop the datagram.
		pk.UDP, hdr = p.udpHeader(), craft.UDPHeaderLen
	case "icmp":
		c, q, err := p.icmpv6()
		if err != nil {
			return nil, err
		}
		if q != nil {
			pk.Payload = q
		}
		pk.ICMPv6, hdr = c, craft.ICMPHeaderLen
	}
	ext := 0
	for i := range pk.IPv6Ext {
		ext += pk.IPv6Ext[i].Len()
	}
	if max := 0xffff - ext - hdr; len(pk.Payload) > max {
		return nil, usagef("payload of %d bytes: an IPv6 payload length is at most 65535, so with these headers %s carries at most %d (jumbograms are not built)",
			len(pk.Payload), strings.ToUpper(proto), max)
	}
	return out.frame(craft.EtherTypeIPv6, p.fragments6)
}

// fragments6 splits an IPv6 packet with Fragment headers when a fragment
// flag asks for it (RFC 8200 §4.5); --id gives the identification.
func (p *packetFlags) fragments6(dg []byte) ([]frame, int, error) {
	o, s, on, err := p.fragPlan()
	if err != nil {
		return nil, 0, err
	}
	if !on {
		return []frame{{bytes: dg}}, 0, nil
	}
	_, frags, err := craft.Fragments6(nil, nil, dg, craft.FragOptions6{FragOptions: o, ID: uint32(p.id.v)})
	if err != nil {
		return nil, 0, usageError{err}
	}
	return p.schedule(frags, s)
}

// icmpv6 reads the ICMP flags as an ICMPv6 message (RFC 4443): the type
// defaults to 128, echo request.
// With --quote it returns the quoted packet too.
func (p *packetFlags) icmpv6() (*craft.ICMPv6, []byte, error) {
	t := craft.ICMPv6EchoRequest
	if p.set("type") {
		t = uint8(p.icmpType.v)
	}
	c := &craft.ICMPv6{Type: t, Code: uint8(p.icmpCode.v)}
	if p.set("csum") {
		c.Checksum = craft.Set(uint16(p.csum.v))
	}
	switch {
	case t == craft.ICMPv6EchoRequest || t == craft.ICMPv6EchoReply:
		c.Rest = uint32(p.icmpID.v)<<16 | uint32(p.icmpSeq.v)
		if p.set("next-hop-mtu") || p.set("pointer") {
			return nil, nil, usagef("--next-hop-mtu and --pointer belong to ICMPv6 errors (--type 2, --type 4), not echo")
		}
	case p.set("icmp-id") || p.set("icmp-seq"):
		return nil, nil, usagef("--icmp-id and --icmp-seq belong to ICMPv6 echo messages (--type 128 or 129), not type %d", t)
	case p.set("next-hop-mtu"):
		if t != craft.ICMPv6PacketTooBig {
			return nil, nil, usagef("--next-hop-mtu %d: over IPv6 only Packet Too Big (--type 2) carries an MTU", p.nextHopMTU.v)
		}
		c.Rest = uint32(p.nextHopMTU.v)
	case p.set("pointer"):
		if t != craft.ICMPv6ParamProblem {
			return nil, nil, usagef("--pointer %d: over IPv6 only parameter problem (--type 4) carries a pointer", p.pointer.v)
		}
		c.Rest = uint32(p.pointer.v)
	}
	if p.set("quote") {
		// The quoted packet's own flags are checked first: a bad value in
		// it is reported whatever --type says.
		q, v6, err := quoted(p.quote)
		if err != nil {
			return nil, nil, err
		}
		if !c.IsError() {
			return nil, nil, usagef("--quote: ICMPv6 type %d (%s) is not an error and quotes nothing", t, craft.ICMPv6TypeName(t))
		}
		if p.set("data") || p.set("data-hex") || p.set("data-file") || p.set("size") {
			return nil, nil, usagef("--quote and a payload flag both give the ICMPv6 data: choose one")
		}
		if !v6 {
			return nil, nil, usagef("--quote %q: an ICMPv6 error quotes an IPv6 packet; give the quoted packet an IPv6 --dst", p.quote)
		}
		return c, q, nil
	}
	return c, nil, nil
}
