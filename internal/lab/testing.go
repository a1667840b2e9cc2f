package lab

import (
	"fmt"
	"os"
	"sync/atomic"

	"github.com/rawcraft/rawcraft/internal/owner"
)

// TB is the part of testing.TB the helpers use (the lab does not import
// package testing into the rawcraft binary).
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Skip(args ...any)
}

var testLabs atomic.Int32

// ForTest builds a lab for one test, with a name unique to this process and
// test ("t<pid>-<n>"), so that parallel test packages never collide. Its
// removal is registered before the first namespace exists and runs when the
// test ends, passed or failed; SIGINT, SIGTERM and SIGHUP remove it too, and
// SweepStale removes the labs of test processes that were killed.
func ForTest(t TB, cfg Config) *Lab {
	t.Helper()
	RequireRoot(t)
	cfg.Name = fmt.Sprintf("t%d-%d", os.Getpid(), testLabs.Add(1))
	pre := &Lab{cfg: cfg}
	t.Cleanup(func() {
		if err := pre.Down(); err != nil {
			t.Fatalf("removing lab %s: %v", cfg.Name, err)
		}
		if left := Labs()[cfg.Name]; len(left) > 0 {
			t.Fatalf("lab %s left namespaces behind: %v", cfg.Name, left)
		}
		if _, ok := readRecord(cfg.Name); ok {
			t.Fatalf("lab %s left its record %s behind", cfg.Name, recordPath(cfg.Name))
		}
	})
	l, err := Up(cfg)
	if err != nil {
		t.Fatalf("building the lab: %v", err)
	}
	pre.cfg = l.cfg
	return l
}

// M is the part of *testing.M that RunTests uses.
type M interface{ Run() int }

// RunTests is a TestMain for packages whose tests build labs: it removes the
// labs of killed test runs first, runs the tests, removes whatever this
// process left, and fails the run if a namespace of this process is still
// there. Use it as: func TestMain(m *testing.M) { os.Exit(lab.RunTests(m)) }.
func RunTests(m M) int {
	root := os.Geteuid() == 0
	if root {
		if s := SweepStale(); len(s) > 0 {
			fmt.Fprintf(os.Stderr, "removed %d namespaces left by killed test runs: %v\n", len(s), s)
		}
	}
	code := m.Run()
	CleanupAll()
	if root {
		for _, o := range Inventory() {
			if o.Owner == owner.Self().String() || ownedBySelf(o.Owner, o.Name) {
				fmt.Fprintf(os.Stderr, "FAIL: lab %s left behind: %v\n", o.Name, o.Hosts)
				_, _ = removeLab(o.Name)
				code = 1
			}
		}
	}
	return code
}
