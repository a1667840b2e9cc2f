package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
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
	"github.com/spf13/pflag"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// servers starts a TCP listener and a UDP echo server on Hs port 9999, and
// makes Hs drop port 9997.
func servers(t *testing.T, l *lab.Lab) {
	t.Helper()
	stop, err := l.Servers(lab.Hs, "198.18.1.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	for _, p := range []uint8{craft.ProtoTCP, craft.ProtoUDP} {
		if _, err := l.DropPort(lab.Hs, p, 9997); err != nil {
			t.Fatal(err)
		}
	}
}

// probeJSONRun runs the probe command inside Hc and returns its JSON lines.
func probeJSONRun(t *testing.T, l *lab.Lab, proto string, args ...string) ([]jsonProbe, string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := l.Do(lab.Hc, func() error {
		cmd := newProbeCmd()
		cmd.SetOut(&out)
		cmd.SetErr(&errb)
		cmd.SetArgs(append([]string{proto, "--json"}, args...))
		return cmd.Execute()
	})
	if err != nil {
		t.Fatalf("probe %s %v: %v (%s)", proto, args, err, errb.String())
	}
	var res []jsonProbe
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var j jsonProbe
		if err := json.Unmarshal([]byte(line), &j); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		res = append(res, j)
	}
	return res, errb.String()
}

func TestProbeStatesAndReasons(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Routed: true})
	servers(t, l)
	// R has no way to 198.18.3.0/24: it answers ICMP host unreachable.
	_, blackhole, _ := net.ParseCIDR("198.18.3.0/24")
	if err := l.Do(lab.R, func() error {
		return netlink.RouteAdd(&netlink.Route{Dst: blackhole, Type: unix.RTN_UNREACHABLE})
	}); err != nil {
		t.Fatal(err)
	}
	if err := l.Do(lab.Hc, func() error {
		return netlink.RouteAdd(&netlink.Route{Dst: blackhole, Gw: net.ParseIP("198.18.1.254")})
	}); err != nil {
		t.Fatal(err)
	}
	type want struct {
		port          uint16
		state, reason string
		from          string
		code          int
		mtu           uint16
	}
	cases := []struct {
		desc  string
		proto string
		args  []string
		want  []want
	}{
		{"TCP open, closed, filtered", "tcp", []string{"--dst", "198.18.1.1", "--ports", "9997-9999", "--timeout", "300ms"},
			[]want{{9997, "filtered", "no-response", "", -1, 0}, {9998, "closed", "rst", "198.18.1.1", -1, 0}, {9999, "open", "syn-ack", "198.18.1.1", -1, 0}}},
		{"UDP open, closed, open|filtered", "udp", []string{"--dst", "198.18.1.1", "--ports", "9997-9999", "--data", "hi", "--timeout", "300ms"},
			[]want{{9997, "open|filtered", "no-response", "", -1, 0}, {9998, "closed", "icmp-port-unreachable", "198.18.1.1", 3, 0}, {9999, "open", "udp-reply", "198.18.1.1", -1, 0}}},
		{"ICMP echo", "icmp", []string{"--dst", "198.18.1.1"}, []want{{0, "up", "echo-reply", "198.18.1.1", -1, 0}}},
		{"unreachable from a router", "tcp", []string{"--dst", "198.18.3.1", "--ports", "80"}, []want{{80, "filtered", "icmp-unreachable", "198.18.1.254", 1, 0}}},
		{"TTL exceeded at the router", "udp", []string{"--dst", "198.18.2.2", "--ports", "9999", "--ttl", "1"}, []want{{9999, "filtered", "icmp-ttl-exceeded", "198.18.1.254", 0, 0}}},
		{"fragmentation needed at the router", "udp", []string{"--dst", "198.18.2.2", "--ports", "9999", "--df", "--size", "1400"}, []want{{9999, "filtered", "icmp-frag-needed", "198.18.1.254", 4, 1280}}},
		{"reassembly timeout after a lost fragment", "udp", []string{"--dst", "198.18.1.1", "--ports", "9999", "--size", "4000", "--frag", "1480", "--frag-drop", "2", "--timeout", "5s", "--retries", "0"},
			[]want{{9999, "filtered", "icmp-reassembly-time-exceeded", "198.18.1.1", 1, 0}}},
		{"no ICMP when fragment 1 is lost", "udp", []string{"--dst", "198.18.1.1", "--ports", "9999", "--size", "4000", "--frag", "1480", "--frag-drop", "1", "--timeout", "4s", "--retries", "0"},
			[]want{{9999, "open|filtered", "no-response", "", -1, 0}}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			res, _ := probeJSONRun(t, l, c.proto, c.args...)
			if len(res) != len(c.want) {
				t.Fatalf("%d results, want %d", len(res), len(c.want))
			}
			for i, w := range c.want {
				r := res[i]
				code := -1
				if r.Code != nil {
					code = int(*r.Code)
				}
				if r.Port != w.port || r.State != w.state || r.Reason != w.reason || r.From != w.from || code != w.code || r.MTU != w.mtu {
					t.Errorf("got %+v (code %d), want %+v", r, code, w)
				}
				if w.reason != "no-response" && (r.RTTms <= 0 || r.RTTms > 1000 && w.reason != "icmp-reassembly-time-exceeded") {
					t.Errorf("port %d: rtt %v ms", w.port, r.RTTms)
				}
				if w.reason == "syn-ack" && !r.KernelRST {
					t.Errorf("port %d: the kernel's RST after the SYN-ACK was not seen", w.port)
				}
			}
		})
	}
}

