package craft

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

// A setter of Template and the same change made to a Packet: the patched
// bytes must equal the packet built again (the oracle).
type tmplOp struct {
	name  string
	layer Layer // the header the field lives in
	set   func(t *Template, v uint32)
	field func(p *Packet, v uint32)
}

func addrOf(v uint32) netip.Addr {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}

var tmplOps = []tmplOp{
	{"SetIPID", LayerIPv4, func(t *Template, v uint32) { t.SetIPID(uint16(v)) }, func(p *Packet, v uint32) { p.IPv4.ID = uint16(v) }},
	{"SetTTL", LayerIPv4, func(t *Template, v uint32) { t.SetTTL(uint8(v)) }, func(p *Packet, v uint32) { p.IPv4.TTL = Set(uint8(v)) }},
	{"SetSrc", LayerIPv4, func(t *Template, v uint32) { t.SetSrc(addrOf(v)) }, func(p *Packet, v uint32) { p.IPv4.Src = addrOf(v) }},
	{"SetDst", LayerIPv4, func(t *Template, v uint32) { t.SetDst(addrOf(v)) }, func(p *Packet, v uint32) { p.IPv4.Dst = addrOf(v) }},
	{"SetSrcPort", LayerTCP | LayerUDP, func(t *Template, v uint32) { t.SetSrcPort(uint16(v)) }, func(p *Packet, v uint32) {
		if p.TCP != nil {
			p.TCP.SrcPort = uint16(v)
		}
		if p.UDP != nil {
			p.UDP.SrcPort = uint16(v)
		}
	}},
	{"SetDstPort", LayerTCP | LayerUDP, func(t *Template, v uint32) { t.SetDstPort(uint16(v)) }, func(p *Packet, v uint32) {
		if p.TCP != nil {
			p.TCP.DstPort = uint16(v)
		}
		if p.UDP != nil {
			p.UDP.DstPort = uint16(v)
		}
	}},
	{"SetSeq", LayerTCP, func(t *Template, v uint32) { t.SetSeq(v) }, func(p *Packet, v uint32) {
		if p.TCP != nil {
			p.TCP.Seq = v
		}
	}},
	{"SetAck", LayerTCP, func(t *Template, v uint32) { t.SetAck(v) }, func(p *Packet, v uint32) {
		if p.TCP != nil {
			p.TCP.Ack = v
		}
	}},
	{"SetICMPID", LayerICMP, func(t *Template, v uint32) { t.SetICMPID(uint16(v)) }, func(p *Packet, v uint32) {
		if p.ICMP != nil {
			p.ICMP.Rest = uint32(uint16(v))<<16 | p.ICMP.Rest&0xffff
		}
	}},
	{"SetICMPSeq", LayerICMP, func(t *Template, v uint32) { t.SetICMPSeq(uint16(v)) }, func(p *Packet, v uint32) {
		if p.ICMP != nil {
			p.ICMP.Rest = p.ICMP.Rest&0xffff0000 | uint32(uint16(v))
		}
	}},
}

// carries says whether op's field is in a frame built from p.
func (op tmplOp) carried(p *Packet) bool {
	if op.layer == LayerIPv4 {
		return true
	}
	if p.IPv4.FragOff != 0 {
		return false
	}
	return op.layer&LayerTCP != 0 && p.TCP != nil || op.layer&LayerUDP != 0 && p.UDP != nil || op.layer&LayerICMP != 0 && p.ICMP != nil
}

// checkSums decodes b and requires every checksum the packet computes to be
// good (a UDP checksum of zero: absent).
func checkSums(t *testing.T, b []byte, p *Packet) {
	t.Helper()
	var d Decoded
	var err error
	if p.Ethernet != nil {
		err = d.DecodeFrame(b)
	} else {
		err = d.DecodeIP(b)
	}
	if err != nil {
		t.Fatalf("decoding the patched bytes: %v", err)
	}
	for _, r := range d.Checksums(nil) {
		forced := false
		switch r.Layer {
		case LayerIPv4:
			forced = p.IPv4.Checksum.IsSet()
		case LayerTCP:
			forced = p.TCP != nil && p.TCP.Checksum.IsSet()
		case LayerUDP:
			forced = p.UDP != nil && p.UDP.Checksum.IsSet()
		case LayerICMP:
			forced = p.ICMP != nil && p.ICMP.Checksum.IsSet()
		}
		ok := r.Status == ChecksumGood || r.Status == ChecksumAbsent && forced ||
			r.Status == ChecksumUnverifiable && d.Frag != NotFragment
		if !forced && !ok {
			t.Errorf("%v checksum %v: got %#04x, want %#04x", r.Layer, r.Status, r.Got, r.Want)
		}
	}
}

