package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/spf13/cobra"
)

// runRoot runs the CLI as run does, with read (and replay) added when the
// root does not have them yet (main.go's command list is not this file's).
func runRoot(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRoot(&out, &errb)
	for _, mk := range []func() *cobra.Command{newReadCmd} {
		c := mk()
		if found, _, err := root.Find([]string{c.Name()}); err != nil || found == root {
			strictArgs(c)
			root.AddCommand(c)
		}
	}
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return out.String(), errb.String(), exitOK
	}
	fmt.Fprintf(&errb, "rawcraft: %s\n", strings.TrimSpace(strings.SplitN(err.Error(), "\n", 2)[0]))
	var ue usageError
	if errors.As(err, &ue) {
		return out.String(), errb.String(), exitUsage
	}
	return out.String(), errb.String(), exitFailure
}

func builtHex(t *testing.T, args ...string) []byte {
	t.Helper()
	out, errs, code := runCLI(t, append(append([]string{"build"}, args...), "--hex")...)
	if code != 0 {
		t.Fatalf("build %v: %s", args, errs)
	}
	b, err := hex.DecodeString(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, link uint32, pkts ...[]byte) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "c.pcap")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := pcap.NewWriter(f, link)
	t0 := time.Unix(1700000000, 0)
	for i, p := range pkts {
		if err := w.Write(t0.Add(time.Duration(i)*time.Millisecond), p); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	return name
}

// TestReadSameAsBuild: build --pcap, then read --explain, prints build's
// dissection of each packet (the fragments of a 4000-byte datagram).
func TestReadSameAsBuild(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f.pcap")
	built, _, code := runCLI(t, "build", "udp", "--size", "4000", "--mtu", "1500", "--ether", "--pcap", name)
	if code != 0 {
		t.Fatal("build failed")
	}
	read, errs, code := runRoot(t, "", "read", "--explain", name)
	if code != 0 {
		t.Fatalf("read: %s", errs)
	}
	bs, rs := strings.Split(built, "\n\n"), strings.Split(read, "\n\n")
	if len(bs) != 3 || len(rs) != 3 {
		t.Fatalf("%d and %d packets:\n%s\n%s", len(bs), len(rs), built, read)
	}
	for i := range bs {
		_, b, _ := strings.Cut(bs[i], "\n")
		_, r, _ := strings.Cut(rs[i], "\n")
		if strings.TrimSpace(b) != strings.TrimSpace(r) {
			t.Errorf("packet %d: build says\n%s\nread says\n%s", i+1, b, r)
		}
	}
}

// TestReadHexFormsAsFile: the same packet given as a file and as a hex dump
// (as tcpdump -xx prints it) reads the same.
func TestReadHexFormsAsFile(t *testing.T) {
	b := builtHex(t, "tcp", "--ether", "--flags", "S", "--tcp-opt", "mss=1460")
	file := writeFile(t, pcap.LinkEthernet, b)
	want, _, code := runRoot(t, "", "read", "--explain", file)
	if code != 0 {
		t.Fatal(want)
	}
	var dump strings.Builder
	dump.WriteString("12:00:00.000000 IP 198.18.1.3.40000 > 198.18.1.1.9999: Flags [S]\n")
	for off := 0; off < len(b); off += 16 {
		fmt.Fprintf(&dump, "\t0x%04x: ", off)
		for i := off; i < min(off+16, len(b)); i += 2 {
			fmt.Fprintf(&dump, " %x", b[i:min(i+2, len(b))])
		}
		dump.WriteString("\n")
	}
	for _, text := range []string{dump.String(), hex.EncodeToString(b), hex.Dump(b)} {
		got, errs, code := runRoot(t, text, "read", "--explain", "-")
		// a hex dump has no times: the summary line lacks the column; its
		// first line says the link type guessed
		if guess := "hex dump, link type guessed: Ethernet: bytes 12-13 hold EtherType 0x0800\n"; !strings.HasPrefix(got, guess) {
			t.Errorf("%q: the first line is not %q:\n%s", text, guess, got)
		}
		if code != 0 || after1(after1(got)) != after1(want) {
			t.Errorf("%q: %s\ngot\n%s\nwant\n%s", text, errs, got, want)
		}
	}
}

func after1(s string) string { _, r, _ := strings.Cut(s, "\n"); return r }

