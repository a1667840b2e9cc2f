package craft

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// Keep leaves a checksum exactly as it was while the fields it covers
// change: how a sender keeps a forced checksum of a fragment it parsed.
func TestTemplateKeep(t *testing.T) {
	p := Packet{IPv4: &IPv4{ID: 1, Src: netip.MustParseAddr("198.18.1.3"), Dst: netip.MustParseAddr("198.18.1.1"), Checksum: Set[uint16](0xdead)},
		UDP: &UDP{SrcPort: 1, DstPort: 2, Checksum: Set[uint16](0xbeef)}, Payload: []byte("hi")}
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := ParseTemplate(b, false)
	if err != nil {
		t.Fatal(err)
	}
	tm.Keep(LayerIPv4)
	tm.Keep(LayerTCP | LayerUDP | LayerICMP)
	tm.SetIPID(77)
	tm.SetDstPort(9999)
	tm.SetSrc(netip.MustParseAddr("198.18.1.9"))
	got := tm.Bytes()
	if binary.BigEndian.Uint16(got[4:]) != 77 || binary.BigEndian.Uint16(got[22:]) != 9999 {
		t.Fatalf("fields not patched: % x", got)
	}
	if ip, udp := binary.BigEndian.Uint16(got[10:]), binary.BigEndian.Uint16(got[26:]); ip != 0xdead || udp != 0xbeef {
		t.Errorf("kept checksums changed: IPv4 0x%04x UDP 0x%04x, want 0xdead 0xbeef", ip, udp)
	}
}

// Clone's layers are the clone's own.
func TestPacketClone(t *testing.T) {
	p := Packet{Ethernet: &Ethernet{}, IPv4: &IPv4{ID: 1}, TCP: &TCP{SrcPort: 1}, Payload: []byte("x")}
	q := p.Clone()
	q.Ethernet.Src[0], q.IPv4.ID, q.TCP.SrcPort = 9, 2, 2
	if p.Ethernet.Src[0] != 0 || p.IPv4.ID != 1 || p.TCP.SrcPort != 1 || q.UDP != nil || string(q.Payload) != "x" {
		t.Errorf("clone shares layers with the original: %+v %+v", p.IPv4, p.TCP)
	}
}

// A tagged frame's summary names its VLANs; an IP packet decoded after it
// with the same Decoded does not inherit them.
func TestSummaryVLAN(t *testing.T) {
	p := Packet{Ethernet: &Ethernet{VLANs: []VLAN{{ID: 5, PCP: 3}}}, IPv4: &IPv4{Src: netip.MustParseAddr("198.18.1.3"), Dst: netip.MustParseAddr("198.18.1.1")}, UDP: &UDP{SrcPort: 1, DstPort: 2}}
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoded
	if err := d.DecodeFrame(b); err != nil {
		t.Fatal(err)
	}
	if s := d.Summary(); s != "vlan 5 p 3: 198.18.1.3:1 → 198.18.1.1:2 UDP len 8" {
		t.Errorf("summary %q", s)
	}
	if err := d.DecodeIP(b[EthernetLen+VLANTagLen:]); err != nil {
		t.Fatal(err)
	}
	if s := d.Summary(); s != "198.18.1.3:1 → 198.18.1.1:2 UDP len 8" {
		t.Errorf("summary after DecodeIP %q", s)
	}
}
