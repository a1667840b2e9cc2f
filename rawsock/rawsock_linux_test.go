package rawsock_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/rawsock"
	"golang.org/x/net/bpf"
)

func TestMain(m *testing.M) { os.Exit(lab.RunTests(m)) }

// capture opens an AF_PACKET socket on host's eth0.
func capture(t *testing.T, l *lab.Lab, host string, cfg *rawsock.Config) *rawsock.Conn {
	t.Helper()
	var c *rawsock.Conn
	err := l.Do(host, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		c, err = rawsock.Listen(ifi, cfg)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// next returns the next frame for which keep is true, or nil after wait.
func next(t *testing.T, c *rawsock.Conn, wait time.Duration, keep func(*craft.Decoded, []byte) bool) []byte {
	t.Helper()
	buf := make([]byte, 9000)
	deadline := time.Now().Add(wait)
	var d craft.Decoded
	for time.Now().Before(deadline) {
		_ = c.SetReadDeadline(deadline)
		n, err := c.Recv(buf)
		if err != nil {
			return nil
		}
		_ = d.DecodeFrame(buf[:n])
		if keep(&d, buf[:n]) {
			return append([]byte(nil), buf[:n]...)
		}
	}
	return nil
}

func fromHc(d *craft.Decoded, _ []byte) bool {
	return d.Has(craft.LayerEthernet) && d.Ethernet.Src == lab.MACHc && d.Ethernet.Type.Or(0) == craft.EtherTypeIPv4
}

func resolveFromHc(t *testing.T, l *lab.Lab, dst string) (rawsock.Route, *rawsock.Conn) {
	t.Helper()
	var rt rawsock.Route
	var c *rawsock.Conn
	err := l.Do(lab.Hc, func() error {
		var err error
		rt, err = rawsock.Resolve(mustAddr(dst), nil)
		if err != nil {
			return err
		}
		c, err = rawsock.Listen(rt.Iface, &rawsock.Config{SendOnly: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return rt, c
}

// An AF_PACKET capture in Hs receives exactly the bytes sent from Hc, the
// deliberately wrong ones included.
func TestPacketSendsExactBytes(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	rt, tx := resolveFromHc(t, l, "198.18.1.1")
	if rt.DstMAC != lab.MACHs || rt.SrcMAC != lab.MACHc || rt.Src != lab.AddrHc || rt.Gateway || rt.How != "ARP" {
		t.Fatalf("route %+v: want Hs's MAC by ARP from an empty neighbour table", rt)
	}
	rx := capture(t, l, lab.Hs, nil)
	eth := &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC}
	cases := []struct {
		desc string
		p    craft.Packet
	}{
		{"SYN", craft.Packet{IPv4: &craft.IPv4{ID: 1, Src: lab.AddrHc, Dst: lab.AddrHs}, TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Flags: craft.TCPSyn, Options: craft.AppendTCPOptMSS(nil, 1460)}}},
		{"bad IPv4 checksum", craft.Packet{IPv4: &craft.IPv4{ID: 2, Src: lab.AddrHc, Dst: lab.AddrHs, Checksum: craft.Set[uint16](0xdead)}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}, Payload: []byte("x")}},
		{"bad TCP checksum", craft.Packet{IPv4: &craft.IPv4{ID: 3, Src: lab.AddrHc, Dst: lab.AddrHs}, TCP: &craft.TCP{SrcPort: 1, DstPort: 2, Flags: craft.TCPSyn, Checksum: craft.Set[uint16](0xbeef)}}},
		{"evil bit", craft.Packet{IPv4: &craft.IPv4{ID: 4, Flags: craft.FlagEvil, Src: lab.AddrHc, Dst: lab.AddrHs}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}, Payload: bytes.Repeat([]byte("E"), 100)}},
		{"total length lies", craft.Packet{IPv4: &craft.IPv4{ID: 5, TotalLen: craft.Set[uint16](1000), Src: lab.AddrHc, Dst: lab.AddrHs}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}, Payload: []byte("short")}},
	}
	for _, c := range cases {
		c.p.Ethernet = eth
		frame, err := c.p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Send(frame); err != nil {
			t.Fatal(err)
		}
		got := next(t, rx, 2*time.Second, fromHc)
		want := frame
		if len(want) < craft.MinFrameLen {
			want = append(append([]byte(nil), frame...), make([]byte, craft.MinFrameLen-len(frame))...)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: Hs captured\n %x\nHc sent\n %x", c.desc, got, want)
		}
	}
}

// Via ip, the kernel fills the checksum, the total length, a zero ID and a
// zero source, exactly as KernelRewrites says, and nothing else changes.
func TestIPConnKernelRewrites(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	rx := capture(t, l, lab.Hs, nil)
	var tx *rawsock.IPConn
	if err := l.Do(lab.Hc, func() (err error) { tx, err = rawsock.ListenIP(""); return err }); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	p := craft.Packet{
		IPv4:    &craft.IPv4{ID: 0, TOS: 0x10, Flags: craft.FlagEvil, TTL: craft.Set[uint8](9), Checksum: craft.Set[uint16](0xdead), TotalLen: craft.Set[uint16](999), Dst: lab.AddrHs},
		UDP:     &craft.UDP{SrcPort: 40000, DstPort: 9, Checksum: craft.Set[uint16](0x1234)},
		Payload: []byte("rewrite me"),
	}
	dg, _ := p.Append(nil)
	rw := rawsock.KernelRewrites(dg)
	fields := map[string]bool{}
	for _, r := range rw {
		fields[r.Field] = true
	}
	for _, f := range []string{"total length", "header checksum", "identification", "source address"} {
		if !fields[f] {
			t.Errorf("KernelRewrites does not name %s: %+v", f, rw)
		}
	}
	// With DF set, a zero ID stays zero.
	df := craft.Packet{IPv4: &craft.IPv4{ID: 0, Flags: craft.FlagDF, Src: lab.AddrHc, Dst: lab.AddrHs}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 9}, Payload: []byte("atomic")}
	dfb, _ := df.Append(nil)
	if _, err := tx.Send(dfb); err != nil {
		t.Fatal(err)
	}
	var d craft.Decoded
	if f := next(t, rx, 2*time.Second, fromHc); f == nil || d.DecodeFrame(f) != nil || d.IPv4.ID != 0 || string(d.Payload) != "atomic" {
		t.Errorf("DF datagram with ID 0: arrived with ID %d (%q)", d.IPv4.ID, d.Payload)
	}
	for _, r := range rawsock.KernelRewrites(dfb) {
		if r.Field == "identification" && r.To != "0" {
			t.Errorf("KernelRewrites says a DF datagram's zero ID becomes %q", r.To)
		}
	}
	if _, err := tx.Send(dg); err != nil {
		t.Fatal(err)
	}
	frame := next(t, rx, 2*time.Second, fromHc)
	if frame == nil {
		t.Fatal("nothing arrived at Hs")
	}
	got := frame[craft.EthernetLen : craft.EthernetLen+len(dg)]
	if err := d.DecodeIP(got); err != nil {
		t.Fatal(err)
	}
	if v, _ := d.IPv4.TotalLen.Get(); int(v) != len(dg) {
		t.Errorf("total length %d, want %d (filled by the kernel)", v, len(dg))
	}
	if d.IPv4.ID == 0 {
		t.Error("identification still 0: the kernel fills it")
	}
	if d.IPv4.Src != lab.AddrHc {
		t.Errorf("source %v, want Hc's address filled in", d.IPv4.Src)
	}
	if c := d.Checksums(nil); c[0].Status != craft.ChecksumGood {
		t.Errorf("header checksum %v: the kernel computes it", c[0])
	}
	// Everything else is as built: TOS, flags, TTL, protocol, destination,
	// and the whole UDP datagram with its forced checksum.
	same := func(off, n int, what string) {
		if !bytes.Equal(got[off:off+n], dg[off:off+n]) {
			t.Errorf("%s changed: %x → %x", what, dg[off:off+n], got[off:off+n])
		}
	}
	same(0, 2, "version, IHL, TOS")
	same(6, 4, "flags, fragment offset, TTL, protocol")
	same(16, 4, "destination")
	same(20, len(dg)-20, "UDP datagram")
}

