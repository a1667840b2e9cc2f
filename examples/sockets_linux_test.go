package examples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/internal/lab"
)

func TestMain(m *testing.M) { os.Exit(lab.RunTests(m)) }

// The socket examples, each run in the lab's client against Hs's closed
// port 9998: every one hears its answer, from the socket it sent through.
func TestSocketExamplesInLab(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	if err := l.Sysctl(lab.Hc, "net.ipv4.ping_group_range", "0 2147483647"); err != nil {
		t.Fatal(err)
	}
	dir := build(t, "socket_packet", "socket_raw", "socket_ping")
	for _, c := range []struct {
		prog string
		args []string
		want string
	}{
		{"socket_packet", nil, "answer: 198.18.1.1:9998 → 198.18.1.3:40123 TCP RST|ACK seq 0 ack 1001"},
		{"socket_packet", []string{"-dgram"}, "answer: 198.18.1.1:9998 → 198.18.1.3:40123 TCP RST|ACK seq 0 ack 1001"},
		{"socket_raw", []string{"-proto", "tcp"}, "answer: 198.18.1.1:9998 → 198.18.1.3:40124 TCP RST|ACK seq 0 ack 1001"},
		{"socket_raw", []string{"-proto", "tcp", "-hdrincl"}, "answer: 198.18.1.1:9998 → 198.18.1.3:40124 TCP RST|ACK seq 0 ack 1001"},
		{"socket_raw", []string{"-proto", "raw"}, "receives nothing"},
		{"socket_ping", nil, "answer: type 0 (echo reply)"},
	} {
		cmd := l.Command(filepath.Join(dir, c.prog), c.args...)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := l.Start(lab.Hc, cmd); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil || !strings.Contains(out.String(), c.want) {
			t.Errorf("%s %v: %v\n%s\nwant %q", c.prog, c.args, err, out.String(), c.want)
		}
	}
}
