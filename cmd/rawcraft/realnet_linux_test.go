package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/rawcraft/rawcraft/session"
	"golang.org/x/sys/unix"
)

// The "real network": a plain pair of namespaces (lab.PairForTest), not
// named like the lab, one veth between 198.18.7.3 (client) and 198.18.7.1
// (server), the kernel's defaults everywhere — two laptops on a switch.

// inNS runs the CLI inside namespace ns.
func inNS(t *testing.T, ns string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := lab.DoIn(ns, func() error { code = run(args, &out, &errb); return nil }); err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// sniffIn opens an AF_PACKET socket on ifc inside ns, seeing every frame.
func sniffIn(t *testing.T, ns, ifc string) *rawsock.Conn {
	t.Helper()
	var c *rawsock.Conn
	if err := lab.DoIn(ns, func() error {
		ifi, err := net.InterfaceByName(ifc)
		if err != nil {
			return err
		}
		c, err = rawsock.Listen(ifi, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// countIPv4 counts the IPv4 and ARP frames c sees within wait (IPv6
// chatter of a fresh link is not ours).
func countIPv4(c *rawsock.Conn, wait time.Duration) int {
	buf := make([]byte, 2048)
	deadline := time.Now().Add(wait)
	n := 0
	var d craft.Decoded
	for time.Now().Before(deadline) {
		_ = c.SetReadDeadline(deadline)
		k, err := c.Recv(buf)
		if err != nil {
			break
		}
		if d.DecodeFrame(buf[:k]) == nil && (d.Has(craft.LayerIPv4) || d.Has(craft.LayerARP)) {
			n++
		}
	}
	return n
}

// countSent6 counts the IPv6 frames c sees within wait that a refused
// command could have sent — UDP, TCP, ICMPv6 echo — leaving out the
// neighbour discovery and listener reports of a fresh link.
func countSent6(c *rawsock.Conn, wait time.Duration) int {
	buf := make([]byte, 2048)
	deadline := time.Now().Add(wait)
	n := 0
	d := craft.Decoded{AcceptIPv6: true}
	for time.Now().Before(deadline) {
		_ = c.SetReadDeadline(deadline)
		k, err := c.Recv(buf)
		if err != nil {
			break
		}
		if d.DecodeFrame(buf[:k]) == nil && d.Has(craft.LayerIPv6) && (d.Has(craft.LayerUDP) || d.Has(craft.LayerTCP) || d.Has(craft.LayerICMPv6) && d.ICMPv6.Type == craft.ICMPv6EchoRequest) {
			n++
		}
	}
	return n
}

// pairServers starts, on the pair's server at address at (IPv4 or IPv6), a
// TCP listener and a UDP echo server on port 9999 (port 9998 stays closed)
// and drops 9997 TCP and UDP with an nftables inet rule, as a firewall
// would.
func pairServers(t *testing.T, p *lab.Pair, at netip.Addr) {
	t.Helper()
	addr := netip.AddrPortFrom(at, 9999).String()
	var tl net.Listener
	var ul net.PacketConn
	if err := p.Do(p.Server, func() (err error) {
		if tl, err = net.Listen("tcp", addr); err != nil {
			return err
		}
		if ul, err = net.ListenPacket("udp", addr); err != nil {
			return err
		}
		c, err := nftables.New()
		if err != nil {
			return err
		}
		tb := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: "test_drop"})
		pol := nftables.ChainPolicyAccept
		ch := c.AddChain(&nftables.Chain{Name: "input", Table: tb, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &pol})
		for _, proto := range []byte{unix.IPPROTO_TCP, unix.IPPROTO_UDP} {
			c.AddRule(&nftables.Rule{Table: tb, Chain: ch, Exprs: []expr.Any{
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0x27, 0x0d}}, // 9997
				&expr.Verdict{Kind: expr.VerdictDrop},
			}})
		}
		return c.Flush()
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tl.Close(); ul.Close() })
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := ul.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = ul.WriteTo(buf[:n], from)
		}
	}()
}

