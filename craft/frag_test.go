package craft

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// bigUDP is the article's fragmentation example: 4000 bytes of UDP data.
func bigUDP(t testing.TB) []byte {
	data := make([]byte, 4000)
	for i := range data {
		data[i] = 'A' + byte(i/1472)
	}
	b, err := (&Packet{IPv4: &IPv4{ID: 0xbeef, Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: data}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFragmentsMTU1500(t *testing.T) {
	dg := bigUDP(t)
	for _, o := range []FragOptions{{MTU: 1500}, {DataSize: 1480}} {
		_, frags, err := Fragments(nil, nil, dg, o)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct{ off, n int }{{0, 1480}, {1480, 1480}, {2960, 1048}} // 4008 = 8 UDP + 4000
		if len(frags) != 3 {
			t.Fatalf("%d fragments, want 3", len(frags))
		}
		for i, f := range frags {
			var d Decoded
			err := d.DecodeIP(f.Bytes)
			if err != nil {
				t.Fatalf("fragment %d: %v", i+1, err)
			}
			h := d.IPv4
			if f.Index != i+1 || f.Offset != want[i].off || f.Len != want[i].n || int(h.FragOff)*8 != want[i].off ||
				h.ID != 0xbeef || (h.Flags&FlagMF != 0) != (i < 2) || f.MF != (i < 2) || int(h.TotalLen.Or(0)) != 20+want[i].n {
				t.Errorf("fragment %d: %+v, header offset %d MF %v id %#x len %d", i+1, f, h.FragOff*8, h.Flags&FlagMF != 0, h.ID, h.TotalLen.Or(0))
			}
			if c := d.Checksums(nil); c[0].Status != ChecksumGood {
				t.Errorf("fragment %d: header checksum %v", i+1, c[0].Status)
			}
			if !bytes.Equal(f.Bytes[20:], dg[20+f.Offset:20+f.Offset+f.Len]) {
				t.Errorf("fragment %d data differs", i+1)
			}
		}
		// The first carries the UDP header, so 1472 bytes of application data.
		var d Decoded
		_ = d.DecodeIP(frags[0].Bytes)
		if d.Layers&LayerUDP == 0 || len(d.Payload) != 1472 || d.Frag != FirstFragment {
			t.Errorf("first fragment: layers %v, %d data bytes", d.Layers, len(d.Payload))
		}
	}
}

func TestFragmentsCopiedOptions(t *testing.T) {
	// Record Route (7) is not copied; a raw option with the copied bit
	// (0x83, loose source route's type) is.
	opts := append(AppendIPOptRecordRoute(nil, 1), 0x83, 4, 5, 6) // 7 + 4 bytes, padded to 12
	b, _ := (&Packet{IPv4: &IPv4{Src: hc, Dst: hs, Options: opts}, UDP: &UDP{}, Payload: make([]byte, 100)}).Append(nil)
	_, frags, err := Fragments(nil, nil, b, FragOptions{DataSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	if len(frags) != 2 || frags[0].Bytes[0] != 0x48 || frags[1].Bytes[0] != 0x46 {
		t.Fatalf("IHLs %x %x, want 8 then 6", frags[0].Bytes[0], frags[1].Bytes[0])
	}
	if !bytes.Equal(frags[1].Bytes[20:24], []byte{0x83, 4, 5, 6}) {
		t.Errorf("later fragment options %x", frags[1].Bytes[20:24])
	}
}

func TestFragmentOptionsErrors(t *testing.T) {
	dg := bigUDP(t)
	for _, o := range []FragOptions{{DataSize: 1001}, {}, {MTU: 40}, {DataSize: 8, MTU: 1500}, {DataSize: 800, Overlap: 800}, {DataSize: 800, TinyFirst: 12}, {DataSize: 64, TinyFirst: 8, Overlap: 16}} {
		if _, _, err := Fragments(nil, nil, dg, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestFragmentsTinyAndOverlap(t *testing.T) {
	dg := bigUDP(t)
	_, frags, err := Fragments(nil, nil, dg, FragOptions{DataSize: 1480, TinyFirst: 8, Overlap: 8})
	if err != nil {
		t.Fatal(err)
	}
	if frags[0].Len != 8 || frags[1].Offset != 0 {
		t.Fatalf("tiny first %+v then %+v", frags[0], frags[1])
	}
	r := NewReassembler(nil)
	var last ReassemblyEvent
	for i, f := range frags {
		ev, err := r.Add(time.Unix(0, 0), f.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && ev.Overlap != 8 && !(i == 1 && ev.Overlap == 8) {
			t.Errorf("fragment %d overlap %d, want 8", i+1, ev.Overlap)
		}
		last = ev
	}
	if !last.Complete || !bytes.Equal(last.Datagram, dg) {
		t.Fatalf("overlapping fragments did not reassemble to the datagram")
	}
}

func TestSchedule(t *testing.T) {
	cases := []struct {
		desc string
		s    Schedule
		want []int
	}{
		{"in order", Schedule{}, []int{1, 2, 3}},
		{"reverse", Schedule{Reverse: true}, []int{3, 2, 1}},
		{"list", Schedule{Order: []int{2, 3, 1}}, []int{2, 3, 1}},
		{"drop 2", Schedule{Drop: []int{2}}, []int{1, 3}},
		{"dup 1, reverse", Schedule{Reverse: true, Dup: []int{1}}, []int{3, 2, 1, 1}},
	}
	for _, c := range cases {
		got, err := c.s.Plan(nil, 3)
		if err != nil || !equalInts(got, c.want) {
			t.Errorf("%s: %v %v, want %v", c.desc, got, err, c.want)
		}
	}
	a, _ := Schedule{Random: true, Seed: 42}.Plan(nil, 10)
	b, _ := Schedule{Random: true, Seed: 42}.Plan(nil, 10)
	if !equalInts(a, b) || equalInts(a, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) {
		t.Errorf("random with one seed: %v and %v", a, b)
	}
	for _, s := range []Schedule{{Order: []int{1, 2}}, {Order: []int{1, 1, 2}}, {Drop: []int{4}}, {Reverse: true, Random: true}} {
		if _, err := s.Plan(nil, 3); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
	if l, err := ParseIndexList("3,1-2"); err != nil || !equalInts(l, []int{3, 1, 2}) {
		t.Errorf("ParseIndexList: %v %v", l, err)
	}
	for _, bad := range []string{"", "0", "a", "3-1", "1-"} {
		if _, err := ParseIndexList(bad); err == nil {
			t.Errorf("ParseIndexList(%q): no error", bad)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReassembler(t *testing.T) {
	dg := bigUDP(t)
	_, frags, _ := Fragments(nil, nil, dg, FragOptions{MTU: 1500})
	now := time.Unix(1000, 0)
	for _, c := range []struct {
		desc     string
		s        Schedule
		complete bool
		holes    []Hole
		dups     int
	}{
		{"in order", Schedule{}, true, nil, 0},
		{"reverse", Schedule{Reverse: true}, true, nil, 0},
		{"random", Schedule{Random: true, Seed: 7}, true, nil, 0},
		{"duplicate 2", Schedule{Dup: []int{2}}, true, nil, 1},
		{"drop 2", Schedule{Drop: []int{2}}, false, []Hole{{1480, 2959}}, 0},
		{"drop 3", Schedule{Drop: []int{3}}, false, []Hole{{2960, Infinity}}, 0},
		{"drop 1", Schedule{Drop: []int{1}}, false, []Hole{{0, 1479}}, 0},
	} {
		t.Run(c.desc, func(t *testing.T) {
			r := NewReassembler(nil)
			plan, _ := c.s.Plan(nil, len(frags))
			var ev ReassemblyEvent
			dups, completes := 0, 0
			for _, i := range plan {
				var err error
				ev, err = r.Add(now, frags[i-1].Bytes)
				if err != nil {
					t.Fatal(err)
				}
				if ev.Duplicate {
					dups++
				}
				if ev.Complete {
					completes++
					if !bytes.Equal(ev.Datagram, dg) {
						t.Fatal("reassembled datagram differs")
					}
				}
			}
			if c.complete != (completes == 1) || dups != c.dups {
				t.Errorf("completes %d dups %d", completes, dups)
			}
			if !c.complete {
				if len(ev.Holes) != len(c.holes) || ev.Holes[0] != c.holes[0] {
					t.Errorf("holes %v, want %v", ev.Holes, c.holes)
				}
				exp := r.Expire(now.Add(31 * time.Second))
				if len(exp) != 1 || exp[0].HadFirst != (c.desc != "drop 1") {
					t.Errorf("expired %+v", exp)
				}
			}
		})
	}
}

func TestReassemblerConflictAndBounds(t *testing.T) {
	dg := bigUDP(t)
	_, frags, _ := Fragments(nil, nil, dg, FragOptions{MTU: 1500})
	other := append([]byte(nil), frags[1].Bytes...)
	other[100] ^= 0xff
	binary.BigEndian.PutUint16(other[10:], 0)
	r := NewReassembler(&ReassemblyConfig{MaxDatagrams: 2})
	now := time.Unix(0, 0)
	r.Add(now, frags[1].Bytes)
	ev, _ := r.Add(now, other)
	if !ev.Conflict || ev.Duplicate || ev.Overlap != frags[1].Len {
		t.Errorf("conflicting copy: %+v", ev)
	}
	// Three datagrams in flight with room for two: the oldest goes.
	for id := 1; id <= 3; id++ {
		f := append([]byte(nil), frags[0].Bytes...)
		binary.BigEndian.PutUint16(f[4:], uint16(id))
		r.Add(now, f)
	}
	if p := r.Pending(); len(p) != 2 || p[0].ID != 2 || p[1].ID != 3 {
		t.Errorf("pending %v", p)
	}
}

func TestReassemblerDiscardOverlaps(t *testing.T) {
	dg := bigUDP(t)
	_, frags, _ := Fragments(nil, nil, dg, FragOptions{DataSize: 1480, Overlap: 8})
	r := NewReassembler(&ReassemblyConfig{DiscardOverlaps: true})
	now := time.Unix(0, 0)
	var evs []ReassemblyEvent
	for _, f := range frags {
		ev, err := r.Add(now, f.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	if evs[0].Discarded || !evs[1].Discarded || evs[2].Complete {
		t.Errorf("events %+v %+v %+v: the second fragment overlaps and discards the datagram", evs[0], evs[1], evs[2])
	}
	// An exact duplicate is not an overlap.
	_, frags, _ = Fragments(nil, nil, dg, FragOptions{DataSize: 1480})
	r = NewReassembler(&ReassemblyConfig{DiscardOverlaps: true})
	var last ReassemblyEvent
	for _, i := range []int{0, 1, 1, 2} {
		last, _ = r.Add(now, frags[i].Bytes)
	}
	if !last.Complete {
		t.Error("a duplicate discarded the datagram")
	}
}

// A datagram that fits the MTU is not fragmented (RFC 791 §2.3; Linux
// fragments only past the MTU, as TestMTUFragmentsAgreeWithLinux in
// cmd/rawcraft observes): it comes back whole, byte for byte — a forced
// checksum included — and IPv6 adds no Fragment header. One byte more and
// it is cut. The case: 1001 data bytes with --mtu 1030 is 1029
// bytes, one packet.
func TestFragmentsOnlyPastTheMTU(t *testing.T) {
	for _, c := range []struct {
		v6          bool
		size, mtu   int
		whole       bool
		fragsIfCut  int
		forceChksum bool
	}{
		{false, 1001, 1030, true, 0, false},
		{false, 1002, 1030, true, 0, true},
		{false, 1003, 1030, false, 2, false},
		{true, 1232, 1280, true, 0, false},
		{true, 1233, 1280, false, 2, false},
	} {
		p := Packet{UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: make([]byte, c.size)}
		if c.v6 {
			p.IPv6 = &IPv6{Src: netip.MustParseAddr("2001:2::1"), Dst: netip.MustParseAddr("2001:2::2")}
		} else {
			p.IPv4 = &IPv4{ID: 9, Src: netip.MustParseAddr("198.18.0.1"), Dst: netip.MustParseAddr("198.18.0.2")}
			if c.forceChksum {
				p.IPv4.Checksum = Set[uint16](0xdead)
			}
		}
		dg, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		var frags []Fragment
		if c.v6 {
			_, frags, err = Fragments6(nil, nil, dg, FragOptions6{FragOptions: FragOptions{MTU: c.mtu}, ID: 5})
		} else {
			_, frags, err = Fragments(nil, nil, dg, FragOptions{MTU: c.mtu})
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.whole {
			if len(frags) != 1 || !frags[0].Whole || !bytes.Equal(frags[0].Bytes, dg) || frags[0].MF {
				t.Errorf("v6=%v, %d-byte datagram, MTU %d: %d pieces (whole=%v), want the datagram unchanged", c.v6, len(dg), c.mtu, len(frags), len(frags) == 1 && frags[0].Whole)
			}
			continue
		}
		if len(frags) != c.fragsIfCut || frags[0].Whole {
			t.Errorf("v6=%v, %d-byte datagram, MTU %d: %d fragments, want %d", c.v6, len(dg), c.mtu, len(frags), c.fragsIfCut)
		}
		for _, f := range frags {
			if len(f.Bytes) > c.mtu {
				t.Errorf("v6=%v: a %d-byte fragment over MTU %d", c.v6, len(f.Bytes), c.mtu)
			}
		}
	}
	// A tiny first fragment asked for is cut even when the datagram fits.
	p := Packet{IPv4: &IPv4{ID: 9}, UDP: &UDP{}, Payload: make([]byte, 100)}
	dg, _ := p.Append(nil)
	if _, frags, err := Fragments(nil, nil, dg, FragOptions{MTU: 1500, TinyFirst: 8}); err != nil || len(frags) != 2 {
		t.Errorf("tiny first fragment within the MTU: %d fragments, %v", len(frags), err)
	}
}
