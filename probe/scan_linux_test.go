package probe

import (
	"bufio"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// block is the scale tests' target: a /17 of the benchmarking range (RFC
// 2544), or a /20 with -short.
func block() netip.Prefix {
	if testing.Short() {
		return netip.MustParsePrefix("198.18.128.0/20")
	}
	return netip.MustParsePrefix("198.18.128.0/17")
}

// oneHostForBlock builds a namespace pair (not rawcraft's lab: two
// machines on a switch) where the server answers for every address of
// blk — a local route on its lo, `ip route add local BLOCK dev lo`, makes
// its kernel take each one as its own and answer a SYN to a closed port
// with RST — and the client routes blk through the server.
func oneHostForBlock(t *testing.T, blk netip.Prefix) *lab.Pair {
	t.Helper()
	p := lab.PairForTest(t)
	dst := &net.IPNet{IP: blk.Addr().AsSlice(), Mask: net.CIDRMask(blk.Bits(), 32)}
	if err := p.Do(p.Server, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{LinkIndex: lo.Attrs().Index, Dst: dst, Type: unix.RTN_LOCAL,
			Table: unix.RT_TABLE_LOCAL, Scope: netlink.SCOPE_HOST})
	}); err != nil {
		t.Fatalf("local route for %v on the server's lo: %v", blk, err)
	}
	if err := p.Do(p.Client, func() error {
		eth, err := netlink.LinkByName(lab.PairIfc)
		if err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Dst: dst, Gw: lab.PairServer.AsSlice()})
	}); err != nil {
		t.Fatalf("route for %v through the server: %v", blk, err)
	}
	return p
}

// scanCfg is a SYN to port 80 of every host of blk.
func scanCfg(blk netip.Prefix) Config {
	return Config{Proto: craft.ProtoTCP, Dst: blk.Addr(), Targets: []netip.Prefix{blk}, Ports: []uint16{80},
		Packet:  craft.Packet{IPv4: &craft.IPv4{}, TCP: &craft.TCP{Flags: craft.TCPSyn, Window: 64240}},
		Timeout: time.Second, Retries: 2}
}

func runPair(t *testing.T, p *lab.Pair, cfg Config) *Report {
	t.Helper()
	var rep *Report
	if err := p.Do(p.Client, func() (err error) { rep, err = Run(cfg); return err }); err != nil {
		t.Fatal(err)
	}
	return rep
}

// closedAll checks that rs is every host of blk, port 80, in address order,
// each closed by the RST of its own address.
func closedAll(t *testing.T, what string, rs []Result, blk netip.Prefix) {
	t.Helper()
	n := 1 << (32 - blk.Bits())
	if len(rs) != n {
		t.Fatalf("%s: %d results, want %d", what, len(rs), n)
	}
	a := blk.Addr()
	for i, r := range rs {
		if r.Probe.Dst != a || r.Probe.DstPort != 80 || r.State != listen.Closed || r.Reply.Reason != listen.Rst || r.Reply.From != a {
			t.Fatalf("%s: result %d: %v:%d %s %s from %v; want %v:80 closed by its RST", what, i, r.Probe.Dst, r.Probe.DstPort, r.State, r.Reply.Reason, r.Reply.From, a)
		}
		a = a.Next()
	}
}

// One host answering for a whole /17 (32 768 addresses): a scan of port 80
// on each, in a random order across hosts, matches every RST (all closed)
// and counts no stray reply.
func TestScanBlock(t *testing.T) {
	blk := block()
	p := oneHostForBlock(t, blk)
	start := time.Now()
	rep := runPair(t, p, scanCfg(blk))
	t.Logf("%v × port 80 in %v: %s", blk, time.Since(start).Round(time.Millisecond), rep.Summary())
	if !rep.Stateless || rep.Stray != 0 {
		t.Errorf("stateless %v, %d stray; want a stateless scan and none", rep.Stateless, rep.Stray)
	}
	closedAll(t, "scan", rep.Results, blk)
	for _, r := range rep.Results {
		if r.RTT <= 0 || r.RTT > 2*time.Second {
			t.Fatalf("%v: rtt %v", r.Probe.Dst, r.RTT)
		}
	}
}

