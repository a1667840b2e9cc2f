package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/probe"
)

// collapseAbove is nmap's threshold: a port state held by more than this
// many ports of a host is not listed port by port but counted in one
// "Not shown" line (nmap's "ignored states"); a host with at most this
// many ports is always listed whole.
const collapseAbove = 25

// portView says which ports the text output lists.
type portView uint8

const (
	viewSummary portView = iota // nmap's default: the interesting ports, the rest counted
	viewOpen                    // --open: the open (and possibly open) ports only
	viewAll                     // -v: every port
)

// nmapReason is the reason as nmap's text output words it ("reset",
// "port-unreach", "no-response"…, from nmap's reason.cc), for the
// "Not shown" lines a reader compares with nmap's.
func nmapReason(r *probe.Result) string {
	switch r.Reply.Reason {
	case listen.SynAck:
		return "syn-ack"
	case listen.SplitHandshakeSyn:
		return "split-handshake-syn"
	case listen.Rst:
		return "reset"
	case listen.ICMPPortUnreachable:
		return "port-unreach"
	case listen.ICMPUnreachable, listen.ICMPFragNeeded:
		if r.Probe.Dst.Is6() && !r.Probe.Dst.Is4In6() {
			// ICMPv6's codes are not ICMP's (RFC 4443 §3.1; nmap's icmpv6_to_reason).
			switch r.Reply.Code {
			case 0:
				return "no-route"
			case 1, 5:
				return "admin-prohibited"
			case 2:
				return "beyond-scope"
			case 3:
				return "host-unreach"
			case 6:
				return "reject-route"
			}
			return "dest-unreach"
		}
		switch r.Reply.Code {
		case 0:
			return "net-unreach"
		case 1:
			return "host-unreach"
		case 2:
			return "proto-unreach"
		case 9:
			return "net-prohibited"
		case 10:
			return "host-prohibited"
		case 13:
			return "admin-prohibited"
		}
		return "dest-unreach"
	case listen.ICMPParamProblem:
		if r.Probe.Dst.Is6() && !r.Probe.Dst.Is4In6() {
			return "param-problem"
		}
		return "unknown-response" // nmap names no reason for ICMP type 12
	case listen.ICMPPacketTooBig:
		return "unknown-response" // nor for ICMPv6 type 2
	case listen.ICMPTTLExceeded, listen.ICMPReassemblyExceeded:
		return "time-exceeded"
	case listen.UDPReply:
		return "udp-response"
	case listen.EchoReply:
		return "echo-reply"
	}
	return "no-response"
}

// interesting says whether a state is never collapsed: nmap always lists
// open ports, and --open lists the possibly open ones too.
func interesting(s listen.State, v portView) bool {
	switch s {
	case listen.Open, listen.Up:
		return true
	case listen.OpenFiltered, listen.Unfiltered:
		return v == viewOpen
	}
	return false
}

// writeResults writes a run's results as text, host by host in the run's
// order: with viewSummary, a host with more than collapseAbove ports lists
// the ports whose state is held by at most collapseAbove of them (and
// always the open ones), then one line per collapsed state, as nmap
// writes it: "Not shown: 995 closed tcp ports (reset)". With viewOpen only
// the open and possibly open ports are listed and every other state is
// counted; with viewAll every port is listed. ICMP runs (one echo per
// host) are one group: the hosts take the ports' place.
func writeResults(out io.Writer, rs []probe.Result, v portView) {
	for len(rs) > 0 {
		n := 1
		if rs[0].Probe.Proto == craft.ProtoICMP {
			n = len(rs)
		} else {
			for n < len(rs) && rs[n].Probe.Dst == rs[0].Probe.Dst {
				n++
			}
		}
		writeGroup(out, rs[:n], v)
		rs = rs[n:]
	}
}

// writeGroup is writeResults for one host's ports (or one ICMP run).
func writeGroup(out io.Writer, rs []probe.Result, v portView) {
	if v == viewAll || (v == viewSummary && len(rs) <= collapseAbove) {
		for i := range rs {
			fmt.Fprintln(out, rs[i].Describe())
		}
		return
	}
	counts := map[listen.State]int{}
	for i := range rs {
		counts[rs[i].State]++
	}
	hidden := func(s listen.State) bool {
		if interesting(s, v) {
			return false
		}
		return v == viewOpen || counts[s] > collapseAbove
	}
	// The collapsed states, in order of first appearance, and per state
	// the count of each reason in order of first appearance.
	type reasonCount struct {
		reason string
		n      int
	}
	var order []listen.State
	reasons := map[listen.State][]reasonCount{}
	for i := range rs {
		r := &rs[i]
		if !hidden(r.State) {
			fmt.Fprintln(out, r.Describe())
			continue
		}
		rc, ok := reasons[r.State]
		if !ok {
			order = append(order, r.State)
		}
		why := nmapReason(r)
		j := slices.IndexFunc(rc, func(c reasonCount) bool { return c.reason == why })
		if j < 0 {
			rc = append(rc, reasonCount{why, 0})
			j = len(rc) - 1
		}
		rc[j].n++
		reasons[r.State] = rc
	}
	what, unit := probe.ProtoName(rs[0].Probe.Proto)+" port", fmt.Sprintf(" on %v", rs[0].Probe.Dst)
	if rs[0].Probe.Proto == craft.ProtoICMP {
		what, unit = "host", ""
	}
	for _, s := range order {
		rc := reasons[s]
		parts := make([]string, len(rc))
		for i, c := range rc {
			parts[i] = c.reason
			if len(rc) > 1 {
				parts[i] = fmt.Sprintf("%d %s", c.n, c.reason)
			}
		}
		fmt.Fprintf(out, "Not shown: %d %s %s%s%s (%s)\n", counts[s], s, what, plural(counts[s]), unit, strings.Join(parts, ", "))
	}
}
