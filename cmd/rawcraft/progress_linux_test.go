package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
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
