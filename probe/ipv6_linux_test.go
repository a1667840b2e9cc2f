package probe

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/listen"
)

// Over IPv6 in the dual-stack lab, rawcraft's state for an open, a closed
// and a dropped port equals nmap -6's on the same ports of the same host:
// TCP SYN (-sS) and UDP (-sU), where a closed port answers ICMPv6 port
// unreachable (type 1 code 4).
func TestIPv6ProbesAgreeWithNmap(t *testing.T) {
	oracle.Require(t, "nmap")
	l := lab.ForTest(t, lab.Config{})
	stop, err := l.Servers(lab.Hs, "[2001:2:0:1::1]:9999")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, proto := range []uint8{craft.ProtoTCP, craft.ProtoUDP} {
		if _, err := l.DropPort(lab.Hs, proto, 9997); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		nmap  string
		proto uint8
		pk    craft.Packet
		want  map[uint16]listen.Reason
	}{
		{"-sS", craft.ProtoTCP, craft.Packet{IPv6: &craft.IPv6{}, TCP: &craft.TCP{Flags: craft.TCPSyn, Window: 1024}},
			map[uint16]listen.Reason{9997: listen.NoResponse, 9998: listen.Rst, 9999: listen.SynAck}},
		{"-sU", craft.ProtoUDP, craft.Packet{IPv6: &craft.IPv6{}, UDP: &craft.UDP{}, Payload: []byte("rawcraft\n")},
			map[uint16]listen.Reason{9997: listen.NoResponse, 9998: listen.ICMPPortUnreachable, 9999: listen.UDPReply}},
	} {
		cfg := Config{Proto: c.proto, Dst: lab.Addr6Hs, Ports: []uint16{9997, 9998, 9999}, Timeout: 300 * time.Millisecond, Retries: 1, Packet: c.pk}
		rep := runIn(t, l, lab.Hc, cfg)
		theirs := oracle.NmapStates(t, l.NS(lab.Hc), lab.Addr6Hs.String(), "9997-9999", "-6", c.nmap)
		if len(rep.Results) != 3 {
			t.Fatalf("%s: %d results", c.nmap, len(rep.Results))
		}
		for _, r := range rep.Results {
			port := r.Probe.DstPort
			if ours := string(r.State); ours != theirs[port] {
				t.Errorf("nmap -6 %s, port %d: rawcraft %q (%s), nmap %q", c.nmap, port, ours, r.Reply.Reason, theirs[port])
			}
			if r.Reply.Reason != c.want[port] {
				t.Errorf("%s port %d: reason %s, want %s", c.nmap, port, r.Reply.Reason, c.want[port])
			}
			if r.Reply.Reason != listen.NoResponse && (r.Reply.From != lab.Addr6Hs || r.RTT <= 0) {
				t.Errorf("%s port %d: from %v after %v", c.nmap, port, r.Reply.From, r.RTT)
			}
		}
	}
}

// An ICMPv6 echo answered; and one run over a list that mixes the
// families gives each host's ports the states its own family's run gives.
func TestIPv6EchoAndMixedTargets(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	stop, err := l.Servers(lab.Hs, "[::]:9999") // both families
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	echo := craft.Echo6(0, 0)
	rep := runIn(t, l, lab.Hc, Config{Proto: craft.ProtoICMP, Dst: lab.Addr6Hs, Timeout: 500 * time.Millisecond,
		Packet: craft.Packet{IPv6: &craft.IPv6{}, ICMPv6: &echo, Payload: []byte("ping")}})
	if r := rep.Results[0]; r.State != listen.Up || r.Reply.Reason != listen.EchoReply || r.Probe.Proto != craft.ProtoICMPv6 {
		t.Errorf("ICMPv6 echo: %s %s (proto %d)", r.State, r.Reply.Reason, r.Probe.Proto)
	}
	// The IPv4 shape goes to both: the engine makes its IPv6 twin.
	cfg := syn(9998, 9999)
	cfg.Timeout = 300 * time.Millisecond
	cfg.Targets = []netip.Prefix{netip.PrefixFrom(lab.AddrHs, 32), netip.PrefixFrom(lab.Addr6Hs, 128)}
	rep = runIn(t, l, lab.Hc, cfg)
	got := map[string]listen.State{}
	for _, r := range rep.Results {
		got[netip.AddrPortFrom(r.Probe.Dst, r.Probe.DstPort).String()] = r.State
	}
	want := map[string]listen.State{"198.18.1.1:9998": listen.Closed, "198.18.1.1:9999": listen.Open,
		"[2001:2:0:1::1]:9998": listen.Closed, "[2001:2:0:1::1]:9999": listen.Open}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q (all: %v)", k, got[k], w, got)
		}
	}
}

