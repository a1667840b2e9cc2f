package probe

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/listen"
)

// Every TCP scan type nmap has, rawcraft's state for an open, a closed and
// a dropped port equals nmap's on the same ports of the same host, in the
// same test: -sS (also with data in the SYN), -sA, -sW, -sF, -sX, -sN.
func TestScanTypesAgreeWithNmap(t *testing.T) {
	oracle.Require(t, "nmap")
	l := lab.ForTest(t, lab.Config{})
	stop, err := l.Servers(lab.Hs, "198.18.1.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if _, err := l.DropPort(lab.Hs, craft.ProtoTCP, 9997); err != nil {
		t.Fatal(err)
	}
	F, S, A, P, U := craft.TCPFin, craft.TCPSyn, craft.TCPAck, craft.TCPPsh, craft.TCPUrg
	for _, c := range []struct {
		nmap   []string
		flags  uint8
		data   int
		window bool
	}{
		{[]string{"-sS"}, S, 0, false},
		{[]string{"-sS", "--data-length", "5"}, S, 5, false},
		{[]string{"-sA"}, A, 0, false},
		{[]string{"-sW"}, A, 0, true},
		{[]string{"-sF"}, F, 0, false},
		{[]string{"-sX"}, F | P | U, 0, false},
		{[]string{"-sN"}, 0, 0, false},
	} {
		cfg := Config{Proto: craft.ProtoTCP, Dst: lab.AddrHs, Ports: []uint16{9997, 9998, 9999}, Timeout: 300 * time.Millisecond, Retries: 1, WindowScan: c.window,
			Packet: craft.Packet{IPv4: &craft.IPv4{}, TCP: &craft.TCP{Flags: c.flags, Ack: 0x12345678, Window: 1024}, Payload: make([]byte, c.data)}}
		rep := runIn(t, l, lab.Hc, cfg)
		theirs := oracle.NmapStates(t, l.NS(lab.Hc), "198.18.1.1", "9997-9999", c.nmap...)
		for _, r := range rep.Results {
			if ours := string(r.State); ours != theirs[r.Probe.DstPort] {
				t.Errorf("nmap %v, port %d: rawcraft %q (%s), nmap %q", c.nmap, r.Probe.DstPort, ours, r.Reply.Reason, theirs[r.Probe.DstPort])
			}
		}
		// The summary line counts every state, as nmap's states count.
		count := map[string]int{}
		for _, st := range theirs {
			count[st]++
		}
		var parts []string
		for _, st := range listen.States {
			if n := count[string(st)]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, st))
			}
		}
		if want := fmt.Sprintf("3 probes: %s;", strings.Join(parts, ", ")); !strings.HasPrefix(rep.Summary(), want) {
			t.Errorf("nmap %v: summary %q, want it to start %q", c.nmap, rep.Summary(), want)
		}
	}
}