// sll wraps an IPv4 packet in a Linux cooked header of packet type pt.
func sll(pt byte, ip []byte) []byte {
	return append([]byte{0, pt, 0, 1, 0, 6, 2, 0, 0, 0, 1, 3, 0, 0, 0x08, 0x00}, ip...)
}

// TestReadOffload: a TCP checksum holding only the pseudo-header sum is
// "not yet filled" on a packet the capturing host sent (SLL packet type 4),
// and bad on one it received, with a hint.
func TestReadOffload(t *testing.T) {
	b := builtHex(t, "tcp", "--flags", "S")
	var d craft.Decoded
	if err := d.DecodeIP(b); err != nil {
		t.Fatal(err)
	}
	partial := pcap.PseudoHeaderSum(&d.Datagram)
	pb := builtHex(t, "tcp", "--flags", "S", "--csum", fmt.Sprint(partial))
	file := writeFile(t, pcap.LinkLinuxSLL, sll(4, pb), sll(0, pb))
	out, errs, code := runRoot(t, "", "read", file)
	if code != 0 {
		t.Fatal(errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], " out ") || !strings.Contains(lines[0], "TCP checksum not yet filled (offload)") || strings.Contains(lines[0], "BAD") {
		t.Errorf("outgoing: %q", lines[0])
	}
	if !strings.Contains(lines[1], "TCP checksum BAD") || !strings.Contains(lines[1], "pseudo-header sum") {
		t.Errorf("incoming: %q", lines[1])
	}
	// JSON says the same.
	js, _, _ := runRoot(t, "", "read", "--json", "--packet", "1", file)
	var jp readJSONPacket
	if err := json.Unmarshal([]byte(js), &jp); err != nil || jp.Direction != "out" || jp.Checksums[1].Status != "not yet filled (offload)" || jp.LinkType != 113 {
		t.Errorf("json %v: %s", err, js)
	}
}

func TestReadFilters(t *testing.T) {
	file := writeFile(t, pcap.LinkRaw,
		builtHex(t, "tcp", "--flags", "S"),
		builtHex(t, "udp", "--dport", "53"),
		builtHex(t, "icmp", "--src", "198.18.1.1", "--dst", "198.18.1.5"),
		builtHex(t, "tcp", "--flags", "SA", "--src", "198.18.1.1", "--dst", "198.18.1.3", "--sport", "9999", "--dport", "40000"))
	for _, tc := range []struct {
		args []string
		want []string // packet numbers
	}{
		{nil, []string{"1", "2", "3", "4"}},
		{[]string{"--packet", "2-3"}, []string{"2", "3"}},
		{[]string{"--packet", "1,3-"}, []string{"1", "3", "4"}},
		{[]string{"--proto", "tcp"}, []string{"1", "4"}},
		{[]string{"--host", "198.18.1.5"}, []string{"3"}},
		{[]string{"--port", "53"}, []string{"2"}},
		{[]string{"--port", "9999", "--packet", "4"}, []string{"4"}},
	} {
		out, errs, code := runRoot(t, "", append([]string{"read", file}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%v: %s", tc.args, errs)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			got = append(got, strings.Fields(l)[0])
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%v: packets %v, want %v\n%s", tc.args, got, tc.want, out)
		}
	}
}

func TestReadBadInput(t *testing.T) {
	file := writeFile(t, pcap.LinkRaw, builtHex(t, "udp"))
	radio := writeFile(t, 127, []byte{0, 0, 8, 0, 0, 0, 0, 0})
	unknown := writeFile(t, 258, []byte{0, 0, 8, 0, 0, 0, 0, 0})
	notCapture := filepath.Join(t.TempDir(), "x.bin")
	os.WriteFile(notCapture, []byte{0x7f, 'E', 'L', 'F', 0, 1, 2}, 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"read", file, "--packet", "0"}, `--packet "0": "0" is not a packet number`},
		{[]string{"read", file, "--packet", "5-2"}, `"5-2" is not a range`},
		{[]string{"read", file, "--proto", "sctp"}, `--proto "sctp"`},
		{[]string{"read", file, "--host", "example"}, `--host "example": not an IPv4 or IPv6 address`},
		{[]string{"read", file, "--port", "70000"}, "--port 70000: a port is 0 to 65535"},
		{[]string{"read", file, "--link", "raw"}, `--link "raw": only for a hex dump`},
		{[]string{"read", "/nonexistent/c.pcap"}, "no such file"},
		{[]string{"read", radio}, "pcap capture of link type IEEE802_11_RADIOTAP (127): not decoded"},
		{[]string{"read", unknown}, "pcap capture of link type 258: not decoded"},
		{[]string{"read", notCapture}, "magic 7f454c46"},
		{[]string{"read", file, "--json", "--explain"}, "give one or the other"},
	} {
		out, errs, code := runRoot(t, "", tc.args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line with %q", tc.args, code, out, errs, tc.want)
		}
	}
}

