//go:build !linux

package lab

// MultipathForTest skips or fails as RequireRoot says, and otherwise
// fails: the topology is made of Linux network namespaces.
func MultipathForTest(t TB) *Multipath {
	t.Helper()
	RequireRoot(t)
	t.Fatalf("the multipath topology: %v", ErrNotLinux)
	return nil
}

// UpMultipath returns an error wrapping ErrNotLinux.
func UpMultipath() (*Multipath, error) { return nil, notLinux("the multipath topology") }

// Down removes nothing off Linux.
func (m *Multipath) Down() error { return nil }

// Forwarded returns an error wrapping ErrNotLinux.
func (m *Multipath) Forwarded() (viaA, viaB uint64, err error) {
	return 0, 0, notLinux("the multipath topology")
}

// SweepStaleMultipath removes nothing off Linux.
func SweepStaleMultipath() []string { return nil }

func cleanupMultipaths() {}

// SetHashPolicy6 returns an error wrapping ErrNotLinux.
func (m *Multipath) SetHashPolicy6(policy int) error { return notLinux("the multipath topology") }
