package rawsock_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/rawsock"
	"golang.org/x/sys/unix"
)

// open6 opens a Tx toward dst in ns.
func open6(t *testing.T, ns string, dst netip.Addr, via rawsock.Via) *rawsock.Tx {
	t.Helper()
	var tx *rawsock.Tx
	if err := lab.DoIn(ns, func() (err error) { tx, err = rawsock.Open(dst, via, nil); return err }); err != nil {
		t.Fatalf("open %v via %v: %v", dst, via, err)
	}
	t.Cleanup(func() { tx.Close() })
	return tx
}

// Toward the host's own IPv6 address, a ViaPacket Tx sends the frame's
// datagram through a raw IPv6 socket (Route.Datagrams), and the kernel
// answers on lo as it does for IPv4.
func TestLoopback6(t *testing.T) {
	p := newPair6(t)
	tx := open6(t, p.Client, netip.IPv6Loopback(), rawsock.ViaPacket)
	var rx *rawsock.Conn
	if err := p.Do(p.Client, func() error {
		lo, err := net.InterfaceByName("lo")
		if err != nil {
			return err
		}
		rx, err = rawsock.Listen(lo, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	pk := craft.Packet{Ethernet: tx.Ethernet(), IPv6: &craft.IPv6{Src: netip.IPv6Loopback(), Dst: netip.IPv6Loopback()}, UDP: &craft.UDP{SrcPort: 40006, DstPort: 9998}, Payload: []byte("lo6")}
	f, err := pk.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := tx.Send(f); err != nil || n != len(f) {
		t.Fatalf("send: %d, %v", n, err)
	}
	reply := next6(t, rx, 2*time.Second, func(d *craft.Decoded) bool {
		return d.Has(craft.LayerICMPv6) && d.ICMPv6.Type == craft.ICMPv6Unreachable
	})
	var d = craft.Decoded{AcceptIPv6: true}
	if reply == nil || d.DecodeFrame(reply) != nil || d.ICMPv6.Code != craft.CodeV6PortUnreachable || d.Quoted.UDP.DstPort != 9998 || string(d.Quoted.Payload) != "lo6" {
		t.Fatalf("no port unreachable on lo: %x", reply)
	}
}

// Via packet and via ip, an IPv6 UDP datagram and a TCP SYN arrive at the
// peer byte for byte as built: the whole frame via packet, the datagram
// via ip, where the kernel rewrites nothing (KernelRewrites6).
func TestSend6ExactBytes(t *testing.T) {
	p := newPair6(t)
	at := sniff(t, p.Server, filtered(t, rawsock.HostFilter, v6Client))
	for _, via := range []rawsock.Via{rawsock.ViaPacket, rawsock.ViaIP} {
		tx := open6(t, p.Client, v6Server, via)
		if rt := tx.Route(); rt.Src != v6Client || rt.Iface == nil || rt.Iface.Name != lab.PairIfc {
			t.Errorf("via %v: route %+v", via, rt)
		}
		for i, pk := range []craft.Packet{
			{IPv6: &craft.IPv6{TrafficClass: 0x28, FlowLabel: 0xbeef1, Src: v6Client, Dst: v6Server}, UDP: &craft.UDP{SrcPort: 40000 + uint16(via), DstPort: 9998}, Payload: []byte("Hello\n")},
			{IPv6: &craft.IPv6{Src: v6Client, Dst: v6Server}, TCP: &craft.TCP{SrcPort: 41000 + uint16(via), DstPort: 9998, Seq: 1000, Flags: craft.TCPSyn, Window: 64240, Options: craft.AppendTCPOptMSS(nil, 1440)}},
		} {
			pk.Ethernet = tx.Ethernet()
			b, err := pk.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			sent := b
			if via == rawsock.ViaIP {
				if pk.Ethernet != nil {
					t.Fatalf("via ip: an Ethernet header %+v", pk.Ethernet)
				}
				if rw := rawsock.KernelRewrites(b); rw != nil {
					t.Errorf("via ip: KernelRewrites %+v for IPv6", rw)
				}
				eth := append(append(p.serverMAC[:], p.clientMAC[:]...), 0x86, 0xdd)
				sent = append(eth, b...)
			}
			if n, err := tx.Send(b); err != nil || n != len(b) {
				t.Fatalf("via %v, packet %d: sent %d, %v", via, i, n, err)
			}
			sport := uint16(0)
			if pk.UDP != nil {
				sport = pk.UDP.SrcPort
			} else {
				sport = pk.TCP.SrcPort
			}
			got := next6(t, at, 2*time.Second, func(d *craft.Decoded) bool {
				return (d.Has(craft.LayerUDP) && d.UDP.SrcPort == sport) || (d.Has(craft.LayerTCP) && d.TCP.SrcPort == sport)
			})
			if !bytes.Equal(got, sent) {
				t.Errorf("via %v, packet %d: the server captured\n %x\nthe client sent\n %x", via, i, got, sent)
			}
		}
	}
	// A raw IPv6 socket takes no IPv4 datagram, and no datagram larger than
	// the link: EMSGSIZE, with what to do.
	tx := open6(t, p.Client, v6Server, rawsock.ViaIP)
	small, _ := (&craft.Packet{IPv6: &craft.IPv6{Src: v6Client, Dst: v6Server}, UDP: &craft.UDP{SrcPort: 1, DstPort: 9998}}).Append(nil)
	if a := testing.AllocsPerRun(20, func() { _, _ = tx.Send(small) }); a != 0 {
		t.Errorf("sending via ip allocates %v times a datagram", a)
	}
	dg4, _ := (&craft.Packet{IPv4: &craft.IPv4{Src: lab.PairClient, Dst: lab.PairServer}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}, Payload: make([]byte, 40)}).Append(nil)
	if _, err := tx.Send(dg4); err == nil {
		t.Error("an IPv4 datagram sent through a raw IPv6 socket")
	}
	big, _ := (&craft.Packet{IPv6: &craft.IPv6{Src: v6Client, Dst: v6Server}, UDP: &craft.UDP{SrcPort: 1, DstPort: 9998}, Payload: make([]byte, 1500-48+1)}).Append(nil)
	if _, err := tx.Send(big); !errors.Is(err, unix.EMSGSIZE) || !strings.Contains(err.Error(), "fragment") || strings.Contains(err.Error(), "\n") {
		t.Errorf("1501 bytes on a 1500-byte link: %v; want EMSGSIZE saying to fragment", err)
	}
	fits, _ := (&craft.Packet{IPv6: &craft.IPv6{Src: v6Client, Dst: v6Server}, UDP: &craft.UDP{SrcPort: 1, DstPort: 9998}, Payload: make([]byte, 1500-48)}).Append(nil)
	if _, err := tx.Send(fits); err != nil {
		t.Errorf("1500 bytes on a 1500-byte link: %v", err)
	}
}

// Via ip, what the kernel does to IPv6 headers that lie: nothing. Payload
// length, a :: source, hop limit 0, the flow label, a version other than
// 6 and wrong transport checksums all arrive as built — what
// KernelRewrites6 says, checked against the kernel.
func TestIPConn6KernelRewrites(t *testing.T) {
	p := newPair6(t)
	at := sniff(t, p.Server, nil)
	var tx *rawsock.IPConn
	if err := p.Do(p.Client, func() (err error) { tx, err = rawsock.ListenIP6(""); return err }); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for i, pk := range []craft.Packet{
		{IPv6: &craft.IPv6{TrafficClass: 0xb8, FlowLabel: 0x12345, PayloadLen: craft.Set[uint16](999), HopLimit: craft.Set[uint8](0), Dst: v6Server},
			UDP: &craft.UDP{SrcPort: 42000, DstPort: 9998, Checksum: craft.Set[uint16](0x1234)}, Payload: []byte("lies")},
		{IPv6: &craft.IPv6{PayloadLen: craft.Set[uint16](0), Src: v6Client, Dst: v6Server}, UDP: &craft.UDP{SrcPort: 42001, DstPort: 9998, Checksum: craft.Set[uint16](0)}, Payload: []byte("zero")},
		{IPv6: &craft.IPv6{Version: craft.Set[uint8](5), Src: netip.MustParseAddr("2001:2:0:9::9"), Dst: v6Server}, UDP: &craft.UDP{SrcPort: 42002, DstPort: 9998}, Payload: []byte("v5")},
		{IPv6: &craft.IPv6{Src: v6Client, Dst: v6Server}, TCP: &craft.TCP{SrcPort: 42003, DstPort: 9998, Flags: craft.TCPSyn, Checksum: craft.Set[uint16](0xbeef)}},
	} {
		dg, err := pk.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		if rw := rawsock.KernelRewrites6(dg); rw != nil {
			t.Fatalf("KernelRewrites6: %+v", rw)
		}
		if _, err := tx.Send(dg); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		got := next6(t, at, 2*time.Second, func(d *craft.Decoded) bool {
			return d.Ethernet.Src == p.clientMAC && d.Ethernet.Type.Or(0) == craft.EtherTypeIPv6 && bytes.Equal(d.Raw[craft.EthernetLen:], dg)
		})
		if got == nil {
			t.Errorf("datagram %d did not arrive byte for byte:\n %x", i, dg)
		}
	}
}

// The peer's kernel answers our IPv6 SYN to a closed port with RST|ACK,
// and our UDP datagram to a closed port with ICMPv6 port unreachable
// (type 1 code 4) quoting it; both decode with craft.
func TestPeerKernelAnswers6(t *testing.T) {
	p := newPair6(t)
	tx := open6(t, p.Client, v6Server, rawsock.ViaPacket)
	var rx *rawsock.Conn
	if err := p.Do(p.Client, func() error {
		prog, err := rawsock.HostFilter(v6Client)
		if err != nil {
			return err
		}
		ifi, err := net.InterfaceByName(lab.PairIfc)
		if err != nil {
			return err
		}
		rx, err = rawsock.Listen(ifi, &rawsock.Config{Filter: prog, Meta: true})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	// reply returns the next frame from the server that keep accepts, and
	// whether its transport checksum was left to the NIC (the pair keeps
	// the veth's offloads).
	reply := func(keep func(*craft.Decoded) bool) (*craft.Decoded, bool) {
		buf := make([]byte, 2048)
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			_ = rx.SetReadDeadline(deadline)
			var m rawsock.Meta
			n, err := rx.RecvMeta(buf, &m)
			if err != nil {
				return nil, false
			}
			d := &craft.Decoded{AcceptIPv6: true}
			if d.DecodeFrame(append([]byte(nil), buf[:n]...)) == nil && d.Has(craft.LayerIPv6) && d.IPv6.Src == v6Server && keep(d) {
				return d, m.ChecksumPartial
			}
		}
		return nil, false
	}
	goodChecksums := func(what string, d *craft.Decoded, partial bool) {
		t.Helper()
		for _, c := range d.Checksums(nil) {
			if c.Status != craft.ChecksumGood && !(partial && !c.Quoted) {
				t.Errorf("%s: %v (quoted %v) checksum %v", what, c.Layer, c.Quoted, c.Status)
			}
		}
	}

	syn := craft.Packet{Ethernet: tx.Ethernet(), IPv6: &craft.IPv6{Src: v6Client, Dst: v6Server}, TCP: &craft.TCP{SrcPort: 40001, DstPort: 9998, Seq: 1000, Flags: craft.TCPSyn, Window: 64240}}
	f, _ := syn.Append(nil)
	if _, err := tx.Send(f); err != nil {
		t.Fatal(err)
	}
	d, partial := reply(func(d *craft.Decoded) bool { return d.Has(craft.LayerTCP) })
	if d == nil {
		t.Fatal("no TCP answer from the server")
	}
	if r := d.TCP; r.Flags != craft.TCPRst|craft.TCPAck || r.SrcPort != 9998 || r.DstPort != 40001 || r.Ack != 1001 || r.Seq != 0 || r.Window != 0 || d.IPv6.Dst != v6Client {
		t.Errorf("RST|ACK %+v, want RST|ACK 9998→40001 seq 0 ack 1001 win 0", r)
	}
	goodChecksums("RST", d, partial)

	udp := craft.Packet{Ethernet: tx.Ethernet(), IPv6: &craft.IPv6{FlowLabel: 0x4242, Src: v6Client, Dst: v6Server}, UDP: &craft.UDP{SrcPort: 40002, DstPort: 9998}, Payload: []byte("Hello\n")}
	f, _ = udp.Append(nil)
	if _, err := tx.Send(f); err != nil {
		t.Fatal(err)
	}
	d, partial = reply(func(d *craft.Decoded) bool { return d.Has(craft.LayerICMPv6) && d.ICMPv6.IsError() })
	if d == nil {
		t.Fatal("no ICMPv6 error from the server")
	}
	q := d.Quoted
	if d.ICMPv6.Type != craft.ICMPv6Unreachable || d.ICMPv6.Code != craft.CodeV6PortUnreachable || d.ICMPv6.Rest != 0 || d.IPv6.Dst != v6Client ||
		q.Layers&craft.LayerUDP == 0 || q.IPv6.FlowLabel != 0x4242 || q.IPv6.Src != v6Client || q.IPv6.Dst != v6Server ||
		q.UDP.SrcPort != 40002 || q.UDP.DstPort != 9998 || string(q.Payload) != "Hello\n" {
		t.Errorf("ICMPv6 %d/%d quoting %v:%d→%v:%d flow %#x %q", d.ICMPv6.Type, d.ICMPv6.Code, q.IPv6.Src, q.UDP.SrcPort, q.IPv6.Dst, q.UDP.DstPort, q.IPv6.FlowLabel, q.Payload)
	}
	if sent := f[craft.EthernetLen:]; !bytes.Equal(d.Payload, sent) {
		t.Errorf("Linux quotes the whole short packet: got %x, sent %x", d.Payload, sent)
	}
	goodChecksums("ICMPv6 error", d, partial)
}

// Filters on IPv6, in the kernel: the server's capture keeps exactly the
// frames each filter names, out of a set sent from the client through
// AF_PACKET — IPv6 and IPv4, TCP, UDP, ICMP, ports on either side, a
// transport behind an extension header, another host.
func TestFilter6InKernel(t *testing.T) {
	p := newPair6(t)
	tx := open6(t, p.Client, v6Server, rawsock.ViaPacket)
	eth := tx.Ethernet()
	other := netip.MustParseAddr("2001:2:0:7::5")
	frames := []craft.Packet{
		0: {IPv6: &craft.IPv6{Src: v6Client, Dst: v6Server}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 9999}},
		1: {IPv6: &craft.IPv6{Src: v6Client, Dst: v6Server}, UDP: &craft.UDP{SrcPort: 9999, DstPort: 7}},
		2: {IPv6: &craft.IPv6{Src: v6Client, Dst: v6Server}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 7}},
		3: {IPv6: &craft.IPv6{Src: v6Client, Dst: v6Server}, TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Flags: craft.TCPSyn}},
		4: {IPv6: &craft.IPv6{Src: v6Client, Dst: v6Server}, IPv6Ext: []craft.IPv6Ext{craft.DestOpts(nil)}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 9999}},
		5: {IPv6: &craft.IPv6{Src: v6Client, Dst: v6Server}, ICMPv6: &craft.ICMPv6{Type: craft.ICMPv6EchoRequest, Rest: 0x9999_0001}},
		6: {IPv4: &craft.IPv4{Src: lab.PairClient, Dst: lab.PairServer}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 9999}},
		7: {IPv4: &craft.IPv4{Src: lab.PairClient, Dst: lab.PairServer}, ICMP: &craft.ICMP{Type: craft.ICMPEcho}},
		8: {IPv6: &craft.IPv6{Src: other, Dst: v6Server}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 9999}},
		9: {IPv6: &craft.IPv6{Src: other, Dst: v6Client}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 9999}},
	}
	for _, c := range []struct {
		f    rawsock.Filter
		want []int
	}{
		{rawsock.Filter{}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{rawsock.Filter{Proto: craft.ProtoUDP, Host: v6Client, Port: 9999}, []int{0, 1, 9}},
		{rawsock.Filter{Port: 9999}, []int{0, 1, 3, 6, 8, 9}},
		{rawsock.Filter{Proto: craft.ProtoICMP, Host: v6Client}, []int{5}},
		{rawsock.Filter{Proto: craft.ProtoICMP}, []int{5, 7}},
		{rawsock.Filter{Host: v6Server, Proto: craft.ProtoTCP}, []int{3}},
		{rawsock.Filter{Host: other}, []int{8, 9}},
	} {
		prog, err := c.f.Compile()
		if err != nil {
			t.Fatal(err)
		}
		at := sniff(t, p.Server, &rawsock.Config{Filter: prog})
		for i, pk := range frames {
			pk.Ethernet = eth
			pk.Payload = []byte(fmt.Sprintf("rc-filter-%d.", i))
			b, err := pk.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Send(b); err != nil {
				t.Fatal(err)
			}
		}
		got := map[int]bool{}
		buf := make([]byte, 2048)
		deadline := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(deadline) {
			_ = at.SetReadDeadline(deadline)
			n, err := at.Recv(buf)
			if err != nil {
				break
			}
			if n < craft.EthernetLen || !bytes.Equal(buf[6:12], p.clientMAC[:]) {
				continue // the server's answers, which quote the marks
			}
			for i := range frames {
				if bytes.Contains(buf[:n], []byte(fmt.Sprintf("rc-filter-%d.", i))) {
					got[i] = true
				}
			}
		}
		at.Close()
		want := map[int]bool{}
		for _, i := range c.want {
			want[i] = true
		}
		for i := range frames {
			if got[i] != want[i] {
				t.Errorf("filter %+v, frame %d: passed %v, want %v", c.f, i, got[i], want[i])
			}
		}
	}
}

