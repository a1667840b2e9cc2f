package session_test

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/rawcraft/rawcraft/session"
)

// Across a pulled cable rawcraft retransmits its SYN Retries times, the
// timeout doubling from RTO (RFC 6298 §5.5), then gives up with ErrNoAnswer;
// with negative Retries it sends the SYN once.
func TestSessionRetransmitsWithBackoff(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	const rto = 100 * time.Millisecond
	for _, retries := range []int{3, -1} {
		var res session.Result
		var runErr error
		if err := l.Do(lab.Hc, func() error {
			c, err := session.NewClient(session.ClientConfig{Dst: lab.AddrHs, DstPort: 9999, Guard: session.GuardNone, RTO: rto, Retries: retries, Scope: labScope()})
			if err != nil {
				return err
			}
			defer c.Close()
			if err := l.Break(); err != nil {
				return err
			}
			res, runErr = c.Run()
			return l.Restore()
		}); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(runErr, session.ErrNoAnswer) {
			t.Errorf("retries %d: %v, want ErrNoAnswer", retries, runErr)
		}
		want := max(retries, 0) + 1
		if len(res.Steps) != want {
			t.Fatalf("retries %d: %d steps, want %d SYNs", retries, len(res.Steps), want)
		}
		for i, s := range res.Steps {
			if !s.Out || s.Flags != craft.TCPSyn || s.Retrans != i || s.Seq != res.Steps[0].Seq {
				t.Errorf("retries %d: step %d is %s seq %d retransmission %d; want the same SYN, retransmission %d", retries, i, craft.FlagNames(s.Flags), s.Seq, s.Retrans, i)
			}
			if i == 0 {
				continue
			}
			iv, want := s.Time.Sub(res.Steps[i-1].Time), rto<<(i-1)
			if iv < want || iv > want+want/2 {
				t.Errorf("retries %d: SYN %d came %v after the one before, want %v (the timeout doubling from %v)", retries, i, iv, want, rto)
			}
		}
	}
}

// Across a pulled cable the client's kernel retransmits one segment, each
// interval about twice the one before (listen's TCP analyzer measures them).
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
		prog, _ := rawsock.Filter{Port: 9999}.Compile()
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
