// Package examples holds no code of its own: this test builds the library
// examples and runs them as a student would.
package examples

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/pcap"
)

// build compiles the named examples into a temporary directory.
func build(t *testing.T, names ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds programs")
	}
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, "./"+n)
	}
	cmd := exec.Command("go", args...) // the go command that runs this test is on PATH
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	return dir
}

func runProg(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", filepath.Base(bin), args, err)
	}
	return string(out)
}

func TestBuildSYN(t *testing.T) {
	dir := build(t, "build_syn")
	out := runProg(t, filepath.Join(dir, "build_syn"))
	for _, want := range []string{
		"44 bytes:\n" +
			"00000000  45 00 00 2c 00 01 40 00  40 06 ac a2 c6 12 01 03  |E..,..@.@.......|\n" +
			"00000010  c6 12 01 01 9c 40 27 0f  00 00 03 e8 00 00 00 00  |.....@'.........|\n" +
			"00000020  60 02 fa f0 47 d5 00 00  02 04 05 b4              |`...G.......|\n",
		"198.18.1.3:40000 → 198.18.1.1:9999 TCP SYN seq 1000 win 64240 len 0 DF\n",
		"|Offset | Rsrvd | Control Bits  |            Window             |\n" +
			"|   6   |   0   |      SYN      |             64240             |\n",
		"TCP   Checksum               0x47d5             good\n",
		"TCP   Kind                   2                  Maximum Segment Size\n",
		"TCP   MSS Value              1460               the largest segment data, in bytes, the sender will accept",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("build_syn's output lacks\n%s\nit printed:\n%s", want, out)
		}
	}
	out = runProg(t, filepath.Join(dir, "build_syn"), "-dport", "80", "-mss", "1400")
	if !strings.Contains(out, "198.18.1.3:40000 → 198.18.1.1:80 TCP SYN") || !strings.Contains(out, "MSS Value              1400") {
		t.Errorf("build_syn -dport 80 -mss 1400:\n%s", out)
	}
	if ee, ok := exec.Command(filepath.Join(dir, "build_syn"), "-dport", "70000").Run().(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("build_syn -dport 70000: %v, want exit status 2", ee)
	}
}

func TestReadPcap(t *testing.T) {
	dir := build(t, "read_pcap")
	hc, hs := craft.MAC{2, 0, 0, 0, 0, 3}, craft.MAC{2, 0, 0, 0, 0, 1}
	frame := func(src, dst craft.MAC, ip *craft.IPv4, tcp *craft.TCP, payload string) []byte {
		ip.TTL = craft.Set(uint8(64))
		pk := craft.Packet{Ethernet: &craft.Ethernet{Src: src, Dst: dst}, IPv4: ip, TCP: tcp, Payload: []byte(payload)}
		b, err := pk.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, s := netip.MustParseAddr("198.18.1.3"), netip.MustParseAddr("198.18.1.1")
	frames := [][]byte{
		frame(hc, hs, &craft.IPv4{ID: 1, Src: a, Dst: s}, &craft.TCP{SrcPort: 40000, DstPort: 9999, Seq: 1000, Flags: craft.TCPSyn, Window: 64240}, ""),
		frame(hs, hc, &craft.IPv4{ID: 2, Src: s, Dst: a}, &craft.TCP{SrcPort: 9999, DstPort: 40000, Seq: 5000, Ack: 1001, Flags: craft.TCPSyn | craft.TCPAck, Window: 65160}, ""),
		frame(hc, hs, &craft.IPv4{ID: 3, Src: a, Dst: s}, &craft.TCP{SrcPort: 40000, DstPort: 9999, Seq: 1001, Ack: 5001, Flags: craft.TCPAck, Window: 502}, "hello"),
	}
	frames = append(frames, frames[2][:30]) // a frame cut short: decoded as far as it goes
	name := filepath.Join(t.TempDir(), "handshake.pcap")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcap.NewWriter(f, pcap.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1700000000, 0)
	for i, b := range frames {
		if err := w.Write(t0.Add(time.Duration(i)*1500*time.Microsecond), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := "   1   0.000000    54  198.18.1.3:40000 → 198.18.1.1:9999 TCP SYN seq 1000 win 64240 len 0\n" +
		"   2   0.001500    54  198.18.1.1:9999 → 198.18.1.3:40000 TCP SYN|ACK seq 5000 ack 1001 win 65160 len 0\n" +
		"   3   0.003000    59  198.18.1.3:40000 → 198.18.1.1:9999 TCP ACK seq 1001 ack 5001 win 502 len 5\n" +
		"   4   0.004500    30  IPv4, truncated: 16 of the header's 20 bytes; total length 45, protocol 6 (TCP), from 198.18.1.3 (IPv4 header at byte 14: truncated: 16 bytes, the fixed header has 20)\n"
	if got := runProg(t, filepath.Join(dir, "read_pcap"), name); got != want {
		t.Errorf("read_pcap printed:\n%s\nwant:\n%s", got, want)
	}
	// Not a capture: one line, exit status 1.
	cmd := exec.Command(filepath.Join(dir, "read_pcap"), filepath.Join(dir, "read_pcap"))
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "not a pcap file") || strings.Count(string(out), "\n") != 1 {
		t.Errorf("read_pcap on a binary: %v, %q", err, out)
	}
}
