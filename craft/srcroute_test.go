package craft

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// lsrr returns a Loose Source Route option listing addrs, with pointer ptr.
func lsrr(ptr uint8, addrs ...netip.Addr) []byte {
	b := []byte{IPOptLSRR, uint8(3 + 4*len(addrs)), ptr}
	for _, a := range addrs {
		a4 := a.As4()
		b = append(b, a4[:]...)
	}
	return append(b, IPOptEOL)
}

// TestSourceRoutePseudoHeader: while a source route has addresses left,
// the TCP and UDP checksums cover the route's last address, the final
// destination, not the next hop in the header (the found disagreement:
// rawcraft called good what tshark, tcpdump and Linux's sender compute
// otherwise); once the route is done, the header's destination.
func TestSourceRoutePseudoHeader(t *testing.T) {
	src, hop := netip.MustParseAddr("198.18.1.3"), netip.MustParseAddr("198.18.1.1")
	via, final := netip.MustParseAddr("198.18.2.1"), netip.MustParseAddr("198.18.2.9")
	for _, c := range []struct {
		name string
		ptr  uint8
		want netip.Addr
	}{
		{"route with addresses left", 4, final},
		{"route half done", 8, final},
		{"route done (pointer past the end)", 12, hop},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := Packet{IPv4: &IPv4{Src: src, Dst: hop, Options: lsrr(c.ptr, via, final)},
				UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello")}
			b, err := p.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			// An independent sum: RFC 768's pseudo-header over c.want.
			seg := append([]byte(nil), b[32:]...)
			binary.BigEndian.PutUint16(seg[6:], 0)
			ps := append(append(src.AsSlice(), c.want.AsSlice()...), 0, ProtoUDP, 0, byte(len(seg)))
			want := naiveSum(append(ps, seg...))
			if got := binary.BigEndian.Uint16(b[32+6:]); got != want {
				t.Errorf("built UDP checksum 0x%04x, want 0x%04x (pseudo-header destination %v)", got, want, c.want)
			}
			var d Decoded
			if err := d.DecodeIP(b); err != nil {
				t.Fatal(err)
			}
			for _, r := range d.Checksums(nil) {
				if r.Status != ChecksumGood {
					t.Errorf("%v checksum %v (got 0x%04x want 0x%04x)", r.Layer, r.Status, r.Got, r.Want)
				}
			}
		})
	}
}

func naiveSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// TestHomeAddressPseudoHeader: with a Home Address destination option
// (Mobile IPv6), the transport checksum covers the home address in place
// of the source, as tshark and Linux compute it (RFC 6275 §6.3; found by
// the tshark differential harness).
func TestHomeAddressPseudoHeader(t *testing.T) {
	coa, home := netip.MustParseAddr("2001:2:0:2::3"), netip.MustParseAddr("2001:2:0:1::3")
	dst := netip.MustParseAddr("2001:2:0:1::1")
	h16 := home.As16()
	p := Packet{IPv6: &IPv6{Src: coa, Dst: dst}, IPv6Ext: []IPv6Ext{DestOpts(append(AppendIPv6OptPadN(nil, 4), AppendIPv6Opt(nil, IPv6OptHomeAddress, h16[:])...))},
		UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello")}
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	seg := append([]byte(nil), b[len(b)-13:]...)
	binary.BigEndian.PutUint16(seg[6:], 0)
	ps := append(append(home.AsSlice(), dst.AsSlice()...), 0, 0, 0, byte(len(seg)), 0, 0, 0, ProtoUDP)
	want := naiveSum(append(ps, seg...))
	if want == 0 {
		want = 0xffff
	}
	if got := binary.BigEndian.Uint16(b[len(b)-13+6:]); got != want {
		t.Errorf("built UDP checksum 0x%04x, want 0x%04x (over the home address)", got, want)
	}
	d := Decoded{AcceptIPv6: true}
	if err := d.DecodeIP(b); err != nil {
		t.Fatal(err)
	}
	for _, r := range d.Checksums(nil) {
		if r.Status != ChecksumGood {
			t.Errorf("%v checksum %v", r.Layer, r.Status)
		}
	}
}
