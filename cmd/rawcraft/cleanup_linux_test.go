package main

import (
	"strings"
	"testing"
)

// The cases: lab up with an empty --name built the default lab, and an
// invalid name was exit 1. Every lab subcommand refuses a bad name with
// exit 2 and one line, before anything is built or removed.
func TestLabNameRules(t *testing.T) {
	for _, args := range [][]string{
		{"lab", "up", "--name", ""},
		{"lab", "down", "--name", "a b"},
		{"lab", "status", "--name", "-x"},
		{"lab", "--name", "x-", "exec", "hc", "--", "true"},
		{"lab", "up", "--name", strings.Repeat("n", 21)},
	} {
		out, errs, code := runCLI(t, args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "a lab name is 1 to 20 letters, digits and '-'") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and the name rule", args, code, out, errs)
		}
	}
	if _, errs, code := runCLI(t, "cleanup", "now"); code != exitUsage {
		t.Errorf("cleanup now: exit %d (%s), want 2", code, errs)
	}
}
