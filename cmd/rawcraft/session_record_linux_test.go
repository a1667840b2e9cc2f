package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/internal/oracle"
)

// What handshake and serve list, and the ladder drawn after it, is one
// record of the conversation: these tests hold it against what the lab's
// kernels did, read by tcpdump (a capture of its own, in the namespace) and
// tshark.

// tcpdumpIn captures, inside namespace ns on iface, what filter passes
// into file, until the returned stop is called (the test's cleanup calls it
// too). It returns once tcpdump says it is listening: a precondition, not
// a sleep.
func tcpdumpIn(t *testing.T, ns, iface, filter, file string) (stop func()) {
	t.Helper()
	bin := oracle.Require(t, "tcpdump")
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "-Z", "root", "--immediate-mode", "-i", iface, "-U", "-nn", "-w", file, filter)
	errp, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(errp)
		said := false
		for sc.Scan() {
			if !said && strings.Contains(sc.Text(), "listening on") {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(stop)
	select {
	case ok := <-ready:
		if !ok {
			stop()
			t.Fatalf("tcpdump in %s did not start", ns)
		}
	case <-time.After(20 * time.Second):
		stop()
		t.Fatalf("tcpdump in %s: not listening after 20s", ns)
	}
	return stop
}

// captured waits, up to 10 s, until file holds at least n segments
// (tcpdump writes each as it comes) and returns them as tshark reads them.
func captured(t *testing.T, file string, n int) []wirePkt {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := tsharkSegments(t, file)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wirePkt is one TCP segment as tshark reads it from a capture.
type wirePkt struct {
	at      time.Duration // since the capture's first segment
	src     string        // address:port
	flags   uint8
	seq     uint32 // absolute
	ack     uint32 // absolute
	dataLen int
	rst     bool
}

// tsharkCloseSegments counts, from tshark's reading, the segments of a
// connection's close: each end's first FIN and the first segment of the
// other end acknowledging it (ack = the FIN's seq + data + 1); a FIN that
// carries the acknowledgment counts once. 0 when the close is incomplete.
func tsharkCloseSegments(segs []wirePkt) int {
	finEnd := map[string]uint32{}
	acked := map[string]bool{}
	roles := map[int]bool{}
	for i, s := range segs {
		for src, end := range finEnd {
			if src != s.src && !acked[src] && s.flags&craft.TCPAck != 0 && s.ack == end {
				acked[src], roles[i] = true, true
			}
		}
		if _, again := finEnd[s.src]; s.flags&craft.TCPFin != 0 && !again {
			finEnd[s.src], roles[i] = s.seq+uint32(s.dataLen)+1, true
		}
	}
	if len(finEnd) != 2 || len(acked) != 2 {
		return 0
	}
	return len(roles)
}

// tsharkSegments reads every TCP segment of file with tshark: absolute
// sequence numbers, times relative to the first frame.
func tsharkSegments(t *testing.T, file string) []wirePkt {
	t.Helper()
	bin := oracle.Require(t, "tshark")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-r", file, "-o", "tcp.relative_sequence_numbers:FALSE", "-T", "fields",
		"-E", "separator=,", "-e", "frame.time_relative", "-e", "ip.src", "-e", "tcp.srcport", "-e", "tcp.flags", "-e", "tcp.seq", "-e", "tcp.len", "-e", "tcp.ack").Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", file, err)
	}
	var pkts []wirePkt
	for _, ln := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(ln, ",")
		if len(f) != 7 {
			continue
		}
		sec, err1 := strconv.ParseFloat(f[0], 64)
		flags, err2 := strconv.ParseUint(strings.TrimPrefix(f[3], "0x"), 16, 16)
		seq, err3 := strconv.ParseUint(f[4], 10, 32)
		n, err4 := strconv.Atoi(f[5])
		ack, _ := strconv.ParseUint(f[6], 10, 32) // empty without ACK
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			t.Fatalf("tshark line %q", ln)
		}
		pkts = append(pkts, wirePkt{at: time.Duration(math.Round(sec*1e6)) * time.Microsecond, src: f[1] + ":" + f[2], flags: uint8(flags), seq: uint32(seq), ack: uint32(ack), dataLen: n,
			rst: flags&uint64(craft.TCPRst) != 0})
	}
	return pkts
}

