package lab

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(RunTests(m)) }

// udpListen opens a UDP socket bound inside host's namespace.
func udpListen(t *testing.T, l *Lab, host, addr string) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := l.Do(host, func() error {
		a, err := net.ResolveUDPAddr("udp4", addr)
		if err != nil {
			return err
		}
		c, err = net.ListenUDP("udp4", a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// delivered sends msg from Hc to Hs's server and reports whether it arrived
// within wait.
func delivered(t *testing.T, from, to *net.UDPConn, msg string, wait time.Duration) bool {
	t.Helper()
	if _, err := from.WriteTo([]byte(msg), to.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	deadline := time.Now().Add(wait)
	for {
		to.SetReadDeadline(deadline)
		n, _, err := to.ReadFrom(buf)
		if err != nil {
			return false
		}
		if string(buf[:n]) == msg {
			return true
		}
	}
}

func TestLabUpBreakRestoreDown(t *testing.T) {
	l := ForTest(t, Config{})
	for _, h := range l.Hosts() {
		if !nsExists(l.NS(h)) {
			t.Fatalf("no namespace for %s", h)
		}
	}
	// Up again is idempotent: same lab, nothing rebuilt.
	again, err := Up(l.Config())
	if err != nil || again.Name() != l.Name() {
		t.Fatalf("second Up: %v", err)
	}
	srv := udpListen(t, l, Hs, "198.18.1.1:9999")
	cli := udpListen(t, l, Hc, "198.18.1.3:0")
	if !delivered(t, cli, srv, "A", 2*time.Second) {
		t.Fatal("Hc cannot reach Hs")
	}
	if err := l.Break(); err != nil {
		t.Fatal(err)
	}
	if up, _ := l.CableUp(); up {
		t.Fatal("cable still up after Break")
	}
	// The hosts see no carrier change.
	_ = l.Do(Hc, func() error {
		i, err := net.InterfaceByName(HostIfc)
		if err != nil || i.Flags&net.FlagUp == 0 {
			t.Errorf("Hc's interface went down with the cable: %v", err)
		}
		return nil
	})
	if delivered(t, cli, srv, "B", 500*time.Millisecond) {
		t.Fatal("delivered across a pulled cable")
	}
	if err := l.Restore(); err != nil {
		t.Fatal(err)
	}
	ok := false
	for i := 0; i < 10 && !ok; i++ { // the bridge port needs a moment to forward again
		ok = delivered(t, cli, srv, fmt.Sprint("C", i), 300*time.Millisecond)
	}
	if !ok {
		t.Fatal("not delivered after Restore")
	}
	for _, h := range []string{Hc, Hs} {
		on, err := l.TxChecksumOffload(h, HostIfc)
		if err != nil || on {
			t.Errorf("%s: tx checksum offload on=%v err=%v; the lab turns it off", h, on, err)
		}
	}
}

func TestLabOffloadLeftOn(t *testing.T) {
	l := ForTest(t, Config{Offload: true})
	on, err := l.TxChecksumOffload(Hc, HostIfc)
	if err != nil || !on {
		t.Errorf("tx checksum offload on=%v err=%v, want on", on, err)
	}
}

func TestLabRouted(t *testing.T) {
	l := ForTest(t, Config{Routed: true})
	srv := udpListen(t, l, Hf, "198.18.2.2:9999")
	cli := udpListen(t, l, Hc, "198.18.1.3:0")
	if !delivered(t, cli, srv, "via R", 2*time.Second) {
		t.Fatal("Hc cannot reach Hf through R")
	}
	_ = l.Do(Hf, func() error {
		i, err := net.InterfaceByName(HostIfc)
		if err != nil || i.MTU != 1280 {
			t.Errorf("Hf's MTU %v, want 1280 (%v)", i, err)
		}
		return nil
	})
}

func TestDownRemovesEverything(t *testing.T) {
	RequireRoot(t)
	l, err := Up(Config{Name: fmt.Sprintf("t%d-down", os.Getpid())})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Down(); err != nil {
		t.Fatal(err)
	}
	if left := existing(Prefix + l.Name() + "-"); len(left) > 0 {
		t.Fatalf("left: %v", left)
	}
	if err := l.Down(); err != nil {
		t.Fatalf("second Down: %v", err)
	}
}
