package main

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/probe"
)

func traceHeading(c *probe.TraceConfig) string {
	echo := c.Proto == craft.ProtoICMP || c.Proto == craft.ProtoICMPv6
	if c.Dst.Is6() {
		mode := "classic: the ports and the flow label change with every probe"
		if echo {
			mode = "classic: the checksum and the flow label change with every probe"
		}
		if c.Paris {
			mode = "Paris: one flow identifier for every probe, the flow label too"
		}
		over := probe.ProtoName(c.Proto) + " (IPv6)"
		if echo {
			over = "ICMPv6 echo"
		}
		s := fmt.Sprintf("trace to %v over %s, hop limits %d to %d, %s a hop (%s)", c.Dst, over, c.FirstTTL, c.MaxTTL, craft.Units(c.Probes, "probe"), mode)
		if c.PMTU {
			s += ", finding the path MTU (ICMPv6 packet too big)"
		}
		return s
	}
	mode := "classic: the ports change with every probe"
	if echo {
		mode = "classic: the checksum changes with every probe"
	}
	if c.Paris {
		mode = "Paris: one flow identifier for every probe"
	}
	s := fmt.Sprintf("trace to %v over %s, hops %d to %d, %s a hop (%s)", c.Dst, probe.ProtoName(c.Proto), c.FirstTTL, c.MaxTTL, craft.Units(c.Probes, "probe"), mode)
	if c.PMTU {
		s += ", finding the path MTU"
	}
	return s
}

// traceHopText is one hop: a line per responder, its RTTs and what it said;
// v6 says the trace is IPv6's.
func traceHopText(h *probe.Hop, v6 bool) string {
	var b strings.Builder
	type group struct {
		from netip.Addr
		what string
		rtts []string
	}
	var groups []*group
	silent := 0
	for _, p := range h.Probes {
		if !p.Answered() {
			silent++
			continue
		}
		what := traceMeaning(&p, v6)
		var g *group
		for _, x := range groups {
			if x.from == p.Reply.From && x.what == what {
				g = x
			}
		}
		if g == nil {
			g = &group{from: p.Reply.From, what: what}
			groups = append(groups, g)
		}
		g.rtts = append(g.rtts, fmt.Sprintf("%.3f ms", float64(p.RTT.Nanoseconds())/1e6))
	}
	lead, width := fmt.Sprintf("%3d  ", h.TTL), 15
	if v6 {
		width = 24
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "%s%-*s  %s  %s\n", lead, width, g.from, strings.Join(g.rtts, "  "), g.what)
		lead = "     "
	}
	if silent > 0 {
		fmt.Fprintf(&b, "%s%s\n", lead, strings.TrimSpace(strings.Repeat("* ", silent))+"  (no answer)")
	}
	return b.String()
}

// traceMeaning says in words what answered a probe.
func traceMeaning(p *probe.TraceProbe, v6 bool) string {
	if v6 {
		return traceMeaning6(p)
	}
	r := &p.Reply
	var s string
	switch r.Reason {
	case listen.SynAck:
		s = "SYN-ACK: the port is open"
	case listen.Rst:
		s = "RST: the port is closed"
	case listen.UDPReply:
		s = "a UDP reply"
	default:
		s = fmt.Sprintf("%s (type %d code %d)", craft.ICMPCodeName(p.Type, p.Code), p.Type, p.Code)
		if r.Reason == listen.EchoReply {
			s = "echo reply (type 0)"
		}
	}
	if craft.IsICMPError(p.Type) && r.Reason != listen.SynAck && r.Reason != listen.Rst {
		s += fmt.Sprintf(", quoted TTL %d", r.QuotedTTL)
	}
	if r.Reason == listen.ICMPFragNeeded {
		s += fmt.Sprintf(", next-hop MTU %d: probes of %d bytes are too big", r.MTU, p.Size)
	}
	if p.Size > 0 && r.Reason != listen.ICMPFragNeeded && p.Size >= 576 {
		s += fmt.Sprintf(", %d-byte probes pass", p.Size)
	}
	for _, m := range p.MPLS {
		s += fmt.Sprintf(", MPLS label %d TC %d S %d TTL %d", m.Label, m.TC, b2i(m.S), m.TTL)
	}
	return s
}