// Through R in the routed lab: a packet too big for the 1280-byte link to
// Hf draws Packet Too Big from R with that MTU (routers never fragment
// IPv6), and a hop limit of 1 draws time exceeded from R — each matched to
// its probe through the packet R quotes.
func TestIPv6RouterAnswers(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Routed: true})
	big := Config{Proto: craft.ProtoUDP, Dst: lab.Addr6Hf, Ports: []uint16{9999}, Timeout: 500 * time.Millisecond,
		Packet: craft.Packet{IPv6: &craft.IPv6{}, UDP: &craft.UDP{}, Payload: make([]byte, 1400)}}
	r := runIn(t, l, lab.Hc, big).Results[0]
	if r.Reply.Reason != listen.ICMPPacketTooBig || r.Reply.MTU != 1280 || r.Reply.From != lab.Addr6R1 || r.State != listen.Filtered {
		t.Errorf("1448-byte packet toward Hf: %s %s mtu %d from %v", r.State, r.Reply.Reason, r.Reply.MTU, r.Reply.From)
	}
	hop := Config{Proto: craft.ProtoTCP, Dst: lab.Addr6Hf, Ports: []uint16{9999}, Timeout: 500 * time.Millisecond,
		Packet: craft.Packet{IPv6: &craft.IPv6{HopLimit: craft.Set[uint8](1)}, TCP: &craft.TCP{Flags: craft.TCPSyn}}}
	r = runIn(t, l, lab.Hc, hop).Results[0]
	if r.Reply.Reason != listen.ICMPTTLExceeded || r.Reply.From != lab.Addr6R1 || r.Reply.QuotedTTL != 1 {
		t.Errorf("hop limit 1 toward Hf: %s from %v, quoted hop limit %d", r.Reply.Reason, r.Reply.From, r.Reply.QuotedTTL)
	}
	if d := r.Describe(); !strings.Contains(d, "ICMPv6 time exceeded") || !strings.Contains(d, "hop limit") {
		t.Errorf("Describe: %q", d)
	}
}

