package craft_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
)

var (
	oHc6 = netip.MustParseAddr("2001:2:0:1::3")
	oHs6 = netip.MustParseAddr("2001:2:0:1::1")
	oMc6 = netip.MustParseAddr("ff02::1:ff00:1")
)

// explainCase is one packet of the explanation corpus: an IP packet, or an
// Ethernet frame when frame is set.
type explainCase struct {
	name  string
	b     []byte
	frame bool
}

func (c explainCase) fields() []craft.Field {
	d := craft.Decoded{AcceptIPv6: true}
	if c.frame {
		_ = d.DecodeFrame(c.b)
	} else {
		_ = d.DecodeIP(c.b)
	}
	return craft.Explain(&d)
}

func build(t testing.TB, p craft.Packet) []byte {
	t.Helper()
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mldBody builds the body (after the 8-byte header) of an MLD message.
func mldQueryV2(maxResp uint16, group netip.Addr, s bool, qrv, qqic uint8, sources ...netip.Addr) (craft.ICMPv6, []byte) {
	g := group.As16()
	b := append([]byte(nil), g[:]...)
	flags := qrv & 7
	if s {
		flags |= 8
	}
	b = append(b, flags, qqic)
	b = binary.BigEndian.AppendUint16(b, uint16(len(sources)))
	for _, a := range sources {
		x := a.As16()
		b = append(b, x[:]...)
	}
	return craft.ICMPv6{Type: craft.ICMPv6MLDQuery, Rest: uint32(maxResp) << 16}, b
}

type mldRec struct {
	typ     uint8
	group   netip.Addr
	sources []netip.Addr
	aux     []byte
}

func mldReportV2(recs ...mldRec) (craft.ICMPv6, []byte) {
	var b []byte
	for _, r := range recs {
		b = append(b, r.typ, byte(len(r.aux)/4))
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.sources)))
		g := r.group.As16()
		b = append(b, g[:]...)
		for _, a := range r.sources {
			x := a.As16()
			b = append(b, x[:]...)
		}
		b = append(b, r.aux...)
	}
	return craft.ICMPv6{Type: craft.ICMPv6MLDv2Report, Rest: uint32(len(recs))}, b
}

func mldV1(typ uint8, maxResp uint16, group netip.Addr) (craft.ICMPv6, []byte) {
	g := group.As16()
	return craft.ICMPv6{Type: typ, Rest: uint32(maxResp) << 16}, g[:]
}

// withMPLS pads quote to 128 bytes and appends an MPLS extension.
func withMPLS(quote []byte, stack ...craft.MPLSEntry) []byte {
	b := append([]byte(nil), quote...)
	for len(b) < craft.ICMPExtMinQuote {
		b = append(b, 0)
	}
	return craft.AppendMPLSExtension(b, stack)
}

