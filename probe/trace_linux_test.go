package probe

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
)

// traceIn runs a trace from the multipath topology's source and returns it
// with the probes each path carried meanwhile.
func traceIn(t *testing.T, m *lab.Multipath, cfg TraceConfig) (rep *TraceReport, viaA, viaB uint64) {
	t.Helper()
	a0, b0, err := m.Forwarded()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Do(lab.MPSrc, func() error { rep, err = Trace(cfg); return err }); err != nil {
		t.Fatalf("trace %+v: %v", cfg, err)
	}
	a1, b1, err := m.Forwarded()
	if err != nil {
		t.Fatal(err)
	}
	return rep, a1 - a0, b1 - b0
}

var protoNames = map[uint8]string{craft.ProtoUDP: "udp", craft.ProtoTCP: "tcp", craft.ProtoICMP: "icmp"}

// checkPath asserts that rep is the path through RA or RB exactly as built,
// every probe answered by the hop's one router, and returns which path.
func checkPath(t *testing.T, rep *TraceReport, final listen.Reason, finalType, finalCode uint8) (viaB bool) {
	t.Helper()
	if !rep.Reached || len(rep.Hops) != 4 {
		t.Fatalf("reached %v in %d hops, want the destination at hop 4: %+v", rep.Reached, len(rep.Hops), rep.Hops)
	}
	second := rep.Hops[1].Responders()
	if len(second) != 1 {
		t.Fatalf("hop 2 answered from %v: one router expected", second)
	}
	viaB = second[0] == lab.MPAddrRB
	want := [][]netip.Addr{{lab.MPAddrR0}, {lab.MPAddrRA}, {lab.MPAddrRJA}, {lab.MPAddrDst}}
	if viaB {
		want = [][]netip.Addr{{lab.MPAddrR0}, {lab.MPAddrRB}, {lab.MPAddrRJB}, {lab.MPAddrDst}}
	}
	for i := range rep.Hops {
		h := &rep.Hops[i]
		if got := h.Responders(); !slices.Equal(got, want[i]) || h.TTL != i+1 {
			t.Errorf("hop %d (TTL %d) answered from %v, want %v", i+1, h.TTL, got, want[i])
		}
		for _, p := range h.Probes {
			r := p.Reply
			if i < 3 && (r.Reason != listen.ICMPTTLExceeded || p.Type != craft.ICMPTimeExceeded || p.Code != 0 || r.QuotedTTL != 1 || r.QuotedID != p.IPID) {
				t.Errorf("hop %d: %v type %d code %d quoting TTL %d, ID %#x (sent %#x); want TTL exceeded in transit quoting TTL 1",
					i+1, r.Reason, p.Type, p.Code, r.QuotedTTL, r.QuotedID, p.IPID)
			}
			if i == 3 && (r.Reason != final || p.Type != finalType || p.Code != finalCode) {
				t.Errorf("destination: %v type %d code %d; want %v type %d code %d", r.Reason, p.Type, p.Code, final, finalType, finalCode)
			}
			if p.RTT <= 0 || p.RTT > MaxTimeout {
				t.Errorf("hop %d: RTT %v", i+1, p.RTT)
			}
		}
	}
	return viaB
}

