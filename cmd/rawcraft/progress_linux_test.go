package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/creack/pty"
	"github.com/rawcraft/rawcraft/internal/lab"
)

// terminal is a pseudo-terminal of 120 columns: tty is what a command
// writes to, and text what a person would have seen on it so far.
type terminal struct {
	tty  *os.File
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
}

func newTerminal(t *testing.T) *terminal {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 24, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	term := &terminal{tty: tty, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		b := make([]byte, 4096)
		for {
			n, err := ptmx.Read(b)
			term.mu.Lock()
			term.buf.Write(b[:n])
			term.mu.Unlock()
			if err != nil {
				return // EIO once the tty side is closed
			}
		}
	}()
	t.Cleanup(func() { tty.Close(); <-term.done; ptmx.Close() })
	return term
}

// text closes the terminal and returns all that was written to it.
func (term *terminal) text() string {
	term.tty.Close()
	<-term.done
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.buf.String()
}

// TestProgressOnTerminalOnly runs a probe that takes about two seconds:
// on a terminal stderr it shows the running count, on a pipe nothing of
// it, with -q nothing; stdout (text or JSON) never has any of it.
func TestProgressOnTerminalOnly(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	servers(t, l)
	// 150 ports, one every 15 ms: about 2.3 s.
	args := []string{"probe", "udp", "--dst", "198.18.1.1", "--ports", "9850-9999", "--interval", "15ms", "--timeout", "300ms"}
	probeIn := func(stdout, stderr io.Writer, extra ...string) {
		t.Helper()
		if err := l.Do(lab.Hc, func() error {
			if code := run(append(append([]string{}, args...), extra...), stdout, stderr); code != 0 {
				t.Errorf("probe %v: exit %d", extra, code)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	isCount := func(s string) bool { return strings.Contains(s, "probe udp: ") && strings.Contains(s, " sent, ") }

	t.Run("terminal", func(t *testing.T) {
		term := newTerminal(t)
		var out bytes.Buffer
		probeIn(&out, term.tty)
		seen := term.text()
		if !isCount(seen) || !strings.Contains(seen, "answered") || !strings.Contains(seen, "/s, ETA ") {
			t.Errorf("no running count on the terminal:\n%q", seen)
		}
		if !strings.Contains(seen, "150 probes: ") {
			t.Errorf("the summary line is missing after the count:\n%q", seen)
		}
		if isCount(out.String()) || !strings.Contains(out.String(), "198.18.1.1:9999/udp    open ") {
			t.Errorf("stdout:\n%s", out.String())
		}
	})
	t.Run("json", func(t *testing.T) {
		term := newTerminal(t)
		var out bytes.Buffer
		probeIn(&out, term.tty, "--json")
		if seen := term.text(); !isCount(seen) {
			t.Errorf("no running count on the terminal beside --json:\n%q", seen)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		for _, l := range lines {
			var j map[string]any
			if err := json.Unmarshal([]byte(l), &j); err != nil {
				t.Errorf("stdout is not JSON lines: %q: %v", l, err)
			}
		}
		if len(lines) != 150 {
			t.Errorf("%d JSON lines, want 150", len(lines))
		}
	})
	t.Run("pipe", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var out bytes.Buffer
		probeIn(&out, w)
		w.Close()
		errs, _ := io.ReadAll(r)
		if isCount(string(errs)) || bytes.ContainsRune(errs, '\r') || bytes.Contains(errs, []byte("\x1b[")) {
			t.Errorf("a pipe got the running count or terminal codes:\n%q", errs)
		}
		if !strings.Contains(string(errs), "150 probes: ") {
			t.Errorf("stderr: %q", errs)
		}
	})
	t.Run("quiet", func(t *testing.T) {
		term := newTerminal(t)
		var out bytes.Buffer
		probeIn(&out, term.tty, "-q")
		if seen := term.text(); isCount(seen) {
			t.Errorf("-q still shows the count:\n%q", seen)
		}
	})
}

// A flood longer than a second shows its running count on a terminal, and
// -q silences it; the summary line comes either way.
func TestFloodProgress(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	// 3000 packets at 2000 a second: about 1.5 s, through the batched path.
	args := []string{"send", "udp", "--dst", "198.18.1.1", "--dport", "7", "--count", "3000", "--rate", "2000"}
	for _, c := range []struct {
		extra     []string
		wantCount bool
	}{{nil, true}, {[]string{"-q"}, false}} {
		term := newTerminal(t)
		var out bytes.Buffer
		if err := l.Do(lab.Hc, func() error {
			if code := run(append(append([]string{}, args...), c.extra...), &out, term.tty); code != 0 {
				t.Errorf("send %v: exit %d", c.extra, code)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		seen := term.text()
		if got := strings.Contains(seen, "send udp: ") && strings.Contains(seen, " sent, "); got != c.wantCount {
			t.Errorf("send %v: running count shown %v, want %v:\n%q", c.extra, got, c.wantCount, seen)
		}
		if !strings.Contains(seen, "sent 3000 packets") || out.Len() != 0 {
			t.Errorf("send %v: summary %q, stdout %q", c.extra, seen, out.String())
		}
	}
}

// A stateless scan longer than a second shows its running count too.
func TestScanProgress(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	term := newTerminal(t)
	var out bytes.Buffer
	if err := l.Do(lab.Hc, func() error {
		if code := run([]string{"probe", "tcp", "--dst", "198.18.1.1", "--ports", "1-2000", "--stateless", "--interval", "1ms", "--timeout", "300ms"}, &out, term.tty); code != 0 {
			t.Errorf("probe: exit %d", code)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen := term.text(); !strings.Contains(seen, "probe tcp: ") || !strings.Contains(seen, " sent, ") {
		t.Errorf("no running count for a 2 s stateless scan:\n%q", seen)
	}
}

// frag tells its events on a terminal as they happen, in time order —
// fragments leaving Hc, reaching Hs, the application's read — before the
// story; on a pipe, none of them.
func TestFragLiveTimeline(t *testing.T) {
	lab.RequireRoot(t)
	term := newTerminal(t)
	var out bytes.Buffer
	if code := run([]string{"frag", "--size", "4000", "--frag", "1480"}, &out, term.tty); code != 0 {
		t.Fatalf("frag: exit %d\n%s", code, out.String())
	}
	seen := term.text()
	var times []float64
	for _, line := range strings.Split(seen, "\n") {
		var at float64
		var rest string
		if n, _ := fmt.Sscanf(strings.TrimSpace(line), "%f s %s", &at, &rest); n == 2 {
			times = append(times, at)
		}
	}
	for _, want := range []string{"Hc → fragment at offset 0", "Hc → fragment at offset 2960", "Hs ← fragment at offset 1480", "Hs's application read a datagram"} {
		if !strings.Contains(seen, want) {
			t.Errorf("live timeline lacks %q:\n%s", want, seen)
		}
	}
	if !sort.Float64sAreSorted(times) || len(times) < 7 {
		t.Errorf("timeline times %v: want 7 or more, in order", times)
	}
	if !strings.Contains(out.String(), "the application received the datagram once, whole") {
		t.Errorf("the story is missing:\n%s", out.String())
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out.Reset()
	if code := run([]string{"frag", "--size", "4000", "--frag", "1480"}, &out, w); code != 0 {
		t.Fatalf("frag on a pipe: exit %d", code)
	}
	w.Close()
	if errs, _ := io.ReadAll(r); strings.Contains(string(errs), "Hc → ") {
		t.Errorf("a pipe got the live timeline: %q", errs)
	}
}
