package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"go/build"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/pcap"
)

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestBadInputExits2(t *testing.T) {
	cases := []struct {
		args []string
		want string // in the one-line message
	}{
		{[]string{"build", "udp", "--dport", "70000"}, `--dport "70000": a port is 0 to 65535`},
		{[]string{"build", "tcp", "--dst", "300.1.1.1"}, `--dst "300.1.1.1": not an IPv4 address`},
		{[]string{"build", "udp", "--size", "4000", "--frag", "1001"}, "--frag 1001: the data of every fragment but the last is a positive multiple of 8"},
		{[]string{"build", "tcp", "--flags", "SX"}, `"X" is not a flag letter`},
		{[]string{"build", "udp", "--size", "65508"}, "payload of 65508 bytes"},
		{[]string{"build", "udp", "--data-hex", "abc"}, "odd number of digits"},
		{[]string{"build", "tcp", "--type", "3"}, "--type applies to icmp"},
		{[]string{"build", "udp", "--frag-drop", "2"}, "needs --frag"},
		{[]string{"build", "udp", "--size", "4000", "--mtu", "1500", "--frag-drop", "4"}, "fragment 4 does not exist"},
		{[]string{"build", "smtp"}, `protocol "smtp"`},
		{[]string{"build", "udp", "--data", "a", "--size", "3"}, "give one payload"},
		{[]string{"build", "udp", "--mtu", "40"}, "68"},
		{[]string{"build", "icmp", "--type", "3", "--quote", "udp --dport 99999"}, `--quote "udp --dport 99999": --dport "99999": a port is 0 to 65535`},
		{[]string{"build", "tcp", "--tcp-opt", "mss=99999"}, "does not fit in 16 bits"},
		{[]string{"build", "tcp", "--ip-opt", "rr=10"}, "1 to 9 slots"},
		{[]string{"build", "udp", "--data-file", "/nonexistent/x"}, "no such file"},
		{[]string{"build", "arp", "--dport", "1"}, "does not apply to ARP"},
		{[]string{"build", "tcp", "--src-mac", "zz:00:00:00:00:00"}, "not a MAC address"},
		{[]string{"build", "tcp", "--hex", "--json"}, "--hex and --json: give one or the other"},
		{[]string{"build", "tcp", "extra"}, `unexpected argument "extra"`},
		{[]string{"build", "tcp", "--bogus"}, "unknown flag"},
		{[]string{"checksum"}, "no DATA"},
		{[]string{"checksum", "--sport", "-1", "x"}, `--sport "-1": a port is 0 to 65535`},
		// A value is named before the lab rail, which names none, is checked.
		{[]string{"probe", "tcp", "--dst", "198.18.1.1", "--ports", ""}, `--ports "": "" is not a port or range`},
		{[]string{"probe", "tcp", "--dst", "198.18.1.1", "--ports", "80-22"}, `runs downwards`},
		{[]string{"probe", "tcp", "--dst", "198.18.1.1", "--timeout", "abc"}, `--timeout "abc": a duration is a number with a unit`},
		{[]string{"reset", "--dst", "198.18.1.1", "--dport", "9999", "--offset", "abc"}, `--offset "abc": a sequence-number offset is a whole number`},
		{[]string{"reset", "--dst", "198.18.1.1", "--dport", "0"}, `--dport 0: a server listens on a port from 1 to 65535`},
		{[]string{"send", "tcp", "--dst", "198.18.1.1", "--frag", "7"}, `--frag 7: the data of every fragment`},
		{[]string{"nosuch"}, "unknown command"},
		{[]string{"exercise", "8"}, `exercise "8": one of 1, 2, 3, 4, 5, 6, 7, 7v6, 3way, 4way, `},
		{[]string{"handshake", "--dst", "198.18.1.1", "--dport", "9999", "--guard", "maybe"}, `--guard "maybe"`},
		// Outside the lab (here), the rails: nothing is sent.
		{[]string{"probe", "tcp", "--dst", "192.0.2.1", "--ports", "1-2000"}, "--ports: 2000 ports; more than 1024 outside the lab; add --i-own-the-network"},
		{[]string{"send", "udp", "--dst", "192.0.2.1", "--rate", "max", "--count", "5"}, "--rate max: as fast as possible, outside the lab"},
		{[]string{"probe", "tcp", "--dst", "192.0.2.0/8x"}, `--dst "192.0.2.0/8x"`},
		{[]string{"listen", "--count", "0"}, "--count 0"},
	}
	for _, c := range cases {
		out, errs, code := runCLI(t, c.args...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if code != exitUsage || out != "" || len(lines) != 1 || !strings.Contains(errs, c.want) || !strings.HasPrefix(errs, "rawcraft: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, one line with %q", c.args, code, out, errs, c.want)
		}
	}
}

