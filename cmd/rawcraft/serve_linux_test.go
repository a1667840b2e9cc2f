package main

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
)

// serve in Hs with a zero window: a real client in Hc probes it; the steps
// show the probes answered, and the summary counts them.
func TestServeZeroWindowCLI(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	type ran struct {
		code     int
		out, err string
	}
	ch := make(chan ran, 1)
	go func() {
		var out, errb bytes.Buffer
		var code int
		_ = l.Do(lab.Hs, func() error {
			code = run([]string{"serve", "--addr", "198.18.1.1", "--port", "9200", "--win", "0", "--wait", "5s", "--for", "1500ms"}, &out, &errb)
			return nil
		})
		ch <- ran{code, out.String(), errb.String()}
	}()
	var c net.Conn
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := l.Do(lab.Hc, func() (err error) { c, err = net.DialTimeout("tcp4", "198.18.1.1:9200", time.Second); return err })
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // the server is not up yet: the kernel's RST refused us
	}
	defer c.Close()
	_, _ = c.Write(bytes.Repeat([]byte("x"), 500))
	r := <-ch
	if r.code != 0 {
		t.Fatalf("exit %d: %s\n%s", r.code, r.err, r.out)
	}
	for _, want := range []string{"guard: firewall", "SYN-ACK: our ISN", "window 0", "zero-window probe", "ACK answering the probe: the window is still zero", "rawcraft reset the connection after receiving 0 bytes", "probes of the window answered: "} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
}

// Bad input: one line naming the value and the rule, exit 2, nothing sent.
func TestServeBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--port", "80"},
		{"serve", "--addr", "198.18.1.1", "--ghost", "198.18.1.200", "--port", "80"},
		{"serve", "--addr", "198.18.1.1", "--port", "80", "--win", "-1"},
		{"serve", "--addr", "198.18.1.1", "--port", "80", "--read-rate", "5"},
		{"serve", "--addr", "198.18.1.1", "--port", "80", "--read-rate", "1000/0s"},
		{"serve", "--addr", "198.18.1.1", "--port", "80", "--no-ack", "--withhold", "2"},
		{"serve", "--addr", "198.18.1.1", "--port", "80", "--ack-delay", "11s"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 || strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want 2 and one line", args, code, errb.String(), out.String())
		}
	}
}
