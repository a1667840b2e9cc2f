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

	// The live timeline (Options.OnEvent): start is time 0; events are
	// handed on one at a time, never going back in time.
	t0       time.Time
	onEvent  func(at time.Duration, what string)
	evMu     sync.Mutex
	last     time.Duration
	seen     map[string]bool // retransmissions already told (both ends record them)
	done     chan struct{}   // closed when the exercise has ended: the watchers stop
	watchers sync.WaitGroup
}

// event tells the live timeline that what happened at t.
func (x *run) event(t time.Time, format string, a ...any) { x.eventOnce("", t, format, a...) }

// eventOnce is event, told only once for a key (when key is not "").
func (x *run) eventOnce(key string, t time.Time, format string, a ...any) {
	if x.onEvent == nil {
		return
	}
	x.evMu.Lock()
	defer x.evMu.Unlock()
	select {
	case <-x.done:
		return // Run has returned, or is about to: nothing more is told
	default:
	}
	if key != "" {
		if x.seen[key] {
			return
		}
		x.seen[key] = true
	}
	at := t.Sub(x.t0)
	if at < x.last {
		at = x.last // a frame read up to a poll late: shown in order
	}
	x.last = at
	x.onEvent(at, fmt.Sprintf(format, a...))
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

// Options says how Run runs an exercise.
type Options struct {
	// Fast scales the article's delays by 1/10.
	Fast bool
	// Progress, if not nil, gets the programs' own output as it happens.
	Progress io.Writer
	// OnEvent, if not nil, is told each event as it happens: a line a
	// program printed ("udp_client: sent message 5: 50 × E"), the cable
	// pulled and plugged back, a TCP retransmission or RST on the wire.
	// at counts from the moment the lab is up. Calls come one at a time, in
	// time order (a frame is read up to 50 ms after the kernel stamped it,
	// and then shown no earlier than the event before it), and all of them
	// before Run returns. OnEvent must not block for long.
	OnEvent func(at time.Duration, what string)
}

// Run builds a lab, runs the exercise and removes the lab. fast scales the
// article's delays by 1/10. progress, if not nil, gets the programs' own
// output as it happens. It is RunWith without a live timeline.
func Run(e *Exercise, fast bool, progress io.Writer) (*Outcome, error) {
	return RunWith(e, Options{Fast: fast, Progress: progress})
}

// RunWith builds a lab, runs the exercise as o says and removes the lab.
func RunWith(e *Exercise, o Options) (*Outcome, error) {
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	x := &run{scale: 1, out: &Outcome{Exercise: e}, log: progress, onEvent: o.OnEvent, seen: map[string]bool{}, done: make(chan struct{})}
	if o.Fast {
		x.scale = 0.1
	}
	start := time.Now()
	l, err := lab.Up(lab.Config{Name: fmt.Sprintf("ex%d", os.Getpid())})
	if err != nil {
		return nil, err
	}
	defer l.Down()
	x.lab = l
	x.t0 = time.Now()
	err = e.run(x)
	x.evMu.Lock()
	close(x.done)
	x.evMu.Unlock()
	x.watchers.Wait()
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
	onLine  func(t time.Time, line string) // the live timeline, or nil
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
		now := time.Now()
		w.entries = append(w.entries, entry{now, l})
		if w.onLine != nil {
			w.onLine(now, l)
		}
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
	if x.onEvent != nil {
		p.out.onLine = func(t time.Time, line string) { x.event(t, "%s: %s", name, unstamped(line)) }
	}
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

// unstamped drops the clock time ("15:04:05.000 ") the article's programs
// put before each line: the live timeline has its own.
func unstamped(line string) string {
	if len(line) > 13 && line[2] == ':' && line[5] == ':' && line[8] == '.' && line[12] == ' ' {
		return line[13:]
	}
	return line
}

// watch tells the live timeline what a recording sees as it sees it: TCP
// retransmissions (with the copy's number and the time since the previous
// copy) and RSTs. It polls the recorder every 50 ms until the exercise ends.
func (x *run) watch(host string, rec *listen.Recorder) {
	x.watchers.Add(1)
	go func() {
		defer x.watchers.Done()
		an := listen.NewTCPAnalyzer()
		next := 0
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-x.done:
				return
			case <-tick.C:
			}
			caps := rec.Snapshot()
			for ; next < len(caps); next++ {
				p := listen.Packet{Frame: caps[next].Frame, Meta: caps[next].Meta}
				if p.Decoded.DecodeFrame(p.Frame) != nil && p.Decoded.Layers&craft.LayerTCP == 0 {
					continue
				}
				ev := an.Add(&p)
				d := &p.Decoded
				if !d.Has(craft.LayerTCP) {
					continue
				}
				switch {
				case ev.Note.Has(listen.TCPRetransmission):
					key := fmt.Sprintf("%v %d %d", ev.Flow, ev.Seq, ev.Copy)
					x.eventOnce(key, p.Meta.Time, "retransmission #%d: %v:%d → %v:%d, %d bytes, %.2f s after the previous copy",
						ev.Copy-1, d.IPv4.Src, d.TCP.SrcPort, d.IPv4.Dst, d.TCP.DstPort, ev.Len, ev.Since.Seconds())
				case d.TCP.Flags&craft.TCPRst != 0:
					key := fmt.Sprintf("rst %v:%d %v:%d %d", d.IPv4.Src, d.TCP.SrcPort, d.IPv4.Dst, d.TCP.DstPort, d.TCP.Seq)
					x.eventOnce(key, p.Meta.Time, "RST %v:%d → %v:%d (seen at %s)", d.IPv4.Src, d.TCP.SrcPort, d.IPv4.Dst, d.TCP.DstPort, host)
				}
			}
		}
	}()
}

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
	if x.onEvent != nil {
		x.watch(host, rec)
	}
	return rec
}

// decoded decodes captured frames, keeping those keep accepts.
func decoded(caps []listen.Captured, keep func(*craft.Decoded, *listen.Captured) bool) []*craft.Decoded {
	var out []*craft.Decoded
	for i := range caps {
		d := &craft.Decoded{AcceptIPv6: true}
		if d.DecodeFrame(caps[i].Frame) != nil && d.Layers&(craft.LayerIPv4|craft.LayerIPv6) == 0 {
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
