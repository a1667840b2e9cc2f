package craft

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// rebuild encodes the decoded layers again; derived fields hold the values
// that were on the wire, so the bytes must come back identical.
func rebuild(t *testing.T, d *Decoded) []byte {
	t.Helper()
	p := Packet{Payload: d.Payload}
	if d.Link&LayerEthernet != 0 {
		p.Ethernet = &d.Ethernet
	}
	if d.Link&LayerARP != 0 {
		p.ARP = &d.ARP
		p.Payload = nil
	}
	if d.Layers&LayerIPv4 != 0 {
		p.IPv4 = &d.IPv4
		switch {
		case d.Layers&LayerTCP != 0:
			p.TCP = &d.TCP
		case d.Layers&LayerUDP != 0:
			p.UDP = &d.UDP
		case d.Layers&LayerICMP != 0:
			p.ICMP = &d.ICMP
		}
	}
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	for _, g := range goldens(t) {
		if g.p.TCP != nil && g.p.TCP.DataOffset.IsSet() || g.p.IPv4 != nil && (g.p.IPv4.IHL.IsSet() || g.p.IPv4.TotalLen.IsSet()) ||
			g.p.UDP != nil && g.p.UDP.Length.IsSet() {
			continue // lying lengths do not decode back to the same layers
		}
		t.Run(g.desc, func(t *testing.T) {
			b, _ := g.p.Append(nil)
			var d Decoded
			var err error
			if g.p.Ethernet != nil {
				err = d.DecodeFrame(b)
			} else {
				err = d.DecodeIP(b)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rebuild(t, &d); !bytes.Equal(got, b) {
				t.Fatalf("rebuilt %x\n   from %x", got, b)
			}
			for _, c := range d.Checksums(nil) {
				forced := g.p.IPv4 != nil && g.p.IPv4.Checksum.IsSet() && c.Layer == LayerIPv4 ||
					g.p.TCP != nil && g.p.TCP.Checksum.IsSet() && c.Layer == LayerTCP
				switch {
				case forced && c.Status != ChecksumBad:
					t.Errorf("%v checksum forced wrong, reported %v", c.Layer, c.Status)
				case !forced && c.Status != ChecksumGood && c.Status != ChecksumAbsent && !(c.Quoted && c.Status == ChecksumUnverifiable):
					t.Errorf("%v (quoted %v) checksum %v: got %#04x want %#04x", c.Layer, c.Quoted, c.Status, c.Got, c.Want)
				}
			}
		})
	}
}

func TestBadChecksumReportsWant(t *testing.T) {
	good, _ := (&Packet{IPv4: &IPv4{Src: hc, Dst: hs}, TCP: &TCP{SrcPort: 1, DstPort: 2, Flags: TCPSyn}}).Append(nil)
	bad, _ := (&Packet{IPv4: &IPv4{Src: hc, Dst: hs, Checksum: Set[uint16](0xdead)}, TCP: &TCP{SrcPort: 1, DstPort: 2, Flags: TCPSyn, Checksum: Set[uint16](0xbeef)}}).Append(nil)
	var d Decoded
	if err := d.DecodeIP(bad); err != nil {
		t.Fatal(err)
	}
	c := d.Checksums(nil)
	if len(c) != 2 || c[0].Status != ChecksumBad || c[0].Got != 0xdead || c[0].Want != uint16(good[10])<<8|uint16(good[11]) {
		t.Errorf("IPv4: %+v", c[0])
	}
	if c[1].Status != ChecksumBad || c[1].Got != 0xbeef || c[1].Want != uint16(good[36])<<8|uint16(good[37]) {
		t.Errorf("TCP: %+v", c[1])
	}
}

// An ICMP error quotes the IP header and 8 bytes: the quoted TCP header
// decodes as far as it goes (ports, sequence number) without error.
func TestQuotedTruncated(t *testing.T) {
	probe, _ := (&Packet{IPv4: &IPv4{ID: 99, Src: hc, Dst: hs}, TCP: &TCP{SrcPort: 40000, DstPort: 9999, Seq: 0xabcdef01, Flags: TCPSyn}}).Append(nil)
	icmp := Unreachable(CodeAdminProhibited)
	b, _ := (&Packet{IPv4: &IPv4{Src: hs, Dst: hc}, ICMP: &icmp, Payload: Quote(probe)}).Append(nil)
	var d Decoded
	if err := d.DecodeIP(b); err != nil {
		t.Fatal(err)
	}
	q := d.Quoted
	if q.Layers != LayerIPv4|LayerTCP || !q.Truncated || q.TransportLen != 8 {
		t.Fatalf("quoted layers %v truncated %v transport bytes %d", q.Layers, q.Truncated, q.TransportLen)
	}
	if q.IPv4.ID != 99 || q.TCP.SrcPort != 40000 || q.TCP.DstPort != 9999 || q.TCP.Seq != 0xabcdef01 {
		t.Errorf("quoted: id %d ports %d→%d seq %#x", q.IPv4.ID, q.TCP.SrcPort, q.TCP.DstPort, q.TCP.Seq)
	}
	for _, c := range d.Checksums(nil) {
		switch {
		case c.Quoted && c.Layer == LayerIPv4 && c.Status != ChecksumGood:
			t.Errorf("quoted IPv4 checksum %v", c.Status)
		case c.Quoted && c.Layer == LayerTCP && c.Status != ChecksumUnverifiable:
			t.Errorf("quoted TCP checksum %v, want unverifiable", c.Status)
		case !c.Quoted && c.Status != ChecksumGood:
			t.Errorf("%v checksum %v", c.Layer, c.Status)
		}
	}
	// Every field shown is a field that was quoted.
	for _, f := range Explain(&d) {
		if f.Layer == "quoted TCP" && f.Width > 0 && f.Bit+f.Width > 64 {
			t.Errorf("explained %s, which was not quoted", f.Name)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	syn, _ := (&Packet{IPv4: &IPv4{Src: hc, Dst: hs}, TCP: &TCP{SrcPort: 1, DstPort: 2, Flags: TCPSyn, Options: AppendTCPOptMSS(nil, 1460)}}).Append(nil)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), syn...)) }
	cases := []struct {
		desc   string
		b      []byte
		err    error
		layer  string
		field  string
		offset int
	}{
		{"empty", nil, ErrTruncated, "IPv4", "header", 0},
		{"19 bytes", syn[:19], ErrTruncated, "IPv4", "header", 0},
		{"version 6", mod(func(b []byte) []byte { b[0] = 0x65; return b }), ErrMalformed, "IPv4", "version", 0},
		{"IHL 4", mod(func(b []byte) []byte { b[0] = 0x44; return b }), ErrMalformed, "IPv4", "IHL", 0},
		// A 60-byte header in a 44-byte datagram: the lengths disagree,
		// whatever was captured (issue 24).
		{"IHL 15 past the total length", mod(func(b []byte) []byte { b[0] = 0x4f; return b[:40] }), ErrMalformed, "IPv4", "total length", 2},
		{"IHL 15 past the end", mod(func(b []byte) []byte { b[0], b[2], b[3] = 0x4f, 0, 100; return b[:40] }), ErrTruncated, "IPv4", "IHL", 0},
		{"total length below header", mod(func(b []byte) []byte { b[2], b[3] = 0, 10; return b }), ErrMalformed, "IPv4", "total length", 2},
		{"total length past the end", mod(func(b []byte) []byte { b[2], b[3] = 0, 200; return b }), ErrTruncated, "IPv4", "total length", 2},
		{"TCP data offset 4", mod(func(b []byte) []byte { b[32] = 0x40; return b }), ErrMalformed, "TCP", "data offset", 32},
		// Every byte the total length announces is here: the data offset
		// is what lies (issue 14 item 3), not a cut capture.
		{"TCP data offset 15", mod(func(b []byte) []byte { b[32] = 0xf0; return b }), ErrMalformed, "TCP", "data offset", 32},
		// A total length of 30 leaves 10 bytes, which no TCP header fits.
		{"TCP header cut", mod(func(b []byte) []byte { b[3] = 30; return b[:30] }), ErrMalformed, "TCP", "header", 20},
		// The capture is cut: the total length is right, the bytes end.
		{"TCP header cut by the capture", mod(func(b []byte) []byte { return b[:30] }), ErrTruncated, "IPv4", "total length", 2},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			var d Decoded
			err := d.DecodeIP(c.b)
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want a ParseError wrapping %v", err, c.err)
			}
			if pe.Layer != c.layer || pe.Field != c.field || pe.Offset != c.offset {
				t.Errorf("error at %s %s byte %d, want %s %s byte %d (%v)", pe.Layer, pe.Field, pe.Offset, c.layer, c.field, c.offset, err)
			}
		})
	}
	// A cut frame still decodes as far as it goes.
	var d Decoded
	cut := mod(func(b []byte) []byte { return b[:30] })
	_ = d.DecodeIP(cut)
	if d.Layers&LayerIPv4 == 0 || d.IPv4.Src != hc {
		t.Errorf("truncated packet lost its IPv4 layer: %v", d.Layers)
	}
}

