package craft

import (
	"net/netip"
	"strings"
	"testing"
)

// The explained fields of each layer cover its bytes exactly once, in order:
// no gap, no overlap, no field past the end.
func TestExplainTilesEveryHeader(t *testing.T) {
	for _, g := range goldens(t) {
		if g.p.TCP != nil && g.p.TCP.DataOffset.IsSet() || g.p.IPv4 != nil && (g.p.IPv4.IHL.IsSet() || g.p.IPv4.TotalLen.IsSet()) {
			continue
		}
		b := mustBuild(t, g.p)
		var d Decoded
		if g.p.Ethernet != nil {
			_ = d.DecodeFrame(b)
		} else {
			_ = d.DecodeIP(b)
		}
		fields := Explain(&d)
		end := 0
		for _, l := range Layers(fields) {
			next := -1
			for _, f := range fields {
				if f.Layer != l {
					continue
				}
				if next >= 0 && f.Bit != next {
					t.Errorf("%s: %s %s starts at bit %d, the previous field ended at %d", g.desc, l, f.Name, f.Bit, next)
				}
				next = f.Bit + f.Width
				if f.Offset*8+f.Width-f.Bit%8 > len(b)*8 {
					t.Errorf("%s: %s %s runs past the packet", g.desc, l, f.Name)
				}
				end = max(end, f.Offset*8+(f.Bit%8)+f.Width)
				if f.RFC == "" {
					t.Errorf("%s: %s %s cites no RFC", g.desc, l, f.Name)
				}
			}
			if !strings.Contains(Diagram(fields, l), "+-+-+") {
				t.Errorf("%s: no diagram for %s", g.desc, l)
			}
		}
		if end != len(b)*8 {
			t.Errorf("%s: fields end at bit %d of %d", g.desc, end, len(b)*8)
		}
	}
}

func TestExplainChecksumMeaning(t *testing.T) {
	b := mustBuild(t, Packet{IPv4: &IPv4{Src: hc, Dst: hs, Checksum: Set[uint16](0xdead)}, UDP: &UDP{SrcPort: 1, DstPort: 2}})
	var d Decoded
	_ = d.DecodeIP(b)
	good := mustBuild(t, Packet{IPv4: &IPv4{Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 1, DstPort: 2}})
	for _, f := range Explain(&d) {
		if f.Name == "Header Checksum" && !strings.HasPrefix(f.Meaning, "BAD (0xdead, should be 0x"+hexWord(good[10:12])+")") {
			t.Errorf("meaning %q", f.Meaning)
		}
	}
}

func hexWord(b []byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b[0]>>4], digits[b[0]&15], digits[b[1]>>4], digits[b[1]&15]})
}

// TestExplainInfoAndMaskIDs: information and address mask messages carry
// an identifier and a sequence number (RFC 792, RFC 950), which Explain
// once called "Unused … should be zero" (found by the tshark differential
// harness).
func TestExplainInfoAndMaskIDs(t *testing.T) {
	for _, typ := range []uint8{ICMPInfoRequest, ICMPInfoReply, ICMPAddrMaskReq, ICMPAddrMaskReply} {
		p := Packet{IPv4: &IPv4{Src: netip.MustParseAddr("198.18.1.3"), Dst: netip.MustParseAddr("198.18.1.1")},
			ICMP: &ICMP{Type: typ, Rest: 0x1234<<16 | 7}, Payload: make([]byte, 4)}
		b, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		var d Decoded
		if err := d.DecodeIP(b); err != nil {
			t.Fatal(err)
		}
		got := map[string]uint64{}
		for _, f := range Explain(&d) {
			if f.Layer == "ICMP" {
				got[f.Name] = f.Value
			}
		}
		if got["Identifier"] != 0x1234 || got["Sequence Number"] != 7 {
			t.Errorf("type %d (%s): fields %v, want Identifier 0x1234 and Sequence Number 7", typ, ICMPTypeName(typ), got)
		}
	}
}

// TestExplainARPPadding: the zero bytes that pad an ARP frame to 60 bytes
// are shown, as after an IP packet (found by the tshark differential
// harness: Explain skipped them).
func TestExplainARPPadding(t *testing.T) {
	b, err := (&Packet{Ethernet: &Ethernet{Dst: Broadcast}, ARP: &ARP{Op: ARPRequest, SenderIP: netip.MustParseAddr("198.18.1.3"), TargetIP: netip.MustParseAddr("198.18.1.1")}}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, make([]byte, MinFrameLen-len(b))...)
	var d Decoded
	if err := d.DecodeFrame(b); err != nil {
		t.Fatal(err)
	}
	var pad *Field
	for _, f := range Explain(&d) {
		if f.Name == "Padding" {
			pad = &f
		}
	}
	if pad == nil || pad.Width != 8*18 || pad.Offset != 42 {
		t.Errorf("padding field %+v, want 18 bytes at byte 42", pad)
	}
}

