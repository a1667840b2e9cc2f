package craft

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

var (
	hc6 = netip.MustParseAddr("2001:2:0:1::3")
	hs6 = netip.MustParseAddr("2001:2:0:1::1")
	hf6 = netip.MustParseAddr("2001:2:0:2::1")
	ll6 = netip.MustParseAddr("fe80::3")
)

// refSum6 computes a transport checksum the slow way, independently of the
// package: it lays out the RFC 8200 §8.1 pseudo-header as bytes (source,
// destination, 32-bit length, three zero bytes, next header), appends the
// segment with its checksum field zeroed, and adds 16-bit words with the
// carry folded back after every addition.
func refSum6(src, dst netip.Addr, nh uint8, seg []byte, csumAt int) uint16 {
	var b []byte
	s, d := src.As16(), dst.As16()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(seg)))
	b = append(b, 0, 0, 0, nh)
	start := len(b)
	b = append(b, seg...)
	b[start+csumAt], b[start+csumAt+1] = 0, 0
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	var acc uint32
	for i := 0; i < len(b); i += 2 {
		acc += uint32(b[i])<<8 | uint32(b[i+1])
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}

func ndpPacket(src, dst netip.Addr, n NDP) Packet {
	h := n.Header()
	return Packet{IPv6: &IPv6{Src: src, Dst: dst, HopLimit: Set[uint8](255)}, ICMPv6: &h, Payload: n.AppendBody(nil)}
}

type golden6 struct {
	desc string
	p    Packet
	// where the transport starts and its checksum field, for the
	// independent check; csumAt < 0: no checksum to check.
	nh     uint8
	csumAt int
	dst    netip.Addr // the pseudo-header's destination, when not the IPv6 one
}

