package listen

import (
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
)

func tcpPacket(t *testing.T, at time.Duration, src string, seq, ack uint32, flags uint8, win uint16, data string) *Packet {
	t.Helper()
	s, d := hc, hs
	if src == "hs" {
		s, d = hs, hc
	}
	sp, dp := uint16(40000), uint16(9999)
	if src == "hs" {
		sp, dp = dp, sp
	}
	b := frame(t, craft.Packet{IPv4: &craft.IPv4{Src: s, Dst: d}, TCP: &craft.TCP{SrcPort: sp, DstPort: dp, Seq: seq, Ack: ack, Flags: flags, Window: win}, Payload: []byte(data)})
	p := packet(t, b, src == "hc")
	p.Meta.Time = time.Unix(0, 0).Add(at)
	return p
}

func TestTCPAnalyzer(t *testing.T) {
	a := NewTCPAnalyzer()
	ms := time.Millisecond
	steps := []struct {
		p    *Packet
		note TCPNote
		copy int
	}{
		{tcpPacket(t, 0, "hc", 100, 500, craft.TCPAck|craft.TCPPsh, 502, "AAAA"), TCPNothing, 0},
		{tcpPacket(t, 200*ms, "hc", 100, 500, craft.TCPAck|craft.TCPPsh, 502, "AAAA"), TCPRetransmission, 2},
		{tcpPacket(t, 600*ms, "hc", 100, 500, craft.TCPAck|craft.TCPPsh, 502, "AAAA"), TCPRetransmission, 3},
		{tcpPacket(t, 1400*ms, "hc", 100, 500, craft.TCPAck|craft.TCPPsh, 502, "AAAABBBB"), TCPRetransmission, 4},
		// 104…107 were only ever sent inside the longer retransmission,
		// which does not continue the bytes seen (it starts at 100): an
		// ACK of 108 acknowledges bytes unseen, as tshark 4.0 says too.
		{tcpPacket(t, 1401*ms, "hs", 500, 108, craft.TCPAck, 1000, ""), TCPAckedUnseen, 0},
		{tcpPacket(t, 1402*ms, "hs", 500, 108, craft.TCPAck, 1000, ""), TCPDupAck, 0},
		{tcpPacket(t, 1403*ms, "hs", 500, 108, craft.TCPAck, 0, ""), TCPZeroWindow, 0},
		{tcpPacket(t, 1500*ms, "hc", 108, 500, craft.TCPAck|craft.TCPPsh, 502, "CCCC"), TCPNothing, 0},
	}
	var last TCPEvent
	for i, s := range steps {
		ev := a.Add(s.p)
		if ev.Note != s.note || ev.Copy != s.copy {
			t.Errorf("step %d: note %d copy %d, want %d %d", i, ev.Note, ev.Copy, s.note, s.copy)
		}
		if i == 3 {
			last = ev
		}
	}
	if last.Since != 800*ms || last.Ratio != 2 {
		t.Errorf("third retransmission: %v after the previous, ratio %v; want 800ms and 2", last.Since, last.Ratio)
	}
	r := a.Retransmitted()
	if len(r) != 1 || len(r[0].Copies) != 4 {
		t.Fatalf("retransmitted %+v", r)
	}
	iv := r[0].Intervals()
	if iv[0] != 200*ms || iv[1] != 400*ms || iv[2] != 800*ms {
		t.Errorf("intervals %v", iv)
	}
}

// Captured bytes are untrusted: the analyzer takes any frames, in any order
// and at any times, without panicking, and stays within its bounds.
func FuzzTCPAnalyzer(f *testing.F) {
	syn := frame(f, craft.Packet{IPv4: &craft.IPv4{Src: hc, Dst: hs}, TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Seq: 1, Flags: craft.TCPSyn,
		Options: craft.AppendTCPOptWScale(craft.AppendTCPOptSACKOK(nil), 14)}})
	data := frame(f, craft.Packet{IPv4: &craft.IPv4{Src: hc, Dst: hs}, TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Seq: 2, Flags: craft.TCPAck, Window: 0}, Payload: []byte("x")})
	ack := frame(f, craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, TCP: &craft.TCP{SrcPort: 9999, DstPort: 40000, Seq: 7, Ack: 2, Flags: craft.TCPAck,
		Options: []byte{1, 1, 5, 10, 0, 0, 0, 3, 0, 0, 0, 9}}})
	f.Add(syn, data, ack, int64(1000))
	f.Add(data, data, data, int64(-5))
	f.Fuzz(func(t *testing.T, a, b, c []byte, step int64) {
		an := NewTCPAnalyzer()
		an.MaxFlows = 2
		at := time.Unix(0, 0)
		for i := 0; i < 30; i++ {
			fr := [][]byte{a, b, c}[i%3]
			var p Packet
			p.Frame = fr
			p.Meta.Time = at
			p.Err = p.Decoded.DecodeFrame(fr)
			ev := an.Add(&p)
			_ = ev.Text()
			if ev.NSACK > len(ev.SACK) || ev.Scale > 14 {
				t.Fatalf("event out of bounds: %+v", ev)
			}
			at = at.Add(time.Duration(step))
		}
		if len(an.flows) > 2 {
			t.Fatalf("%d flows followed, MaxFlows 2", len(an.flows))
		}
		for _, s := range an.Retransmitted() {
			_ = s.Describe()
		}
	})
}
