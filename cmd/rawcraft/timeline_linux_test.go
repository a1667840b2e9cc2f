package main

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
)

var timelineLine = regexp.MustCompile(`(?m)^\s+(\d+\.\d) s (.+)$`)

// TestExerciseTimelineLive runs Exercise 2 (--fast) with stderr on a
// pseudo-terminal and reads it while the exercise runs: the timeline's lines
// arrive as their events happen — the cable pulled long before the verdict,
// each line no later than the next — in time order, and stdout has none of
// them. On a pipe, and with -q, there is no timeline at all.
func TestExerciseTimelineLive(t *testing.T) {
	lab.RequireRoot(t)
	t.Run("terminal", func(t *testing.T) {
		term := newTerminal(t)
		type arrival struct {
			at   float64 // as the line says
			what string
			got  time.Time // when the line reached the terminal
		}
		var lines []arrival
		stop := make(chan struct{})
		polled := make(chan struct{})
		go func() {
			defer close(polled)
			seen := 0
			for {
				term.mu.Lock()
				text := term.buf.String()
				term.mu.Unlock()
				for _, m := range timelineLine.FindAllStringSubmatch(text, -1)[seen:] {
					at, _ := strconv.ParseFloat(m[1], 64)
					lines = append(lines, arrival{at, strings.TrimSpace(m[2]), time.Now()})
					seen++
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		var out bytes.Buffer
		code := run([]string{"exercise", "2", "--fast"}, &out, term.tty)
		ended := time.Now()
		time.Sleep(100 * time.Millisecond)
		close(stop)
		<-polled
		if code != 0 {
			t.Fatalf("exercise 2: exit %d\n%s", code, out.String())
		}
		if timelineLine.MatchString(out.String()) {
			t.Errorf("stdout has the timeline:\n%s", out.String())
		}
		var pulled, plugged *arrival
		for i := range lines {
			l := &lines[i]
			t.Logf("%5.1f s %s (arrived %.2f s before the end)", l.at, l.what, ended.Sub(l.got).Seconds())
			if i > 0 && l.at < lines[i-1].at {
				t.Errorf("out of time order: %.1f s %q after %.1f s %q", l.at, l.what, lines[i-1].at, lines[i-1].what)
			}
			switch l.what {
			case "cable pulled":
				pulled = l
			case "cable plugged back":
				plugged = l
			}
		}
		if pulled == nil || plugged == nil {
			t.Fatalf("no cable events in the timeline")
		}
		// --fast: pulled at 1.6 s, plugged at 3.2 s; the client's last
		// messages and the verdict come after. Lines that arrive as they
		// happen are apart on the terminal as they are in the timeline.
		if gap := plugged.got.Sub(pulled.got); gap < time.Second {
			t.Errorf("the cable's two events reached the terminal %v apart, their times %.1f s apart: not live", gap, plugged.at-pulled.at)
		}
		if ended.Sub(pulled.got) < 2*time.Second {
			t.Errorf("'cable pulled' reached the terminal %v before the end: not live", ended.Sub(pulled.got))
		}
		sent := 0
		for _, l := range lines {
			if strings.HasPrefix(l.what, "udp_client: sent message ") {
				sent++
			}
		}
		if sent != 10 {
			t.Errorf("%d 'sent message' lines in the timeline, want 10", sent)
		}
	})
	for _, c := range []struct {
		name  string
		extra []string
		tty   bool
	}{{"pipe", nil, false}, {"quiet", []string{"-q"}, true}} {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() {
				t.Skip("-short: the terminal case is enough")
			}
			var errw io.Writer
			var read func() string
			if c.tty {
				term := newTerminal(t)
				errw, read = term.tty, term.text
			} else {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				got := make(chan []byte)
				go func() { b, _ := io.ReadAll(r); got <- b }()
				errw, read = w, func() string { w.Close(); return string(<-got) }
			}
			var out bytes.Buffer
			if code := run(append([]string{"exercise", "2", "--fast"}, c.extra...), &out, errw); code != 0 {
				t.Fatalf("exit %d\n%s", code, out.String())
			}
			if s := read(); timelineLine.MatchString(s) || strings.Contains(s, "cable pulled") {
				t.Errorf("%s: the timeline reached stderr:\n%s", c.name, s)
			}
			if !strings.Contains(out.String(), "✓ matches the prediction") {
				t.Errorf("stdout:\n%s", out.String())
			}
		})
	}
}
