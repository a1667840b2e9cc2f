package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/probe"
)

// handResults builds the Results of a run of ports 1..n against dst, as
// probe.Run returns them: every port answers with the reason rest gives it
// except those in special.
func handResults(dst netip.Addr, proto uint8, n int, rest listen.Reason, special map[uint16]listen.Reply) []probe.Result {
	rs := make([]probe.Result, n)
	for i := range rs {
		port := uint16(i + 1)
		r := &rs[i]
		r.Probe = listen.Probe{Proto: proto, Dst: dst, DstPort: port}
		r.Reply = listen.Reply{Reason: rest, From: dst}
		if s, ok := special[port]; ok {
			r.Reply = s
		}
		if r.Reply.Reason == listen.NoResponse {
			r.Reply.From = netip.Addr{}
		}
		r.Attempts = 1
		r.State = listen.ClassifyProbe(&r.Probe, &r.Reply)
	}
	return rs
}

func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

func TestSummaryThousandPorts(t *testing.T) {
	dst := netip.MustParseAddr("198.18.1.1")
	gw := netip.MustParseAddr("198.18.1.254")
	tcpOpen := []uint16{22, 80, 443, 631, 993}
	tcpSpecial := map[uint16]listen.Reply{}
	for _, p := range tcpOpen {
		tcpSpecial[p] = listen.Reply{Reason: listen.SynAck, From: dst}
	}
	for p := uint16(600); p < 610; p++ { // 10 dropped and 3 refused by a router: filtered, a minority, listed
		tcpSpecial[p] = listen.Reply{Reason: listen.NoResponse}
	}
	for p := uint16(700); p < 703; p++ {
		tcpSpecial[p] = listen.Reply{Reason: listen.ICMPUnreachable, From: gw, Code: 13}
	}
	udpOpen := []uint16{53, 123, 161}
	udpSpecial := map[uint16]listen.Reply{}
	for _, p := range udpOpen {
		udpSpecial[p] = listen.Reply{Reason: listen.UDPReply, From: dst}
	}
	for p := uint16(900); p < 1000; p++ { // ICMP rate limit: silent
		udpSpecial[p] = listen.Reply{Reason: listen.NoResponse}
	}
	cases := []struct {
		name     string
		rs       []probe.Result
		open     []uint16
		notShown []string
		listed   int
	}{
		{"tcp", handResults(dst, craft.ProtoTCP, 1000, listen.Rst, tcpSpecial), tcpOpen,
			[]string{"Not shown: 982 closed tcp ports on 198.18.1.1 (reset)"}, 18},
		{"udp", handResults(dst, craft.ProtoUDP, 1000, listen.ICMPPortUnreachable, udpSpecial), udpOpen,
			[]string{"Not shown: 897 closed udp ports on 198.18.1.1 (port-unreach)", "Not shown: 100 open|filtered udp ports on 198.18.1.1 (no-response)"}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			writeResults(&b, c.rs, viewSummary)
			got := lines(b.String())
			if len(got) >= 30 {
				t.Fatalf("%d lines, want fewer than 30:\n%s", len(got), b.String())
			}
			if len(got) != c.listed+len(c.notShown) {
				t.Errorf("%d lines, want %d listed and %d Not shown:\n%s", len(got), c.listed, len(c.notShown), b.String())
			}
			for _, p := range c.open {
				want := fmt.Sprintf("198.18.1.1:%d/%s", p, c.name)
				if !slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, want+" ") && strings.Contains(l, " open ") }) {
					t.Errorf("open port %d not listed:\n%s", p, b.String())
				}
			}
			if tail := got[len(got)-len(c.notShown):]; !slices.Equal(tail, c.notShown) {
				t.Errorf("Not shown lines:\n%q\nwant\n%q", tail, c.notShown)
			}

			// --open: the open ports, then every other state counted but
			// open|filtered, which nmap's --open lists as possibly open.
			b.Reset()
			writeResults(&b, c.rs, viewOpen)
			got = lines(b.String())
			for i, p := range c.open {
				if !strings.HasPrefix(got[i], fmt.Sprintf("198.18.1.1:%d/%s ", p, c.name)) {
					t.Errorf("--open line %d: %q, want port %d", i, got[i], p)
				}
			}
			for _, l := range got[len(c.open):] {
				if !strings.HasPrefix(l, "Not shown: ") && !strings.Contains(l, " open|filtered ") {
					t.Errorf("--open lists a port that is not open: %q", l)
				}
			}

			// -v: every port.
			b.Reset()
			writeResults(&b, c.rs, viewAll)
			if got := lines(b.String()); len(got) != 1000 || strings.Contains(b.String(), "Not shown") {
				t.Errorf("-v: %d lines, want 1000 and no Not shown line", len(got))
			}
		})
	}
}

