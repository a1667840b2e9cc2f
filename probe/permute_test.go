package probe

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

// walkAll returns the indices of shard s of pm, in order.
func walkAll(pm Permutation, s Shard) []uint64 {
	var out []uint64
	w := pm.Walk(s)
	for i, ok := w.Next(); ok; i, ok = w.Next() {
		out = append(out, i)
	}
	return out
}

// Every permutation of a small space is a bijection: each index once.
func TestPermutationBijection(t *testing.T) {
	for n := uint64(1); n <= 600; n++ {
		for _, seed := range []uint64{1, 2, 0xdeadbeef} {
			pm, err := NewPermutation(n, seed)
			if err != nil {
				t.Fatal(err)
			}
			got := walkAll(pm, Shard{})
			if uint64(len(got)) != n {
				t.Fatalf("n %d seed %d: %d indices", n, seed, len(got))
			}
			seen := make([]bool, n)
			for _, i := range got {
				if i >= n || seen[i] {
					t.Fatalf("n %d seed %d: index %d out of range or twice", n, seed, i)
				}
				seen[i] = true
			}
		}
	}
	if _, err := NewPermutation(0, 1); err == nil {
		t.Error("a permutation of nothing")
	}
	if _, err := NewPermutation(MaxScan+1, 1); err == nil {
		t.Error("a permutation over MaxScan")
	}
}

// A large space (a /8 × 256 ports: 2^32 indices, past 32-bit arithmetic)
// still steps inside its group: the first million indices are distinct and
// in range.
func TestPermutationLarge(t *testing.T) {
	pm, err := NewPermutation(MaxScan, 7)
	if err != nil {
		t.Fatal(err)
	}
	if pm.p <= MaxScan || pm.p != 4294967311 {
		t.Fatalf("prime %d; want 4294967311, the smallest above 2^32", pm.p)
	}
	seen := map[uint64]bool{}
	w := pm.Walk(Shard{})
	for k := 0; k < 1_000_000; k++ {
		i, ok := w.Next()
		if !ok || i >= MaxScan || seen[i] {
			t.Fatalf("step %d: index %d, ok %v, seen %v", k, i, ok, seen[i])
		}
		seen[i] = true
	}
}

// Different seeds give different orders; the same seed the same one.
func TestPermutationSeeds(t *testing.T) {
	orders := map[string]uint64{}
	for seed := uint64(1); seed <= 20; seed++ {
		pm, _ := NewPermutation(32768, seed)
		first := fmt.Sprint(walkAll(pm, Shard{})[:16])
		if other, dup := orders[first]; dup {
			t.Errorf("seeds %d and %d begin alike: %s", other, seed, first)
		}
		orders[first] = seed
		again, _ := NewPermutation(32768, seed)
		if fmt.Sprint(walkAll(again, Shard{})[:16]) != first {
			t.Errorf("seed %d: two orders", seed)
		}
	}
	// A random order: the first 64 indices of a /17 are not in a run.
	pm, _ := NewPermutation(32768, 3)
	head := walkAll(pm, Shard{})[:64]
	if slices.IsSorted(head) {
		t.Errorf("the order is sorted: %v", head)
	}
}

// Shards partition the space: their union is every index, their
// intersection empty, and their sizes differ by at most the few skipped
// elements past n.
func TestShardsPartition(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 10, 97, 1000, 32768} {
		for _, count := range []int{1, 2, 3, 4, 7, 16} {
			pm, _ := NewPermutation(n, n*31+uint64(count))
			seen := make([]int, n)
			for i := 0; i < count; i++ {
				for _, x := range walkAll(pm, Shard{Index: i, Count: count}) {
					seen[x]++
				}
			}
			for x, c := range seen {
				if c != 1 {
					t.Fatalf("n %d, %d shards: index %d covered %d times", n, count, x, c)
				}
			}
		}
	}
	// More shards than indices: the extra ones are empty.
	pm, _ := NewPermutation(3, 1)
	if got := walkAll(pm, Shard{Index: 9, Count: 10}); len(got) != 0 {
		t.Errorf("shard 9/10 of 3: %v", got)
	}
}

