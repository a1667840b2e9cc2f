package craft

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var claimHostsForTest = ClaimHosts{Src: hc, Dst: hs, Far: netip.MustParseAddr("198.18.2.2"),
	Src6: netip.MustParseAddr("2001:2:0:1::3"), Dst6: netip.MustParseAddr("2001:2:0:1::1"), Far6: netip.MustParseAddr("2001:2:0:2::1"),
	SrcLinkLocal: netip.MustParseAddr("fe80::ff:fe00:103"),
	OpenPort:     7001, ConnectedPort: 7002, ClosedPort: 7003}

// printedElsewhere are the claims rawcraft prints about an answer or a
// probe's outcome (probe's reasons, the exercises), not when it explains
// the claim's own packet.
var printedElsewhere = map[ClaimID]bool{
	ClaimIPv6RoutersNeverFragment:    true, // on the Packet Too Big that answers it
	ClaimParamProblemDropped:         true, // on the parameter problem that answers it
	ClaimClosedPortAnswersRST:        true,
	ClaimOpenPortDropsNoSYN:          true,
	ClaimACKAnsweredRST:              true,
	ClaimSYNFINDropped:               true,
	ClaimRSTWindowZero:               true,
	ClaimUnconnectedUDPNeverTold:     true,
	ClaimSYNACKAnsweredRST:           true,
	ClaimClosedUDPPortUnreachable:    true,
	ClaimReassemblyTimeExceeded:      true,
	ClaimReassemblyTimeoutNeedsFirst: true, // by the frag exercise, on silence
	ClaimFragTrimmed:                 true, // by the frag exercise (TestFragTrimmedIsTheModels)
	ClaimSYNRefused:                  true, // on the RST/ACK, by probe and handshake
	ClaimHalfOpenDroppedOnRST:        true, // on this host's kernel's RST, by handshake
}

// reassemblyClaims are printed as a fragment's fate by craft's reassembler
// (Linux's rules): TestReassemblyClaimsAreTheModels checks that the model
// gives them for the very packets the lab test sends.
var reassemblyClaims = map[ClaimID]bool{
	ClaimFragChecksumDropped:       true,
	ClaimFragInconsistentDiscarded: true,
	ClaimFragDuplicateDropped:      true,
	ClaimFragOverlapDiscarded:      true,
	ClaimFrag6OverlapDiscarded:     true,
	ClaimFrag6NotMultipleOf8:       true,
	ClaimFrag6PastMax:              true,
	ClaimFrag6ChainSplit:           true,
	ClaimFragOversized:             true,
	ClaimFrag6Oversized:            true,
}

// The model trims the first fragment of claim frag-trimmed to 8 bytes and
// completes the datagram with the next, as Linux does in the lab.
func TestFragTrimmedIsTheModels(t *testing.T) {
	pkts, err := ClaimFragTrimmed.demo()(claimHostsForTest)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReassembler(&ReassemblyConfig{Linux: true})
	first, err := r.Add(time.Unix(0, 0), pkts[0].Prior[0])
	if err != nil || first.Trimmed != 5 {
		t.Fatalf("first fragment: trimmed %d (%v), want 5", first.Trimmed, err)
	}
	last, err := r.Add(time.Unix(0, 0), pkts[0].Datagram)
	if err != nil || !last.Complete || last.Overlap != 0 {
		t.Errorf("last fragment: complete %v, overlap %d (%v); want complete, no overlap", last.Complete, last.Overlap, err)
	}
}

// craft's reassembler, with Linux's rules, states each reassembly claim
// for the claim's own packets: the sentence the lab proves is the one the
// model prints, and the model's verdict is the kernel's.
func TestReassemblyClaimsAreTheModels(t *testing.T) {
	for id := range reassemblyClaims {
		c := Claims()[id]
		pkts, err := c.Demo(claimHostsForTest)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			r := NewReassembler(&ReassemblyConfig{Linux: true})
			var reasons []string
			now := time.Unix(0, 0)
			for _, dg := range append(append([][]byte(nil), p.Prior...), p.Datagram) {
				ev, err := r.Add(now, dg)
				if err != nil {
					t.Fatalf("%s %s: %v", c.Name, p.Note, err)
				}
				reasons = append(reasons, ev.Reason)
			}
			if !strings.Contains(strings.Join(reasons, "\n"), c.Text) {
				t.Errorf("%s %s: the model's reasons %q do not say %q", c.Name, p.Note, reasons, c.Text)
			}
		}
	}
}