func TestSummaryFewPortsListed(t *testing.T) {
	dst := netip.MustParseAddr("198.18.1.1")
	rs := handResults(dst, craft.ProtoTCP, 25, listen.Rst, nil)
	var b bytes.Buffer
	writeResults(&b, rs, viewSummary)
	if got := lines(b.String()); len(got) != 25 {
		t.Errorf("25 ports: %d lines, want each port listed:\n%s", len(got), b.String())
	}
}

func TestSummaryMixedReasonsAndHosts(t *testing.T) {
	a, b2 := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.1.2")
	gw := netip.MustParseAddr("198.18.1.254")
	special := map[uint16]listen.Reply{}
	for p := uint16(1); p <= 30; p++ {
		special[p] = listen.Reply{Reason: listen.ICMPUnreachable, From: gw, Code: 13}
	}
	rs := append(handResults(a, craft.ProtoTCP, 100, listen.NoResponse, special), handResults(b2, craft.ProtoTCP, 40, listen.Rst, map[uint16]listen.Reply{7: {Reason: listen.SynAck, From: b2}})...)
	var out bytes.Buffer
	writeResults(&out, rs, viewSummary)
	want := []string{
		"Not shown: 100 filtered tcp ports on 198.18.1.1 (30 admin-prohibited, 70 no-response)",
		"", // port 7 of the second host, checked below
		"Not shown: 39 closed tcp ports on 198.18.1.2 (reset)",
	}
	got := lines(out.String())
	if len(got) != len(want) || got[0] != want[0] || got[2] != want[2] || !strings.HasPrefix(got[1], "198.18.1.2:7/tcp ") {
		t.Errorf("got\n%s\nwant\n%s", out.String(), strings.Join(want, "\n"))
	}
}

func TestSummaryICMPHosts(t *testing.T) {
	var rs []probe.Result
	a := netip.MustParseAddr("198.18.1.0")
	for i := 0; i < 64; i++ {
		r := probe.Result{Probe: listen.Probe{Proto: craft.ProtoICMP, Dst: a}, Attempts: 1}
		if i == 1 {
			r.Reply = listen.Reply{Reason: listen.EchoReply, From: a}
		}
		r.State = listen.ClassifyProbe(&r.Probe, &r.Reply)
		rs = append(rs, r)
		a = a.Next()
	}
	var out bytes.Buffer
	writeResults(&out, rs, viewSummary)
	got := lines(out.String())
	if len(got) != 2 || !strings.HasPrefix(got[0], "198.18.1.1/icmp ") || got[1] != "Not shown: 63 filtered hosts (no-response)" {
		t.Errorf("got\n%s", out.String())
	}
}

// The reason words of the "Not shown" lines are nmap's (portreasons.cc,
// icmpv4_to_reason and icmpv6_to_reason): ICMPv6's codes are not ICMP's,
// and an ICMP error that answered is never "no-response".
func TestNmapReasonWords(t *testing.T) {
	v4, v6 := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("2001:2:0:1::1")
	for _, c := range []struct {
		dst    netip.Addr
		reason listen.Reason
		code   uint8
		want   string
	}{
		{v4, listen.ICMPUnreachable, 1, "host-unreach"}, {v4, listen.ICMPUnreachable, 13, "admin-prohibited"}, {v4, listen.ICMPFragNeeded, 4, "dest-unreach"},
		{v6, listen.ICMPUnreachable, 0, "no-route"}, {v6, listen.ICMPUnreachable, 1, "admin-prohibited"}, {v6, listen.ICMPUnreachable, 2, "beyond-scope"},
		{v6, listen.ICMPUnreachable, 3, "host-unreach"}, {v6, listen.ICMPUnreachable, 5, "admin-prohibited"}, {v6, listen.ICMPUnreachable, 6, "reject-route"},
		{v4, listen.ICMPPortUnreachable, 3, "port-unreach"}, {v6, listen.ICMPPortUnreachable, 4, "port-unreach"},
		{v6, listen.ICMPParamProblem, 0, "param-problem"}, {v4, listen.ICMPParamProblem, 0, "unknown-response"}, {v6, listen.ICMPPacketTooBig, 0, "unknown-response"},
		{v4, listen.ICMPTTLExceeded, 0, "time-exceeded"}, {v6, listen.ICMPReassemblyExceeded, 1, "time-exceeded"},
		{v4, listen.SplitHandshakeSyn, 0, "split-handshake-syn"}, // nmap's reason_map[ER_SYN]
	} {
		r := probe.Result{Probe: listen.Probe{Proto: craft.ProtoUDP, Dst: c.dst}, Reply: listen.Reply{Reason: c.reason, Code: c.code}}
		if got := nmapReason(&r); got != c.want {
			t.Errorf("%v %v code %d: %q, want %q", c.dst, c.reason, c.code, got, c.want)
		}
	}
}
