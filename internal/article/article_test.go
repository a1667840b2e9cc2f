package article

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
)

func TestMain(m *testing.M) { os.Exit(lab.RunTests(m)) }

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuf) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuf) reads() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, l := range strings.Split(w.b.String(), "\n") {
		if i := strings.LastIndex(l, ": "); i >= 0 && strings.Contains(l, " read ") {
			out = append(out, l[i+2:])
		}
	}
	return out
}

// serve runs server in Hs until the test ends, and returns what it printed.
func serve(t *testing.T, l *lab.Lab, server func(Options) error, o Options) *lockedBuf {
	out := &lockedBuf{}
	ready, stop, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	o.Server, o.Out, o.Ready, o.Stop = lab.AddrHs.String(), out, ready, stop
	go func() { done <- l.Do(lab.Hs, func() error { return server(o) }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("server: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not listen within 5 s")
	}
	t.Cleanup(func() {
		close(stop)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("the server did not stop within 5 s")
		}
	})
	return out
}

// UDP keeps message boundaries: each 50-byte message is one read, cut to the
// server's 20-byte buffer.
func TestUDPMessagesAreCut(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	srv := serve(t, l, UDPServer, Options{Port: 9999, Buffer: 20})
	var cli lockedBuf
	if err := l.Do(lab.Hc, func() error {
		return UDPClient(Options{Server: lab.AddrHs.String(), Port: 9999, Buffer: 50, Count: 3, Delay: 20 * time.Millisecond, Out: &cli})
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{strings.Repeat("A", 20), strings.Repeat("B", 20), strings.Repeat("C", 20)}
	var got []string
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = srv.reads(); len(got) >= len(want) {
			break
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("the UDP server read %q, want %q", got, want)
	}
}

// TCP is a stream: 3 × 50 bytes arrive as 150 bytes in reads of at most 20.
func TestTCPIsAStream(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	srv := serve(t, l, TCPServer, Options{Port: 9999, Buffer: 20})
	var cli lockedBuf
	if err := l.Do(lab.Hc, func() error {
		return TCPClient(Options{Server: lab.AddrHs.String(), Port: 9999, Buffer: 50, Count: 3, Delay: 20 * time.Millisecond, Out: &cli})
	}); err != nil {
		t.Fatal(err)
	}
	want := string(Message(1, 50)) + string(Message(2, 50)) + string(Message(3, 50))
	var got string
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		reads := srv.reads()
		for _, r := range reads {
			if len(r) > 20 {
				t.Fatalf("a read of %d bytes with a 20-byte buffer", len(r))
			}
		}
		if got = strings.Join(reads, ""); len(got) >= len(want) {
			break
		}
	}
	if got != want {
		t.Errorf("the TCP server read %q, want %q", got, want)
	}
}
