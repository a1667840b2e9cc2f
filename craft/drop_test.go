package craft

import (
	"net/netip"
	"strings"
	"testing"
)

func TestSilentDrop(t *testing.T) {
	src, dst := netip.MustParseAddr("198.18.0.2"), netip.MustParseAddr("198.18.1.1")
	src6, dst6 := netip.MustParseAddr("2001:2::2"), netip.MustParseAddr("2001:2:0:1::1")
	ip := func() *IPv4 { return &IPv4{Src: src, Dst: dst} }
	cases := []struct {
		name  string
		p     Packet
		claim ClaimID
		what  string // "" when the receiver takes it
	}{
		{"good udp", Packet{IPv4: ip(), UDP: &UDP{SrcPort: 40000, DstPort: 9998}}, 0, ""},
		{"good tcp", Packet{IPv4: ip(), TCP: &TCP{SrcPort: 40000, DstPort: 9998, Flags: TCPSyn}}, 0, ""},
		{"udp no checksum v4", Packet{IPv4: ip(), UDP: &UDP{SrcPort: 40000, DstPort: 9998, Checksum: Set[uint16](0)}}, 0, ""},
		{"ip csum", Packet{IPv4: &IPv4{Src: src, Dst: dst, Checksum: Set[uint16](0xdead)}, UDP: &UDP{DstPort: 9998}}, ClaimIPv4ChecksumBad, "IPv4 header checksum is bad (0xdead, should be 0x"},
		{"ihl 3", Packet{IPv4: &IPv4{Src: src, Dst: dst, IHL: Set[uint8](3)}, UDP: &UDP{DstPort: 9998}}, ClaimIPv4HeaderLengthError, "IPv4 header length is 3 words (12 bytes)"},
		{"total short", Packet{IPv4: &IPv4{Src: src, Dst: dst, TotalLen: Set[uint16](12)}, UDP: &UDP{DstPort: 9998}}, ClaimIPv4HeaderLengthError, "IPv4 total length is 12 bytes"},
		{"tcp csum", Packet{IPv4: ip(), TCP: &TCP{DstPort: 9998, Flags: TCPSyn, Checksum: Set[uint16](0xdead)}}, ClaimTCPChecksumBad, "TCP checksum is bad (0xdead, should be 0x"},
		{"udp csum", Packet{IPv4: ip(), UDP: &UDP{DstPort: 9998, Checksum: Set[uint16](0xdead)}}, ClaimUDPChecksumBad, "UDP checksum is bad (0xdead"},
		{"icmp csum", Packet{IPv4: ip(), ICMP: &ICMP{Type: ICMPEcho, Checksum: Set[uint16](0xdead)}}, ClaimICMPChecksumBad, "ICMP checksum is bad (0xdead"},
		{"udp6 csum", Packet{IPv6: &IPv6{Src: src6, Dst: dst6}, UDP: &UDP{DstPort: 9998, Checksum: Set[uint16](0xdead)}}, ClaimUDPChecksumBad, "UDP checksum is bad (0xdead"},
		{"udp6 zero", Packet{IPv6: &IPv6{Src: src6, Dst: dst6}, UDP: &UDP{DstPort: 9998, Checksum: Set[uint16](0)}}, ClaimUDP6ZeroChecksum, "UDP checksum is 0"},
		{"udp length", Packet{IPv4: ip(), UDP: &UDP{DstPort: 9998, Length: Set[uint16](4)}}, ClaimUDPLengthBad, "UDP length is 4 bytes"},
		{"udp length long", Packet{IPv4: ip(), UDP: &UDP{DstPort: 9998, Length: Set[uint16](200)}}, ClaimUDPLengthBad, "UDP length is 200 bytes, more than the 8"},
		{"tcp offset", Packet{IPv4: ip(), TCP: &TCP{DstPort: 9998, Flags: TCPSyn, DataOffset: Set[uint8](3)}}, ClaimTCPDataOffsetBad, "TCP data offset is 3 words"},
		{"tcp offset past", Packet{IPv4: ip(), TCP: &TCP{DstPort: 9998, Flags: TCPSyn, DataOffset: Set[uint8](15)}}, ClaimTCPDataOffsetBad, "TCP data offset is 15 words (60 bytes), past the 20-byte segment"},
	}
	for _, c := range cases {
		b, err := c.p.Append(nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		d, bad := SilentDrop(b)
		if c.what == "" {
			if bad {
				t.Errorf("%s: a receiver takes it, SilentDrop says %q", c.name, d)
			}
			continue
		}
		if !bad || d.Claim != c.claim || !strings.HasPrefix(d.What, c.what) {
			t.Errorf("%s: got %v %q (claim %d), want claim %d and %q…", c.name, bad, d.What, d.Claim, c.claim, c.what)
		}
		if !strings.HasSuffix(d.String(), c.claim.Text()) {
			t.Errorf("%s: %q does not end in the claim", c.name, d)
		}
	}
	// The "should be" value is the checksum the receiver computes.
	good, _ := (&Packet{IPv4: ip(), UDP: &UDP{DstPort: 9998}}).Append(nil)
	bad := append([]byte(nil), good...)
	bad[10], bad[11] = 0xde, 0xad
	d, _ := SilentDrop(bad)
	want := Checksum(append(append(append([]byte(nil), good[:10]...), 0, 0), good[12:20]...))
	if !strings.HasSuffix(d.What, "should be 0x"+hex16(want)+")") {
		t.Errorf("%q: want should be 0x%04x", d.What, want)
	}
}

func hex16(v uint16) string {
	const h = "0123456789abcdef"
	return string([]byte{h[v>>12], h[v>>8&15], h[v>>4&15], h[v&15]})
}

func FuzzSilentDrop(f *testing.F) {
	for _, s := range [][]byte{{0x45}, {0x43, 0, 0, 12}, {0x60}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { SilentDrop(b) })
}

// A prober checks every probe it sends: a datagram a receiver takes costs
// no allocation.
func TestSilentDropAllocs(t *testing.T) {
	b, err := (&Packet{IPv4: &IPv4{Src: netip.MustParseAddr("198.18.0.2"), Dst: netip.MustParseAddr("198.18.1.1")}, TCP: &TCP{DstPort: 80, Flags: TCPSyn}}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { SilentDrop(b) }); n != 0 {
		t.Errorf("SilentDrop of a good SYN: %v allocations, want 0", n)
	}
}
