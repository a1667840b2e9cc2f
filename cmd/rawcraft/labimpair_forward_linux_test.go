package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/internal/lab"
)

// lab impair --reorder-every / --corrupt-every: the forwarder's rule shows
// while the command runs, its counts at the end, and the cable is clean
// after; bad combinations are usage errors.
func TestLabImpairForwarderCLI(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var out, errb bytes.Buffer
	code := run([]string{"lab", "--name", l.Name(), "impair", "--dir", "to-hs", "--match-port", "7040", "--reorder-every", "3", "--reorder-hold", "2ms", "--corrupt-every", "5", "--for", "200ms"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"hc→hs: reorder: every 3rd of tcp dport 7040 held 2ms more; corrupt: one bit of every 5th of tcp dport 7040 (user-space forwarder in pid", "forwarder ended: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if st, _ := l.ImpairStatus(); len(st) != 0 {
		t.Errorf("after the command, the cable still has %q", st)
	}
	for _, args := range [][]string{
		{"--reorder-every", "3"},
		{"--reorder-hold", "3ms"},
		{"--corrupt-every", "-1"},
		{"--reorder-every", "2", "--reorder-hold", "11s"},
		{"--clear", "--corrupt-every", "2"},
	} {
		out.Reset()
		errb.Reset()
		if code := run(append([]string{"lab", "--name", l.Name(), "impair"}, args...), &out, &errb); code != 2 || strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line", args, code, errb.String())
		}
	}
}