func TestBuildHexMatchesCraft(t *testing.T) {
	out, _, code := runCLI(t, "build", "tcp", "--src", "198.18.1.3", "--dst", "198.18.1.1", "--sport", "40000", "--dport", "9999",
		"--flags", "S", "--seq", "0x11223344", "--id", "0x1234", "--df", "--tcp-opt", "mss=1460,sackok,ts=0x01020304:0,nop,wscale=7", "--hex")
	if code != 0 {
		t.Fatal(code)
	}
	// craft's golden SYN without its Ethernet header
	want := "4500003c1234400040069a5fc6120103c61201019c40270f1122334400000000a002faf0b32a0000020405b40402080a010203040000000001030307"
	if strings.TrimSpace(out) != want {
		t.Errorf("hex %s", out)
	}
	// Forced values are written as given.
	out, _, _ = runCLI(t, "build", "udp", "--ip-csum", "0xdead", "--csum", "0", "--evil", "--ttl", "0", "--hex")
	b, _ := hex.DecodeString(strings.TrimSpace(out))
	if len(b) != 28 || b[10] != 0xde || b[11] != 0xad || b[26] != 0 || b[27] != 0 || b[6]&0x80 == 0 || b[8] != 0 {
		t.Errorf("forced fields: %x", b)
	}
}

