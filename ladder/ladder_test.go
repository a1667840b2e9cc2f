package ladder

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var (
	client = netip.MustParseAddr("198.18.1.3")
	server = netip.MustParseAddr("198.18.1.1")
)

// seg builds a TCP segment with craft and decodes it back, as a capture
// would hold it.
func seg(t *testing.T, fromClient bool, flags uint8, seq, ack uint32, win uint16, opts, data []byte) *craft.Decoded {
	t.Helper()
	src, dst, sp, dp := client, server, uint16(40000), uint16(9999)
	if !fromClient {
		src, dst, sp, dp = server, client, 9999, 40000
	}
	p := craft.Packet{IPv4: &craft.IPv4{Src: src, Dst: dst}, TCP: &craft.TCP{SrcPort: sp, DstPort: dp, Seq: seq, Ack: ack, Flags: flags, Window: win, Options: opts}, Payload: data}
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := new(craft.Decoded)
	if err := d.DecodeIP(b); err != nil {
		t.Fatal(err)
	}
	return d
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to make it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s\nwant\n%s", name, got, want)
	}
}

func TestLadderGolden(t *testing.T) {
	const cISN, sISN = 1000000, 3000000000
	syn := craft.AppendTCPOptWScale(craft.AppendTCPOptNOP(craft.AppendTCPOptSACKOK(craft.AppendTCPOptMSS(nil, 1460))), 7)
	t0 := time.Unix(1700000000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type pkt struct {
		at int
		d  *craft.Decoded
	}
	handshake := []pkt{
		{0, seg(t, true, craft.TCPSyn, cISN, 0, 64240, syn, nil)},
		{1, seg(t, false, craft.TCPSyn|craft.TCPAck, sISN, cISN+1, 65160, syn, nil)},
		{2, seg(t, true, craft.TCPAck, cISN+1, sISN+1, 502, nil, nil)},
	}
	data := []pkt{
		{3, seg(t, true, craft.TCPPsh|craft.TCPAck, cISN+1, sISN+1, 502, nil, []byte("Hello"))},
		{4, seg(t, false, craft.TCPAck, sISN+1, cISN+6, 509, nil, nil)},
		{5, seg(t, false, craft.TCPPsh|craft.TCPAck, sISN+1, cISN+6, 509, nil, []byte("Hello back"))},
		{6, seg(t, true, craft.TCPAck, cISN+6, sISN+11, 502, nil, nil)},
	}
	closing := []pkt{
		{7, seg(t, true, craft.TCPFin|craft.TCPAck, cISN+6, sISN+11, 502, nil, nil)},
		{8, seg(t, false, craft.TCPAck, sISN+11, cISN+7, 509, nil, nil)},
		{9, seg(t, false, craft.TCPFin|craft.TCPAck, sISN+11, cISN+7, 509, nil, nil)},
		{10, seg(t, true, craft.TCPAck, cISN+7, sISN+12, 502, nil, nil)},
	}
	for _, tc := range []struct {
		name string
		pkts []pkt
	}{
		{"handshake", handshake},
		{"data", append(append([]pkt{}, handshake...), data...)},
		{"close", append(append(append([]pkt{}, handshake...), data...), closing...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l Ladder
			// Added out of order, the arrows still come out in time order
			// (labels take their ISNs in the order of Add).
			for i := len(tc.pkts) - 1; i >= 0; i-- {
				l.Add(ms(tc.pkts[i].at), tc.pkts[i].d)
			}
			var lo Ladder
			for _, p := range tc.pkts {
				lo.Add(ms(p.at), p.d)
			}
			var txt, svg bytes.Buffer
			if err := lo.Text(&txt); err != nil {
				t.Fatal(err)
			}
			if err := lo.SVG(&svg); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".txt", txt.Bytes())
			golden(t, tc.name+".svg", svg.Bytes())
			as := l.Arrows()
			for i := 1; i < len(as); i++ {
				if as[i].At < as[i-1].At {
					t.Errorf("arrow %d at %v before arrow %d at %v", i, as[i].At, i-1, as[i-1].At)
				}
			}
		})
	}
}

