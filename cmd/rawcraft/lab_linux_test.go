package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/rawcraft/rawcraft/rawsock"
)

func TestMain(m *testing.M) {
	code := lab.RunTests(m)
	if testBin.dir != "" {
		os.RemoveAll(testBin.dir)
	}
	os.Exit(code)
}

// testBin is the binary the tests share: go build takes seconds, and seven
// tests run the binary.
var testBin struct {
	once     sync.Once
	dir, bin string
	err      error
}

// buildBinary builds rawcraft once per test process and returns its path.
func buildBinary(t *testing.T) string {
	t.Helper()
	testBin.once.Do(func() {
		if testBin.dir, testBin.err = os.MkdirTemp("", "rawcraft-test-"); testBin.err != nil {
			return
		}
		testBin.bin = filepath.Join(testBin.dir, "rawcraft")
		if out, err := exec.Command("go", "build", "-o", testBin.bin, ".").CombinedOutput(); err != nil {
			testBin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if testBin.err != nil {
		t.Fatal(testBin.err)
	}
	return testBin.bin
}

// sniff opens an AF_PACKET socket on host's lab interface, seeing the
// frames of one EtherType (craft.EtherTypeIPv4 or EtherTypeIPv6).
func sniff(t *testing.T, l *lab.Lab, host string, etherType uint16) *rawsock.Conn {
	t.Helper()
	var c *rawsock.Conn
	if err := l.Do(host, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		c, err = rawsock.Listen(ifi, &rawsock.Config{EtherType: etherType})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitFor(c *rawsock.Conn, wait time.Duration, keep func(*craft.Decoded) bool) []byte {
	buf := make([]byte, 2048)
	deadline := time.Now().Add(wait)
	d := craft.Decoded{AcceptIPv6: true}
	for time.Now().Before(deadline) {
		_ = c.SetReadDeadline(deadline)
		n, err := c.Recv(buf)
		if err != nil {
			return nil
		}
		if d.DecodeFrame(buf[:n]) == nil && keep(&d) {
			return append([]byte(nil), buf[:n]...)
		}
	}
	return nil
}

// The "done when": lab up, send a SYN from Hc through lab exec, see
// it at Hs byte for byte and Hs's RST|ACK at Hc, via packet and via ip;
// lab down leaves nothing.
func TestLabExecSend(t *testing.T) {
	lab.RequireRoot(t)
	bin := buildBinary(t)
	name := fmt.Sprintf("t%d-cli", os.Getpid())
	t.Cleanup(func() { _, _ = lab.DownAll(name) })
	rc := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, append(args, "--name", name)...)
		if args[0] == "lab" && len(args) > 1 && args[1] == "exec" {
			cmd = exec.Command(bin, append([]string{"lab", "--name", name}, args[1:]...)...)
		}
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	if out, errs, code := rc("lab", "up"); code != 0 || !strings.Contains(out, "198.18.1.3/24") {
		t.Fatalf("lab up: %d %s %s", code, out, errs)
	}
	if _, _, code := rc("lab", "up"); code != 0 {
		t.Fatal("lab up is not idempotent")
	}
	l, err := lab.Open(name, false)
	if err != nil {
		t.Fatal(err)
	}
	atHs, atHc := sniff(t, l, lab.Hs, craft.EtherTypeIPv4), sniff(t, l, lab.Hc, craft.EtherTypeIPv4)
	for _, via := range []string{"packet", "ip"} {
		out, errs, code := rc("lab", "exec", "hc", "--", "rawcraft", "send", "tcp", "--dst", "198.18.1.1", "--dport", "9999", "--flags", "S", "--seq", "777", "--via", via, "--json")
		if code != 0 {
			t.Fatalf("send via %s: exit %d: %s", via, code, errs)
		}
		var js jsonSent
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &js); err != nil {
			t.Fatalf("send --json: %v: %q", err, out)
		}
		sent, _ := hex.DecodeString(js.Hex)
		syn := waitFor(atHs, 2*time.Second, func(d *craft.Decoded) bool {
			return d.Has(craft.LayerTCP) && d.TCP.Seq == 777 && d.IPv4.Src == lab.AddrHc
		})
		if syn == nil {
			t.Fatalf("via %s: the SYN never reached Hs", via)
		}
		wire := syn
		if via == "ip" {
			wire = syn[craft.EthernetLen:]
		}
		if !bytes.HasPrefix(wire, sent) {
			t.Errorf("via %s: Hs saw\n %x\nrawcraft sent\n %x", via, wire, sent)
		}
		rst := waitFor(atHc, 2*time.Second, func(d *craft.Decoded) bool {
			return d.Has(craft.LayerTCP) && d.IPv4.Src == lab.AddrHs && d.TCP.Flags == craft.TCPRst|craft.TCPAck && d.TCP.Ack == 778
		})
		if rst == nil {
			t.Errorf("via %s: no RST|ACK from Hs", via)
		}
	}
	// Bad input: exit 2 and nothing on the wire.
	_, errs, code := rc("lab", "exec", "hc", "--", "rawcraft", "send", "udp", "--dst", "198.18.1.1", "--dport", "70000")
	if code != exitUsage || !strings.Contains(errs, "70000") {
		t.Errorf("bad port: exit %d, %q", code, errs)
	}
	// A program that is not there: one line naming it, exit 2, as a bad
	// argument (not Go's "fork/exec …: no such file or directory").
	plain := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for prog, want := range map[string]string{
		"no-such-program-rc": `rawcraft: lab exec hc: program "no-such-program-rc" not found in $PATH` + "\n",
		"/no/such/program":   `rawcraft: lab exec hc: program "/no/such/program" not found` + "\n",
		plain:                `rawcraft: lab exec hc: program "` + plain + `" is not executable` + "\n",
	} {
		if _, errs, code := rc("lab", "exec", "hc", "--", prog); code != exitUsage || errs != want {
			t.Errorf("lab exec %s: exit %d, %q; want exit 2, %q", prog, code, errs, want)
		}
	}
	// A name the lab host cannot resolve (its namespace has no route to
	// this machine's DNS server): said in words, exit 2.
	_, errs, code = rc("lab", "exec", "hc", "--", "rawcraft", "probe", "tcp", "--dst", "no-such-host.invalid", "--ports", "80")
	if code != exitUsage || !strings.HasPrefix(errs, `rawcraft: --dst "no-such-host.invalid": no-such-host.invalid: the name could not be resolved: `) ||
		strings.Contains(errs, "dial ") || strings.Count(errs, "\n") != 1 {
		t.Errorf("unresolvable name: exit %d, %q", code, errs)
	}
	_, errs, code = rc("lab", "exec", "hc", "--", "rawcraft", "send", "udp", "--dst", "192.0.2.1")
	if code != exitFailure || errs != "rawcraft: no route to 192.0.2.1: network is unreachable (see ip route)\n" {
		t.Errorf("destination with no route in the lab: exit %d, %q; want exit 1 and one line naming the missing route", code, errs)
	}
	if f := waitFor(atHs, 300*time.Millisecond, func(d *craft.Decoded) bool { return d.IPv4.Src == lab.AddrHc }); f != nil {
		t.Errorf("a refused send put a frame on the wire: %x", f)
	}
	// --count, --rate, --pcap: three datagrams with IDs 5, 6, 7, recorded.
	file := filepath.Join(t.TempDir(), "sent.pcap")
	if _, errs, code := rc("lab", "exec", "hc", "--", "rawcraft", "send", "udp", "--dst", "198.18.1.1", "--id", "5", "--count", "3", "--rate", "100", "--pcap", file); code != 0 || !strings.Contains(errs, "sent 3 packets") {
		t.Fatalf("send --count 3: %d %s", code, errs)
	}
	f, _ := os.Open(file)
	r, err := pcap.NewReader(f)
	if err != nil || r.LinkType != pcap.LinkEthernet {
		t.Fatalf("pcap: %v", err)
	}
	for id := 5; id <= 7; id++ {
		rec, err := r.Next()
		var d craft.Decoded
		if err != nil || d.DecodeFrame(rec.Data) != nil || int(d.IPv4.ID) != id {
			t.Errorf("record for id %d: %v id %d", id, err, d.IPv4.ID)
		}
		for _, c := range d.Checksums(nil) {
			if c.Status != craft.ChecksumGood {
				t.Errorf("packet with id %d: %v checksum %v after the incremental update", id, c.Layer, c.Status)
			}
		}
	}
	f.Close()
	// Echo requests: the sequence number counts up, checksums stay right.
	file2 := filepath.Join(t.TempDir(), "echo.pcap")
	if _, errs, code := rc("lab", "exec", "hc", "--", "rawcraft", "send", "icmp", "--dst", "198.18.1.1", "--icmp-seq", "10", "--count", "3", "--rate", "100", "-q", "--pcap", file2); code != 0 {
		t.Fatalf("send icmp --count 3: %d %s", code, errs)
	}
	f2, _ := os.Open(file2)
	r2, _ := pcap.NewReader(f2)
	for seq := 10; seq <= 12; seq++ {
		rec, err := r2.Next()
		var d craft.Decoded
		if err != nil || d.DecodeFrame(rec.Data) != nil || int(d.ICMP.Seq()) != seq {
			t.Errorf("echo %d: %v seq %d", seq, err, d.ICMP.Seq())
		}
		for _, c := range d.Checksums(nil) {
			if c.Status != craft.ChecksumGood {
				t.Errorf("echo %d: %v checksum %v", seq, c.Layer, c.Status)
			}
		}
	}
	f2.Close()
	if out, _, code := rc("lab", "status"); code != 0 || !strings.Contains(out, "plugged in") {
		t.Errorf("status: %s", out)
	}
	if _, _, code := rc("lab", "break"); code != 0 {
		t.Fatal("break")
	}
	if up, _ := l.CableUp(); up {
		t.Error("lab break left the cable up")
	}
	if _, _, code := rc("lab", "restore"); code != 0 {
		t.Fatal("restore")
	}
	if out, _, code := rc("lab", "down"); code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("lab down: %s", out)
	}
	if left := lab.Labs()[name]; len(left) > 0 {
		t.Fatalf("lab down left %v", left)
	}
}

// Without privileges send fails at once, with what to do: run as nobody
// inside the lab's Hc.
func TestSendWithoutPrivilege(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	bin := buildBinary(t)
	if err := os.Chmod(filepath.Dir(bin), 0o755); err != nil { // nobody must reach it
		t.Fatal(err)
	}
	for _, via := range []string{"packet", "ip"} {
		cmd := exec.Command(bin, "send", "udp", "--dst", "198.18.1.1", "--via", via)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var e bytes.Buffer
		cmd.Stderr = &e
		if err := l.Start(lab.Hc, cmd); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != exitFailure || !strings.Contains(e.String(), "setcap cap_net_raw") || !strings.Contains(e.String(), "sudo") {
			t.Errorf("via %s as nobody: %v %q", via, err, e.String())
		}
	}
}

// --rate holds within 2 % from 1 k/s up, as the receiver's kernel
// timestamps measure it; every packet arrives, each with its own ID.
func TestSendRateHeld(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	for _, c := range []struct {
		rate, count int
	}{{1000, 500}, {5000, 2500}, {20000, 10000}} {
		rec := recordUDP(t, l, lab.Hs, 7)
		waited0, start := runqueueWait(), time.Now()
		err := l.Do(lab.Hc, func() error {
			cmd := newSendCmd()
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			cmd.SetArgs([]string{"udp", "--dst", "198.18.1.1", "--dport", "7", "--id", "1", "--count", fmt.Sprint(c.count), "--rate", fmt.Sprint(c.rate), "-q"})
			return cmd.Execute()
		})
		waited, took := runqueueWait()-waited0, time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		got := rec.Stop()
		ids := map[uint16]bool{}
		var d craft.Decoded
		for _, g := range got {
			if d.DecodeFrame(g.Frame) == nil && d.Has(craft.LayerUDP) {
				ids[d.IPv4.ID] = true
			}
		}
		if len(got) != c.count || len(ids) != c.count {
			t.Errorf("rate %d: %d frames arrived with %d distinct IDs, want %d", c.rate, len(got), len(ids), c.count)
			continue
		}
		// The rate is the slope of arrival time over packet number (least
		// squares): one packet held up by a busy machine at either end
		// moves a first-to-last span, not the slope of all of them.
		var sx, sy, sxx, sxy float64
		for i, g := range got {
			x, y := float64(i), g.Meta.Time.Sub(got[0].Meta.Time).Seconds()
			sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
		}
		n := float64(len(got))
		measured := (n*sxx - sx*sx) / (n*sxy - sx*sy)
		t.Logf("rate %d/s: measured %.0f/s at the receiver", c.rate, measured)
		// Precondition: the machine let the sender run. A process kept
		// waiting for a CPU (its threads' run-queue time, schedstat) cannot
		// hold any rate, and that says nothing about the pacer.
		if waited > took/20 {
			t.Logf("rate %d/s: not judged: this process's threads waited %v for a CPU in the %v the send took", c.rate, waited, took)
			continue
		}
		if dev := measured/float64(c.rate) - 1; dev < -0.02 || dev > 0.02 {
			t.Errorf("rate %d/s: measured %.0f/s at the receiver, %.1f%% off (the bound is 2%%)", c.rate, measured, 100*dev)
		}
	}
}

// --tx-ring sends every packet, each with its own ID, like the sendmmsg path.
func TestSendTxRing(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	rec := recordUDP(t, l, lab.Hs, 7)
	err := l.Do(lab.Hc, func() error {
		cmd := newSendCmd()
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SetArgs([]string{"udp", "--dst", "198.18.1.1", "--dport", "7", "--id", "1", "--count", "5000", "--rate", "max", "--cpus", "1", "--tx-ring", "-q"})
		return cmd.Execute()
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	got := rec.Stop()
	ids := map[uint16]bool{}
	var d craft.Decoded
	for _, g := range got {
		if d.DecodeFrame(g.Frame) == nil && d.Has(craft.LayerUDP) {
			ids[d.IPv4.ID] = true
			if c := d.Checksums(nil); c[0].Status != craft.ChecksumGood {
				t.Fatalf("id %d: IPv4 checksum %v", d.IPv4.ID, c[0].Status)
			}
		}
	}
	if len(ids) != 5000 {
		t.Errorf("%d distinct IDs arrived of 5000 sent", len(ids))
	}
}

// recordUDP records, at host, the UDP frames to or from port.
func recordUDP(t *testing.T, l *lab.Lab, host string, port uint16) *listen.Recorder {
	t.Helper()
	var ln *listen.Listener
	if err := l.Do(host, func() (err error) {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		prog, err := rawsock.Filter{Proto: craft.ProtoUDP, Port: port}.Compile()
		if err != nil {
			return err
		}
		ln, err = listen.Listen(ifi, &listen.Config{Filter: prog, ReadBuffer: 32 << 20})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	rec := listen.Record(ln, 0)
	t.Cleanup(func() { rec.Stop(); ln.Close() })
	return rec
}

// Ctrl-C ends listen with its summary intact: the socket stays open until
// the kernel's counters are read, so frames shown + dropped + left unread
// add up to every frame sent. (It used to close the socket first: the
// drops then read as 0.) The listener is made to fall behind by a stdout
// nobody reads until after Ctrl-C.
func TestListenInterruptKeepsCounts(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	bin := buildBinary(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := exec.Command(bin, "listen", "--proto", "udp", "--port", "7779", "--count", "10000000", "--timeout", "60s")
	var e bytes.Buffer
	cmd.Stdout, cmd.Stderr = pw, &e
	if err := l.Start(lab.Hs, cmd); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()
	time.Sleep(300 * time.Millisecond) // until it listens
	const sent = 50000                 // far more than its 4 MiB ring holds
	if err := l.Do(lab.Hc, func() error {
		c := newSendCmd()
		c.SetOut(io.Discard)
		c.SetErr(io.Discard)
		c.SetArgs([]string{"udp", "--dst", "198.18.1.1", "--dport", "7779", "--count", fmt.Sprint(sent), "--rate", "max", "--cpus", "1", "-q"})
		return c.Execute()
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, pr) // lets it get past the line it was writing
	var err2 error
	select {
	case err2 = <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("listen still running 10 s after Ctrl-C: %q", e.String())
	}
	var n, dropped, unread int
	summary := e.String()[strings.Index(e.String(), "\n")+1:]
	_, _ = fmt.Sscanf(summary, "%d frames captured in", &n)
	if i := strings.Index(summary, "the kernel dropped "); i >= 0 {
		_, _ = fmt.Sscanf(summary[i:], "the kernel dropped %d", &dropped)
	}
	if i := strings.Index(summary, "; "); i >= 0 {
		if j := strings.LastIndex(summary, "; "); j > i {
			_, _ = fmt.Sscanf(summary[j:], "; %d more were queued", &unread)
		}
	}
	if err2 != nil || dropped == 0 || n+dropped+unread != sent {
		t.Fatalf("after Ctrl-C: %v; %d shown + %d dropped + %d unread, want %d with some dropped: %q", err2, n, dropped, unread, sent, summary)
	}
	t.Logf("%s", strings.TrimSpace(summary))
}

// kernelChatter reports whether d is what a lab host's kernel sends by
// itself as the links come up: IGMP and MLD reports (joining multicast
// groups, repeated over the first seconds), and neighbour discovery from
// a link-local address (router solicitations, DAD). A test that counts
// what a bad command sent leaves these out, and only these.
func kernelChatter(d *craft.Decoded) bool {
	switch {
	case d.Has(craft.LayerIPv4) && d.IPv4.Protocol.Or(0) == 2: // IGMP
		return true
	case d.Has(craft.LayerICMPv6) && (d.ICMPv6.Type >= 130 && d.ICMPv6.Type <= 132 || d.ICMPv6.Type == 143):
		return true // MLD (RFC 2710, RFC 3810)
	case d.Has(craft.LayerICMPv6) && d.ICMPv6.Type >= 133 && d.ICMPv6.Type <= 137 && (d.IPv6.Src.IsLinkLocalUnicast() || d.IPv6.Src.IsUnspecified()):
		return true // NDP from the kernel's link-local address, or DAD's ::
	}
	return false
}

// runqueueWait is how long this process's threads have waited on a run
// queue for a CPU, summed (the second field of each thread's
// /proc/self/task/*/schedstat, in ns); 0 where the kernel keeps no
// schedstat.
func runqueueWait() time.Duration {
	tasks, _ := filepath.Glob("/proc/self/task/*/schedstat")
	var sum time.Duration
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var run, wait int64
		if _, err := fmt.Sscan(string(b), &run, &wait); err == nil {
			sum += time.Duration(wait)
		}
	}
	return sum
}
