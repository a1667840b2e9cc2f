package probe

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
)

// The multipath topology over IPv6, where R0 hashes the flow label with
// the addresses and the next header (claim flow-label-hashed): a Paris
// trace holds its flow label still and every probe takes one path, the
// one whose router answers at hop 2; Paris traces that differ in their
// flow label alone (--flow-label) take both paths between them; a classic
// trace, whose label changes with every probe, sends its probes down both
// paths, and the counters of RA and RB show it.
func TestTrace6Multipath(t *testing.T) {
	m := lab.MultipathForTest(t)
	hop2 := []netip.Addr{lab.MPAddr6RA, lab.MPAddr6RB}
	hop3 := []netip.Addr{lab.MPAddr6RJA, lab.MPAddr6RJB}
	// check asserts the path as built, each hop answered by one of the
	// routers it may be, and returns whether hop 2 was RB.
	check := func(t *testing.T, rep *TraceReport, probes int) (viaB bool) {
		t.Helper()
		if !rep.Reached || len(rep.Hops) != 4 || rep.Sent != 4*probes {
			t.Fatalf("reached %v in %d hops with %d probes: %s", rep.Reached, len(rep.Hops), rep.Sent, hopsOf(rep))
		}
		for i, may := range [][]netip.Addr{{lab.MPAddr6R0}, hop2, hop3, {lab.MPAddr6Dst}} {
			h := &rep.Hops[i]
			for _, p := range h.Probes {
				r := p.Reply
				if !slices.Contains(may, r.From) {
					t.Errorf("hop %d answered from %v, want one of %v", i+1, r.From, may)
				}
				if i < 3 && (r.Reason != listen.ICMPTTLExceeded || p.Type != craft.ICMPv6TimeExceeded || p.Code != 0 || r.QuotedTTL != 1) {
					t.Errorf("hop %d: %v type %d code %d quoting hop limit %d; want time exceeded quoting 1", i+1, r.Reason, p.Type, p.Code, r.QuotedTTL)
				}
				if i == 3 && (r.Reason != listen.ICMPPortUnreachable || p.Type != craft.ICMPv6Unreachable || p.Code != 4) {
					t.Errorf("destination: %v type %d code %d; want port unreachable (type 1 code 4)", r.Reason, p.Type, p.Code)
				}
			}
		}
		return rep.Hops[1].Probes[0].Reply.From == lab.MPAddr6RB
	}
	t.Run("paris", func(t *testing.T) {
		const probes = 3
		rep, a, b := traceIn(t, m, TraceConfig{Proto: craft.ProtoUDP, Dst: lab.MPAddr6Dst, Paris: true, Probes: probes, FlowLabel: craft.Set[uint32](0x12345)})
		viaB := check(t, rep, probes)
		t.Logf("RA %d, RB %d: %s", a, b, hopsOf(rep))
		// Every probe with a hop limit of 2 or more left R0, all down the
		// path whose router answered at hop 2.
		if got := rep.Hops[1].Responders(); len(got) != 1 {
			t.Errorf("hop 2 answered from %v: one router expected", got)
		}
		if want := uint64(3 * probes); viaB && (b != want || a != 0) || !viaB && (a != want || b != 0) {
			t.Errorf("RA received %d probes and RB %d (hop 2 via RB: %v); want %d on that path, 0 on the other", a, b, viaB, want)
		}
	})
	t.Run("paris-flow-labels", func(t *testing.T) {
		// One source and destination port for every run; only the flow
		// label differs. 24 runs of 3 probes past R0 all down one path:
		// 1 in 2^23.
		seen := map[bool]int{}
		for i := range 24 {
			label := 0x10000 + uint32(i)*0x1111
			rep, a, b := traceIn(t, m, TraceConfig{Proto: craft.ProtoUDP, Dst: lab.MPAddr6Dst, Paris: true, Probes: 1, SrcPort: 40000, DstPort: 33434, FlowLabel: craft.Set(label)})
			viaB := check(t, rep, 1)
			if viaB && (a != 0 || b != 3) || !viaB && (a != 3 || b != 0) {
				t.Errorf("flow label %#x: RA received %d probes and RB %d, hop 2 via RB %v: want the 3 on one path", label, a, b, viaB)
			}
			seen[viaB]++
		}
		t.Logf("runs via RA %d, via RB %d", seen[false], seen[true])
		if len(seen) != 2 {
			t.Errorf("24 flow labels all took one path (%v): the label is hashed", seen)
		}
	})
	t.Run("classic", func(t *testing.T) {
		const n = 6 // all 18 probes past R0 down one path: 1 in 2^17
		rep, a, b := traceIn(t, m, TraceConfig{Proto: craft.ProtoUDP, Dst: lab.MPAddr6Dst, Probes: n, FlowLabel: craft.Set[uint32](0x20000)})
		check(t, rep, n)
		t.Logf("RA %d, RB %d: %s", a, b, hopsOf(rep))
		if a == 0 || b == 0 || a+b != 3*n {
			t.Errorf("RA received %d probes and RB %d; want both paths used, %d in all", a, b, 3*n)
		}
	})
}
