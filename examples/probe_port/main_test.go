package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/internal/lab"
)

func TestMain(m *testing.M) { os.Exit(lab.RunTests(m)) }

// The example, built and run inside the lab's client, tells an open port
// from a closed one, as the peer kernel answered.
func TestProbePortInLab(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	stop, err := l.Servers(lab.Hs, "198.18.1.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	bin := filepath.Join(t.TempDir(), "probe_port")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, c := range []struct{ port, state, reason string }{{"9999", "open", "syn-ack"}, {"9998", "closed", "rst"}} {
		cmd := l.Command(bin, "-dst", "198.18.1.1", "-port", c.port)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := l.Start(lab.Hc, cmd); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("port %s: %v\n%s", c.port, err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var j struct{ State, Reason string }
		if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &j) != nil || j.State != c.state || j.Reason != c.reason {
			t.Errorf("port %s: %q, want state %s reason %s", c.port, out.String(), c.state, c.reason)
		}
	}
}
