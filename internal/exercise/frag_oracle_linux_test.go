package exercise

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
)

// oraclePiece is one hand-made fragment: bytes [lo, hi) of the datagram's
// data (UDP header and payload) at offset lo, with or without MF.
type oraclePiece struct {
	lo, hi int
	mf     bool
}

// outcome is what a receiver did with one datagram: the payloads its UDP
// socket read and whether it answered ICMP time exceeded (reassembly).
type outcome struct {
	delivered    int
	timeExceeded bool
}

func (o outcome) String() string {
	return fmt.Sprintf("%d delivered, time exceeded %v", o.delivered, o.timeExceeded)
}

// modelOutcome runs the fragments that arrived through craft's model of
// Linux's receiver and says what Linux should do: deliver every datagram it
// completes whose UDP length and checksum hold, and on expiry answer time
// exceeded for a datagram that had fragment zero.
func modelOutcome(t *testing.T, arrived []listen.Captured, fragTime time.Duration) outcome {
	t.Helper()
	ra := craft.NewReassembler(&craft.ReassemblyConfig{Linux: true, Timeout: fragTime})
	var o outcome
	var d, u craft.Decoded
	var last time.Time
	for _, s := range arrived {
		if err := d.DecodeFrame(s.Frame); err != nil && d.Layers&craft.LayerIPv4 == 0 {
			continue
		}
		end := min(d.IPOffset+int(d.IPv4.TotalLen.Or(0)), len(s.Frame))
		ev, err := ra.Add(s.Meta.Time, s.Frame[d.IPOffset:end])
		if err != nil {
			t.Fatalf("reassembler refused what Linux received: %v", err)
		}
		last = s.Meta.Time
		if ev.Complete {
			if u.DecodeIP(ev.Datagram) == nil {
				if c := u.Checksums(nil); len(c) == 2 && (c[1].Status == craft.ChecksumGood || c[1].Status == craft.ChecksumAbsent) {
					o.delivered++
				}
			}
		}
	}
	for _, x := range ra.Expire(last.Add(fragTime + time.Second)) {
		o.timeExceeded = o.timeExceeded || x.HadFirst
	}
	return o
}

// TestFragReassemblyAgainstLinux sends every fragment shape send can make into
// the lab and asserts that the kernel's outcome equals craft.Reassembler's
// (Linux model), and that both are the outcome Linux's rules give.
func TestFragReassemblyAgainstLinux(t *testing.T) {
	lab.RequireRoot(t)
	// One routed lab for every shape (each has its own IP ID and source
	// port): building one per shape cost more than the shapes' waits.
	shared := lab.ForTest(t, lab.Config{Routed: true, FragTime: 1})
	payload := make([]byte, 40)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	n := 8 + len(payload) // the datagram's data: UDP header and payload
	big := make([]byte, 65536-8)
	var bigPieces []oraclePiece
	for lo := 0; lo < 65536; lo += 1480 {
		hi := min(lo+1480, 65536)
		bigPieces = append(bigPieces, oraclePiece{lo, hi, hi < 65536})
	}
	for _, c := range []struct {
		name    string
		pieces  []oraclePiece
		payload []byte
		want    outcome
	}{
		{"in order", []oraclePiece{{0, 16, true}, {16, n, false}}, nil, outcome{1, false}},
		{"reverse", []oraclePiece{{16, n, false}, {0, 16, true}}, nil, outcome{1, false}},
		{"duplicate", []oraclePiece{{0, 16, true}, {0, 16, true}, {16, n, false}}, nil, outcome{1, false}},
		{"duplicate inside a run", []oraclePiece{{0, 16, true}, {16, 32, true}, {16, 24, true}, {32, n, false}}, nil, outcome{1, false}},
		{"overlap", []oraclePiece{{0, 24, true}, {16, n, false}}, nil, outcome{0, false}},
		{"zero-length between two good ones", []oraclePiece{{0, 16, true}, {16, 16, true}, {16, n, false}}, nil, outcome{0, false}},
		{"13-byte MF fragment", []oraclePiece{{0, 13, true}, {8, n, false}}, nil, outcome{1, false}},
		{"13-byte MF fragment in the middle", []oraclePiece{{0, 16, true}, {16, 29, true}, {24, n, false}}, nil, outcome{1, false}},
		{"5-byte MF fragment", []oraclePiece{{0, 16, true}, {16, 21, true}, {16, n, false}}, nil, outcome{0, false}},
		{"conflicting ends", []oraclePiece{{0, 16, true}, {24, n - 8, false}, {24, n, false}}, nil, outcome{0, false}},
		{"data past the end", []oraclePiece{{16, 32, false}, {32, n, true}, {0, 16, true}}, nil, outcome{0, true}},
		{"middle lost", []oraclePiece{{0, 16, true}, {24, n, false}}, nil, outcome{0, true}},
		{"first lost", []oraclePiece{{16, n, false}}, nil, outcome{0, false}},
		{"oversize", bigPieces, big, outcome{0, false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := payload
			if c.payload != nil {
				p = c.payload
			}
			udpID++
			ip := &craft.IPv4{ID: udpID, TTL: craft.Set(uint8(64)), Src: lab.AddrHc, Dst: lab.AddrHs, Protocol: craft.Set(craft.ProtoUDP)}
			udp := &craft.UDP{SrcPort: 40000 + udpID%1000, DstPort: 9999}
			pk := craft.Packet{IPv4: ip, UDP: udp, Payload: p}
			var data []byte
			if len(p) <= 65507 {
				dg, err := pk.Append(nil)
				if err != nil {
					t.Fatal(err)
				}
				data = dg[craft.IPv4HeaderLen:]
			} else { // past what one datagram holds: the header by hand
				data = append([]byte{byte(udp.SrcPort >> 8), byte(udp.SrcPort), 0x27, 0x0f, 0, 0, 0, 0}, p...)
			}
			cfg := FragConfig{Packet: pk, FragTime: 1, shared: shared} // a 1 s ipfrag_time: each case waits 2.5 s, not 4.5
			for i, f := range c.pieces {
				h := *ip
				h.FragOff = uint16(f.lo / 8)
				if f.mf {
					h.Flags = craft.FlagMF
				}
				b, err := (&craft.Packet{IPv4: &h, Payload: data[f.lo:f.hi]}).Append(nil)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Planned = append(cfg.Planned, b)
				cfg.Order = append(cfg.Order, i+1)
			}
			cfg.Made = len(c.pieces)
			rep, err := Frag(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Arrived) != len(c.pieces) {
				t.Fatalf("%d of %d fragments arrived", len(rep.Arrived), len(c.pieces))
			}
			kernel := outcome{delivered: len(rep.Delivered)}
			for _, r := range rep.Replies {
				kernel.timeExceeded = kernel.timeExceeded || r.Reason == listen.ICMPReassemblyExceeded
			}
			for _, got := range rep.Delivered {
				if !bytes.Equal(got, p) {
					t.Errorf("the kernel delivered %d bytes that are not the payload", len(got))
				}
			}
			model := modelOutcome(t, rep.Arrived, rep.FragTime)
			if kernel != model {
				t.Errorf("kernel: %v; craft.Reassembler (Linux): %v", kernel, model)
			}
			if kernel != c.want {
				t.Errorf("kernel: %v, want %v", kernel, c.want)
			}
		})
	}
}