// Each claim's own packet, decoded and explained, prints the claim: the
// table's sentences are the ones the explanations use, and the lab test
// (claims_linux_test.go) proves them on these very packets.
func TestClaimPacketsPrintTheirClaim(t *testing.T) {
	names := map[string]bool{}
	for _, c := range Claims() {
		if names[c.Name] {
			t.Errorf("claim name %s twice", c.Name)
		}
		names[c.Name] = true
		if printedElsewhere[c.ID] || reassemblyClaims[c.ID] || c.Demo == nil {
			continue
		}
		pkts, err := c.Demo(claimHostsForTest)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		for _, p := range pkts {
			frame := append([]byte{2, 0, 0, 0, 1, 1, 2, 0, 0, 0, 1, 3, byte(p.EtherType >> 8), byte(p.EtherType)}, p.Datagram...)
			var d Decoded
			d.AcceptIPv6 = true
			err := d.DecodeFrame(frame)
			text := ""
			if err != nil {
				text = err.Error()
			}
			for _, f := range Explain(&d) {
				text += "\n" + f.Meaning
			}
			if !strings.Contains(text, c.Text) {
				t.Errorf("%s %s: the explanation does not say %q:%s", c.Name, p.Note, c.Text, text)
			}
		}
	}
}

// Issue 24: build udp --ihl 6 --data Hello blamed the UDP length; Linux
// answers parameter problem at octet 20, the option byte the UDP source
// port became (claim ipv4-option-past-header, proved in the lab).
func TestIHLPastOptionsBlamesTheOption(t *testing.T) {
	b, err := (&Packet{IPv4: &IPv4{Src: hc, Dst: hs, IHL: Set[uint8](6)}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello")}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoded
	err = d.DecodeIP(b)
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) || pe.Layer != "IPv4" || pe.Field != "options" || pe.Offset != 20 {
		t.Fatalf("err = %v, want IPv4 options at byte 20, malformed", err)
	}
	if !strings.Contains(pe.Detail, "kind 156 with length 64") || !strings.Contains(pe.Detail, ClaimIPv4OptionPastHeader.Text()) {
		t.Errorf("detail %q", pe.Detail)
	}
	// Options that hold: no error.
	b, _ = (&Packet{IPv4: &IPv4{Src: hc, Dst: hs, Options: []byte{IPOptNOP, IPOptRR, 7, 4, 0, 0, 0, 0}}, UDP: &UDP{SrcPort: 1, DstPort: 2}}).Append(nil)
	if err := d.DecodeIP(b); err != nil {
		t.Errorf("record route: %v", err)
	}
	// A length byte of 1, and a kind with no room for its length.
	for _, opts := range [][]byte{{0x44, 1, 0, 0}, {1, 1, 1, 0x44}} {
		b, _ = (&Packet{IPv4: &IPv4{Src: hc, Dst: hs, Options: opts}, UDP: &UDP{SrcPort: 1, DstPort: 2}}).Append(nil)
		if err := d.DecodeIP(b); !errors.As(err, &pe) || pe.Field != "options" {
			t.Errorf("options %x: %v", opts, err)
		}
	}
}

// Issue 24: explain udp --ip-len 10 said "20 header + -10 data"; a header
// length past the total length was truncation, not an error.
func TestLengthRelationsSayWhatIsWrong(t *testing.T) {
	meaning := func(p Packet, layer, name string) (string, error) {
		b, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		var d Decoded
		d.AcceptIPv6 = true
		derr := d.DecodeIP(b)
		return meaningOf(&d, layer, name), derr
	}
	ip := func() *IPv4 { return &IPv4{Src: hc, Dst: hs} }
	udp := func() *UDP { return &UDP{SrcPort: 40000, DstPort: 9999} }
	hello := []byte("Hello")
	for _, c := range []struct {
		desc        string
		p           Packet
		layer, name string
		want        string
		err         string // the decode error's field; "" none
	}{
		{"total length below the header", Packet{IPv4: &IPv4{Src: hc, Dst: hs, TotalLen: Set[uint16](10)}, UDP: udp()}, "IPv4", "Total Length",
			"10 bytes: shorter than the 20-byte header the IHL announces; " + ClaimIPv4HeaderLengthError.Text(), "total length"},
		{"IHL past the total length", Packet{IPv4: &IPv4{Src: hc, Dst: hs, IHL: Set[uint8](8), TotalLen: Set[uint16](28)}, UDP: udp(), Payload: []byte("hi")}, "IPv4", "Total Length",
			"28 bytes: shorter than the 32-byte header the IHL announces; " + ClaimIPv4HeaderLengthError.Text(), "total length"},
		{"IHL below 5", Packet{IPv4: &IPv4{Src: hc, Dst: hs, IHL: Set[uint8](4)}, UDP: udp()}, "IPv4", "IHL",
			"header length: 4 words = 16 bytes, fewer than the fixed header's 5: " + ClaimIPv4HeaderLengthError.Text(), "IHL"},
		{"UDP length past the IP data", Packet{IPv4: ip(), UDP: &UDP{SrcPort: 1, DstPort: 2, Length: Set[uint16](100)}, Payload: hello}, "UDP", "Length",
			"100 bytes: more than the 13 bytes the IP header leaves for UDP; " + ClaimUDPLengthBad.Text(), "length"},
		{"UDP length below its header", Packet{IPv4: ip(), UDP: &UDP{SrcPort: 1, DstPort: 2, Length: Set[uint16](4)}, Payload: hello}, "UDP", "Length",
			"4 bytes: shorter than the 8-byte header; " + ClaimUDPLengthBad.Text(), "length"},
		{"UDP length short of the IP data", Packet{IPv4: ip(), UDP: &UDP{SrcPort: 1, DstPort: 2, Length: Set[uint16](10)}, Payload: hello}, "UDP", "Length",
			"10 bytes: 8 header + 2 data; the 3 bytes after it are in the IP data but not in the datagram: " + ClaimUDPLengthShort.Text(), ""},
		{"UDP length right", Packet{IPv4: ip(), UDP: udp(), Payload: hello}, "UDP", "Length", "13 bytes: 8 header + 5 data", ""},
		{"data offset below 5", Packet{IPv4: ip(), TCP: &TCP{SrcPort: 1, DstPort: 2, Flags: TCPSyn, DataOffset: Set[uint8](4)}}, "TCP", "Data Offset",
			"header length: 4 words = 16 bytes, fewer than the fixed header's 5: " + ClaimTCPDataOffsetBad.Text(), "data offset"},
		{"data offset past the segment", Packet{IPv4: ip(), TCP: &TCP{SrcPort: 1, DstPort: 2, Flags: TCPSyn, DataOffset: Set[uint8](15)}}, "TCP", "Data Offset",
			"header length: 15 words = 60 bytes, past the 20-byte segment: " + ClaimTCPDataOffsetBad.Text(), "data offset"},
		{"IPv6 UDP length past the payload", Packet{IPv6: &IPv6{Src: claimHostsForTest.Src6, Dst: claimHostsForTest.Dst6}, UDP: &UDP{SrcPort: 1, DstPort: 2, Length: Set[uint16](100)}, Payload: hello}, "UDP", "Length",
			"100 bytes: more than the 13 bytes the IP header leaves for UDP; " + ClaimUDPLengthBad.Text(), "length"},
	} {
		m, err := meaning(c.p, c.layer, c.name)
		if m != c.want {
			t.Errorf("%s: %s %s\n got %q\nwant %q", c.desc, c.layer, c.name, m, c.want)
		}
		var pe *ParseError
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: decode error %v", c.desc, err)
		case c.err != "" && (!errors.As(err, &pe) || pe.Field != c.err || !errors.Is(err, ErrMalformed)):
			t.Errorf("%s: decode error %v, want the %s malformed", c.desc, err, c.err)
		}
	}
}