func TestBuildArticlePackets(t *testing.T) {
	// Exercise 3: the three messages share one checksum.
	var sums []string
	for _, m := range []string{"Hello", "UQUQUQHello", "llHeo"} {
		out, _, code := runCLI(t, "build", "udp", "--dport", "8192", "--data", m, "--hex")
		if code != 0 {
			t.Fatal(code)
		}
		sums = append(sums, strings.TrimSpace(out)[52:56])
	}
	if sums[0] != sums[1] || sums[1] != sums[2] {
		t.Errorf("Exercise 3 checksums %v", sums)
	}
	// The 4000-byte datagram in three fragments, the first with 1472
	// bytes of application data after the 8-byte UDP header.
	out, _, code := runCLI(t, "build", "udp", "--size", "4000", "--mtu", "1500", "--json")
	if code != 0 {
		t.Fatal(code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d packets", len(lines))
	}
	for i, l := range lines {
		var jp jsonPacket
		if err := json.Unmarshal([]byte(l), &jp); err != nil {
			t.Fatal(err)
		}
		if jp.Fragment != i+1 || jp.Length != []int{1500, 1500, 1068}[i] || jp.Checksums[0].Status != "good" {
			t.Errorf("fragment %d: %+v", i+1, jp)
		}
	}
	// Text output names the fields and their meaning.
	out, _, _ = runCLI(t, "build", "tcp", "--flags", "RA", "--ack", "1")
	for _, s := range []string{"Control Bits", "RST|ACK", "reset: the connection is refused or aborted", "checksums: IPv4 good · TCP good"} {
		if !strings.Contains(out, s) {
			t.Errorf("RST dissection lacks %q", s)
		}
	}
}

// Every pcap that build writes opens in an independent decoder with no
// malformed packet, and holds exactly the packets printed as hex.
func TestBuildPcap(t *testing.T) {
	dir := t.TempDir()
	cases := [][]string{
		{"udp", "--size", "4000", "--mtu", "1500", "--frag-order", "random"},
		{"tcp", "--flags", "S", "--tcp-opt", "mss=1460,sackok,ts=1:0,nop,wscale=7"},
		{"icmp", "--src", "198.18.1.1", "--dst", "198.18.1.3", "--type", "3", "--code", "3", "--quote", "udp --data Hello"},
		{"tcp", "--ether", "--src-mac", "02:00:00:00:01:03", "--dst-mac", "02:00:00:00:01:01"},
		{"arp", "--src-mac", "02:00:00:00:01:03"},
	}
	for i, c := range cases {
		file := filepath.Join(dir, "p.pcap")
		args := append([]string{"build"}, c...)
		hexOut, _, code := runCLI(t, append(args, "--hex")...)
		if code != 0 {
			t.Fatalf("%v: exit %d", c, code)
		}
		if _, _, code := runCLI(t, append(args, "--pcap", file)...); code != 0 {
			t.Fatalf("%v: exit %d", c, code)
		}
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcap.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		first := layers.LayerTypeIPv4
		wantLink := pcap.LinkRaw
		if i >= 3 {
			first, wantLink = layers.LayerTypeEthernet, pcap.LinkEthernet
		}
		if r.LinkType != wantLink {
			t.Errorf("%v: link type %d", c, r.LinkType)
		}
		for j, h := range strings.Fields(hexOut) {
			rec, err := r.Next()
			if err != nil {
				t.Fatalf("%v record %d: %v", c, j, err)
			}
			if hex.EncodeToString(rec.Data) != h {
				t.Errorf("%v record %d differs from --hex", c, j)
			}
			p := gopacket.NewPacket(rec.Data, first, gopacket.Default)
			if p.ErrorLayer() != nil {
				t.Errorf("%v record %d malformed: %v", c, j, p.ErrorLayer().Error())
			}
		}
		f.Close()
	}
}

func TestExplainAndChecksum(t *testing.T) {
	out, _, code := runCLI(t, "explain", "tcp", "--flags", "S")
	if code != 0 || !strings.Contains(out, "|          Source Port          |       Destination Port        |") ||
		!strings.Contains(out, "Control Bits") || !strings.Contains(out, "RFC 9293 §3.1") {
		t.Errorf("explain: %s", out)
	}
	out, _, _ = runCLI(t, "checksum", "Computer")
	for _, s := range []string{"0x436F", "0x18BC5", "0x8BC6", "checksum 0x7439"} {
		if !strings.Contains(out, s) {
			t.Errorf("checksum Computer lacks %s:\n%s", s, out)
		}
	}
	var last string
	for _, m := range []string{"Hello", "UQUQUQHello", "llHeo"} {
		out, _, _ = runCLI(t, "checksum", "--dport", "8192", m)
		i := strings.LastIndex(out, "checksum 0x")
		if last != "" && out[i:] != last {
			t.Errorf("%s: %s, want %s", m, out[i:], last)
		}
		last = out[i:]
	}
	// The steps agree with the packet's own checksum.
	p := craft.Packet{IPv4: &craft.IPv4{Src: mustAddr(defaultSrc).a, Dst: mustAddr(defaultDst).a}, UDP: &craft.UDP{SrcPort: defaultSport, DstPort: 8192}, Payload: []byte("llHeo")}
	b, _ := p.Append(nil)
	if want := "checksum 0x" + strings.ToUpper(hex.EncodeToString(b[26:28])) + "\n"; last != want {
		t.Errorf("steps say %q, the packet holds %q", last, want)
	}
	out, _, code = runCLI(t, "help", "build")
	if ex, flags := strings.Index(out, "Examples:"), strings.Index(out, "\n      --"); code != 0 || !strings.HasPrefix(out, "build makes") || ex < 0 || flags < 0 || ex > flags {
		t.Errorf("help build: examples must come before flags")
	}
}

func mustAddr(s string) (a addrValue) {
	_ = a.Set(s)
	return a
}

// Misuse that cobra itself detects is exit 2 with one line, by structure
// (usageError), not by the wording of cobra's messages.
func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lab", "frob"}, `unknown command "frob" for "rawcraft lab"`},
		{[]string{"help", "frob"}, "help frob: no such command"},
		{[]string{"help", "lab", "frob"}, "help lab frob: no such command"},
		{[]string{"completion", "foo"}, `unknown command "foo" for "rawcraft completion"`},
		{[]string{"completion", "bash", "x"}, `"x"`},
		{[]string{"frob"}, `unknown command "frob" for "rawcraft"`},
		{[]string{"bild"}, `did you mean "build"?`},
		{[]string{"build", "tcp", "--nope"}, "unknown flag: --nope"},
		{[]string{"build"}, "build: give PROTO"},
		{[]string{"probe"}, "probe: give the protocol"},
		{[]string{"version", "x"}, `"x"`},
		{[]string{"lab", "up", "extra"}, `"extra"`},
		{[]string{"handshake", "--dst", "198.18.1.1"}, "handshake needs --dport: the server's port"},
		{[]string{"send", "udp", "--interval", "1ms", "--rate", "10"}, "interval"},
	} {
		out, errs, code := runCLI(t, c.args...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if code != exitUsage || out != "" || len(lines) != 1 || !strings.HasPrefix(errs, "rawcraft: ") || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", c.args, code, out, errs, c.want)
		}
	}
	for _, args := range [][]string{
		{"build", "tcp", "--hex"}, {"help"}, {"help", "build", "tcp"}, {"lab", "--help"}, {}, {"completion", "bash"},
	} {
		out, errs, code := runCLI(t, args...)
		if code != exitOK || out == "" || errs != "" {
			t.Errorf("%q: exit %d, stderr %q, %d bytes out; want exit 0", args, code, errs, len(out))
		}
	}
	// A group of subcommands given none shows its help, as before.
	if out, _, code := runCLI(t, "lab"); code != exitOK || !strings.Contains(out, "rawcraft lab [command]") {
		t.Errorf("lab: exit %d\n%s", code, out)
	}
}

