package craft

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

// addr6Of is an address in 2001:2:0:1::/64 whose low 32 bits are v.
func addr6Of(v uint32) netip.Addr {
	a := hc6.As16()
	binary.BigEndian.PutUint32(a[12:], v)
	return netip.AddrFrom16(a)
}

// The IPv6 setters, each beside the same change made to a Packet.
var tmplOps6 = []tmplOp{
	{"SetIPID", 0, func(t *Template, v uint32) { t.SetIPID(uint16(v)) }, func(p *Packet, v uint32) {}},
	{"SetTTL", LayerIPv6, func(t *Template, v uint32) { t.SetTTL(uint8(v)) }, func(p *Packet, v uint32) { p.IPv6.HopLimit = Set(uint8(v)) }},
	{"SetSrc", LayerIPv6, func(t *Template, v uint32) { t.SetSrc(addr6Of(v)) }, func(p *Packet, v uint32) { p.IPv6.Src = addr6Of(v) }},
	{"SetDst", LayerIPv6, func(t *Template, v uint32) { t.SetDst(addr6Of(v)) }, func(p *Packet, v uint32) { p.IPv6.Dst = addr6Of(v) }},
	tmplOps[4], tmplOps[5], tmplOps[6], tmplOps[7],
	{"SetICMPID", LayerICMPv6, func(t *Template, v uint32) { t.SetICMPID(uint16(v)) }, func(p *Packet, v uint32) {
		if p.ICMPv6 != nil {
			p.ICMPv6.Rest = uint32(uint16(v))<<16 | p.ICMPv6.Rest&0xffff
		}
	}},
	{"SetICMPSeq", LayerICMPv6, func(t *Template, v uint32) { t.SetICMPSeq(uint16(v)) }, func(p *Packet, v uint32) {
		if p.ICMPv6 != nil {
			p.ICMPv6.Rest = p.ICMPv6.Rest&0xffff0000 | uint32(uint16(v))
		}
	}},
}

func carried6(op tmplOp, p *Packet, later bool) bool {
	switch {
	case op.layer == 0:
		return false
	case op.layer == LayerIPv6:
		return true
	case later:
		return false
	}
	return op.layer&LayerTCP != 0 && p.TCP != nil || op.layer&LayerUDP != 0 && p.UDP != nil || op.layer&LayerICMPv6 != 0 && p.ICMPv6 != nil
}

type tmplShape6 struct {
	name  string
	p     func() Packet
	later bool // a later fragment: the transport is data
}

func tmplShapes6() []tmplShape6 {
	mac := MAC{2, 0, 0, 0, 0, 3}
	echo := func() *ICMPv6 { e := Echo6(0x1234, 1); return &e }
	return []tmplShape6{
		{"Ethernet TCP SYN", func() Packet {
			return Packet{Ethernet: &Ethernet{Dst: mHs, Src: mHc}, IPv6: &IPv6{Src: hc6, Dst: hs6, FlowLabel: 0x12345},
				TCP: &TCP{SrcPort: 40000, DstPort: 9999, Seq: 1, Flags: TCPSyn, Window: 64240, Options: AppendTCPOptMSS(nil, 1440)}}
		}, false},
		{"IPv6 UDP odd data", func() Packet {
			return Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello")}
		}, false},
		{"Ethernet ICMPv6 echo", func() Packet {
			return Packet{Ethernet: &Ethernet{Dst: mHs, Src: mHc}, IPv6: &IPv6{Src: hc6, Dst: hs6}, ICMPv6: echo(), Payload: bytes.Repeat([]byte{0xa5}, 56)}
		}, false},
		{"hop-by-hop and destination options before TCP", func() Packet {
			return Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{HopByHop(AppendIPv6OptRouterAlert(nil, 0)), DestOpts(AppendIPv6OptPadN(nil, 12))},
				TCP: &TCP{SrcPort: 1, DstPort: 2, Flags: TCPAck, Ack: 9}, Payload: []byte("data")}
		}, false},
		{"routing header: the pseudo-header's destination is the last address", func() Packet {
			return Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{RoutingType0(1, hf6)}, UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: []byte("x")}
		}, false},
		{"first fragment (M set)", func() Packet {
			return Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{FragmentExt(0, true, 0xdeadbeef)}, UDP: &UDP{SrcPort: 1, DstPort: 2, Length: Set[uint16](100)}, Payload: make([]byte, 16)}
		}, false},
		{"later fragment (offset 3)", func() Packet {
			return Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{FragmentExt(3, false, 0xdeadbeef)}, UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: make([]byte, 16)}
		}, true},
		{"forced checksums", func() Packet {
			return Packet{Ethernet: &Ethernet{Src: mac}, IPv6: &IPv6{Src: hc6, Dst: hs6}, TCP: &TCP{SrcPort: 1, DstPort: 2, Checksum: Set[uint16](0xbeef)}}
		}, false},
		{"UDP checksum 0, forced (RFC 8200 forbids it)", func() Packet {
			return Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, UDP: &UDP{SrcPort: 1, DstPort: 2, Checksum: Set[uint16](0)}, Payload: []byte("zero")}
		}, false},
		{"IPv4-mapped addresses", func() Packet {
			return Packet{IPv6: &IPv6{Src: hc, Dst: hs}, ICMPv6: echo()}
		}, false},
	}
}

