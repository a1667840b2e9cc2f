package listen

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/pcap"
)

// seg is one segment of a conversation between hc:40000 (c) and hs:9999 (s).
type seg struct {
	at         time.Duration
	from       string // "c" or "s"
	seq, ack   uint32
	flags      uint8
	win        uint16
	n          int // data bytes
	opts       []byte
	sack       [][2]uint32
	wantNote   TCPNote
	wantWindow int
}

func sackOpt(blocks [][2]uint32) []byte {
	o := []byte{1, 1, 5, byte(2 + 8*len(blocks))}
	for _, b := range blocks {
		o = binary.BigEndian.AppendUint32(o, b[0])
		o = binary.BigEndian.AppendUint32(o, b[1])
	}
	return o
}

// The analyzer against Wireshark's on one conversation that shows every
// note: a handshake agreeing on window scales 7 and 10, data, duplicate ACKs
// with SACK blocks, a fast retransmission, a zero window, a keep-alive (the
// way Linux probes a zero window), a window update, a full window, a
// zero-window probe, and retransmissions. tshark's tcp.analysis flags and
// calculated window must equal the analyzer's, frame by frame.
func TestTCPAnalyzerAgreesWithTshark(t *testing.T) {
	ms := time.Millisecond
	syn := craft.AppendTCPOptWScale(craft.AppendTCPOptNOP(craft.AppendTCPOptSACKOK(craft.AppendTCPOptMSS(nil, 1460))), 7)
	synAck := craft.AppendTCPOptWScale(craft.AppendTCPOptNOP(craft.AppendTCPOptSACKOK(craft.AppendTCPOptMSS(nil, 1460))), 10)
	A, P, S := craft.TCPAck, craft.TCPAck|craft.TCPPsh, craft.TCPSyn
	segs := []seg{
		{at: 0, from: "c", seq: 1000, flags: S, win: 64240, opts: syn, wantWindow: 64240},
		{at: 1 * ms, from: "s", seq: 5000, ack: 1001, flags: S | A, win: 65160, opts: synAck, wantWindow: 65160},
		{at: 2 * ms, from: "c", seq: 1001, ack: 5001, flags: A, win: 502, wantWindow: 502 << 7},
		{at: 3 * ms, from: "c", seq: 1001, ack: 5001, flags: P, win: 502, n: 100, wantWindow: 502 << 7},
		{at: 4 * ms, from: "c", seq: 1101, ack: 5001, flags: P, win: 502, n: 100, wantWindow: 502 << 7},
		{at: 5 * ms, from: "c", seq: 1201, ack: 5001, flags: P, win: 502, n: 100, wantWindow: 502 << 7},
		{at: 6 * ms, from: "s", seq: 5001, ack: 1101, flags: A, win: 64, wantWindow: 64 << 10},
		{at: 7 * ms, from: "s", seq: 5001, ack: 1101, flags: A, win: 64, sack: [][2]uint32{{1201, 1301}}, wantNote: TCPDupAck, wantWindow: 64 << 10},
		{at: 8 * ms, from: "s", seq: 5001, ack: 1101, flags: A, win: 64, sack: [][2]uint32{{1201, 1301}}, wantNote: TCPDupAck, wantWindow: 64 << 10},
		{at: 9 * ms, from: "c", seq: 1101, ack: 5001, flags: P, win: 502, n: 100, wantNote: TCPRetransmission | TCPFastRetransmission, wantWindow: 502 << 7},
		{at: 10 * ms, from: "s", seq: 5001, ack: 1301, flags: A, win: 64, wantWindow: 64 << 10},
		{at: 11 * ms, from: "s", seq: 5001, ack: 1301, flags: A, win: 0, wantNote: TCPZeroWindow, wantWindow: 0},
		{at: 300 * ms, from: "c", seq: 1300, ack: 5001, flags: A, win: 502, wantNote: TCPKeepAlive, wantWindow: 502 << 7},
		{at: 301 * ms, from: "s", seq: 5001, ack: 1301, flags: A, win: 0, wantNote: TCPZeroWindow, wantWindow: 0},
		{at: 700 * ms, from: "s", seq: 5001, ack: 1301, flags: A, win: 1, wantNote: TCPWindowUpdate, wantWindow: 1 << 10},
		{at: 701 * ms, from: "c", seq: 1301, ack: 5001, flags: P, win: 502, n: 1024, wantNote: TCPWindowFull, wantWindow: 502 << 7},
		{at: 702 * ms, from: "s", seq: 5001, ack: 2325, flags: A, win: 0, wantNote: TCPZeroWindow, wantWindow: 0},
		{at: 900 * ms, from: "c", seq: 2325, ack: 5001, flags: P, win: 502, n: 1, wantNote: TCPZeroWindowProbe, wantWindow: 502 << 7},
		{at: 901 * ms, from: "s", seq: 5001, ack: 2325, flags: A, win: 0, wantNote: TCPZeroWindow | TCPZeroWindowProbeAck, wantWindow: 0},
		{at: 1900 * ms, from: "c", seq: 2325, ack: 5001, flags: P, win: 502, n: 1, wantNote: TCPZeroWindowProbe, wantWindow: 502 << 7},
		{at: 1901 * ms, from: "s", seq: 5001, ack: 2325, flags: A, win: 64, wantNote: TCPWindowUpdate, wantWindow: 64 << 10},
		{at: 1902 * ms, from: "c", seq: 2325, ack: 5001, flags: P, win: 502, n: 200, wantWindow: 502 << 7},
		{at: 2200 * ms, from: "c", seq: 2325, ack: 5001, flags: P, win: 502, n: 200, wantNote: TCPRetransmission, wantWindow: 502 << 7},
		// Below the flow's edge, never seen, within the handshake's 2 ms of
		// the segment above it: reordered.
		{at: 2300 * ms, from: "c", seq: 2725, ack: 5001, flags: P, win: 502, n: 100, wantNote: TCPPreviousSegmentLost, wantWindow: 502 << 7},
		{at: 2301 * ms, from: "c", seq: 2525, ack: 5001, flags: P, win: 502, n: 200, wantNote: TCPOutOfOrder, wantWindow: 502 << 7},
		// Never seen, but 50 ms late: a copy lost before the capture point.
		{at: 2400 * ms, from: "c", seq: 3025, ack: 5001, flags: P, win: 502, n: 100, wantNote: TCPPreviousSegmentLost, wantWindow: 502 << 7},
		{at: 2450 * ms, from: "c", seq: 2825, ack: 5001, flags: P, win: 502, n: 200, wantNote: TCPRetransmission, wantWindow: 502 << 7},
		// Seen before and soon after a higher segment: Wireshark's timing
		// says out-of-order, the capture's earlier copy says resent.
		{at: 2460 * ms, from: "c", seq: 3125, ack: 5001, flags: P, win: 502, n: 100, wantWindow: 502 << 7},
		{at: 2460*ms + 500*time.Microsecond, from: "c", seq: 3025, ack: 5001, flags: P, win: 502, n: 100, wantNote: TCPRetransmission, wantWindow: 502 << 7},
		// A hole never seen, filled 1 ms after the segment above it — but
		// two duplicate ACKs asked for it: a fast retransmission.
		{at: 2500 * ms, from: "c", seq: 3325, ack: 5001, flags: P, win: 502, n: 100, wantNote: TCPPreviousSegmentLost, wantWindow: 502 << 7},
		{at: 2500*ms + 200*time.Microsecond, from: "s", seq: 5001, ack: 3225, flags: A, win: 64, wantWindow: 64 << 10},
		{at: 2500*ms + 400*time.Microsecond, from: "s", seq: 5001, ack: 3225, flags: A, win: 64, wantNote: TCPDupAck, wantWindow: 64 << 10},
		{at: 2500*ms + 600*time.Microsecond, from: "s", seq: 5001, ack: 3225, flags: A, win: 64, wantNote: TCPDupAck, wantWindow: 64 << 10},
		{at: 2501 * ms, from: "c", seq: 3225, ack: 5001, flags: P, win: 502, n: 100, wantNote: TCPRetransmission | TCPFastRetransmission, wantWindow: 502 << 7},
	}
	file := filepath.Join(t.TempDir(), "conv.pcap")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcap.NewWriter(f, pcap.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	a := NewTCPAnalyzer()
	var got []TCPEvent
	t0 := time.Unix(1_700_000_000, 0)
	for _, s := range segs {
		src, dst, sp, dp := hc, hs, uint16(40000), uint16(9999)
		if s.from == "s" {
			src, dst, sp, dp = hs, hc, dp, sp
		}
		opts := s.opts
		if len(s.sack) > 0 {
			opts = sackOpt(s.sack)
		}
		b := frame(t, craft.Packet{IPv4: &craft.IPv4{Src: src, Dst: dst}, TCP: &craft.TCP{SrcPort: sp, DstPort: dp, Seq: s.seq, Ack: s.ack, Flags: s.flags, Window: s.win, Options: opts}, Payload: bytes.Repeat([]byte{'x'}, s.n)})
		if err := w.Write(t0.Add(s.at), b); err != nil {
			t.Fatal(err)
		}
		p := packet(t, b, s.from == "c")
		p.Meta.Time = t0.Add(s.at)
		got = append(got, a.Add(p))
	}
	f.Close()
	theirs := oracle.TsharkTCPAnalysis(t, file)
	if len(theirs) != len(segs) {
		t.Fatalf("tshark read %d frames of %d", len(theirs), len(segs))
	}
	for i := range theirs {
		their, dups, win := notesOf(theirs[i]), theirs[i].DupAck, theirs[i].Window
		ours := got[i]
		if ours.Note != their || ours.Window != win || ours.Note.Has(TCPDupAck) && (ours.Dups != dups || ours.DupOf != theirs[i].DupAckFrame) {
			t.Errorf("frame %d: rawcraft %q (window %d, dup %d#%d), tshark %q (window %d, dup %d#%d)", i+1, ours.Note, ours.Window, ours.DupOf, ours.Dups, their, win, theirs[i].DupAckFrame, dups)
		}
		if ours.Note != segs[i].wantNote || ours.Window != segs[i].wantWindow {
			t.Errorf("frame %d: %q window %d; the scenario means %q window %d", i+1, ours.Note, ours.Window, segs[i].wantNote, segs[i].wantWindow)
		}
	}
	if n := got[7].NSACK; n != 1 || got[7].SACK[0] != (SACKBlock{1201, 1301}) || !strings.Contains(got[7].Text(), "SACK 1201-1301") {
		t.Errorf("SACK blocks of frame 8: %d %v %q", n, got[7].SACK, got[7].Text())
	}
	for i, want := range map[int]string{24: "out-of-order: seq 2525", 26: "no earlier copy in this capture", 28: "copy 2 of seq 3025, 0.060 s after"} {
		if !strings.Contains(got[i].Text(), want) {
			t.Errorf("frame %d says %q, want %q in it", i+1, got[i].Text(), want)
		}
	}
}

// notesOf reads tshark's analysis of a frame as the analyzer's notes.
func notesOf(a oracle.TCPAnalysis) TCPNote {
	var n TCPNote
	for _, f := range []struct {
		on   bool
		note TCPNote
	}{{a.Retransmission, TCPRetransmission}, {a.DupAck > 0, TCPDupAck}, {a.ZeroWindow, TCPZeroWindow}, {a.ZeroWindowProbe, TCPZeroWindowProbe},
		{a.KeepAlive, TCPKeepAlive}, {a.WindowUpdate, TCPWindowUpdate}, {a.WindowFull, TCPWindowFull}, {a.OutOfOrder, TCPOutOfOrder},
		{a.Retransmission && a.FastRetransmission, TCPFastRetransmission}, {a.Retransmission && a.SpuriousRetransmission, TCPSpuriousRetransmission},
		{a.LostSegment, TCPPreviousSegmentLost}, {a.AckLostSegment, TCPAckedUnseen}, {a.KeepAliveAck, TCPKeepAliveAck}, {a.ZeroWindowProbeAck, TCPZeroWindowProbeAck}} {
		if f.on {
			n |= f.note
		}
	}
	return n
}
