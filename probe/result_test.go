package probe

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
)

// Every reply a probe of each protocol and family can draw, from the
// target and from another host: the line names the probe's own protocol
// (never UDP for a TCP probe, nor TCP for a UDP one), the family's ICMP,
// who answered, and says "closed" or "nothing listens" only where the
// state is closed, which only the target itself can make it.
func TestDescribeEveryReply(t *testing.T) {
	type fam struct {
		dst, router netip.Addr
		icmp        uint8
		v6          bool
	}
	fams := []fam{
		{netip.MustParseAddr("198.18.2.2"), netip.MustParseAddr("198.18.1.254"), craft.ProtoICMP, false},
		{netip.MustParseAddr("2001:2:0:2::1"), netip.MustParseAddr("2001:2:0:1::2"), craft.ProtoICMPv6, true},
	}
	errs := []listen.Reason{listen.ICMPPortUnreachable, listen.ICMPUnreachable, listen.ICMPFragNeeded, listen.ICMPPacketTooBig,
		listen.ICMPTTLExceeded, listen.ICMPReassemblyExceeded, listen.ICMPParamProblem}
	// What the Matcher can pair with a probe of each protocol besides the
	// ICMP errors, which any probe can draw.
	own := map[uint8][]listen.Reason{
		craft.ProtoTCP: {listen.SynAck, listen.Rst, listen.NoResponse},
		craft.ProtoUDP: {listen.UDPReply, listen.NoResponse, listen.ICMPRateLimited},
	}
	forbidden := map[uint8][]string{
		craft.ProtoTCP: {"UDP", "datagram (", "echo"},
		craft.ProtoUDP: {"TCP", "SYN", "RST", "segment", "echo"},
	}
	n := 0
	for _, f := range fams {
		for _, proto := range []uint8{craft.ProtoTCP, craft.ProtoUDP, f.icmp} {
			reasons := append([]listen.Reason(nil), own[proto]...)
			if proto == f.icmp {
				reasons = []listen.Reason{listen.EchoReply, listen.NoResponse}
			}
			for _, e := range errs {
				if (e == listen.ICMPFragNeeded && f.v6) || (e == listen.ICMPPacketTooBig && !f.v6) {
					continue
				}
				reasons = append(reasons, e)
			}
			bad := forbidden[proto]
			if proto == f.icmp {
				bad = []string{"UDP", "TCP", "segment", "listens"}
			}
			if f.v6 {
				bad = append(bad, "ICMP ", "IP ID")
			}
			for _, reason := range reasons {
				for _, from := range []netip.Addr{f.dst, f.router} {
					r := Result{Probe: listen.Probe{Proto: proto, Dst: f.dst, DstPort: 53}, Attempts: 1, RTT: time.Millisecond,
						Reply: listen.Reply{Reason: reason, From: from, Code: 3, MTU: 1280}}
					if f.v6 && reason == listen.ICMPPortUnreachable {
						r.Reply.Code = 4
					}
					switch reason {
					case listen.NoResponse, listen.ICMPRateLimited:
						if from != f.dst {
							continue
						}
						r.Reply.From = netip.Addr{}
					case listen.SynAck, listen.Rst, listen.UDPReply, listen.EchoReply:
						if from != f.dst {
							continue // a reply of the probe's own protocol comes from the target's address
						}
					}
					if proto != f.icmp && !f.v6 && reason == listen.ICMPUnreachable {
						r.Reply.Code = 13 // communication administratively prohibited
					}
					r.State = listen.ClassifyProbe(&r.Probe, &r.Reply)
					d := r.Describe()
					n++
					if testing.Verbose() {
						t.Log(d)
					}
					where := func() string { return d }
					for _, w := range bad {
						if strings.Contains(d, w) {
							t.Errorf("%q appears in\n%s", w, where())
						}
					}
					if !f.v6 && reason != listen.ICMPPacketTooBig && strings.Contains(d, "ICMPv6") {
						t.Errorf("an IPv4 probe's line names ICMPv6:\n%s", d)
					}
					if strings.Contains(d, "nothing listens") != (r.State == listen.Closed) {
						t.Errorf("state %s, but the line says nothing listens=%v:\n%s", r.State, !(r.State == listen.Closed), d)
					}
					if r.State == listen.Closed && from != f.dst {
						t.Errorf("closed from another host than the target:\n%s", d)
					}
					if r.Reply.From.IsValid() && from != f.dst {
						if !strings.Contains(d, from.String()) || !strings.Contains(r.ReasonText(), "from "+from.String()) {
							t.Errorf("a reply from %v, not the target, does not say so:\n%s", from, d)
						}
					}
					if r.Reply.From.IsValid() && from == f.dst && strings.Contains(r.ReasonText(), " from ") {
						t.Errorf("a reply from the target reads as another host's: %s", r.ReasonText())
					}
				}
			}
		}
	}
	if n < 60 {
		t.Errorf("only %d combinations", n)
	}
}

