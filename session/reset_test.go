package session_test

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/session"
)

// A RST built by hand at the expected sequence number kills a connection
// between two ordinary programs; off the mark it does not (RFC 5961 §3.2).
// It proves three claims of craft's table, whose packets depend on the
// connection's sequence numbers: rst-outside-window-ignored,
// rst-in-window-challenged, rst-exact-resets.
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
	cliPort := uint16(cli.LocalAddr().(*net.TCPAddr).Port)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // the client talks every 200 ms, so that Reset can learn the sequence number
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				_, _ = cli.Write([]byte("ping"))
			}
		}
	}()
	reset := func(offset int64) session.ResetResult {
		var res session.ResetResult
		err := l.Do(lab.Hc, func() (err error) {
			res, err = session.Reset(session.ResetConfig{Dst: lab.AddrHs, DstPort: 9999, Offset: offset, Wait: 3 * time.Second})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Src != lab.AddrHc || res.SrcPort != cliPort || res.Dst != lab.AddrHs || res.DstPort != 9999 || res.Offset != offset ||
			res.Seq != res.Expected+uint32(offset) || res.Exact != (offset == 0) {
			t.Errorf("offset %d: %+v; want the RST as %v:%d → %v:9999 at the expected number + offset", offset, res, lab.AddrHc, cliPort, lab.AddrHs)
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
	// No connection left to watch: Reset says so within its wait.
	err := l.Do(lab.Hc, func() error {
		_, err := session.Reset(session.ResetConfig{Dst: lab.AddrHs, DstPort: 9997, Wait: 300 * time.Millisecond})
		return err
	})
	if !errors.Is(err, session.ErrNoConnection) || err.Error() != "no segment of a connection to 198.18.1.1:9997 in 300ms: is it open, and is the client sending?" {
		t.Errorf("no connection: %v", err)
	}
}

// Bad config is refused before anything is opened or sent.
func TestResetConfigRefused(t *testing.T) {
	for _, c := range []session.ResetConfig{
		{DstPort: 9999},
		{Dst: lab.AddrHs},
		{Dst: lab.AddrHs, DstPort: 9999, Offset: 1 << 32},
		{Dst: lab.AddrHs, DstPort: 9999, Offset: -(1 << 31) - 1},
		{Dst: lab.AddrHs, DstPort: 9999, Wait: 2 * time.Minute},
		{Dst: lab.AddrHs, DstPort: 9999, Wait: -time.Second},
	} {
		if _, err := session.Reset(c); err == nil || errors.Is(err, session.ErrNoConnection) {
			t.Errorf("%+v: %v; want a config error", c, err)
		}
	}
}
