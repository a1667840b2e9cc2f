package listen_test

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

func TestMain(m *testing.M) { os.Exit(lab.RunTests(m)) }

func listenOn(t testing.TB, l *lab.Lab, host string, cfg *listen.Config) *listen.Listener {
	t.Helper()
	var ln *listen.Listener
	if err := l.Do(host, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		ln, err = listen.Listen(ifi, cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// senderToHs resolves Hs from Hc and opens a Sender there, closed when the
// test ends.
func senderToHs(t testing.TB, l *lab.Lab, cfg *rawsock.SenderConfig) (rawsock.Route, *rawsock.Sender) {
	t.Helper()
	var tx *rawsock.Sender
	var rt rawsock.Route
	if err := l.Do(lab.Hc, func() (err error) {
		if rt, err = rawsock.Resolve(lab.AddrHs, nil); err != nil {
			return err
		}
		tx, err = rawsock.NewSender(rt.Iface, cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Close() })
	return rt, tx
}

// outgoingSYN dials a closed port on Hs from Hc and returns the SYN as Hc's
// own capture saw it leave.
func outgoingSYN(t *testing.T, l *lab.Lab, ln *listen.Listener) *listen.Packet {
	t.Helper()
	dialClosed(l)
	return capturedSYN(t, ln)
}

// dialClosed dials a closed port on Hs from Hc: a SYN out, an RST back.
func dialClosed(l *lab.Lab) {
	_ = l.Do(lab.Hc, func() error {
		c, err := net.DialTimeout("tcp4", "198.18.1.1:9998", time.Second)
		if err == nil {
			c.Close()
		}
		return nil
	})
}

// capturedSYN returns the first outgoing SYN ln captured.
func capturedSYN(t *testing.T, ln *listen.Listener) *listen.Packet {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		p, err := ln.Next(deadline)
		if err != nil {
			t.Fatalf("no SYN captured: %v", err)
		}
		if p.Meta.Outgoing && p.Decoded.Has(craft.LayerTCP) && p.Decoded.TCP.Flags == craft.TCPSyn {
			return p
		}
	}
}

// With checksum offload on, the kernel's own SYN leaves with only the
// pseudo-header sum in its checksum field; the listener says so, and never
// calls it bad. With offload off (the lab's default) it is simply good.
func TestOffloadChecksumIsNotBad(t *testing.T) {
	for _, offload := range []bool{true, false} {
		l := lab.ForTest(t, lab.Config{Offload: offload})
		ln := listenOn(t, l, lab.Hc, nil)
		p := outgoingSYN(t, l, ln)
		var tcp craft.ChecksumResult
		for _, c := range p.Checksums() {
			if c.Layer == craft.LayerTCP {
				tcp = c
			}
		}
		switch {
		case offload && (!p.Meta.ChecksumPartial || tcp.Status != craft.ChecksumPartial):
			t.Errorf("offload on: AUXDATA partial=%v, TCP checksum %v; want partial, never bad", p.Meta.ChecksumPartial, tcp.Status)
		case !offload && (p.Meta.ChecksumPartial || tcp.Status != craft.ChecksumGood):
			t.Errorf("offload off: partial=%v, TCP checksum %v; want good", p.Meta.ChecksumPartial, tcp.Status)
		}
		if p.Meta.Time.IsZero() || time.Since(p.Meta.Time) > 5*time.Second {
			t.Errorf("kernel timestamp %v", p.Meta.Time)
		}
	}
}

// Receiving and decoding a frame allocates nothing.
func TestListenerAllocatesNothing(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	ln := listenOn(t, l, lab.Hs, &listen.Config{})
	rt, tx := senderToHs(t, l, nil)
	f, _ := (&craft.Packet{Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC}, IPv4: &craft.IPv4{Src: lab.AddrHc, Dst: lab.AddrHs},
		TCP: &craft.TCP{SrcPort: 1, DstPort: 2, Flags: craft.TCPAck}}).Append(nil)
	for i := 0; i < 400; i++ {
		if _, err := tx.SendBatch([][]byte{f}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Second)
	if _, err := ln.Next(deadline); err != nil { // the first call may set up the poller
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(200, func() {
		p, err := ln.Next(deadline)
		if err != nil {
			t.Fatal(err)
		}
		_ = p.Checksums()
	})
	if n != 0 {
		t.Errorf("Next allocates %v times per frame", n)
	}
	if _, dropped, err := ln.Stats(); err != nil || dropped != 0 {
		t.Errorf("stats: dropped %d, %v", dropped, err)
	}
}

// BenchmarkCapture floods Hs with b.N UDP frames from Hc, as fast as a
// rawsock.Sender sends them, while a Listener in Hs reads them: through one
// recvmsg per frame, or through the RX ring. It reports the share of the
// frames the capture read (captured%) — the kernel counts the rest as
// drops, and the two must add up to every frame sent — and the time per
// frame from the first sent to the last read (ns/frame). On the lab's path
// (two bridges) the sender sets the pace; the ring's gain shows as less
// time per frame for the same frames.
func BenchmarkCapture(b *testing.B) {
	for _, ring := range []bool{false, true} {
		name := "recvmsg"
		if ring {
			name = "ring"
		}
		b.Run(name, func(b *testing.B) {
			l := lab.ForTest(b, lab.Config{})
			filter, err := rawsock.Filter{Proto: craft.ProtoUDP, Port: 7}.Compile()
			if err != nil {
				b.Fatal(err)
			}
			ln := listenOn(b, l, lab.Hs, &listen.Config{Filter: filter, Ring: ring})
			rt, tx := senderToHs(b, l, &rawsock.SenderConfig{QdiscBypass: true})
			f, _ := (&craft.Packet{Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC}, IPv4: &craft.IPv4{Src: lab.AddrHc, Dst: lab.AddrHs},
				UDP: &craft.UDP{SrcPort: 7, DstPort: 7}, Payload: make([]byte, 18)}).Append(nil)
			batch := make([][]byte, rawsock.MaxBatch)
			for i := range batch {
				batch[i] = f
			}
			_, _, _ = ln.Stats()
			done := make(chan int)
			var last time.Time // when the listener read the last frame
			go func() {
				got := 0
				for {
					// Until the flood has been quiet for a while.
					if _, err := ln.Next(time.Now().Add(300 * time.Millisecond)); err != nil {
						break
					}
					got++
					last = time.Now()
				}
				done <- got
			}()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for sent := 0; sent < b.N; {
				n, err := tx.SendBatch(batch[:min(len(batch), b.N-sent)])
				if err != nil {
					b.Fatal(err)
				}
				sent += n
			}
			got := <-done
			b.StopTimer()
			seen, dropped, err := ln.Stats()
			if err != nil {
				b.Fatal(err)
			}
			if seen != uint64(b.N) || uint64(got)+dropped != seen {
				b.Errorf("sent %d: the kernel saw %d, dropped %d, the listener read %d", b.N, seen, dropped, got)
			}
			b.ReportMetric(100*float64(got)/float64(b.N), "captured%")
			// ns/op includes the quiet wait at the end; this does not.
			b.ReportMetric(float64(last.Sub(start).Nanoseconds())/float64(b.N), "ns/frame")
		})
	}
}

// A frame keeps the time it passed the tap, however late it is read, from
// the first frame after Listen on: the kernel switches software timestamps
// on system-wide a moment after the first socket asks (a workqueue), and a
// recvmsg(2) socket with SO_TIMESTAMPNS is handed the frames of that
// moment stamped with the time of the read. That put a kernel RST after
// the segments it preceded in a handshake's record, and cut a 50 ms RTT
// to 40. Listeners read through a ring, whose tpacket_rcv stamps each
// frame as it passes. The SYN is sent right after Listen and read 40 ms
// later: its stamp must lie within the dial that sent it.
func TestTimestampIsWhenTheFramePassed(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	for round := range 3 {
		ln := listenOn(t, l, lab.Hc, nil)
		// A recvmsg(2) socket beside it may be handed the SYN unstamped;
		// then it must say so (Meta.Late), not pass the read off as the
		// kernel's time.
		var raw *rawsock.Conn
		if err := l.Do(lab.Hc, func() error {
			ifi, err := net.InterfaceByName(lab.HostIfc)
			if err == nil {
				raw, err = rawsock.Listen(ifi, &rawsock.Config{Meta: true})
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		before := time.Now()
		dialClosed(l)
		after := time.Now()
		time.Sleep(40 * time.Millisecond)
		p := capturedSYN(t, ln)
		buf := make([]byte, 2048)
		for {
			var m rawsock.Meta
			_ = raw.SetReadDeadline(time.Now().Add(time.Second))
			n, err := raw.RecvMeta(buf, &m)
			if err != nil {
				t.Fatalf("round %d: recvmsg socket: no SYN: %v", round, err)
			}
			var d craft.Decoded
			if d.DecodeFrame(buf[:n]) != nil || !m.Outgoing || !d.Has(craft.LayerTCP) || d.TCP.Flags != craft.TCPSyn {
				continue
			}
			if !m.Late && (m.Time.Before(before) || m.Time.After(after)) {
				t.Errorf("round %d: recvmsg socket: SYN stamped %v after the dial began, not Late", round, m.Time.Sub(before))
			}
			break
		}
		raw.Close()
		if p.Meta.Late {
			t.Errorf("round %d: the SYN came without a kernel timestamp", round)
		}
		if got := p.Meta.Time; got.Before(before) || got.After(after) {
			t.Errorf("round %d: SYN stamped %v after the dial began; the dial took %v: the stamp is not when it passed", round, got.Sub(before), after.Sub(before))
		}
		ln.Close()
	}
}
