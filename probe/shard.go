package probe

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
)

// MaxShards bounds Shard.Count.
const MaxShards = 65536

// Shard is the part of a scan one process sends, and the permutation every
// part shares. Processes that run the same scan (the same targets, ports
// and Seed) with Index 0 … Count-1 probe every (host, port) exactly once
// between them, and the Results of their Reports (or their --json lines)
// concatenate into the whole scan's. The zero Shard is the whole scan.
type Shard struct {
	// Index is this part, 0 ≤ Index < Count; Count the number of parts
	// (0 or 1: one part, the whole).
	Index, Count int
	// Seed chooses the permutation (see Permutation); 0 derives it from the
	// targets and ports (SeedOf), so that machines told the same target
	// spec agree without being told a seed.
	Seed uint64
}

// Sharded says whether s splits a scan into parts.
func (s Shard) Sharded() bool { return s.Count > 1 }

// String is "Index/Count".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, max(s.Count, 1)) }

func (s Shard) check() error {
	if s.Count < 0 || s.Count > MaxShards || s.Index < 0 || s.Index >= max(s.Count, 1) {
		return configErr("shard %d/%d: I/N with 0 ≤ I < N ≤ %d", s.Index, s.Count, MaxShards)
	}
	return nil
}

// ParseShard reads "I/N": part I (counted from 0, as a Kubernetes Indexed
// Job's completion index is) of N, 1 ≤ N ≤ MaxShards.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || n > MaxShards || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("%q is not I/N: part I of N, counted from 0 (0/4 … 3/4), N at most %d", s, MaxShards)
	}
	return Shard{Index: i, Count: n}, nil
}

// SeedOf is the default seed of a scan: an FNV-1a hash of its targets
// (masked, in the given order) and ports, never 0.
func SeedOf(targets []netip.Prefix, ports []uint16) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, t := range targets {
		t = t.Masked()
		a := t.Addr().As4()
		_, _ = h.Write(a[:])
		_, _ = h.Write([]byte{byte(t.Bits())})
	}
	_, _ = h.Write([]byte{0xff})
	for _, p := range ports {
		binary.BigEndian.PutUint16(b[:2], p)
		_, _ = h.Write(b[:2])
	}
	if s := h.Sum64(); s != 0 {
		return s
	}
	return 1
}
