package main

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
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

// wireSeg builds one Ethernet frame of a TCP segment, as the recorder
// captures it, with its kernel timestamp.
func wireSeg(t *testing.T, at time.Time, src, dst netip.AddrPort, flags uint8, seq, ack uint32, data string) listen.Captured {
	t.Helper()
	p := craft.Packet{Ethernet: &craft.Ethernet{},
		IPv4:    &craft.IPv4{Src: src.Addr(), Dst: dst.Addr(), Flags: craft.FlagDF},
		TCP:     &craft.TCP{SrcPort: src.Port(), DstPort: dst.Port(), Seq: seq, Ack: ack, Flags: flags, Window: 502},
		Payload: []byte(data)}
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return listen.Captured{Meta: rawsock.Meta{Time: at}, Frame: b}
}

// The handshake's ladder, from frames given in the order a program might
// process them (a reply read after the segment sent later): the arrows come
// out in the order of their kernel timestamps, relative numbers from each
// side's ISN; segments of another connection are left out.
func TestHandshakeLadderGolden(t *testing.T) {
	c := netip.MustParseAddrPort("198.18.1.204:40000")
	s := netip.MustParseAddrPort("198.18.1.1:9999")
	other := netip.MustParseAddrPort("198.18.1.3:41000")
	const cISN, sISN = 1000, 5000000
	t0 := time.Unix(1700000000, 0)
	us := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Microsecond) }
	frames := []listen.Captured{
		wireSeg(t, us(0), c, s, craft.TCPSyn, cISN, 0, ""),
		wireSeg(t, us(802), s, c, craft.TCPSyn|craft.TCPAck, sISN, cISN+1, ""),
		wireSeg(t, us(938), c, s, craft.TCPAck, cISN+1, sISN+1, ""),
		wireSeg(t, us(950), c, s, craft.TCPPsh|craft.TCPAck, cISN+1, sISN+1, "Hello"),
		wireSeg(t, us(805), other, s, craft.TCPSyn, 7, 0, ""), // another connection
		wireSeg(t, us(990), s, c, craft.TCPAck, sISN+1, cISN+6, ""),
		wireSeg(t, us(991), s, c, craft.TCPPsh|craft.TCPAck, sISN+1, cISN+6, "got it"),
		wireSeg(t, us(1200), c, s, craft.TCPAck, cISN+6, sISN+7, ""),
		wireSeg(t, us(500100), c, s, craft.TCPFin|craft.TCPAck, cISN+6, sISN+7, ""),
		wireSeg(t, us(500190), s, c, craft.TCPFin|craft.TCPAck, sISN+7, cISN+7, ""),
		wireSeg(t, us(500300), c, s, craft.TCPAck, cISN+7, sISN+8, ""),
	}
	// Processing order: the SYN-ACK read only after the ACK went out.
	frames[1], frames[2] = frames[2], frames[1]
	l := ladderOf(frames, func(d *craft.Decoded) bool { return connOf(d, c.Addr(), c.Port(), s.Addr(), s.Port()) })
	var out bytes.Buffer
	svg, err := os.Create(filepath.Join(t.TempDir(), "ladder.svg"))
	if err != nil {
		t.Fatal(err)
	}
	defer svg.Close()
	if err := writeLadder(&out, svg, "The exchange as the wire saw it", l); err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "handshake-ladder.txt", out.Bytes())
	checkLadderTimes(t, out.String())
	as := l.Arrows()
	if len(as) != 10 {
		t.Fatalf("%d arrows, want the connection's 10", len(as))
	}
	for i := 1; i < len(as); i++ {
		if as[i].At < as[i-1].At {
			t.Errorf("arrow %d at %v before arrow %d at %v", i, as[i].At, i-1, as[i-1].At)
		}
	}
	b, err := os.ReadFile(svg.Name())
	if err != nil || !bytes.HasPrefix(b, []byte("<svg ")) || bytes.Count(b, []byte("marker-end")) != 10 {
		t.Errorf("the SVG does not hold the 10 arrows (%v):\n%s", err, b)
	}
}
