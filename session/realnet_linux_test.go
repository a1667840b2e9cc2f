package session_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/session"
)

// guardTables lists the guard tables in namespace ns.
func guardTables(t *testing.T, ns string) []string {
	t.Helper()
	names, err := lab.Tables(ns, session.GuardTablePrefix)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// On a namespace pair that is not the lab, auto means the firewall guard
// (never a ghost): the conversation carries the data to a real server and
// closes in order without a kernel RST, and the table is gone afterwards.
func TestRealNetSessionFirewallGuard(t *testing.T) {
	p := lab.PairForTest(t)
	var ln net.Listener
	if err := p.Do(p.Server, func() (err error) { ln, err = net.Listen("tcp4", "198.18.7.1:9999"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, 100)
		n, _ := c.Read(b)
		got <- string(b[:n])
	}()
	var c *session.Client
	if err := p.Do(p.Client, func() (err error) {
		c, err = session.NewClient(session.ClientConfig{Dst: lab.PairServer, DstPort: 9999, Data: []byte("Hello")})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if c.Guard != session.GuardFirewall || c.Config.Src != lab.PairClient {
		t.Errorf("outside the lab: guard %s speaking as %v; want firewall as %v", c.Guard, c.Config.Src, lab.PairClient)
	}
	if tb := guardTables(t, p.Client); !slices.Equal(tb, []string{session.GuardTable()}) {
		t.Errorf("while running: guard tables %v; want [%s]", tb, session.GuardTable())
	}
	res, err := c.Run()
	if cerr := c.Close(); cerr != nil {
		t.Error(cerr)
	}
	if err != nil || !res.Closed || res.KernelRST || res.Reset {
		t.Errorf("conversation: %+v, %v; want closed in order, no kernel RST", res, err)
	}
	if s := <-got; s != "Hello" {
		t.Errorf("the server read %q", s)
	}
	if tb := guardTables(t, p.Client); len(tb) != 0 {
		t.Errorf("after Close: guard tables %v left", tb)
	}
}

// A run killed with SIGKILL leaves its table; SweepGuards removes it, and
// never a live run's.
func TestSweepGuardsAfterSIGKILL(t *testing.T) {
	if os.Getenv("RAWCRAFT_GUARD_HELPER") == "1" {
		remove, err := session.FirewallGuard(lab.PairClient, 40000, lab.PairServer, 9999)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		_ = remove
		fmt.Println("guarded")
		time.Sleep(time.Minute) // killed long before
		os.Exit(0)
	}
	p := lab.PairForTest(t)
	// A live guard of this process too: the sweep must keep it.
	var removeOwn func() error
	if err := p.Do(p.Client, func() (err error) {
		removeOwn, err = session.FirewallGuard(lab.PairClient, 40001, lab.PairServer, 9999)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer removeOwn()
	cmd := exec.Command("ip", "netns", "exec", p.Client, os.Args[0], "-test.run=^TestSweepGuardsAfterSIGKILL$")
	cmd.Env = append(os.Environ(), "RAWCRAFT_GUARD_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf) // "guarded", or an error
	if !strings.Contains(string(buf[:n]), "guarded") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper: %q", buf[:n])
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	left := guardTables(t, p.Client)
	if len(left) != 2 {
		t.Fatalf("after SIGKILL: guard tables %v; want the killed run's and ours", left)
	}
	var removed []string
	if err := p.Do(p.Client, func() (err error) { removed, err = session.SweepGuards(); return err }); err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] == session.GuardTable() {
		t.Errorf("SweepGuards removed %v; want only the killed run's table", removed)
	}
	if tb := guardTables(t, p.Client); !slices.Equal(tb, []string{session.GuardTable()}) {
		t.Errorf("after the sweep: %v; want only ours, %s", tb, session.GuardTable())
	}
}