// Issue 24: the Jumbo Payload case said "the receiver trims them"; Linux
// answers parameter problem, pointer 44 (claim jumbo-bad, proved in the lab).
func TestJumboPayloadNotTrimmed(t *testing.T) {
	b, err := (&Packet{IPv6: &IPv6{Src: claimHostsForTest.Src6, Dst: claimHostsForTest.Dst6, PayloadLen: Set[uint16](0)},
		IPv6Ext: []IPv6Ext{HopByHop([]byte{0xc2, 4, 0, 0, 0, 0x1e})}, UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: []byte("Hello")}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoded
	d.AcceptIPv6 = true
	err = d.DecodeIP(b)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Offset != 44 || !errors.Is(err, ErrMalformed) || !strings.Contains(pe.Detail, ClaimJumboBad.Text()) {
		t.Fatalf("err = %v, want the Jumbo Payload Length at byte 44", err)
	}
	for _, f := range Explain(&d) {
		if f.Name == "Trailer" || strings.Contains(f.Meaning, "trims") {
			t.Errorf("%s %s: %q", f.Layer, f.Name, f.Meaning)
		}
		if f.Name == "Option" && !strings.Contains(f.Meaning, ClaimJumboBad.Text()) {
			t.Errorf("option: %q", f.Meaning)
		}
	}
}

func (id ClaimID) demo() func(ClaimHosts) ([]ClaimPacket, error) { return claims[id].Demo }
