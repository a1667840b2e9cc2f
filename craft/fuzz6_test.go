package craft

import (
	"bytes"
	"testing"
)

func seedPackets6(f *testing.F, frames bool) {
	for _, g := range goldens6(f) {
		p := g.p
		if frames && p.Ethernet == nil {
			p.Ethernet = &Ethernet{}
		}
		if !frames {
			p.Ethernet = nil
		}
		b := mustBuild(f, p)
		f.Add(b)
		for _, n := range []int{1, 14, 40, 41, 47, 48, 54, 62} {
			if n < len(b) {
				f.Add(b[:n])
			}
		}
	}
}

// checkDecoded6 runs what a listener runs and, for a packet that decoded
// whole, rebuilds it from the decoded layers: the same bytes must come out.
func checkDecoded6(t *testing.T, d *Decoded, in []byte, err error) {
	checkDecoded(t, d, in, err)
	_ = d.Summary()
	for _, g := range []*Datagram{&d.Datagram, &d.Quoted} {
		for _, e := range g.Exts() {
			if len(e.Data) > 0 && !inside(e.Data, in) {
				t.Fatalf("an extension header's data points outside the input")
			}
		}
	}
	if d.Layers&LayerICMPv6 != 0 && IsNDP(d.ICMPv6.Type) {
		if n, err := ParseNDP(&d.ICMPv6, d.Payload); err == nil {
			for off := 0; off < len(n.Options); {
				_, next, _ := NextNDPOption(n.Options, off)
				if next <= off {
					t.Fatalf("NDP options do not advance at %d", off)
				}
				off = next
			}
		}
	}
	if err != nil || d.Truncated || len(d.Trailer) > 0 || d.Layers&LayerIPv6 == 0 || d.Frag == LaterFragment {
		return
	}
	p := Packet{IPv6: &d.IPv6, IPv6Ext: d.Exts(), Payload: d.Payload}
	if d.Link&LayerEthernet != 0 {
		p.Ethernet = &d.Ethernet
	}
	switch {
	case d.Layers&LayerTCP != 0:
		p.TCP = &d.TCP
	case d.Layers&LayerUDP != 0:
		p.UDP = &d.UDP
	case d.Layers&LayerICMPv6 != 0:
		p.ICMPv6 = &d.ICMPv6
	}
	if d.Layers&(LayerTCP|LayerUDP|LayerICMPv6) != 0 && d.TransportLen < 8 {
		return
	}
	if d.Layers&LayerUDP != 0 && int(d.UDP.Length.Or(0)) < len(d.l4) {
		return // bytes past the UDP length are not its data
	}
	b, err := p.Append(nil)
	if err == nil && len(b) == len(in) && !bytes.Equal(b, in) {
		t.Fatalf("decoded and rebuilt:\n in  %x\n out %x", in, b)
	}
}

func FuzzDecodeIPv6(f *testing.F) {
	seedPackets6(f, false)
	// A first fragment holding no UDP header, once summarised as UDP :0;
	// a payload length of 0 without a Jumbo option (offload).
	f.Add(mustBuild(f, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{FragmentExt(0, true, 0x42)}, Payload: nil}))
	f.Add(mustBuild(f, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6, PayloadLen: Set[uint16](0)}, TCP: &TCP{SrcPort: 1, DstPort: 2}, Payload: []byte("data")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := Decoded{AcceptIPv6: true}
		in := b[:len(b):len(b)]
		err := d.DecodeIP(in)
		checkDecoded6(t, &d, in, err)
	})
}

func FuzzDecodeFrameIPv6(f *testing.F) {
	seedPackets6(f, true)
	f.Fuzz(func(t *testing.T, b []byte) {
		d := Decoded{AcceptIPv6: true}
		in := b[:len(b):len(b)]
		err := d.DecodeFrame(in)
		checkDecoded6(t, &d, in, err)
	})
}

func FuzzIPv6Options(f *testing.F) {
	f.Add(AppendIPv6OptRouterAlert(AppendIPv6OptPadN(nil, 3), 0))
	f.Add([]byte{1, 200, 0})
	f.Add([]byte{0xc2})
	f.Fuzz(func(t *testing.T, b []byte) {
		for off := 0; off < len(b); {
			o, next, _ := NextIPv6Option(b, off)
			if next <= off || next > len(b) {
				t.Fatalf("option at %d: next %d of %d", off, next, len(b))
			}
			_ = DescribeIPv6Option(o)
			off = next
		}
		e := DestOpts(b)
		buf := make([]byte, e.Len())
		if len(b) <= 2040 {
			if err := e.encode(buf, ProtoNoNext); err != nil {
				t.Fatal(err)
			}
			if len(buf)%8 != 0 || !bytes.Equal(buf[2:2+len(b)], b) {
				t.Fatalf("encoded %x from %x", buf, b)
			}
		}
	})
}

func FuzzNDP(f *testing.F) {
	for _, g := range goldens6(f) {
		if g.p.ICMPv6 != nil && IsNDP(g.p.ICMPv6.Type) {
			f.Add(g.p.ICMPv6.Type, g.p.ICMPv6.Rest, g.p.Payload)
		}
	}
	f.Fuzz(func(t *testing.T, typ uint8, rest uint32, body []byte) {
		h := ICMPv6{Type: typ, Rest: rest}
		n, err := ParseNDP(&h, body)
		if err != nil {
			return
		}
		for off := 0; off < len(n.Options); {
			o, next, _ := NextNDPOption(n.Options, off)
			if next <= off || next > len(n.Options) {
				t.Fatalf("option at %d: next %d", off, next)
			}
			_ = DescribeNDPOption(o)
			off = next
		}
		// Rebuilt, the message is the same.
		if hh := n.Header(); (hh.Rest != rest && (typ == ICMPv6RouterAdvert || typ == ICMPv6NeighborAdvert && rest&0xffffff == 0)) ||
			!bytes.Equal(n.AppendBody(nil), body) {
			t.Fatalf("rebuilt %+v, body %x", hh, n.AppendBody(nil))
		}
	})
}

func FuzzFragments6(f *testing.F) {
	seedPackets6(f, false)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, o := range []FragOptions6{{FragOptions: FragOptions{DataSize: 16}, ID: 1}, {FragOptions: FragOptions{DataSize: 24, TinyFirst: 8, Overlap: 8}}, {Atomic: true}} {
			_, frags, err := Fragments6(nil, nil, b, o)
			if err != nil {
				continue
			}
			for _, fr := range frags {
				d := Decoded{AcceptIPv6: true}
				_ = d.DecodeIP(fr.Bytes)
				_ = ChainSplit(fr.Bytes)
				if fe := d.FragExt(); d.NExt < MaxIPv6Ext && (fe == nil || int(fe.FragOffset())*8 != fr.Offset) {
					t.Fatalf("fragment %d at %d: decoded %+v", fr.Index, fr.Offset, fe)
				}
			}
		}
	})
}