// Hs's kernel answers a SYN to a closed port with RST|ACK, and a UDP
// datagram to a closed port with ICMP port unreachable quoting it.
func TestPeerKernelAnswers(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	rt, tx := resolveFromHc(t, l, "198.18.1.1")
	rx := capture(t, l, lab.Hc, nil)
	eth := &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC}
	fromHs := func(d *craft.Decoded, _ []byte) bool {
		return d.Has(craft.LayerIPv4) && d.IPv4.Src == lab.AddrHs
	}

	syn := craft.Packet{Ethernet: eth, IPv4: &craft.IPv4{ID: 7, Src: lab.AddrHc, Dst: lab.AddrHs}, TCP: &craft.TCP{SrcPort: 40001, DstPort: 9999, Seq: 1000, Flags: craft.TCPSyn, Window: 64240}}
	f, _ := syn.Append(nil)
	if _, err := tx.Send(f); err != nil {
		t.Fatal(err)
	}
	reply := next(t, rx, 2*time.Second, fromHs)
	var d craft.Decoded
	if reply == nil || d.DecodeFrame(reply) != nil || !d.Has(craft.LayerTCP) {
		t.Fatalf("no TCP reply from Hs: %x", reply)
	}
	r := d.TCP
	if r.Flags != craft.TCPRst|craft.TCPAck || r.SrcPort != 9999 || r.DstPort != 40001 || r.Ack != 1001 || r.Seq != 0 || r.Window != 0 || d.IPv4.Dst != lab.AddrHc {
		t.Errorf("RST|ACK %+v, want RST|ACK 9999→40001 seq 0 ack 1001 win 0", r)
	}
	for _, c := range d.Checksums(nil) {
		if c.Status != craft.ChecksumGood {
			t.Errorf("RST %v checksum %v", c.Layer, c.Status)
		}
	}

	udp := craft.Packet{Ethernet: eth, IPv4: &craft.IPv4{ID: 0x4242, Src: lab.AddrHc, Dst: lab.AddrHs}, UDP: &craft.UDP{SrcPort: 40002, DstPort: 9999}, Payload: []byte("Hello\n")}
	f, _ = udp.Append(nil)
	if _, err := tx.Send(f); err != nil {
		t.Fatal(err)
	}
	reply = next(t, rx, 2*time.Second, func(d *craft.Decoded, b []byte) bool { return fromHs(d, b) && d.Has(craft.LayerICMP) })
	if reply == nil || d.DecodeFrame(reply) != nil {
		t.Fatalf("no ICMP from Hs: %x", reply)
	}
	q := d.Quoted
	if d.ICMP.Type != craft.ICMPUnreachable || d.ICMP.Code != craft.CodePortUnreachable || d.ICMP.Rest != 0 ||
		q.Layers&craft.LayerUDP == 0 || q.IPv4.ID != 0x4242 || q.IPv4.Src != lab.AddrHc || q.IPv4.Dst != lab.AddrHs ||
		q.UDP.SrcPort != 40002 || q.UDP.DstPort != 9999 || string(q.Payload) != "Hello\n" {
		t.Errorf("ICMP %d/%d quoting id %#x %v:%d→%v:%d %q", d.ICMP.Type, d.ICMP.Code, q.IPv4.ID, q.IPv4.Src, q.UDP.SrcPort, q.IPv4.Dst, q.UDP.DstPort, q.Payload)
	}
	sent := f[craft.EthernetLen:]
	if !bytes.Equal(d.Payload, sent) {
		t.Errorf("Linux quotes the whole short datagram: got %x, sent %x", d.Payload, sent)
	}
	for _, c := range d.Checksums(nil) {
		if c.Status != craft.ChecksumGood {
			t.Errorf("ICMP reply %v (quoted %v) checksum %v", c.Layer, c.Quoted, c.Status)
		}
	}
}