func TestVersion(t *testing.T) {
	flag, _, code := runCLI(t, "--version")
	cmd, _, code2 := runCLI(t, "version")
	if code != 0 || code2 != 0 || flag != cmd || !strings.HasPrefix(flag, "rawcraft ") || strings.Count(flag, "\n") != 1 ||
		!strings.Contains(flag, runtime.Version()) {
		t.Errorf("--version %q (exit %d), version %q (exit %d)", flag, code, cmd, code2)
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/rawcraft/rawcraft", Version: "v0.3.0"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.modified", Value: "true"}}}
	plat := runtime.GOOS + "/" + runtime.GOARCH
	for _, c := range []struct {
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{bi, true, "rawcraft v0.3.0 commit 0123456789abcdef0123456789abcdef01234567 (modified), go1.26.8 " + plat},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"}}, true, "rawcraft v0.3.0, go1.26.8 " + plat}, // go install …@v0.3.0: no VCS stamp
		{&debug.BuildInfo{GoVersion: "go1.26.8", Settings: bi.Settings[:2]}, true, "rawcraft (devel) commit 0123456789abcdef0123456789abcdef01234567, go1.26.8 " + plat},
		{nil, false, "rawcraft (devel), " + runtime.Version() + " " + plat},
	} {
		if got := versionLine(c.bi, c.ok); got != c.want {
			t.Errorf("versionLine = %q, want %q", got, c.want)
		}
	}
}