// listed is one segment of the printed list.
type listed struct {
	at       time.Duration
	from, to string // "client" or "server"
	by       string // "rawcraft", "KERNEL" or ""
	flags    uint8
	seq      uint32
}

var listLine = regexp.MustCompile(`(?m)^ *(\d+\.\d{3}) ms (client|server) → (client|server) (rawcraft|KERNEL  |        ) ([A-Z|]+) +seq (\d+) `)

func parseList(t *testing.T, out string) []listed {
	t.Helper()
	var ls []listed
	for _, m := range listLine.FindAllStringSubmatch(out, -1) {
		ms, _ := strconv.ParseFloat(m[1], 64)
		seq, _ := strconv.ParseUint(m[6], 10, 32)
		ls = append(ls, listed{at: time.Duration(math.Round(ms*1e3)) * time.Microsecond, from: m[2], to: m[3], by: strings.TrimSpace(m[4]), flags: flagsOfNames(t, m[5]), seq: uint32(seq)})
	}
	return ls
}

func flagsOfNames(t *testing.T, s string) uint8 {
	t.Helper()
	names := map[string]uint8{"FIN": craft.TCPFin, "SYN": craft.TCPSyn, "RST": craft.TCPRst, "PSH": craft.TCPPsh, "ACK": craft.TCPAck, "URG": craft.TCPUrg, "ECE": craft.TCPEce, "CWR": craft.TCPCwr}
	var f uint8
	for _, n := range strings.Split(s, "|") {
		v, ok := names[n]
		if !ok {
			t.Fatalf("flag %q in %q", n, s)
		}
		f |= v
	}
	return f
}

// drawn is one arrow of the printed ladder.
type drawn struct {
	at    time.Duration
	flags uint8
}

var ladderArrow = regexp.MustCompile(`\d+→\d+ \[([A-Z.]+)\] seq=[^\n]*\n +(\d+\.\d{6})  \|`)

func parseLadder(t *testing.T, out string) []drawn {
	t.Helper()
	letters := map[rune]uint8{'F': craft.TCPFin, 'S': craft.TCPSyn, 'R': craft.TCPRst, 'P': craft.TCPPsh, 'A': craft.TCPAck, 'U': craft.TCPUrg, 'E': craft.TCPEce, 'C': craft.TCPCwr}
	var ds []drawn
	for _, m := range ladderArrow.FindAllStringSubmatch(out, -1) {
		var f uint8
		for _, r := range m[1] {
			f |= letters[r]
		}
		sec, _ := strconv.ParseFloat(m[2], 64)
		ds = append(ds, drawn{at: time.Duration(math.Round(sec*1e6)) * time.Microsecond, flags: f})
	}
	return ds
}

// near says whether two times printed to the microsecond are the same.
func near(a, b time.Duration) bool { return (a - b).Abs() <= 2*time.Microsecond }

