package craft_test

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// flowLab sends IPv6 packets from the multipath topology's source to its
// destination through R0, and tells which path each took: the frames RA
// and RB capture arriving from R0.
type flowLab struct {
	m          *lab.Multipath
	tx         *rawsock.Conn
	eth        []byte // R0's MAC, the source's, IPv6's EtherType
	recA, recB *listen.Recorder
	n          int // packets sent so far: each carries its number
}

func newFlowLab(t *testing.T) *flowLab {
	m := lab.MultipathForTest(t)
	f := &flowLab{m: m}
	var r0 *net.Interface
	if err := m.Do(lab.MPR0, func() (err error) { r0, err = net.InterfaceByName(lab.MPSrc); return err }); err != nil {
		t.Fatal(err)
	}
	if err := m.Do(lab.MPSrc, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		f.eth = append(append(append([]byte(nil), r0.HardwareAddr...), ifi.HardwareAddr...), 0x86, 0xdd)
		f.tx, err = rawsock.Listen(ifi, &rawsock.Config{SendOnly: true})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.tx.Close() })
	for _, x := range []struct {
		host string
		rec  **listen.Recorder
	}{{lab.MPRA, &f.recA}, {lab.MPRB, &f.recB}} {
		var l *listen.Listener
		if err := m.Do(x.host, func() error {
			ifi, err := net.InterfaceByName(lab.MPR0)
			if err != nil {
				return err
			}
			l, err = listen.Listen(ifi, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		*x.rec = listen.Record(l, 0)
		t.Cleanup(func() { (*x.rec).Stop(); l.Close() })
	}
	// A socket on the destination's port: the UDP packets are delivered,
	// and nothing answers them.
	if err := m.Do(lab.MPDst, func() error {
		u, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lab.MPAddr6Dst, 9000)))
		if err == nil {
			t.Cleanup(func() { u.Close() })
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// flowPacket is one packet to send: the fields the hash may read.
type flowPacket struct {
	src   netip.Addr
	label uint32
	nh    uint8 // the next header: UDP, ICMPv6, or a number no host knows
	sport uint16
	// ICMPv6: the type; an error (below 128) quotes a UDP datagram the
	// destination sent the source, whose flow label is quoteLabel.
	icmpType   uint8
	quoteLabel uint32
}

// send sends the packets and returns the path each took, "A" or "B", in
// order: every packet is seen arriving at RA or RB (within 3 s), and at
// one only.
func (f *flowLab) send(t *testing.T, pkts []flowPacket) []string {
	t.Helper()
	tags := make([][]byte, len(pkts))
	for i, p := range pkts {
		f.n++
		tags[i] = fmt.Appendf(nil, "flow-label claim %06d", f.n)
		ip := &craft.IPv6{Src: p.src, Dst: lab.MPAddr6Dst, FlowLabel: p.label}
		pk := craft.Packet{IPv6: ip, Payload: tags[i]}
		switch p.nh {
		case craft.ProtoUDP:
			pk.UDP = &craft.UDP{SrcPort: p.sport, DstPort: 9000}
		case craft.ProtoICMPv6:
			pk.ICMPv6 = &craft.ICMPv6{Type: p.icmpType, Code: 4}
			if p.icmpType >= 128 {
				*pk.ICMPv6 = craft.Echo6(0x2450, uint16(f.n))
				break
			}
			quote, err := (&craft.Packet{IPv6: &craft.IPv6{Src: lab.MPAddr6Dst, Dst: p.src, FlowLabel: p.quoteLabel},
				UDP: &craft.UDP{SrcPort: 9000, DstPort: p.sport}}).Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			pk.Payload = append(quote, tags[i]...)
		default:
			ip.NextHeader = craft.Set(p.nh)
		}
		b, err := pk.Append(append([]byte(nil), f.eth...))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tx.Send(b); err != nil {
			t.Fatal(err)
		}
	}
	paths := make([]string, len(pkts))
	for deadline := time.Now().Add(3 * time.Second); ; {
		time.Sleep(20 * time.Millisecond)
		for i := range paths {
			paths[i] = ""
		}
		seen := 0
		for _, x := range []struct {
			name string
			rec  *listen.Recorder
		}{{"A", f.recA}, {"B", f.recB}} {
			for _, c := range x.rec.Snapshot() {
				if c.Meta.Outgoing { // RA's or RB's own: an answer on its way back
					continue
				}
				for i, tag := range tags {
					if bytes.Contains(c.Frame, tag) {
						if paths[i] != "" {
							t.Fatalf("packet %d (%+v) arrived at %s and at %s", i, pkts[i], paths[i], x.name)
						}
						paths[i] = x.name
						seen++
					}
				}
			}
		}
		if seen == len(pkts) {
			return paths
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d packets arrived at RA or RB within 3 s: %q", seen, len(pkts), paths)
		}
	}
}

// Claims flow-label-hashed and flow-label-icmpv6-error: under net.ipv6.fib_multipath_hash_policy 0, R0
// sends packets that differ in their flow label alone down both paths,
// every packet of one label down one; with the label fixed, other source
// ports keep the path, and other source addresses or next headers change
// it. Under policy 1 the flow label no longer moves a packet, and the
// source port does. 32 labels all hashing to one path would happen 1 time
// in 2^31: both paths must carry packets wherever a field is hashed.
func TestFlowLabelHashed(t *testing.T) {
	f := newFlowLab(t)
	const n = 32
	base := flowPacket{src: lab.MPAddr6Src, label: 0x12345, nh: craft.ProtoUDP, sport: 40000}
	vary := func(set func(p *flowPacket, i int)) []flowPacket {
		out := make([]flowPacket, n)
		for i := range out {
			out[i] = base
			set(&out[i], i)
		}
		return out
	}
	both := func(t *testing.T, what string, paths []string) {
		t.Helper()
		a := 0
		for _, p := range paths {
			if p == "A" {
				a++
			}
		}
		t.Logf("%s: %d via RA, %d via RB: %q", what, a, n-a, paths)
		if a == 0 || a == n {
			t.Errorf("%s: all %d packets took one path; the field is hashed, so both paths must carry some", what, n)
		}
	}
	one := func(t *testing.T, what string, paths []string) {
		t.Helper()
		for _, p := range paths {
			if p != paths[0] {
				t.Errorf("%s: packets took both paths (%q); the field is not hashed, so all must take one", what, paths)
				return
			}
		}
		t.Logf("%s: all %d via R%s", what, n, paths[0])
	}
	labels := vary(func(p *flowPacket, i int) { p.label = 0x10000 + uint32(i)*0x111 })
	t.Run("policy 0", func(t *testing.T) {
		first := f.send(t, labels)
		both(t, "flow labels", first)
		// Each label again, three times, interleaved: its path does not
		// change.
		for round := range 3 {
			again := f.send(t, labels)
			for i := range again {
				if again[i] != first[i] {
					t.Errorf("round %d: flow label %#x went via R%s, before via R%s", round, labels[i].label, again[i], first[i])
				}
			}
		}
		one(t, "source ports", f.send(t, vary(func(p *flowPacket, i int) { p.sport = 40000 + uint16(i)*7 })))
		both(t, "source addresses", f.send(t, vary(func(p *flowPacket, i int) {
			a := lab.MPAddr6Src.As16()
			a[15] = byte(0x10 + i)
			p.src = netip.AddrFrom16(a)
		})))
		both(t, "next headers", f.send(t, vary(func(p *flowPacket, i int) { p.nh = uint8(146 + i) }))) // unassigned (IANA)
	})
	// Claim flow-label-icmpv6-error: an ICMPv6 error (types 1 to 4) is
	// hashed on the packet it quotes. Its own flow label no longer moves
	// it, the quoted packet's does; an echo request, no error, is hashed
	// on its own.
	t.Run("policy 0, ICMPv6", func(t *testing.T) {
		for _, typ := range []uint8{craft.ICMPv6Unreachable, craft.ICMPv6TimeExceeded} {
			name := craft.ICMPv6TypeName(typ)
			one(t, name+", its own flow labels", f.send(t, vary(func(p *flowPacket, i int) {
				p.nh, p.icmpType, p.quoteLabel, p.label = craft.ProtoICMPv6, typ, 0x54321, 0x10000+uint32(i)*0x111
			})))
			both(t, name+", the quoted flow labels", f.send(t, vary(func(p *flowPacket, i int) {
				p.nh, p.icmpType, p.quoteLabel = craft.ProtoICMPv6, typ, 0x10000+uint32(i)*0x111
			})))
		}
		both(t, "echo requests, their flow labels", f.send(t, vary(func(p *flowPacket, i int) {
			p.nh, p.icmpType, p.label = craft.ProtoICMPv6, craft.ICMPv6EchoRequest, 0x10000+uint32(i)*0x111
		})))
		// An error type Linux does not know (icmpv6_is_err: 1 to 4 only),
		// quote and all, is hashed on its own label like any packet.
		both(t, "type 100, its own flow labels", f.send(t, vary(func(p *flowPacket, i int) {
			p.nh, p.icmpType, p.quoteLabel, p.label = craft.ProtoICMPv6, 100, 0x54321, 0x10000+uint32(i)*0x111
		})))
	})
	t.Run("policy 1", func(t *testing.T) {
		if err := f.m.SetHashPolicy6(1); err != nil {
			t.Fatal(err)
		}
		one(t, "flow labels", f.send(t, labels))
		both(t, "source ports", f.send(t, vary(func(p *flowPacket, i int) { p.sport = 40000 + uint16(i)*7 })))
	})
}