// explainCorpus holds a packet of every layer and message rawcraft
// explains: the tshark matrix, IPv6 with extension headers, NDP, MLD,
// ICMP and ICMPv6 errors with RFC 4884 extensions, ARP.
func explainCorpus(t testing.TB) []explainCase {
	var cs []explainCase
	for _, r := range oracleMatrix(t) {
		cs = append(cs, explainCase{r.name, build(t, r.p), true})
	}
	udp := craft.Packet{IPv4: &craft.IPv4{Src: oHc, Dst: oHs, ID: 7}, UDP: &craft.UDP{SrcPort: 33434, DstPort: 33435}, Payload: []byte("probe")}
	quote := build(t, udp) // a router quotes up to 128 bytes: here the whole datagram
	stack := []craft.MPLSEntry{{Label: 16001, TTL: 1}, {Label: 299776, TC: 5, S: true, TTL: 1}}
	icmp := func(name string, h craft.ICMP, body []byte) {
		cs = append(cs, explainCase{name, build(t, craft.Packet{IPv4: &craft.IPv4{Src: oHs, Dst: oHc}, ICMP: &h, Payload: body}), false})
	}
	icmp("time exceeded with MPLS extension", craft.ICMP{Type: craft.ICMPTimeExceeded, Rest: 32 << 16}, withMPLS(quote, stack...))
	icmp("time exceeded with MPLS extension, no length (RFC 4884 §5)", craft.ICMP{Type: craft.ICMPTimeExceeded}, withMPLS(quote, stack...))
	icmp("unreachable with a length and no extension", craft.ICMP{Type: craft.ICMPUnreachable, Code: 1, Rest: 7 << 16}, quote)
	icmp("frag needed with MPLS extension", craft.ICMP{Type: craft.ICMPUnreachable, Code: craft.CodeFragNeeded, Rest: 32<<16 | 1400}, withMPLS(quote, stack[1]))
	icmp("parameter problem with MPLS extension", craft.ICMP{Type: craft.ICMPParamProblem, Rest: 20<<24 | 32<<16}, withMPLS(quote, stack...))
	icmp("time exceeded, unknown extension object", craft.ICMP{Type: craft.ICMPTimeExceeded, Rest: 32 << 16},
		func() []byte {
			b := withMPLS(quote)
			b = append(b[:craft.ICMPExtMinQuote], 0x20, 0, 0, 0, 0, 8, 2, 1, 0, 0, 0, 7)
			binary.BigEndian.PutUint16(b[craft.ICMPExtMinQuote+2:], craft.Checksum(b[craft.ICMPExtMinQuote:]))
			return b
		}())
	// scapy #1773: a sender that sums the extension header alone; and a
	// structure of another version. The length field still places them.
	badSum := withMPLS(quote, stack...)
	badSum[craft.ICMPExtMinQuote+2] ^= 0x55
	icmp("time exceeded, extension checksum bad", craft.ICMP{Type: craft.ICMPTimeExceeded, Rest: 32 << 16}, badSum)
	v1 := withMPLS(quote, stack...)
	v1[craft.ICMPExtMinQuote] = 0x10
	binary.BigEndian.PutUint16(v1[craft.ICMPExtMinQuote+2:], 0)
	binary.BigEndian.PutUint16(v1[craft.ICMPExtMinQuote+2:], craft.Checksum(v1[craft.ICMPExtMinQuote:]))
	icmp("time exceeded, extension version 1", craft.ICMP{Type: craft.ICMPTimeExceeded, Rest: 32 << 16}, v1)
	icmp("echo request", craft.Echo(1, 2), []byte("ping"))
	icmp("redirect", craft.ICMP{Type: craft.ICMPRedirect, Rest: 0xc6120102}, quote)

	v6 := func(name string, h craft.ICMPv6, body []byte, ext ...craft.IPv6Ext) {
		cs = append(cs, explainCase{name, build(t, craft.Packet{IPv6: &craft.IPv6{Src: oHc6, Dst: oHs6, HopLimit: craft.Set[uint8](1)}, IPv6Ext: ext, ICMPv6: &h, Payload: body}), false})
	}
	hbh := craft.HopByHop(craft.AppendIPv6OptRouterAlert(nil, 0))
	h, b := mldV1(craft.ICMPv6MLDQuery, 10000, netip.IPv6Unspecified())
	v6("MLDv1 general query", h, b, hbh)
	h, b = mldV1(craft.ICMPv6MLDReport, 0, oMc6)
	v6("MLDv1 report", h, b, hbh)
	h, b = mldV1(craft.ICMPv6MLDDone, 0, oMc6)
	v6("MLD done", h, b, hbh)
	h, b = mldQueryV2(0x8abc, oMc6, true, 2, 0x95, oHs6, oHc6)
	v6("MLDv2 source-specific query", h, b, hbh)
	h, b = mldQueryV2(1000, netip.IPv6Unspecified(), false, 2, 125)
	v6("MLDv2 general query", h, b, hbh)
	h, b = mldReportV2(mldRec{typ: 4, group: oMc6}, mldRec{typ: 1, group: netip.MustParseAddr("ff3e::8000:1"), sources: []netip.Addr{oHs6}, aux: []byte{1, 2, 3, 4}})
	v6("MLDv2 report, two records", h, b, hbh)

	udp6 := craft.Packet{IPv6: &craft.IPv6{Src: oHc6, Dst: netip.MustParseAddr("2001:2:0:2::1")}, UDP: &craft.UDP{SrcPort: 33434, DstPort: 33435}, Payload: []byte("probe")}
	q6 := build(t, udp6)
	v6("ICMPv6 time exceeded with MPLS extension", craft.ICMPv6{Type: craft.ICMPv6TimeExceeded, Rest: 16 << 24}, withMPLS(q6, stack...))
	v6("ICMPv6 unreachable, no extension", craft.Unreachable6(craft.CodeV6PortUnreachable), q6)
	v6("packet too big", craft.PacketTooBig(1280), q6)
	v6("echo request through extension headers", craft.Echo6(1, 1), []byte("ping"),
		craft.HopByHop(craft.AppendIPv6OptPadN(craft.AppendIPv6OptRouterAlert(nil, 0), 2)),
		craft.DestOpts(craft.AppendIPv6Opt(nil, 0x1e, []byte{1, 2, 3})),
		craft.FragmentExt(0, false, 9))
	ns := craft.NDP{Type: craft.ICMPv6NeighborSolicit, Target: oHs6, Options: craft.AppendNDPOptLinkAddr(nil, craft.NDPOptSourceLinkAddr, craft.MAC{2, 0, 0, 0, 1, 3})}
	v6("neighbor solicitation", ns.Header(), ns.AppendBody(nil))
	na := craft.NDP{Type: craft.ICMPv6NeighborAdvert, Flags: 0x60, Target: oHs6}
	v6("neighbor advertisement", na.Header(), na.AppendBody(nil))
	ra := craft.NDP{Type: craft.ICMPv6RouterAdvert, CurHopLimit: 64, RouterLifetime: 1800, ReachableTime: 30000, RetransTimer: 1000,
		Options: craft.AppendNDPOptLinkAddr(nil, craft.NDPOptSourceLinkAddr, craft.MAC{2, 0, 0, 0, 1, 1})}
	v6("router advertisement", ra.Header(), ra.AppendBody(nil))
	rs := craft.NDP{Type: craft.ICMPv6RouterSolicit}
	v6("router solicitation", rs.Header(), rs.AppendBody(nil))
	rd := craft.NDP{Type: craft.ICMPv6Redirect, Target: oHs6, Destination: oHc6}
	v6("redirect", rd.Header(), rd.AppendBody(nil))
	v6("echo reply through a routing header", craft.EchoReply6(1, 1), []byte("pong"), craft.RoutingType0(0, oHs6))
	cs = append(cs, explainCase{"IPv4 carrying GRE (no transport rawcraft decodes)", build(t, craft.Packet{IPv4: &craft.IPv4{Src: oHc, Dst: oHs, Protocol: craft.Set[uint8](47)}, Payload: []byte("gre!")}), false})
	cs = append(cs, explainCase{"TCP over IPv6 with options", build(t, craft.Packet{IPv6: &craft.IPv6{Src: oHc6, Dst: oHs6},
		TCP: &craft.TCP{SrcPort: 1, DstPort: 2, Flags: craft.TCPSyn, Options: append(craft.AppendTCPOptNOP(craft.AppendTCPOptMSS(nil, 1440)), 34, 2, 1, 0)}}), false})
	arp := craft.Packet{Ethernet: &craft.Ethernet{Dst: craft.Broadcast, Src: craft.MAC{2, 0, 0, 0, 1, 3}}, ARP: &craft.ARP{Op: craft.ARPRequest, SenderHW: craft.MAC{2, 0, 0, 0, 1, 3}, SenderIP: oHc, TargetIP: oHs}}
	cs = append(cs, explainCase{"ARP request", build(t, arp), true})
	return cs
}

var _ = bytes.Equal
