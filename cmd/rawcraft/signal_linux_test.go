package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
)

// processesOf lists the PIDs of running processes whose executable is bin
// (zombies, which hold nothing, excepted).
func processesOf(bin string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || exe != bin {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
				continue
			}
		}
		out = append(out, e.Name())
	}
	return out
}

// keptWhole says whether lab name is kept by lab up and passes its check.
func keptWhole(name string) bool {
	for _, o := range lab.Inventory() {
		if o.Name == name && o.State == lab.KeptByUser {
			l, err := lab.Open(name, false)
			return err == nil && len(l.Check()) == 0
		}
	}
	return false
}

// The signal matrix: demo, an exercise, frag, lab up and listen
// under lab exec, each stopped by INT, TERM, HUP or KILL at a random
// moment. Afterwards — with rawcraft cleanup after KILL — no namespace,
// record (and so no nftables table or sysctl, which live in the lab's
// namespaces) and no process of the run remains, and a second lab, made by
// this test and in use meanwhile, is untouched. With -short one signal per
// command, chosen at random.
func TestSignalMatrix(t *testing.T) {
	lab.RequireRoot(t)
	bin := buildBinary(t)
	other := lab.ForTest(t, lab.Config{})
	// The handshake goes to a port Hs drops: it retransmits its SYN for
	// seconds, its guard in place, until the signal comes.
	if _, err := other.DropPort(lab.Hs, craft.ProtoTCP, 9997); err != nil {
		t.Fatal(err)
	}
	type command struct {
		name  string
		args  func(run int) []string
		labOf func(pid, run int) string // the lab the run makes, "" for none
		upTo  time.Duration             // the random moment is before this
	}
	commands := []command{
		{"demo", func(int) []string { return []string{"demo"} },
			func(pid, _ int) string { return fmt.Sprintf("demo%d", pid) }, 3 * time.Second},
		{"exercise", func(int) []string { return []string{"exercise", "5", "--fast"} },
			func(pid, _ int) string { return fmt.Sprintf("ex%d", pid) }, 3 * time.Second},
		{"frag", func(int) []string {
			return []string{"frag", "--size", "4000", "--frag", "1480", "--frag-drop", "2"}
		}, func(pid, _ int) string { return fmt.Sprintf("frag%d", pid) }, 4 * time.Second},
		{"lab up", func(run int) []string {
			return []string{"lab", "up", "--name", fmt.Sprintf("t%d-sig%d", os.Getpid(), run)}
		}, func(_, run int) string { return fmt.Sprintf("t%d-sig%d", os.Getpid(), run) }, 1500 * time.Millisecond},
		{"handshake --guard firewall", func(int) []string {
			return []string{"lab", "--name", other.Name(), "exec", "hc", "--", bin, "handshake", "--dst", "198.18.1.1", "--dport", "9997",
				"--guard", "firewall", "--data", "hello"}
		}, func(int, int) string { return "" }, 2 * time.Second},
		{"lab exec listen", func(int) []string {
			return []string{"lab", "--name", other.Name(), "exec", "hs", "--", bin, "listen", "-q", "--timeout", "30s"}
		}, func(int, int) string { return "" }, 2 * time.Second},
	}
	signals := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGKILL}
	run := 0
	for _, c := range commands {
		sigs := signals
		if testing.Short() {
			sigs = []syscall.Signal{signals[rand.IntN(len(signals))]}
		}
		for _, sig := range sigs {
			run++
			t.Run(strings.ReplaceAll(c.name, " ", "_")+"/"+sig.String(), func(t *testing.T) {
				cmd := exec.Command(bin, c.args(run)...)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				pid := cmd.Process.Pid
				name := c.labOf(pid, run)
				at := time.Duration(rand.Int64N(int64(c.upTo)))
				time.Sleep(at)
				_ = cmd.Process.Signal(sig)
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				var err error
				select {
				case err = <-done:
				case <-time.After(15 * time.Second):
					_ = cmd.Process.Kill()
					<-done
					t.Fatalf("still running 15 s after %v at %v:\n%s", sig, at, out.String())
				}
				finished := err == nil // it ended before the signal came
				if sig == syscall.SIGKILL {
					// What SIGKILL leaves is swept once its processes are
					// gone (a child killed with its parent dies a moment
					// later, longer on a busy machine): cleanup leaves what
					// a live process owns, so it must not run before.
					for i := 0; i < 500 && len(processesOf(bin)) > 0; i++ {
						time.Sleep(20 * time.Millisecond)
					}
					if procs := processesOf(bin); len(procs) > 0 {
						t.Fatalf("%v at %v: processes %v still run 10 s later", sig, at, procs)
					}
					if o, err := exec.Command(bin, "cleanup").CombinedOutput(); err != nil {
						t.Fatalf("rawcraft cleanup: %v\n%s", err, o)
					}
				}
				if c.name == "lab up" && keptWhole(name) {
					// lab up got as far as handing the lab, whole, to the
					// user (and reported it, if it finished): the user's to
					// remove. Anything else must be gone.
					if o, err := exec.Command(bin, "lab", "down", "--name", name).CombinedOutput(); err != nil {
						t.Fatalf("lab down: %v\n%s", err, o)
					}
				} else if finished && c.name == "lab up" {
					t.Errorf("lab up exited 0 but lab %s is not kept whole", name)
				}
				// Children die with their parent; give the kernel a moment to reap.
				var procs []string
				for i := 0; i < 50; i++ {
					if procs = processesOf(bin); len(procs) == 0 {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				if len(procs) > 0 {
					t.Errorf("%v at %v left processes %v running", sig, at, procs)
				}
				if name != "" {
					if hosts := lab.Labs()[name]; len(hosts) > 0 {
						t.Errorf("%v at %v left lab %s: %v\n%s", sig, at, name, hosts, out.String())
					}
					if _, err := os.Stat(filepath.Join(lab.RecordDir, "lab-"+name)); err == nil {
						t.Errorf("%v at %v left the record of lab %s", sig, at, name)
					}
				}
				if tables := guardTablesIn(t, other.NS(lab.Hc)); len(tables) > 0 {
					t.Errorf("%v at %v left guard tables %v in Hc\n%s", sig, at, tables, out.String())
				}
				if bad := other.Check(); len(bad) > 0 {
					t.Fatalf("%v at %v broke the other lab: %v", sig, at, bad)
				}
				t.Logf("%v at %v: exit %v", sig, at.Round(time.Millisecond), err)
			})
		}
	}
}
