package craft

// gopacket is the independent decoder: every packet of a generated matrix
// is decoded by it and by us, field by field, checksums included. It is a
// test-only dependency.

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func gpDecode(t *testing.T, b []byte, first gopacket.LayerType) gopacket.Packet {
	t.Helper()
	p := gopacket.NewPacket(b, first, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket cannot decode %x: %v", b, el.Error())
	}
	return p
}

func verify(t *testing.T, what string, l interface {
	VerifyChecksum() (error, gopacket.ChecksumVerificationResult)
}) {
	t.Helper()
	err, r := l.VerifyChecksum()
	if err != nil || !r.Valid {
		t.Errorf("%s: gopacket finds the checksum wrong: %v %+v", what, err, r)
	}
}

func compareIPv4(t *testing.T, ours *IPv4, g *layers.IPv4) {
	t.Helper()
	if g.Version != ours.Version.Or(0) || g.IHL != ours.IHL.Or(0) || g.TOS != ours.TOS || g.Length != ours.TotalLen.Or(0) ||
		g.Id != ours.ID || uint8(g.Flags) != ours.Flags || g.FragOffset != ours.FragOff || g.TTL != ours.TTL.Or(0) ||
		uint8(g.Protocol) != ours.Protocol.Or(0) || g.Checksum != ours.Checksum.Or(0) ||
		!g.SrcIP.Equal(ours.Src.AsSlice()) || !g.DstIP.Equal(ours.Dst.AsSlice()) {
		t.Errorf("IPv4 differs:\n ours %+v\n gopacket %+v", *ours, *g)
	}
	var gopts []byte
	for _, o := range g.Options {
		gopts = append(gopts, byte(o.OptionType))
		if o.OptionType > 1 {
			gopts = append(gopts, o.OptionLength)
			gopts = append(gopts, o.OptionData...)
		}
	}
	if !bytes.HasPrefix(ours.Options, gopts) {
		t.Errorf("IPv4 options: ours %x, gopacket %x", ours.Options, gopts)
	}
}

func tcpMatrix() []Packet {
	flagSets := []uint8{TCPSyn, TCPSyn | TCPAck, TCPAck, TCPPsh | TCPAck, TCPFin | TCPAck, TCPRst, TCPRst | TCPAck, 0xff, 0}
	optLists := [][]byte{
		nil,
		AppendTCPOptMSS(nil, 1460),
		synOptions(),
		AppendTCPOptSACK(AppendTCPOptNOP(AppendTCPOptNOP(nil)), SACKBlock{100, 200}, SACKBlock{300, 400}),
		AppendTCPOptEOL(AppendTCPOptWScale(nil, 14)),
		AppendTCPOptTimestamps(AppendTCPOptNOP(AppendTCPOptNOP(nil)), 0xffffffff, 1),
	}
	sizes := []int{0, 1, 7, 8, 50, 1459}
	var out []Packet
	for fi, f := range flagSets {
		for oi, o := range optLists {
			for si, n := range sizes {
				payload := bytes.Repeat([]byte{byte('A' + si)}, n)
				out = append(out, Packet{
					IPv4: &IPv4{ID: uint16(fi*100 + oi), TOS: uint8(si), Flags: FlagDF * uint8(oi%2), Src: hc, Dst: hs},
					TCP: &TCP{SrcPort: uint16(1024 + fi), DstPort: 9999, Seq: uint32(fi) * 0x01000193, Ack: uint32(oi) * 0x7fffffff,
						Flags: f, Window: uint16(n * 7), Urgent: uint16(si), Options: o},
					Payload: payload,
				})
			}
		}
	}
	return out
}

func TestGopacketTCPMatrix(t *testing.T) {
	for i, p := range tcpMatrix() {
		b, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var d Decoded
			if err := d.DecodeIP(b); err != nil {
				t.Fatal(err)
			}
			gp := gpDecode(t, b, layers.LayerTypeIPv4)
			gip := gp.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			gtcp := gp.Layer(layers.LayerTypeTCP).(*layers.TCP)
			_ = gtcp.SetNetworkLayerForChecksum(gip)
			compareIPv4(t, &d.IPv4, gip)
			verify(t, "IPv4", gip)
			verify(t, "TCP", gtcp)
			o := &d.TCP
			gflags := uint8(0)
			for bit, set := range []bool{gtcp.FIN, gtcp.SYN, gtcp.RST, gtcp.PSH, gtcp.ACK, gtcp.URG, gtcp.ECE, gtcp.CWR} {
				if set {
					gflags |= 1 << bit
				}
			}
			if uint16(gtcp.SrcPort) != o.SrcPort || uint16(gtcp.DstPort) != o.DstPort || gtcp.Seq != o.Seq || gtcp.Ack != o.Ack ||
				gtcp.DataOffset != o.DataOffset.Or(0) || gflags != o.Flags || gtcp.Window != o.Window ||
				gtcp.Checksum != o.Checksum.Or(0) || gtcp.Urgent != o.Urgent || !bytes.Equal(gtcp.Payload, d.Payload) {
				t.Errorf("TCP differs:\n ours %+v\n gopacket %+v", *o, *gtcp)
			}
			// Options, one by one.
			var ours []Option
			for off := 0; off < len(o.Options); {
				opt, next, err := NextOption(o.Options, off)
				if err != nil {
					t.Fatal(err)
				}
				ours = append(ours, opt)
				if opt.Kind == 0 {
					break
				}
				off = next
			}
			if len(ours) != len(gtcp.Options) && !(len(ours) > 0 && ours[len(ours)-1].Kind == 0) {
				t.Fatalf("%d options, gopacket %d", len(ours), len(gtcp.Options))
			}
			for j := range min(len(ours), len(gtcp.Options)) {
				g := gtcp.Options[j]
				if uint8(g.OptionType) != ours[j].Kind || (g.OptionType > 1 && (int(g.OptionLength) != ours[j].Len || !bytes.Equal(g.OptionData, ours[j].Data))) {
					t.Errorf("option %d: ours %+v, gopacket %+v", j, ours[j], g)
				}
			}
		})
	}
}

