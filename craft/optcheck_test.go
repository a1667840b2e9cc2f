package craft

import (
	"errors"
	"net/netip"
	"testing"
)

// TestLyingOptionsAreMalformed: an option whose length runs past its header
// makes the packet malformed, as tshark says and receivers act (found by
// the tshark differential harness: rawcraft's verdict was nil), while the
// layers after it are still decoded; TCP options, which Linux reads past,
// are not a verdict on the packet.
func TestLyingOptionsAreMalformed(t *testing.T) {
	v4s, v4d := netip.MustParseAddr("198.18.1.3"), netip.MustParseAddr("198.18.1.1")
	v6s, v6d := netip.MustParseAddr("2001:2:0:1::3"), netip.MustParseAddr("2001:2:0:1::1")
	ns := NDP{Type: ICMPv6NeighborSolicit, Target: v6d}
	nsh := ns.Header()
	for _, c := range []struct {
		name  string
		p     Packet
		field string // "" for no error
		layer Layer
	}{
		{"IPv4 option past the header", Packet{IPv4: &IPv4{Src: v4s, Dst: v4d, Options: []byte{IPOptRR, 39, 4, 0}}, UDP: &UDP{SrcPort: 1, DstPort: 2}}, "IPv4 option length", LayerUDP},
		{"IPv4 option length 1", Packet{IPv4: &IPv4{Src: v4s, Dst: v4d, Options: []byte{IPOptTimestamp, 1, 0, 0}}, UDP: &UDP{SrcPort: 1, DstPort: 2}}, "IPv4 option length", LayerUDP},
		{"IPv4 options fine", Packet{IPv4: &IPv4{Src: v4s, Dst: v4d, Options: AppendIPOptRecordRoute(nil, 2)}, UDP: &UDP{SrcPort: 1, DstPort: 2}}, "", LayerUDP},
		{"IPv6 dest option past the header", Packet{IPv6: &IPv6{Src: v6s, Dst: v6d}, IPv6Ext: []IPv6Ext{DestOpts([]byte{0x1e, 30})}, UDP: &UDP{SrcPort: 1, DstPort: 2}}, "IPv6 ext option length", LayerUDP},
		{"NDP option length 0", Packet{IPv6: &IPv6{Src: v6s, Dst: v6d, HopLimit: Set[uint8](255)}, ICMPv6: &nsh, Payload: append(ns.AppendBody(nil), 1, 0, 0, 0, 0, 0, 0, 0)}, "NDP option length", LayerICMPv6},
		{"NDP body cut", Packet{IPv6: &IPv6{Src: v6s, Dst: v6d, HopLimit: Set[uint8](255)}, ICMPv6: &nsh, Payload: ns.AppendBody(nil)[:10]}, "NDP body", LayerICMPv6},
		{"TCP option past the options", Packet{IPv4: &IPv4{Src: v4s, Dst: v4d}, TCP: &TCP{SrcPort: 1, DstPort: 2, Options: []byte{TCPOptSACK, 30, 0, 0}}}, "", LayerTCP},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := c.p.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			d := Decoded{AcceptIPv6: true}
			err = d.DecodeIP(b)
			var pe *ParseError
			switch {
			case c.field == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case c.field != "" && (!errors.As(err, &pe) || !errors.Is(err, ErrMalformed) || pe.Layer+" "+pe.Field != c.field):
				t.Errorf("error %v, want ErrMalformed at %s", err, c.field)
			}
			if d.Layers&c.layer == 0 {
				t.Errorf("layers %v: %v not decoded", d.Layers, c.layer)
			}
		})
	}
}