// Who answered decides what an ICMP error means. In the routed lab, R
// rejects UDP 9998 and TCP 9997 toward Hf with port unreachable (a
// firewall's reject rule on the path), Hf itself rejects TCP 9996 the same
// way, and nothing listens on Hf's UDP 9995. rawcraft's state for each
// port equals nmap's (-sU, -sS) on the same ports from the same host, over
// IPv4 and IPv6: a port unreachable closes a UDP port only when the target
// sent it; from R it is filtered, and a TCP probe's is filtered from
// either. Each line names the probe's protocol and who answered.
func TestRouterPortUnreachableAgreesWithNmap(t *testing.T) {
	oracle.Require(t, "nmap")
	l := lab.ForTest(t, lab.Config{Routed: true})
	for _, r := range []struct {
		host  string
		proto uint8
		port  uint16
	}{{lab.R, craft.ProtoUDP, 9998}, {lab.R, craft.ProtoTCP, 9997}, {lab.Hf, craft.ProtoTCP, 9996}} {
		if _, err := l.RejectPort(r.host, r.proto, r.port); err != nil {
			t.Fatal(err)
		}
	}
	for _, dst := range []netip.Addr{lab.AddrHf, lab.Addr6Hf} {
		router := lab.AddrR1
		if dst.Is6() {
			router = lab.Addr6R1
		}
		for _, c := range []struct {
			proto uint8
			nmap  string
			ports []uint16
			from  map[uint16]netip.Addr // who answers each port
			words map[uint16]string     // what its line says
		}{
			{craft.ProtoUDP, "-sU", []uint16{9995, 9998}, map[uint16]netip.Addr{9995: dst, 9998: router},
				map[uint16]string{9995: "nothing listens on UDP port 9995", 9998: "is not the target: a router or firewall on the path refused the datagram"}},
			{craft.ProtoTCP, "-sS", []uint16{9996, 9997}, map[uint16]netip.Addr{9996: dst, 9997: router},
				map[uint16]string{9996: "a firewall on the target rejected the segment to TCP port 9996", 9997: "a firewall on the path rejected the segment to TCP port 9997"}},
		} {
			cfg := Config{Proto: c.proto, Dst: dst, Ports: c.ports, Timeout: 500 * time.Millisecond, Retries: 1}
			ip4, ip6 := &craft.IPv4{}, (*craft.IPv6)(nil)
			if dst.Is6() {
				ip4, ip6 = nil, &craft.IPv6{}
			}
			cfg.Packet = craft.Packet{IPv4: ip4, IPv6: ip6}
			if c.proto == craft.ProtoTCP {
				cfg.Packet.TCP = &craft.TCP{Flags: craft.TCPSyn, Window: 1024}
			} else {
				cfg.Packet.UDP = &craft.UDP{}
			}
			rep := runIn(t, l, lab.Hc, cfg)
			args := []string{c.nmap}
			if dst.Is6() {
				args = append(args, "-6")
			}
			theirs := oracle.NmapStates(t, l.NS(lab.Hc), dst.String(), fmt.Sprintf("%d,%d", c.ports[0], c.ports[1]), args...)
			for _, r := range rep.Results {
				port := r.Probe.DstPort
				if string(r.State) != theirs[port] {
					t.Errorf("%v %s port %d: rawcraft %q (%s from %v), nmap %q", dst, c.nmap, port, r.State, r.Reply.Reason, r.Reply.From, theirs[port])
				}
				if r.Reply.Reason != listen.ICMPPortUnreachable || r.Reply.From != c.from[port] {
					t.Errorf("%v %s port %d: %s from %v, want port unreachable from %v", dst, c.nmap, port, r.Reply.Reason, r.Reply.From, c.from[port])
				}
				if d := r.Describe(); !strings.Contains(d, c.words[port]) {
					t.Errorf("%v %s port %d: %q does not say %q", dst, c.nmap, port, d, c.words[port])
				}
			}
		}
	}
}

// An echo request refused with port unreachable: from the target itself
// (Hf rejects echo requests, as iptables' plain REJECT does) the host answered, so
// it is up — nmap's host discovery (-sn -PE) says up, reason
// port-unreach; from R, on the path, the host is unreachable and nmap
// says down. Over IPv4 and IPv6.
func TestEchoRejectedAgreesWithNmap(t *testing.T) {
	oracle.Require(t, "nmap")
	for _, at := range []string{lab.Hf, lab.R} {
		l := lab.ForTest(t, lab.Config{Routed: true})
		if _, err := l.RejectEcho(at); err != nil {
			t.Fatal(err)
		}
		for _, dst := range []netip.Addr{lab.AddrHf, lab.Addr6Hf} {
			cfg := Config{Proto: craft.ProtoICMP, Dst: dst, Ports: []uint16{0}, Timeout: 500 * time.Millisecond, Retries: 1}
			var extra []string
			if dst.Is6() {
				cfg.Packet = craft.Packet{IPv6: &craft.IPv6{}, ICMPv6: &craft.ICMPv6{Type: craft.ICMPv6EchoRequest}}
				extra = []string{"-6"}
			} else {
				cfg.Packet = craft.Packet{IPv4: &craft.IPv4{}, ICMP: &craft.ICMP{Type: craft.ICMPEcho}}
			}
			r := runIn(t, l, lab.Hc, cfg).Results[0]
			state, reason := oracle.NmapHost(t, l.NS(lab.Hc), dst.String(), "-PE", extra...)
			want := listen.Unreachable
			if state == "up" {
				want = listen.Up
			}
			if r.State != want || r.Reply.Reason != listen.ICMPPortUnreachable {
				t.Errorf("%v, rejected at %s: rawcraft %s (%s from %v); nmap %s (%s)", dst, at, r.State, r.Reply.Reason, r.Reply.From, state, reason)
			}
			if (at == lab.Hf) != (state == "up") {
				t.Errorf("%v, rejected at %s: nmap says %s (%s)", dst, at, state, reason)
			}
			t.Logf("%s", r.Describe())
		}
	}
}
