package main

import (
	"bytes"
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
)

// The engine's behaviour (every guard, the kernel's RST, refusal, reset,
// retransmission) is tested in package session; here, that the commands
// reach it and render what it did.

// inHc runs the CLI inside Hc and returns its exit status and output.
func inHc(t *testing.T, l *lab.Lab, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := l.Do(lab.Hc, func() error { code = run(args, &out, &errb); return nil }); err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// acceptOne accepts one connection on Hs:port and reports what the
// application read until the stream ended (nil Err: an orderly EOF),
// answering "got it" after its first read.
func acceptOne(t *testing.T, l *lab.Lab, port string) <-chan lab.Drained {
	t.Helper()
	return l.DrainOne(t, lab.Hs, "tcp4", "198.18.1.1:"+port, lab.DrainConfig{Keep: true, Reply: []byte("got it")})
}

func TestHandshakeCommand(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	ch := acceptOne(t, l, "9999")
	code, out, errs := inHc(t, l, "handshake", "--dst", "198.18.1.1", "--dport", "9999", "--data", "Hello, server", "--guard", "ghost")
	app := <-ch
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
	}
	if app.Err != nil || string(app.Data) != "Hello, server" {
		t.Errorf("the application read %q and ended with %v; want the exact data and an orderly EOF", app.Data, app.Err)
	}
	if !strings.HasPrefix(out, "guard: ghost — rawcraft speaks as 198.18.1.") {
		t.Errorf("the first line is not the guard's\n%s", out)
	}
	for _, want := range []string{"client → server rawcraft SYN ", "server → client          SYN|ACK ", "SYN-ACK: the server's ISN", "options: MSS", "three-way handshake is complete", `data: "got it"`, "FIN|ACK from the server",
		"connection opened, 13 bytes sent, 6 received, closed in order ("} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	// The close is named by its segments: four-way only when 4 were seen
	// (the server's application closes at once, so its ACK usually rides
	// on its FIN).
	if !strings.HasSuffix(out, "closed in order (3 segments: the ACK of the first FIN rode on the second FIN)\n") &&
		!strings.HasSuffix(out, "closed in order (four-way close, 4 segments: FIN, ACK, FIN, ACK)\n") {
		t.Errorf("the close is not named by its segments\n%s", out)
	}
	if strings.Contains(out, "KERNEL") {
		t.Errorf("the kernel's RST got out\n%s", out)
	}
	// The ladder: every segment of both directions, in time order.
	ladderAt := strings.Index(out, "The exchange as the wire saw it (kernel timestamps of both directions, one clock):\n")
	if ladderAt < 0 {
		t.Fatalf("no ladder\n%s", out)
	}
	var arrows []string
	for _, ln := range strings.Split(out[ladderAt:], "\n") {
		if m := regexp.MustCompile(`(\d+→\d+ \[\w+\])`).FindStringSubmatch(ln); m != nil {
			arrows = append(arrows, m[1][strings.Index(m[1], "["):])
		}
	}
	// The server's ACK of our data may come alone or with its reply; its
	// FIN may come before or after our last ACK of its data.
	if got := strings.Join(arrows, " "); !regexp.MustCompile(`^\[S\] \[SA\] \[A\] \[PA\]( \[A\]| \[PA\])+ \[FA\]( \[A\])? \[FA\] \[A\]( \[A\])?$`).MatchString(got) {
		t.Errorf("ladder arrows %s\n%s", got, out[ladderAt:])
	}
	checkLadderTimes(t, out[ladderAt:])
	// A closed port: the RST, explained; the command still succeeds.
	code, out, _ = inHc(t, l, "handshake", "--dst", "198.18.1.1", "--dport", "9998")
	if code != exitOK || !strings.Contains(out, "port 9998: "+craft.ClaimSYNRefused.Text()) || !strings.HasSuffix(out, "the connection was refused: nothing listens on 198.18.1.1:9998\n") {
		t.Errorf("closed port: exit %d\n%s", code, out)
	}
	// Bad input inside the lab: one line, exit 2, nothing sent.
	for _, args := range [][]string{
		{"handshake", "--dst", "198.18.1.1", "--dport", "9999", "--retries", "11"},
		{"reset", "--dst", "198.18.1.1", "--dport", "9999", "--wait", "2m"},
		{"reset", "--dst", "198.18.1.1", "--dport", "9999", "--offset", "4294967296"},
	} {
		code, out, errs := inHc(t, l, args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "rawcraft: --") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one line", args, code, out, errs)
		}
	}
}

// checkLadderTimes checks that the times of a ladder's arrows in out never
// go back.
func checkLadderTimes(t *testing.T, out string) {
	t.Helper()
	prev := -1.0
	for _, m := range regexp.MustCompile(`(?m)^ +(\d+\.\d{6})  \|`).FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		if v < prev {
			t.Errorf("ladder time %s after %.6f\n%s", m[1], prev, out)
		}
		prev = v
	}
	if prev < 0 {
		t.Errorf("no ladder times\n%s", out)
	}
}

// reset renders what session.Reset did: the RST and, off the mark, the
// server's challenge ACK.
func TestResetCommand(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	ch := acceptOne(t, l, "9999")
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
	code, out, errs := inHc(t, l, "reset", "--dst", "198.18.1.1", "--dport", "9999", "--offset", "100", "--wait", "3s")
	// The ladder first, then the two lines of the verdict. The challenge ACK
	// follows the RST, though the client's kernel may ACK the server's last
	// data in between (both race on the wire).
	all := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	lines := all[max(0, len(all)-2):]
	if !strings.HasPrefix(out, "The connection while rawcraft watched it (kernel timestamps of both directions, one clock):\n") ||
		!strings.Contains(out, "[R] seq=") || !regexp.MustCompile(`\[R\] seq=\d+ win=0 len=0 *\|\n[ .0-9]*\|-+>\|\n(?:[^\n]*\n[ .0-9]*\|<?-+>?\|\n)*?[^\n]*9999→\d+ \[A\] seq=\d+ ack=\d+ win=\d+ len=0 [^\n]*\n[ .0-9]*\|<-+\|\n`).MatchString(out) {
		t.Errorf("the ladder lacks the RST or the challenge ACK after it\n%s", out)
	}
	checkLadderTimes(t, out)
	if code != exitOK || errs != "" || len(lines) != 2 || !strings.HasPrefix(lines[0], "RST sent as 198.18.1.3:") || !strings.HasSuffix(lines[0], "; offset +100)") ||
		!strings.HasPrefix(lines[1], "challenge ACK from the server, ack ") || !strings.HasSuffix(lines[1], "(RFC 5961 §3.2); the connection lives on") {
		t.Errorf("in-window RST: exit %d, stderr %q\n%s", code, errs, out)
	}
	code, out, _ = inHc(t, l, "reset", "--dst", "198.18.1.1", "--dport", "9999", "--wait", "3s")
	if code != exitOK || !strings.HasSuffix(out, "\nthe RST was exactly at the expected number: the server reset the connection; its application's next read gets ECONNRESET\n") {
		t.Errorf("exact RST: exit %d\n%s", code, out)
	}
	select {
	case app := <-ch:
		if !errors.Is(app.Err, syscall.ECONNRESET) {
			t.Errorf("after the exact RST the application read %v, want ECONNRESET", app.Err)
		}
	case <-time.After(3 * time.Second):
		t.Error("the exact RST did not kill the connection")
	}
}
