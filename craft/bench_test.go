package craft

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The same SYN for every builder: Ethernet + IPv4 + TCP with MSS,
// SACK-permitted, timestamps and window scale (and the NOP that aligns them),
// as Linux sends it.

func BenchmarkBuildSYN(b *testing.B) {
	p := synPacket()
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	b.SetBytes(int64(p.Len()))
	for i := 0; i < b.N; i++ {
		p.TCP.Seq = uint32(i)
		if _, err := p.Append(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSYN(b *testing.B) {
	frame := mustBuild(b, synPacket())
	var d Decoded
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for i := 0; i < b.N; i++ {
		if err := d.DecodeFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSYNChecksums(b *testing.B) {
	frame := mustBuild(b, synPacket())
	var d Decoded
	var sums [4]ChecksumResult
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = d.DecodeFrame(frame)
		_ = d.Checksums(sums[:0])
	}
}

func BenchmarkDecodePortUnreachable(b *testing.B) {
	pkt := mustBuild(b, portUnreachable(b))
	var d Decoded
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := d.DecodeIP(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildFragment4000(b *testing.B) {
	data := make([]byte, 4000)
	p := Packet{IPv4: &IPv4{ID: 1, Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: data}
	dg := make([]byte, 0, 4100)
	fbuf, frags := make([]byte, 0, 8192), make([]Fragment, 0, 8)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.IPv4.ID = uint16(i)
		d, err := p.Append(dg[:0])
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := Fragments(fbuf[:0], frags[:0], d, FragOptions{MTU: 1500}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFragmentWhole is the plan of a 1029-byte datagram with MTU
// 1500: it fits, and comes back whole into the caller's buffer.
func BenchmarkFragmentWhole(b *testing.B) {
	dg, _ := (&Packet{IPv4: &IPv4{ID: 1, Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: make([]byte, 1001)}).Append(nil)
	buf, frags := make([]byte, 0, 2048), make([]Fragment, 0, 4)
	b.ReportAllocs()
	b.SetBytes(int64(len(dg)))
	for i := 0; i < b.N; i++ {
		if _, _, err := Fragments(buf[:0], frags[:0], dg, FragOptions{MTU: 1500}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChecksum1500(b *testing.B) {
	buf := make([]byte, 1500)
	b.ReportAllocs()
	b.SetBytes(1500)
	for i := 0; i < b.N; i++ {
		_ = Checksum(buf)
	}
}

// gopacket at its fastest: layers and buffer reused, FixLengths and
// ComputeChecksums, as its documentation recommends for speed.
func BenchmarkGopacketBuildSYN(b *testing.B) {
	eth := &layers.Ethernet{SrcMAC: mHc[:], DstMAC: mHs[:], EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, Id: 0x1234, Flags: layers.IPv4DontFragment, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: hc.AsSlice(), DstIP: hs.AsSlice()}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 9999, Seq: 0x11223344, SYN: true, Window: 64240, Options: []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
		{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
		{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{1, 2, 3, 4, 0, 0, 0, 0}},
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
	}}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		b.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tcp.Seq = uint32(i)
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGopacketDecodeSYN(b *testing.B) {
	frame := mustBuild(b, synPacket())
	var eth layers.Ethernet
	var ip layers.IPv4
	var tcp layers.TCP
	var payload gopacket.Payload
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip, &tcp, &payload)
	decoded := make([]gopacket.LayerType, 0, 4)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := parser.DecodeLayers(frame, &decoded); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTemplatePatchSYN gives a SYN the identity of the next probe, as a
// scan does: IP ID, both ports and the sequence number, with the IPv4 and
// TCP checksums updated in place (RFC 1624).
func BenchmarkTemplatePatchSYN(b *testing.B) {
	p := synPacket()
	tm, err := p.Template(make([]byte, 0, 128))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tm.SetIPID(uint16(i))
		tm.SetSrcPort(uint16(i>>3) | 0x8000)
		tm.SetDstPort(uint16(i))
		tm.SetSeq(uint32(i) * 0x9e3779b9)
	}
}

// BenchmarkTemplatePatchSYN6 is BenchmarkTemplatePatchSYN on an IPv6 SYN
// (no IP ID; the hop limit instead), against a full rebuild of the same
// packet (BenchmarkBuildSYN6).
func BenchmarkTemplatePatchSYN6(b *testing.B) {
	p := tmplShapes6()[0].p()
	tm, err := p.Template(make([]byte, 0, 128))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tm.SetTTL(uint8(i))
		tm.SetSrcPort(uint16(i>>3) | 0x8000)
		tm.SetDstPort(uint16(i))
		tm.SetSeq(uint32(i) * 0x9e3779b9)
	}
}

func BenchmarkBuildSYN6(b *testing.B) {
	p := tmplShapes6()[0].p()
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.IPv6.HopLimit = Set(uint8(i))
		p.TCP.SrcPort, p.TCP.DstPort, p.TCP.Seq = uint16(i>>3)|0x8000, uint16(i), uint32(i)*0x9e3779b9
		buf, _ = p.Append(buf[:0])
	}
}

// BenchmarkPatch16ScanSYN is the same patch written by hand with Patch16 and
// Patch32 at fixed offsets, as listen/scan.go did before Template.
func BenchmarkPatch16ScanSYN(b *testing.B) {
	frame := mustBuild(b, synPacket())
	ip, tcp := EthernetLen, EthernetLen+IPv4HeaderLen
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Patch16(frame, ip+4, uint16(i), ip+10)
		Patch16(frame, tcp, uint16(i>>3)|0x8000, tcp+16)
		Patch16(frame, tcp+2, uint16(i), tcp+16)
		Patch32(frame, tcp+4, uint32(i)*0x9e3779b9, tcp+16)
	}
}
