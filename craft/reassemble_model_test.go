package craft

import (
	"bytes"
	"testing"
	"time"
)

// fragPiece is one hand-made fragment: data bytes [lo, hi) of the datagram's
// data, sent at offset lo (or at off when set), with or without MF.
type fragPiece struct {
	lo, hi int
	mf     bool
}

func handFragments(t *testing.T, data []byte, id uint16, pieces []fragPiece) [][]byte {
	t.Helper()
	var out [][]byte
	for _, p := range pieces {
		h := &IPv4{Src: hc, Dst: hs, ID: id, FragOff: uint16(p.lo / 8), Protocol: Set(ProtoUDP)}
		if p.mf {
			h.Flags = FlagMF
		}
		b, err := (&Packet{IPv4: h, Payload: data[p.lo:p.hi]}).Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// Linux's rules (ReassemblyConfig.Linux) on the shapes of issue 14 item 5,
// each with the outcome Linux gives.
func TestReassemblerLinuxRules(t *testing.T) {
	data := make([]byte, 48)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	n := len(data)
	for _, c := range []struct {
		name     string
		pieces   []fragPiece
		complete bool
		icmp     bool   // time exceeded on expiry
		reason   string // in the event of the fragment that decides
	}{
		{"in order", []fragPiece{{0, 16, true}, {16, n, false}}, true, false, ""},
		{"reverse", []fragPiece{{16, n, false}, {0, 16, true}}, true, false, ""},
		{"duplicate", []fragPiece{{0, 16, true}, {0, 16, true}, {16, n, false}}, true, false, "duplicate"},
		{"duplicate inside a run", []fragPiece{{0, 16, true}, {16, 32, true}, {16, 24, true}, {32, n, false}}, true, false, "duplicate"},
		{"zero-length between two good ones", []fragPiece{{0, 16, true}, {16, 16, true}, {16, n, false}}, false, false, "no data"},
		{"13-byte MF fragment first", []fragPiece{{0, 13, true}, {8, n, false}}, true, false, ""},
		{"13-byte MF fragment in the middle", []fragPiece{{0, 16, true}, {16, 29, true}, {24, n, false}}, true, false, ""},
		{"5-byte MF fragment", []fragPiece{{0, 16, true}, {16, 21, true}, {16, n, false}}, false, false, "less than one 8-byte unit"},
		{"overlap", []fragPiece{{0, 24, true}, {16, n, false}}, false, false, "overlaps 8 bytes"},
		{"overlap before the tail", []fragPiece{{0, 16, true}, {32, n, false}, {8, 24, true}}, false, false, "overlaps"},
		{"spans two runs", []fragPiece{{16, 24, true}, {0, 8, true}, {8, 16, true}, {0, 16, true}, {24, n, false}}, false, false, "overlaps"},
		{"second last fragment, another end", []fragPiece{{0, 16, true}, {24, n - 8, false}, {24, n, false}}, false, false, "second last fragment"},
		{"data past the end (fragment zero then starts anew)", []fragPiece{{16, 32, false}, {32, n, true}, {0, 16, true}}, false, true, "past the last fragment"},
		{"last ends before data received", []fragPiece{{0, 16, true}, {16, n, true}, {16, 24, false}}, false, false, "before data already received"},
		{"middle lost", []fragPiece{{0, 16, true}, {24, n, false}}, false, true, ""},
		{"first lost", []fragPiece{{16, 24, true}, {24, n, false}}, false, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := NewReassembler(&ReassemblyConfig{Linux: true, Timeout: 3 * time.Second})
			now := time.Unix(100, 0)
			complete, reasons := false, ""
			for _, f := range handFragments(t, data, 7, c.pieces) {
				ev, err := r.Add(now, f)
				if err != nil {
					t.Fatal(err)
				}
				reasons += ev.Reason + "|"
				if ev.Duplicate {
					reasons += "duplicate|"
				}
				if ev.Complete {
					complete = true
					if got := ev.Datagram[IPv4HeaderLen:]; !bytes.Equal(got, data) {
						t.Errorf("reassembled %q, want %q", got, data)
					}
				}
			}
			if complete != c.complete {
				t.Errorf("complete %v, want %v (%s)", complete, c.complete, reasons)
			}
			if c.reason != "" && !bytes.Contains([]byte(reasons), []byte(c.reason)) {
				t.Errorf("reasons %q, want one with %q", reasons, c.reason)
			}
			icmp := false
			for _, x := range r.Expire(now.Add(time.Hour)) {
				icmp = icmp || x.HadFirst
			}
			if icmp != c.icmp {
				t.Errorf("time exceeded on expiry %v, want %v", icmp, c.icmp)
			}
		})
	}
}

// Oversize: fragments that fill 65 536 data bytes complete a datagram
// longer than 65 535 bytes, which Linux discards (ip_frag_reasm).
func TestReassemblerLinuxOversize(t *testing.T) {
	data := make([]byte, 65536)
	var pieces []fragPiece
	for lo := 0; lo < len(data); lo += 1480 {
		hi := min(lo+1480, len(data))
		pieces = append(pieces, fragPiece{lo, hi, hi < len(data)})
	}
	// the last piece starts at 65120 < 65528: its offset fits 13 bits
	r := NewReassembler(&ReassemblyConfig{Linux: true})
	var last ReassemblyEvent
	for _, f := range handFragments(t, data, 9, pieces) {
		var err error
		if last, err = r.Add(time.Unix(0, 0), f); err != nil {
			t.Fatal(err)
		}
	}
	if last.Complete || !last.Discarded || len(r.Pending()) != 0 {
		t.Errorf("oversize: %+v, want discarded", last.Reason)
	}
}
