package main

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
)

// TestBuildIPv6Hex checks the bytes build writes for IPv6 against craft's
// own goldens (craft/ipv6_test.go).
func TestBuildIPv6Hex(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"build", "udp", "--dst", "2001:2:0:1::1", "--data", "Hello\n", "--hex"},
			"60000000000e114020010002000000010000000000000003200100020000000100000000000000019c40270f000ed89a48656c6c6f0a"},
		{[]string{"build", "icmp", "--src", "2001:2:0:1::3", "--dst", "2001:2:0:1::1", "--icmp-id", "0x1234", "--icmp-seq", "1", "--data", "ping", "--hex"},
			"60000000000c3a40200100020000000100000000000000032001000200000001000000000000000180004ea71234000170696e67"},
		{[]string{"build", "icmp", "--src", "2001:2:0:1::1", "--dst", "2001:2:0:1::3", "--type", "1", "--code", "4",
			"--quote", "udp --dst 2001:2:0:1::1 --data-hex 48656c6c6f0a", "--hex"},
			"60000000003e3a40200100020000000100000000000000012001000200000001000000000000000301044d480000000060000000000e114020010002000000010000000000000003200100020000000100000000000000019c40270f000ed89a48656c6c6f0a"},
		{[]string{"build", "icmp", "--src", "2001:2:0:1::1", "--dst", "2001:2:0:1::3", "--type", "4", "--code", "1", "--pointer", "40",
			"--quote", "udp --dst 2001:2:0:1::1 --data-hex 48656c6c6f0a", "--hex"},
			"60000000003e3a40200100020000000100000000000000012001000200000001000000000000000304014a230000002860000000000e114020010002000000010000000000000003200100020000000100000000000000019c40270f000ed89a48656c6c6f0a"},
		{[]string{"build", "udp", "--dst", "2001:2:0:1::1", "--data", "Hello\n", "--ext", "hbh=05020000,dest=1e03010203,routing=0:0:0000000020010002000000020000000000000001,frag=0:0:0xdeadbeef", "--hex"},
			"60000000003e004020010002000000010000000000000003200100020000000100000000000000013c000502000001002b001e03010203002c020000000000002001000200000002000000000000000111000000deadbeef9c40270f000ed89a48656c6c6f0a"},
		// Forced: zero UDP checksum, a lying payload length, hop limit, traffic class, flow label.
		{[]string{"build", "udp", "--dst", "2001:2:0:1::1", "--data", "Hello\n", "--csum", "0", "--hex"},
			"60000000000e114020010002000000010000000000000003200100020000000100000000000000019c40270f000e000048656c6c6f0a"},
		{[]string{"build", "udp", "--dst", "2001:2:0:1::1", "--payload-len", "100", "--hop-limit", "1", "--tclass", "0xb8", "--flow-label", "0x12345", "--sport", "1", "--dport", "2", "--hex"},
			"6b81234500641101"},
	}
	for _, c := range cases {
		out, errs, code := runCLI(t, c.args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", c.args, code, errs)
		}
		if got := strings.TrimSpace(out); !strings.HasPrefix(got, c.want) || len(c.want) > 16 && got != c.want {
			t.Errorf("%q:\n got  %s\n want %s", c.args, got, c.want)
		}
	}
}

