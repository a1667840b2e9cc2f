package main

import (
	"encoding/hex"
	"strings"
	"testing"
)

// --hlen and --plen build ARP with addresses of those lengths (RFC 826),
// which read and explain show as the header says; a bad value is one line,
// exit 2, in build, explain and send alike (send refuses it before it
// opens a socket), and the flags belong to ARP alone.
func TestARPLengthFlags(t *testing.T) {
	b := builtHex(t, "arp", "--src", "198.18.1.3", "--dst", "198.18.1.1", "--src-mac", "02:00:00:00:01:03", "--hlen", "8")
	want := "0001" + "0800" + "08" + "04" + "0001" + "0200000001030000" + "c6120103" + "0000000000000000" + "c6120101"
	if got := hex.EncodeToString(b[14:]); got != want {
		t.Errorf("ARP with --hlen 8:\n got %s\nwant %s", got, want)
	}
	out, errs, code := runRoot(t, hex.EncodeToString(b), "read", "--explain", "-")
	if code != 0 || !strings.Contains(out, "ARP who has 198.18.1.1? tell 198.18.1.3 (0200000001030000) [hardware type 1, protocol type 0x0800, hlen 8, plen 4]") ||
		!strings.Contains(out, "Target protocol address  198.18.1.1") {
		t.Errorf("read: exit %d %s\n%s", code, errs, out)
	}
	b = builtHex(t, "arp", "--src", "198.18.1.3", "--dst", "198.18.1.1", "--src-mac", "02:00:00:00:01:03", "--plen", "2", "--hlen", "0", "--op", "reply")
	if got, want := hex.EncodeToString(b[14:]), "0001"+"0800"+"00"+"02"+"0002"+"c612"+"c612"; got != want {
		t.Errorf("ARP with --hlen 0 --plen 2: got %s, want %s", got, want)
	}
	if _, errs, code := runCLI(t, "explain", "arp", "--hlen", "16", "--plen", "16"); code != 0 {
		t.Errorf("explain: exit %d: %s", code, errs)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"build", "arp", "--hlen", "300"}, `--hlen "300": the ARP hardware length is one byte, 0 to 255`},
		{[]string{"explain", "arp", "--plen", "x"}, `--plen "x": the ARP protocol length is one byte, 0 to 255`},
		{[]string{"send", "arp", "--hlen", "-1"}, `--hlen "-1": the ARP hardware length is one byte, 0 to 255`},
		{[]string{"build", "udp", "--hlen", "8"}, "--hlen applies to arp packets, not udp"},
	} {
		out, errs, code := runCLI(t, c.args...)
		if code != 2 || out != "" || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", c.args, code, out, errs, c.want)
		}
	}
}