// An IPv6 exchange gets the same ladder: lanes for the IPv6 hosts,
// sequence numbers relative to each side's ISN, ICMPv6 named, later
// fragments named by their Fragment header.
func TestLadderIPv6(t *testing.T) {
	c6, s6 := netip.MustParseAddr("2001:2:0:1::3"), netip.MustParseAddr("2001:2:0:1::1")
	dec := func(p craft.Packet) *craft.Decoded {
		b, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		d := &craft.Decoded{AcceptIPv6: true}
		_ = d.DecodeIP(b)
		return d
	}
	var l Ladder
	t0 := time.Unix(0, 0)
	l.Add(t0, dec(craft.Packet{IPv6: &craft.IPv6{Src: c6, Dst: s6}, TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Seq: 500, Flags: craft.TCPSyn}}))
	l.Add(t0.Add(time.Millisecond), dec(craft.Packet{IPv6: &craft.IPv6{Src: s6, Dst: c6}, TCP: &craft.TCP{SrcPort: 9999, DstPort: 40000, Seq: 0, Ack: 501, Flags: craft.TCPRst | craft.TCPAck}}))
	l.Add(t0.Add(2*time.Millisecond), dec(craft.Packet{IPv6: &craft.IPv6{Src: s6, Dst: c6}, ICMPv6: &craft.ICMPv6{Type: craft.ICMPv6Unreachable, Code: 4}, Payload: make([]byte, 48)}))
	l.Add(t0.Add(3*time.Millisecond), dec(craft.Packet{IPv6: &craft.IPv6{Src: c6, Dst: s6}, IPv6Ext: []craft.IPv6Ext{craft.FragmentExt(185, false, 77)}, Payload: make([]byte, 16)}))
	as := l.Arrows()
	if len(l.Lanes) != 2 || l.Lanes[0].Addr != c6 || l.Lanes[1].Addr != s6 || len(as) != 4 {
		t.Fatalf("lanes %v, %d arrows", l.Lanes, len(as))
	}
	for i, want := range []string{"40000→9999 [S] seq=0 win=0 len=0", "9999→40000 [RA] seq=0 ack=1 win=0 len=0", "ICMPv6 type=1 code=4", "IPv6 fragment id=77 offset=1480 len=16"} {
		if as[i].Label != want {
			t.Errorf("arrow %d: %q, want %q", i, as[i].Label, want)
		}
	}
	if as[1].From != 1 || as[1].To != 0 {
		t.Errorf("the RST goes from lane %d to %d", as[1].From, as[1].To)
	}
}

// A host talking to itself (a connection to its own address, on lo): the
// two ends get a lane each, named address:port, and the arrows go between
// them; a packet without ports to itself is drawn "(to itself)".
func TestLadderToItself(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	decode := func(p craft.Packet) *craft.Decoded {
		b, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		d := new(craft.Decoded)
		if err := d.DecodeIP(b); err != nil {
			t.Fatal(err)
		}
		return d
	}
	t0 := time.Unix(1700000000, 0)
	var l Ladder
	l.Add(t0, decode(craft.Packet{IPv4: &craft.IPv4{Src: lo, Dst: lo}, TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Seq: 1, Flags: craft.TCPSyn}}))
	l.Add(t0.Add(time.Millisecond), decode(craft.Packet{IPv4: &craft.IPv4{Src: lo, Dst: lo}, TCP: &craft.TCP{SrcPort: 9999, DstPort: 40000, Seq: 7, Ack: 2, Flags: craft.TCPSyn | craft.TCPAck}}))
	want := []Lane{{lo, 40000}, {lo, 9999}}
	if as := l.Arrows(); len(l.Lanes) != 2 || l.Lanes[0] != want[0] || l.Lanes[1] != want[1] || as[0].From != 0 || as[0].To != 1 || as[1].From != 1 || as[1].To != 0 {
		t.Fatalf("lanes %v, arrows %+v", l.Lanes, as)
	}
	var out bytes.Buffer
	if err := l.Text(&out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !bytes.Contains(out.Bytes(), []byte("time (s)  127.0.0.1:40000")) || !bytes.Contains(out.Bytes(), []byte("127.0.0.1:9999\n")) ||
		!bytes.Contains(out.Bytes(), []byte("|---")) || !bytes.Contains(out.Bytes(), []byte("|<---")) {
		t.Errorf("text:\n%s", s)
	}
	var icmp Ladder
	icmp.Add(t0, decode(craft.Packet{IPv4: &craft.IPv4{Src: lo, Dst: lo}, ICMP: &craft.ICMP{Type: 8}}))
	out.Reset()
	if err := icmp.Text(&out); err != nil {
		t.Fatal(err)
	}
	if len(icmp.Lanes) != 1 || !bytes.Contains(out.Bytes(), []byte("|<-- (to itself)")) {
		t.Errorf("lanes %v, text:\n%s", icmp.Lanes, out.String())
	}
}
