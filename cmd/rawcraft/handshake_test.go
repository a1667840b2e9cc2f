package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
)

// appServer accepts one connection on Hs:port, reads everything until EOF
// (answering "got N" after the first read) and reports what it read and how
// the stream ended.
type appResult struct {
	data []byte
	err  error // nil: an orderly close (EOF)
}

func appServer(t *testing.T, l *lab.Lab, port string) (<-chan appResult, net.Listener) {
	t.Helper()
	var ln net.Listener
	if err := l.Do(lab.Hs, func() (err error) { ln, err = net.Listen("tcp4", "198.18.1.1:"+port); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan appResult, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- appResult{err: err}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(15 * time.Second))
		var got []byte
		buf := make([]byte, 4096)
		replied := false
		for {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if n > 0 && !replied {
				_, _ = c.Write([]byte("got it"))
				replied = true
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				ch <- appResult{data: got, err: err}
				return
			}
		}
	}()
	return ch, ln
}

func handshakeIn(t *testing.T, l *lab.Lab, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := l.Do(lab.Hc, func() error {
		cmd := newHandshakeCmd()
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		return cmd.Execute()
	})
	return out.String(), err
}

func TestHandshakeWithGuards(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	for _, guard := range []string{"ghost", "firewall", "auto"} {
		ch, ln := appServer(t, l, "9999")
		out, err := handshakeIn(t, l, "--dst", "198.18.1.1", "--dport", "9999", "--data", "Hello, server", "--guard", guard)
		if err != nil {
			t.Fatalf("guard %s: %v\n%s", guard, err, out)
		}
		app := <-ch
		ln.Close()
		if app.err != nil || string(app.data) != "Hello, server" {
			t.Errorf("guard %s: the application read %q and ended with %v; want the exact data and an orderly EOF", guard, app.data, app.err)
		}
		for _, want := range []string{"SYN-ACK: the server's ISN", "options: MSS", "three-way handshake is complete", `data: "got it"`, "FIN/ACK from the server", "closed in order (four-way close)"} {
			if !strings.Contains(out, want) {
				t.Errorf("guard %s: output lacks %q\n%s", guard, want, out)
			}
		}
		if strings.Contains(out, "KERNEL") {
			t.Errorf("guard %s: the kernel's RST got out\n%s", guard, out)
		}
	}
	// No guard: the kernel's RST, shown once, kills it.
	_, ln := appServer(t, l, "9999")
	out, _ := handshakeIn(t, l, "--dst", "198.18.1.1", "--dport", "9999", "--data", "x", "--guard", "none", "--retries", "1", "--rto", "100ms")
	ln.Close()
	if !strings.Contains(out, "KERNEL   RST") || !strings.Contains(out, "this host's kernel reset the connection") || strings.Count(out, "KERNEL") != 1 {
		t.Errorf("no guard: the kernel's RST was not shown once\n%s", out)
	}
	// A closed port: the RST, explained.
	out, _ = handshakeIn(t, l, "--dst", "198.18.1.1", "--dport", "9998")
	if !strings.Contains(out, "nothing listens on port 9998") || !strings.Contains(out, "connection was refused") {
		t.Errorf("closed port:\n%s", out)
	}
}

