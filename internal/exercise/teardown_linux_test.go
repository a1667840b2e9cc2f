package exercise

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/pcap"
)

// The 4way exercise says how many segments each close took, and tshark,
// reading the same captured frames, counts as many: the FINs and the
// segments acknowledging a FIN (ack = the FIN's seq + its length + 1). The
// close whose application waited takes the article's four.
func TestCloseSegmentsAgainstTshark(t *testing.T) {
	lab.RequireRoot(t)
	tshark := oracle.Require(t, "tshark")
	var captures [][]listen.Captured
	closeCaptureHook = func(c []listen.Captured) { captures = append(captures, c) }
	defer func() { closeCaptureHook = nil }()
	o, err := Run(Find("4way"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Matches() {
		t.Errorf("4way: %v", o.Diffs)
	}
	said := regexp.MustCompile(`^\s+a (\d)-segment `)
	var claims []int
	for _, l := range o.Observed {
		t.Log(l)
		if m := said.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			claims = append(claims, n)
		}
	}
	if len(captures) != 2 || len(claims) != 2 {
		t.Fatalf("%d captures, %d segment counts told; want 2 and 2", len(captures), len(claims))
	}
	for i, caps := range captures {
		file := filepath.Join(t.TempDir(), "close.pcap")
		f, err := os.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		w, err := pcap.NewWriter(f, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range caps {
			if err := w.Write(c.Meta.Time, c.Frame); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		out, err := exec.Command(tshark, "-r", file, "-n", "-T", "fields", "-E", "separator=,",
			"-e", "ip.src", "-e", "tcp.flags.fin", "-e", "tcp.flags.ack", "-e", "tcp.seq_raw", "-e", "tcp.ack_raw", "-e", "tcp.len").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		finEnd := map[string]uint64{} // sender → what acknowledges its FIN
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Split(line, ",")
			if len(f) != 6 {
				t.Fatalf("tshark line %q", line)
			}
			seq, _ := strconv.ParseUint(f[3], 10, 32)
			ack, _ := strconv.ParseUint(f[4], 10, 32)
			ln, _ := strconv.ParseUint(f[5], 10, 32)
			role := false
			for src, end := range finEnd {
				if src != f[0] && f[2] == "1" && ack == end {
					role = true
					delete(finEnd, src) // the first acknowledgment only
				}
			}
			if f[1] == "1" {
				if _, again := finEnd[f[0]]; !again {
					finEnd[f[0]] = (seq + ln + 1) & 0xffffffff
					role = true
				}
			}
			if role {
				n++
			}
		}
		if n != claims[i] {
			t.Errorf("close %d: the exercise says %d segments, tshark shows %d", i+1, claims[i], n)
		}
	}
	if claims[1] != 4 {
		t.Errorf("the waiting server's close took %d segments, want 4", claims[1])
	}
}