// A probe its target drops unread: a silence reads filtered and
// probe-malformed, blames the probe, and an answer that came anyway (a
// parameter problem) is described as usual.
func TestMalformedProbeResult(t *testing.T) {
	dg, err := (&craft.Packet{IPv4: &craft.IPv4{Src: netip.MustParseAddr("198.18.0.2"), Dst: netip.MustParseAddr("198.18.1.1"), Checksum: craft.Set[uint16](0xdead)},
		UDP: &craft.UDP{SrcPort: 40000, DstPort: 9998}}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	var m malformed
	m.sent(0, 2, [][]byte{dg}, 0)
	good, _ := (&craft.Packet{IPv4: &craft.IPv4{Src: netip.MustParseAddr("198.18.0.2"), Dst: netip.MustParseAddr("198.18.1.1")},
		UDP: &craft.UDP{SrcPort: 40000, DstPort: 9999}}).Append(nil)
	m.sent(1, 2, [][]byte{good}, 0)
	res := make([]Result, 2)
	for i := range res {
		res[i] = Result{Probe: listen.Probe{Proto: craft.ProtoUDP, Dst: netip.MustParseAddr("198.18.1.1"), DstPort: 9998 + uint16(i)}, Attempts: 1}
		res[i].State = listen.ClassifyProbe(&res[i].Probe, &res[i].Reply)
	}
	m.mark(res)
	r := res[0]
	if r.Malformed == nil || r.State != listen.Filtered || r.ReasonText() != "probe-malformed" {
		t.Fatalf("%+v", r)
	}
	line := r.Describe()
	for _, w := range []string{"filtered", "probe-malformed", "expected: our probe's IPv4 header checksum is bad (0xdead, should be 0x", craft.ClaimIPv4ChecksumBad.Text(), "the port's state cannot be told"} {
		if !strings.Contains(line, w) {
			t.Errorf("%q lacks %q", line, w)
		}
	}
	if j, _ := r.MarshalJSON(); !strings.Contains(string(j), `"reason":"probe-malformed"`) || !strings.Contains(string(j), `"state":"filtered"`) {
		t.Errorf("JSON %s", j)
	}
	if res[1].Malformed != nil || res[1].State != listen.OpenFiltered {
		t.Errorf("the well-formed probe: %+v", res[1])
	}
	// A fault some attempt did not have does not mark the probe.
	var m2 malformed
	m2.sent(0, 1, [][]byte{dg}, 0)
	m2.sent(0, 1, [][]byte{good}, 0)
	if m2.drops[0] != nil {
		t.Error("a probe once well formed was marked malformed")
	}
	// An answer came: as usual.
	pp := Result{Probe: res[0].Probe, Reply: listen.Reply{Reason: listen.ICMPParamProblem, From: netip.MustParseAddr("198.18.1.1")}}
	pp.State = listen.ClassifyProbe(&pp.Probe, &pp.Reply)
	markMalformed(&pp, m.drops[0])
	if pp.Malformed != nil || strings.Contains(pp.Describe(), "malformed") {
		t.Errorf("an answered probe: %q", pp.Describe())
	}
}