// A RST built by hand at the expected sequence number kills a connection
// between two ordinary programs; off the mark it does not.
func TestResetByHand(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var ln net.Listener
	if err := l.Do(lab.Hs, func() (err error) { ln, err = net.Listen("tcp4", "198.18.1.1:9999"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		buf := make([]byte, 100)
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			if _, err := c.Read(buf); err != nil {
				srvErr <- err
				return
			}
		}
	}()
	var cli net.Conn
	if err := l.Do(lab.Hc, func() (err error) { cli, err = net.Dial("tcp4", "198.18.1.1:9999"); return err }); err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { // the client talks every 200 ms, so that reset can learn the sequence number
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				_, _ = cli.Write([]byte("ping"))
			}
		}
	}()
	reset := func(offset int64) resetOutcome {
		var res resetOutcome
		err := l.Do(lab.Hc, func() error {
			o := &resetOpts{offset: offset, wait: 3 * time.Second, dport: numValue{v: 9999}}
			_ = o.dst.Set("198.18.1.1")
			var err error
			res, err = runReset(io.Discard, o)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	alive := func() bool {
		select {
		case err := <-srvErr:
			srvErr <- err
			return false
		case <-time.After(500 * time.Millisecond):
			return true
		}
	}
	if r := reset(100_000_000); r.ChallengeACK || !alive() {
		t.Fatalf("out-of-window RST: challenge %v; the connection must live on, silently", r.ChallengeACK)
	}
	if r := reset(100); !r.ChallengeACK || !alive() {
		t.Fatalf("in-window inexact RST: challenge ACK %v; want one, and the connection alive", r.ChallengeACK)
	}
	reset(0)
	select {
	case err := <-srvErr:
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("after the exact RST the server application read %v, want ECONNRESET", err)
		}
	case <-time.After(3 * time.Second):
		t.Error("the exact RST did not kill the connection")
	}
}

// Exercise 5: across a pulled cable the client's kernel retransmits one
// segment, each interval about twice the one before.
func TestRetransmissionBackoff(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var ln net.Listener
	if err := l.Do(lab.Hs, func() (err error) { ln, err = net.Listen("tcp4", "198.18.1.1:9999"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		var all []byte
		buf := make([]byte, 1000)
		for len(all) < 100 {
			n, err := c.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- all
	}()
	var cli net.Conn
	var rx *listen.Listener
	if err := l.Do(lab.Hc, func() (err error) {
		if cli, err = net.Dial("tcp4", "198.18.1.1:9999"); err != nil {
			return err
		}
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		prog, _ := listen.Filter{Port: 9999}.Compile()
		rx, err = listen.Listen(ifi, &listen.Config{Filter: prog})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	defer rx.Close()
	_, _ = cli.Write(bytes.Repeat([]byte("D"), 50))
	time.Sleep(100 * time.Millisecond)
	if err := l.Break(); err != nil {
		t.Fatal(err)
	}
	_, _ = cli.Write(bytes.Repeat([]byte("E"), 50))
	an := listen.NewTCPAnalyzer()
	deadline := time.Now().Add(3500 * time.Millisecond)
	for {
		p, err := rx.Next(deadline)
		if err != nil {
			break
		}
		an.Add(p)
	}
	if err := l.Restore(); err != nil {
		t.Fatal(err)
	}
	select {
	case all := <-got:
		if string(all) != strings.Repeat("D", 50)+strings.Repeat("E", 50) {
			t.Errorf("after restore the server read %q", all)
		}
	case <-time.After(10 * time.Second):
		t.Error("the data did not arrive after the cable was restored")
	}
	segs := an.Retransmitted()
	if len(segs) != 1 {
		t.Fatalf("%d retransmitted segments, want the one sent while the cable was out", len(segs))
	}
	iv := segs[0].Intervals()
	t.Logf("copies of seq %d: intervals %v", segs[0].Seq, iv)
	if len(iv) < 3 {
		t.Fatalf("only %d retransmissions in 3.5 s", len(iv))
	}
	// Linux's first copy may be a tail loss probe (RFC 8985 §7), sent when a
	// probe timeout expires, and the first RTO retransmission follows about
	// as long after it: that first step is not a doubling. From the first
	// RTO on, every interval doubles (RFC 6298 §5.5).
	first := 1
	if r := float64(iv[1]) / float64(iv[0]); r < 1.5 {
		first = 2
	}
	if len(iv)-first < 2 {
		t.Fatalf("too few RTO steps: %v", iv)
	}
	for i := first; i < len(iv); i++ {
		r := float64(iv[i]) / float64(iv[i-1])
		if r < 1.5 || r > 2.5 {
			t.Errorf("interval %d is %.2f× the one before (%v after %v), want 1.5 to 2.5", i, r, iv[i], iv[i-1])
		}
	}
}