// Off Linux, the commands that need Linux fail before anything happens, in
// one line, exit 1; the pure commands run as on Linux.
func TestGateOffLinux(t *testing.T) {
	linux := [][]string{
		{"send", "udp", "--dst", "198.18.1.1"}, {"probe", "tcp", "--dst", "198.18.1.1"}, {"listen"}, {"frag"},
		{"handshake", "--dst", "198.18.1.1", "--dport", "9"}, {"reset"}, {"exercise", "1"},
		{"lab"}, {"lab", "up"}, {"lab", "exec", "hc", "--", "true"}, {"demo"},
		{"send", "--nope"}, // refused before its flags are even parsed
	}
	for _, goos := range []string{"darwin", "windows"} {
		for _, args := range linux {
			var out, errb bytes.Buffer
			code := runOn(goos, args, &out, &errb)
			want := "rawcraft " + args[0]
			if args[0] == "lab" && len(args) > 1 {
				want += " " + args[1]
			}
			want += " needs Linux ("
			if code != exitFailure || out.Len() != 0 || strings.Count(errb.String(), "\n") != 1 || !strings.HasPrefix(errb.String(), want) || !strings.Contains(errb.String(), goos) {
				t.Errorf("%s %q: exit %d, stdout %q, stderr %q; want exit 1 and one line %q…", goos, args, code, out.String(), errb.String(), want)
			}
		}
		for _, args := range [][]string{{"build", "tcp", "--flags", "S", "--hex"}, {"explain", "udp"}, {"checksum", "Computer"}, {"version"}, {"help", "send"}, {"completion", "zsh"}, {}} {
			var out, errb bytes.Buffer
			var lout, lerr bytes.Buffer
			code, lcode := runOn(goos, args, &out, &errb), runOn("linux", args, &lout, &lerr)
			if code != exitOK || out.Len() == 0 || out.String() != lout.String() || errb.String() != lerr.String() || lcode != code {
				t.Errorf("%s %q: exit %d, stderr %q; want what Linux does (exit %d, same output)", goos, args, code, errb.String(), lcode)
			}
		}
		// Bad input to a pure command is still exit 2.
		if _, errs, code := runOnCLI(goos, "build", "tcp", "--nope"); code != exitUsage || !strings.Contains(errs, "unknown flag") {
			t.Errorf("%s build --nope: exit %d %q", goos, code, errs)
		}
	}
	for _, args := range linux[:len(linux)-1] {
		if err := linuxOnly("linux", newRoot(io.Discard, io.Discard), args); err != nil {
			t.Errorf("linux %q: %v", args, err)
		}
	}
}

func runOnCLI(goos string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := runOn(goos, args, &out, &errb)
	return out.String(), errb.String(), code
}

// build, explain and checksum compile from the same files on darwin and
// windows as on Linux — cmd/rawcraft itself and every package of this
// module it imports for them — so the darwin binary's
// `build tcp --flags S --hex` prints the bytes TestBuildHexMatchesCraft
// checks here.
func TestBuildPathSameOffLinux(t *testing.T) {
	dirs := map[string]string{".": ".", "craft": "../../craft", "pcap": "../../pcap"}
	for name, dir := range dirs {
		files := func(goos string) []string {
			ctx := build.Default
			ctx.GOOS, ctx.CgoEnabled = goos, false
			p, err := ctx.ImportDir(dir, 0)
			if err != nil {
				t.Fatalf("%s for %s: %v", name, goos, err)
			}
			return p.GoFiles
		}
		lin := files("linux")
		for _, goos := range []string{"darwin", "windows"} {
			if o := files(goos); !slices.Equal(lin, o) {
				t.Errorf("%s compiles %v on %s, %v on linux", name, o, goos, lin)
			}
		}
	}
	// Package craft and pcap import nothing platform-specific.
	for _, dir := range []string{"../../craft", "../../pcap"} {
		p, err := build.Default.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			if imp == "syscall" || strings.HasPrefix(imp, "golang.org/x/sys") || strings.Contains(imp, "netlink") || strings.Contains(imp, "rawsock") {
				t.Errorf("%s imports %s", dir, imp)
			}
		}
	}
}
