package listen

import (
	"errors"
	"net"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
)

// CaptureConfig bounds a Capture: it stops at the first of Count frames,
// Deadline, or Stop being closed (a Ctrl-C).
type CaptureConfig struct {
	Count    uint64 // 0: no bound but the others
	Deadline time.Time
	Stop     <-chan struct{}
}

// Capture hands every frame to fn until cfg says stop, and returns how many
// it handed. Stopping by Stop leaves the socket open, so that Stats still
// counts what the kernel dropped or queued unread. fn must not keep the
// Packet.
func (l *Listener) Capture(cfg CaptureConfig, fn func(*Packet)) (uint64, error) {
	done := make(chan struct{})
	defer close(done)
	stopped := func() bool {
		select {
		case <-cfg.Stop:
			return true
		default:
			return false
		}
	}
	if cfg.Stop != nil {
		go func() {
			// Unblock Next, again every 50 ms in case Next had just set its
			// own deadline; until the loop ends.
			select {
			case <-cfg.Stop:
			case <-done:
				return
			}
			for {
				_ = l.Interrupt()
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
	}
	var n uint64
	for (cfg.Count == 0 || n < cfg.Count) && !stopped() {
		p, err := l.Next(cfg.Deadline)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || stopped() || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return n, nil
			}
			return n, err
		}
		n++
		fn(p)
	}
	return n, nil
}

// Notes says in words what is wrong with the packet, one note each: a
// checksum that is not good (bad, with the value it should have; not yet
// filled by offload; absent), and what decoding found. A good packet has
// none.
func (p *Packet) Notes() []string {
	var notes []string
	for _, c := range p.Checksums() {
		if c.Status == craft.ChecksumGood {
			continue
		}
		name := c.Layer.String()
		if c.Quoted {
			name = "quoted " + name
		}
		notes = append(notes, name+" checksum "+c.Verdict())
	}
	if p.Err != nil {
		notes = append(notes, p.Err.Error())
	}
	return notes
}
