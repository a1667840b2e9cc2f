package lab

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"golang.org/x/sys/unix"
)

// TestImpairReorder: every 10th datagram held 5 ms longer while the others
// pass at one a millisecond: exactly the held ones arrive behind a later
// one (the last held frame has nothing behind it to overtake it), none is
// lost, and the forwarder counts what it held.
func TestImpairReorder(t *testing.T) {
	l := ForTest(t, Config{})
	dl, err := l.StartForwarder(ToHs, Forwarding{Match: Match{Proto: 17, Port: 7010}, ReorderEvery: 10, ReorderHold: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Stop()
	statusHas(t, l, "hc→hs: reorder: every 10th of udp dport 7010 held 5ms more")
	got := blast(t, l, 7010, 1000, 64, 1000)
	st := dl.Stats()
	if len(got) != 1000 || st.Reordered != 100 {
		t.Fatalf("%d of 1000 datagrams arrived, %d held; want all, 100 held", len(got), st.Reordered)
	}
	late := map[uint32]bool{}
	var highest uint32
	for i, a := range got {
		if i > 0 && a.idx < highest {
			late[a.idx] = true
		}
		highest = max(highest, a.idx)
	}
	for idx := range late {
		if idx%10 != 9 {
			t.Errorf("datagram %d arrived out of order, but it was not held (every 10th: 9, 19, …)", idx)
		}
	}
	t.Logf("%d of 1000 out of order (%.1f%%); forwarder %+v", len(late), float64(len(late))/10, st)
	if len(late) < 97 || len(late) > 100 {
		t.Fatalf("%d datagrams out of order, want the 100 held (99 or 100: the last may be overtaken by none)", len(late))
	}
}

// inCsumErrors reads TcpInCsumErrors from /proc/net/snmp of the calling
// thread's network namespace.
func inCsumErrors(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/thread-self/net/snmp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "Tcp:" {
			continue
		}
		if names == nil {
			names = fields
			continue
		}
		for i, n := range names {
			if n == "InCsumErrors" && i < len(fields) {
				v, _ := strconv.Atoi(fields[i])
				return v
			}
		}
	}
	t.Fatal("no Tcp InCsumErrors in /proc/net/snmp")
	return 0
}

// TestImpairCorrupt: every 4th data segment of a real connection gets one
// bit flipped on the cable. At Hs each arrives with a bad TCP checksum (read
// off the wire), Hs's kernel drops each and counts it (TcpInCsumErrors, in
// Hs's namespace) — exactly as many as the forwarder corrupted — and TCP's
// retransmissions still deliver every byte intact.
func TestImpairCorrupt(t *testing.T) {
	l := ForTest(t, Config{})
	var before int
	var ln net.Listener
	var rx int
	if err := l.Do(Hs, func() (err error) {
		before = inCsumErrors(t)
		if ln, err = net.Listen("tcp4", "198.18.1.1:7020"); err != nil {
			return err
		}
		ifi, err := net.InterfaceByName(HostIfc)
		if err != nil {
			return err
		}
		rx, err = packetSocket(ifi.Index, true)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	defer unix.Close(rx)
	dl, err := l.StartForwarder(ToHs, Forwarding{Match: Match{Proto: 6, Port: 7020, MinLen: 53, FlagMask: 0x02}, CorruptEvery: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Stop()
	statusHas(t, l, "corrupt: one bit of every 4th of tcp dport 7020")
	// The wire at Hs, read while the transfer runs.
	bad := make(chan int, 1)
	go func() {
		n := 0
		buf := make([]byte, 2048)
		var d craft.Decoded
		end := time.Now().Add(4 * time.Second)
		for time.Now().Before(end) {
			k, err := unix.Read(rx, buf)
			if err != nil || k <= 0 {
				continue
			}
			_ = d.DecodeFrame(buf[:k]) // a bad checksum decodes still
			if !d.Has(craft.LayerTCP) || d.TCP.DstPort != 7020 {
				continue
			}
			for _, c := range d.Checksums(nil) {
				if c.Layer == craft.LayerTCP && c.Status == craft.ChecksumBad {
					n++
				}
			}
		}
		bad <- n
	}()
	data := make([]byte, 40000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(8 * time.Second))
		b, _ := io.ReadAll(c)
		got <- b
	}()
	if err := l.Do(Hc, func() error {
		c, err := net.Dial("tcp4", "198.18.1.1:7020")
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(8 * time.Second))
		_, err = c.Write(data)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("Hs read %d bytes; want the %d sent, intact", len(b), len(data))
	}
	wire := <-bad
	st := dl.Stats()
	var after int
	_ = l.Do(Hs, func() error { after = inCsumErrors(t); return nil })
	t.Logf("forwarder %+v; %d bad TCP checksums seen at Hs; TcpInCsumErrors %d → %d", st, wire, before, after)
	if st.Corrupted == 0 {
		t.Fatal("the forwarder corrupted nothing")
	}
	if wire != int(st.Corrupted) || after-before != int(st.Corrupted) {
		t.Fatalf("corrupted %d, bad checksums on the wire at Hs %d, Hs's kernel counted %d; want all equal", st.Corrupted, wire, after-before)
	}
}

func TestImpairForwardingBadValues(t *testing.T) {
	for _, f := range []Forwarding{{}, {ReorderEvery: 3}, {ReorderHold: time.Millisecond}, {CorruptEvery: -1}, {Delay: 11 * time.Second}, {Delay: -1}} {
		if err := f.validate(); !errors.Is(err, ErrImpair) {
			t.Errorf("%+v: %v, want ErrImpair", f, err)
		}
	}
}
