package rawsock_test

import (
	"net/netip"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/rawsock"
	"golang.org/x/net/bpf"
)

// passes runs prog, as the kernel would, over frame.
func passes(t *testing.T, prog []bpf.RawInstruction, frame []byte) bool {
	t.Helper()
	ins, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatalf("cannot disassemble %v", prog)
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatal(err)
	}
	n, err := vm.Run(frame)
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func buildFrame(t *testing.T, p craft.Packet) []byte {
	t.Helper()
	p.Ethernet = &craft.Ethernet{Dst: craft.MAC{2, 0, 0, 0, 0, 1}, Src: craft.MAC{2, 0, 0, 0, 0, 3}}
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	a6Hc     = netip.MustParseAddr("2001:2:0:1::3")
	a6Hs     = netip.MustParseAddr("2001:2:0:1::1")
	a6Router = netip.MustParseAddr("2001:2:0:1::2")
	a6Far    = netip.MustParseAddr("2001:2:0:2::1")
	a4Hc     = netip.MustParseAddr("198.18.1.3")
	a4Hs     = netip.MustParseAddr("198.18.1.1")
	a4Router = netip.MustParseAddr("198.18.1.254")
)

// The programs of bpf.go, run in x/net/bpf's VM over frames built with
// craft: IPv6 is filtered as IPv4 is, and IPv4 as before.
func TestFiltersIPv6(t *testing.T) {
	udp6 := buildFrame(t, craft.Packet{IPv6: &craft.IPv6{Src: a6Hs, Dst: a6Hc}, UDP: &craft.UDP{SrcPort: 53, DstPort: 9999}, Payload: []byte("x")})
	tcp6 := buildFrame(t, craft.Packet{IPv6: &craft.IPv6{Src: a6Hc, Dst: a6Hs}, TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Flags: craft.TCPSyn}})
	tcp6Ext := buildFrame(t, craft.Packet{IPv6: &craft.IPv6{Src: a6Hc, Dst: a6Hs}, IPv6Ext: []craft.IPv6Ext{craft.DestOpts(nil)}, TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Flags: craft.TCPSyn}})
	frag6 := buildFrame(t, craft.Packet{IPv6: &craft.IPv6{Src: a6Hc, Dst: a6Hs}, IPv6Ext: []craft.IPv6Ext{craft.FragmentExt(0, true, 7)}, UDP: &craft.UDP{SrcPort: 9999, DstPort: 9999}, Payload: make([]byte, 16)})
	echo6 := buildFrame(t, craft.Packet{IPv6: &craft.IPv6{Src: a6Hc, Dst: a6Hs}, ICMPv6: &craft.ICMPv6{Type: craft.ICMPv6EchoRequest, Rest: 0x2701_0001}})
	other6 := buildFrame(t, craft.Packet{IPv6: &craft.IPv6{Src: a6Router, Dst: a6Far}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}})
	// A router's error about Hc's probe to Hf: from the router, to Hc.
	probe6, _ := (&craft.Packet{IPv6: &craft.IPv6{Src: a6Hc, Dst: a6Far, HopLimit: craft.Set[uint8](1)}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 33434}}).Append(nil)
	te := craft.TimeExceeded6(0)
	routerErr6 := buildFrame(t, craft.Packet{IPv6: &craft.IPv6{Src: a6Router, Dst: a6Hc}, ICMPv6: &te, Payload: craft.QuoteV6(probe6)})
	ns := craft.NDP{Type: craft.ICMPv6NeighborSolicit, Target: a6Hs, Options: craft.AppendNDPOptLinkAddr(nil, craft.NDPOptSourceLinkAddr, craft.MAC{2, 0, 0, 0, 0, 3})}
	nsH := ns.Header()
	ns6 := buildFrame(t, craft.Packet{IPv6: &craft.IPv6{HopLimit: craft.Set[uint8](255), Src: a6Router, Dst: netip.MustParseAddr("ff02::1:ff00:1")}, ICMPv6: &nsH, Payload: ns.AppendBody(nil)})
	na := craft.NDP{Type: craft.ICMPv6NeighborAdvert, Flags: craft.NDPFlagSolicited, Target: a6Hs, Options: craft.AppendNDPOptLinkAddr(nil, craft.NDPOptTargetLinkAddr, craft.MAC{2, 0, 0, 0, 0, 1})}
	naH := na.Header()
	na6 := buildFrame(t, craft.Packet{IPv6: &craft.IPv6{HopLimit: craft.Set[uint8](255), Src: a6Hs, Dst: a6Hc}, ICMPv6: &naH, Payload: na.AppendBody(nil)})
	na6Hop64 := buildFrame(t, craft.Packet{IPv6: &craft.IPv6{HopLimit: craft.Set[uint8](64), Src: a6Hs, Dst: a6Hc}, ICMPv6: &naH, Payload: na.AppendBody(nil)})
	naOther := na
	naOther.Target = a6Router
	naOtherH := naOther.Header()
	na6Other := buildFrame(t, craft.Packet{IPv6: &craft.IPv6{HopLimit: craft.Set[uint8](255), Src: a6Router, Dst: a6Hc}, ICMPv6: &naOtherH, Payload: naOther.AppendBody(nil)})

	udp4 := buildFrame(t, craft.Packet{IPv4: &craft.IPv4{Src: a4Hs, Dst: a4Hc}, UDP: &craft.UDP{SrcPort: 53, DstPort: 9999}})
	icmp4 := buildFrame(t, craft.Packet{IPv4: &craft.IPv4{Src: a4Hc, Dst: a4Hs}, ICMP: &craft.ICMP{Type: craft.ICMPEcho}})
	arp := buildFrame(t, craft.Packet{ARP: &craft.ARP{Op: craft.ARPRequest, SenderIP: a4Hs, TargetIP: a4Hc}})
	te4 := craft.ICMP{Type: craft.ICMPTimeExceeded}
	probe4, _ := (&craft.Packet{IPv4: &craft.IPv4{Src: a4Hc, Dst: netip.MustParseAddr("198.18.2.2")}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 33434}}).Append(nil)
	routerErr4 := buildFrame(t, craft.Packet{IPv4: &craft.IPv4{Src: a4Router, Dst: a4Hc}, ICMP: &te4, Payload: probe4})

	must := func(p []bpf.RawInstruction, err error) []bpf.RawInstruction {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := func(x rawsock.Filter) []bpf.RawInstruction { return must(x.Compile()) }
	host6, host4 := must(rawsock.HostFilter(a6Hc)), must(rawsock.HostFilter(a4Hc))
	naHs := must(rawsock.NeighborAdvertFilter(a6Hs))
	nsHs := must(rawsock.NeighborSolicitFilter(a6Hs))
	for _, c := range []struct {
		desc  string
		prog  []bpf.RawInstruction
		frame []byte
		want  bool
	}{
		{"empty: IPv6", f(rawsock.Filter{}), udp6, true},
		{"empty: IPv4", f(rawsock.Filter{}), udp4, true},
		{"empty: ARP", f(rawsock.Filter{}), arp, true},
		{"proto udp: IPv6 UDP", f(rawsock.Filter{Proto: craft.ProtoUDP}), udp6, true},
		{"proto udp: IPv6 TCP", f(rawsock.Filter{Proto: craft.ProtoUDP}), tcp6, false},
		{"proto udp: IPv4 UDP", f(rawsock.Filter{Proto: craft.ProtoUDP}), udp4, true},
		{"proto tcp: IPv6 TCP", f(rawsock.Filter{Proto: craft.ProtoTCP}), tcp6, true},
		{"proto tcp behind an extension header", f(rawsock.Filter{Proto: craft.ProtoTCP}), tcp6Ext, false},
		{"proto icmp: ICMPv6", f(rawsock.Filter{Proto: craft.ProtoICMP}), echo6, true},
		{"proto icmp: ICMPv4", f(rawsock.Filter{Proto: craft.ProtoICMP}), icmp4, true},
		{"proto icmp: IPv6 UDP", f(rawsock.Filter{Proto: craft.ProtoICMP}), udp6, false},
		{"proto icmpv6: ICMPv6", f(rawsock.Filter{Proto: craft.ProtoICMPv6}), echo6, true},
		{"proto icmpv6: ICMPv4", f(rawsock.Filter{Proto: craft.ProtoICMPv6}), icmp4, false},
		{"host: IPv6 to it", f(rawsock.Filter{Host: a6Hc}), udp6, true},
		{"host: IPv6 from it", f(rawsock.Filter{Host: a6Hc}), tcp6, true},
		{"host: IPv6 neither", f(rawsock.Filter{Host: a6Hc}), other6, false},
		{"host: other IPv6 address sharing 12 bytes", f(rawsock.Filter{Host: netip.MustParseAddr("2001:2:0:1::4")}), udp6, false},
		{"host IPv6: IPv4 frame", f(rawsock.Filter{Host: a6Hc}), udp4, false},
		{"host IPv6: ARP", f(rawsock.Filter{Host: a6Hc}), arp, false},
		{"host IPv4: IPv6 frame", f(rawsock.Filter{Host: a4Hc}), udp6, false},
		{"host IPv4: IPv4 frame", f(rawsock.Filter{Host: a4Hc}), udp4, true},
		{"host IPv4-mapped: IPv4 frame", f(rawsock.Filter{Host: netip.AddrFrom16(a4Hc.As16())}), udp4, true},
		{"port 9999: IPv6 UDP dst", f(rawsock.Filter{Port: 9999}), udp6, true},
		{"port 53: IPv6 UDP src", f(rawsock.Filter{Port: 53}), udp6, true},
		{"port 80: IPv6 UDP", f(rawsock.Filter{Port: 80}), udp6, false},
		{"port 9999: IPv6 TCP", f(rawsock.Filter{Port: 9999}), tcp6, true},
		{"port 9999: IPv6 TCP behind an extension header (documented miss)", f(rawsock.Filter{Port: 9999}), tcp6Ext, false},
		{"port 9999: IPv6 first fragment (documented miss)", f(rawsock.Filter{Port: 9999}), frag6, false},
		{"port 0x2701: ICMPv6 echo id is no port", f(rawsock.Filter{Port: 0x2701}), echo6, false},
		{"port 9999: IPv4 UDP", f(rawsock.Filter{Port: 9999}), udp4, true},
		{"port: ARP", f(rawsock.Filter{Port: 9999}), arp, false},
		{"host, proto and port: IPv6", f(rawsock.Filter{Host: a6Hs, Proto: craft.ProtoTCP, Port: 9999}), tcp6, true},
		{"host, proto and port: wrong proto", f(rawsock.Filter{Host: a6Hs, Proto: craft.ProtoUDP, Port: 9999}), tcp6, false},
		{"host, proto and port: wrong host", f(rawsock.Filter{Host: a6Router, Proto: craft.ProtoTCP, Port: 9999}), tcp6, false},
		{"host icmp: a router's ICMPv6 error to the prober", f(rawsock.Filter{Host: a6Hc, Proto: craft.ProtoICMP}), routerErr6, true},
		{"host icmp: the same error, filter on the target (outer addresses only)", f(rawsock.Filter{Host: a6Far, Proto: craft.ProtoICMP}), routerErr6, false},
		{"IPv4 likewise: a router's ICMP error, filter on the target", f(rawsock.Filter{Host: netip.MustParseAddr("198.18.2.2"), Proto: craft.ProtoICMP}), routerErr4, false},
		{"IPv4 likewise: a router's ICMP error, filter on the prober", f(rawsock.Filter{Host: a4Hc, Proto: craft.ProtoICMP}), routerErr4, true},

		{"HostFilter IPv6: to it", host6, udp6, true},
		{"HostFilter IPv6: from it", host6, tcp6, true},
		{"HostFilter IPv6: a router's error to it", host6, routerErr6, true},
		{"HostFilter IPv6: neither", host6, other6, false},
		{"HostFilter IPv6: NDP from others", host6, ns6, true},
		{"HostFilter IPv6: IPv4", host6, udp4, false},
		{"HostFilter IPv6: ARP", host6, arp, false},
		{"HostFilter IPv4: IPv6", host4, udp6, false},
		{"HostFilter IPv4: to it", host4, udp4, true},
		{"HostFilter IPv4: ARP", host4, arp, true},

		{"NA filter: the advertisement", naHs, na6, true},
		{"NA filter: hop limit 64", naHs, na6Hop64, false},
		{"NA filter: another target", naHs, na6Other, false},
		{"NA filter: the solicitation", naHs, ns6, false},
		{"NA filter: IPv4", naHs, udp4, false},
		{"NS filter: the solicitation", nsHs, ns6, true},
		{"NS filter: the advertisement", nsHs, na6, false},
	} {
		if got := passes(t, c.prog, c.frame); got != c.want {
			t.Errorf("%s: passed %v, want %v", c.desc, got, c.want)
		}
	}
	if _, err := rawsock.NeighborAdvertFilter(a4Hs); err == nil {
		t.Error("an NDP filter for an IPv4 address")
	}
	if _, err := rawsock.ARPReplyFilter(a6Hs); err == nil {
		t.Error("an ARP filter for an IPv6 address")
	}
}