// Every IPv6 setter on every shape, with corner values: the patched bytes
// equal the packet built again, an absent field changes nothing, and
// ParseTemplate finds the same offsets in the built bytes.
func TestTemplate6SettersAgreeWithRebuild(t *testing.T) {
	for _, sh := range tmplShapes6() {
		for _, op := range tmplOps6 {
			t.Run(sh.name+"/"+op.name, func(t *testing.T) {
				p := sh.p()
				tm, err := p.Template(nil)
				if err != nil {
					t.Fatal(err)
				}
				parsed, err := ParseTemplate(bytes.Clone(tm.Bytes()), p.Ethernet != nil)
				if err != nil {
					t.Fatal(err)
				}
				forced := p.TCP != nil && p.TCP.Checksum.IsSet() || p.UDP != nil && p.UDP.Checksum.IsSet() && p.UDP.Checksum.Or(0) != 0
				if parsed.l4 != tm.l4 || parsed.layers != tm.layers || !forced && parsed.l4Sum != tm.l4Sum || parsed.routed != tm.routed {
					t.Fatalf("parsed %+v, built %+v", parsed, tm)
				}
				if !tm.Carries(LayerIPv6) || tm.Carries(LayerIPv4) {
					t.Fatalf("carries %v", tm.layers)
				}
				before := bytes.Clone(tm.Bytes())
				for _, v := range tmplValues {
					op.set(&tm, v)
					if !forced {
						op.set(&parsed, v)
					}
					if !carried6(op, &p, sh.later) {
						if !bytes.Equal(tm.Bytes(), before) {
							t.Fatalf("%s(%#x) on a packet without that field changed it:\n%x\n%x", op.name, v, before, tm.Bytes())
						}
						continue
					}
					op.field(&p, v)
					want := mustBuild(t, p)
					if sh.later {
						n := tm.IPOffset() + IPv6HeaderLen + 8
						copy(want[n:], before[n:])
					}
					if !bytes.Equal(tm.Bytes(), want) {
						t.Fatalf("%s(%#x):\npatched %x\nrebuilt %x", op.name, v, tm.Bytes(), want)
					}
					if !forced && !bytes.Equal(parsed.Bytes(), want) {
						t.Fatalf("%s(%#x) on ParseTemplate's:\npatched %x\nrebuilt %x", op.name, v, parsed.Bytes(), want)
					}
					if sh.later {
						continue
					}
					d := Decoded{AcceptIPv6: true}
					if p.Ethernet != nil {
						err = d.DecodeFrame(tm.Bytes())
					} else {
						err = d.DecodeIP(tm.Bytes())
					}
					if err != nil && p.UDP == nil {
						t.Fatalf("decoding the patched bytes: %v", err)
					}
					for _, r := range d.Checksums(nil) {
						if r.Status != ChecksumGood && !forced && !(p.UDP != nil && p.UDP.Checksum.IsSet()) && !(p.UDP != nil && p.UDP.Length.IsSet()) {
							t.Errorf("%v checksum %v after %s(%#x)", r.Layer, r.Status, op.name, v)
						}
					}
				}
			})
		}
	}
}

func TestTemplate6Allocs(t *testing.T) {
	p := tmplShapes6()[0].p()
	tm, err := p.Template(nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := addr6Of(1), addr6Of(2)
	n := testing.AllocsPerRun(100, func() {
		tm.SetSrc(a)
		tm.SetDst(b)
		tm.SetSrcPort(1)
		tm.SetSeq(7)
		tm.SetTTL(3)
	})
	if n != 0 {
		t.Errorf("%v allocations per packet", n)
	}
}

// SetFragID writes an IPv6 fragment's 32-bit identification, and only
// that, in every fragment (first and later) of a parsed template; a packet
// without a Fragment header is left alone. It allocates nothing.
func TestTemplateSetFragID(t *testing.T) {
	p := Packet{IPv6: &IPv6{Src: netip.MustParseAddr("2001:2::1"), Dst: netip.MustParseAddr("2001:2::2")}, UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: make([]byte, 2000)}
	dg, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, frags, err := Fragments6(nil, nil, dg, FragOptions6{FragOptions: FragOptions{MTU: 1280}, ID: 0x01020304})
	if err != nil || len(frags) != 2 {
		t.Fatalf("%d fragments, %v", len(frags), err)
	}
	for i, f := range frags {
		tm, err := ParseTemplate(f.Bytes, false)
		if err != nil {
			t.Fatal(err)
		}
		before := append([]byte(nil), tm.Bytes()...)
		if n := testing.AllocsPerRun(100, func() { tm.SetFragID(0xa1b2c3d4) }); n != 0 {
			t.Errorf("SetFragID allocates %v times", n)
		}
		var d Decoded
		d.AcceptIPv6 = true
		if err := d.DecodeIP(tm.Bytes()); err != nil || d.FragExt() == nil || d.FragExt().Ident() != 0xa1b2c3d4 {
			t.Fatalf("fragment %d: identification not set: %v", i+1, err)
		}
		diff := 0
		for j := range before {
			if before[j] != tm.Bytes()[j] {
				diff++
			}
		}
		if diff != 4 {
			t.Errorf("fragment %d: %d bytes changed, want the 4 of the identification", i+1, diff)
		}
	}
	whole, _ := p.Template(nil)
	b := append([]byte(nil), whole.Bytes()...)
	whole.SetFragID(7)
	if !bytes.Equal(b, whole.Bytes()) {
		t.Error("SetFragID changed a packet without a Fragment header")
	}
}
