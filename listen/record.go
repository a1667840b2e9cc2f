package listen

import (
	"errors"
	"os"
	"sync"
	"time"

	"github.com/rawcraft/rawcraft/rawsock"
)

// Captured is a copy of one captured frame, kept after the Listener moved on.
type Captured struct {
	Meta  rawsock.Meta
	Frame []byte
}

// Recorder copies every frame its Listener captures, in a goroutine, until
// Stop. For experiments that look at the wire afterwards; it allocates a
// copy per frame, so it is not for the hot path.
type Recorder struct {
	l    *Listener
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	got  []Captured
	max  int
}

// Record starts recording what l captures, at most max frames (0: 100 000).
func Record(l *Listener, max int) *Recorder {
	if max <= 0 {
		max = 100_000
	}
	r := &Recorder{l: l, stop: make(chan struct{}), done: make(chan struct{}), max: max}
	go r.run()
	return r
}

func (r *Recorder) run() {
	defer close(r.done)
	for {
		select {
		case <-r.stop:
			return
		default:
		}
		p, err := r.l.Next(time.Now().Add(50 * time.Millisecond))
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return
		}
		r.mu.Lock()
		if len(r.got) < r.max {
			r.got = append(r.got, Captured{Meta: p.Meta, Frame: append([]byte(nil), p.Frame...)})
		}
		r.mu.Unlock()
	}
}

// Snapshot returns what was recorded so far.
func (r *Recorder) Snapshot() []Captured {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Captured(nil), r.got...)
}

// Stop ends the recording and returns every frame recorded.
func (r *Recorder) Stop() []Captured {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
	return r.Snapshot()
}