func TestExplainIPv6(t *testing.T) {
	out, errs, code := runCLI(t, "explain", "icmp", "--src", "2001:2:0:1::1", "--dst", "2001:2:0:1::3", "--type", "2", "--next-hop-mtu", "1280",
		"--quote", "udp --dst 2001:2:0:2::1 --size 1400")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"1280 bytes: IPv6/ICMPv6 quoting IPv6/UDP", "|        Payload Length         |", "packet too big", "MTU", "RFC 4443 §3.2", "quoted IPv6", "quoted UDP"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	out, _, code = runCLI(t, "explain", "udp", "--dst", "2001:2:0:1::1", "--csum", "0")
	if code != 0 || !strings.Contains(out, "RFC 8200 §8.1 forbids") {
		t.Errorf("the zero UDP checksum is not flagged:\n%s", out)
	}
	out, _, code = runCLI(t, "build", "tcp", "--dst", "2001:2:0:1::1", "--ext", "dest,hbh", "--ether", "--json")
	var j map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil {
		t.Fatalf("json: %d %s", code, out)
	}
	h, _ := hex.DecodeString(strings.TrimSpace(mustRun(t, "build", "tcp", "--dst", "2001:2:0:1::1", "--ext", "dest,hbh", "--ether", "--hex")))
	d := craft.Decoded{AcceptIPv6: true}
	if err := d.DecodeFrame(h); err != nil || d.Ethernet.Type.Or(0) != craft.EtherTypeIPv6 || d.NExt != 2 || d.Layers&craft.LayerTCP == 0 {
		t.Errorf("frame %x: %v", h, err)
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("%q: exit %d: %s", args, code, errs)
	}
	return out
}