// traceMeaning6 says in words what answered an IPv6 probe: ICMPv6's names,
// the hop limit an error quoted, a Packet Too Big's MTU.
func traceMeaning6(p *probe.TraceProbe) string {
	r := &p.Reply
	var s string
	switch r.Reason {
	case listen.SynAck:
		return "SYN-ACK: the port is open"
	case listen.Rst:
		return "RST: the port is closed"
	case listen.UDPReply:
		return "a UDP reply"
	case listen.EchoReply:
		s = fmt.Sprintf("ICMPv6 echo reply (type %d)", p.Type)
	case listen.ICMPPacketTooBig:
		s = fmt.Sprintf("ICMPv6 packet too big (type %d code %d)", p.Type, p.Code)
	default:
		s = fmt.Sprintf("ICMPv6 %s: %s (type %d code %d)", craft.ICMPv6TypeName(p.Type), craft.ICMPv6CodeName(p.Type, p.Code), p.Type, p.Code)
	}
	if p.Type < 128 { // an ICMPv6 error (RFC 4443 §2.1)
		s += fmt.Sprintf(", quoted hop limit %d", r.QuotedTTL)
	}
	if r.Reason == listen.ICMPPacketTooBig {
		s += fmt.Sprintf(", MTU %d: probes of %d bytes are too big", r.MTU, p.Size)
	} else if p.Size >= 576 {
		s += fmt.Sprintf(", %d-byte probes pass", p.Size)
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func traceSummary(r *probe.TraceReport) string {
	s := fmt.Sprintf("%s in %s, %v", craft.Units(r.Sent, "probe"), craft.Units(len(r.Hops), "hop"), r.Elapsed.Round(time.Millisecond))
	switch {
	case r.Stopped:
		s += "; interrupted: the path so far"
	case r.Reached:
		s += fmt.Sprintf("; %v answered itself", r.Dst)
	default:
		s += fmt.Sprintf("; %v did not answer", r.Dst)
	}
	if r.PMTU > 0 {
		s += fmt.Sprintf("; path MTU %d", r.PMTU)
	}
	return s
}

// traceProbeJSON is one probe; an IPv4 probe has the keys ttl, icmp_type,
// icmp_code, quoted_ttl and ip_id, an IPv6 one hop_limit, icmpv6_type,
// icmpv6_code, quoted_hop_limit, flow_label and, in Paris UDP,
// udp_checksum.
type traceProbeJSON struct {
	From           string         `json:"from,omitempty"`
	Reason         string         `json:"reason"`
	RTTms          float64        `json:"rtt_ms"`
	ICMPType       *uint8         `json:"icmp_type,omitempty"`
	ICMPCode       *uint8         `json:"icmp_code,omitempty"`
	ICMPv6Type     *uint8         `json:"icmpv6_type,omitempty"`
	ICMPv6Code     *uint8         `json:"icmpv6_code,omitempty"`
	QuotedTTL      uint8          `json:"quoted_ttl,omitempty"`
	QuotedHopLimit uint8          `json:"quoted_hop_limit,omitempty"`
	MTU            uint32         `json:"mtu,omitempty"`
	Size           int            `json:"size"`
	Sport          uint16         `json:"sport,omitempty"`
	Dport          uint16         `json:"dport,omitempty"`
	ICMPSeq        uint16         `json:"icmp_seq,omitempty"`
	IPID           *uint16        `json:"ip_id,omitempty"`
	FlowLabel      *uint32        `json:"flow_label,omitempty"`
	UDPChecksum    uint16         `json:"udp_checksum,omitempty"`
	MPLS           []traceMPLSLbl `json:"mpls,omitempty"`
}

type traceMPLSLbl struct {
	Label uint32 `json:"label"`
	TC    uint8  `json:"tc"`
	S     bool   `json:"s"`
	TTL   uint8  `json:"ttl"`
}

type traceHopJSONv struct {
	TTL      int              `json:"ttl,omitempty"`       // IPv4
	HopLimit int              `json:"hop_limit,omitempty"` // IPv6
	MTU      int              `json:"mtu,omitempty"`
	Probes   []traceProbeJSON `json:"probes"`
}

func traceHopJSON(h *probe.Hop, v6 bool) traceHopJSONv {
	j := traceHopJSONv{TTL: h.TTL, MTU: h.MTU, Probes: []traceProbeJSON{}}
	if v6 {
		j.TTL, j.HopLimit = 0, h.TTL
	}
	for _, p := range h.Probes {
		q := traceProbeJSON{Reason: p.Reply.Reason.String(), Size: p.Size, Sport: p.SrcPort, Dport: p.DstPort, ICMPSeq: p.ICMPSeq}
		if v6 {
			fl := p.FlowLabel
			q.FlowLabel, q.UDPChecksum = &fl, p.UDPChecksum
		} else {
			id := p.IPID
			q.IPID = &id
		}
		if p.Answered() {
			q.From, q.RTTms, q.MTU = p.Reply.From.String(), float64(p.RTT.Nanoseconds())/1e6, p.Reply.MTU
			icmp := p.Reply.Reason != listen.SynAck && p.Reply.Reason != listen.Rst && p.Reply.Reason != listen.UDPReply
			t, c := p.Type, p.Code
			switch {
			case v6 && icmp:
				q.ICMPv6Type, q.ICMPv6Code, q.QuotedHopLimit = &t, &c, p.Reply.QuotedTTL
			case v6:
				q.QuotedHopLimit = p.Reply.QuotedTTL
			case icmp:
				q.ICMPType, q.ICMPCode, q.QuotedTTL = &t, &c, p.Reply.QuotedTTL
			default:
				q.QuotedTTL = p.Reply.QuotedTTL
			}
		}
		for _, m := range p.MPLS {
			q.MPLS = append(q.MPLS, traceMPLSLbl{m.Label, m.TC, m.S, m.TTL})
		}
		j.Probes = append(j.Probes, q)
	}
	return j
}
