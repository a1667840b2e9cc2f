package craft

import (
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Regression tests for the wrong verdicts of issue 14, each with the input
// that showed it and the value an independent receiver or dissector gives.

// Item 2: an offset that does not fit 13 bits is refused, never carried into
// MF (build udp --frag-offset 8190 --frag 8 --size 24).
func TestFragmentOffsetNeverCarriesIntoFlags(t *testing.T) {
	p := Packet{IPv4: &IPv4{Src: hc, Dst: hs, ID: 1, FragOff: 8190}, UDP: &UDP{SrcPort: 40000, DstPort: 9999},
		Payload: []byte(strings.Repeat("A", 24))}
	dg, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte("keep")
	buf, frags, err := Fragments(buf, nil, dg, FragOptions{DataSize: 8})
	if !errors.Is(err, ErrRange) || !strings.Contains(err.Error(), "8192") {
		t.Fatalf("err = %v, want ErrRange naming offset 8192", err)
	}
	if string(buf) != "keep" || len(frags) != 0 {
		t.Errorf("on error buf = %q and %d fragments, want them as they were", buf, len(frags))
	}
	// Up to offset 8191 it fits: the last fragment starts at byte 65528.
	p.Payload = p.Payload[:8]
	dg, _ = p.Append(nil)
	_, frags, err = Fragments(nil, nil, dg, FragOptions{DataSize: 8})
	if err != nil || len(frags) != 2 {
		t.Fatalf("16 data bytes at offset 8190: %d fragments, %v", len(frags), err)
	}
	if w := uint16(frags[1].Bytes[6])<<8 | uint16(frags[1].Bytes[7]); w != 0x1fff {
		t.Errorf("last fragment's flags+offset word 0x%04x, want 0x1fff (offset 8191, MF clear)", w)
	}
	// A forced raw field is written exactly: offset 8191 stays out of MF.
	h := IPv4{Src: hc, Dst: hs, FragOff: 0x1fff, Protocol: Set(ProtoUDP)}
	b := make([]byte, 20)
	if err := h.Encode(b, 0); err != nil || b[6] != 0x1f || b[7] != 0xff {
		t.Errorf("FragOff 0x1fff written as %x (%v)", b[6:8], err)
	}
	h.FragOff = 0x2000
	if err := h.Encode(b, 0); !errors.Is(err, ErrRange) {
		t.Errorf("FragOff 0x2000: %v, want ErrRange", err)
	}
}

// Item 3: build udp --data Hello --udp-len 100. tshark: "bad length 100 > IP
// payload length". The UDP length lies, not the IPv4 total length.
func TestDecodeErrorBlamesUDPLength(t *testing.T) {
	b, err := (&Packet{IPv4: &IPv4{Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 40000, DstPort: 9999, Length: Set[uint16](100)},
		Payload: []byte("Hello")}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoded
	err = d.DecodeIP(b)
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) || pe.Layer != "UDP" || pe.Field != "length" || pe.Offset != 24 {
		t.Fatalf("err = %v, want UDP length at byte 24, malformed", err)
	}
	if !strings.Contains(pe.Detail, "100") || !strings.Contains(pe.Detail, "IP payload length 13") {
		t.Errorf("detail %q: want the value 100 and what the bytes allow, 13", pe.Detail)
	}
	if d.Truncated {
		t.Error("marked truncated: every byte the total length announces is here")
	}
}

// checksumOf returns the result for layer l.
func checksumOf(t *testing.T, d *Decoded, l Layer) ChecksumResult {
	t.Helper()
	for _, c := range d.Checksums(nil) {
		if c.Layer == l && !c.Quoted {
			return c
		}
	}
	t.Fatalf("no %v checksum", l)
	return ChecksumResult{}
}

func meaningOf(d *Decoded, layer, name string) string {
	for _, f := range Explain(d) {
		if f.Layer == layer && f.Name == name {
			return f.Meaning
		}
	}
	return ""
}

// Item 4: 0xffff where 0x0000 is computed (and back) is the same number in
// one's complement; Linux accepts both for IPv4, TCP and ICMP (RFC 1624 §3).
func TestChecksumNegativeZero(t *testing.T) {
	// Choose a field so that the computed checksum is 0: the urgent pointer
	// (TCP), the identification (IPv4), the rest of header (ICMP) set to the
	// checksum they had when zero.
	tcp := func(urg uint16, csum Auto[uint16]) []byte {
		b, err := (&Packet{IPv4: &IPv4{Src: hc, Dst: hs}, TCP: &TCP{SrcPort: 40000, DstPort: 9999, Flags: TCPSyn, Urgent: urg, Checksum: csum}}).Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := tcp(0, Auto[uint16]{})
	zero := tcp(uint16(b[36])<<8|uint16(b[37]), Auto[uint16]{})
	if zero[36] != 0 || zero[37] != 0 {
		t.Fatalf("setup: computed TCP checksum %x, want 0000", zero[36:38])
	}
	neg := tcp(uint16(b[36])<<8|uint16(b[37]), Set[uint16](0xffff))
	var d Decoded
	if err := d.DecodeIP(neg); err != nil {
		t.Fatal(err)
	}
	c := checksumOf(t, &d, LayerTCP)
	if c.Status != ChecksumGood || !c.NegZero || c.Want != 0 || c.Got != 0xffff {
		t.Errorf("TCP 0xffff for computed 0: %+v, want good (−0)", c)
	}
	if m := meaningOf(&d, "TCP", "Checksum"); strings.Contains(m, "drop") || !strings.Contains(m, "RFC 1624") {
		t.Errorf("meaning %q: want good, citing RFC 1624, no drop", m)
	}
	// IPv4: an identification that makes the header sum 0.
	ip := func(id uint16, csum Auto[uint16]) []byte {
		b, _ := (&Packet{IPv4: &IPv4{Src: hc, Dst: hs, ID: id, Checksum: csum}, UDP: &UDP{SrcPort: 1, DstPort: 2}}).Append(nil)
		return b
	}
	b = ip(0, Auto[uint16]{})
	id := uint16(b[10])<<8 | uint16(b[11])
	if z := ip(id, Auto[uint16]{}); z[10] != 0 || z[11] != 0 {
		t.Fatalf("setup: IPv4 checksum %x", z[10:12])
	}
	if err := d.DecodeIP(ip(id, Set[uint16](0xffff))); err != nil {
		t.Fatal(err)
	}
	if c := checksumOf(t, &d, LayerIPv4); c.Status != ChecksumGood || !c.NegZero {
		t.Errorf("IPv4 0xffff for computed 0: %+v, want good (−0)", c)
	}
	// A real mismatch still says what a receiver does.
	if err := d.DecodeIP(tcp(0, Set[uint16](0xbeef))); err != nil {
		t.Fatal(err)
	}
	if m := meaningOf(&d, "TCP", "Checksum"); !strings.HasPrefix(m, "BAD") || !strings.Contains(m, "no RST") {
		t.Errorf("bad TCP checksum meaning %q", m)
	}
	// UDP: 0 is "no checksum" (RFC 768), not −0.
	u, _ := (&Packet{IPv4: &IPv4{Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 1, DstPort: 2, Checksum: Set[uint16](0)}}).Append(nil)
	_ = d.DecodeIP(u)
	if c := checksumOf(t, &d, LayerUDP); c.Status != ChecksumAbsent {
		t.Errorf("UDP checksum 0: %v, want absent", c.Status)
	}
}

// Item 6: RFC 7323 §2.3 and Linux use 14 for a larger shift.
func TestWindowScaleClamped(t *testing.T) {
	for _, c := range []struct {
		shift uint8
		want  string
	}{{0, "units of 1 byte: unscaled"}, {7, "units of 128 bytes"}, {14, "units of 16384 bytes"}, {15, "receivers use 14"}, {255, "units of 16384 bytes"}} {
		m := DescribeTCPOption(Option{Kind: TCPOptWScale, Len: 3, Data: []byte{c.shift}})
		if !strings.Contains(m, c.want) || strings.Contains(m, "32768") || strings.Contains(m, " 1 bytes") {
			t.Errorf("wscale %d: %q, want %q", c.shift, m, c.want)
		}
	}
}

// Item 7: bytes past the total length are shown, as a trailer or as the
// padding of a short Ethernet frame.
func TestTrailerAndPaddingShown(t *testing.T) {
	b, _ := (&Packet{IPv4: &IPv4{Src: hc, Dst: hs, TotalLen: Set[uint16](40)}, TCP: &TCP{SrcPort: 1, DstPort: 2, Flags: TCPSyn},
		Payload: []byte("Hello")}).Append(nil)
	var d Decoded
	_ = d.DecodeIP(b)
	var got *Field
	fields := Explain(&d)
	for i := range fields {
		if fields[i].Name == "Trailer" {
			got = &fields[i]
		}
	}
	if got == nil || got.Offset != 40 || got.Width != 40 || !strings.Contains(got.Text, `"Hello"`) {
		t.Fatalf("trailer field %+v, want 5 bytes \"Hello\" at byte 40", got)
	}
	f, _ := (&Packet{Ethernet: &Ethernet{Dst: Broadcast}, IPv4: &IPv4{Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: []byte("Hi")}).Append(nil)
	f = append(f, make([]byte, MinFrameLen-len(f))...)
	if err := d.DecodeFrame(f); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range Explain(&d) {
		if x.Name == "Padding" && x.Offset == 44 && x.Width == 16*8 && strings.Contains(x.Meaning, "Ethernet padding") {
			found = true
		}
	}
	if !found {
		t.Errorf("no 16-byte Ethernet padding field in a 60-byte frame")
	}
}

// Item 7: 802.1Q and QinQ tags are built and decoded, not stripped.
func TestVLANBuildAndDecode(t *testing.T) {
	for _, tags := range [][]VLAN{
		{{TPID: EtherTypeVLAN, ID: 5, PCP: 3}},
		{{TPID: EtherTypeQinQ, ID: 100}, {TPID: EtherTypeVLAN, ID: 5, DEI: true}},
	} {
		p := Packet{Ethernet: &Ethernet{Dst: Broadcast, VLANs: tags}, IPv4: &IPv4{Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 1, DstPort: 9999}, Payload: []byte("Hello")}
		b, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 14+4*len(tags)+33 {
			t.Fatalf("%d bytes", len(b))
		}
		var d Decoded
		if err := d.DecodeFrame(b); err != nil {
			t.Fatal(err)
		}
		if !d.Has(LayerEthernet|LayerVLAN|LayerIPv4|LayerUDP) || len(d.Ethernet.VLANs) != len(tags) || string(d.Payload) != "Hello" {
			t.Fatalf("decoded %v, %d tags, payload %q", d.Link|d.Layers, len(d.Ethernet.VLANs), d.Payload)
		}
		for i := range tags {
			if d.Ethernet.VLANs[i] != tags[i] {
				t.Errorf("tag %d: %+v, want %+v", i, d.Ethernet.VLANs[i], tags[i])
			}
		}
		if c := checksumOf(t, &d, LayerUDP); c.Status != ChecksumGood {
			t.Errorf("UDP checksum %v", c.Status)
		}
		tm, err := p.Template(nil)
		if err != nil || tm.IPOffset() != 14+4*len(tags) {
			t.Errorf("template IP offset %d (%v)", tm.IPOffset(), err)
		}
	}
	if _, err := (&Packet{Ethernet: &Ethernet{VLANs: []VLAN{{ID: 4096}}}, IPv4: &IPv4{}, UDP: &UDP{}}).Append(nil); !errors.Is(err, ErrRange) {
		t.Errorf("VLAN ID 4096: %v, want ErrRange", err)
	}
}

// Item 9: the total length runs past the bytes, but the UDP length fits and
// every byte it covers is here: tcpdump says "udp sum ok".
func TestUDPChecksumVerifiableInCutDatagram(t *testing.T) {
	b, _ := hex.DecodeString("4500001f000100004011eca4c6120103c61201019c40270f000a45f86869")
	var d Decoded
	err := d.DecodeIP(b)
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("err = %v, want the IPv4 total length truncated", err)
	}
	c := checksumOf(t, &d, LayerUDP)
	if c.Status != ChecksumGood || c.Want != 0x45f8 {
		t.Errorf("UDP checksum %+v, want good 0x45f8", c)
	}
}

// Item 10: the step text of a 65 000-byte checksum is built in linear time
// and memory (it took 7 s by repeated concatenation).
func TestChecksumStepsLinear(t *testing.T) {
	data := make([]byte, 65000)
	for i := range data {
		data[i] = byte(i)
	}
	s := StepsOf(data)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	text := s.String()
	el := time.Since(start)
	runtime.ReadMemStats(&m1)
	if el > 2*time.Second {
		t.Errorf("String of %d words took %v", len(s.Words), el)
	}
	// Quadratic concatenation allocates about n²/2 bytes (gigabytes here);
	// a builder a small multiple of the text.
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > uint64(8*len(text)) {
		t.Errorf("String allocated %d bytes for %d bytes of text", alloc, len(text))
	}
	if n := strings.Count(text, "\n"); n != len(s.Words)+len(s.Folds)+1 {
		t.Errorf("%d lines, want %d", n, len(s.Words)+len(s.Folds)+1)
	}
}