// corpusRoot is ../shared/corpus/tcpdump from the module root: skipped only
// when absent and CI unset.
func corpusRoot(t *testing.T) string {
	t.Helper()
	c := filepath.Join("..", "..", "..", "shared", "corpus", "tcpdump")
	if _, err := os.Stat(c); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no capture corpus at %s", c)
		}
		t.Fatalf("no capture corpus at %s (CI has ../shared/corpus)", c)
	}
	return c
}

// TestReadCorpus: every file of tcpdump's test captures is read, or refused
// in one line naming its link type, without a panic; a damaged file shows
// its packets and then one line.
func TestReadCorpus(t *testing.T) {
	dir := corpusRoot(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var read, refused, damaged int
	for _, name := range files {
		out, errs, code := runRoot(t, "", "read", "--explain", name)
		switch code {
		case exitOK:
			read++
			if errs != "" {
				t.Errorf("%s: stderr %q", filepath.Base(name), errs)
			}
		case exitUsage:
			refused++
			if out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "link type") {
				t.Errorf("%s: refused with %q (stdout %d bytes)", filepath.Base(name), errs, len(out))
			}
		default:
			damaged++
			if strings.Count(errs, "\n") != 1 {
				t.Errorf("%s: %q", filepath.Base(name), errs)
			}
		}
	}
	t.Logf("%d files: %d read, %d refused (link type), %d read up to damage", len(files), read, refused, damaged)
	if read+refused+damaged != len(files) || read < 500 {
		t.Errorf("only %d read", read)
	}
}

