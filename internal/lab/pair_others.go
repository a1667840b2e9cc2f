//go:build !linux

package lab

import "net"

// PairForTest skips or fails as RequireRoot says, and otherwise fails: a
// Pair is made of Linux network namespaces.
func PairForTest(t TB) *Pair {
	t.Helper()
	RequireRoot(t)
	t.Fatalf("a namespace pair: %v", ErrNotLinux)
	return nil
}

// SweepStalePairs removes nothing off Linux.
func SweepStalePairs() []string { return nil }

// PairInterface returns an error wrapping ErrNotLinux.
func PairInterface() (*net.Interface, error) { return nil, notLinux("the pair's interface") }