// Two probe runs side by side each get their own replies, all of them.
func TestConcurrentProbesDoNotCrossMatch(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	servers(t, l)
	var wg sync.WaitGroup
	results := make([][]jsonProbe, 2)
	for k := 0; k < 2; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[k], _ = probeJSONRun(t, l, "tcp", "--dst", "198.18.1.1", "--ports", "9998-9999,10000-10060", "--timeout", "500ms")
		}()
	}
	wg.Wait()
	if results[0][0].Sport == results[1][0].Sport {
		t.Fatalf("both runs used source port %d", results[0][0].Sport)
	}
	for k, rs := range results {
		for _, r := range rs {
			want := "closed"
			if r.Port == 9999 {
				want = "open"
			}
			if r.State != want || r.Attempts != 1 {
				t.Errorf("run %d port %d: %s after %d attempts, want %s at once", k, r.Port, r.State, r.Attempts, want)
			}
		}
	}
}

// A burst of 100 000 unrelated frames toward Hc while probing: every probe
// is still matched, or the kernel's drop count says why not.
func TestProbeUnderBurst(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var tx *rawsock.Conn
	var rt rawsock.Route
	if err := l.Do(lab.Hs, func() (err error) {
		if rt, err = rawsock.Resolve(lab.AddrHc, nil); err != nil {
			return err
		}
		tx, err = rawsock.Listen(rt.Iface, &rawsock.Config{SendOnly: true})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	junk, _ := (&craft.Packet{Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC}, IPv4: &craft.IPv4{Src: lab.AddrHs, Dst: lab.AddrHc, TTL: craft.Set[uint8](1)},
		UDP: &craft.UDP{SrcPort: 7, DstPort: 7}, Payload: make([]byte, 64)}).Append(nil)
	done := make(chan int)
	go func() {
		sent := 0
		for i := 0; i < 100_000; i++ {
			if _, err := tx.Send(junk); err == nil {
				sent++
			}
		}
		done <- sent
	}()
	var out, errb bytes.Buffer
	var rs []listen.Result
	var st listen.Stats
	err := l.Do(lab.Hc, func() error {
		fs := pflag.NewFlagSet("p", pflag.ContinueOnError)
		pf := newPacketFlags(fs)
		_ = fs.Parse([]string{"--dst", "198.18.1.1"})
		o := &probeOpts{ports: "10000-10199", timeout: time.Second, via: "packet", retries: numValue{v: 0}, quiet: true}
		var err error
		rs, st, err = runProbe(&out, &errb, "tcp", pf, o)
		return err
	})
	sent := <-done
	if err != nil {
		t.Fatal(err)
	}
	unanswered := 0
	for _, r := range rs {
		if r.Reply.Reason != listen.Rst {
			unanswered++
		}
	}
	t.Logf("burst of %d frames; %d probes, %d unanswered; kernel captured %d, dropped %d", sent, len(rs), unanswered, st.Captured, st.Dropped)
	if sent < 100_000 {
		t.Errorf("only %d of the burst sent", sent)
	}
	if unanswered > 0 && st.Dropped == 0 {
		t.Errorf("%d probes unanswered and no drop reported", unanswered)
	}
	if uint64(unanswered) > st.Dropped {
		t.Errorf("%d unanswered, more than the %d frames the kernel dropped", unanswered, st.Dropped)
	}
}

// An ordinary connect() gets ECONNREFUSED where the probe shows the RST.
func TestDialRefusedProbeSeesRST(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var dialErr error
	_ = l.Do(lab.Hc, func() error {
		_, dialErr = net.DialTimeout("tcp4", "198.18.1.1:9998", time.Second)
		return nil
	})
	if !errors.Is(dialErr, syscall.ECONNREFUSED) {
		t.Fatalf("net.Dial to a closed port: %v, want ECONNREFUSED", dialErr)
	}
	res, _ := probeJSONRun(t, l, "tcp", "--dst", "198.18.1.1", "--ports", "9998")
	if res[0].Reason != "rst" || res[0].State != "closed" {
		t.Fatalf("probe: %+v", res[0])
	}
}

func TestDemo(t *testing.T) {
	lab.RequireRoot(t)
	var out, errb bytes.Buffer
	start := time.Now()
	if err := runDemo(&out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("demo took %v, the budget is 20 s", el)
	}
	s := out.String()
	for _, want := range []string{
		"9997   filtered, no-response", "connect(): timed out", "open|filtered, no-response",
		"9998   closed, rst,", "connect(): ECONNREFUSED", "closed, icmp-port-unreachable,", "sendto() ok; then nothing at all",
		"9999   open, syn-ack,", "connect(): connected", "open, udp-reply,",
		"quoted UDP   Destination Port       9998", "The lab is removed",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	for name := range lab.Labs() {
		if strings.HasPrefix(name, fmt.Sprintf("demo%d", 0)) || strings.HasPrefix(name, "demo") {
			t.Errorf("demo left lab %s behind", name)
		}
	}
}

// startListenCmd runs rawcraft listen with args in host, in the background,
// and returns once its socket is open; done yields its result.
func startListenCmd(l *lab.Lab, host string, args ...string) (out, errw *bytes.Buffer, done <-chan error) {
	out, errw = new(bytes.Buffer), new(bytes.Buffer)
	d := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		d <- l.Do(host, func() error {
			cmd := newListenCmd()
			cmd.SetOut(out)
			cmd.SetErr(errw)
			cmd.SetArgs(args)
			close(ready)
			return cmd.Execute()
		})
	}()
	<-ready
	time.Sleep(200 * time.Millisecond) // the socket opens after the flags are read
	return out, errw, d
}

func TestListenCommandAndProbePcap(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	// listen in Hs, two UDP datagrams from Hc, one with a bad IP checksum.
	lout, lerr, done := startListenCmd(l, lab.Hs, "--proto", "udp", "--port", "7777", "--count", "2", "--timeout", "5s", "--json")
	for _, extra := range [][]string{nil, {"--ip-csum", "0xdead"}} {
		err := l.Do(lab.Hc, func() error {
			cmd := newSendCmd()
			var o, e bytes.Buffer
			cmd.SetOut(&o)
			cmd.SetErr(&e)
			cmd.SetArgs(append([]string{"udp", "--dst", "198.18.1.1", "--dport", "7777", "--data", "hello"}, extra...))
			return cmd.Execute()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("listen: %v %s", err, lerr.String())
	}
	lines := strings.Split(strings.TrimSpace(lout.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lerr.String(), "2 frames captured in ") || !strings.Contains(lerr.String(), "; the kernel dropped 0") {
		t.Fatalf("listen printed %d lines: %s / %s", len(lines), lout.String(), lerr.String())
	}
	var first, second jsonHeard
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[1]), &second)
	if first.Dir != "in" || !strings.Contains(first.Summary, "→ 198.18.1.1:7777 UDP") || first.Checksums[0].Status != "good" {
		t.Errorf("first frame: %+v", first)
	}
	if second.Checksums[0].Status != "bad" || second.Checksums[0].Got != 0xdead {
		t.Errorf("second frame's IPv4 checksum: %+v", second.Checksums)
	}

	// probe --pcap: probes and replies in one time-ordered file.
	file := t.TempDir() + "/probe.pcap"
	res, _ := probeJSONRun(t, l, "tcp", "--dst", "198.18.1.1", "--ports", "9990-9998", "--pcap", file)
	if len(res) != 9 {
		t.Fatalf("%d results", len(res))
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	syns, rsts := 0, 0
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.Time.Before(last) {
			t.Errorf("pcap not in time order: %v after %v", rec.Time, last)
		}
		last = rec.Time
		var d craft.Decoded
		_ = d.DecodeFrame(rec.Data)
		switch {
		case d.Has(craft.LayerTCP) && d.TCP.Flags == craft.TCPSyn:
			syns++
		case d.Has(craft.LayerTCP) && d.TCP.Flags == craft.TCPRst|craft.TCPAck:
			rsts++
		}
	}
	if syns != 9 || rsts != 9 {
		t.Errorf("pcap holds %d SYNs and %d RST/ACKs, want 9 and 9", syns, rsts)
	}
}

// Every port of a lab host: every RST matched, nothing dropped. (The
// per-probe drain once used a deadline in the past, which Go's poller
// refuses without reading: 85 % of the RSTs were lost to a full buffer.)
// Once every port has answered the scan ends: no retry round, no timeout
// waited out.
func TestProbeAllPorts(t *testing.T) {
	if testing.Short() {
		t.Skip("65 535 probes: skipped with -short")
	}
	l := lab.ForTest(t, lab.Config{})
	var rs []listen.Result
	var st listen.Stats
	err := l.Do(lab.Hc, func() error {
		fs := pflag.NewFlagSet("p", pflag.ContinueOnError)
		pf := newPacketFlags(fs)
		_ = fs.Parse([]string{"--dst", "198.18.1.1"})
		o := &probeOpts{ports: "1-65535", timeout: 10 * time.Second, via: "packet", retries: numValue{v: 2}, quiet: true}
		var err error
		start := time.Now()
		rs, st, err = runProbe(io.Discard, io.Discard, "tcp", pf, o)
		if el := time.Since(start); err == nil && el >= o.timeout {
			t.Errorf("the scan took %v: it waited out its %v timeout though every port had answered", el, o.timeout)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := 0
	for _, r := range rs {
		if r.State == listen.Closed && r.Reply.Reason == listen.Rst {
			closed++
		}
	}
	t.Logf("%d of %d ports answered RST; the kernel captured %d frames and dropped %d", closed, len(rs), st.Captured, st.Dropped)
	if closed != 65535 || st.Dropped != 0 {
		t.Errorf("%d of 65535 RSTs matched, %d frames dropped; want all, and none", closed, st.Dropped)
	}
}

// Two stateless scans of every port side by side: each finds exactly the
// open ports, classifies every other port closed, and counts the other's
// replies as stray — the cookie check, not a table, tells them apart.
func TestStatelessScansSideBySide(t *testing.T) {
	if testing.Short() {
		t.Skip("2 × 65 535 probes: skipped with -short")
	}
	l := lab.ForTest(t, lab.Config{})
	var lns []net.Listener
	for _, p := range []string{"22", "8080", "9999"} {
		var ln net.Listener
		if err := l.Do(lab.Hs, func() (err error) { ln, err = net.Listen("tcp4", "198.18.1.1:"+p); return err }); err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
	}
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var wg sync.WaitGroup
	outs := make([][]jsonProbe, 2)
	for k := 0; k < 2; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[k], _ = probeJSONRun(t, l, "tcp", "--dst", "198.18.1.1", "--ports", "1-65535", "--timeout", "500ms", "--retries", "1")
		}()
	}
	wg.Wait()
	for k, rs := range outs {
		if len(rs) != 65535 {
			t.Fatalf("scan %d: %d results", k, len(rs))
		}
		var open []uint16
		closed := 0
		for _, r := range rs {
			switch r.State {
			case "open":
				open = append(open, r.Port)
			case "closed":
				closed++
			}
		}
		if fmt.Sprint(open) != "[22 8080 9999]" || closed != 65532 {
			t.Errorf("scan %d: open %v, %d closed; want [22 8080 9999] and 65532", k, open, closed)
		}
	}
}

// listen -q counts a flood without showing it: every frame captured
// through the ring, none dropped, and the count is exact.
func TestListenQuietCountsAFlood(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	lout, lerr, done := startListenCmd(l, lab.Hs, "-q", "--proto", "udp", "--port", "7778", "--count", "10000", "--timeout", "10s")
	if err := l.Do(lab.Hc, func() error {
		cmd := newSendCmd()
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.SetArgs([]string{"udp", "--dst", "198.18.1.1", "--dport", "7778", "--count", "10000", "--rate", "max", "--cpus", "1", "-q"})
		return cmd.Execute()
	}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("listen: %v %s", err, lerr.String())
	}
	if lout.Len() != 0 || !strings.Contains(lerr.String(), "10000 frames captured in ") || !strings.Contains(lerr.String(), "; the kernel dropped 0") {
		t.Fatalf("listen -q: %q / %q", lout.String(), lerr.String())
	}
	t.Log(strings.TrimSpace(lerr.String()))
}