func goldens6(t testing.TB) []golden6 {
	probe := mustBuild(t, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello\n")})
	big := mustBuild(t, Packet{IPv6: &IPv6{Src: hc6, Dst: hf6}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: bytes.Repeat([]byte{'x'}, 1400)})
	mac := MAC{2, 0, 0, 0, 0, 3}
	pfx := netip.MustParsePrefix("2001:2:0:1::/64")
	return []golden6{
		{desc: "UDP", p: Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello\n")},
			nh: ProtoUDP, csumAt: 6},
		{desc: "TCP SYN, traffic class, flow label", p: Packet{IPv6: &IPv6{Src: hc6, Dst: hs6, TrafficClass: 0xb8, FlowLabel: 0x12345},
			TCP: &TCP{SrcPort: 40000, DstPort: 80, Seq: 1, Flags: TCPSyn, Window: 64800, Options: AppendTCPOptMSS(nil, 1440)}},
			nh: ProtoTCP, csumAt: 16},
		{desc: "echo request", p: Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, ICMPv6: ptr(Echo6(0x1234, 1)), Payload: []byte("ping")},
			nh: ProtoICMPv6, csumAt: 2},
		{desc: "echo reply, hop limit 1", p: Packet{IPv6: &IPv6{Src: hs6, Dst: hc6, HopLimit: Set[uint8](1)}, ICMPv6: ptr(EchoReply6(0x1234, 1)), Payload: []byte("ping")},
			nh: ProtoICMPv6, csumAt: 2},
		{desc: "hop-by-hop router alert, dest opts, routing 0 left 0, atomic fragment, UDP", p: Packet{
			IPv6: &IPv6{Src: hc6, Dst: hs6},
			IPv6Ext: []IPv6Ext{HopByHop(AppendIPv6OptRouterAlert(nil, 0)), DestOpts(AppendIPv6Opt(nil, 0x1e, []byte{1, 2, 3})),
				RoutingType0(0, hf6), FragmentExt(0, false, 0xdeadbeef)},
			UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello\n")},
			nh: ProtoUDP, csumAt: 6},
		{desc: "routing type 0 with 1 segment left: the checksum uses the final destination", p: Packet{
			IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{RoutingType0(1, hf6)},
			UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello\n")},
			nh: ProtoUDP, csumAt: 6, dst: hf6},
		{desc: "first fragment", p: Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{FragmentExt(0, true, 7)},
			UDP: &UDP{SrcPort: 40000, DstPort: 9999, Length: Set[uint16](1008), Checksum: Set[uint16](0x1234)}, Payload: []byte("Hello\n")},
			csumAt: -1},
		{desc: "port unreachable quoting the probe", p: Packet{IPv6: &IPv6{Src: hs6, Dst: hc6}, ICMPv6: ptr(Unreachable6(CodeV6PortUnreachable)), Payload: QuoteV6(probe)},
			nh: ProtoICMPv6, csumAt: 2},
		{desc: "packet too big, MTU 1280, quote cut to 1232 bytes", p: Packet{IPv6: &IPv6{Src: hs6, Dst: hc6}, ICMPv6: ptr(PacketTooBig(1280)), Payload: QuoteV6(big)},
			nh: ProtoICMPv6, csumAt: 2},
		{desc: "time exceeded", p: Packet{IPv6: &IPv6{Src: hs6, Dst: hc6}, ICMPv6: ptr(TimeExceeded6(0)), Payload: QuoteV6(probe)},
			nh: ProtoICMPv6, csumAt: 2},
		{desc: "parameter problem, pointer 40", p: Packet{IPv6: &IPv6{Src: hs6, Dst: hc6}, ICMPv6: ptr(ParamProblem6(CodeV6UnknownNext, 40)), Payload: QuoteV6(probe)},
			nh: ProtoICMPv6, csumAt: 2},
		{desc: "router solicitation", p: ndpPacket(ll6, netip.MustParseAddr("ff02::2"), NDP{Type: ICMPv6RouterSolicit,
			Options: AppendNDPOptLinkAddr(nil, NDPOptSourceLinkAddr, mac)}), nh: ProtoICMPv6, csumAt: 2},
		{desc: "router advertisement: prefix, MTU, source link address", p: ndpPacket(ll6, netip.MustParseAddr("ff02::1"), NDP{Type: ICMPv6RouterAdvert,
			CurHopLimit: 64, Flags: NDPFlagOther, RouterLifetime: 1800, ReachableTime: 30000, RetransTimer: 1000,
			Options: AppendNDPOptMTU(AppendNDPOptPrefix(AppendNDPOptLinkAddr(nil, NDPOptSourceLinkAddr, mac), pfx, PrefixOnLink|PrefixAutonomous, 86400, 14400), 1500)}),
			nh: ProtoICMPv6, csumAt: 2},
		{desc: "neighbor solicitation", p: ndpPacket(hc6, netip.MustParseAddr("ff02::1:ff00:1"), NDP{Type: ICMPv6NeighborSolicit, Target: hs6,
			Options: AppendNDPOptLinkAddr(nil, NDPOptSourceLinkAddr, mac)}), nh: ProtoICMPv6, csumAt: 2},
		{desc: "neighbor advertisement", p: ndpPacket(hs6, hc6, NDP{Type: ICMPv6NeighborAdvert, Flags: NDPFlagSolicited | NDPFlagOverride, Target: hs6,
			Options: AppendNDPOptLinkAddr(nil, NDPOptTargetLinkAddr, MAC{2, 0, 0, 0, 0, 1})}), nh: ProtoICMPv6, csumAt: 2},
		{desc: "redirect", p: ndpPacket(ll6, hc6, NDP{Type: ICMPv6Redirect, Target: netip.MustParseAddr("fe80::2"), Destination: hf6,
			Options: AppendNDPOpt(AppendNDPOptLinkAddr(nil, NDPOptTargetLinkAddr, MAC{2, 0, 0, 0, 0, 2}), NDPOptRedirected, append(make([]byte, 6), probe[:40]...))}),
			nh: ProtoICMPv6, csumAt: 2},
		{desc: "UDP zero checksum, forced", p: Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, UDP: &UDP{SrcPort: 40000, DstPort: 9999, Checksum: Set[uint16](0)}, Payload: []byte("Hello\n")},
			csumAt: -1},
		{desc: "payload length forced to lie, version 4", p: Packet{IPv6: &IPv6{Src: hc6, Dst: hs6, PayloadLen: Set[uint16](100), Version: Set[uint8](4)}, UDP: &UDP{SrcPort: 1, DstPort: 2}},
			nh: ProtoUDP, csumAt: 6},
		{desc: "no next header, with Ethernet", p: Packet{Ethernet: &Ethernet{Dst: MAC{2, 0, 0, 0, 0, 1}, Src: mac}, IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{DestOpts(nil)}},
			csumAt: -1},
	}
}