// TestReadLadder: read --ladder of a capture of a handshake draws the
// ladder package's diagram, and --svg writes the SVG.
func TestReadLadder(t *testing.T) {
	file := writeFile(t, pcap.LinkRaw,
		builtHex(t, "tcp", "--flags", "S", "--seq", "100", "--tcp-opt", "mss=1460"),
		builtHex(t, "tcp", "--flags", "SA", "--src", "198.18.1.1", "--dst", "198.18.1.3", "--sport", "9999", "--dport", "40000", "--seq", "5000", "--ack", "101"),
		builtHex(t, "tcp", "--flags", "A", "--seq", "101", "--ack", "5001"))
	svg := filepath.Join(t.TempDir(), "l.svg")
	out, errs, code := runRoot(t, "", "read", "--ladder", "--svg", svg, file)
	if code != 0 {
		t.Fatal(errs)
	}
	want := `  time (s)  198.18.1.3                                     198.18.1.1
            |  40000→9999 [S] seq=0 win=64240 len=0 <mss 1460>  |
  0.000000  |-------------------------------------------------->|
            |    9999→40000 [SA] seq=0 ack=1 win=64240 len=0    |
  0.001000  |<--------------------------------------------------|
            |    40000→9999 [A] seq=1 ack=1 win=64240 len=0     |
  0.002000  |-------------------------------------------------->|
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if b, err := os.ReadFile(svg); err != nil || !bytes.HasPrefix(b, []byte("<svg")) || !bytes.Contains(b, []byte("[SA] seq=0 ack=1")) {
		t.Errorf("svg: %v %.80s", err, b)
	}
}

// read --tcpseq draws a capture's first TCP flow as a time-sequence graph;
// a capture with no TCP connection says so and exits 1.
func TestReadTimeSequence(t *testing.T) {
	file := writeFile(t, pcap.LinkRaw,
		builtHex(t, "tcp", "--flags", "S", "--seq", "100"),
		builtHex(t, "tcp", "--flags", "SA", "--src", "198.18.1.1", "--dst", "198.18.1.3", "--sport", "9999", "--dport", "40000", "--seq", "5000", "--ack", "101"),
		builtHex(t, "tcp", "--flags", "PA", "--seq", "101", "--ack", "5001", "--data", "hello"),
		builtHex(t, "tcp", "--flags", "PA", "--seq", "101", "--ack", "5001", "--data", "hello"),
		builtHex(t, "tcp", "--flags", "A", "--src", "198.18.1.1", "--dst", "198.18.1.3", "--sport", "9999", "--dport", "40000", "--seq", "5001", "--ack", "106"))
	svg := filepath.Join(t.TempDir(), "seq.svg")
	if _, errs, code := runRoot(t, "", "read", "--tcpseq", svg, file); code != 0 {
		t.Fatal(errs)
	}
	if b, err := os.ReadFile(svg); err != nil || !bytes.HasPrefix(b, []byte("<svg")) {
		t.Errorf("svg: %v %.80s", err, b)
	}
	udp := writeFile(t, pcap.LinkRaw, builtHex(t, "udp", "--data", "x"))
	if _, errs, code := runRoot(t, "", "read", "--tcpseq", svg, udp); code != 1 || !strings.Contains(errs, "no TCP connection") {
		t.Errorf("a capture without TCP: exit %d, %q", code, errs)
	}
	if _, err := os.Stat(svg); !os.IsNotExist(err) {
		t.Errorf("a capture without TCP left %s behind (%v)", svg, err)
	}
	// An output path that cannot be written is refused before anything is
	// read or printed: exit 2, one line, nothing on stdout.
	dir := t.TempDir()
	for _, args := range [][]string{{"read", "--tcpseq", dir, file}, {"read", "--svg", dir, file}, {"read", "--ladder", "--svg", dir, file}} {
		out, errs, code := runRoot(t, "", args...)
		want := fmt.Sprintf("rawcraft: %s %q: is a directory\n", args[len(args)-3], dir)
		if code != exitUsage || out != "" || errs != want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2, nothing printed, %q", args, code, out, errs, want)
		}
	}
}

// Issue 29: a 108-byte pcapng made gopacket's pcapng reader divide by zero
// and read print a Go stack trace. It is one line and exit 2.
func TestReadHostilePcapNGIsOneLine(t *testing.T) {
	b, _ := hex.DecodeString("0a0d0d0a440000004d3c2b1a010000003030303030303030303020003030303030303030303030303030303030303030" +
		"303030303030303030303030303000003030303001000000200000003030303030303030303004004130303009000000" +
		"303030303030303030303030")
	name := filepath.Join(t.TempDir(), "crash.pcapng")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCLI(t, "read", name)
	if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "pcapng") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one line naming pcapng", code, out, errs)
	}
}

// A capture damaged after some packets shows them, then one line naming the
// damage, exit 2 (bad input, like a file that is no capture at all), with
// no Go error words ("unexpected EOF").
func TestReadDamagedCaptureIsBadInput(t *testing.T) {
	var buf bytes.Buffer
	w, _ := pcap.NewWriter(&buf, pcap.LinkRaw)
	ip, err := (&craft.Packet{IPv4: &craft.IPv4{Src: netip.MustParseAddr("198.18.1.3"), Dst: netip.MustParseAddr("198.18.1.1")},
		UDP: &craft.UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("one")}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Write(time.Unix(1, 0), ip)
	_ = w.Write(time.Unix(2, 0), ip)
	b := buf.Bytes()
	name := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(name, b[:len(b)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCLI(t, "read", name)
	want := "damaged after 1 packet: pcap: truncated record: the file ends after 26 of its 31 bytes"
	if code != exitUsage || strings.Count(out, "\n") != 1 || !strings.Contains(errs, want) || strings.Contains(errs, "EOF") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 packet shown, exit 2 and %q", code, out, errs, want)
	}
}

// An IPv4 total length past the bytes is said once, the way tshark reads
// the same file: when the capture's snapshot length cut the packet, the
// line says the capture cut it (tshark: no length expert); when the packet
// itself is shorter than its total length, the line says so (tshark:
// "IPv4 total length exceeds packet length").
func TestReadIPLengthPastTheBytes(t *testing.T) {
	ip, err := hex.DecodeString("45000064000100004006ec6ac6120103c61201019c40005000000000000000005002faf08a380000")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		orig        int
		says, not   string
		lengthBogus bool
	}{
		{100, " · truncated: 40 of 100 bytes captured", "IPv4 total length", false},
		{40, " · truncated: IPv4 total length 100, 40 bytes present", "bytes captured", true},
	} {
		var b bytes.Buffer
		w, _ := pcap.NewWriter(&b, pcap.LinkRaw)
		_ = w.Write(time.Unix(1, 0), ip)
		raw := b.Bytes()
		binary.LittleEndian.PutUint32(raw[24+12:], uint32(c.orig)) // the record's original length
		name := filepath.Join(t.TempDir(), "c.pcap")
		if err := os.WriteFile(name, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		out, errs, code := runCLI(t, "read", name)
		if code != 0 || !strings.Contains(out, c.says) || strings.Contains(out, c.not) {
			t.Errorf("orig %d: exit %d %q %q; want %q and not %q", c.orig, code, out, errs, c.says, c.not)
		}
		oracle.TsharkDissect(t, name, func(p *oracle.TsharkPacket) {
			bogus := strings.Contains(strings.Join(p.All("_ws.expert.message"), ";"), "IPv4 total length exceeds packet length")
			if bogus != c.lengthBogus {
				t.Errorf("orig %d: tshark's length expert %v, want %v", c.orig, bogus, c.lengthBogus)
			}
		})
	}
}

// TestReadEmptyCapture: a capture with a header and no packets says so in
// one line (tshark -r reads such a file without error and prints nothing).
func TestReadEmptyCapture(t *testing.T) {
	file := writeFile(t, pcap.LinkEthernet)
	out, errs, code := runRoot(t, "", "read", file)
	if want := file + ": a pcap file that holds no packets\n"; code != exitOK || errs != "" || out != want {
		t.Errorf("read of an empty capture: exit %d, stdout %q, stderr %q; want %q", code, out, errs, want)
	}
	out, _, code = runRoot(t, "", "read", file, "--json")
	if code != exitOK || out != "" {
		t.Errorf("read --json of an empty capture: exit %d, stdout %q; want nothing", code, out)
	}
}

// TestReadHexGuessesLink: a hex dump of a packet rawcraft built, raw IP or an
// Ethernet frame (the truth, known from how it was built), cut at every
// length a guess can go by (4 bytes of an IPv4 header, 14 of a frame), is
// read with the link type it was built with.
func TestReadHexGuessesLink(t *testing.T) {
	for _, args := range [][]string{
		{"udp", "--data", "hello"},
		{"tcp", "--flags", "S", "--tcp-opt", "nop,nop,ts=1:2"},
		{"icmp"},
		{"udp", "--dst", "2001:2::1", "--src", "2001:2::2"},
	} {
		for _, ether := range []bool{false, true} {
			a, want, least := args, pcap.LinkRaw, 4
			if ether {
				a, want, least = append(append([]string{}, args...), "--ether"), pcap.LinkEthernet, 14
			}
			b := builtHex(t, a...)
			if b[0]>>4 == 6 && !ether {
				least = len(b) // a cut IPv6 header's payload length does not fit: read as Ethernet
			}
			for n := least; n <= len(b); n++ {
				if got, why := pcap.GuessLinkWhy(b[:n]); got != want {
					t.Errorf("build %v, %d of %d bytes: guessed %s (%s)", a, n, len(b), pcap.LinkName(got), why)
				}
			}
		}
	}
	out, _, code := runRoot(t, "45 00 00 1c 00 01 00 00 40 11 ec a6 c6 12 00 01 c6 12 00\n", "read", "-")
	if want := "hex dump, link type guessed: raw IP: byte 0x45 reads as IPv4"; code != exitOK || !strings.HasPrefix(out, want) || !strings.Contains(out, "IPv4, truncated: 19 of the header's 20 bytes") {
		t.Errorf("a 19-byte IPv4 header: exit %d\n%s\nwant %q and IPv4, truncated", code, out, want)
	}
	out, _, _ = runRoot(t, "45 00 00 1c 00 01 00 00 40 11 ec a6 c6 12 00 01 c6 12 00\n", "read", "--link", "raw", "-")
	if strings.Contains(out, "guessed") {
		t.Errorf("--link raw: %s, want no guess said", out)
	}
}
