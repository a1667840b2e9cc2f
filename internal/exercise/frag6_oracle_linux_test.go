package exercise

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
)

// outcome6 is what an IPv6 receiver did with one packet: the payloads its
// UDP socket read, whether it answered time exceeded code 1, and the codes
// and pointers of the parameter problems it answered.
type outcome6 struct {
	delivered    int
	timeExceeded bool
	paramProblem string // "code/pointer" of each, in order, comma-separated
}

func (o outcome6) String() string {
	return fmt.Sprintf("%d delivered, time exceeded %v, parameter problems [%s]", o.delivered, o.timeExceeded, o.paramProblem)
}

// modelOutcome6 runs the fragments that arrived through craft's model of
// Linux's IPv6 receiver: what it completes with a good UDP checksum is
// delivered, what it drops with a parameter problem is answered with one
// (the model names the code and the field in its reason), and on expiry a
// packet that had its first fragment is answered with time exceeded.
func modelOutcome6(t *testing.T, arrived []listen.Captured, fragTime time.Duration) outcome6 {
	t.Helper()
	ra := craft.NewReassembler(&craft.ReassemblyConfig{Linux: true, Timeout: fragTime})
	var o outcome6
	var pp []string
	d := craft.Decoded{AcceptIPv6: true}
	u := craft.Decoded{AcceptIPv6: true}
	var last time.Time
	for _, s := range arrived {
		if err := d.DecodeFrame(s.Frame); err != nil && d.Layers&craft.LayerIPv6 == 0 {
			continue
		}
		b := s.Frame[d.IPOffset:]
		b = b[:min(len(b), craft.IPv6HeaderLen+int(d.IPv6.PayloadLen.Or(0)))]
		ev, err := ra.Add(s.Meta.Time, b)
		if err != nil {
			t.Fatalf("the model refused what Linux received: %v", err)
		}
		last = s.Meta.Time
		switch {
		case ev.Complete:
			if u.DecodeIP(ev.Datagram) == nil {
				if c := u.Checksums(nil); len(c) > 0 && c[len(c)-1].Status == craft.ChecksumGood {
					o.delivered++
				}
			}
		case ev.Dropped && strings.Contains(ev.Reason, "parameter problem code 3"):
			pp = append(pp, "3/0")
		case ev.Dropped && strings.Contains(ev.Reason, "parameter problem code 0 pointing at the payload length"):
			pp = append(pp, "0/4")
		case ev.Dropped && strings.Contains(ev.Reason, "parameter problem pointing at the fragment offset"):
			at := craft.IPv6HeaderLen + 2 // the offset field, after the headers before the Fragment header
			for _, e := range d.Exts() {
				if e.Kind == craft.ProtoFragment {
					break
				}
				at += e.Len()
			}
			pp = append(pp, fmt.Sprintf("0/%d", at))
		}
	}
	for _, x := range ra.Expire(last.Add(fragTime + time.Second)) {
		o.timeExceeded = o.timeExceeded || x.HadFirst
	}
	o.paramProblem = strings.Join(pp, ",")
	return o
}

// kernelOutcome6 is what the lab's kernel did, from the report.
func kernelOutcome6(rep *FragReport) outcome6 {
	o := outcome6{delivered: len(rep.Delivered)}
	var pp []string
	for _, r := range rep.Replies {
		switch r.Reason {
		case listen.ICMPReassemblyExceeded:
			o.timeExceeded = true
		case listen.ICMPParamProblem:
			pp = append(pp, fmt.Sprintf("%d/%d", r.Code, r.Pointer))
		}
	}
	o.paramProblem = strings.Join(pp, ",")
	return o
}

// TestFrag6ReassemblyAgainstLinux sends IPv6 fragment shapes the frag
// command's flags cannot make into the lab and asserts that Hs's kernel
// does what craft's model of Linux's IPv6 receiver says, and what Linux's
// rules give. The other shapes (order, duplicates, overlaps, losses, a split
// header chain) are TestFrag6*'s. The lab's ip6frag_time is 1 s, so that a
// shape that waits for the receiver to give up takes 2.5 s; with -short the
// test is left out all the same.
func TestFrag6ReassemblyAgainstLinux(t *testing.T) {
	lab.RequireRoot(t)
	if testing.Short() {
		t.Skip("seven shapes, four of them waiting past ip6frag_time: left out with -short")
	}
	// One routed lab for every shape (each has its own fragment ID and
	// source port): building one per shape cost more than the shapes' waits.
	shared := lab.ForTest(t, lab.Config{Routed: true, FragTime: 1})
	payload := make([]byte, 40)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	n := 8 + len(payload) // the fragmentable part: UDP header and payload
	for _, c := range []struct {
		name   string
		pieces []oraclePiece
		want   outcome6
	}{
		{"duplicate inside a run", []oraclePiece{{0, 16, true}, {16, 32, true}, {16, 24, true}, {32, n, false}}, outcome6{1, false, ""}},
		// IPv6 trims nothing: an M fragment whose end is not a multiple of 8
		// is dropped and answered (RFC 8200 §4.5); the rest completes.
		{"13-byte M fragment in the middle", []oraclePiece{{0, 16, true}, {16, 29, true}, {16, n, false}}, outcome6{1, false, "0/4"}},
		{"atomic fragment", []oraclePiece{{0, n, false}}, outcome6{1, false, ""}},
		{"zero-length between two good ones", []oraclePiece{{0, 16, true}, {16, 16, true}, {16, n, false}}, outcome6{0, false, ""}},
		{"conflicting ends", []oraclePiece{{0, 16, true}, {24, n - 8, false}, {24, n, false}}, outcome6{0, false, ""}},
		{"data past the end", []oraclePiece{{16, 32, false}, {32, n, true}, {0, 16, true}}, outcome6{0, true, ""}},
		{"past 65535", []oraclePiece{{65528, 65544, false}}, outcome6{0, false, "0/42"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			frag6ID++
			ip := &craft.IPv6{HopLimit: craft.Set(uint8(64)), Src: lab.Addr6Hc, Dst: lab.Addr6Hs}
			udp := &craft.UDP{SrcPort: 42000 + uint16(frag6ID%1000), DstPort: 9999}
			pk := craft.Packet{IPv6: ip, UDP: udp, Payload: payload}
			dg, err := pk.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			data := dg[craft.IPv6HeaderLen:]
			if end := c.pieces[len(c.pieces)-1].hi; end > len(data) {
				data = append(data, make([]byte, end-len(data))...) // bytes past any packet's end
			}
			cfg := FragConfig{Packet: pk, FragTime: 1, shared: shared}
			for i, f := range c.pieces {
				fh := craft.FragmentExt(uint16(f.lo/8), f.mf, frag6ID)
				fh.NextHeader = craft.Set(craft.ProtoUDP)
				b, err := (&craft.Packet{IPv6: ip, IPv6Ext: []craft.IPv6Ext{fh}, Payload: data[f.lo:f.hi]}).Append(nil)
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
			for _, got := range rep.Delivered {
				if !bytes.Equal(got, payload) {
					t.Errorf("the kernel delivered %d bytes that are not the payload", len(got))
				}
			}
			kernel, model := kernelOutcome6(rep), modelOutcome6(t, rep.Arrived, rep.FragTime)
			if kernel != model {
				t.Errorf("kernel: %v; craft.Reassembler (Linux, IPv6): %v", kernel, model)
			}
			if kernel != c.want {
				t.Errorf("kernel: %v, want %v", kernel, c.want)
			}
		})
	}
}