func ptr[T any](v T) *T { return &v }

// goldenHex6 holds the expected bytes of each golden6, checked by hand
// against RFC 8200 §3-4, RFC 4443 and RFC 4861 §4; a long quote is kept as
// its first 128 bytes, "…" and the total length.
var goldenHex6 = map[string]string{
	"UDP":                                "60000000000e114020010002000000010000000000000003200100020000000100000000000000019c40270f000ed89a48656c6c6f0a",
	"TCP SYN, traffic class, flow label": "6b8123450018064020010002000000010000000000000003200100020000000100000000000000019c40005000000001000000006002fd20be7c0000020405a0",
	"echo request":                       "60000000000c3a40200100020000000100000000000000032001000200000001000000000000000180004ea71234000170696e67",
	"echo reply, hop limit 1":            "60000000000c3a01200100020000000100000000000000012001000200000001000000000000000381004da71234000170696e67",
	"hop-by-hop router alert, dest opts, routing 0 left 0, atomic fragment, UDP":  "60000000003e004020010002000000010000000000000003200100020000000100000000000000013c000502000001002b001e03010203002c020000000000002001000200000002000000000000000111000000deadbeef9c40270f000ed89a48656c6c6f0a",
	"routing type 0 with 1 segment left: the checksum uses the final destination": "6000000000262b4020010002000000010000000000000003200100020000000100000000000000011102000100000000200100020000000200000000000000019c40270f000ed89948656c6c6f0a",
	"first fragment":                                         "6000000000162c40200100020000000100000000000000032001000200000001000000000000000111000001000000079c40270f03f0123448656c6c6f0a",
	"port unreachable quoting the probe":                     "60000000003e3a40200100020000000100000000000000012001000200000001000000000000000301044d480000000060000000000e114020010002000000010000000000000003200100020000000100000000000000019c40270f000ed89a48656c6c6f0a",
	"packet too big, MTU 1280, quote cut to 1232 bytes":      "6000000004d83a4020010002000000010000000000000001200100020000000100000000000000030200158500000500600000000580114020010002000000010000000000000003200100020000000200000000000000019c40270f058088287878787878787878787878787878787878787878787878787878787878787878…1280",
	"time exceeded":                                          "60000000003e3a40200100020000000100000000000000012001000200000001000000000000000303004b4c0000000060000000000e114020010002000000010000000000000003200100020000000100000000000000019c40270f000ed89a48656c6c6f0a",
	"parameter problem, pointer 40":                          "60000000003e3a40200100020000000100000000000000012001000200000001000000000000000304014a230000002860000000000e114020010002000000010000000000000003200100020000000100000000000000019c40270f000ed89a48656c6c6f0a",
	"router solicitation":                                    "6000000000103afffe800000000000000000000000000003ff02000000000000000000000000000285007a28000000000101020000000003",
	"router advertisement: prefix, MTU, source link address": "6000000000403afffe800000000000000000000000000003ff0200000000000000000000000000018600c0314040070800007530000003e80101020000000003030440c00001518000003840000000002001000200000001000000000000000005010000000005dc",
	"neighbor solicitation":                                  "6000000000203aff20010002000000010000000000000003ff0200000000000000000001ff0000018700378f00000000200100020000000100000000000000010101020000000003",
	"neighbor advertisement":                                 "6000000000203aff20010002000000010000000000000001200100020000000100000000000000038800b39160000000200100020000000100000000000000010201020000000001",
	"redirect":                                               "6000000000603afffe8000000000000000000000000000032001000200000001000000000000000389007fed00000000fe800000000000000000000000000002200100020000000200000000000000010201020000000002040600000000000060000000000e11402001000200000001000000000000000320010002000000010000000000000001",
	"UDP zero checksum, forced":                              "60000000000e114020010002000000010000000000000003200100020000000100000000000000019c40270f000e000048656c6c6f0a",
	"payload length forced to lie, version 4":                "40000000006411402001000200000001000000000000000320010002000000010000000000000001000100020008bfcf",
	"no next header, with Ethernet":                          "02000000000102000000000386dd6000000000083c4020010002000000010000000000000003200100020000000100000000000000013b00010400000000",
}

