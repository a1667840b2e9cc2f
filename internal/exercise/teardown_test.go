package exercise

import (
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// seg builds one captured Ethernet frame of a close between the lab's
// client (Hc:40000) and server (Hs:9999), at t0 + at.
func seg(t *testing.T, t0 time.Time, at time.Duration, fromHc bool, flags uint8, seq, ack uint32) listen.Captured {
	t.Helper()
	ip := &craft.IPv4{Src: lab.AddrHs, Dst: lab.AddrHc, TTL: craft.Set[uint8](64)}
	tcp := &craft.TCP{SrcPort: 9999, DstPort: 40000, Flags: flags, Seq: seq, Ack: ack, Window: 502}
	if fromHc {
		ip.Src, ip.Dst = ip.Dst, ip.Src
		tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
	}
	b, err := (&craft.Packet{Ethernet: &craft.Ethernet{}, IPv4: ip, TCP: tcp}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return listen.Captured{Frame: b, Meta: rawsock.Meta{Time: t0.Add(at)}}
}

// A close says how many segments it took and why, in exact words: three
// when the passive closer's ACK rode on its FIN, four when it came alone.
func TestTeardownLines(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	const fin, ack = craft.TCPFin | craft.TCPAck, craft.TCPAck
	for _, c := range []struct {
		desc     string
		segs     []listen.Captured
		segments int
		want     []string
	}{
		{"3 segments", []listen.Captured{
			seg(t, t0, 0, true, fin, 100, 500),
			seg(t, t0, 200*time.Microsecond, false, fin, 500, 101),
			seg(t, t0, 300*time.Microsecond, true, ack, 101, 501),
		}, 3, []string{
			"client → server  FIN|ACK seq 100 ack 500: the client's FIN",
			"server → client  FIN|ACK seq 500 ack 101: the server's FIN, which acknowledges the client's FIN: ack 101 = its seq + 1",
			"client → server  ACK     seq 101 ack 501: acknowledges the server's FIN: ack 501 = its seq + 1",
			"a 3-segment close: the server's ACK of the client's FIN rode on its own FIN (FIN|ACK), 0.2 ms after the client's FIN — its application closed before its kernel's delayed ACK was due, so no separate ACK was sent",
		}},
		{"4 segments, after an ACK of data", []listen.Captured{
			seg(t, t0, 0, true, fin, 100, 500),
			seg(t, t0, 10*time.Millisecond, false, ack, 500, 90), // an ACK of earlier data
			seg(t, t0, 40*time.Millisecond, false, ack, 500, 101),
			seg(t, t0, 600*time.Millisecond, false, fin, 500, 101),
			seg(t, t0, 601*time.Millisecond, true, ack, 101, 501),
		}, 4, []string{
			"client → server  FIN|ACK seq 100 ack 500: the client's FIN",
			"server → client  ACK     seq 500 ack 101: acknowledges the client's FIN: ack 101 = its seq + 1",
			"server → client  FIN|ACK seq 500 ack 101: the server's FIN",
			"client → server  ACK     seq 101 ack 501: acknowledges the server's FIN: ack 501 = its seq + 1",
			"a 4-segment close: the server's kernel acknowledged the client's FIN 40.0 ms after it, and sent its own FIN 560.0 ms later, when its application closed",
		}},
		{"simultaneous", []listen.Captured{
			seg(t, t0, 0, true, fin, 100, 500),
			seg(t, t0, time.Millisecond, false, fin, 500, 100),
			seg(t, t0, 2*time.Millisecond, true, ack, 101, 501),
			seg(t, t0, 3*time.Millisecond, false, ack, 501, 101),
		}, 4, []string{
			"client → server  FIN|ACK seq 100 ack 500: the client's FIN",
			"server → client  FIN|ACK seq 500 ack 100: the server's FIN",
			"client → server  ACK     seq 101 ack 501: acknowledges the server's FIN: ack 501 = its seq + 1",
			"server → client  ACK     seq 501 ack 101: acknowledges the client's FIN: ack 101 = its seq + 1",
			"a 4-segment simultaneous close: the server's FIN left before it had acknowledged the client's FIN (RFC 9293 §3.6, case 3)",
		}},
	} {
		td := closeTeardown(c.segs, lab.AddrHc)
		if !td.Complete() || td.Segments != c.segments {
			t.Errorf("%s: complete %v, %d segments, want %d", c.desc, td.Complete(), td.Segments, c.segments)
		}
		if got := td.Lines(); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s:\n%s\nwant\n%s", c.desc, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
	}
	td := closeTeardown([]listen.Captured{seg(t, t0, 0, true, fin, 100, 500)}, lab.AddrHc)
	if td.Complete() || td.Missing() != "not a complete close: no acknowledgment of the client's FIN; no FIN from the server" {
		t.Errorf("one FIN: complete %v, %q", td.Complete(), td.Missing())
	}
}
