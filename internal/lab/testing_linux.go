package lab

import (
	"os"
)

// RequireRoot skips a privileged test when not root and CI is unset, and
// fails it when CI is set: in CI a missing privilege is a failure.
func RequireRoot(t TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("this test needs root (network namespaces, raw sockets) and CI=%q: a missing privilege fails under CI", os.Getenv("CI"))
	}
	t.Skip(`needs root: run the tests as root to use the lab (sudo env "PATH=$PATH" go test -p 1 -count=1 ./...)`)
}

// SweepStale removes the labs whose owner process is gone (a test binary
// or a command killed with SIGKILL cannot clean up after itself) — exactly
// what rawcraft cleanup removes — and returns their namespaces. Call it
// from TestMain; RunTests does.
func SweepStale() []string {
	removed, _ := Sweep(false)
	return removed
}
