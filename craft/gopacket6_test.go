package craft

// gopacket's IPv6 layers as the independent decoder of a generated matrix:
// extension header chains × (ICMPv6 types and codes, NDP messages, UDP,
// TCP), compared field by field, checksums included.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func extChains() map[string][]IPv6Ext {
	return map[string][]IPv6Ext{
		"none":          nil,
		"hop-by-hop":    {HopByHop(AppendIPv6OptRouterAlert(nil, 0))},
		"dest padN":     {DestOpts(AppendIPv6OptPadN(nil, 12))},
		"dest 13 bytes": {DestOpts(AppendIPv6Opt(nil, 0x3e, bytes.Repeat([]byte{0xab}, 13)))},
		"routing 0":     {RoutingType0(0, hf6, hs6)},
		"atomic frag":   {FragmentExt(0, false, 0x01020304)},
		// No segment routing header (type 4) here: gopacket v1.6.0, the last
		// release for this module's Go, decodes routing type 0 only. Our own
		// TestIPv6RoutingType4 covers type 4.
		"hop-by-hop, routing 0": {HopByHop(AppendIPv6OptPadN(nil, 4)), RoutingType0(0, hs6)},
		"all, dest last":        {HopByHop(AppendIPv6OptRouterAlert(nil, 1)), DestOpts(nil), RoutingType0(0, hf6), FragmentExt(0, false, 9), DestOpts(AppendIPv6OptPadN(nil, 3))},
		"two dest":              {DestOpts(nil), DestOpts(AppendIPv6Opt(nil, 0x1e, []byte{7}))},
	}
}

