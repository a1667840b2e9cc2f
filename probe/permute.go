package probe

import (
	"errors"
	"math/big"
	"math/bits"
	"math/rand/v2"
)

// Permutation is a random order of the indices 0 … n-1 of a scan's
// (host, port) space that costs four numbers, whatever n is: zmap's cyclic
// group (Durumeric et al., "ZMap", USENIX Security 2013, §3.1).
//
// Why it visits every index exactly once: for a prime p the integers
// 1 … p-1 under multiplication mod p form a cyclic group of order p-1, so a
// generator g (a primitive root) yields x, x·g, x·g², … , x·g^(p-2) — every
// element once, in p-1 steps, from any start x. With p the smallest prime
// above n, element e stands for index e-1; the p-1-n elements past the
// space are skipped (prime gaps are small: fewer than 1 000 below 2^40).
// Different generators and starts give different orders; both come from a
// seed, so that processes on different machines that share the seed walk the
// same cycle. A Shard takes every Count-th step of that one cycle, from
// step Index: the cycle's positions split into Count disjoint classes mod
// Count, so the shards cover it exactly once between them.
//
// The order spreads probes over hosts and ports so that no host or network
// sees a burst; it is not a secret (a reply's cookie is what resists forgery).
type Permutation struct {
	n, p, g, start uint64
}

// MaxScan bounds the (host, port) indices of one scan: its answered bitmap
// then takes at most 512 MiB.
const MaxScan = 1 << 32

// NewPermutation returns the permutation of 0 … n-1 (1 ≤ n ≤ MaxScan) that
// seed chooses.
func NewPermutation(n, seed uint64) (Permutation, error) {
	if n == 0 || n > MaxScan {
		return Permutation{}, errors.New("a permutation of 1 to 2^32 indices")
	}
	p := nextPrime(n)
	rng := rand.New(rand.NewPCG(seed, 0x72617763726166)) // "rawcraf"
	pm := Permutation{n: n, p: p, g: 1, start: 1}
	if p == 2 {
		return pm, nil // the group {1}
	}
	factors := primeFactors(p - 1)
	for {
		g := 2 + rng.Uint64N(p-2) // 2 … p-1
		if isGenerator(g, p, factors) {
			pm.g = g
			break
		}
	}
	pm.start = 1 + rng.Uint64N(p-1)
	return pm, nil
}

// Len is the number of indices, n.
func (pm Permutation) Len() uint64 { return pm.n }

// Walk returns the indices of shard s (Index of Count; Count 0 means the
// whole scan) in this permutation's order.
func (pm Permutation) Walk(s Shard) Walk {
	count, index := uint64(max(s.Count, 1)), uint64(max(s.Index, 0))
	w := Walk{n: pm.n, p: pm.p, step: powmod(pm.g, count, pm.p)}
	if index >= pm.p-1 {
		return w // more shards than positions: this one is empty
	}
	w.x = mulmod(pm.start, powmod(pm.g, index, pm.p), pm.p)
	w.left = (pm.p - 1 - index + count - 1) / count
	return w
}

// Walk steps through one shard of a Permutation. It allocates nothing.
type Walk struct {
	n, p, step, x, left uint64
}

// Next returns the next index, or false when the shard is done.
func (w *Walk) Next() (uint64, bool) {
	for w.left > 0 {
		e := w.x
		w.left--
		w.x = mulmod(w.x, w.step, w.p)
		if e-1 < w.n {
			return e - 1, true
		}
	}
	return 0, false
}

func mulmod(a, b, m uint64) uint64 {
	if a < 1<<32 && b < 1<<32 {
		return a * b % m
	}
	hi, lo := bits.Mul64(a, b)
	return bits.Rem64(hi, lo, m)
}

func powmod(b, e, m uint64) uint64 {
	r := uint64(1) % m
	b %= m
	for ; e > 0; e >>= 1 {
		if e&1 != 0 {
			r = mulmod(r, b, m)
		}
		b = mulmod(b, b, m)
	}
	return r
}

// nextPrime is the smallest prime above n (n < 2^63). big.Int.ProbablyPrime
// is exact below 2^64 (Baillie-PSW).
func nextPrime(n uint64) uint64 {
	var z big.Int
	for c := n + 1; ; c++ {
		if z.SetUint64(c).ProbablyPrime(0) {
			return c
		}
	}
}

// primeFactors returns the distinct prime factors of m (m < 2^42: trial
// division to √m, about two million steps at most, once per scan).
func primeFactors(m uint64) []uint64 {
	var fs []uint64
	for q := uint64(2); q*q <= m; q++ {
		if m%q == 0 {
			fs = append(fs, q)
			for m%q == 0 {
				m /= q
			}
		}
	}
	if m > 1 {
		fs = append(fs, m)
	}
	return fs
}

// isGenerator says whether g generates the multiplicative group mod the
// prime p: g^((p-1)/q) ≠ 1 for every prime factor q of p-1.
func isGenerator(g, p uint64, factors []uint64) bool {
	for _, q := range factors {
		if powmod(g, (p-1)/q, p) == 1 {
			return false
		}
	}
	return true
}
