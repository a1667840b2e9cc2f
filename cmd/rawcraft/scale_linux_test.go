package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/internal/lab"
)

// TestScalePageShards runs docs/scale.md's own shard command — the probe
// line of its runnable block, as written, for every shard I of N — in a
// lab with one port of Hs open, concatenates the shards' JSON streams as
// the page says, and checks the merge: every (host, port) of the scan
// exactly once, with the state Hs's kernel gives it (the oracle: open where
// a socket listens, closed — a RST — elsewhere).
func TestScalePageShards(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "scale.md"))
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, b := range docBlocks(t, filepath.Join("..", "..", "docs", "scale.md")) {
		for _, c := range b.cmds {
			if strings.Contains(c.line, "--shard $i/") {
				line = c.line
			}
		}
	}
	m := regexp.MustCompile(`lab exec hc -- rawcraft (probe .*?--shard \$i/(\d+) --json)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("docs/scale.md has no runnable shard command of the form 'lab exec hc -- rawcraft probe … --shard $i/N --json' (%d bytes read): %q", len(data), line)
	}
	var n int
	fmt.Sscan(m[2], &n)
	args := strings.Fields(m[1])
	ports := ""
	for i, a := range args {
		if a == "--ports" && i+1 < len(args) {
			ports = args[i+1]
		}
	}
	var lo, hi int
	if _, err := fmt.Sscanf(ports, "%d-%d", &lo, &hi); err != nil || hi <= lo {
		t.Fatalf("the page's --ports %q: a range is expected", ports)
	}
	open := lo + (hi-lo)/2
	l := lab.ForTest(t, lab.Config{})
	var ln net.Listener
	if err := l.Do(lab.Hs, func() (err error) { ln, err = net.Listen("tcp4", fmt.Sprintf("198.18.1.1:%d", open)); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var merged strings.Builder
	for i := 0; i < n; i++ {
		a := make([]string, len(args))
		for k, w := range args {
			a[k] = strings.ReplaceAll(w, "$i", fmt.Sprint(i))
		}
		code, out, errs := inHc(t, l, a...)
		if code != exitOK {
			t.Fatalf("shard %d/%d: exit %d, %s", i, n, code, errs)
		}
		if !strings.Contains(errs, fmt.Sprintf("shard %d/%d of a scan", i, n)) {
			t.Errorf("shard %d/%d does not say which part it sent: %s", i, n, errs)
		}
		merged.WriteString(out) // the page's merge: concatenation
	}
	seen := map[int]int{}
	for _, l := range strings.Split(strings.TrimSpace(merged.String()), "\n") {
		var r struct {
			Dst   string `json:"dst"`
			Port  int    `json:"port"`
			State string `json:"state"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if r.Dst != "198.18.1.1" || r.Port < lo || r.Port > hi {
			t.Errorf("a target outside the scan: %s", l)
			continue
		}
		seen[r.Port]++
		want := "closed"
		if r.Port == open {
			want = "open"
		}
		if r.State != want {
			t.Errorf("port %d: %s, Hs's kernel says %s", r.Port, r.State, want)
		}
	}
	for p := lo; p <= hi; p++ {
		if seen[p] != 1 {
			t.Errorf("port %d appears %d times in the merged shards", p, seen[p])
		}
	}
}