// In the routed variant a frame to Hf goes to R's MAC.
func TestRoutedNextHop(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Routed: true})
	rt, tx := resolveFromHc(t, l, "198.18.2.2")
	if !rt.Gateway || rt.NextHop != lab.AddrR1 || rt.DstMAC != lab.MACR1 {
		t.Fatalf("route to Hf %+v: want gateway R (198.18.1.254, %v)", rt, lab.MACR1)
	}
	rx := capture(t, l, lab.Hf, nil)
	p := craft.Packet{Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC}, IPv4: &craft.IPv4{ID: 9, TTL: craft.Set[uint8](5), Src: lab.AddrHc, Dst: lab.AddrHf}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}, Payload: []byte("far")}
	f, _ := p.Append(nil)
	if _, err := tx.Send(f); err != nil {
		t.Fatal(err)
	}
	got := next(t, rx, 2*time.Second, func(d *craft.Decoded, _ []byte) bool { return d.Has(craft.LayerUDP) && d.IPv4.ID == 9 })
	var d craft.Decoded
	if got == nil || d.DecodeFrame(got) != nil {
		t.Fatal("Hf saw nothing")
	}
	if d.Ethernet.Src != lab.MACR2 || d.IPv4.TTL.Or(0) != 4 || string(d.Payload) != "far" {
		t.Errorf("at Hf: from %v TTL %d payload %q; want from R's eth1 with TTL 4", d.Ethernet.Src, d.IPv4.TTL.Or(0), d.Payload)
	}
}

