package lab

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// Drained is what a test's receiving application (DrainOne) read from its
// one connection: the bytes when kept, and the error that ended it (nil at
// an orderly end of the stream).
type Drained struct {
	Data []byte
	Err  error
}

// DrainConfig says how DrainOne's application behaves. The zero value
// reads at once, with the kernel's default receive buffer, for at most 15 s.
type DrainConfig struct {
	RcvBuf   int           // SO_RCVBUF set on the listener before listen (0: the kernel's default)
	Wait     time.Duration // after accepting, before the first read (a small RcvBuf then fills and the window closes)
	Keep     bool          // keep the bytes read in Drained.Data
	Deadline time.Duration // on the whole connection after it is accepted (0: 15 s)
	Reply    []byte        // written once, after the first read that returned bytes
	// ReadSize is the most bytes one read takes (0: 8192, as io.Copy to
	// io.Discard reads): a small read keeps a fast sender's receive window
	// near full, so zero windows and window updates appear.
	ReadSize int
}

// DrainOne is the receiving end tests give a lab's TCP connections: it
// listens on addr ("198.18.1.1:9999") of network ("tcp4", "tcp6") inside
// host, accepts one connection, reads it to its end as c says, and sends
// what it read on the channel (once). The listener is closed once it has
// accepted, or when the test ends; every wait is bounded.
func (l *Lab) DrainOne(t TB, host, network, addr string, c DrainConfig) <-chan Drained {
	t.Helper()
	var ln net.Listener
	err := l.Do(host, func() (err error) {
		lc := net.ListenConfig{}
		if c.RcvBuf > 0 {
			lc.Control = rcvBufControl(c.RcvBuf)
		}
		ln, err = lc.Listen(context.Background(), network, addr)
		return err
	})
	if err != nil {
		t.Fatalf("listening on %s in %s: %v", addr, host, err)
	}
	t.Cleanup(func() { ln.Close() })
	deadline := c.Deadline
	if deadline == 0 {
		deadline = 15 * time.Second
	}
	out := make(chan Drained, 1)
	go func() {
		if tl, ok := ln.(*net.TCPListener); ok {
			_ = tl.SetDeadline(time.Now().Add(deadline))
		}
		conn, err := ln.Accept()
		ln.Close()
		if err != nil {
			out <- Drained{Err: err}
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(deadline))
		time.Sleep(c.Wait)
		var d Drained
		buf := make([]byte, cmp.Or(c.ReadSize, 8192))
		replied := false
		for {
			n, err := conn.Read(buf)
			if n > 0 && c.Reply != nil && !replied {
				_, _ = conn.Write(c.Reply)
				replied = true
			}
			if c.Keep {
				d.Data = append(d.Data, buf[:n]...)
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					d.Err = err
				}
				out <- d
				return
			}
		}
	}()
	return out
}