func TestIPv6Golden(t *testing.T) {
	for _, g := range goldens6(t) {
		t.Run(g.desc, func(t *testing.T) {
			b := mustBuild(t, g.p)
			if want, ok := goldenHex6[g.desc]; ok {
				got := hex.EncodeToString(b)
				if i := strings.Index(want, "…"); i >= 0 { // a long quote: its start and the total length
					got = got[:min(i, len(got))] + "…" + strconv.Itoa(len(b))
				}
				if got != want {
					t.Errorf("built\n %s\nwant\n %s", got, want)
				}
			} else {
				t.Errorf("no golden bytes; built %s", hex.EncodeToString(b))
			}
			ip := b
			if g.p.Ethernet != nil {
				ip = b[g.p.Ethernet.Len():]
			}
			if g.csumAt >= 0 {
				off := IPv6HeaderLen
				for i := range g.p.IPv6Ext {
					off += g.p.IPv6Ext[i].Len()
				}
				seg := ip[off:]
				if g.p.UDP != nil && len(seg) > 8 {
					seg = seg[:binary.BigEndian.Uint16(seg[4:])]
				}
				dst := g.p.IPv6.Dst
				if g.dst.IsValid() {
					dst = g.dst
				}
				got := binary.BigEndian.Uint16(seg[g.csumAt:])
				if want := refSum6(g.p.IPv6.Src, dst, g.nh, seg, g.csumAt); got != want {
					t.Errorf("checksum 0x%04x, the independent computation says 0x%04x", got, want)
				}
			}
			// Round trip: decode, check the checksums, rebuild the same bytes.
			d := Decoded{AcceptIPv6: true}
			var err error
			if g.p.Ethernet != nil {
				err = d.DecodeFrame(b)
			} else {
				err = d.DecodeIP(b)
			}
			forcedLie := g.p.IPv6.PayloadLen.IsSet()
			if err != nil && !forcedLie {
				t.Fatalf("decode: %v", err)
			}
			if !forcedLie {
				for _, c := range d.Checksums(nil) {
					bad := c.Status == ChecksumBad
					if bad != (g.desc == "UDP zero checksum, forced") {
						t.Errorf("checksum %+v", c)
					}
				}
				q := Packet{Ethernet: g.p.Ethernet, IPv6: &d.IPv6, IPv6Ext: d.Exts(), Payload: d.Payload}
				switch {
				case d.Layers&LayerTCP != 0:
					q.TCP = &d.TCP
				case d.Layers&LayerUDP != 0:
					q.UDP = &d.UDP
				case d.Layers&LayerICMPv6 != 0:
					q.ICMPv6 = &d.ICMPv6
				}
				if g.p.Ethernet != nil {
					q.Ethernet = &d.Ethernet
				}
				if rb := mustBuild(t, q); !bytes.Equal(rb, b) {
					t.Errorf("decoded and rebuilt:\n %x\nwant\n %x", rb, b)
				}
			}
			fields := Explain(&d)
			if len(fields) == 0 || Summary(&d) == "" {
				t.Errorf("nothing explained")
			}
			for _, l := range Layers(fields) {
				if Diagram(fields, l) == "" {
					t.Errorf("no diagram for %s", l)
				}
			}
		})
	}
}

func Summary(d *Decoded) string { return d.Summary() }

