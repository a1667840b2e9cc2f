package craft

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
)

var (
	hs  = netip.MustParseAddr("198.18.1.1") // the article's server
	hc  = netip.MustParseAddr("198.18.1.3") // the article's client
	mHs = MAC{0x02, 0x00, 0x00, 0x00, 0x01, 0x01}
	mHc = MAC{0x02, 0x00, 0x00, 0x00, 0x01, 0x03}
)

func unhexT(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// synOptions are the four options of a Linux SYN, in Linux's order.
func synOptions() []byte {
	o := AppendTCPOptMSS(nil, 1460)
	o = AppendTCPOptSACKOK(o)
	o = AppendTCPOptTimestamps(o, 0x01020304, 0)
	o = AppendTCPOptNOP(o)
	return AppendTCPOptWScale(o, 7)
}

func synPacket() Packet {
	return Packet{
		Ethernet: &Ethernet{Dst: mHs, Src: mHc},
		IPv4:     &IPv4{ID: 0x1234, Flags: FlagDF, Src: hc, Dst: hs},
		TCP:      &TCP{SrcPort: 40000, DstPort: 9999, Seq: 0x11223344, Flags: TCPSyn, Window: 64240, Options: synOptions()},
	}
}

// portUnreachable is Hs's answer to a UDP datagram from Hc to port 9999.
func portUnreachable(t testing.TB) Packet {
	probe := Packet{IPv4: &IPv4{ID: 7, Src: hc, Dst: hs}, UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello\n")}
	b, err := probe.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	icmp := Unreachable(CodePortUnreachable)
	return Packet{IPv4: &IPv4{ID: 0x4321, TOS: 0xc0, Src: hs, Dst: hc}, ICMP: &icmp, Payload: Quote(b)}
}

type golden struct {
	desc string
	p    Packet
	want string
}

func goldens(t testing.TB) []golden {
	ip := func(mod func(*IPv4)) *IPv4 {
		h := &IPv4{ID: 1, Src: hc, Dst: hs}
		if mod != nil {
			mod(h)
		}
		return h
	}
	fifty := bytes.Repeat([]byte("A"), 50)
	icmpEcho := Echo(0x1234, 1)
	fragNeeded := FragNeeded(1400)
	ttl := TimeExceeded(CodeTTLExceeded)
	reasm := TimeExceeded(CodeReassemblyExceeded)
	return []golden{
		{"Ethernet+IPv4+TCP SYN with four options", synPacket(),
			"020000000101 020000000103 0800" +
				"4500 003c 1234 4000 4006 9a5f c6120103 c6120101" +
				"9c40 270f 11223344 00000000 a002 faf0 b32a 0000" +
				"020405b4 0402 080a 01020304 00000000 01 030307"},
		{"SYN-ACK", Packet{IPv4: ip(nil), TCP: &TCP{SrcPort: 9999, DstPort: 40000, Seq: 1000, Ack: 0x11223345, Flags: TCPSyn | TCPAck, Window: 65160, Options: AppendTCPOptMSS(nil, 1460)}},
			"4500 002c 0001 0000 4006 eca2 c6120103 c6120101 270f 9c40 000003e8 11223345 6012 fe88 ffc5 0000 020405b4"},
		{"RST|ACK", Packet{IPv4: ip(nil), TCP: &TCP{SrcPort: 9999, DstPort: 40000, Ack: 0x11223345, Flags: TCPRst | TCPAck}},
			"4500 0028 0001 0000 4006 eca6 c6120103 c6120101 270f 9c40 00000000 11223345 5014 0000 19f1 0000"},
		{"FIN|ACK", Packet{IPv4: ip(nil), TCP: &TCP{SrcPort: 40000, DstPort: 9999, Seq: 5, Ack: 9, Flags: TCPFin | TCPAck, Window: 502}},
			"4500 0028 0001 0000 4006 eca6 c6120103 c6120101 9c40 270f 00000005 00000009 5011 01f6 5c57 0000"},
		{"UDP, the article's 50-byte A message", Packet{IPv4: ip(nil), UDP: &UDP{SrcPort: 40000, DstPort: 9999}, Payload: fifty},
			"4500 004e 0001 0000 4011 ec75 c6120103 c6120101 9c40 270f 003a 4ea2" + strings.Repeat("41", 50)},
		{"UDP checksum forced to 0: no checksum", Packet{IPv4: ip(nil), UDP: &UDP{SrcPort: 1, DstPort: 2, Checksum: Set[uint16](0)}, Payload: []byte("x")},
			"4500 001d 0001 0000 4011 eca6 c6120103 c6120101 0001 0002 0009 0000 78"},
		{"UDP length forced too long", Packet{IPv4: ip(nil), UDP: &UDP{SrcPort: 1, DstPort: 2, Length: Set[uint16](100)}, Payload: []byte("x")},
			"4500 001d 0001 0000 4011 eca6 c6120103 c6120101 0001 0002 0064 f954 78"},
		{"ICMP echo request", Packet{IPv4: ip(nil), ICMP: &icmpEcho, Payload: []byte("ping")},
			"4500 0020 0001 0000 4001 ecb3 c6120103 c6120101 0800 06fa 1234 0001 70696e67"},
		{"ICMP port unreachable quoting a UDP datagram", portUnreachable(t),
			"45c0 0038 4321 0000 4001 a8bb c6120101 c6120103 0303 af21 00000000" +
				"4500 0022 0007 0000 4011 ec9b c6120103 c6120101 9c40 270f 000e 8a7d"},
		{"ICMP fragmentation needed, next-hop MTU 1400", Packet{IPv4: ip(nil), ICMP: &fragNeeded},
			"4500 001c 0001 0000 4001 ecb7 c6120103 c6120101 0304 f783 0000 0578"},
		{"ICMP time exceeded in transit", Packet{IPv4: ip(nil), ICMP: &ttl},
			"4500 001c 0001 0000 4001 ecb7 c6120103 c6120101 0b00 f4ff 00000000"},
		{"ICMP fragment reassembly time exceeded", Packet{IPv4: ip(nil), ICMP: &reasm},
			"4500 001c 0001 0000 4001 ecb7 c6120103 c6120101 0b01 f4fe 00000000"},
		{"ARP request", Packet{Ethernet: &Ethernet{Dst: Broadcast, Src: mHc}, ARP: &ARP{Op: ARPRequest, SenderHW: mHc, SenderIP: hc, TargetIP: hs}},
			"ffffffffffff 020000000103 0806 0001 0800 06 04 0001 020000000103 c6120103 000000000000 c6120101"},
		{"ARP reply", Packet{Ethernet: &Ethernet{Dst: mHc, Src: mHs}, ARP: &ARP{Op: ARPReply, SenderHW: mHs, SenderIP: hs, TargetHW: mHc, TargetIP: hc}},
			"020000000103 020000000101 0806 0001 0800 06 04 0002 020000000101 c6120101 020000000103 c6120103"},
		{"IPv4 options: record route 2 slots, NOP, timestamp 1 slot", Packet{IPv4: ip(func(h *IPv4) {
			h.Options = AppendIPOptTimestamp(AppendIPOptNOP(AppendIPOptRecordRoute(nil, 2)), 1)
		}), UDP: &UDP{SrcPort: 1, DstPort: 2}},
			"4a00 0030 0001 0000 4011 937f c6120103 c6120101 070b04 0000000000000000 01 440805 00 00000000" +
				"0001 0002 0008 71b2"},
		{"forced: bad IPv4 checksum", Packet{IPv4: ip(func(h *IPv4) { h.Checksum = Set[uint16](0xdead) }), UDP: &UDP{SrcPort: 1, DstPort: 2}},
			"4500 001c 0001 0000 4011 dead c6120103 c6120101 0001 0002 0008 71b2"},
		{"forced: bad TCP checksum", Packet{IPv4: ip(nil), TCP: &TCP{SrcPort: 1, DstPort: 2, Flags: TCPSyn, Checksum: Set[uint16](0xbeef)}},
			"4500 0028 0001 0000 4006 eca6 c6120103 c6120101 0001 0002 00000000 00000000 5002 0000 beef 0000"},
		{"forced: evil bit, DF, TTL 0, TOS", Packet{IPv4: ip(func(h *IPv4) { h.Flags = FlagEvil | FlagDF; h.TTL = Set[uint8](0); h.TOS = 0xb8 }), UDP: &UDP{SrcPort: 1, DstPort: 2}},
			"45b8 001c 0001 c000 0011 6bef c6120103 c6120101 0001 0002 0008 71b2"},
		{"forced: total length lies, IHL 6, version 5", Packet{IPv4: ip(func(h *IPv4) {
			h.TotalLen = Set[uint16](1000)
			h.IHL = Set[uint8](6)
			h.Version = Set[uint8](5)
		}), UDP: &UDP{SrcPort: 1, DstPort: 2}},
			"5600 03e8 0001 0000 4011 d7d8 c6120103 c6120101 0001 0002 0008 71b2"},
		{"forced: TCP data offset 15 past the end, reserved bits, URG", Packet{IPv4: ip(nil), TCP: &TCP{SrcPort: 1, DstPort: 2, DataOffset: Set[uint8](15), Reserved: 0xf, Flags: TCPUrg | TCPAck | TCPEce | TCPCwr, Urgent: 7}},
			"4500 0028 0001 0000 4006 eca6 c6120103 c6120101 0001 0002 00000000 00000000 fff0 0000 71c1 0007"},
		{"IPv4 carrying raw bytes as protocol 253", Packet{IPv4: ip(func(h *IPv4) { h.Protocol = Set[uint8](253) }), Payload: []byte{1, 2, 3}},
			"4500 0017 0001 0000 40fd ebc0 c6120103 c6120101 010203"},
	}
}

func TestGolden(t *testing.T) {
	for _, g := range goldens(t) {
		t.Run(g.desc, func(t *testing.T) {
			got, err := g.p.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			want := unhexT(t, g.want)
			if !bytes.Equal(got, want) {
				t.Fatalf("got  %x\nwant %x", got, want)
			}
			if len(got) != g.p.Len() {
				t.Fatalf("Len() = %d, wrote %d", g.p.Len(), len(got))
			}
		})
	}
}