func TestGopacketUDPICMPAndFragments(t *testing.T) {
	var pkts []Packet
	for _, n := range []int{0, 1, 5, 6, 11, 50, 1472, 4000} {
		pkts = append(pkts, Packet{Ethernet: &Ethernet{Dst: mHs, Src: mHc}, IPv4: &IPv4{ID: uint16(n), Src: hc, Dst: hs}, UDP: &UDP{SrcPort: uint16(n), DstPort: 9999}, Payload: bytes.Repeat([]byte("UQ"), n)[:n]})
		e := Echo(uint16(n), uint16(n*3))
		pkts = append(pkts, Packet{Ethernet: &Ethernet{Dst: mHs, Src: mHc}, IPv4: &IPv4{Src: hc, Dst: hs}, ICMP: &e, Payload: bytes.Repeat([]byte{0xa5}, n)})
	}
	un := portUnreachable(t)
	pkts = append(pkts, un)
	for _, c := range []ICMP{FragNeeded(1400), TimeExceeded(0), TimeExceeded(1), Unreachable(CodeHostUnreachable), Unreachable(CodeAdminProhibited)} {
		c := c
		pkts = append(pkts, Packet{IPv4: &IPv4{Src: hs, Dst: hc}, ICMP: &c, Payload: Quote(mustBuild(t, synPacket())[EthernetLen:])})
	}
	for i, p := range pkts {
		b, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		first := layers.LayerTypeIPv4
		var d Decoded
		if p.Ethernet != nil {
			first = layers.LayerTypeEthernet
			err = d.DecodeFrame(b)
		} else {
			err = d.DecodeIP(b)
		}
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		gp := gpDecode(t, b, first)
		gip := gp.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		compareIPv4(t, &d.IPv4, gip)
		verify(t, "IPv4", gip)
		if p.Ethernet != nil {
			ge := gp.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			if !bytes.Equal(ge.DstMAC, d.Ethernet.Dst[:]) || !bytes.Equal(ge.SrcMAC, d.Ethernet.Src[:]) || uint16(ge.EthernetType) != d.Ethernet.Type.Or(0) {
				t.Errorf("Ethernet differs: %+v", ge)
			}
		}
		switch {
		case p.UDP != nil:
			g := gp.Layer(layers.LayerTypeUDP).(*layers.UDP)
			_ = g.SetNetworkLayerForChecksum(gip)
			verify(t, "UDP", g)
			if uint16(g.SrcPort) != d.UDP.SrcPort || uint16(g.DstPort) != d.UDP.DstPort || g.Length != d.UDP.Length.Or(0) || g.Checksum != d.UDP.Checksum.Or(0) || !bytes.Equal(g.Payload, d.Payload) {
				t.Errorf("UDP differs: %+v", g)
			}
		case p.ICMP != nil:
			g := gp.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			verify(t, "ICMP", g)
			if g.TypeCode.Type() != d.ICMP.Type || g.TypeCode.Code() != d.ICMP.Code || g.Checksum != d.ICMP.Checksum.Or(0) ||
				uint32(g.Id)<<16|uint32(g.Seq) != d.ICMP.Rest {
				t.Errorf("ICMP differs: %+v vs %+v", g, d.ICMP)
			}
			if d.ICMP.IsError() {
				// gopacket decodes the quoted datagram as a layer of its own.
				q := gopacket.NewPacket(g.Payload, layers.LayerTypeIPv4, gopacket.Default)
				qip, _ := q.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if qip == nil {
					t.Fatalf("gopacket finds no quoted IPv4")
				}
				compareIPv4(t, &d.Quoted.IPv4, qip)
				verify(t, "quoted IPv4", qip)
			}
		}
	}
	// Fragments of the article's 4000-byte datagram.
	_, frags, err := Fragments(nil, nil, bigUDP(t), FragOptions{MTU: 1500})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frags {
		var d Decoded
		_ = d.DecodeIP(f.Bytes)
		gip := gpDecode(t, f.Bytes, layers.LayerTypeIPv4).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		compareIPv4(t, &d.IPv4, gip)
		verify(t, "fragment IPv4", gip)
	}
}

func TestGopacketARP(t *testing.T) {
	for _, g := range goldens(t) {
		if g.p.ARP == nil {
			continue
		}
		b := mustBuild(t, g.p)
		var d Decoded
		if err := d.DecodeFrame(b); err != nil {
			t.Fatal(err)
		}
		ga := gpDecode(t, b, layers.LayerTypeEthernet).Layer(layers.LayerTypeARP).(*layers.ARP)
		if ga.Operation != d.ARP.Op || !bytes.Equal(ga.SourceHwAddress, d.ARP.SenderHW[:]) || !bytes.Equal(ga.SourceProtAddress, d.ARP.SenderIP.AsSlice()) ||
			!bytes.Equal(ga.DstHwAddress, d.ARP.TargetHW[:]) || !bytes.Equal(ga.DstProtAddress, d.ARP.TargetIP.AsSlice()) {
			t.Errorf("%s: ARP differs: %+v", g.desc, ga)
		}
	}
}

func mustBuild(t testing.TB, p Packet) []byte {
	t.Helper()
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