// handshake --guard none: this host's kernel resets the connection, the
// server answers our next segments with RSTs. The list and the ladder are
// one record: the same segments, in the same order, at the same times,
// never going back; and that record is what the wire carried — a tcpdump
// capture of Hc's interface, read by tshark, has the same segments in the
// same order from the same senders and the same number of RSTs, and so has
// the --pcap file.
func TestHandshakeListAndLadderAreTheWire(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	acceptOne(t, l, "9999")
	dir := t.TempDir()
	wireFile, pcapFile := filepath.Join(dir, "wire.pcap"), filepath.Join(dir, "handshake.pcap")
	stop := tcpdumpIn(t, l.NS(lab.Hc), lab.HostIfc, "tcp port 9999", wireFile)
	code, out, errs := inHc(t, l, "handshake", "--dst", "198.18.1.1", "--dport", "9999", "--data", "Hello", "--guard", "none", "--pcap", pcapFile)
	file := tsharkSegments(t, pcapFile)
	wire := captured(t, wireFile, len(file))
	stop()
	if code != exitOK || errs != "" || !strings.HasSuffix(out, "this host's kernel reset the connection; run with --guard ghost or --guard firewall to keep it out\n") {
		t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
	}
	at := strings.Index(out, "The exchange as the wire saw it")
	if at < 0 {
		t.Fatalf("no ladder\n%s", out)
	}
	list, lad := parseList(t, out[:at]), parseLadder(t, out[at:])
	if len(list) < 5 || len(list) != len(lad) || len(list) != len(wire) || len(list) != len(file) {
		t.Fatalf("%d listed, %d drawn, %d in tcpdump's capture, %d in --pcap; want the same, at least 5\n%s", len(list), len(lad), len(wire), len(file), out)
	}
	rsts := func(n int, rst func(i int) bool) int {
		c := 0
		for i := 0; i < n; i++ {
			if rst(i) {
				c++
			}
		}
		return c
	}
	rl := rsts(len(list), func(i int) bool { return list[i].flags&craft.TCPRst != 0 })
	rd := rsts(len(lad), func(i int) bool { return lad[i].flags&craft.TCPRst != 0 })
	rw := rsts(len(wire), func(i int) bool { return wire[i].rst })
	rf := rsts(len(file), func(i int) bool { return file[i].rst })
	if rl < 2 || rl != rd || rl != rw || rl != rf {
		t.Errorf("RSTs: %d listed, %d drawn, %d in tcpdump's capture, %d in --pcap; want the same, at least 2 (the kernel's and the server's)", rl, rd, rw, rf)
	}
	client := ""
	for i := range list {
		w := wire[i]
		if i == 0 {
			client = w.src
		}
		fromClient := w.src == client
		if list[i].flags != w.flags || list[i].seq != w.seq || list[i].flags != lad[i].flags || file[i].flags != w.flags || file[i].seq != w.seq ||
			(list[i].from == "client") != fromClient || (list[i].to == "client") == fromClient {
			t.Errorf("segment %d: listed %s → %s %s seq %d, drawn %s, --pcap %#x seq %d; tcpdump saw %#x seq %d from %s", i, list[i].from, list[i].to,
				craft.FlagNames(list[i].flags), list[i].seq, craft.FlagNames(lad[i].flags), file[i].flags, file[i].seq, w.flags, w.seq, w.src)
		}
		// The same record: the same time in the list, the ladder and the
		// file. (tcpdump's own timestamps are not compared: its TPACKET_V3
		// ring stamps a frame when it reaches that socket, which on a busy
		// machine can be some hundred µs from when it reached rawcraft's.)
		if !near(list[i].at, lad[i].at) || !near(list[i].at, file[i].at) {
			t.Errorf("segment %d: listed at %v, drawn at %v, --pcap at %v (tcpdump: %v)", i, list[i].at, lad[i].at, file[i].at, w.at)
		}
		if i > 0 && list[i].at < list[i-1].at {
			t.Errorf("segment %d listed at %v, after %v", i, list[i].at, list[i-1].at)
		}
		// Who built it: ours rawcraft, the kernel's RST KERNEL, the server's neither.
		switch by := list[i].by; {
		case !fromClient && by != "",
			fromClient && w.rst && by != "KERNEL",
			fromClient && !w.rst && by != "rawcraft":
			t.Errorf("segment %d (%s from %s) marked %q", i, craft.FlagNames(w.flags), w.src, by)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}

// A handshake to this host's own address — an address of its interface,
// and 127.0.0.1 — travels on lo. It completes against a real listening
// socket of this namespace, which reads the data and sees an orderly close;
// each segment is listed once (lo shows every frame twice), and the ladder
// gives the connection's two ends a lane each.
func TestHandshakeToOwnAddress(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	for _, addr := range []string{"198.18.1.1", "127.0.0.1"} {
		got := l.DrainOne(t, lab.Hs, "tcp4", addr+":9400", lab.DrainConfig{Keep: true})
		pcapFile := filepath.Join(t.TempDir(), "lo.pcap")
		var out, errb strings.Builder
		var code int
		if err := l.Do(lab.Hs, func() error {
			code = run([]string{"handshake", "--dst", addr, "--dport", "9400", "--data", "to myself", "--pcap", pcapFile}, &out, &errb)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var app lab.Drained
		select {
		case app = <-got:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the listening socket accepted nothing", addr)
		}
		if code != exitOK || !strings.Contains(out.String(), "connection opened, 9 bytes sent, 0 received, closed in order (") {
			t.Errorf("%s: exit %d, stderr %q\n%s", addr, code, errb.String(), out.String())
		}
		if app.Err != nil || string(app.Data) != "to myself" {
			t.Errorf("%s: the application read %q and ended with %v; want the data and an orderly EOF", addr, app.Data, app.Err)
		}
		if !regexp.MustCompile(`time \(s\)  ` + regexp.QuoteMeta(addr) + `:\d+ +` + regexp.QuoteMeta(addr) + `:9400\n`).MatchString(out.String()) {
			t.Errorf("%s: the ladder's lanes are not the connection's two ends\n%s", addr, out.String())
		}
		segs := tsharkSegments(t, pcapFile)
		syns := 0
		for _, s := range segs {
			if s.flags == craft.TCPSyn {
				syns++
			}
		}
		if list := parseList(t, out.String()); syns != 1 || len(list) != len(segs) {
			t.Errorf("%s: %d SYNs in --pcap, %d segments, %d listed; want one SYN, each segment once", addr, syns, len(segs), len(list))
		}
		// The close is called what tshark counts: four-way only with 4.
		if want := closeLine(tsharkCloseSegments(segs)); !strings.HasSuffix(out.String(), "closed in order ("+want+")\n") {
			t.Errorf("%s: tshark counts %d close segments; want the line to end %q\n%s", addr, tsharkCloseSegments(segs), want, out.String())
		}
	}
}

// serve labels every segment by who sent it: the client's SYN, data and
// FIN read "client → server", rawcraft's answers "server → client" —
// checked against tcpdump's capture at Hs, where the client's port tells
// them apart. A 1-byte write reads "1 byte", never "1 bytes".
func TestServeLabelsBySender(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	wireFile := filepath.Join(t.TempDir(), "wire.pcap")
	stop := tcpdumpIn(t, l.NS(lab.Hs), lab.HostIfc, "tcp port 9201", wireFile)
	ch := make(chan ran, 1)
	go func() {
		var out, errb strings.Builder
		var code int
		_ = l.Do(lab.Hs, func() error {
			code = run([]string{"serve", "--addr", "198.18.1.1", "--port", "9201", "--wait", "10s", "--for", "5s"}, &out, &errb)
			return nil
		})
		ch <- ran{code, out.String(), errb.String()}
	}()
	var c net.Conn
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := l.Do(lab.Hc, func() (err error) { c, err = net.DialTimeout("tcp4", "198.18.1.1:9201", time.Second); return err })
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // not listening yet: Hs's kernel refused us
	}
	clientPort := c.LocalAddr().(*net.TCPAddr).Port
	_, _ = c.Write([]byte("x"))
	time.Sleep(100 * time.Millisecond)
	c.Close()
	r := <-ch
	list := parseList(t, r.out)
	wire := captured(t, wireFile, len(list))
	stop()
	if r.code != 0 || !strings.Contains(r.out, "received 1 byte from 198.18.1.3:") {
		t.Fatalf("exit %d: %s\n%s", r.code, r.err, r.out)
	}
	// Our SYN-ACK announces window scale 0 (64240 fits the field): one unit is 1 byte.
	if !strings.Contains(r.out, "window scale 0: windows count in units of 1 byte: unscaled") || !strings.Contains(r.out, "1 byte in order at seq") {
		t.Errorf("no singular for the scale-0 unit or the 1-byte write\n%s", r.out)
	}
	if m := regexp.MustCompile(`(^|[^0-9.])1 (bytes|retransmissions|segments)\b`).FindString(r.out); m != "" {
		t.Errorf("%q in the output\n%s", m, r.out)
	}
	if len(list) < 7 {
		t.Fatalf("%d segments listed\n%s", len(list), r.out)
	}
	clientSrc := "198.18.1.3:" + strconv.Itoa(clientPort)
	for _, s := range list {
		found := false
		for _, w := range wire {
			if w.flags == s.flags && w.seq == s.seq {
				found = true
				if fromClient := w.src == clientSrc; (s.from == "client") != fromClient || (s.to == "client") == fromClient || fromClient != (s.by == "") {
					t.Errorf("%s seq %d listed %s → %s %q; tcpdump saw it from %s (the client is %s)", craft.FlagNames(s.flags), s.seq, s.from, s.to, s.by, w.src, clientSrc)
				}
			}
		}
		if !found {
			t.Errorf("%s seq %d listed, not in tcpdump's capture", craft.FlagNames(s.flags), s.seq)
		}
	}
	if list[0].from != "client" || list[0].flags != craft.TCPSyn || list[1].from != "server" || list[1].flags != craft.TCPSyn|craft.TCPAck {
		t.Errorf("first two listed: %+v %+v; want the client's SYN, then our SYN-ACK", list[0], list[1])
	}
	if t.Failed() {
		t.Log(r.out)
	}
}

type ran struct {
	code     int
	out, err string
}

// reset between a client and a server on this host (127.0.0.1, on lo):
// the RST goes through a raw IP socket, and the server's kernel really
// resets the connection — its application's read fails with ECONNRESET.
func TestResetOnLoopback(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var cli net.Conn
	readErr := l.DrainOne(t, lab.Hs, "tcp4", "127.0.0.1:9401", lab.DrainConfig{})
	if err := l.Do(lab.Hs, func() (err error) { cli, err = net.Dial("tcp4", "127.0.0.1:9401"); return err }); err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	stopPing := make(chan struct{})
	defer close(stopPing)
	go func() { // the client talks every 100 ms, so that reset can learn the sequence number
		for {
			select {
			case <-stopPing:
				return
			case <-time.After(100 * time.Millisecond):
				_, _ = cli.Write([]byte("ping"))
			}
		}
	}()
	var out, errb strings.Builder
	var code int
	if err := l.Do(lab.Hs, func() error {
		code = run([]string{"reset", "--dst", "127.0.0.1", "--dport", "9401", "--wait", "5s"}, &out, &errb)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if code != exitOK || !strings.HasSuffix(out.String(), "the RST was exactly at the expected number: the server reset the connection; its application's next read gets ECONNRESET\n") ||
		!strings.Contains(out.String(), "time (s)  127.0.0.1:") {
		t.Errorf("exit %d, stderr %q\n%s", code, errb.String(), out.String())
	}
	select {
	case d := <-readErr:
		if !errors.Is(d.Err, syscall.ECONNRESET) {
			t.Errorf("after the RST the server's application read %v, want ECONNRESET", d.Err)
		}
	case <-time.After(5 * time.Second):
		t.Error("the RST did not reset the connection")
	}
}

// serve on 127.0.0.1 with a client on the same host: the segments travel
// on lo, rawcraft answers through a raw IP socket, and the client's kernel
// connects, sends and closes in order; each segment is listed once.
func TestServeOnLoopback(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	ch := make(chan ran, 1)
	go func() {
		var out, errb strings.Builder
		var code int
		_ = l.Do(lab.Hs, func() error {
			code = run([]string{"serve", "--addr", "127.0.0.1", "--port", "9402", "--wait", "10s", "--for", "5s"}, &out, &errb)
			return nil
		})
		ch <- ran{code, out.String(), errb.String()}
	}()
	var c net.Conn
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := l.Do(lab.Hs, func() (err error) { c, err = net.DialTimeout("tcp4", "127.0.0.1:9402", time.Second); return err })
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // not listening yet: the kernel refused us
	}
	port := c.LocalAddr().(*net.TCPAddr).Port
	if _, err := c.Write([]byte("over lo")); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, rerr := c.Read(make([]byte, 10)) // the server's FIN: an orderly EOF
	c.Close()
	r := <-ch
	if n != 0 || !errors.Is(rerr, io.EOF) {
		t.Errorf("the client read %d bytes, %v; want the server's FIN (EOF)", n, rerr)
	}
	if r.code != 0 || !strings.Contains(r.out, "received 7 bytes from 127.0.0.1:"+strconv.Itoa(port)+", closed in order ("+closeLine(4)+")\n") {
		t.Fatalf("exit %d: %s\n%s", r.code, r.err, r.out)
	}
	if list := parseList(t, r.out); len(list) != 9 || list[0].from != "client" || list[0].flags != craft.TCPSyn || list[1].by != "rawcraft" {
		t.Errorf("%d segments listed, want 9 (the three of the handshake, data and its ACK, each FIN and its ACK), each once\n%s", len(list), r.out)
	}
}

// closeLine is what rawcraft says of a close of n segments.
func closeLine(n int) string {
	switch n {
	case 3:
		return "3 segments: the ACK of the first FIN rode on the second FIN"
	case 4:
		return "four-way close, 4 segments: FIN, ACK, FIN, ACK"
	}
	return fmt.Sprintf("%d segments?", n)
}