func upperMatrix(t testing.TB) map[string]Packet {
	probe := mustBuild(t, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello\n")})
	m := map[string]Packet{
		"udp":        {UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello\n")},
		"tcp syn":    {TCP: &TCP{SrcPort: 40000, DstPort: 80, Seq: 7, Flags: TCPSyn, Window: 1000, Options: AppendTCPOptWScale(AppendTCPOptMSS(nil, 1440), 7)}},
		"echo":       {ICMPv6: ptr(Echo6(1, 2)), Payload: []byte("abcdefgh")},
		"echo reply": {ICMPv6: ptr(EchoReply6(0xffff, 0)), Payload: []byte("odd")},
		"ptb":        {ICMPv6: ptr(PacketTooBig(1280)), Payload: QuoteV6(probe)},
	}
	for c := uint8(0); c <= 8; c++ {
		m[fmt.Sprintf("unreachable %d", c)] = Packet{ICMPv6: ptr(Unreachable6(c)), Payload: QuoteV6(probe)}
	}
	for c := uint8(0); c <= 1; c++ {
		m[fmt.Sprintf("time exceeded %d", c)] = Packet{ICMPv6: ptr(TimeExceeded6(c)), Payload: QuoteV6(probe)}
	}
	for c := uint8(0); c <= 3; c++ {
		m[fmt.Sprintf("param problem %d", c)] = Packet{ICMPv6: ptr(ParamProblem6(c, 6+uint32(c))), Payload: QuoteV6(probe)}
	}
	mac := MAC{2, 0, 0, 0, 0, 3}
	for name, n := range map[string]NDP{
		"rs": {Type: ICMPv6RouterSolicit, Options: AppendNDPOptLinkAddr(nil, NDPOptSourceLinkAddr, mac)},
		"ra": {Type: ICMPv6RouterAdvert, CurHopLimit: 64, Flags: NDPFlagManaged, RouterLifetime: 9000, ReachableTime: 1, RetransTimer: 2,
			Options: AppendNDPOptMTU(AppendNDPOptPrefix(nil, netip.MustParsePrefix("2001:2:0:1::/64"), PrefixOnLink, 10, 5), 1280)},
		"ns":       {Type: ICMPv6NeighborSolicit, Target: hs6, Options: AppendNDPOptLinkAddr(nil, NDPOptSourceLinkAddr, mac)},
		"na":       {Type: ICMPv6NeighborAdvert, Flags: NDPFlagRouter | NDPFlagSolicited, Target: hs6, Options: AppendNDPOptLinkAddr(nil, NDPOptTargetLinkAddr, mac)},
		"redirect": {Type: ICMPv6Redirect, Target: ll6, Destination: hf6, Options: AppendNDPOptLinkAddr(nil, NDPOptTargetLinkAddr, mac)},
	} {
		h := n.Header()
		m[name] = Packet{ICMPv6: &h, Payload: n.AppendBody(nil)}
	}
	return m
}

func TestIPv6GopacketMatrix(t *testing.T) {
	n := 0
	for cname, chain := range extChains() {
		for uname, up := range upperMatrix(t) {
			p := up
			p.Ethernet = &Ethernet{Dst: MAC{2, 0, 0, 0, 0, 1}, Src: MAC{2, 0, 0, 0, 0, 3}}
			p.IPv6 = &IPv6{Src: hc6, Dst: hs6, TrafficClass: 0x2e, FlowLabel: 0xabcde, HopLimit: Set[uint8](255)}
			p.IPv6Ext = chain
			t.Run(cname+"/"+uname, func(t *testing.T) {
				b := mustBuild(t, p)
				d := Decoded{AcceptIPv6: true}
				if err := d.DecodeFrame(b); err != nil {
					t.Fatalf("ours: %v", err)
				}
				for _, c := range d.Checksums(nil) {
					if c.Status != ChecksumGood {
						t.Errorf("our checksum %+v", c)
					}
				}
				compareGopacket6(t, &d, gpDecode(t, b, layers.LayerTypeEthernet))
				_ = Explain(&d)
			})
			n++
		}
	}
	if n < 200 {
		t.Errorf("only %d packets in the matrix", n)
	}
}

// gpLayers returns gopacket's layers of the packet, continuing past an
// atomic fragment (offset 0, M clear): gopacket's decodeIPv6Fragment hands
// every fragment's data to DecodeFragment, ignoring its own NextLayerType,
// so the rest of the chain is decoded here from the header it names.
func gpLayers(gp gopacket.Packet) []gopacket.Layer {
	var out []gopacket.Layer
	for _, l := range gp.Layers() {
		out = append(out, l)
		if f, ok := l.(*layers.IPv6Fragment); ok && f.FragmentOffset == 0 && !f.MoreFragments {
			return append(out, gopacket.NewPacket(f.Payload, f.NextHeader.LayerType(), gopacket.Default).Layers()...)
		}
	}
	return out
}

func gpFind[T gopacket.Layer](ls []gopacket.Layer) T {
	var zero T
	for _, l := range ls {
		if v, ok := l.(T); ok {
			return v
		}
	}
	return zero
}

func compareGopacket6(t *testing.T, d *Decoded, gp gopacket.Packet) {
	t.Helper()
	all := gpLayers(gp)
	g6, _ := gp.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	if g6 == nil {
		t.Fatalf("gopacket found no IPv6 layer")
	}
	h := &d.IPv6
	if g6.Version != h.Version.Or(0) || g6.TrafficClass != h.TrafficClass || g6.FlowLabel != h.FlowLabel ||
		g6.Length != h.PayloadLen.Or(0) || uint8(g6.NextHeader) != h.NextHeader.Or(0) || g6.HopLimit != h.HopLimit.Or(0) ||
		!g6.SrcIP.Equal(h.Src.AsSlice()) || !g6.DstIP.Equal(h.Dst.AsSlice()) {
		t.Errorf("IPv6 differs:\n ours %+v\n gopacket %+v", *h, *g6)
	}
	// The extension headers, in order.
	var gext []gopacket.Layer
	for _, l := range all {
		switch l.LayerType() {
		case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Destination, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Fragment:
			gext = append(gext, l)
		}
	}
	exts := d.Exts()
	if len(gext) != len(exts) {
		t.Fatalf("%d extension headers, gopacket %d", len(exts), len(gext))
	}
	for i, l := range gext {
		e := &exts[i]
		switch g := l.(type) {
		case *layers.IPv6HopByHop:
			compareTLV(t, e, ProtoHopByHop, uint8(g.NextHeader), g.HeaderLength, func(yield func(uint8, uint8, []byte)) {
				for _, o := range g.Options {
					yield(o.OptionType, o.OptionLength, o.OptionData)
				}
			})
		case *layers.IPv6Destination:
			compareTLV(t, e, ProtoDestOpts, uint8(g.NextHeader), g.HeaderLength, func(yield func(uint8, uint8, []byte)) {
				for _, o := range g.Options {
					yield(o.OptionType, o.OptionLength, o.OptionData)
				}
			})
		case *layers.IPv6Routing:
			if e.Kind != ProtoRouting || uint8(g.NextHeader) != e.NextHeader.Or(0) || g.HeaderLength != e.HdrExtLen.Or(0) ||
				g.RoutingType != e.RoutingType() || g.SegmentsLeft != e.SegmentsLeft() {
				t.Errorf("routing header %d: ours %+v, gopacket %+v", i, *e, *g)
			}
			if e.RoutingType() == 0 {
				for k, a := range g.SourceRoutingIPs {
					if !bytes.Equal(a, e.Data[6+16*k:6+16*k+16]) {
						t.Errorf("routing address %d: gopacket %v", k, a)
					}
				}
			}
		case *layers.IPv6Fragment:
			if e.Kind != ProtoFragment || uint8(g.NextHeader) != e.NextHeader.Or(0) || g.Reserved1 != e.HdrExtLen.Or(0) ||
				g.FragmentOffset != e.FragOffset() || g.Reserved2 != e.FragRes() || g.MoreFragments != e.More() || g.Identification != e.Ident() {
				t.Errorf("fragment header %d: ours %+v, gopacket %+v", i, *e, *g)
			}
		}
	}
	switch {
	case d.Layers&LayerUDP != 0:
		g := gpFind[*layers.UDP](all)
		if g == nil || uint16(g.SrcPort) != d.UDP.SrcPort || uint16(g.DstPort) != d.UDP.DstPort || g.Length != d.UDP.Length.Or(0) || g.Checksum != d.UDP.Checksum.Or(0) {
			t.Fatalf("UDP: ours %+v, gopacket %+v", d.UDP, g)
		}
		_ = g.SetNetworkLayerForChecksum(gp.NetworkLayer())
		verify(t, "UDP", g)
	case d.Layers&LayerTCP != 0:
		g := gpFind[*layers.TCP](all)
		if g == nil || uint16(g.SrcPort) != d.TCP.SrcPort || uint16(g.DstPort) != d.TCP.DstPort || g.Seq != d.TCP.Seq || g.Checksum != d.TCP.Checksum.Or(0) {
			t.Fatalf("TCP: ours %+v, gopacket %+v", d.TCP, g)
		}
		_ = g.SetNetworkLayerForChecksum(gp.NetworkLayer())
		verify(t, "TCP", g)
	case d.Layers&LayerICMPv6 != 0:
		compareICMPv6(t, d, gp, all)
	default:
		t.Fatalf("no transport decoded: %v", d.Layers)
	}
}

func compareTLV(t *testing.T, e *IPv6Ext, kind, next, hel uint8, opts func(func(uint8, uint8, []byte))) {
	t.Helper()
	if e.Kind != kind || next != e.NextHeader.Or(0) || hel != e.HdrExtLen.Or(0) {
		t.Errorf("options header: ours %+v, gopacket next %d len %d", *e, next, hel)
	}
	off := 0
	opts(func(typ, l uint8, data []byte) {
		o, nx, err := NextIPv6Option(e.Data, off)
		if err != nil || o.Type != typ || (typ != IPv6OptPad1 && (o.Len != l || !bytes.Equal(o.Data, data))) {
			t.Errorf("option at %d: ours %+v %v, gopacket %d %d %x", off, o, err, typ, l, data)
		}
		off = nx
	})
	if off != len(e.Data) {
		t.Errorf("gopacket saw options up to byte %d of %d", off, len(e.Data))
	}
}

func compareICMPv6(t *testing.T, d *Decoded, gp gopacket.Packet, all []gopacket.Layer) {
	t.Helper()
	g := gpFind[*layers.ICMPv6](all)
	h := &d.ICMPv6
	if g == nil || g.TypeCode.Type() != h.Type || g.TypeCode.Code() != h.Code || g.Checksum != h.Checksum.Or(0) {
		t.Fatalf("ICMPv6: ours %+v, gopacket %+v", *h, g)
	}
	// gopacket's ICMPv6 decoder does not link its network layer.
	if err := g.SetNetworkLayerForChecksum(gp.NetworkLayer()); err != nil {
		t.Fatal(err)
	}
	verify(t, "ICMPv6", g)
	// gopacket's ICMPv6 payload starts at the rest-of-header word.
	if len(g.Payload) < 4 || binary.BigEndian.Uint32(g.Payload) != h.Rest || !bytes.Equal(g.Payload[4:], d.Payload) {
		t.Errorf("ICMPv6 rest/data differ")
	}
	var body NDP
	if IsNDP(h.Type) {
		var err error
		if body, err = ParseNDP(h, d.Payload); err != nil {
			t.Fatal(err)
		}
	}
	var gopts layers.ICMPv6Options
	switch h.Type {
	case ICMPv6EchoRequest, ICMPv6EchoReply:
		e := gpFind[*layers.ICMPv6Echo](all)
		if e == nil || e.Identifier != h.ID() || e.SeqNumber != h.Seq() {
			t.Errorf("echo: ours %d/%d, gopacket %+v", h.ID(), h.Seq(), e)
		}
		return
	case ICMPv6RouterSolicit:
		m := gpFind[*layers.ICMPv6RouterSolicitation](all)
		if m == nil {
			t.Fatal("gopacket: no RS")
		}
		gopts = m.Options
	case ICMPv6RouterAdvert:
		m := gpFind[*layers.ICMPv6RouterAdvertisement](all)
		if m == nil || m.HopLimit != body.CurHopLimit || m.Flags != body.Flags || m.RouterLifetime != body.RouterLifetime ||
			m.ReachableTime != body.ReachableTime || m.RetransTimer != body.RetransTimer {
			t.Fatalf("RA: ours %+v, gopacket %+v", body, m)
		}
		gopts = m.Options
	case ICMPv6NeighborSolicit:
		m := gpFind[*layers.ICMPv6NeighborSolicitation](all)
		if m == nil || !m.TargetAddress.Equal(body.Target.AsSlice()) {
			t.Fatalf("NS: ours %+v, gopacket %+v", body, m)
		}
		gopts = m.Options
	case ICMPv6NeighborAdvert:
		m := gpFind[*layers.ICMPv6NeighborAdvertisement](all)
		if m == nil || m.Flags != body.Flags || !m.TargetAddress.Equal(body.Target.AsSlice()) {
			t.Fatalf("NA: ours %+v, gopacket %+v", body, m)
		}
		gopts = m.Options
	case ICMPv6Redirect:
		m := gpFind[*layers.ICMPv6Redirect](all)
		if m == nil || !m.TargetAddress.Equal(body.Target.AsSlice()) || !m.DestinationAddress.Equal(body.Destination.AsSlice()) {
			t.Fatalf("redirect: ours %+v, gopacket %+v", body, m)
		}
		gopts = m.Options
	default:
		// An error: the quoted packet, as gopacket sees it past the rest word.
		var q Datagram
		if err := q.decode6(d.Payload, 0, true); err != nil || q.UDP.DstPort != 9999 {
			t.Errorf("quoted: %v %+v", err, q.UDP)
		}
		return
	}
	off := 0
	for _, o := range gopts {
		ours, nx, err := NextNDPOption(body.Options, off)
		if err != nil || ours.Type != uint8(o.Type) || !bytes.Equal(ours.Data, o.Data) {
			t.Errorf("NDP option at %d: ours %+v %v, gopacket %+v", off, ours, err, o)
		}
		off = nx
	}
	if off != len(body.Options) {
		t.Errorf("gopacket saw NDP options up to %d of %d", off, len(body.Options))
	}
}
