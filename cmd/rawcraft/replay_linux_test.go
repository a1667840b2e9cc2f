package main

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/pcap"
)

// writePcap writes frames (or datagrams, with link LinkRaw) to a pcap in
// dir, one millisecond apart.
func writeTestPcap(t *testing.T, dir, name string, link uint32, frames ...[]byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcap.NewWriter(f, link)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1700000000, 0)
	for i, b := range frames {
		if err := w.Write(t0.Add(time.Duration(i)*time.Millisecond), b); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func buildBytes(t *testing.T, p craft.Packet) []byte {
	t.Helper()
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recordHs records every frame Hs's interface sees.
func recordHs(t *testing.T, l *lab.Lab) *listen.Recorder {
	t.Helper()
	var ln *listen.Listener
	if err := l.Do(lab.Hs, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		ln, err = listen.Listen(ifi, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return listen.Record(ln, 0)
}

// A recorded probe run, replayed, brings back the peer kernel's answers:
// RST|ACK from a closed TCP port, port unreachable from a closed UDP port,
// an echo reply.
func TestReplayProbeRun(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	dir := t.TempDir()
	tcpRun, udpRun := filepath.Join(dir, "tcp.pcap"), filepath.Join(dir, "udp.pcap")
	if code, out, errs := inHc(t, l, "probe", "tcp", "--dst", "198.18.1.1", "--ports", "9998", "--pcap", tcpRun); code != exitOK {
		t.Fatalf("probe tcp: exit %d %s %s", code, out, errs)
	}
	if code, out, errs := inHc(t, l, "probe", "udp", "--dst", "198.18.1.1", "--ports", "9997", "--pcap", udpRun); code != exitOK {
		t.Fatalf("probe udp: exit %d %s %s", code, out, errs)
	}
	for _, c := range []struct {
		file string
		want *regexp.Regexp
	}{
		{tcpRun, regexp.MustCompile(`(?m)^#1 .* 198\.18\.1\.3:\d+ → 198\.18\.1\.1:9998 .*\n        ← rst from 198\.18\.1\.1 after \d+\.\d{3} ms: closed$`)},
		{udpRun, regexp.MustCompile(`(?m)^#1 .*198\.18\.1\.1:9997.*\n        ← icmp-port-unreachable from 198\.18\.1\.1 after \d+\.\d{3} ms: closed$`)},
	} {
		code, out, errs := inHc(t, l, "replay", c.file, "--wait", "500ms")
		t.Logf("replay %s:\n%s", filepath.Base(c.file), out)
		if code != exitOK || !c.want.MatchString(out) || !strings.Contains(out, "(skipped: 0 not IPv4, 0 cut short by the capture, 1 from other sources); 1 of 1 matchable answered\n") {
			t.Errorf("replay %s: exit %d, stderr %q\n%s", filepath.Base(c.file), code, errs, out)
		}
	}
	// An echo request as a raw-IP hex dump: framed behind the route's
	// Ethernet header, answered.
	echo := buildBytes(t, craft.Packet{IPv4: &craft.IPv4{Src: netip.MustParseAddr("198.18.1.3"), Dst: netip.MustParseAddr("198.18.1.1"), ID: 77},
		ICMP: &craft.ICMP{Type: 8, Rest: 0x12340001}, Payload: []byte("ping")})
	hexFile := filepath.Join(dir, "echo.txt")
	if err := os.WriteFile(hexFile, []byte(strings.ToUpper(string(appendHexString(nil, echo)))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := inHc(t, l, "replay", hexFile, "--link", "raw", "--wait", "500ms")
	if code != exitOK || !regexp.MustCompile(`\n        ← echo-reply from 198\.18\.1\.1 after \d+\.\d{3} ms: up\n`).MatchString(out) {
		t.Errorf("replay of an echo request: exit %d, stderr %q\n%s", code, errs, out)
	}
}

func appendHexString(dst, b []byte) []byte {
	const digits = "0123456789abcdef"
	for _, c := range b {
		dst = append(dst, digits[c>>4], digits[c&15])
	}
	return dst
}

// Rewrites land byte for byte: a UDP datagram captured elsewhere, between
// other hosts, replayed at Hs's closed port from Hc's address, arrives at Hs
// exactly as craft builds it with the new addresses, ports and MACs — the
// checksums updated — and with --keep-checksums exactly with the old
// checksums. An ARP frame in the capture is skipped and counted.
func TestReplayRewritesByteExact(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	dir := t.TempDir()
	far := craft.Packet{Ethernet: &craft.Ethernet{Src: craft.MAC{2, 0, 0, 0, 0, 0xaa}, Dst: craft.MAC{2, 0, 0, 0, 0, 0xbb}},
		IPv4: &craft.IPv4{Src: netip.MustParseAddr("10.1.2.3"), Dst: netip.MustParseAddr("192.0.2.9"), ID: 0x4242, TTL: craft.Set[uint8](61)},
		UDP:  &craft.UDP{SrcPort: 1111, DstPort: 2222}, Payload: []byte("replayed bytes")}
	orig := buildBytes(t, far)
	arp := buildBytes(t, craft.Packet{Ethernet: &craft.Ethernet{Dst: craft.Broadcast, Src: craft.MAC{2, 0, 0, 0, 0, 0xaa}},
		ARP: &craft.ARP{Op: craft.ARPRequest, SenderHW: craft.MAC{2, 0, 0, 0, 0, 0xaa}, SenderIP: netip.MustParseAddr("10.1.2.3"), TargetIP: netip.MustParseAddr("10.1.2.4")}})
	file := writeTestPcap(t, dir, "far.pcap", pcap.LinkEthernet, arp, orig)
	want := far
	want.Ethernet = &craft.Ethernet{Src: lab.MACHc, Dst: lab.MACHs}
	want.IPv4 = &craft.IPv4{Src: netip.MustParseAddr("198.18.1.3"), Dst: netip.MustParseAddr("198.18.1.1"), ID: 0x4242, TTL: craft.Set[uint8](61)}
	want.UDP = &craft.UDP{SrcPort: 40001, DstPort: 9996}
	wantBytes := buildBytes(t, want)

	args := []string{"replay", file, "--src", "198.18.1.3", "--dst", "198.18.1.1", "--sport", "40001", "--dport", "9996", "--src-mac", "route", "--dst-mac", lab.MACHs.String(), "--wait", "500ms"}
	for _, keep := range []bool{false, true} {
		rec := recordHs(t, l)
		a := args
		if keep {
			a = append(a, "--keep-checksums")
		}
		code, out, errs := inHc(t, l, a...)
		time.Sleep(100 * time.Millisecond)
		var got []byte
		for _, g := range rec.Stop() {
			var d craft.Decoded
			if d.DecodeFrame(g.Frame) == nil && d.Layers&craft.LayerUDP != 0 && d.UDP.DstPort == 9996 {
				got = g.Frame
			}
		}
		exp := append([]byte(nil), wantBytes...)
		if keep {
			copy(exp[14+10:14+12], orig[14+10:14+12]) // IPv4 header checksum
			copy(exp[14+20+6:14+20+8], orig[14+20+6:14+20+8])
		}
		if !bytes.Equal(got[:min(len(got), len(exp))], exp) || len(got) < len(exp) || len(got) > craft.MinFrameLen && len(got) != len(exp) {
			t.Errorf("keep-checksums %v: Hs got\n%x\nwant\n%x", keep, got, exp)
		}
		if code != exitOK || !strings.Contains(out, "(skipped: 1 not IPv4, 0 cut short by the capture, 0 from other sources)") {
			t.Errorf("keep-checksums %v: exit %d, stderr %q\n%s", keep, code, errs, out)
		}
		// With checksums right, Hs's kernel answers; with the old ones it
		// drops the datagram silently.
		answered := strings.Contains(out, "← icmp-port-unreachable from 198.18.1.1")
		if answered == keep {
			t.Errorf("keep-checksums %v: answered %v\n%s", keep, answered, out)
		}
	}
}

// Bad input: one line, exit 2, nothing on the wire.
func TestReplayBadInputSendsNothing(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	dir := t.TempDir()
	syn := buildBytes(t, craft.Packet{IPv4: &craft.IPv4{Src: netip.MustParseAddr("198.18.1.3"), Dst: netip.MustParseAddr("198.18.1.1")},
		TCP: &craft.TCP{SrcPort: 40000, DstPort: 9998, Flags: craft.TCPSyn}})
	good := writeTestPcap(t, dir, "good.pcap", pcap.LinkRaw, syn)
	sll := writeTestPcap(t, dir, "sll.pcap", pcap.LinkLinuxSLL, append(make([]byte, 16), syn...))
	damaged := filepath.Join(dir, "damaged.pcap")
	b, _ := os.ReadFile(good)
	if err := os.WriteFile(damaged, append(b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0xff, 0xff, 0xff), 0o644); err != nil {
		t.Fatal(err)
	}
	arpOnly := writeTestPcap(t, dir, "arp.pcap", pcap.LinkEthernet, buildBytes(t, craft.Packet{Ethernet: &craft.Ethernet{Dst: craft.Broadcast},
		ARP: &craft.ARP{Op: craft.ARPRequest, SenderIP: netip.MustParseAddr("198.18.1.3"), TargetIP: netip.MustParseAddr("198.18.1.1")}}))
	v6Only := writeTestPcap(t, dir, "v6.pcap", pcap.LinkRaw, buildBytes(t, craft.Packet{IPv6: &craft.IPv6{Src: lab.Addr6Hc, Dst: lab.Addr6Hs},
		UDP: &craft.UDP{SrcPort: 40000, DstPort: 9998}, Payload: []byte("six")}))
	rec := recordHs(t, l)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", filepath.Join(dir, "nosuch.pcap")}, "nosuch.pcap"},
		{[]string{"replay", sll}, "link type"},
		{[]string{"replay", damaged}, "damaged after 1 packet: pcap: record of 202050057 bytes is larger than"},
		{[]string{"replay", arpOnly}, "no IPv4 packet to replay (1 not IPv4"},
		{[]string{"replay", v6Only}, "no IPv4 packet to replay (1 not IPv4"},
		{[]string{"replay", good, "--rate", "0"}, `--rate "0": packets per second`},
		{[]string{"replay", good, "--timing", "fast"}, `--timing "fast"`},
		{[]string{"replay", good, "--duration", "2h"}, "--duration 2h0m0s"},
		{[]string{"replay", good, "--count", "0"}, "--count 0"},
		{[]string{"replay", good, "--dst", "198.18.1"}, "--dst"},
		{[]string{"replay", good, "--sport", "70000"}, "--sport"},
		{[]string{"replay", good, "--src-mac", "routed"}, "--src-mac"},
		{[]string{"replay", good, "--from", "host"}, `--from "host": an IPv4 address, or any`},
		{[]string{"replay", good, "--from", "198.18.1.9"}, "no IPv4 packet to replay (0 not IPv4, 0 truncated by the capture, 1 from other sources)"},
		{[]string{"replay", good, "--svg", "x"}, "unknown flag: --svg"},
	} {
		code, out, errs := inHc(t, l, c.args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", c.args, code, out, errs, c.want)
		}
	}
	time.Sleep(200 * time.Millisecond)
	var what []string
	for _, g := range rec.Stop() {
		d := craft.Decoded{AcceptIPv6: true}
		_ = d.DecodeFrame(g.Frame)
		if kernelChatter(&d) {
			continue
		}
		what = append(what, d.Summary())
	}
	if len(what) > 0 {
		t.Errorf("bad input sent %d frames to Hs: %v", len(what), what)
	}
}
