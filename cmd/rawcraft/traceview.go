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
	mode := "classic: the ports change with every probe"
	if c.Proto == craft.ProtoICMP {
		mode = "classic: the checksum changes with every probe"
	}
	if c.Paris {
		mode = "Paris: one flow identifier for every probe"
	}
	s := fmt.Sprintf("trace to %v over %s, hops %d to %d, %d probes a hop (%s)", c.Dst, probe.ProtoName(c.Proto), c.FirstTTL, c.MaxTTL, c.Probes, mode)
	if c.PMTU {
		s += ", finding the path MTU"
	}
	return s
}

// traceHopText is one hop: a line per responder, its RTTs and what it said.
func traceHopText(h *probe.Hop) string {
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
		what := traceMeaning(&p)
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
	lead := fmt.Sprintf("%3d  ", h.TTL)
	for _, g := range groups {
		fmt.Fprintf(&b, "%s%-15s  %s  %s\n", lead, g.from, strings.Join(g.rtts, "  "), g.what)
		lead = "     "
	}
	if silent > 0 {
		fmt.Fprintf(&b, "%s%s\n", lead, strings.TrimSpace(strings.Repeat("* ", silent))+"  (no answer)")
	}
	return b.String()
}

// traceMeaning says in words what answered a probe.
func traceMeaning(p *probe.TraceProbe) string {
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

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func traceSummary(r *probe.TraceReport) string {
	s := fmt.Sprintf("%d probe%s in %d hop%s, %v", r.Sent, plural(r.Sent), len(r.Hops), plural(len(r.Hops)), r.Elapsed.Round(time.Millisecond))
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

type traceProbeJSON struct {
	From      string         `json:"from,omitempty"`
	Reason    string         `json:"reason"`
	RTTms     float64        `json:"rtt_ms"`
	ICMPType  *uint8         `json:"icmp_type,omitempty"`
	ICMPCode  *uint8         `json:"icmp_code,omitempty"`
	QuotedTTL uint8          `json:"quoted_ttl,omitempty"`
	MTU       uint32         `json:"mtu,omitempty"`
	Size      int            `json:"size"`
	Sport     uint16         `json:"sport,omitempty"`
	Dport     uint16         `json:"dport,omitempty"`
	ICMPSeq   uint16         `json:"icmp_seq,omitempty"`
	IPID      uint16         `json:"ip_id"`
	MPLS      []traceMPLSLbl `json:"mpls,omitempty"`
}

type traceMPLSLbl struct {
	Label uint32 `json:"label"`
	TC    uint8  `json:"tc"`
	S     bool   `json:"s"`
	TTL   uint8  `json:"ttl"`
}

type traceHopJSONv struct {
	TTL    int              `json:"ttl"`
	MTU    int              `json:"mtu,omitempty"`
	Probes []traceProbeJSON `json:"probes"`
}

func traceHopJSON(h *probe.Hop) traceHopJSONv {
	j := traceHopJSONv{TTL: h.TTL, MTU: h.MTU, Probes: []traceProbeJSON{}}
	for _, p := range h.Probes {
		q := traceProbeJSON{Reason: p.Reply.Reason.String(), Size: p.Size, Sport: p.SrcPort, Dport: p.DstPort, ICMPSeq: p.ICMPSeq, IPID: p.IPID}
		if p.Answered() {
			q.From, q.RTTms, q.QuotedTTL, q.MTU = p.Reply.From.String(), float64(p.RTT.Nanoseconds())/1e6, p.Reply.QuotedTTL, p.Reply.MTU
			if p.Reply.Reason != listen.SynAck && p.Reply.Reason != listen.Rst && p.Reply.Reason != listen.UDPReply {
				t, c := p.Type, p.Code
				q.ICMPType, q.ICMPCode = &t, &c
			}
		}
		for _, m := range p.MPLS {
			q.MPLS = append(q.MPLS, traceMPLSLbl{m.Label, m.TC, m.S, m.TTL})
		}
		j.Probes = append(j.Probes, q)
	}
	return j
}
