package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/internal/lab"
)

func TestTraceCommand(t *testing.T) {
	m := lab.MultipathForTest(t)
	run := func(args ...string) (string, string, error) {
		var out, errw bytes.Buffer
		err := m.Do(lab.MPSrc, func() error {
			cmd := newTraceCmd()
			cmd.SetArgs(args)
			cmd.SetOut(&out)
			cmd.SetErr(&errw)
			return cmd.Execute()
		})
		return out.String(), errw.String(), err
	}
	out, errs, err := run("--dst", "198.18.20.2", "--paris", "--proto", "tcp", "--dport", "9", "--pmtu")
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	t.Logf("\n%s%s", out, errs)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 5 || !strings.HasPrefix(strings.TrimSpace(lines[1]), "1  198.18.10.1") ||
		!strings.Contains(out, "198.18.20.2") || !strings.Contains(out, "RST") || !strings.Contains(errs, "answered itself") {
		t.Errorf("text output:\n%s", out)
	}
	out, errs, err = run("--dst", "198.18.20.2", "--proto", "icmp", "--json", "--probes", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	var hops []traceHopJSONv
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var h traceHopJSONv
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		hops = append(hops, h)
	}
	if len(hops) != 4 || hops[0].Probes[0].From != "198.18.10.1" || hops[3].Probes[1].Reason != "echo-reply" ||
		*hops[0].Probes[0].ICMPType != 11 || hops[0].Probes[0].QuotedTTL != 1 {
		t.Errorf("JSON: %s", out)
	}
	for _, bad := range [][]string{{"--dst", "198.18.20.2", "--probes", "11"}, {"--dst", "198.18.20.2", "--proto", "gre"},
		{"--dst", "198.18.20.2", "--first-ttl", "9", "--max-ttl", "3"}, {"--proto", "udp"}} {
		if _, _, err := run(bad...); err == nil || !isUsage(err) {
			t.Errorf("%v: %v, want a usage error", bad, err)
		}
	}
}

func isUsage(err error) bool {
	_, ok := err.(usageError)
	return ok
}