// On the pair, send puts the exact bytes on the wire, via packet (the
// whole frame) and via ip (the datagram, every field as built since the
// checksum, length, ID and source are already right).
func TestRealNetSendArrivesExact(t *testing.T) {
	p := lab.PairForTest(t)
	for _, via := range []string{"packet", "ip"} {
		at := sniffIn(t, p.Server, lab.PairIfc)
		code, out, errs := inNS(t, p.Client, "send", "udp", "--dst", "198.18.7.1", "--dport", "9998", "--id", "0x4242", "--data", "Hello", "--via", via, "--json")
		if code != exitOK {
			t.Fatalf("via %s: exit %d: %s", via, code, errs)
		}
		var j jsonSent
		if err := json.Unmarshal([]byte(out), &j); err != nil {
			t.Fatalf("via %s: %q: %v", via, out, err)
		}
		sent, _ := hex.DecodeString(j.Hex)
		got := waitFor(at, 2*time.Second, func(d *craft.Decoded) bool {
			return d.Has(craft.LayerUDP) && d.UDP.DstPort == 9998 && d.IPv4.ID == 0x4242
		})
		if got == nil {
			t.Fatalf("via %s: nothing arrived at the server", via)
		}
		if via == "packet" {
			got = got[:len(sent)] // the frame's padding to 60 bytes follows
		} else {
			got = got[craft.EthernetLen : craft.EthernetLen+len(sent)]
		}
		if !bytes.Equal(got, sent) {
			t.Errorf("via %s: arrived\n%x\nsent\n%x", via, got, sent)
		}
	}
}

// probe classifies open, closed and filtered ports exactly as nmap -sS and
// -sU do on the same ports of the same server.
func TestRealNetProbeAgreesWithNmap(t *testing.T) {
	p := lab.PairForTest(t)
	pairServers(t, p, lab.PairServer)
	for _, c := range []struct{ proto, scan string }{{"tcp", "-sS"}, {"udp", "-sU"}} {
		code, out, errs := inNS(t, p.Client, "probe", c.proto, "--dst", "198.18.7.1", "--ports", "9997-9999", "--timeout", "500ms", "--json")
		if code != exitOK {
			t.Fatalf("probe %s: exit %d: %s", c.proto, code, errs)
		}
		ours := map[uint16]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var j jsonProbe
			if err := json.Unmarshal([]byte(line), &j); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			ours[j.Port] = j.State
		}
		theirs := oracle.NmapStates(t, p.Client, "198.18.7.1", "9997-9999", c.scan)
		want := map[string]map[uint16]string{
			"tcp": {9997: "filtered", 9998: "closed", 9999: "open"},
			"udp": {9997: "open|filtered", 9998: "closed", 9999: "open"},
		}[c.proto]
		for port, w := range want {
			if ours[port] != w || theirs[port] != w {
				t.Errorf("%s port %d: rawcraft %q, nmap %s %q; want both %q", c.proto, port, ours[port], c.scan, theirs[port], w)
			}
		}
	}
}

// A target on this host: probe tcp --dst 127.0.0.1 sees the kernel's RST,
// probe udp its port unreachable, through lo, inside a namespace of the
// test's own; a host name is resolved once and shown.
func TestLoopbackProbe(t *testing.T) {
	p := lab.PairForTest(t)
	for _, c := range []struct {
		args          []string
		state, reason string
	}{
		{[]string{"probe", "tcp", "--dst", "127.0.0.1", "--ports", "1"}, "closed", "rst"},
		{[]string{"probe", "udp", "--dst", "127.0.0.1", "--ports", "1"}, "closed", "icmp-port-unreachable"},
		{[]string{"probe", "tcp", "--dst", "127.0.0.1", "--ports", "1", "--via", "ip"}, "closed", "rst"},
		{[]string{"probe", "tcp", "--dst", "198.18.7.3", "--ports", "1"}, "closed", "rst"}, // an address of eth0: through lo
		{[]string{"probe", "icmp", "--dst", "localhost"}, "up", "echo-reply"},
	} {
		code, out, errs := inNS(t, p.Client, append(c.args, "--json")...)
		var j jsonProbe
		if err := json.Unmarshal([]byte(out), &j); code != exitOK || err != nil || j.State != c.state || j.Reason != c.reason {
			t.Errorf("%v: exit %d, %q (%v), stderr %q; want %s/%s", c.args, code, out, err, errs, c.state, c.reason)
		}
		if c.args[3] == "localhost" && !strings.Contains(errs, "localhost is 127.0.0.1") {
			t.Errorf("the resolved name is not shown: %q", errs)
		}
	}
}

