package lab

import (
	"os"
	"strconv"
	"strings"
	"syscall"
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

// SweepStale removes the labs of test processes that no longer run (a test
// binary killed with SIGKILL cannot clean up after itself), and returns
// their namespaces. Call it from TestMain.
func SweepStale() []string {
	var removed []string
	for _, ns := range existing(Prefix + "t") {
		rest := strings.TrimPrefix(ns, Prefix+"t")
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil {
			continue
		}
		if pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		if deleteNS(ns) == nil {
			removed = append(removed, ns)
		}
	}
	return removed
}