// Fragmented IPv6 probes: the closed port of a reassembled datagram
// answers ICMPv6 port unreachable quoting the first fragment, Fragment
// header and all; with fragment 2 lost, Hs's kernel gives up after
// ip6frag_time (1 s here) with time exceeded, code 1, which the
// Matcher pairs with the probe through the first fragment it quotes.
func TestIPv6FragmentedProbes(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the lab's ip6frag_time")
	}
	l := lab.ForTest(t, lab.Config{FragTime: 1}) // a 1 s ip6frag_time keeps the wait short
	shape := func(sched craft.Schedule) Config {
		return Config{Proto: craft.ProtoUDP, Dst: lab.Addr6Hs, Ports: []uint16{9998}, Timeout: 2500 * time.Millisecond,
			Packet: craft.Packet{IPv6: &craft.IPv6{}, UDP: &craft.UDP{}, Payload: make([]byte, 3000)},
			Frag:   &Fragmenting{Options: craft.FragOptions{DataSize: 1232}, Schedule: sched}}
	}
	r := runIn(t, l, lab.Hc, shape(craft.Schedule{Reverse: true})).Results[0]
	if r.State != listen.Closed || r.Reply.Reason != listen.ICMPPortUnreachable || r.Reply.From != lab.Addr6Hs {
		t.Errorf("three fragments, last first: %s %s from %v", r.State, r.Reply.Reason, r.Reply.From)
	}
	r = runIn(t, l, lab.Hc, shape(craft.Schedule{Drop: []int{2}})).Results[0]
	if r.Reply.Reason != listen.ICMPReassemblyExceeded || r.State != listen.Filtered || r.RTT < 900*time.Millisecond {
		t.Errorf("fragment 2 lost: %s %s after %v", r.State, r.Reply.Reason, r.RTT)
	}
	if d := r.Describe(); !strings.Contains(d, "ICMPv6 fragment reassembly time exceeded") {
		t.Errorf("Describe: %q", d)
	}
	// A first fragment cut inside the header chain (RFC 7112): Hs's kernel
	// drops it with parameter problem code 3, which quotes no UDP header;
	// the Matcher knows it by the Fragment identification.
	tiny := shape(craft.Schedule{})
	tiny.Packet.IPv6Ext = []craft.IPv6Ext{craft.DestOpts(nil)}
	tiny.Frag.Options.TinyFirst = 8
	tiny.Timeout = time.Second
	r = runIn(t, l, lab.Hc, tiny).Results[0]
	if r.Reply.Reason != listen.ICMPParamProblem || r.Reply.Code != 3 || r.Reply.From != lab.Addr6Hs || r.State != listen.Filtered || r.RTT <= 0 {
		t.Errorf("first fragment without the UDP header: %s %s code %d from %v after %v", r.State, r.Reply.Reason, r.Reply.Code, r.Reply.From, r.RTT)
	}
}

// A host of an IPv6 list that answers no Neighbor Solicitation is down:
// its ports get no response and a note, and the run goes on to the next.
func TestIPv6ListWithAbsentHost(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	absent := netip.MustParseAddr("2001:2:0:1::99")
	cfg := syn(9998)
	cfg.Timeout = 300 * time.Millisecond
	cfg.Targets = []netip.Prefix{netip.PrefixFrom(absent, 128), netip.PrefixFrom(lab.Addr6Hs, 128)}
	rep := runIn(t, l, lab.Hc, cfg)
	if len(rep.Results) != 2 || rep.Results[0].Reply.Reason != listen.NoResponse || rep.Results[1].State != listen.Closed {
		t.Fatalf("results %+v", rep.Results)
	}
	if d := rep.Results[0].Describe(); !strings.Contains(d, "nothing was sent") {
		t.Errorf("the absent host: %q", d)
	}
	if len(rep.Notes) == 0 || !strings.Contains(rep.Notes[len(rep.Notes)-1], "Neighbor Solicitation") || !strings.Contains(rep.Notes[len(rep.Notes)-1], absent.String()) {
		t.Errorf("notes %q", rep.Notes)
	}
}

// A datagram whose IP option is malformed (a record route of length 2, too
// short to hold its pointer) is dropped by Hs's kernel with ICMP parameter
// problem, the pointer on the option's length byte (RFC 792; Linux's
// ip_options_compile): the same reason as ICMPv6's, for IPv4.
func TestIPv4ParameterProblem(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	cfg := Config{Proto: craft.ProtoUDP, Dst: lab.AddrHs, Ports: []uint16{9998}, Timeout: 500 * time.Millisecond,
		Packet: craft.Packet{IPv4: &craft.IPv4{Options: []byte{7, 2, 0, 0}}, UDP: &craft.UDP{}, Payload: []byte("opt")}}
	r := runIn(t, l, lab.Hc, cfg).Results[0]
	if r.Reply.Reason != listen.ICMPParamProblem || r.Reply.Code != 0 || r.Reply.Pointer != 21 || r.Reply.From != lab.AddrHs || r.State != listen.Filtered {
		t.Errorf("malformed record route: %s %s code %d pointer %d from %v", r.State, r.Reply.Reason, r.Reply.Code, r.Reply.Pointer, r.Reply.From)
	}
	if d := r.Describe(); !strings.Contains(d, "ICMP parameter problem, code 0, pointer 21") {
		t.Errorf("Describe: %q", d)
	}
}
