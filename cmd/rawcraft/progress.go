package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// progressAfter is how long a run goes before its running count appears:
// a run shorter than that shows nothing.
const progressAfter = time.Second

// liveCount is the one-line running count of a long run — sent, answered,
// rate, ETA — drawn on stderr while it is a terminal, and erased when the
// run ends, before any result is written. A nil *liveCount draws nothing,
// so callers need not ask whether there is one.
type liveCount struct {
	p        *mpb.Progress
	bar      *mpb.Bar
	total    atomic.Int64
	answered atomic.Int64
	delay    *time.Timer
}

// isTerminal says whether w is a terminal (a *os.File on a tty).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// startCount starts a running count of total items to send, labelled
// with what ("probe tcp"), on errw: nil — nothing drawn — when quiet or
// when errw is not a terminal (a pipe, a file, a test's buffer), so that
// nothing but results ever reaches a script.
func startCount(errw io.Writer, quiet bool, what string, total int) *liveCount {
	if quiet || total <= 0 || !isTerminal(errw) {
		return nil
	}
	show := make(chan struct{})
	c := &liveCount{}
	c.total.Store(int64(total))
	c.delay = time.AfterFunc(progressAfter, func() { close(show) })
	c.p = mpb.New(mpb.WithOutput(errw), mpb.WithWidth(80), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithRenderDelay(show))
	c.bar = c.p.New(int64(total), mpb.NopStyle(),
		mpb.PrependDecorators(
			decor.Name(what+": "),
			decor.CountersNoUnit("%d/%d sent"),
			decor.Any(func(decor.Statistics) string { return fmt.Sprintf(", %d answered", c.answered.Load()) }),
			decor.AverageSpeed(0, ", %.0f/s"),
			decor.Name(", ETA "),
			decor.AverageETA(decor.ET_STYLE_GO),
		),
		mpb.BarRemoveOnComplete(),
	)
	return c
}

// add counts sent items and answers (probe.Config.OnProgress's shape).
func (c *liveCount) add(sent, answered int) {
	if c == nil {
		return
	}
	c.answered.Add(int64(answered))
	if cur := c.bar.Current() + int64(sent); cur >= c.total.Load() {
		// Retries send more than planned: the count goes on, without
		// completing (which would erase the line) before the run ends.
		c.total.Store(cur + 1)
		c.bar.SetTotal(cur+1, false)
	}
	c.bar.IncrBy(sent)
}

// done erases the line (if it was ever drawn) and waits until it is gone.
func (c *liveCount) done() {
	if c == nil {
		return
	}
	c.delay.Stop()
	c.bar.Abort(true)
	c.p.Wait()
}

// liveTimeline prints an experiment's events on w as they happen, one line
// each: "   16.0 s cable pulled". Plain lines, no terminal codes: a
// timeline is read back, not redrawn. The caller decides that w is a
// terminal.
func liveTimeline(w io.Writer) func(at time.Duration, what string) {
	return func(at time.Duration, what string) {
		fmt.Fprintf(w, "  %6.1f s %s\n", at.Seconds(), what)
	}
}