func TestParseShard(t *testing.T) {
	for in, want := range map[string]Shard{"0/1": {0, 1, 0}, "3/4": {3, 4, 0}, " 2 / 8": {2, 8, 0}} {
		if got, err := ParseShard(in); err != nil || got != want {
			t.Errorf("ParseShard(%q): %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "4/4", "-1/4", "1/0", "1", "a/b", "1/65537", "1/4/2"} {
		if _, err := ParseShard(in); err == nil {
			t.Errorf("ParseShard(%q): no error", in)
		}
	}
}

// The seed every shard derives by itself depends on the targets and ports,
// so machines told the same spec agree, and other specs differ.
func TestSeedOf(t *testing.T) {
	a := []netip.Prefix{netip.MustParsePrefix("198.18.128.0/17")}
	if SeedOf(a, []uint16{80}) != SeedOf([]netip.Prefix{netip.MustParsePrefix("198.18.200.7/17")}, []uint16{80}) {
		t.Error("the same block, written unmasked, has another seed")
	}
	if SeedOf(a, []uint16{80}) == SeedOf(a, []uint16{81}) || SeedOf(a, []uint16{80}) == SeedOf([]netip.Prefix{netip.MustParsePrefix("198.18.128.0/18")}, []uint16{80}) {
		t.Error("two scans share a seed")
	}
}

// The index space numbers hosts through the blocks in address order, once
// each, and maps back.
func TestScanSpace(t *testing.T) {
	sp := newSpace([]netip.Prefix{
		netip.MustParsePrefix("198.18.130.0/30"), netip.MustParsePrefix("198.18.128.0/31"),
		netip.MustParsePrefix("198.18.130.2/32"), // inside the /30: counted once
	}, []uint16{443, 80, 443})
	if sp.hosts != 6 || len(sp.ports) != 2 || sp.size() != 12 {
		t.Fatalf("%d hosts, ports %v", sp.hosts, sp.ports)
	}
	var got []string
	for i := uint64(0); i < sp.size(); i++ {
		a, p := sp.at(i)
		if j, ok := sp.index(a, p); !ok || j != i {
			t.Errorf("index %d is %v:%d, which maps back to %d, %v", i, a, p, j, ok)
		}
		got = append(got, fmt.Sprintf("%v:%d", a, p))
	}
	want := "[198.18.128.0:443 198.18.128.0:80 198.18.128.1:443 198.18.128.1:80 198.18.130.0:443 198.18.130.0:80 198.18.130.1:443 198.18.130.1:80 198.18.130.2:443 198.18.130.2:80 198.18.130.3:443 198.18.130.3:80]"
	if fmt.Sprint(got) != want {
		t.Errorf("order\n got %v\nwant %s", got, want)
	}
	for _, c := range []struct {
		a    string
		port uint16
	}{{"198.18.128.2", 80}, {"198.18.127.255", 80}, {"198.18.130.4", 80}, {"198.18.128.0", 22}, {"10.0.0.1", 80}} {
		if i, ok := sp.index(netip.MustParseAddr(c.a), c.port); ok {
			t.Errorf("%s:%d is index %d; want none", c.a, c.port, i)
		}
	}
}

// A stamped probe's reply passes the check and gives back the send time; a
// wrong address, port or acknowledgement fails.
func TestCookieStamp(t *testing.T) {
	c := NewCookies()
	a := netip.MustParseAddr("198.18.200.9")
	sport, seq := c.Stamp(a, 80, 0x5a5a5a)
	if sport < 32768 {
		t.Errorf("source port %d", sport)
	}
	if got, ok := c.Check(a, 80, sport, seq+1); !ok || got != 0x5a5a5a {
		t.Errorf("check: %#x, %v", got, ok)
	}
	for _, bad := range []struct {
		a     netip.Addr
		port  uint16
		sport uint16
		ack   uint32
	}{{netip.MustParseAddr("198.18.200.10"), 80, sport, seq + 1}, {a, 81, sport, seq + 1}, {a, 80, sport, seq + 0x101}, {a, 80, sport & 0x7fff, seq + 1}} {
		if _, ok := c.Check(bad.a, bad.port, bad.sport, bad.ack); ok {
			t.Errorf("%v:%d → %d ack %d passes", bad.a, bad.port, bad.sport, bad.ack)
		}
	}
	if n := testing.AllocsPerRun(100, func() { s, q := c.Stamp(a, 80, 1); c.Check(a, 80, s, q+1) }); n != 0 {
		t.Errorf("Stamp and Check allocate %v times", n)
	}
}

func BenchmarkPermutationWalk(b *testing.B) {
	pm, _ := NewPermutation(1<<24, 1)
	w := pm.Walk(Shard{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, ok := w.Next(); !ok {
			w = pm.Walk(Shard{})
		}
	}
}

func BenchmarkScanSpace(b *testing.B) {
	sp := newSpace([]netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")}, []uint16{22, 80, 443})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		a, p := sp.at(uint64(i) % sp.size())
		sp.index(a, p)
	}
}
