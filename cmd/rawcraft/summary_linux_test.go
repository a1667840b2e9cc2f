package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/internal/lab"
)

// TestSummaryLab probes 1000 TCP and UDP ports of a lab host with one open
// and one dropped port: the text names both and counts the 998 closed ones
// in one nmap line; --json still has every port.
func TestSummaryLab(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	servers(t, l)
	for _, c := range []struct{ proto, notShown, dropped string }{
		{"tcp", "Not shown: 998 closed tcp ports on 198.18.1.1 (reset)", "198.18.1.1:9997/tcp    filtered "},
		{"udp", "Not shown: 998 closed udp ports on 198.18.1.1 (port-unreach)", "198.18.1.1:9997/udp    open|filtered "},
	} {
		var out, errb bytes.Buffer
		err := l.Do(lab.Hc, func() error {
			cmd := newProbeCmd()
			cmd.SetOut(&out)
			cmd.SetErr(&errb)
			cmd.SetArgs([]string{c.proto, "--dst", "198.18.1.1", "--ports", "9000-9999", "--timeout", "500ms"})
			return cmd.Execute()
		})
		if err != nil {
			t.Fatalf("probe %s: %v (%s)", c.proto, err, errb.String())
		}
		got := lines(out.String())
		if len(got) != 3 || !strings.HasPrefix(got[0], c.dropped) || !strings.HasPrefix(got[1], "198.18.1.1:9999/"+c.proto+"    open ") || got[2] != c.notShown {
			t.Errorf("probe %s of 1000 ports:\n%s\nwant port 9997 %q, port 9999 open and %q", c.proto, out.String(), c.dropped, c.notShown)
		}
		res, _ := probeJSONRun(t, l, c.proto, "--dst", "198.18.1.1", "--ports", "9000-9999", "--timeout", "500ms")
		if len(res) != 1000 {
			t.Errorf("probe %s --json: %d lines, want every port (1000)", c.proto, len(res))
		}
	}
}