func TestIPv6ZeroUDPChecksumFlagged(t *testing.T) {
	b := mustBuild(t, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, UDP: &UDP{SrcPort: 1, DstPort: 2, Checksum: Set[uint16](0)}})
	if b[IPv6HeaderLen+6] != 0 || b[IPv6HeaderLen+7] != 0 {
		t.Fatalf("forced zero not written: %x", b)
	}
	d := Decoded{AcceptIPv6: true}
	if err := d.DecodeIP(b); err != nil {
		t.Fatal(err)
	}
	cs := d.Checksums(nil)
	if len(cs) != 1 || cs[0].Status != ChecksumBad || cs[0].Want == 0 {
		t.Fatalf("checksums %+v, want bad (RFC 8200 §8.1)", cs)
	}
	found := false
	for _, f := range Explain(&d) {
		if f.Layer == "UDP" && f.Name == "Checksum" {
			found = strings.Contains(f.Meaning, "RFC 8200 §8.1 forbids") && f.RFC == "RFC 8200 §8.1"
		}
	}
	if !found {
		t.Errorf("the explanation does not flag the zero checksum")
	}
	// A computed zero is sent as 0xffff, over IPv6 too.
	for p := uint16(0); p < 0xffff; p++ {
		u := UDP{SrcPort: p, DstPort: 2}
		b := make([]byte, 8)
		if err := u.Encode(b, hc6, hs6); err != nil {
			t.Fatal(err)
		}
		if binary.BigEndian.Uint16(b[6:]) == 0 {
			t.Fatalf("source port %d: a computed zero checksum was sent as zero", p)
		}
	}
}

func TestIPv6BadExtensions(t *testing.T) {
	lying := HopByHop(nil)
	lying.HdrExtLen = Set[uint8](3) // 32 bytes claimed, 8 present
	cases := []struct {
		desc  string
		p     Packet
		field string
		layer string
		off   int
		err   error
	}{
		{"hdr ext len past the packet", Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{lying}, UDP: &UDP{}}, "Hdr Ext Len", "IPv6 ext", 41, ErrTruncated},
		{"payload length shorter than the UDP header", Packet{IPv6: &IPv6{Src: hc6, Dst: hs6, PayloadLen: Set[uint16](4)}, UDP: &UDP{}}, "header", "UDP", 40, ErrMalformed},
		{"UDP length past the payload", Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, UDP: &UDP{Length: Set[uint16](200)}}, "length", "UDP", 44, ErrMalformed},
		{"version 5 in a frame of EtherType 0x86dd", Packet{Ethernet: &Ethernet{}, IPv6: &IPv6{Src: hc6, Dst: hs6, Version: Set[uint8](5)}, UDP: &UDP{}}, "version", "IPv6", 14, ErrMalformed},
		{"payload length past the bytes", Packet{IPv6: &IPv6{Src: hc6, Dst: hs6, PayloadLen: Set[uint16](100)}, UDP: &UDP{}}, "payload length", "IPv6", 4, ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			b := mustBuild(t, c.p)
			d := Decoded{AcceptIPv6: true}
			var err error
			if c.p.Ethernet != nil {
				err = d.DecodeFrame(b)
			} else {
				err = d.DecodeIP(b)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Field != c.field || pe.Layer != c.layer || pe.Offset != c.off || !errors.Is(err, c.err) {
				t.Fatalf("error %v, want %s %s at %d (%v)", err, c.layer, c.field, c.off, c.err)
			}
			_ = Explain(&d)
			_ = d.Summary()
		})
	}
	// Seventeen destination options headers: more than the decoder keeps.
	var exts []IPv6Ext
	for range MaxIPv6Ext + 1 {
		exts = append(exts, DestOpts(nil))
	}
	b := mustBuild(t, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: exts})
	d := Decoded{AcceptIPv6: true}
	if err := d.DecodeIP(b); !errors.Is(err, ErrMalformed) || d.NExt != MaxIPv6Ext {
		t.Fatalf("17 headers: %v, %d kept", err, d.NExt)
	}
	// ICMP (v4) over IPv6, and ICMPv6 over IPv4, do not stack.
	for _, p := range []Packet{{IPv6: &IPv6{}, ICMP: &ICMP{}}, {IPv4: &IPv4{}, ICMPv6: &ICMPv6{}}, {IPv6Ext: []IPv6Ext{DestOpts(nil)}, IPv4: &IPv4{Protocol: Set[uint8](60)}}} {
		if _, err := p.Append(nil); !errors.Is(err, ErrLayers) {
			t.Errorf("%+v: %v, want ErrLayers", p, err)
		}
	}
}

