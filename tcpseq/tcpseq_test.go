package tcpseq

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
)

var hc, hs = netip.MustParseAddr("198.18.1.3"), netip.MustParseAddr("198.18.1.1")

func seg(t *testing.T, at time.Duration, fromHc bool, seq, ack uint32, win uint16, n int, opts []byte) *listen.Packet {
	t.Helper()
	s, d, sp, dp := hc, hs, uint16(40000), uint16(8080)
	if !fromHc {
		s, d, sp, dp = hs, hc, dp, sp
	}
	p := craft.Packet{Ethernet: &craft.Ethernet{}, IPv4: &craft.IPv4{Src: s, Dst: d},
		TCP: &craft.TCP{SrcPort: sp, DstPort: dp, Seq: seq, Ack: ack, Flags: craft.TCPAck, Window: win, Options: opts}, Payload: make([]byte, n)}
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	pk := &listen.Packet{Frame: b}
	pk.Meta.Time = time.Unix(100, 0).Add(at)
	if err := pk.Decoded.DecodeFrame(b); err != nil {
		t.Fatal(err)
	}
	return pk
}

func sack(l, r uint32) []byte {
	b := []byte{1, 1, 5, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	b[4], b[5], b[6], b[7] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
	b[8], b[9], b[10], b[11] = byte(r>>24), byte(r>>16), byte(r>>8), byte(r)
	return b
}

// A lost segment, three duplicate ACKs with SACK, the resend: every part
// of the graph is there, in text and in well-formed SVG.
func TestGraph(t *testing.T) {
	const isn, ms = 1000, time.Millisecond
	a := listen.NewTCPAnalyzer()
	tr := New(listen.Flow{Src: hc, Dst: hs, SrcPort: 40000, DstPort: 8080})
	add := func(p *listen.Packet) { tr.Add(p, a.Add(p)) }
	add(seg(t, 0, true, isn, 5, 1000, 100, nil))
	add(seg(t, 1*ms, true, isn+100, 5, 1000, 100, nil)) // lost on the cable
	add(seg(t, 2*ms, false, 5, isn+100, 2000, 0, nil))
	for i := range 3 {
		add(seg(t, time.Duration(3+i)*ms, true, isn+200+uint32(i)*100, 5, 1000, 100, nil))
		add(seg(t, time.Duration(3+i)*ms+ms/2, false, 5, isn+100, 2000, 0, sack(isn+200, isn+300+uint32(i)*100)))
	}
	add(seg(t, 7*ms, true, isn+100, 5, 1000, 100, nil))
	add(seg(t, 8*ms, false, 5, isn+500, 2000, 0, nil))
	r := tr.Retransmissions()
	if len(r) != 1 || r[0].Seq != 100 || r[0].Len != 100 {
		t.Fatalf("retransmissions %+v, want the segment at relative seq 100", r)
	}
	var txt bytes.Buffer
	tr.Text(&txt, 40, 0)
	out := txt.String()
	for _, want := range []string{"R", "retransmission", "duplicate ACK", "SACK 200-300", "ack 500 win 2000"} {
		if !strings.Contains(out, want) {
			t.Errorf("text graph lacks %q:\n%s", want, out)
		}
	}
	var svg bytes.Buffer
	if err := tr.SVG(&svg); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg.Bytes()))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
	}
	for _, want := range []string{`stroke="red"`, `stroke="purple"`, `stroke="green"`, `fill="green" font-size="9">D<`} {
		if !strings.Contains(svg.String(), want) {
			t.Errorf("SVG lacks %s", want)
		}
	}
	if r := tr.Rounds(); len(r) == 0 || r[0].Flight != 200 || r[0].Rwnd != 2000 {
		t.Errorf("rounds %+v, want the first with 200 bytes in flight and a 2000-byte window", r)
	}
	if f := tr.InFlight(2 * ms); len(f) == 0 || f[0] != 200 {
		t.Errorf("in flight per 2 ms: %v, want 200 bytes first", f)
	}
}
