package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The plain namespace pair with IPv6 added the way a user adds it (ip -6
// addr add …/64 on each end, the kernel's defaults otherwise): one address
// per end in 2001:2::/48 (RFC 5180).
var (
	pair6Client = netip.MustParseAddr("2001:2:0:8::3")
	pair6Server = netip.MustParseAddr("2001:2:0:8::1")
)

// withIPv6 adds the pair's IPv6 addresses and waits (bounded) until no
// address on either end is tentative, link-local ones included.
func withIPv6(t *testing.T, p *lab.Pair) {
	t.Helper()
	for _, end := range []struct {
		ns   string
		addr netip.Addr
	}{{p.Client, pair6Client}, {p.Server, pair6Server}} {
		if err := p.Do(end.ns, func() error {
			l, err := netlink.LinkByName(lab.PairIfc)
			if err != nil {
				return err
			}
			if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: end.addr.AsSlice(), Mask: net.CIDRMask(64, 128)}}); err != nil {
				return err
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				addrs, err := netlink.AddrList(l, unix.AF_INET6)
				if err != nil {
					return err
				}
				tentative := len(addrs) < 2
				for _, a := range addrs {
					tentative = tentative || a.Flags&unix.IFA_F_TENTATIVE != 0
				}
				if !tentative {
					return nil
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("%s: addresses still tentative: %v", end.ns, addrs)
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// On a namespace pair rawcraft did not build, with IPv6 as a user would
// add it (DAD and router solicitations on, the kernel's ICMPv6 rate limit
// in force), probe over IPv6 classifies open, closed and filtered ports as
// nmap -6 -sS and -sU do on the same ports of the same server.
func TestRealNetProbeIPv6AgreesWithNmap(t *testing.T) {
	p := lab.PairForTest(t)
	withIPv6(t, p)
	pairServers(t, p, pair6Server)
	for _, c := range []struct{ proto, scan string }{{"tcp", "-sS"}, {"udp", "-sU"}} {
		code, out, errs := inNS(t, p.Client, "probe", c.proto, "--dst", pair6Server.String(), "--ports", "9997-9999", "--timeout", "500ms", "--json")
		if code != exitOK {
			t.Fatalf("probe %s: exit %d: %s", c.proto, code, errs)
		}
		ours := map[uint16]jsonProbe{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var j jsonProbe
			if err := json.Unmarshal([]byte(line), &j); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			ours[j.Port] = j
		}
		theirs := oracle.NmapStates(t, p.Client, pair6Server.String(), "9997-9999", "-6", c.scan)
		want := map[string]map[uint16]string{
			"tcp": {9997: "filtered", 9998: "closed", 9999: "open"},
			"udp": {9997: "open|filtered", 9998: "closed", 9999: "open"},
		}[c.proto]
		for port, w := range want {
			if ours[port].State != w || theirs[port] != w {
				t.Errorf("%s port %d: rawcraft %q (%s), nmap -6 %s %q; want both %q", c.proto, port, ours[port].State, ours[port].Reason, c.scan, theirs[port], w)
			}
			if ours[port].Dst != pair6Server.String() {
				t.Errorf("%s port %d: dst %q", c.proto, port, ours[port].Dst)
			}
		}
		if c.proto == "udp" && (ours[9998].Reason != "icmp-port-unreachable" || ours[9998].Code == nil || *ours[9998].Code != 4) {
			t.Errorf("closed UDP port over IPv6: reason %q code %v, want icmp-port-unreachable code 4", ours[9998].Reason, ours[9998].Code)
		}
	}
}