type tmplShape struct {
	name string
	p    func() Packet
	// decodes: the decoder sees the builder's layout (no forced IHL), so
	// Checksums can judge the bytes and ParseTemplate finds the same fields.
	decodes bool
}

func tmplShapes() []tmplShape {
	echo := func() *ICMP { e := Echo(0x1234, 1); return &e }
	ipOpts := AppendIPOptRecordRoute(nil, 2) // 11 bytes, padded to 12: IHL 8
	return []tmplShape{
		{"Ethernet TCP SYN with options", synPacket, true},
		{"IPv4 TCP SYN with options", func() Packet { p := synPacket(); p.Ethernet = nil; return p }, true},
		{"Ethernet TCP IP options and data", func() Packet {
			p := synPacket()
			p.IPv4.Options = ipOpts
			p.TCP.Flags, p.TCP.Ack = TCPAck|TCPPsh, 0xfeedf00d
			p.Payload = []byte("GET / HTTP/1.0\r\n\r\n")
			return p
		}, true},
		{"Ethernet UDP", func() Packet {
			return Packet{Ethernet: &Ethernet{Dst: mHs, Src: mHc}, IPv4: &IPv4{ID: 7, Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello\n")}
		}, true},
		{"IPv4 UDP odd data, IP options", func() Packet {
			return Packet{IPv4: &IPv4{ID: 7, Src: hc, Dst: hs, Options: ipOpts}, UDP: &UDP{SrcPort: 53, DstPort: 33434}, Payload: []byte("odd")}
		}, true},
		{"IPv4 UDP checksum 0 (none)", func() Packet {
			return Packet{IPv4: &IPv4{ID: 7, Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 40000, DstPort: 9999, Checksum: Set[uint16](0)}, Payload: []byte("Hello\n")}
		}, true},
		{"IPv4 UDP forced length 10", func() Packet {
			return Packet{IPv4: &IPv4{Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 1, DstPort: 2, Length: Set[uint16](10)}, Payload: []byte("Hello\n")}
		}, true},
		{"Ethernet ICMP echo", func() Packet {
			return Packet{Ethernet: &Ethernet{Dst: mHs, Src: mHc}, IPv4: &IPv4{ID: 9, Flags: FlagDF, Src: hc, Dst: hs}, ICMP: echo(), Payload: bytes.Repeat([]byte{0xa5}, 56)}
		}, true},
		{"IPv4 ICMP echo reply, IP options", func() Packet {
			e := EchoReply(0xffff, 0)
			return Packet{IPv4: &IPv4{Src: hs, Dst: hc, Options: ipOpts}, ICMP: &e, Payload: []byte("abc")}
		}, true},
		{"forced checksums TCP", func() Packet {
			p := synPacket()
			p.IPv4.Checksum, p.TCP.Checksum = Set[uint16](0xdead), Set[uint16](0xbeef)
			return p
		}, true},
		{"forced checksum UDP", func() Packet {
			return Packet{IPv4: &IPv4{Src: hc, Dst: hs, Checksum: Set[uint16](0)}, UDP: &UDP{SrcPort: 1, DstPort: 2, Checksum: Set[uint16](0x1234)}}
		}, true},
		{"forced checksum ICMP", func() Packet {
			return Packet{Ethernet: &Ethernet{}, IPv4: &IPv4{Src: hc, Dst: hs}, ICMP: &ICMP{Type: ICMPEcho, Checksum: Set[uint16](0xffff)}, Payload: []byte("x")}
		}, true},
		{"first fragment built by hand (MF)", func() Packet {
			return Packet{IPv4: &IPv4{ID: 3, Flags: FlagMF, Src: hc, Dst: hs}, TCP: &TCP{SrcPort: 5, DstPort: 6, Seq: 7}, Payload: make([]byte, 24)}
		}, true},
		{"later fragment built by hand (offset 3)", func() Packet {
			return Packet{IPv4: &IPv4{ID: 3, FragOff: 3, Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 5, DstPort: 6}, Payload: make([]byte, 9)}
		}, false}, // the decoder sees data, the builder a UDP header: different layouts
		{"bare IPv4, protocol 253", func() Packet {
			return Packet{Ethernet: &Ethernet{}, IPv4: &IPv4{Src: hc, Dst: hs, Protocol: Set[uint8](253)}, Payload: []byte("experiment")}
		}, true},
		{"forced IHL 15: the IPv4 checksum covers the TCP header", func() Packet {
			p := synPacket()
			p.IPv4.IHL = Set[uint8](15)
			return p
		}, false},
		{"forced IHL 15: the IPv4 checksum covers the UDP header", func() Packet {
			return Packet{IPv4: &IPv4{Src: hc, Dst: hs, IHL: Set[uint8](15)}, UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: bytes.Repeat([]byte("z"), 33)}
		}, false},
		{"forced IHL 3: the addresses lie outside the IPv4 checksum", func() Packet {
			return Packet{IPv4: &IPv4{Src: hc, Dst: hs, IHL: Set[uint8](3)}, ICMP: echo()}
		}, false},
	}
}

var tmplValues = []uint32{0, 1, 0xffff, 0x10000, 0xffffffff, 0x7fff8000, 0xc6120101, 0x12345678}

// Every setter on every shape, with corner values: the patched bytes equal
// the rebuild, the checksums are good, and an op whose header is absent
// changes nothing.
func TestTemplateSettersAgreeWithRebuild(t *testing.T) {
	for _, sh := range tmplShapes() {
		for _, op := range tmplOps {
			t.Run(sh.name+"/"+op.name, func(t *testing.T) {
				p := sh.p()
				tm, err := p.Template(nil)
				if err != nil {
					t.Fatal(err)
				}
				before := bytes.Clone(tm.Bytes())
				for _, v := range tmplValues {
					op.set(&tm, v)
					if !op.carried(&p) {
						if !bytes.Equal(tm.Bytes(), before) {
							t.Fatalf("%s(%#x) on a frame without that header changed it:\n%x\n%x", op.name, v, before, tm.Bytes())
						}
						continue
					}
					op.field(&p, v)
					want := mustBuild(t, p)
					if p.IPv4.FragOff != 0 {
						// A later fragment: what follows the IPv4 header
						// is data, which the builder took for a transport
						// header and a receiver does not.
						copy(want[tm.IPOffset()+p.IPv4.Len():], before[tm.IPOffset()+p.IPv4.Len():])
					}
					if !bytes.Equal(tm.Bytes(), want) {
						t.Fatalf("%s(%#x):\npatched %x\nrebuilt %x", op.name, v, tm.Bytes(), want)
					}
					if sh.decodes {
						checkSums(t, tm.Bytes(), &p)
					}
				}
			})
		}
	}
}

// All setters one after another, packet after packet, as a flood does.
func TestTemplateManySetters(t *testing.T) {
	for _, sh := range tmplShapes() {
		p := sh.p()
		tm, err := p.Template(make([]byte, 0, 256))
		if err != nil {
			t.Fatal(err)
		}
		x := uint32(0x9e3779b9)
		for i := 0; i < 200; i++ {
			for _, op := range tmplOps {
				x = x*1664525 + 1013904223
				op.set(&tm, x)
				if op.carried(&p) {
					op.field(&p, x)
				}
			}
			want := mustBuild(t, p)
			if p.IPv4.FragOff != 0 { // data, not a transport header: see above
				n := tm.IPOffset() + p.IPv4.Len()
				copy(want[n:], tm.Bytes()[n:])
				if !bytes.Equal(want[n:], mustBuild(t, sh.p())[n:]) {
					t.Fatalf("%s: the data of a later fragment changed", sh.name)
				}
			}
			if !bytes.Equal(tm.Bytes(), want) {
				t.Fatalf("%s, round %d:\npatched %x\nrebuilt %x", sh.name, i, tm.Bytes(), want)
			}
		}
	}
}

// ParseTemplate finds the same fields in the built bytes: every checksum
// is computed there, so patching agrees with the rebuild.
func TestParseTemplateAgreesWithRebuild(t *testing.T) {
	n := 0
	for _, sh := range tmplShapes() {
		if !sh.decodes {
			continue
		}
		p := sh.p()
		if p.IPv4.Checksum.IsSet() || p.TCP != nil && p.TCP.Checksum.IsSet() || p.ICMP != nil && p.ICMP.Checksum.IsSet() ||
			p.UDP != nil && p.UDP.Checksum.IsSet() && p.UDP.Checksum.Or(0) != 0 {
			continue // ParseTemplate updates every checksum it finds (but a UDP 0)
		}
		b := mustBuild(t, p)
		tm, err := ParseTemplate(b, p.Ethernet != nil)
		if err != nil {
			t.Fatalf("%s: %v", sh.name, err)
		}
		built, _ := p.Template(nil)
		if tm.ip != built.ip || tm.l4 != built.l4 || tm.layers != built.layers || tm.ipSum != built.ipSum || tm.l4Sum != built.l4Sum || tm.ipEnd != built.ipEnd {
			t.Errorf("%s: parsed %+v, built %+v", sh.name, tm, built)
		}
		for i, op := range tmplOps {
			v := tmplValues[i%len(tmplValues)] ^ 0x5a5a5a5a
			op.set(&tm, v)
			if op.carried(&p) {
				op.field(&p, v)
			}
		}
		if want := mustBuild(t, p); !bytes.Equal(tm.Bytes(), want) {
			t.Fatalf("%s:\npatched %x\nrebuilt %x", sh.name, tm.Bytes(), want)
		}
		checkSums(t, tm.Bytes(), &p)
		n++
	}
	if n < 10 {
		t.Errorf("only %d shapes parsed", n)
	}
}

// RFC 768: a UDP checksum that an update brings to 0x0000 is sent as 0xffff;
// and from 0xffff it moves on like any other value.
func TestTemplateUDPZeroBecomesAllOnes(t *testing.T) {
	mk := func(sport uint16) Packet {
		return Packet{Ethernet: &Ethernet{}, IPv4: &IPv4{Src: hc, Dst: hs}, UDP: &UDP{SrcPort: sport, DstPort: 9999}, Payload: []byte("Hello\n")}
	}
	p0 := mk(0)
	b0 := mustBuild(t, p0)
	c0 := binary.BigEndian.Uint16(b0[EthernetLen+20+6:])
	// With source port c0 the sum is c0 + ~c0 = 0xffff: the checksum
	// computes to 0x0000, which is sent as 0xffff.
	p := mk(1234)
	for _, parsed := range []bool{false, true} {
		var tm Template
		var err error
		if parsed {
			tm, err = ParseTemplate(mustBuild(t, p), true)
		} else {
			tm, err = p.Template(nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		tm.SetSrcPort(c0)
		b := tm.Bytes()
		if got := binary.BigEndian.Uint16(b[EthernetLen+20+6:]); got != 0xffff {
			t.Fatalf("parsed %v: checksum %#04x after the update that sums to zero, want 0xffff", parsed, got)
		}
		q := mk(c0)
		if want := mustBuild(t, q); !bytes.Equal(b, want) {
			t.Fatalf("parsed %v:\npatched %x\nrebuilt %x", parsed, b, want)
		}
		checkSums(t, b, &q)
		// And away from 0xffff again.
		tm.SetSrcPort(4321)
		tm.SetDst(hc)
		q.UDP.SrcPort, q.IPv4.Dst = 4321, hc
		if want := mustBuild(t, q); !bytes.Equal(tm.Bytes(), want) {
			t.Fatalf("parsed %v: leaving 0xffff:\npatched %x\nrebuilt %x", parsed, tm.Bytes(), want)
		}
	}
	// A UDP checksum of 0 means none: never touched, built or parsed.
	p = mk(1)
	p.UDP.Checksum = Set[uint16](0)
	for _, parsed := range []bool{false, true} {
		var tm Template
		if parsed {
			tm, _ = ParseTemplate(mustBuild(t, p), true)
		} else {
			tm, _ = p.Template(nil)
		}
		tm.SetSrcPort(c0)
		tm.SetSrc(hs)
		tm.SetDstPort(7)
		if got := binary.BigEndian.Uint16(tm.Bytes()[EthernetLen+20+6:]); got != 0 {
			t.Errorf("parsed %v: a UDP checksum of 0 became %#04x", parsed, got)
		}
	}
}

// Forced checksums stay exactly as given, whatever is patched.
func TestTemplateForcedChecksumsStay(t *testing.T) {
	p := synPacket()
	p.IPv4.Checksum, p.TCP.Checksum = Set[uint16](0xdead), Set[uint16](0xbeef)
	tm, err := p.Template(nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, op := range tmplOps {
		op.set(&tm, uint32(i)*0x01010101+7)
	}
	b := tm.Bytes()
	if ip, tcp := binary.BigEndian.Uint16(b[EthernetLen+10:]), binary.BigEndian.Uint16(b[EthernetLen+20+16:]); ip != 0xdead || tcp != 0xbeef {
		t.Errorf("forced checksums became %#04x %#04x", ip, tcp)
	}
}

// fragmentsOf splits the datagram p builds (no Ethernet) and returns the
// fragments' bytes, each copied.
func fragmentsOf(t *testing.T, p Packet, o FragOptions) [][]byte {
	t.Helper()
	_, frags, err := Fragments(nil, nil, mustBuild(t, p), o)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(frags))
	for i, f := range frags {
		out[i] = bytes.Clone(f.Bytes)
	}
	return out
}

// Fragments: the first carries the transport header, and a change of
// address reaches its checksum through the pseudo-header; later fragments
// change only in their IPv4 header. Patched fragments equal the fragments of
// the rebuilt datagram.
func TestTemplateFragments(t *testing.T) {
	data := make([]byte, 3000)
	for i := range data {
		data[i] = byte(i * 13)
	}
	opts := append(AppendIPOptRecordRoute(nil, 1), 0x83, 4, 5, 6) // one option not copied, one copied: the IHL differs
	shapes := []struct {
		name  string
		p     func() Packet
		layer Layer
		o     FragOptions
	}{
		{"TCP MTU 1500", func() Packet {
			return Packet{IPv4: &IPv4{ID: 1, Src: hc, Dst: hs}, TCP: &TCP{SrcPort: 40000, DstPort: 80, Seq: 1, Ack: 2, Flags: TCPAck, Options: synOptions()}, Payload: data}
		}, LayerTCP, FragOptions{MTU: 1500}},
		{"UDP with options, 512", func() Packet {
			return Packet{IPv4: &IPv4{ID: 1, Src: hc, Dst: hs, Options: opts}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: data}
		}, LayerUDP, FragOptions{DataSize: 512}},
		{"UDP tiny first", func() Packet {
			return Packet{IPv4: &IPv4{ID: 1, Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: data[:100]}
		}, LayerUDP, FragOptions{DataSize: 64, TinyFirst: 8}},
		{"ICMP echo overlapping", func() Packet {
			e := Echo(1, 2)
			return Packet{IPv4: &IPv4{ID: 1, Src: hc, Dst: hs}, ICMP: &e, Payload: data[:1000]}
		}, LayerICMP, FragOptions{DataSize: 256, Overlap: 16}},
	}
	for _, sh := range shapes {
		for _, op := range tmplOps {
			t.Run(sh.name+"/"+op.name, func(t *testing.T) {
				p := sh.p()
				frags := fragmentsOf(t, p, sh.o)
				tms := make([]Template, len(frags))
				for i, f := range frags {
					var err error
					if tms[i], err = ParseTemplate(f, false); err != nil {
						t.Fatal(err)
					}
					if got := tms[i].Carries(sh.layer); got != (i == 0) {
						t.Fatalf("fragment %d: Carries(%v) = %v", i+1, sh.layer, got)
					}
				}
				for _, v := range tmplValues {
					for i := range tms {
						op.set(&tms[i], v)
					}
					if op.carried(&p) {
						op.field(&p, v)
					}
					want := fragmentsOf(t, p, sh.o)
					for i := range tms {
						if !bytes.Equal(tms[i].Bytes(), want[i]) {
							t.Fatalf("%s(%#x), fragment %d:\npatched %x\nrebuilt %x", op.name, v, i+1, tms[i].Bytes(), want[i])
						}
						var d Decoded
						if err := d.DecodeIP(tms[i].Bytes()); err != nil {
							t.Fatal(err)
						}
						if c := d.Checksums(nil); c[0].Status != ChecksumGood {
							t.Fatalf("fragment %d: IPv4 checksum %v", i+1, c[0].Status)
						}
					}
				}
				// Reassembled, the transport checksum is right.
				whole := mustBuild(t, p)
				var d Decoded
				if err := d.DecodeIP(whole); err != nil {
					t.Fatal(err)
				}
				for _, c := range d.Checksums(nil) {
					if c.Status != ChecksumGood {
						t.Fatalf("rebuilt datagram: %v checksum %v", c.Layer, c.Status)
					}
				}
			})
		}
	}
}

// A tiny first fragment (RFC 1858 §3) of TCP holds the ports and the
// sequence number but not the checksum: it does not carry the header, and
// only its IPv4 fields are patched.
func TestTemplateTinyFirstTCP(t *testing.T) {
	p := Packet{IPv4: &IPv4{ID: 1, Src: hc, Dst: hs}, TCP: &TCP{SrcPort: 40000, DstPort: 80, Seq: 1}, Payload: make([]byte, 100)}
	o := FragOptions{DataSize: 64, TinyFirst: 8}
	frags := fragmentsOf(t, p, o)
	tm, err := ParseTemplate(frags[0], false)
	if err != nil {
		t.Fatal(err)
	}
	if tm.Carries(LayerTCP) || tm.TransportOffset() != -1 {
		t.Fatalf("a tiny first fragment carries TCP")
	}
	before := bytes.Clone(tm.Bytes())
	tm.SetSrcPort(1)
	tm.SetSeq(2)
	if !bytes.Equal(before, tm.Bytes()) {
		t.Fatal("a transport setter changed a fragment that does not carry the header")
	}
	tm.SetIPID(77)
	tm.SetTTL(3)
	p.IPv4.ID, p.IPv4.TTL = 77, Set[uint8](3)
	if want := fragmentsOf(t, p, o)[0]; !bytes.Equal(tm.Bytes(), want) {
		t.Fatalf("patched %x\nrebuilt %x", tm.Bytes(), want)
	}
}

// Ethernet frames of fragments: ParseTemplate with the link header.
func TestTemplateEthernetFragments(t *testing.T) {
	p := Packet{IPv4: &IPv4{ID: 1, Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: make([]byte, 2000)}
	eth := mustBuild(t, Packet{Ethernet: &Ethernet{Dst: mHs, Src: mHc}, IPv4: &IPv4{Protocol: Set[uint8](0)}})[:EthernetLen]
	frame := func(f []byte) []byte { return append(bytes.Clone(eth), f...) }
	frags := fragmentsOf(t, p, FragOptions{MTU: 1500})
	var tms []Template
	for _, f := range frags {
		tm, err := ParseTemplate(frame(f), true)
		if err != nil {
			t.Fatal(err)
		}
		if tm.IPOffset() != EthernetLen || !tm.Carries(LayerEthernet|LayerIPv4) {
			t.Fatalf("IP offset %d, carries Ethernet %v", tm.IPOffset(), tm.Carries(LayerEthernet))
		}
		tms = append(tms, tm)
	}
	for i := range tms {
		tms[i].SetSrc(netip.MustParseAddr("198.19.7.9"))
		tms[i].SetDstPort(53)
		tms[i].SetIPID(0xabcd)
	}
	p.IPv4.Src, p.UDP.DstPort, p.IPv4.ID = netip.MustParseAddr("198.19.7.9"), 53, 0xabcd
	for i, f := range fragmentsOf(t, p, FragOptions{MTU: 1500}) {
		if want := frame(f); !bytes.Equal(tms[i].Bytes(), want) {
			t.Fatalf("fragment %d:\npatched %x\nrebuilt %x", i+1, tms[i].Bytes(), want)
		}
	}
}

func TestParseTemplateErrors(t *testing.T) {
	arp := mustBuild(t, Packet{Ethernet: &Ethernet{Dst: Broadcast, Src: mHc}, ARP: &ARP{Op: ARPRequest, SenderHW: mHc, SenderIP: hc, TargetIP: hs}})
	syn := mustBuild(t, synPacket())
	v6 := bytes.Clone(syn[EthernetLen:])
	v6[0] = 0x65
	badTotal := bytes.Clone(syn[EthernetLen:])
	binary.BigEndian.PutUint16(badTotal[2:], 19)
	for _, c := range []struct {
		desc     string
		b        []byte
		ethernet bool
		layer    string
		err      error
	}{
		{"ARP frame", arp, true, "Ethernet", ErrMalformed},
		{"short frame", syn[:10], true, "Ethernet", ErrTruncated},
		{"frame read as IPv4", syn, false, "IPv4", ErrMalformed},
		{"IPv4 header cut", syn[:EthernetLen+19], true, "IPv4", ErrTruncated},
		{"version 6, cut inside the IPv6 header", v6[:30], false, "IPv6", ErrTruncated},
		{"total length below the header", badTotal, false, "IPv4", ErrMalformed},
		{"empty", nil, false, "IPv4", ErrTruncated},
	} {
		_, err := ParseTemplate(c.b, c.ethernet)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Layer != c.layer || !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want a %s ParseError (%v)", c.desc, err, c.layer, c.err)
		}
	}
	// A transport header that does not decode is still patched where it is.
	bad := mustBuild(t, Packet{IPv4: &IPv4{Src: hc, Dst: hs}, TCP: &TCP{DataOffset: Set[uint8](2)}})
	tm, err := ParseTemplate(bad, false)
	if err != nil || !tm.Carries(LayerTCP) {
		t.Fatalf("TCP with data offset 2: %v, carries %v", err, tm.Carries(LayerTCP))
	}
	if _, err := (&Packet{ARP: &ARP{}}).Template(nil); !errors.Is(err, ErrLayers) {
		t.Errorf("ARP packet: %v, want ErrLayers", err)
	}
	if _, err := (&Packet{IPv4: &IPv4{}, TCP: &TCP{}, UDP: &UDP{}}).Template(nil); !errors.Is(err, ErrLayers) {
		t.Errorf("TCP and UDP: %v, want ErrLayers", err)
	}
}

func TestTemplateCloneAndOn(t *testing.T) {
	p := synPacket()
	tm, err := p.Template(nil)
	if err != nil {
		t.Fatal(err)
	}
	orig := bytes.Clone(tm.Bytes())
	shared := tm // a copy of the value shares the bytes
	shared.SetSeq(99)
	if bytes.Equal(tm.Bytes(), orig) {
		t.Fatal("a copied Template does not share the bytes")
	}
	tm.SetSeq(p.TCP.Seq)
	if !bytes.Equal(tm.Bytes(), orig) {
		t.Fatal("setting the seq back did not restore the frame")
	}
	buf := make([]byte, 0, 128)
	c := tm.Clone(buf)
	c.SetSrcPort(1)
	if !bytes.Equal(tm.Bytes(), orig) || &c.Bytes()[0] != &buf[:1][0] {
		t.Fatal("Clone shares the original's bytes or did not use buf")
	}
	slot := make([]byte, 2048) // a ring slot, longer than the frame
	copy(slot, orig)
	s := tm.On(slot)
	s.SetSrcPort(1)
	p.TCP.SrcPort = 1
	if want := mustBuild(t, p); !bytes.Equal(s.Bytes(), want) || len(s.Bytes()) != len(orig) || !bytes.Equal(tm.Bytes(), orig) {
		t.Fatal("On did not patch the slot alone")
	}
	var zero Template
	zero.SetIPID(1)
	zero.SetTTL(1)
	zero.SetSrc(hc)
	zero.SetSrcPort(1)
	zero.SetSeq(1)
	zero.SetICMPSeq(1)
	zc := zero.Clone(nil)
	if zero.Carries(LayerIPv4) || zero.Bytes() != nil || zc.Bytes() != nil {
		t.Error("the zero Template holds something")
	}
}

// The setters, Clone and On allocate nothing.
func TestTemplateAllocs(t *testing.T) {
	tcp, _ := (&Packet{Ethernet: &Ethernet{}, IPv4: &IPv4{Src: hc, Dst: hs}, TCP: &TCP{}}).Template(nil)
	udp, _ := (&Packet{IPv4: &IPv4{Src: hc, Dst: hs}, UDP: &UDP{}}).Template(nil)
	icmp, _ := (&Packet{IPv4: &IPv4{Src: hc, Dst: hs}, ICMP: &ICMP{Type: ICMPEcho}}).Template(nil)
	buf := make([]byte, 0, 128)
	var i uint32
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"SetIPID", func() { tcp.SetIPID(uint16(i)) }},
		{"SetTTL", func() { tcp.SetTTL(uint8(i)) }},
		{"SetSrc", func() { tcp.SetSrc(addrOf(i)); udp.SetSrc(addrOf(i)) }},
		{"SetDst", func() { tcp.SetDst(addrOf(i)); udp.SetDst(addrOf(i)) }},
		{"SetSrcPort", func() { tcp.SetSrcPort(uint16(i)); udp.SetSrcPort(uint16(i)) }},
		{"SetDstPort", func() { tcp.SetDstPort(uint16(i)); udp.SetDstPort(uint16(i)) }},
		{"SetSeq", func() { tcp.SetSeq(i) }},
		{"SetAck", func() { tcp.SetAck(i) }},
		{"SetICMPID", func() { icmp.SetICMPID(uint16(i)) }},
		{"SetICMPSeq", func() { icmp.SetICMPSeq(uint16(i)) }},
		{"Clone", func() { _ = tcp.Clone(buf) }},
		{"On", func() { _ = tcp.On(buf[:cap(buf)]) }},
	} {
		if n := testing.AllocsPerRun(100, func() { i += 0x10001; c.f() }); n != 0 {
			t.Errorf("%s: %v allocations", c.name, n)
		}
	}
}

// The aggregated update of several words (apply) is UpdateChecksum word by
// word.
func TestTemplateApplyIsUpdateChecksum(t *testing.T) {
	x := uint32(12345)
	next := func() uint16 { x = x*1664525 + 1013904223; return uint16(x >> 8) }
	for i := 0; i < 100000; i++ {
		hc, o1, n1, o2, n2 := next(), next(), next(), next(), next()
		if i%7 == 0 {
			o1, n1 = 0xffff, 0
		}
		if i%11 == 0 {
			hc = 0xffff
		}
		want := UpdateChecksum(UpdateChecksum(hc, o1, n1), o2, n2)
		if got := apply(hc, uint32(^o1)+uint32(n1)+uint32(^o2)+uint32(n2)); got != want {
			t.Fatalf("hc %#04x %#04x→%#04x %#04x→%#04x: apply %#04x, UpdateChecksum %#04x", hc, o1, n1, o2, n2, got, want)
		}
	}
}

func ExampleTemplate() {
	p := Packet{
		IPv4: &IPv4{ID: 1, Src: netip.MustParseAddr("198.18.1.3"), Dst: netip.MustParseAddr("198.18.1.1")},
		TCP:  &TCP{SrcPort: 40000, DstPort: 22, Seq: 1, Flags: TCPSyn, Window: 64240},
	}
	tm, err := p.Template(nil)
	if err != nil {
		panic(err)
	}
	for port := uint16(22); port <= 24; port++ {
		tm.SetIPID(port)
		tm.SetDstPort(port)
		b := tm.Bytes()
		fmt.Printf("port %d: IP checksum %#04x, TCP checksum %#04x\n", port, binary.BigEndian.Uint16(b[10:]), binary.BigEndian.Uint16(b[36:]))
	}
	// Output:
	// port 22: IP checksum 0xec91, TCP checksum 0x8a71
	// port 23: IP checksum 0xec90, TCP checksum 0x8a70
	// port 24: IP checksum 0xec8f, TCP checksum 0x8a6f
}
