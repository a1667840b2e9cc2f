// Package exercise runs the transport-layer article's seven exercises and the
// TCP article's handshakes on a lab: it starts the article's programs
// (internal/article) in the hosts, pulls and plugs the S1–S2 cable at the
// article's moments, records the wire with rawcraft's listener, and sets
// what it observed beside what the article predicts.
package exercise

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/article"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// Exercise is one runnable exercise.
type Exercise struct {
	ID    string // "1" … "7", "3way", "4way"
	Title string
	// Prediction is what the article says will happen — or, when
	// PredictedBy names another source (an RFC, the man pages), what it says.
	Prediction  string
	PredictedBy string
	run         func(x *run) error
}

// Outcome is what a run found.
type Outcome struct {
	Exercise *Exercise
	Observed []string // what happened, line by line
	Diffs    []string // where it differs from the prediction; empty when it matches
	Took     time.Duration
}

// Matches reports whether the observation matched the prediction.
func (o *Outcome) Matches() bool { return len(o.Diffs) == 0 }

// All lists the exercises in the articles' order.
func All() []*Exercise { return exercises }

// Find returns the exercise with id, or nil.
func Find(id string) *Exercise {
	for _, e := range exercises {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// run is the state of one exercise run.
type run struct {
	lab   *lab.Lab
	scale float64 // 1 as in the article; 0.1 with --fast
	out   *Outcome
	log   io.Writer
}

func (x *run) d(seconds float64) time.Duration {
	return time.Duration(seconds * x.scale * float64(time.Second))
}

func (x *run) see(format string, a ...any) {
	x.out.Observed = append(x.out.Observed, fmt.Sprintf(format, a...))
}
func (x *run) differ(format string, a ...any) {
	x.out.Diffs = append(x.out.Diffs, fmt.Sprintf(format, a...))
}

// Run builds a lab, runs the exercise and removes the lab. fast scales the
// article's delays by 1/10. progress, if not nil, gets the programs' own
// output as it happens.
func Run(e *Exercise, fast bool, progress io.Writer) (*Outcome, error) {
	if progress == nil {
		progress = io.Discard
	}
	x := &run{scale: 1, out: &Outcome{Exercise: e}, log: progress}
	if fast {
		x.scale = 0.1
	}
	start := time.Now()
	l, err := lab.Up(lab.Config{Name: fmt.Sprintf("ex%d", os.Getpid())})
	if err != nil {
		return nil, err
	}
	defer l.Down()
	x.lab = l
	err = e.run(x)
	x.out.Took = time.Since(start)
	return x.out, err
}

// syncWriter lets a program print from any goroutine, and keeps each line
// with the time it was printed.
type syncWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	tee     io.Writer
	entries []entry
}

type entry struct {
	t    time.Time
	line string
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.tee.Write(p)
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.entries = append(w.entries, entry{time.Now(), l})
	}
	return w.buf.Write(p)
}

func (w *syncWriter) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, e := range w.entries {
		out = append(out, e.line)
	}
	return out
}

func (w *syncWriter) timed() []entry {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]entry(nil), w.entries...)
}

// program is an article program running in a host.
type program struct {
	out  *syncWriter
	stop chan struct{}
	done chan error
}

// server runs a server program inside host and returns once it listens.
func (x *run) server(host, name string, fn func(article.Options) error, o article.Options) *program {
	ready := make(chan struct{})
	o.Ready = ready
	p := x.start(host, name, fn, o)
	select {
	case <-ready:
	case err := <-p.done:
		p.done <- err
	case <-time.After(5 * time.Second):
	}
	return p
}

// client runs a client program inside host and returns at once.
func (x *run) client(host, name string, fn func(article.Options) error, o article.Options) *program {
	return x.start(host, name, fn, o)
}

func (x *run) start(host, name string, fn func(article.Options) error, o article.Options) *program {
	p := &program{out: &syncWriter{tee: prefixed(x.log, name)}, stop: make(chan struct{}), done: make(chan error, 1)}
	o.Out, o.Stop = p.out, p.stop
	go func() { p.done <- x.lab.Do(host, func() error { return fn(o) }) }()
	return p
}

// wait waits for a program to end, at most d.
func (p *program) wait(d time.Duration) error {
	select {
	case err := <-p.done:
		return err
	case <-time.After(d):
		return fmt.Errorf("still running after %v", d)
	}
}

func (p *program) kill() { close(p.stop) }

type prefixWriter struct {
	w    io.Writer
	name string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		fmt.Fprintf(p.w, "    [%s] %s\n", p.name, line)
	}
	return len(b), nil
}

func prefixed(w io.Writer, name string) io.Writer { return prefixWriter{w, name} }

// record starts recording host's eth0 through a filter.
func (x *run) record(host string, f rawsock.Filter) *listen.Recorder {
	var rec *listen.Recorder
	err := x.lab.Do(host, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		prog, err := f.Compile()
		if err != nil {
			return err
		}
		ln, err := listen.Listen(ifi, &listen.Config{Filter: prog})
		if err != nil {
			return err
		}
		rec = listen.Record(ln, 0)
		return nil
	})
	if err != nil {
		panic(err) // the lab was just built: a failure here is a bug
	}
	return rec
}

// decoded decodes captured frames, keeping those keep accepts.
func decoded(caps []listen.Captured, keep func(*craft.Decoded, *listen.Captured) bool) []*craft.Decoded {
	var out []*craft.Decoded
	for i := range caps {
		d := new(craft.Decoded)
		if d.DecodeFrame(caps[i].Frame) != nil && d.Layers&craft.LayerIPv4 == 0 {
			continue
		}
		if keep(d, &caps[i]) {
			out = append(out, d)
		}
	}
	return out
}

// reads parses the article servers' "read N bytes: DATA" lines.
func reads(lines []string) []string {
	var out []string
	for _, l := range lines {
		if i := strings.Index(l, "bytes: "); i >= 0 && strings.Contains(l, " read ") {
			out = append(out, l[i+len("bytes: "):])
		} else if i := strings.Index(l, "bytes from "); i >= 0 {
			rest := l[i+len("bytes from "):]
			if j := strings.Index(rest, ": "); j >= 0 {
				out = append(out, rest[j+2:])
			}
		}
	}
	return out
}

func letters(s string) string {
	var b strings.Builder
	var last rune
	for _, r := range s {
		if r != last {
			b.WriteRune(r)
			last = r
		}
	}
	return b.String()
}

func sortedKeys(m map[string]int) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