// Four shards, run one after the other, cover the block exactly once
// between them: their results' union is every host, their intersection
// empty, and their JSON lines concatenate into the whole scan's.
func TestScanShards(t *testing.T) {
	blk := block()
	p := oneHostForBlock(t, blk)
	cfg := scanCfg(blk)
	whole := runPair(t, p, cfg)
	closedAll(t, "whole", whole.Results, blk)
	seen := map[netip.Addr]int{}
	var lines []string
	for i := 0; i < 4; i++ {
		c := cfg
		c.Shard = Shard{Index: i, Count: 4}
		rep := runPair(t, p, c)
		if rep.Stray != 0 {
			t.Errorf("shard %d: %d stray", i, rep.Stray)
		}
		if len(rep.Results) < len(whole.Results)/4-1000 || len(rep.Results) > len(whole.Results)/4+1000 {
			t.Errorf("shard %d: %d of %d probes", i, len(rep.Results), len(whole.Results))
		}
		for _, r := range rep.Results {
			seen[r.Probe.Dst]++
			if r.State != listen.Closed || r.Reply.From != r.Probe.Dst {
				t.Fatalf("shard %d: %v %s from %v", i, r.Probe.Dst, r.State, r.Reply.From)
			}
			lines = append(lines, contractLine(t, r))
		}
		t.Logf("shard %d/4: %d results; %v", i, len(rep.Results), rep.Notes)
	}
	if len(seen) != len(whole.Results) {
		t.Errorf("the shards probed %d hosts; want %d", len(seen), len(whole.Results))
	}
	for a, n := range seen {
		if n != 1 || !blk.Contains(a) {
			t.Fatalf("%v probed %d times by the shards", a, n)
		}
	}
	want := map[string]bool{}
	for _, r := range whole.Results {
		want[contractLine(t, r)] = true
	}
	for _, l := range lines {
		if !want[l] {
			t.Fatalf("a shard's line %s is not the whole scan's", l)
		}
		delete(want, l)
	}
	if len(want) != 0 {
		t.Errorf("%d lines of the whole scan are in no shard", len(want))
	}
	// A sharded scan of hosts on the link itself (each with its own MAC)
	// is refused in one line; nothing is sent.
	c := scanCfg(netip.MustParsePrefix("198.18.7.0/28"))
	c.Shard = Shard{Index: 0, Count: 2}
	if err := p.Do(p.Client, func() error { _, err := Run(c); return err }); err == nil || !strings.Contains(err.Error(), "on this link") {
		t.Errorf("a sharded on-link scan: %v", err)
	}
}

// contractLine is r's JSON line without the keys that differ between two
// runs of the same scan (rtt_ms, attempts, sport).
func contractLine(t *testing.T, r Result) string {
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "rtt_ms")
	delete(m, "attempts")
	delete(m, "sport")
	out, _ := json.Marshal(m)
	return string(out)
}

// vmHWM is this process's peak resident set (VmHWM), in KiB.
func vmHWM(t *testing.T) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// The memory of a scan does not grow with its hosts beyond the answered
// bitmap: Scan over 1 024 hosts and over 32 768 allocates the same within
// 64 KiB (the bitmap differs by 4 KiB), and the process's peak resident
// set grows by less than 4 MiB from the one to the other.
func TestScanMemoryFlat(t *testing.T) {
	blk := netip.MustParsePrefix("198.18.128.0/17")
	if testing.Short() {
		blk = netip.MustParsePrefix("198.18.128.0/20")
	}
	p := oneHostForBlock(t, blk)
	measure := func(b netip.Prefix) (alloc uint64, hwm int) {
		cfg := scanCfg(b)
		closed := 0
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if err := p.Do(p.Client, func() error {
			_, err := Scan(cfg, func(r *Result) {
				if r.State == listen.Closed {
					closed++
				}
			})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if want := 1 << (32 - b.Bits()); closed != want {
			t.Fatalf("%v: %d closed, want %d", b, closed, want)
		}
		return after.TotalAlloc - before.TotalAlloc, vmHWM(t)
	}
	measure(netip.MustParsePrefix("198.18.128.0/22")) // warm up: sockets, rings, the runtime
	smallAlloc, smallHWM := measure(netip.MustParsePrefix("198.18.128.0/22"))
	bigAlloc, bigHWM := measure(blk)
	t.Logf("1024 hosts: %d bytes allocated, peak RSS %d KiB; %d hosts: %d bytes, peak RSS %d KiB", smallAlloc, smallHWM, 1<<(32-blk.Bits()), bigAlloc, bigHWM)
	if bigAlloc > smallAlloc+64<<10 {
		t.Errorf("allocations grew from %d to %d bytes with the hosts", smallAlloc, bigAlloc)
	}
	if bigHWM > smallHWM+4<<10 {
		t.Errorf("peak RSS grew from %d to %d KiB with the hosts", smallHWM, bigHWM)
	}
}