func TestTraceMultipath(t *testing.T) {
	m := lab.MultipathForTest(t)
	// An open TCP port at the destination: its SYN-ACK ends a trace too.
	var ln net.Listener
	if err := m.Do(lab.MPDst, func() (err error) { ln, err = net.Listen("tcp4", "198.18.20.2:8080"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const probes = 3
	for _, tc := range []struct {
		proto    uint8
		port     uint16
		final    listen.Reason
		typ, cod uint8
		extra    uint64 // packets of this host's kernel after the answers: its RST to each SYN-ACK
	}{
		{craft.ProtoUDP, 0, listen.ICMPPortUnreachable, craft.ICMPUnreachable, craft.CodePortUnreachable, 0},
		{craft.ProtoTCP, 0, listen.Rst, 0, 0, 0},
		{craft.ProtoTCP, 8080, listen.SynAck, 0, 0, probes},
		{craft.ProtoICMP, 0, listen.EchoReply, craft.ICMPEchoReply, 0, 0},
	} {
		t.Run(fmt.Sprintf("%s-%d-paris", protoNames[tc.proto], tc.port), func(t *testing.T) {
			rep, a, b := traceIn(t, m, TraceConfig{Proto: tc.proto, Dst: lab.MPAddrDst, DstPort: tc.port, Paris: true, Probes: probes})
			viaB := checkPath(t, rep, tc.final, tc.typ, tc.cod)
			// Every probe with a TTL of 2 or more left R0, all down one path.
			want := uint64(3*probes) + tc.extra
			if rep.Sent != 4*probes {
				t.Errorf("sent %d probes, want %d", rep.Sent, 4*probes)
			}
			if on, off := a, b; viaB && (b != want || a != 0) || !viaB && (on != want || off != 0) {
				t.Errorf("RA received %d packets and RB %d (trace via RB: %v); want %d on the trace's path, 0 on the other", a, b, viaB, want)
			}
		})
	}
	// Classic mode: the ports change with every probe, so R0's hash sends
	// them down both paths; the trace sees both routers at hop 2 and 3.
	for _, proto := range []uint8{craft.ProtoUDP, craft.ProtoTCP} {
		t.Run(protoNames[proto]+"-classic", func(t *testing.T) {
			const n = 6 // all 18 probes past R0 down one path: 1 in 2^17
			rep, a, b := traceIn(t, m, TraceConfig{Proto: proto, Dst: lab.MPAddrDst, Probes: n})
			if !rep.Reached || len(rep.Hops) != 4 {
				t.Fatalf("reached %v in %d hops", rep.Reached, len(rep.Hops))
			}
			if a == 0 || b == 0 || a+b != 3*n {
				t.Errorf("RA received %d probes and RB %d; want both paths used, %d in all", a, b, 3*n)
			}
			if got := rep.Hops[1].Responders(); len(got) != 2 {
				t.Logf("hop 2 answered from %v only (its %d probes happened to hash alike)", got, n)
			}
			for _, addr := range append(rep.Hops[1].Responders(), rep.Hops[2].Responders()...) {
				if !slices.Contains([]netip.Addr{lab.MPAddrRA, lab.MPAddrRB, lab.MPAddrRJA, lab.MPAddrRJB}, addr) {
					t.Errorf("a router that was not built answered: %v", addr)
				}
			}
		})
	}
}

// Linux's L4 hash (fib_multipath_hash_policy=1) takes ports from TCP, UDP,
// SCTP and the like only: an echo request hashes on its addresses alone, so
// even classic ICMP probes, whose checksums all differ, stay on one path
// here. Routers that hash the first four bytes after the IP header — the
// ICMP checksum, where TCP and UDP keep their ports — split them; Paris
// mode holds that checksum still for them.
func TestTraceICMPClassicLinuxHash(t *testing.T) {
	m := lab.MultipathForTest(t)
	const n = 6
	rep, a, b := traceIn(t, m, TraceConfig{Proto: craft.ProtoICMP, Dst: lab.MPAddrDst, Probes: n})
	checkPath(t, rep, listen.EchoReply, craft.ICMPEchoReply, 0)
	if a+b != 3*n || a != 0 && b != 0 {
		t.Errorf("RA received %d echo requests and RB %d; Linux hashes ICMP on its addresses: all %d down one path", a, b, 3*n)
	}
}

// The path MTU: through RB the RB–RJ link's smaller MTU, named by RB in a
// fragmentation-needed answer to the probe for hop 3; through RA the whole
// path's 1500. Source ports are tried until both paths were traced.
func TestTracePMTU(t *testing.T) {
	m := lab.MultipathForTest(t)
	seen := map[bool]bool{}
	for sport := uint16(40000); sport < 40032 && len(seen) < 2; sport++ {
		rep, a, b := traceIn(t, m, TraceConfig{Proto: craft.ProtoUDP, Dst: lab.MPAddrDst, Paris: true, PMTU: true, SrcPort: sport, Probes: 2})
		if !rep.Reached || len(rep.Hops) != 4 {
			t.Fatalf("reached %v in %d hops", rep.Reached, len(rep.Hops))
		}
		viaB := rep.Hops[1].Responders()[0] == lab.MPAddrRB
		if viaB && a != 0 || !viaB && b != 0 {
			t.Fatalf("sport %d: RA got %d, RB %d, but hop 2 answered from %v", sport, a, b, rep.Hops[1].Responders())
		}
		seen[viaB] = true
		want, mtus := 1500, []int{1500, 1500, 1500, 1500}
		if viaB {
			want, mtus = lab.MultipathSmallMTU, []int{1500, 1500, lab.MultipathSmallMTU, lab.MultipathSmallMTU}
			fn := rep.Hops[2].Probes[0].Reply
			if fn.Reason != listen.ICMPFragNeeded || fn.From != lab.MPAddrRB || fn.MTU != lab.MultipathSmallMTU {
				t.Errorf("hop 3's first answer: %v from %v MTU %d; want frag-needed from RB, MTU %d", fn.Reason, fn.From, fn.MTU, lab.MultipathSmallMTU)
			}
		}
		if rep.PMTU != want {
			t.Errorf("sport %d via B %v: path MTU %d, want %d", sport, viaB, rep.PMTU, want)
		}
		for i, h := range rep.Hops {
			if h.MTU != mtus[i] {
				t.Errorf("via B %v: hop %d MTU %d, want %d", viaB, i+1, h.MTU, mtus[i])
			}
			for _, p := range h.Probes {
				if p.Reply.Reason != listen.ICMPFragNeeded && p.Size != mtus[i] {
					t.Errorf("hop %d answered a probe of %d bytes; the path MTU there is %d", i+1, p.Size, mtus[i])
				}
			}
		}
	}
	if len(seen) != 2 {
		t.Fatalf("32 source ports all hashed to one path (%v)", seen)
	}
}

// Two traces at once, from one host to one destination: every answer goes
// to the probe that caused it.
func TestTraceTwoAtOnce(t *testing.T) {
	m := lab.MultipathForTest(t)
	var wg sync.WaitGroup
	reps := make([]*TraceReport, 4)
	errs := make([]error, 4)
	for i, proto := range []uint8{craft.ProtoUDP, craft.ProtoUDP, craft.ProtoICMP, craft.ProtoICMP} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = m.Do(lab.MPSrc, func() (err error) {
				reps[i], err = Trace(TraceConfig{Proto: proto, Dst: lab.MPAddrDst, Paris: true, Probes: 5})
				return err
			})
		}()
	}
	wg.Wait()
	for i, rep := range reps {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		final := listen.ICMPPortUnreachable
		if rep.Proto == craft.ProtoICMP {
			final = listen.EchoReply
		}
		checkPath(t, rep, final, map[listen.Reason]uint8{listen.ICMPPortUnreachable: 3, listen.EchoReply: 0}[final], map[listen.Reason]uint8{listen.ICMPPortUnreachable: 3}[final])
		for _, h := range rep.Hops {
			for _, p := range h.Probes {
				if p.Reply.Reason == listen.ICMPPortUnreachable && p.Reply.QuotedID != p.IPID {
					t.Errorf("trace %d: a probe with IP ID %#x got the answer to %#x", i, p.IPID, p.Reply.QuotedID)
				}
			}
		}
	}
}

func TestTraceStop(t *testing.T) {
	m := lab.MultipathForTest(t)
	stop := make(chan struct{})
	close(stop)
	var rep *TraceReport
	err := m.Do(lab.MPSrc, func() (err error) {
		rep, err = Trace(TraceConfig{Proto: craft.ProtoUDP, Dst: lab.MPAddrDst, Stop: stop})
		return err
	})
	if err != nil || !rep.Stopped || rep.Reached || len(rep.Hops) > 1 {
		t.Fatalf("stopped before it began: %+v, %v", rep, err)
	}
}

func TestTraceConfigRefused(t *testing.T) {
	dst := netip.MustParseAddr("198.18.20.2")
	for _, c := range []TraceConfig{
		{Proto: 47, Dst: dst},
		{Proto: craft.ProtoUDP},
		{Proto: craft.ProtoUDP, Dst: dst, Probes: MaxTraceProbes + 1},
		{Proto: craft.ProtoUDP, Dst: dst, MaxTTL: 256},
		{Proto: craft.ProtoUDP, Dst: dst, FirstTTL: 10, MaxTTL: 5},
		{Proto: craft.ProtoUDP, Dst: dst, Timeout: -1},
	} {
		if _, err := Trace(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", c, err)
		}
	}
}

// What a load balancer reads of each probe leaving the source: the ports,
// or an echo request's checksum. Paris mode holds it still; classic mode
// changes it with every probe. The checksums are valid either way.
func TestTraceFlowIdentifier(t *testing.T) {
	m := lab.MultipathForTest(t)
	for _, proto := range []uint8{craft.ProtoUDP, craft.ProtoTCP, craft.ProtoICMP} {
		for _, paris := range []bool{true, false} {
			flows := map[[2]uint16]int{}
			sent := 0
			cfg := TraceConfig{Proto: proto, Dst: lab.MPAddrDst, Paris: paris, Probes: 3, OnPacket: func(k listen.Kind, p *listen.Packet) {
				if k != listen.ProbeCopy {
					return
				}
				d := &p.Decoded
				for _, c := range p.Checksums() {
					if c.Status == craft.ChecksumBad {
						t.Errorf("%s: a probe left with a bad %v checksum", protoNames[proto], c.Layer)
					}
				}
				sent++
				switch {
				case d.Has(craft.LayerUDP):
					flows[[2]uint16{d.UDP.SrcPort, d.UDP.DstPort}]++
				case d.Has(craft.LayerTCP):
					flows[[2]uint16{d.TCP.SrcPort, d.TCP.DstPort}]++
				case d.Has(craft.LayerICMP):
					flows[[2]uint16{uint16(d.ICMP.Type)<<8 | uint16(d.ICMP.Code), func() uint16 { v, _ := d.ICMP.Checksum.Get(); return v }()}]++
				}
			}}
			rep, _, _ := traceIn(t, m, cfg)
			if sent != rep.Sent || sent != 12 {
				t.Fatalf("%s paris %v: saw %d probes leave, sent %d", protoNames[proto], paris, sent, rep.Sent)
			}
			if want := map[bool]int{true: 1, false: 12}[paris]; len(flows) != want {
				t.Errorf("%s paris %v: %d flow identifiers, want %d: %v", protoNames[proto], paris, len(flows), want, flows)
			}
		}
	}
}
