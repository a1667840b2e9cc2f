package listen

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/rawcraft/rawcraft/rawsock"
)

// A real connection between two Linux kernels, made to show the analyzer's
// events — a receiver too slow for its sender (zero windows, window probes,
// window updates, full windows), then a cable pulled with data in flight
// (retransmissions) — captured at Hc and read by the analyzer and by tshark:
// their notes and scaled windows agree frame by frame.
func TestTCPAnalyzerAgreesWithTsharkOnARealConnection(t *testing.T) {
	oracle.Require(t, "tshark")
	l := lab.ForTest(t, lab.Config{})
	// A small receive buffer and a late first read: the window closes.
	served := l.DrainOne(t, lab.Hs, "tcp4", "198.18.1.1:9999", lab.DrainConfig{RcvBuf: 4096, Wait: 700 * time.Millisecond})
	rec := func() *Recorder {
		var lsn *Listener
		if err := l.Do(lab.Hc, func() error {
			ifi, err := net.InterfaceByName(lab.HostIfc)
			if err != nil {
				return err
			}
			prog, err := rawsock.Filter{Proto: craft.ProtoTCP, Port: 9999}.Compile()
			if err != nil {
				return err
			}
			lsn, err = Listen(ifi, &Config{Filter: prog, ReadBuffer: 16 << 20})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lsn.Close() })
		return Record(lsn, 0)
	}()
	if err := l.Do(lab.Hc, func() error {
		c, err := net.Dial("tcp4", "198.18.1.1:9999")
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 64<<10)
		for i := 0; i < 4; i++ {
			if i == 3 {
				_ = l.Break() // data in flight when the cable goes
				go func() { time.Sleep(600 * time.Millisecond); _ = l.Restore() }()
			}
			if _, err := c.Write(buf); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if d := <-served; d.Err != nil {
		t.Fatal(d.Err)
	}
	time.Sleep(100 * time.Millisecond)
	got := rec.Stop()
	file := filepath.Join(t.TempDir(), "conn.pcap")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := pcap.NewWriter(f, pcap.LinkEthernet)
	a := NewTCPAnalyzer()
	var ours []TCPEvent
	var p Packet
	for _, c := range got {
		_ = w.Write(c.Meta.Time, c.Frame)
		p = Packet{Frame: c.Frame, Meta: c.Meta}
		p.Err = p.Decoded.DecodeFrame(c.Frame)
		ours = append(ours, a.Add(&p))
	}
	f.Close()
	theirs := oracle.TsharkTCPAnalysis(t, file)
	if len(theirs) != len(ours) {
		t.Fatalf("tshark read %d frames, the analyzer %d", len(theirs), len(ours))
	}
	seen := TCPNote(0)
	bad := 0
	for i := range ours {
		seen |= ours[i].Note
		if their := notesOf(theirs[i]); ours[i].Note != their || ours[i].Window != theirs[i].Window {
			bad++
			if bad <= 10 {
				t.Errorf("frame %d: rawcraft %q window %d, tshark %q window %d", i+1, ours[i].Note, ours[i].Window, notesOf(theirs[i]), theirs[i].Window)
			}
		}
	}
	// The scenario must have shown what it is for, or the test proves little.
	for _, n := range []TCPNote{TCPZeroWindow, TCPWindowUpdate, TCPRetransmission} {
		if !seen.Has(n) {
			t.Errorf("the connection never showed %q (%d frames)", n, len(ours))
		}
	}
	t.Logf("%d frames; notes seen: %q; %d disagreements", len(ours), seen, bad)
}