// Outside the lab each rail refuses without the flag — exit 2, one line
// naming the value and the rule, nothing on the wire — and with it says on
// stderr, never in --json, what is about to happen.
func TestRailsOutsideTheLab(t *testing.T) {
	p := lab.PairForTest(t)
	wire := sniffIn(t, p.Client, lab.PairIfc)
	lo := sniffIn(t, p.Client, "lo")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "udp", "--dst", "198.18.7.1", "--rate", "max", "--count", "10"}, "--rate max"},
		{[]string{"send", "udp", "--dst", "198.18.7.1", "--interval", "0", "--count", "10"}, "--rate max"},
		{[]string{"send", "udp", "--dst", "198.18.7.1", "--count", "20000", "--rate", "1000"}, "20000 packets"},
		{[]string{"send", "udp", "--dst", "198.18.7.255"}, "--dst 198.18.7.255: a broadcast destination"},
		{[]string{"send", "udp", "--dst", "255.255.255.255"}, "broadcast"},
		{[]string{"send", "udp", "--dst", "224.0.0.1"}, "--dst 224.0.0.1: a multicast destination"},
		{[]string{"send", "udp", "--dst", "ff0e::1"}, "--dst ff0e::1: a multicast destination"},
		{[]string{"send", "icmp", "--dst", "ff02::1%" + lab.PairIfc}, "--dst ff02::1: a multicast destination"},
		{[]string{"send", "udp", "--dst", "ff05::2", "--iface", lab.PairIfc, "--count", "2"}, "--dst ff05::2: a multicast destination"},
		{[]string{"probe", "tcp", "--dst", "198.18.7.1", "--ports", "1-1025"}, "--ports: 1025 ports; more than 1024"},
		{[]string{"probe", "tcp", "--dst", "198.18.6.0/23", "--ports", "80"}, "--dst: 512 hosts; more than 256"},
		{[]string{"probe", "tcp", "--dst", "127.0.0.1", "--rate", "max"}, "--rate max"},
		{[]string{"probe", "tcp", "--dst", "198.18.7.0/25", "--ports", "1-200"}, "25600 packets"},
	} {
		code, out, errs := inNS(t, p.Client, c.args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) || !strings.Contains(errs, "--i-own-the-network") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, one line with %q", c.args, code, out, errs, c.want)
		}
	}
	if n, m := countIPv4(wire, 300*time.Millisecond), countIPv4(lo, 10*time.Millisecond); n+m != 0 {
		t.Errorf("refused runs put %d frames on eth0 and %d on lo", n, m)
	}
	if n := countSent6(wire, 10*time.Millisecond); n != 0 {
		t.Errorf("refused runs put %d IPv6 UDP or echo frames on eth0", n)
	}
	// With the flag: the warning on stderr, JSON alone on stdout.
	code, out, errs := inNS(t, p.Client, "probe", "icmp", "--dst", "198.18.7.255", "--retries", "0", "--timeout", "200ms", "--json", "--i-own-the-network")
	if code != exitOK || !strings.Contains(errs, "rawcraft: sending to 198.18.7.255/32, a broadcast destination") {
		t.Fatalf("with the flag: exit %d, stderr %q", code, errs)
	}
	if strings.Count(out, "\n") != 1 || strings.Contains(out, "broadcast") {
		t.Errorf("--json stdout is not the one JSON line: %q", out)
	}
	var j jsonProbe
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Errorf("%q: %v", out, err)
	}
}