func TestEthernetPaddingIsTrailer(t *testing.T) {
	p := Packet{Ethernet: &Ethernet{Dst: mHs, Src: mHc}, IPv4: &IPv4{Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: []byte("x")}
	b, _ := p.Append(nil)
	b = append(b, make([]byte, MinFrameLen-len(b))...)
	var d Decoded
	if err := d.DecodeFrame(b); err != nil {
		t.Fatal(err)
	}
	if string(d.Payload) != "x" || len(d.Trailer) != MinFrameLen-len(b)+len(d.Trailer) || d.Truncated {
		t.Errorf("payload %q trailer %d truncated %v", d.Payload, len(d.Trailer), d.Truncated)
	}
	for _, c := range d.Checksums(nil) {
		if c.Status != ChecksumGood {
			t.Errorf("%v %v", c.Layer, c.Status)
		}
	}
}

func TestAllocations(t *testing.T) {
	p := synPacket()
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(1000, func() { _, _ = p.Append(buf[:0]) }); n != 0 {
		t.Errorf("Append allocates %v times", n)
	}
	frame, _ := p.Append(nil)
	var d Decoded
	if n := testing.AllocsPerRun(1000, func() { _ = d.DecodeFrame(frame) }); n != 0 {
		t.Errorf("DecodeFrame allocates %v times", n)
	}
	un := portUnreachable(t)
	icmp, _ := un.Append(nil)
	var sums [4]ChecksumResult
	if n := testing.AllocsPerRun(1000, func() { _ = d.DecodeIP(icmp); _ = d.Checksums(sums[:0]) }); n != 0 {
		t.Errorf("decoding and checking an ICMP error allocates %v times", n)
	}
	big := bigUDP(t)
	fbuf, frags := make([]byte, 0, 8192), make([]Fragment, 0, 8)
	if n := testing.AllocsPerRun(1000, func() { _, _, _ = Fragments(fbuf[:0], frags[:0], big, FragOptions{MTU: 1500}) }); n != 0 {
		t.Errorf("Fragments allocates %v times", n)
	}
}

// TestQuotedFragmentChecksumUnverifiable: an ICMP error quoting the whole
// first fragment of a TCP segment cannot check the TCP checksum, which
// covers every fragment's data (found by the tshark differential harness:
// rawcraft called such a checksum bad, or good).
func TestQuotedFragmentChecksumUnverifiable(t *testing.T) {
	src, dst := netip.MustParseAddr("198.18.1.3"), netip.MustParseAddr("198.18.1.1")
	whole, err := (&Packet{IPv4: &IPv4{Src: src, Dst: dst, ID: 9}, TCP: &TCP{SrcPort: 1, DstPort: 2, Flags: TCPAck}, Payload: bytes.Repeat([]byte("F"), 64)}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, frags, err := Fragments(nil, nil, whole, FragOptions{DataSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	first := frags[0].Bytes
	b, err := (&Packet{IPv4: &IPv4{Src: dst, Dst: src}, ICMP: &ICMP{Type: ICMPTimeExceeded, Code: CodeReassemblyExceeded}, Payload: first}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoded
	if err := d.DecodeIP(b); err != nil {
		t.Fatal(err)
	}
	for _, c := range d.Checksums(nil) {
		if c.Quoted && c.Layer == LayerTCP && c.Status != ChecksumUnverifiable {
			t.Errorf("quoted first fragment's TCP checksum: %v, want unverifiable", c.Status)
		}
	}
}