func TestIPv6QuotedDecode(t *testing.T) {
	gs := goldens6(t)
	for _, g := range gs {
		if g.p.ICMPv6 == nil || !g.p.ICMPv6.IsError() {
			continue
		}
		d := Decoded{AcceptIPv6: true}
		b := mustBuild(t, g.p)
		if err := d.DecodeIP(b); err != nil {
			t.Fatalf("%s: %v", g.desc, err)
		}
		if d.Quoted.Layers&(LayerIPv6|LayerUDP) != LayerIPv6|LayerUDP || d.Quoted.UDP.DstPort != 9999 {
			t.Errorf("%s: quoted %v port %d", g.desc, d.Quoted.Layers, d.Quoted.UDP.DstPort)
		}
		if len(b) > MinIPv6MTU {
			t.Errorf("%s: %d bytes, more than the minimum MTU", g.desc, len(b))
		}
	}
}

func TestIPv6Allocs(t *testing.T) {
	p := Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{HopByHop(AppendIPv6OptRouterAlert(nil, 0)), FragmentExt(0, false, 1)},
		UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: []byte("data")}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(1000, func() { _, _ = p.Append(buf[:0]) }); n != 0 {
		t.Errorf("build: %v allocations", n)
	}
	e := p
	e.Ethernet = &Ethernet{}
	frame := mustBuild(t, e)
	d := Decoded{AcceptIPv6: true}
	var sums [4]ChecksumResult
	if n := testing.AllocsPerRun(1000, func() { _ = d.DecodeFrame(frame); _ = d.Checksums(sums[:0]) }); n != 0 {
		t.Errorf("decode: %v allocations", n)
	}
	probe := mustBuild(t, p)
	ptb := mustBuild(t, Packet{IPv6: &IPv6{Src: hs6, Dst: hc6}, ICMPv6: ptr(PacketTooBig(1280)), Payload: QuoteV6(probe)})
	if n := testing.AllocsPerRun(1000, func() { _ = d.DecodeIP(ptb); _ = d.Checksums(sums[:0]) }); n != 0 {
		t.Errorf("decode with a quote: %v allocations", n)
	}
	n := NDP{Type: ICMPv6NeighborSolicit, Target: hs6, Options: AppendNDPOptLinkAddr(nil, NDPOptSourceLinkAddr, MAC{})}
	h := n.Header()
	ns := Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, ICMPv6: &h}
	body := make([]byte, 0, 64)
	if a := testing.AllocsPerRun(1000, func() { ns.Payload = n.AppendBody(body[:0]); _, _ = ns.Append(buf[:0]) }); a != 0 {
		t.Errorf("NDP build: %v allocations", a)
	}
}

func BenchmarkBuildIPv6UDP(b *testing.B) {
	p := Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: make([]byte, 64)}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = p.Append(buf[:0])
	}
}

func BenchmarkDecodeIPv6UDP(b *testing.B) {
	in := mustBuild(b, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: make([]byte, 64)})
	d := Decoded{AcceptIPv6: true}
	b.ReportAllocs()
	for b.Loop() {
		_ = d.DecodeIP(in)
	}
}

// A segment routing header (routing type 4) with no segment left decodes as
// built, and the checksum holds; gopacket v1.6.0 cannot decode type 4, so
// this case is checked here rather than in the gopacket matrix.
func TestIPv6RoutingType4(t *testing.T) {
	p := Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{Routing(4, 0, append([]byte{0, 0, 0, 0}, hs6.AsSlice()...))},
		UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello\n")}
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := Decoded{AcceptIPv6: true}
	if err := d.DecodeIP(b); err != nil {
		t.Fatal(err)
	}
	ex := d.Exts()
	if len(ex) != 1 || ex[0].RoutingType() != 4 || ex[0].SegmentsLeft() != 0 || !d.Has(LayerUDP) {
		t.Fatalf("decoded %+v", ex)
	}
	for _, c := range d.Checksums(nil) {
		if c.Status != ChecksumGood {
			t.Errorf("checksum %+v", c)
		}
	}
}
