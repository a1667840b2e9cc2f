package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/pcap"
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

// jsonProbe is one line of probe --json, as a script reads it.
type jsonProbe struct {
	Dst       string  `json:"dst"`
	Proto     string  `json:"proto"`
	Port      uint16  `json:"port"`
	State     string  `json:"state"`
	Reason    string  `json:"reason"`
	RTTms     float64 `json:"rtt_ms"`
	From      string  `json:"from"`
	Code      *uint8  `json:"code"`
	MTU       uint32  `json:"mtu"`
	Attempts  int     `json:"attempts"`
	Sport     uint16  `json:"sport"`
	KernelRST bool    `json:"kernel_rst"`
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
				if r.Port != w.port || r.State != w.state || r.Reason != w.reason || r.From != w.from || code != w.code || r.MTU != uint32(w.mtu) {
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
		t.Errorf("pcap holds %d SYNs and %d RST|ACKs, want 9 and 9", syns, rsts)
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

// listen shows a TCP window in bytes, with the scale its SYNs agreed on,
// not the bare field: a server's "win 502" is 64 256 bytes at scale 128.
func TestListenShowsScaledWindow(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	stop, err := l.Servers(lab.Hs, "198.18.1.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	out, errw, done := startListenCmd(l, lab.Hs, "--proto", "tcp", "--port", "9999", "--count", "4", "--timeout", "5s")
	if err := l.Do(lab.Hc, func() error {
		c, err := net.Dial("tcp4", "198.18.1.1:9999")
		if err != nil {
			return err
		}
		_, err = c.Write([]byte("hi"))
		c.Close()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("listen: %v %s", err, errw.String())
	}
	if !regexp.MustCompile(`window \d+ bytes \(\d+ × (64|128|256|512|1024|2048|4096)\)`).MatchString(out.String()) {
		t.Errorf("no scaled window in:\n%s", out.String())
	}
}