// Via ip toward a link-local address: the zone names the interface, the
// socket is bound there, and the datagram arrives as built; without a
// zone Open refuses at once.
func TestLinkLocalViaIP(t *testing.T) {
	p := newPair6(t)
	if err := p.Do(p.Client, func() error {
		_, err := rawsock.Open(p.serverLL, rawsock.ViaIP, nil)
		if err == nil || !strings.Contains(err.Error(), "%IFACE") {
			return fmt.Errorf("open %v without a zone: %v; want an error saying to add %%IFACE", p.serverLL, err)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	at := sniff(t, p.Server, nil)
	tx := open6(t, p.Client, p.serverLL.WithZone(lab.PairIfc), rawsock.ViaIP)
	if rt := tx.Route(); rt.Src != p.clientLL || rt.Iface == nil || rt.Iface.Name != lab.PairIfc {
		t.Errorf("route %+v: want from %v on %s", rt, p.clientLL, lab.PairIfc)
	}
	dg, _ := (&craft.Packet{IPv6: &craft.IPv6{Src: p.clientLL, Dst: p.serverLL}, UDP: &craft.UDP{SrcPort: 43000, DstPort: 9998}, Payload: []byte("link-local")}).Append(nil)
	if _, err := tx.Send(dg); err != nil {
		t.Fatal(err)
	}
	if got := next6(t, at, 2*time.Second, func(d *craft.Decoded) bool {
		return d.Ethernet.Src == p.clientMAC && bytes.Equal(d.Raw[craft.EthernetLen:], dg)
	}); got == nil {
		t.Errorf("the link-local datagram did not arrive as built: %x", dg)
	}
}

// BenchmarkIPConnSend: a datagram through a raw IPv4 or IPv6 socket (ViaIP)
// allocates nothing.
func BenchmarkIPConnSend(b *testing.B) {
	p := newPair6(b)
	for _, c := range []struct {
		name   string
		listen func(string) (*rawsock.IPConn, error)
		p      craft.Packet
	}{
		{"IPv4", rawsock.ListenIP, craft.Packet{IPv4: &craft.IPv4{Src: lab.PairClient, Dst: lab.PairServer}, UDP: &craft.UDP{SrcPort: 1, DstPort: 9}}},
		{"IPv6", rawsock.ListenIP6, craft.Packet{IPv6: &craft.IPv6{Src: v6Client, Dst: v6Server}, UDP: &craft.UDP{SrcPort: 1, DstPort: 9}}},
	} {
		var conn *rawsock.IPConn
		if err := p.Do(p.Client, func() (err error) { conn, err = c.listen(""); return err }); err != nil {
			b.Fatal(err)
		}
		dg, err := c.p.Append(nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := conn.Send(dg); err != nil {
					b.Fatal(err)
				}
			}
		})
		conn.Close()
	}
}