// The default pace outside the lab: 100 probes a second, measured.
func TestRailsDefaultPace(t *testing.T) {
	p := lab.PairForTest(t)
	start := time.Now()
	code, _, errs := inNS(t, p.Client, "probe", "tcp", "--dst", "127.0.0.1", "--ports", "1-50", "--json")
	if el := time.Since(start); code != exitOK || el < 450*time.Millisecond || el > 3*time.Second {
		t.Errorf("50 probes outside the lab: exit %d in %v (%s); want about 0.5 s at 100/s", code, el, errs)
	}
}

// guardTablesIn lists the guard tables in namespace ns.
func guardTablesIn(t *testing.T, ns string) []string {
	t.Helper()
	names, err := lab.Tables(ns, session.GuardTablePrefix)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// handshake on the pair: the firewall guard (never a ghost outside the
// lab), the data read by a real server application, an orderly close
// without a kernel RST, and no table left.
func TestRealNetHandshake(t *testing.T) {
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
		b, _ := io.ReadAll(c)
		got <- string(b)
	}()
	code, out, errs := inNS(t, p.Client, "handshake", "--dst", "198.18.7.1", "--dport", "9999", "--data", "Hello")
	if code != exitOK || !strings.Contains(out, "guard: firewall") || !strings.Contains(out, "closed in order") || strings.Contains(out, "KERNEL") {
		t.Errorf("handshake: exit %d\n%s\n%s", code, out, errs)
	}
	if s := <-got; s != "Hello" {
		t.Errorf("the server application read %q, want Hello and EOF", s)
	}
	if tb := guardTablesIn(t, p.Client); len(tb) != 0 {
		t.Errorf("guard tables left: %v", tb)
	}
}

// TERM at any moment of a handshake's start leaves no guard: the signals
// are caught from before the guard is made. Sent after 0 to 60 ms, it
// lands before, while and after the guard table is made; CI once sent it
// between the table and the signal handler, and the table stayed.
func TestHandshakeSignalAtAnyMomentLeavesNoGuard(t *testing.T) {
	p := lab.PairForTest(t)
	pairServers(t, p, lab.PairServer) // 9997 dropped
	bin := buildBinary(t)
	for delay := time.Duration(0); delay <= 60*time.Millisecond; delay += 4 * time.Millisecond {
		cmd := exec.Command("ip", "netns", "exec", p.Client, bin, "handshake", "--dst", "198.18.7.1", "--dport", "9997", "--rto", "1s")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(unix.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			// Killed by TERM before rawcraft caught it (nothing made yet), or
			// exit 130 after undoing what it made.
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted && ee.ExitCode() != -1 {
				t.Errorf("TERM after %v: %v; want exit %d or death by TERM", delay, err, exitInterrupted)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("TERM after %v: still running 10 s later", delay)
		}
		if tb := guardTablesIn(t, p.Client); len(tb) != 0 {
			t.Fatalf("TERM after %v: guard tables %v left", delay, tb)
		}
	}
}

// TERM in the middle of a handshake (the SYN dropped, retransmitting)
// removes the guard before the process ends.
func TestHandshakeSignalRemovesGuard(t *testing.T) {
	p := lab.PairForTest(t)
	pairServers(t, p, lab.PairServer) // 9997 dropped
	bin := buildBinary(t)
	cmd := exec.Command("ip", "netns", "exec", p.Client, bin, "handshake", "--dst", "198.18.7.1", "--dport", "9997", "--rto", "1s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(guardTablesIn(t, p.Client)) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(guardTablesIn(t, p.Client)) != 1 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("no guard table appeared")
	}
	_ = cmd.Process.Signal(unix.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Errorf("after TERM: %v; want exit %d", err, exitInterrupted)
	}
	if tb := guardTablesIn(t, p.Client); len(tb) != 0 {
		t.Errorf("after TERM: guard tables %v left", tb)
	}
}