// TestSACKWithoutBlocks: a SACK option of length 2 holds no block, which
// RFC 2018 §3 does not allow (length 2+8n, n ≥ 1); it is not described as
// blocks that arrived (found by the tshark differential harness).
func TestSACKWithoutBlocks(t *testing.T) {
	if d := DescribeTCPOption(Option{Kind: TCPOptSACK, Len: 2}); !strings.Contains(d, "malformed") {
		t.Errorf("SACK of length 2: %q", d)
	}
}

// TestExplainCutICMP: an ICMP or ICMPv6 header cut short shows the fields
// whose bytes are there, as a cut TCP or UDP header does (found by the
// tshark differential harness: Explain showed none).
func TestExplainCutICMP(t *testing.T) {
	v4, err := (&Packet{IPv4: &IPv4{Src: netip.MustParseAddr("198.18.1.3"), Dst: netip.MustParseAddr("198.18.1.1")}, ICMP: &ICMP{Type: ICMPEcho}}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	v6, err := (&Packet{IPv6: &IPv6{Src: netip.MustParseAddr("2001:2:0:1::3"), Dst: netip.MustParseAddr("2001:2:0:1::1")}, ICMPv6: &ICMPv6{Type: ICMPv6EchoRequest}}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		b     []byte
		layer string
	}{{v4[:IPv4HeaderLen+5], "ICMP"}, {v6[:IPv6HeaderLen+5], "ICMPv6"}} {
		d := Decoded{AcceptIPv6: true}
		_ = d.DecodeIP(c.b)
		var names []string
		for _, f := range Explain(&d) {
			if f.Layer == c.layer {
				names = append(names, f.Name)
			}
		}
		if strings.Join(names, ",") != "Type,Code,Checksum" {
			t.Errorf("%s cut after 5 bytes: fields %v, want Type, Code, Checksum", c.layer, names)
		}
	}
}

// TestExplainZerosInShortFrameAreTrailer: zero bytes past the IPv4 total
// length of a frame shorter than 60 bytes are not Ethernet padding, which
// fills a frame to exactly 60 (found by the tshark differential harness).
func TestExplainZerosInShortFrameAreTrailer(t *testing.T) {
	b, err := (&Packet{Ethernet: &Ethernet{}, IPv4: &IPv4{Src: netip.MustParseAddr("198.18.1.3"), Dst: netip.MustParseAddr("198.18.1.1")},
		UDP: &UDP{SrcPort: 1, DstPort: 2}}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n    int
		want string
	}{{len(b) + 2, "Trailer"}, {MinFrameLen, "Padding"}} {
		f := append(append([]byte(nil), b...), make([]byte, c.n-len(b))...)
		var d Decoded
		if err := d.DecodeFrame(f); err != nil {
			t.Fatal(err)
		}
		var got string
		for _, x := range Explain(&d) {
			if x.Layer == "Trailer" {
				got = x.Name
			}
		}
		if got != c.want {
			t.Errorf("%d-byte frame: %q, want %q", c.n, got, c.want)
		}
	}
}

// An RFC 4884 extension structure whose bytes end early — a cut capture,
// or the first fragment of the error — has a checksum that cannot be
// verified, not a bad one, and the label stack entries whose bytes are
// there are read (as tshark reads them); a structure whose object length
// runs past it, with every byte there, is malformed.
func TestICMPExtensionCutShort(t *testing.T) {
	quote := make([]byte, ICMPExtMinQuote)
	copy(quote, []byte{0x45, 0, 0, 28})
	full := AppendMPLSExtension(quote, []MPLSEntry{{Label: 16001, TTL: 1}, {Label: 299776, S: true, TTL: 1}})
	b, err := (&Packet{IPv4: &IPv4{Src: hs, Dst: hc}, ICMP: &ICMP{Type: ICMPTimeExceeded, Rest: 32 << 16}, Payload: full}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	meaning := func(fields []Field, name string) (string, int) {
		m, n := "", 0
		for _, f := range fields {
			if f.Layer == "ICMP extension" && f.Name == name {
				m, n = f.Meaning, n+1
			}
		}
		return m, n
	}
	var d Decoded
	cut := b[:len(b)-2] // the capture ends inside the second entry
	_ = d.DecodeIP(cut)
	fields := Explain(&d)
	if m, _ := meaning(fields, "Checksum"); !strings.HasPrefix(m, "unverifiable") {
		t.Errorf("cut structure's checksum: %q", m)
	}
	if _, n := meaning(fields, "Label"); n != 1 {
		t.Errorf("cut structure: %d labels read, want the 1 whose bytes are there", n)
	}
	// The same structure whole, but its object announcing 4 bytes more.
	long := append([]byte(nil), b...)
	long[20+ICMPHeaderLen+ICMPExtMinQuote+5] += 4
	_ = d.DecodeIP(long)
	fields = Explain(&d)
	if m, _ := meaning(fields, "Length"); !strings.Contains(m, "malformed, it runs past the structure") {
		t.Errorf("object length past the structure: %q", m)
	}
	if m, _ := meaning(fields, "Checksum"); !strings.HasPrefix(m, "BAD") {
		t.Errorf("a whole structure whose sum fails: %q", m)
	}
}

// A flow label's meaning: hashed by a Linux router (claim
// flow-label-hashed), except on an ICMPv6 error right after the IPv6
// header, where the quoted packet's is (flow-label-icmpv6-error); the
// quoted header's own label and an echo request's are hashed as any.
func TestExplainFlowLabel(t *testing.T) {
	a, b := netip.MustParseAddr("2001:2::1"), netip.MustParseAddr("2001:2::2")
	quote := mustBuild(t, Packet{IPv6: &IPv6{Src: b, Dst: a, FlowLabel: 0x54321}, UDP: &UDP{SrcPort: 9, DstPort: 10}})
	hashed, quoted := "labels a flow: "+ClaimFlowLabelHashed.Text(), "labels a flow: "+ClaimFlowLabelICMPv6Error.Text()
	for _, c := range []struct {
		name string
		p    Packet
		want []string // the Flow Label fields' meanings, outer first
	}{
		{"unreachable", Packet{IPv6: &IPv6{Src: a, Dst: b, FlowLabel: 0x12345}, ICMPv6: claimPtr(Unreachable6(4)), Payload: quote}, []string{quoted, hashed}},
		{"time exceeded", Packet{IPv6: &IPv6{Src: a, Dst: b, FlowLabel: 0x12345}, ICMPv6: &ICMPv6{Type: ICMPv6TimeExceeded}, Payload: quote}, []string{quoted, hashed}},
		{"echo request", Packet{IPv6: &IPv6{Src: a, Dst: b, FlowLabel: 0x12345}, ICMPv6: claimPtr(Echo6(1, 1)), Payload: []byte("x")}, []string{hashed}},
		{"unreachable behind a destination options header", Packet{IPv6: &IPv6{Src: a, Dst: b, FlowLabel: 0x12345}, IPv6Ext: []IPv6Ext{DestOpts(AppendIPv6OptPadN(nil, 4))},
			ICMPv6: claimPtr(Unreachable6(4)), Payload: quote}, []string{hashed, hashed}},
	} {
		var d Decoded
		d.AcceptIPv6 = true
		_ = d.DecodeIP(mustBuild(t, c.p))
		var got []string
		for _, f := range Explain(&d) {
			if f.Name == "Flow Label" {
				got = append(got, f.Meaning)
			}
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: flow label meanings %q, want %q", c.name, got, c.want)
		}
	}
}

// TestExplainType2SegmentsLeft: a type 2 Routing header's Segments Left
// MUST be 1 (RFC 6275 §6.4.1), which the explanation says beside what
// nodes do (with 0, the lab's kernel ignores the header: claim
// routing-segments-left-zero).
func TestExplainType2SegmentsLeft(t *testing.T) {
	home := append(make([]byte, 4), hs6.AsSlice()...)
	for sl, want := range map[uint8]string{
		0: `no segments left: nodes ignore the header; but a type 2 header's "Segments Left MUST be 1" (RFC 6275 §6.4.1)`,
		1: "1 segment to visit; the checksums' pseudo-header uses the final destination (RFC 8200 §8.1)",
		2: `2 segments to visit; the checksums' pseudo-header uses the final destination (RFC 8200 §8.1); but a type 2 header's "Segments Left MUST be 1" (RFC 6275 §6.4.1)`,
	} {
		b := mustBuild(t, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{Routing(2, sl, home)}, UDP: &UDP{SrcPort: 1, DstPort: 2}})
		d := Decoded{AcceptIPv6: true}
		if err := d.DecodeIP(b); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range Explain(&d) {
			if f.Name == "Segments Left" {
				found = true
				if f.Meaning != want {
					t.Errorf("Segments Left %d: meaning %q, want %q", sl, f.Meaning, want)
				}
			}
		}
		if !found {
			t.Errorf("Segments Left %d: no Segments Left field", sl)
		}
	}
}
