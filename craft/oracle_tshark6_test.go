package craft_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
)

var (
	o6c = netip.MustParseAddr("2001:2:0:1::3")
	o6s = netip.MustParseAddr("2001:2:0:1::1")
)

func oracleRows6(t testing.TB) []oracleRow {
	ip := func() *craft.IPv6 { return &craft.IPv6{Src: o6c, Dst: o6s, FlowLabel: 0x12345} }
	udp := func() *craft.UDP { return &craft.UDP{SrcPort: 40000, DstPort: 9999} }
	probe, err := (&craft.Packet{IPv6: ip(), UDP: udp(), Payload: bytes.Repeat([]byte{'x'}, 1400)}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	ptb := craft.PacketTooBig(1280)
	echo := craft.Echo6(7, 1)
	ns := craft.NDP{Type: craft.ICMPv6NeighborSolicit, Target: o6s, Options: craft.AppendNDPOptLinkAddr(nil, craft.NDPOptSourceLinkAddr, craft.MAC{2, 0, 0, 0, 0, 3})}
	nsh := ns.Header()
	ra := craft.NDP{Type: craft.ICMPv6RouterAdvert, CurHopLimit: 64, RouterLifetime: 1800,
		Options: craft.AppendNDPOptMTU(craft.AppendNDPOptPrefix(nil, netip.MustParsePrefix("2001:2:0:1::/64"), craft.PrefixOnLink|craft.PrefixAutonomous, 86400, 14400), 1500)}
	rah := ra.Header()
	return []oracleRow{
		{name: "v6 UDP", p: craft.Packet{Ethernet: eth(), IPv6: ip(), UDP: udp(), Payload: []byte("Hello\n")}},
		{name: "v6 UDP bad checksum", p: craft.Packet{Ethernet: eth(), IPv6: ip(), UDP: &craft.UDP{SrcPort: 1, DstPort: 2, Checksum: craft.Set[uint16](0x1234)}, Payload: []byte("Hello\n")}},
		{name: "v6 UDP zero checksum", p: craft.Packet{Ethernet: eth(), IPv6: ip(), UDP: &craft.UDP{SrcPort: 1, DstPort: 2, Checksum: craft.Set[uint16](0)}, Payload: []byte("Hello\n")}},
		{name: "v6 TCP SYN", p: craft.Packet{Ethernet: eth(), IPv6: ip(), TCP: &craft.TCP{SrcPort: 40000, DstPort: 80, Flags: craft.TCPSyn, Window: 64800, Options: synOpts()}}},
		{name: "v6 echo, hop-by-hop, dest opts, atomic fragment", p: craft.Packet{Ethernet: eth(), IPv6: ip(),
			IPv6Ext: []craft.IPv6Ext{craft.HopByHop(craft.AppendIPv6OptRouterAlert(nil, 0)), craft.DestOpts(nil), craft.FragmentExt(0, false, 0xabcdef01)},
			ICMPv6:  &echo, Payload: []byte("ping")}},
		{name: "v6 packet too big", p: craft.Packet{Ethernet: eth(), IPv6: &craft.IPv6{Src: o6s, Dst: o6c}, ICMPv6: &ptb, Payload: craft.QuoteV6(probe)}},
		{name: "v6 neighbor solicitation", p: craft.Packet{Ethernet: eth(), IPv6: &craft.IPv6{Src: o6c, Dst: netip.MustParseAddr("ff02::1:ff00:1"), HopLimit: craft.Set[uint8](255)}, ICMPv6: &nsh, Payload: ns.AppendBody(nil)}},
		{name: "v6 router advertisement", p: craft.Packet{Ethernet: eth(), IPv6: &craft.IPv6{Src: netip.MustParseAddr("fe80::1"), Dst: netip.MustParseAddr("ff02::1"), HopLimit: craft.Set[uint8](255)}, ICMPv6: &rah, Payload: ra.AppendBody(nil)}},
	}
}

// TestIPv6AgainstTshark builds IPv6 packets and asserts that tshark reads
// the same header fields and reaches the same checksum verdicts.
func TestIPv6AgainstTshark(t *testing.T) {
	tshark := oracle.Require(t, "tshark")
	rows := oracleRows6(t)
	frames := make([][]byte, len(rows))
	for i, r := range rows {
		b, err := r.p.Append(nil)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		frames[i] = b
	}
	ts := runTshark(t, tshark, frames)
	for i, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			m := ts[i]
			d := craft.Decoded{AcceptIPv6: true}
			if err := d.DecodeFrame(frames[i]); err != nil {
				t.Fatal(err)
			}
			if len(m["_ws.malformed"]) > 0 {
				t.Errorf("tshark finds it malformed: %v", m["_ws.expert.message"])
			}
			first := func(k string) string {
				if len(m[k]) == 0 {
					return "(none)"
				}
				return m[k][0]
			}
			eq := func(k, want string) {
				t.Helper()
				if got := first(k); got != want {
					t.Errorf("%s: tshark %s, rawcraft %s", k, got, want)
				}
			}
			h := &d.IPv6
			eq("ipv6.plen", fmt.Sprint(h.PayloadLen.Or(0)))
			eq("ipv6.nxt", fmt.Sprint(h.NextHeader.Or(0)))
			eq("ipv6.hlim", fmt.Sprint(h.HopLimit.Or(0)))
			eq("ipv6.flow", fmt.Sprintf("0x%06x", h.FlowLabel))
			eq("ipv6.src", h.Src.String())
			eq("ipv6.dst", h.Dst.String())
			if f := d.FragExt(); f != nil {
				eq("ipv6.fraghdr.ident", fmt.Sprintf("0x%08x", f.Ident()))
				eq("ipv6.fraghdr.offset", fmt.Sprint(f.FragOffset()))
				eq("ipv6.fraghdr.nxt", fmt.Sprint(f.NextHeader.Or(0)))
			}
			for _, c := range d.Checksums(nil) {
				if c.Quoted {
					continue
				}
				k := map[craft.Layer]string{craft.LayerTCP: "tcp", craft.LayerUDP: "udp", craft.LayerICMPv6: "icmpv6"}[c.Layer]
				if c.Layer == craft.LayerUDP && c.Got == 0 {
					// Bad to rawcraft, "illegal" (4) to tshark: RFC 8200 §8.1.
					eq("udp.checksum.status", "4")
					if c.Status != craft.ChecksumBad {
						t.Errorf("a zero UDP checksum over IPv6 is %v", c.Status)
					}
					continue
				}
				eq(k+".checksum.status", tsharkStatus[c.Status])
				if c.Status == craft.ChecksumBad {
					eq(k+".checksum_calculated", fmt.Sprintf("0x%04x", c.Want))
				}
			}
			if d.Layers&craft.LayerICMPv6 != 0 {
				eq("icmpv6.type", fmt.Sprint(d.ICMPv6.Type))
				eq("icmpv6.code", fmt.Sprint(d.ICMPv6.Code))
				if d.ICMPv6.Type == craft.ICMPv6PacketTooBig {
					eq("icmpv6.mtu", fmt.Sprint(d.ICMPv6.Rest))
					// tshark reads the quoted packet as we do.
					if got := m["ipv6.plen"]; len(got) < 2 || got[1] != fmt.Sprint(d.Quoted.IPv6.PayloadLen.Or(0)) {
						t.Errorf("quoted payload length: tshark %v, rawcraft %d", got, d.Quoted.IPv6.PayloadLen.Or(0))
					}
				}
				if d.ICMPv6.Type == craft.ICMPv6NeighborSolicit {
					n, _ := craft.ParseNDP(&d.ICMPv6, d.Payload)
					eq("icmpv6.nd.ns.target_address", n.Target.String())
					eq("icmpv6.opt.linkaddr", "02:00:00:00:00:03")
				}
				if d.ICMPv6.Type == craft.ICMPv6RouterAdvert {
					eq("icmpv6.opt.prefix", "2001:2:0:1::")
					eq("icmpv6.opt.mtu", "1500")
				}
			}
		})
	}
}