// Pulling the S1–S2 cable stops crafted frames; plugging it back resumes them.
func TestBreakRestore(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	rt, tx := resolveFromHc(t, l, "198.18.1.1")
	rx := capture(t, l, lab.Hs, nil)
	send := func(id uint16) bool {
		p := craft.Packet{Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC}, IPv4: &craft.IPv4{ID: id, Src: lab.AddrHc, Dst: lab.AddrHs}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}}
		f, _ := p.Append(nil)
		if _, err := tx.Send(f); err != nil {
			t.Fatal(err)
		}
		return next(t, rx, 400*time.Millisecond, func(d *craft.Decoded, _ []byte) bool { return fromHc(d, nil) && d.IPv4.ID == id }) != nil
	}
	if !send(1) {
		t.Fatal("not delivered before the break")
	}
	if err := l.Break(); err != nil {
		t.Fatal(err)
	}
	if send(2) {
		t.Fatal("delivered across a pulled cable")
	}
	if err := l.Restore(); err != nil {
		t.Fatal(err)
	}
	ok := false
	for id := uint16(3); id < 10 && !ok; id++ {
		ok = send(id)
	}
	if !ok {
		t.Fatal("not delivered after restore")
	}
}

func TestARPTimesOut(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	err := l.Do(lab.Hc, func() error {
		start := time.Now()
		_, err := rawsock.Resolve(mustAddr("198.18.1.77"), &rawsock.ResolveConfig{ARPWait: 100 * time.Millisecond, ARPTries: 2})
		if el := time.Since(start); el > time.Second {
			t.Errorf("ARP waited %v, bound is 2 × 100 ms", el)
		}
		return err
	})
	if err == nil {
		t.Fatal("an address nobody has resolved")
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// senderOnHc opens a Sender in Hc toward rt's interface.
func senderOnHc(t *testing.T, l *lab.Lab, rt rawsock.Route, cfg *rawsock.SenderConfig) *rawsock.Sender {
	t.Helper()
	var s *rawsock.Sender
	if err := l.Do(lab.Hc, func() (err error) {
		s, err = rawsock.NewSender(rt.Iface, cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A batch arrives whole and in order, padded where short.
func TestSendBatch(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	rt, _ := resolveFromHc(t, l, "198.18.1.1")
	tx := senderOnHc(t, l, rt, &rawsock.SenderConfig{QdiscBypass: true})
	rx := capture(t, l, lab.Hs, &rawsock.Config{ReadBuffer: 4 << 20}) // room for the whole batch
	var frames [][]byte
	for i := 0; i < rawsock.MaxBatch; i++ {
		f, _ := (&craft.Packet{Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC}, IPv4: &craft.IPv4{ID: uint16(1000 + i), Src: lab.AddrHc, Dst: lab.AddrHs},
			UDP: &craft.UDP{SrcPort: 1, DstPort: 2}, Payload: make([]byte, i)}).Append(nil)
		frames = append(frames, f)
	}
	n, err := tx.SendBatch(frames)
	if err != nil || n != len(frames) {
		t.Fatalf("SendBatch: %d of %d, %v", n, len(frames), err)
	}
	for i := 0; i < len(frames); i++ {
		got := next(t, rx, time.Second, fromHc)
		var d craft.Decoded
		if got == nil || d.DecodeFrame(got) != nil || d.IPv4.ID != uint16(1000+i) || !bytes.HasPrefix(got, frames[i]) || len(got) < craft.MinFrameLen {
			t.Fatalf("frame %d: got %x", i, got)
		}
	}
	if a := testing.AllocsPerRun(20, func() { _, _ = tx.SendBatch(frames) }); a != 0 {
		t.Errorf("SendBatch allocates %v times", a)
	}
	if n, err := tx.SendBatch([][]byte{frames[0], make([]byte, 13)}); err == nil || n != 0 {
		t.Errorf("a 13-byte frame in a batch: sent %d, err %v; want an error before anything is sent", n, err)
	}
}

// Frames put into the TX ring arrive whole and in order.
func TestTxRing(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	rt, _ := resolveFromHc(t, l, "198.18.1.1")
	ring, err := rawsock.NewTxRing(senderOnHc(t, l, rt, nil), 512, 1514)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	rx := capture(t, l, lab.Hs, &rawsock.Config{ReadBuffer: 8 << 20})
	const n = 1500 // three times round the ring
	for i := 0; i < n; i++ {
		f, _ := (&craft.Packet{Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC}, IPv4: &craft.IPv4{ID: uint16(i), Src: lab.AddrHc, Dst: lab.AddrHs},
			UDP: &craft.UDP{SrcPort: 1, DstPort: 2}, Payload: make([]byte, i%100)}).Append(nil)
		if err := ring.Put(f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if i%64 == 63 {
			if err := ring.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := ring.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		got := next(t, rx, time.Second, fromHc)
		var d craft.Decoded
		if got == nil || d.DecodeFrame(got) != nil || d.IPv4.ID != uint16(i) || len(d.Payload) != i%100 {
			t.Fatalf("frame %d: got %x", i, got)
		}
	}
}

// fromHcFilter passes IPv4 frames from Hc's address: a capture that counts
// exactly what a test sent.
func fromHcFilter(t *testing.T) []bpf.RawInstruction {
	t.Helper()
	a := lab.AddrHc.As4()
	f, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(craft.EtherTypeIPv4), SkipTrue: 3},
		bpf.LoadAbsolute{Off: 26, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: binary.BigEndian.Uint32(a[:]), SkipTrue: 1},
		bpf.RetConstant{Val: 1 << 16},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A ring capture reads every frame whole and in order, with the kernel's
// timestamps and direction; what it cannot hold is dropped and counted,
// never lost silently: captured + dropped = sent.
func TestRxRing(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	rt, _ := resolveFromHc(t, l, "198.18.1.1")
	tx := senderOnHc(t, l, rt, nil)
	// 1 MiB: four blocks of 256 KiB.
	rx := capture(t, l, lab.Hs, &rawsock.Config{Ring: true, ReadBuffer: 1 << 20, Filter: fromHcFilter(t)})
	own := capture(t, l, lab.Hc, &rawsock.Config{Ring: true, Filter: fromHcFilter(t)})
	build := func(id, size int) []byte {
		f, _ := (&craft.Packet{Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC}, IPv4: &craft.IPv4{ID: uint16(id), Src: lab.AddrHc, Dst: lab.AddrHs},
			UDP: &craft.UDP{SrcPort: 1, DstPort: 2}, Payload: bytes.Repeat([]byte{byte(id)}, size)}).Append(nil)
		return f
	}
	send := func(first, n int) {
		t.Helper()
		var batch [][]byte
		for i := first; i < first+n; i++ {
			batch = append(batch, build(i, i%100))
			if len(batch) == rawsock.MaxBatch || i == first+n-1 {
				for rest := batch; len(rest) > 0; {
					m, err := tx.SendBatch(rest)
					if err != nil {
						t.Fatal(err)
					}
					rest = rest[m:]
				}
				batch = batch[:0]
			}
		}
	}
	start := time.Now()
	const n = 3000 // about 0.4 MiB in the ring: it all fits
	send(0, n)
	buf := make([]byte, 2048)
	var m rawsock.Meta
	for i := 0; i < n; i++ {
		_ = rx.SetReadDeadline(time.Now().Add(time.Second))
		k, err := rx.RecvMeta(buf, &m)
		want := build(i, i%100)
		if err != nil || !bytes.HasPrefix(buf[:k], want) || k < craft.MinFrameLen || m.Len != k || m.Outgoing {
			t.Fatalf("frame %d: %v: got %x (len %d, meta %+v), want %x", i, err, buf[:k], k, m, want)
		}
		if m.Time.Before(start) || m.Time.After(time.Now()) {
			t.Fatalf("frame %d: kernel time %v outside the test (started %v)", i, m.Time, start)
		}
	}
	if p, d, err := rx.Stats(); err != nil || p != n || d != 0 {
		t.Fatalf("stats: %d frames, %d dropped, %v; want %d, 0", p, d, err, n)
	}
	// Hc's own ring sees the same frames going out.
	_ = own.SetReadDeadline(time.Now().Add(time.Second))
	if k, err := own.RecvMeta(buf, &m); err != nil || !m.Outgoing || !bytes.HasPrefix(buf[:k], build(0, 0)) {
		t.Fatalf("Hc's own capture: %v, outgoing %v, %x", err, m.Outgoing, buf[:k])
	}

	// Now far more than the ring holds, unread while it arrives.
	const flood = 50000
	send(n, flood)
	time.Sleep(3 * rawsock.RingBlockTimeout) // the last block is handed over
	got, last := 0, -1
	for {
		k, err := rx.RecvMetaNow(buf, &m)
		if err == rawsock.ErrWouldBlock {
			break
		}
		var d craft.Decoded
		if err != nil || d.DecodeFrame(buf[:k]) != nil || int(d.IPv4.ID) <= last {
			t.Fatalf("after %d frames: %v, %x", got, err, buf[:k])
		}
		last = int(d.IPv4.ID)
		got++
	}
	p, d, err := rx.Stats()
	if err != nil || p != flood || d == 0 || uint64(got) != p-d {
		t.Fatalf("flood of %d: kernel counted %d frames, %d dropped, %v; read %d (want every frame counted, some dropped, the rest read)", flood, p, d, err, got)
	}
	t.Logf("flood of %d into a 1 MiB ring, unread: %d read, %d dropped and counted", flood, got, d)
}

// Closing a ring capture from another goroutine wakes its reader with an
// error — while it waits, or while frames stream in — and never pulls the
// ring from under a copy in progress.
func TestRxRingCloseWhileReading(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	rt, _ := resolveFromHc(t, l, "198.18.1.1")
	tx := senderOnHc(t, l, rt, nil)
	f, _ := (&craft.Packet{Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC}, IPv4: &craft.IPv4{Src: lab.AddrHc, Dst: lab.AddrHs},
		UDP: &craft.UDP{SrcPort: 1, DstPort: 2}}).Append(nil)
	batch := make([][]byte, rawsock.MaxBatch)
	for i := range batch {
		batch[i] = f
	}
	for round, flood := range []bool{false, true, true, true} {
		rx := capture(t, l, lab.Hs, &rawsock.Config{Ring: true, Filter: fromHcFilter(t)})
		read := make(chan error, 1)
		go func() {
			buf := make([]byte, 2048)
			var m rawsock.Meta
			for {
				if _, err := rx.RecvMeta(buf, &m); err != nil {
					read <- err
					return
				}
			}
		}()
		if flood {
			for i := 0; i < 20; i++ {
				if _, err := tx.SendBatch(batch); err != nil {
					t.Fatal(err)
				}
			}
		}
		time.Sleep(time.Duration(round) * 5 * time.Millisecond)
		rx.Close()
		select {
		case err := <-read:
			if err == nil {
				t.Fatalf("round %d: the reader ended without an error", round)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("round %d: the reader still waits 2 s after Close", round)
		}
	}
}

// Flooding allocates nothing per packet: memory stays flat.
func TestFloodMemoryFlat(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var n uint64
	var grew uint64
	if err := l.Do(lab.Hc, func() error {
		rt, err := rawsock.Resolve(lab.AddrHs, nil)
		if err != nil {
			return err
		}
		tmpl, err := (&craft.Packet{Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC}, IPv4: &craft.IPv4{ID: 1, Src: lab.AddrHc, Dst: lab.AddrHs},
			UDP: &craft.UDP{SrcPort: 9, DstPort: 9}}).Template(nil)
		if err != nil {
			return err
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		n, _, err = rawsock.Flood(rt.Iface, rawsock.FloodConfig{Packet: []craft.Template{tmpl}, Count: 200_000, Workers: 1})
		runtime.ReadMemStats(&after)
		grew = after.TotalAlloc - before.TotalAlloc
		return err
	}); err != nil || n != 200_000 {
		t.Fatalf("sent %d: %v", n, err)
	}
	if grew > 256<<10 {
		t.Errorf("sending 200 000 packets allocated %d bytes: not flat", grew)
	}
}

// On a NOARP interface Resolve picks the MAC Linux itself sends to: the
// interface's own, or the neighbour entry set by hand. The oracle is the
// kernel's own datagram to the same address, captured as it leaves.
func TestResolveNOARPAsLinuxSends(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	run := func(args ...string) {
		t.Helper()
		if err := l.Do(lab.Hc, func() error {
			out, err := exec.Command("ip", args...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("ip %v: %v: %s", args, err, out)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	run("link", "set", lab.HostIfc, "arp", "off")
	run("neigh", "flush", "dev", lab.HostIfc)
	kernelSends := func() craft.MAC {
		t.Helper()
		c := capture(t, l, lab.Hc, nil)
		if err := l.Do(lab.Hc, func() error {
			u, err := net.Dial("udp4", lab.AddrHs.String()+":9")
			if err != nil {
				return err
			}
			defer u.Close()
			_, err = u.Write([]byte("x"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		f := next(t, c, 2*time.Second, func(d *craft.Decoded, _ []byte) bool {
			return fromHc(d, nil) && d.Has(craft.LayerUDP) && d.UDP.DstPort == 9
		})
		if f == nil {
			t.Fatal("the kernel's datagram to Hs was not seen leaving Hc")
		}
		var m craft.MAC
		copy(m[:], f[:6])
		return m
	}
	for _, c := range []struct {
		name string
		set  func()
		want craft.MAC
	}{
		{"no entry", func() {}, lab.MACHc},
		{"entry set by hand", func() {
			run("neigh", "replace", lab.AddrHs.String(), "lladdr", lab.MACHs.String(), "nud", "permanent", "dev", lab.HostIfc)
		}, lab.MACHs},
	} {
		c.set()
		rt, _ := resolveFromHc(t, l, lab.AddrHs.String())
		kernel := kernelSends()
		if kernel != c.want {
			t.Fatalf("%s: precondition: the kernel sent to %v, expected %v", c.name, kernel, c.want)
		}
		if rt.DstMAC != kernel || !strings.HasPrefix(rt.How, "NOARP") {
			t.Errorf("%s: Resolve chose %v (%s); Linux sends to %v", c.name, rt.DstMAC, rt.How, kernel)
		}
	}
}
