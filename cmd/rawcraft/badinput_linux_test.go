package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
)

// Issue 19's bad inputs, run inside the lab's client: each is exit 2 with
// one line naming the value, and nothing — not even an ARP request —
// reaches Hs.
func TestBadInputSendsNothing(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var ln *listen.Listener
	if err := l.Do(lab.Hs, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		ln, err = listen.Listen(ifi, nil) // every IPv4 and ARP frame
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rec := listen.Record(ln, 0)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "udp", "--dst", "198.18.1.1", "--iface", ""}, `--iface "": give an interface name`},
		{[]string{"send", "udp", "--dst", "198.18.1.1", "--iface", "nosuch"}, `--iface "nosuch": no such interface here`},
		{[]string{"send", "udp", "--dst", "198.18.1.1", "--size", "4000", "--frag", "1480", "--frag-drop", "1,2,3"}, `--frag-drop 1,2,3: drops all 3 fragments`},
		{[]string{"probe", "tcp", "--dst", "198.18.1.1", "--ports", ""}, `--ports "": "" is not a port`},
		{[]string{"probe", "udp", "--dst", "198.18.1.1", "--stateless"}, `--stateless: a stateless scan sends TCP SYNs`},
		{[]string{"handshake", "--dst", "198.18.1.1", "--dport", "9999", "--ghost", "198.18.1.1"}, `--ghost 198.18.1.1: not a ghost address: 198.18.1.1 is the server's own address`},
		{[]string{"handshake", "--dst", "198.18.1.1", "--dport", "9999", "--ghost", "10.0.0.5"}, `--ghost 10.0.0.5: not a ghost address: 10.0.0.5 is outside`},
		{[]string{"handshake", "--dst", "198.18.1.1", "--dport", "9999", "--ghost", "198.18.1.3"}, `this host's own address`},
		{[]string{"handshake", "--dst", "198.18.1.1", "--dport", "9999", "--ghost", "198.18.1.77", "--guard", "firewall"}, `--ghost 198.18.1.77: goes with --guard ghost`},
		{[]string{"frag", "arp"}, `frag arp: a fragmentation experiment sends udp, icmp or tcp`},
		{[]string{"frag", "--via", "ip", "--ether"}, `--via ip: the kernel adds the link layer`},
		{[]string{"listen", "--proto", "icmp", "--port", "80", "--timeout", "1s"}, `--port 80: ICMP has no ports`},
		{[]string{"reset", "--dst", "198.18.1.1", "--dport", "9999", "--offset", "abc"}, `--offset "abc"`},
		{[]string{"lab", "up", "--name", ""}, `--name`},
		// Issue 24: a value the user set goes out exactly or is refused,
		// naming the kernel's rule (rawsock.KernelRewrites, KernelRefuses,
		// each checked against Hc's kernel in rawsock's tests).
		{[]string{"send", "udp", "--dst", "198.18.1.1", "--data", "Hi", "--via", "ip", "--ip-csum", "0xdead"}, `--ip-csum 0xdead: sent --via ip, the datagram goes through a raw IPv4 socket with IP_HDRINCL, whose kernel rewrites the header checksum (always computed by the kernel, raw(7))`},
		{[]string{"send", "udp", "--dst", "198.18.1.1", "--data", "Hi", "--via", "ip", "--ip-len", "1000"}, `--ip-len 1000: sent --via ip, the datagram goes through a raw IPv4 socket with IP_HDRINCL, whose kernel rewrites the total length`},
		{[]string{"send", "udp", "--dst", "198.18.1.1", "--data", "Hi", "--via", "ip", "--id", "0"}, `--id 0: sent --via ip, the datagram goes through a raw IPv4 socket with IP_HDRINCL, whose kernel rewrites the identification`},
		{[]string{"send", "udp", "--dst", "198.18.1.1", "--data", "Hi", "--via", "ip", "--src", "0.0.0.0"}, `--src 0.0.0.0: sent --via ip, the datagram goes through a raw IPv4 socket with IP_HDRINCL, whose kernel rewrites the source address`},
		{[]string{"send", "udp", "--dst", "198.18.1.1", "--data", "Hi", "--via", "ip", "--ihl", "15"}, `sent --via ip: IHL 15 says the header is 60 bytes, longer than the 30-byte datagram: the kernel refuses it (EINVAL`},
		{[]string{"send", "udp", "--dst", "198.18.1.1", "--data", "Hi", "--via", "ip", "--ihl", "4"}, `sent --via ip: IHL 4 says the header is 16 bytes`},
		{[]string{"send", "udp", "--dst", "198.18.1.1", "--size", "1473", "--via", "ip"}, `sent --via ip: the 1501-byte datagram is longer than the link's MTU 1500, and a raw IP socket never fragments: the kernel refuses it (EMSGSIZE, raw(7)); send fragments (--frag or --mtu)`},
		{[]string{"send", "udp", "--dst", "2001:2:0:1::1", "--size", "1453", "--via", "ip"}, `sent --via ip: the 1501-byte datagram is longer than the link's MTU 1500`},
		{[]string{"send", "udp", "--dst", "198.18.1.3", "--data", "Hi", "--ip-csum", "0xdead"}, `--ip-csum 0xdead: sent toward this host's own address, the datagram goes through a raw IPv4 socket with IP_HDRINCL, whose kernel rewrites the header checksum`},
		{[]string{"send", "udp", "--dst", "198.18.1.1", "--size", "100", "--frag", "48", "--ip-csum", "0xdead"}, `--ip-csum with fragments: each of the 3 fragments gets its own`},
		{[]string{"send", "udp", "--dst", "2001:2:0:1::1", "--size", "3000", "--mtu", "1280", "--payload-len", "8"}, `--payload-len with fragments`},
	} {
		code, out, errs := inHc(t, l, c.args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", c.args, code, out, errs, c.want)
		}
	}
	time.Sleep(200 * time.Millisecond)
	var what []string
	for _, g := range rec.Stop() {
		var p listen.Packet
		p.Decoded.AcceptIPv6 = true
		_ = p.Decoded.DecodeFrame(g.Frame)
		if kernelChatter(&p.Decoded) {
			continue
		}
		what = append(what, p.Decoded.Summary())
	}
	if len(what) > 0 {
		t.Errorf("bad input sent %d frames to Hs: %v", len(what), what)
	}
}
