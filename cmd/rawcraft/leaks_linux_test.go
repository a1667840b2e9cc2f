package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// leakArgs are the positional arguments that take each command past its
// argument check to its flags' own checks.
var leakArgs = map[string][]string{
	"rawcraft build":    {"udp"},
	"rawcraft explain":  {"udp"},
	"rawcraft send":     {"udp"},
	"rawcraft probe":    {"tcp"},
	"rawcraft checksum": {"x"},
	"rawcraft exercise": {"1"},
	"rawcraft lab exec": {"hc", "--", "true"},
	"rawcraft read":     {"/nonexistent/capture.pcap"},
	"rawcraft replay":   {"/nonexistent/capture.pcap"},
}

// leakValues are the bad (and odd) values every flag is given.
var leakValues = []string{"x", "-1", "0", "10%", "99999999999999999999", ""}

// goInternal is what a user must never read: a Go package's name or an
// errno's, in place of the value and the rule.
var goInternal = regexp.MustCompile(`strconv\.|syscall\.|errno|runtime error|goroutine |panic:`)

// TestNoErrorLeaksGoInternals gives every flag of every command each of
// leakValues, as the built binary, and greps what it prints for Go's
// internals; a value refused as bad input (exit 2) must be answered in one
// line. The binary runs as nobody in a network namespace of its own
// with nothing but a down loopback: whatever a value lets through fails for
// want of privilege or a route — its error path is then checked too — and
// nothing (not even a DNS query for a host name) leaves.
func TestNoErrorLeaksGoInternals(t *testing.T) {
	lab.RequireRoot(t)
	// nobody must reach the binary and the working directory, root's
	// (nobody can write a --pcap or --svg there).
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(buildBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "rawcraft")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	type inv struct{ args []string }
	var invs []inv
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if c.Runnable() {
			path := c.CommandPath()
			base := append(strings.Fields(strings.TrimPrefix(path, "rawcraft ")), leakArgs[path]...)
			if path == "rawcraft" {
				base = nil
			}
			seen := map[string]bool{}
			add := func(f *pflag.Flag) {
				if f.Name == "help" || seen[f.Name] {
					return
				}
				seen[f.Name] = true
				for _, v := range leakValues {
					a := append([]string{}, base...)
					// before a "--": flags after it belong to the command lab exec runs
					at := len(a)
					for i, w := range a {
						if w == "--" {
							at = i
						}
					}
					a = append(a[:at:at], append([]string{"--" + f.Name + "=" + v}, base[at:]...)...)
					invs = append(invs, inv{a})
				}
			}
			c.LocalFlags().VisitAll(add)
			c.InheritedFlags().VisitAll(add)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRoot(io.Discard, io.Discard))
	t.Logf("%d invocations", len(invs))
	leaks, multi := map[string]bool{}, map[string]bool{}
	ran := 0
	// Four at a time: each waits mostly on its namespace's making and
	// unmaking, not on a CPU. mu guards leaks, multi, ran and t's failures.
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan inv)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for iv := range work {
				leakCheck(t, &mu, bin, dir, iv.args, leaks, multi, &ran)
			}
		}()
	}
	for _, iv := range invs {
		work <- iv
	}
	close(work)
	wg.Wait()
	var ls []string
	for l := range leaks {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	for _, l := range ls {
		t.Errorf("Go's internals reach the user: %s", l)
	}
	ls = ls[:0]
	for l := range multi {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	for _, l := range ls {
		t.Errorf("bad input (exit 2) answered in more than one line: %s", l)
	}
	if ran != len(invs) || len(invs) < 1000 {
		t.Errorf("%d of %d invocations ran", ran, len(invs))
	}
}

// leakCheck runs one invocation of TestNoErrorLeaksGoInternals as nobody
// in a network namespace of its own and records, under mu, what it leaked
// or answered in more than one line. It runs off the test's goroutine:
// it reports with t.Errorf, never t.Fatalf.
func leakCheck(t *testing.T, mu *sync.Mutex, bin, dir string, args []string, leaks, multi map[string]bool, ran *int) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET,
		Credential: &syscall.Credential{Uid: 65534, Gid: 65534},
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	timedOut := ctx.Err() != nil
	line := "rawcraft " + strings.Join(args, " ")
	mu.Lock()
	defer mu.Unlock()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Errorf("%s: %v", line, err)
		return
	}
	*ran++
	if timedOut {
		t.Errorf("%s: still running after 20 s", line)
		return
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == exitUsage && strings.Count(strings.TrimSpace(out.String()), "\n") != 0 {
		multi[line+"\n\t"+strings.ReplaceAll(strings.TrimSpace(out.String()), "\n", "\n\t")] = true
	}
	if m := goInternal.FindString(out.String()); m != "" {
		at := ""
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, m) {
				at = l
				break
			}
		}
		leaks[line+"\n\t"+at] = true
	}
}
