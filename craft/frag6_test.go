package craft

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestFragments6(t *testing.T) {
	data := make([]byte, 3000)
	for i := range data {
		data[i] = byte(i)
	}
	pk := Packet{IPv6: &IPv6{Src: hc6, Dst: hf6, FlowLabel: 5},
		IPv6Ext: []IPv6Ext{HopByHop(AppendIPv6OptRouterAlert(nil, 0)), DestOpts(nil), RoutingType0(0, hs6), DestOpts(AppendIPv6OptPadN(nil, 14))},
		UDP:     &UDP{SrcPort: 40000, DstPort: 9999}, Payload: data}
	packet := mustBuild(t, pk)
	// Per-fragment: IPv6 40 + hop-by-hop 8 + dest 8 + routing 24 = 80;
	// fragmentable: dest 16 + UDP 8 + 3000.
	_, frags, err := Fragments6(nil, nil, packet, FragOptions6{FragOptions: FragOptions{MTU: 1280}, ID: 0x01020304})
	if err != nil {
		t.Fatal(err)
	}
	per := 80
	size := (1280 - per - 8) &^ 7
	frag := packet[per:]
	if len(frags) != (len(frag)+size-1)/size {
		t.Fatalf("%d fragments", len(frags))
	}
	var joined []byte
	for i, f := range frags {
		b := f.Bytes
		// The per-fragment part is the packet's, but for the payload length
		// and the routing header's next header (byte 56), now 44.
		if len(b) > 1280 || !bytes.Equal(b[:4], packet[:4]) || !bytes.Equal(b[6:56], packet[6:56]) || !bytes.Equal(b[57:per], packet[57:per]) {
			t.Fatalf("fragment %d: per-fragment headers changed: %x", f.Index, b[:per])
		}
		if b[56] != ProtoFragment || packet[56] != ProtoDestOpts {
			t.Fatalf("fragment %d: the routing header's next header is %d, want 44", f.Index, b[56])
		}
		if pl := binary.BigEndian.Uint16(b[4:]); int(pl) != len(b)-40 {
			t.Fatalf("fragment %d: payload length %d of %d", f.Index, pl, len(b)-40)
		}
		fh := b[per : per+8]
		if fh[0] != ProtoDestOpts || fh[1] != 0 || int(binary.BigEndian.Uint16(fh[2:])>>3)*8 != f.Offset ||
			(fh[3]&1 == 1) != (i < len(frags)-1) || binary.BigEndian.Uint32(fh[4:]) != 0x01020304 {
			t.Fatalf("fragment %d: fragment header %x", f.Index, fh)
		}
		if i < len(frags)-1 && f.Len%8 != 0 {
			t.Fatalf("fragment %d carries %d bytes", f.Index, f.Len)
		}
		joined = append(joined, b[per+8:]...)
		// gopacket reads the same fragment header.
		gp := gopacket.NewPacket(b, layers.LayerTypeIPv6, gopacket.Default)
		g, _ := gp.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
		if g == nil || int(g.FragmentOffset)*8 != f.Offset || g.MoreFragments != f.MF || g.Identification != 0x01020304 || uint8(g.NextHeader) != ProtoDestOpts {
			t.Fatalf("fragment %d: gopacket %+v", f.Index, g)
		}
		d := Decoded{AcceptIPv6: true}
		if err := d.DecodeIP(b); err != nil {
			t.Fatalf("fragment %d: %v", f.Index, err)
		}
		want := FirstFragment
		if f.Offset > 0 {
			want = LaterFragment
		}
		if d.Frag != want || ChainSplit(b) {
			t.Fatalf("fragment %d: %v, chain split %v", f.Index, d.Frag, ChainSplit(b))
		}
	}
	if !bytes.Equal(joined, frag) {
		t.Fatalf("the fragments do not add up to the fragmentable part")
	}
	// Allocation-free with room.
	buf, fs := make([]byte, 0, 8192), make([]Fragment, 0, 8)
	if n := testing.AllocsPerRun(100, func() {
		_, _, _ = Fragments6(buf[:0], fs[:0], packet, FragOptions6{FragOptions: FragOptions{DataSize: 1024}})
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func TestFragments6Golden(t *testing.T) {
	packet := mustBuild(t, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello, IPv6 fragments!")})
	_, frags, err := Fragments6(nil, nil, packet, FragOptions6{FragOptions: FragOptions{DataSize: 16}, ID: 7})
	if err != nil {
		t.Fatal(err)
	}
	// Checked by hand: payload length 8 + 16 (then 8 + 14), next header
	// 44, fragment header 11 00 0001 / 0010 (offset 0 with M, offset 2
	// units = 16 bytes, last), identification 7; the UDP checksum covers
	// the whole datagram.
	want := []string{
		"6000000000182c40200100020000000100000000000000032001000200000001000000000000000111000001000000079c40270f001e1aa448656c6c6f2c2049",
		"6000000000162c402001000200000001000000000000000320010002000000010000000000000001110000100000000750763620667261676d656e747321",
	}
	if len(frags) != len(want) {
		t.Fatalf("%d fragments", len(frags))
	}
	for i, f := range frags {
		if got := hex.EncodeToString(f.Bytes); got != want[i] {
			t.Errorf("fragment %d:\n %s\nwant\n %s", i+1, got, want[i])
		}
	}
	// Atomic (RFC 8021): one fragment, offset 0, M clear, decoded whole.
	_, frags, err = Fragments6(nil, nil, packet, FragOptions6{Atomic: true, ID: 9})
	if err != nil || len(frags) != 1 || frags[0].MF {
		t.Fatalf("atomic: %v %+v", err, frags)
	}
	d := Decoded{AcceptIPv6: true}
	if err := d.DecodeIP(frags[0].Bytes); err != nil || d.Frag != NotFragment || d.Layers&LayerUDP == 0 || string(d.Payload) != "Hello, IPv6 fragments!" {
		t.Fatalf("atomic fragment decodes as %v %v %q", err, d.Frag, d.Payload)
	}
	if c := d.Checksums(nil); len(c) != 1 || c[0].Status != ChecksumGood {
		t.Fatalf("atomic fragment checksum %+v", c)
	}
}

// TestFragments6ChainSplit: a tiny first fragment behind an 16-byte
// Destination Options header holds only part of the chain (RFC 7112).
func TestFragments6ChainSplit(t *testing.T) {
	packet := mustBuild(t, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{DestOpts(AppendIPv6OptPadN(nil, 14))},
		UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: make([]byte, 64)})
	_, frags, err := Fragments6(nil, nil, packet, FragOptions6{FragOptions: FragOptions{DataSize: 32, TinyFirst: 16}})
	if err != nil {
		t.Fatal(err)
	}
	if !ChainSplit(frags[0].Bytes) {
		t.Errorf("16 bytes: the destination options and not the UDP header; the chain is split")
	}
	for _, f := range frags[1:] {
		if ChainSplit(f.Bytes) {
			t.Errorf("fragment %d is not a first fragment", f.Index)
		}
	}
	_, frags, _ = Fragments6(nil, nil, packet, FragOptions6{FragOptions: FragOptions{DataSize: 32, TinyFirst: 24}})
	if ChainSplit(frags[0].Bytes) {
		t.Errorf("24 bytes hold the destination options and the UDP header")
	}
	for _, o := range []FragOptions6{{FragOptions: FragOptions{DataSize: 12}}, {FragOptions: FragOptions{MTU: 60}}, {}, {FragOptions: FragOptions{DataSize: 16, Overlap: 16}}} {
		if _, _, err := Fragments6(nil, nil, packet, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