// TestBadIPv6InputExits2: every wrong IPv6 value is one line and exit 2,
// and the commands that do not speak IPv6 yet refuse it the same way.
func TestBadIPv6InputExits2(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"build", "udp", "--dst", "2001:db8::1", "--ttl", "3"}, "--ttl is an IPv4 header field"},
		{[]string{"build", "udp", "--hop-limit", "3"}, "--hop-limit is an IPv6 header field"},
		{[]string{"build", "udp", "--src", "198.18.1.3", "--dst", "2001:db8::1"}, "one is IPv4, the other IPv6"},
		{[]string{"build", "arp", "--dst", "2001:db8::1"}, "IPv6 has no ARP"},
		{[]string{"build", "udp", "--dst", "2001:db8::1", "--flow-label", "0x100000"}, "the flow label is 20 bits"},
		{[]string{"build", "udp", "--dst", "2001:db8::1", "--ext", "bogus"}, `extension header "bogus": unknown`},
		{[]string{"build", "udp", "--dst", "2001:db8::1", "--ext", "frag=1:2:3"}, "M 0 or 1"},
		{[]string{"build", "udp", "--dst", "2001:db8::1", "--size", "65528"}, "payload of 65528 bytes"},
		{[]string{"build", "udp", "--dst", "2001:db8::1", "--size", "3000", "--mtu", "1000"}, "IPv6 requires every link to carry 1280 bytes"},
		{[]string{"build", "udp", "--dst", "2001:db8::1", "--size", "3000", "--frag", "1001"}, "--frag 1001"},
		{[]string{"build", "udp", "--dst", "2001:db8::1", "--id", "5"}, "--id is an IPv4 header field"},
		{[]string{"build", "icmp", "--dst", "2001:db8::1", "--type", "1", "--next-hop-mtu", "1280"}, "only Packet Too Big (--type 2)"},
		{[]string{"build", "icmp", "--dst", "2001:db8::1", "--type", "1", "--quote", "udp"}, "an ICMPv6 error quotes an IPv6 packet"},
		{[]string{"build", "icmp", "--type", "3", "--quote", "udp --dst 2001:db8::1"}, "an IPv4 ICMP error quotes an IPv4 datagram"},
		{[]string{"build", "icmp", "--dst", "2001:db8::1", "--quote", "udp --dst 2001:db8::1"}, "is not an error"},
		{[]string{"build", "udp", "--pointer", "3"}, "only parameter problem"},
		{[]string{"build", "udp", "--dst", "fe80::1%eth0"}, "--dst"},
		{[]string{"build", "udp", "--id", "0x10000"}, "--id 65536: the IPv4 identification is 16 bits"},
		{[]string{"build", "udp", "--dst", "2001:db8::1", "--id", "0x100000000", "--frag", "1448", "--size", "4000"}, "0 to 4294967295"},
		{[]string{"send", "udp", "--dst", "::"}, "the unspecified address (::) is no destination"},
		{[]string{"probe", "udp", "--dst", "fe80::1%nosuchif"}, "zone nosuchif: no such interface here"},
		{[]string{"probe", "udp", "--dst", "2001:db8::zz"}, "not an IPv4 or IPv6 address, nor a host name"},
		{[]string{"listen", "--host", "2001:db8::zz"}, "nor an IPv6 one"},
		{[]string{"listen", "--host", "fe80::1%lo"}, "names an interface"},
		// send takes IPv6 too; these are refused before any socket opens.
		{[]string{"send", "udp", "--dst", "2001:db8::1", "--id", "5"}, "--id is an IPv4 header field"},
		{[]string{"send", "udp", "--src", "2001:db8::1", "--dst", "198.18.1.1"}, "one is IPv4, the other IPv6"},
		{[]string{"send", "arp", "--dst", "2001:db8::1"}, "IPv6 has no ARP"},
		// probe takes IPv6; these are refused before anything is looked up
		// or sent.
		{[]string{"probe", "udp", "--dst", "2001:db8::1", "--ttl", "3"}, "--ttl is an IPv4 header field"},
		{[]string{"probe", "udp", "--dst", "fe80::1"}, "a link-local address means something only on one link"},
		{[]string{"send", "udp", "--dst", "fe80::1"}, "a link-local address means something only on one link"},
		{[]string{"probe", "udp", "--dst", "fe80::1%eth0", "--iface", "lo"}, "they must agree"},
		{[]string{"probe", "udp", "--dst", "fe80::1%eth0,fe80::2%eth1"}, "one run leaves through one interface"},
		{[]string{"probe", "udp", "--dst", "2001:db8::1%eth0"}, "only a link-local address"},
		{[]string{"probe", "udp", "--dst", "::ffff:198.18.1.1"}, "IPv4-mapped"},
		{[]string{"probe", "udp", "--dst", "2001:db8::/64"}, "more than 16777216 hosts"},
		{[]string{"probe", "udp", "--dst", "2001:db8::1", "--size", "3000", "--mtu", "1000"}, "IPv6 requires every link to carry 1280 bytes"},
		{[]string{"probe", "tcp", "--dst", "2001:db8::1", "--stateless"}, "plain IPv4 SYNs"},
	}
	for _, c := range cases {
		out, errs, code := runCLI(t, c.args...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if code != exitUsage || out != "" || len(lines) != 1 || !strings.Contains(errs, c.want) || !strings.HasPrefix(errs, "rawcraft: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, one line with %q", c.args, code, out, errs, c.want)
		}
	}
}

// TestBuildIPv6Fragments: --mtu and --frag split an IPv6 packet with
// Fragment headers carrying --id, sent in the order asked.
func TestBuildIPv6Fragments(t *testing.T) {
	out := mustRun(t, "build", "udp", "--dst", "2001:2:0:1::1", "--size", "3000", "--mtu", "1280", "--id", "0x77", "--frag-order", "reverse", "--frag-dup", "1", "--hex")
	lines := strings.Fields(out)
	if len(lines) != 4 {
		t.Fatalf("%d frames", len(lines))
	}
	var offs []int
	for _, l := range lines {
		b, _ := hex.DecodeString(l)
		d := craft.Decoded{AcceptIPv6: true}
		_ = d.DecodeIP(b)
		f := d.FragExt()
		if len(b) > 1280 || f == nil || f.Ident() != 0x77 {
			t.Fatalf("frame %x", b[:min(len(b), 64)])
		}
		offs = append(offs, int(f.FragOffset())*8)
	}
	if offs[0] != 2464 || offs[1] != 1232 || offs[2] != 0 || offs[3] != 0 {
		t.Errorf("offsets %v, want 2464 1232 0 0", offs)
	}
}
