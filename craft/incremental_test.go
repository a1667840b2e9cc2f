package craft

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// Every incremental update agrees with building the packet again.
func TestPatchAgreesWithRebuild(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		src := netip.AddrFrom4([4]byte{198, 18, byte(r.Uint32()), byte(r.Uint32())})
		ip := IPv4{ID: uint16(r.Uint32()), TTL: Set(uint8(r.Uint32())), Src: src, Dst: hs}
		tcp := TCP{SrcPort: uint16(r.Uint32()), DstPort: uint16(r.Uint32()), Seq: r.Uint32(), Flags: TCPSyn, Window: uint16(r.Uint32())}
		p := Packet{Ethernet: &Ethernet{}, IPv4: &ip, TCP: &tcp, Payload: bytes.Repeat([]byte{byte(i)}, r.IntN(30))}
		b := mustBuild(t, p)
		id, sport, seq := uint16(r.Uint32()), uint16(r.Uint32()), r.Uint32()
		if i%10 == 0 {
			id, sport = 0, 0xffff // the corner values
		}
		Patch16(b, EthernetLen+4, id, EthernetLen+10)
		Patch16(b, EthernetLen+20, sport, EthernetLen+20+16)
		Patch32(b, EthernetLen+20+4, seq, EthernetLen+20+16)
		ip.ID, tcp.SrcPort, tcp.Seq = id, sport, seq
		want := mustBuild(t, p)
		if !bytes.Equal(b, want) {
			t.Fatalf("patched %x\nrebuilt %x", b, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { Patch16(make([]byte, 4), 0, 1, 2) }); n > 1 {
		t.Errorf("Patch16 allocates")
	}
}

func TestUpdateChecksumRFC1624(t *testing.T) {
	// RFC 1624 §4's example: a header summing to 0xCD7A... simplified: when
	// the sum becomes zero, eqn. 3 yields 0x0000 (never 0xFFFF from a change).
	b := []byte{0x00, 0x01, 0xff, 0xfe}
	hc := Checksum(b)
	b2 := []byte{0x00, 0x00, 0xff, 0xfe}
	if got, want := UpdateChecksum(hc, 0x0001, 0x0000), Checksum(b2); got != want {
		t.Errorf("update %#04x, recomputed %#04x", got, want)
	}
}

func BenchmarkPatchSYN(b *testing.B) {
	frame := mustBuild(b, synPacket())
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Patch16(frame, EthernetLen+4, uint16(i), EthernetLen+10)
		Patch32(frame, EthernetLen+20+4, uint32(i), EthernetLen+20+16)
	}
}
