package craft

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// The transport-layer article's worked example: "Computer" sums to 0x18BC5,
// folds to 0x8BC6, and its complement 0x7439 is the checksum.
func TestChecksumComputer(t *testing.T) {
	s := StepsOf([]byte("Computer"))
	words := []uint16{0x436F, 0x6D70, 0x7574, 0x6572}
	if len(s.Words) != len(words) {
		t.Fatalf("%d words, want 4", len(s.Words))
	}
	for i, w := range words {
		if s.Words[i].Value != w {
			t.Errorf("word %d = %#04x, want %#04x", i, s.Words[i].Value, w)
		}
	}
	if s.Sum != 0x18BC5 {
		t.Errorf("sum = %#x, want 0x18BC5", s.Sum)
	}
	if len(s.Folds) != 1 || s.Folds[0] != (ChecksumFold{Before: 0x18BC5, Carry: 1, After: 0x8BC6}) {
		t.Errorf("folds = %+v, want one: 0x18BC5 → 0x8BC6", s.Folds)
	}
	if s.Folded != 0x8BC6 || s.Checksum != 0x7439 {
		t.Errorf("folded %#x checksum %#x, want 0x8BC6 and 0x7439", s.Folded, s.Checksum)
	}
	if got := Checksum([]byte("Computer")); got != 0x7439 {
		t.Errorf("Checksum = %#x, want 0x7439", got)
	}
	// The article's next step: adding 0xFFFF changes nothing.
	if got := Checksum([]byte("Computer\xff\xff")); got != 0x7439 {
		t.Errorf("with 0xFFFF added: %#x, want 0x7439", got)
	}
}

// Exercise 3: "Hello", "UQUQUQHello" and "llHeo" have the same UDP checksum
// between the same addresses and ports; so do nc's versions with a newline.
func TestExercise3SameChecksum(t *testing.T) {
	for _, nl := range []string{"", "\n"} {
		var sums []uint16
		for _, msg := range []string{"Hello", "UQUQUQHello", "llHeo"} {
			p := Packet{IPv4: &IPv4{Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 40000, DstPort: 8192}, Payload: []byte(msg + nl)}
			b, err := p.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			sums = append(sums, binary.BigEndian.Uint16(b[26:]))
			steps := TransportSteps(hc, hs, ProtoUDP, b[20:])
			if steps.Checksum != sums[len(sums)-1] {
				t.Errorf("%q: steps give %#04x, the packet holds %#04x", msg, steps.Checksum, sums[len(sums)-1])
			}
		}
		if sums[0] != sums[1] || sums[0] != sums[2] {
			t.Errorf("newline %q: checksums %#04x, want three equal", nl, sums)
		}
	}
	// Different addresses give a different checksum: the pseudo-header.
	a, _ := (&Packet{IPv4: &IPv4{Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: []byte("Hello")}).Append(nil)
	b, _ := (&Packet{IPv4: &IPv4{Src: hc, Dst: hc}, UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: []byte("Hello")}).Append(nil)
	if a[26] == b[26] && a[27] == b[27] {
		t.Error("the pseudo-header's destination does not change the checksum")
	}
}

// naiveChecksum folds after every word, the way RFC 1071 §1 describes it.
func naiveChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i < len(b); i += 2 {
		w := uint32(b[i]) << 8
		if i+1 < len(b) {
			w |= uint32(b[i+1])
		}
		s += w
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func TestChecksumAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		b := make([]byte, r.IntN(3000))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if i%7 == 0 {
			for j := range b {
				b[j] = 0xff
			}
		}
		if got, want := Checksum(b), naiveChecksum(b); got != want {
			t.Fatalf("len %d: %#04x, naive %#04x", len(b), got, want)
		}
		s := StepsOf(b)
		if s.Checksum != naiveChecksum(b) {
			t.Fatalf("steps of len %d: %#04x", len(b), s.Checksum)
		}
	}
}

func TestTransportStepsTCP(t *testing.T) {
	p := synPacket()
	b, _ := p.Append(nil)
	seg := b[EthernetLen+IPv4HeaderLen:]
	s := TransportSteps(hc, hs, ProtoTCP, seg)
	if s.Checksum != binary.BigEndian.Uint16(seg[16:]) {
		t.Fatalf("steps %#04x, segment %#04x", s.Checksum, binary.BigEndian.Uint16(seg[16:]))
	}
	if s.Words[0].Label != "pseudo: source address (high)" || s.Words[14].Label != "TCP checksum (counted as 0)" {
		t.Errorf("labels: %q, %q", s.Words[0].Label, s.Words[14].Label)
	}
}

// fold agrees with folding one carry at a time, at the edges too.
func TestFoldEdges(t *testing.T) {
	slow := func(s uint64) uint16 {
		for s > 0xffff {
			s = s&0xffff + s>>16
		}
		return uint16(s)
	}
	r := rand.New(rand.NewPCG(3, 4))
	cases := []uint64{0, 1, 0xffff, 0x10000, 0x1fffe, 0xffffffff, 0x100000000, 0xffff0000ffff, 1<<64 - 1, 1<<64 - 2, 0xffffffff00000000, 0x80000000_80000000}
	for i := 0; i < 100000; i++ {
		cases = append(cases, r.Uint64())
	}
	for _, s := range cases {
		if got, want := fold(s), slow(s); got != want {
			t.Fatalf("fold(%#x) = %#x, want %#x", s, got, want)
		}
	}
}
