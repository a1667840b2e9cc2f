package craft_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"

	"github.com/rawcraft/rawcraft/craft"
)

// The differential harness's packet generator: seeded, deterministic, over
// every layer craft knows, valid packets and mutated ones. Each packet
// comes with the words that say how it was made, and the mutations it
// carries, so that a disagreement can be read and a justified difference
// can be scoped to the packets it concerns.

// mutation is a set of the deliberate faults of one packet.
type mutation uint32

const (
	mutIPCsum     mutation = 1 << iota // IPv4 header checksum forced wrong
	mutL4Csum                          // TCP, UDP, ICMP or ICMPv6 checksum forced wrong
	mutUDPZeroSum                      // UDP checksum 0
	mutIPLen                           // IPv4 total length or IPv6 payload length lies
	mutIHL                             // IPv4 IHL forced
	mutVersion                         // IP version forced
	mutUDPLen                          // UDP length lies
	mutDataOff                         // TCP data offset forced
	mutCut                             // the frame cut short
	mutTrailer                         // bytes after the IP packet
	mutPad                             // zero padding to 60 bytes
	mutTCPRes                          // TCP reserved bits set
	mutARPLens                         // ARP HLEN/PLEN other than 6/4
	mutExtLen                          // IPv6 extension header length forced
	mutIPZeroLen                       // IPv4 total length 0
)

var mutationNames = []string{"ip-csum", "l4-csum", "udp-zero-csum", "ip-len", "ihl", "version", "udp-len",
	"data-offset", "cut", "trailer", "pad", "tcp-reserved", "arp-lens", "ext-len", "ip-len-0"}

func (m mutation) String() string {
	var s []string
	for i, n := range mutationNames {
		if m&(1<<i) != 0 {
			s = append(s, n)
		}
	}
	return strings.Join(s, ",")
}

// genPacket is one generated frame.
type genPacket struct {
	frame []byte
	what  string   // how it was made, in words
	mut   mutation // its deliberate faults
}

// diffGen makes packets from a seed.
type diffGen struct {
	r    *rand.Rand
	what []string
	mut  mutation
}

func newDiffGen(seed uint64) *diffGen {
	return &diffGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// n returns a number in [0, k); 0 when k ≤ 0.
func (g *diffGen) n(k int) int {
	if k <= 0 {
		return 0
	}
	return g.r.IntN(k)
}

func (g *diffGen) p(prob float64) bool { return g.r.Float64() < prob }
func (g *diffGen) u8() uint8           { return uint8(g.r.Uint32()) }
func (g *diffGen) u16() uint16         { return uint16(g.r.Uint32()) }
func (g *diffGen) u32() uint32         { return g.r.Uint32() }
func (g *diffGen) note(f string, a ...any) {
	g.what = append(g.what, fmt.Sprintf(f, a...))
}

func (g *diffGen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = g.u8()
	}
	return b
}

func (g *diffGen) pick(vals ...int) int { return vals[g.n(len(vals))] }

// port is a port number, often a well-known one.
func (g *diffGen) port() uint16 {
	if g.p(0.3) {
		return uint16(g.pick(0, 7, 22, 53, 80, 123, 443, 1, 9999, 40000, 65535))
	}
	return g.u16()
}

func (g *diffGen) addr4() netip.Addr {
	switch g.n(4) {
	case 0:
		return netip.AddrFrom4([4]byte{198, 18, uint8(g.n(2)), uint8(g.n(256))})
	case 1:
		return netip.AddrFrom4([4]byte{198, 19, g.u8(), g.u8()})
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], g.u32())
	return netip.AddrFrom4(a)
}

func (g *diffGen) addr6() netip.Addr {
	var a [16]byte
	switch g.n(5) {
	case 0:
		a = netip.MustParseAddr("2001:2:0:1::").As16()
		a[15] = g.u8()
	case 1:
		a = netip.MustParseAddr("fe80::").As16()
		binary.BigEndian.PutUint64(a[8:], g.r.Uint64())
	case 2:
		a = netip.MustParseAddr("ff02::1:ff00:0").As16()
		a[13], a[14], a[15] = g.u8(), g.u8(), g.u8()
	case 3:
		a = netip.MustParseAddr("2001:2::").As16()
		binary.BigEndian.PutUint64(a[8:], g.r.Uint64())
	default:
		binary.BigEndian.PutUint64(a[:], g.r.Uint64())
		binary.BigEndian.PutUint64(a[8:], g.r.Uint64())
	}
	return netip.AddrFrom16(a)
}

func (g *diffGen) mac() craft.MAC {
	var m craft.MAC
	for i := range m {
		m[i] = g.u8()
	}
	if g.p(0.5) {
		m[0] &^= 1 // unicast
	}
	if g.p(0.05) {
		m = craft.Broadcast
	}
	return m
}

func (g *diffGen) payload() []byte {
	switch g.n(6) {
	case 0:
		return nil
	case 1:
		return []byte("Hello")
	case 2:
		return g.bytes(1 + g.n(8))
	case 3:
		return g.bytes(g.n(300))
	default:
		return g.bytes(g.n(40))
	}
}

// ethernet returns the link header: plain, 802.1Q, QinQ (802.1ad, or the
// old 0x9100 outer TPID).
func (g *diffGen) ethernet() *craft.Ethernet {
	e := &craft.Ethernet{Dst: g.mac(), Src: g.mac()}
	tag := func(tpid uint16) craft.VLAN {
		return craft.VLAN{TPID: tpid, ID: g.u16() & 0xfff, PCP: uint8(g.n(8)), DEI: g.p(0.2)}
	}
	switch x := g.n(20); {
	case x < 2:
		e.VLANs = []craft.VLAN{tag(craft.EtherTypeVLAN)}
		g.note("802.1Q")
	case x < 4:
		e.VLANs = []craft.VLAN{tag(craft.EtherTypeQinQ), tag(craft.EtherTypeVLAN)}
		g.note("QinQ")
	case x < 5:
		e.VLANs = []craft.VLAN{tag(craft.EtherTypeQinQOld), tag(craft.EtherTypeVLAN)}
		g.note("QinQ 0x9100")
	}
	return e
}

// next makes one packet.
func (g *diffGen) next() genPacket {
	g.what, g.mut = g.what[:0], 0
	var frame []byte
	switch x := g.n(100); {
	case x < 5:
		frame = g.arp()
	case x < 50:
		frame = g.ipv4()
	default:
		frame = g.ipv6()
	}
	frame = g.frameMutations(frame)
	return genPacket{frame: frame, what: strings.Join(g.what, " "), mut: g.mut}
}

// frameMutations cuts, pads or extends a built frame.
func (g *diffGen) frameMutations(b []byte) []byte {
	switch x := g.n(100); {
	case x < 6 && len(b) > 15:
		n := 14 + g.n(len(b)-14)
		g.note("cut to %d of %d", n, len(b))
		g.mut |= mutCut
		b = b[:n]
	case x < 10 && len(b) < craft.MinFrameLen:
		g.mut |= mutPad
		g.note("padded")
		for len(b) < craft.MinFrameLen {
			b = append(b, 0)
		}
	case x < 12:
		g.mut |= mutTrailer
		t := g.bytes(1 + g.n(12))
		t[0] |= 1
		g.note("trailer %x", t)
		b = append(b, t...)
	}
	return b
}

// arp makes an ARP packet, with the Ethernet/IPv4 lengths or odd ones
// (HLEN and PLEN say how long the four addresses are).
func (g *diffGen) arp() []byte {
	e := g.ethernet()
	op := uint16(g.pick(1, 1, 2, 2, 3, 4, 8, 9, int(g.u16())))
	if !g.p(0.3) {
		a := craft.ARP{Op: op, SenderHW: g.mac(), SenderIP: g.addr4(), TargetIP: g.addr4()}
		if op != craft.ARPRequest {
			a.TargetHW = g.mac()
		}
		if g.p(0.1) {
			a.HType = craft.Set(uint16(g.pick(6, 0, 0xffff)))
		}
		g.note("ARP op %d", op)
		b, err := (&craft.Packet{Ethernet: e, ARP: &a}).Append(nil)
		if err != nil {
			panic(err)
		}
		return b
	}
	g.mut |= mutARPLens
	hl, pl := g.pick(0, 1, 2, 4, 8, 16, 6, 6, 20), g.pick(0, 1, 2, 4, 4, 6, 16)
	pt := uint16(g.pick(0x0800, 0x0800, 0x86dd, 0x1234))
	g.note("ARP op %d hlen %d plen %d ptype 0x%04x", op, hl, pl, pt)
	body := binary.BigEndian.AppendUint16(nil, uint16(g.pick(1, 1, 6, 0x20)))
	body = binary.BigEndian.AppendUint16(body, pt)
	body = append(body, uint8(hl), uint8(pl))
	body = binary.BigEndian.AppendUint16(body, op)
	body = append(body, g.bytes(2*(hl+pl))...)
	if g.p(0.2) && len(body) > 8 {
		body = body[:8+g.n(len(body)-8)]
		g.note("addresses cut to %d bytes", len(body)-8)
	}
	hdr := make([]byte, e.Len())
	if err := e.Encode(hdr, craft.EtherTypeARP); err != nil {
		panic(err)
	}
	return append(hdr, body...)
}

// ipv4Header makes an IPv4 header with random fields and options.
func (g *diffGen) ipv4Header() *craft.IPv4 {
	h := &craft.IPv4{Src: g.addr4(), Dst: g.addr4(), ID: g.u16(), TTL: craft.Set(uint8(g.pick(64, 64, 1, 0, 255, int(g.u8()))))}
	if g.p(0.2) {
		h.TOS = g.u8()
	}
	switch x := g.n(20); {
	case x < 8:
		h.Flags = craft.FlagDF
	case x < 9:
		h.Flags = craft.FlagEvil
	case x < 10:
		h.Flags = uint8(g.n(8))
	}
	if g.p(0.25) {
		h.Options = g.ipOptions()
	}
	return h
}

// ipOptions makes up to 40 bytes of IPv4 options (RFC 791 §3.1; IANA
// "ip-parameters"), well-formed and not.
func (g *diffGen) ipOptions() []byte {
	var b []byte
	var kinds []string
	room := func() int { return craft.MaxOptionsLen - len(b) }
	for k := 1 + g.n(4); k > 0 && room() > 0; k-- {
		switch x := g.n(13); x {
		case 0:
			b = append(b, craft.IPOptNOP)
			kinds = append(kinds, "nop")
		case 1:
			b = append(b, craft.IPOptEOL)
			kinds = append(kinds, "eol")
			if g.p(0.3) && room() > 0 {
				b = append(b, g.bytes(g.n(room()+1))...) // bytes after EOL
			}
		case 2, 3, 4: // record route, loose and strict source route
			kind := []uint8{craft.IPOptRR, 131, 137}[x-2]
			slots := 1 + g.n(9)
			l := 3 + 4*slots
			if l > room() {
				slots = (room() - 3) / 4
				if slots < 1 {
					continue
				}
				l = 3 + 4*slots
			}
			used := g.n(slots + 1)
			ptr := 4 + 4*used
			switch g.n(10) {
			case 0:
				ptr = g.pick(0, 1, 2, 3, 5, 255, l+2, int(g.u8()))
			case 1:
				l = g.pick(0, 1, 2, 3, 4, 5, 6, l-1, l+4)
			}
			o := []byte{kind, uint8(l), uint8(ptr)}
			o = append(o, g.bytes(4*slots)...)
			b = append(b, o...)
			kinds = append(kinds, fmt.Sprintf("%d len %d ptr %d", kind, l, ptr))
		case 5, 6: // timestamp, flags 0, 1 or 3 (and others)
			flag := g.pick(0, 1, 3, 0, 1, 3, 2, 4, 15)
			per := 4
			if flag == 1 || flag == 3 {
				per = 8
			}
			slots := 1 + g.n(4)
			l := 4 + per*slots
			for l > room() && slots > 0 {
				slots--
				l = 4 + per*slots
			}
			if slots == 0 {
				continue
			}
			used := g.n(slots + 1)
			ptr := 5 + per*used
			switch g.n(10) {
			case 0:
				ptr = g.pick(0, 1, 4, 6, 255, l+4, int(g.u8()))
			case 1:
				l = g.pick(2, 3, 4, 5, 8, 12, l-1, l+4)
			case 2:
				l = 4 + 4*(1+g.n(room()/4-1+1)) // a length that ignores the flag's 8-byte entries
				if l > room() {
					l = room()
				}
			}
			if l > room() {
				l = room()
			}
			oflw := 0
			if g.p(0.2) {
				oflw = g.n(16)
			}
			o := []byte{craft.IPOptTimestamp, uint8(l), uint8(ptr), uint8(oflw<<4 | flag)}
			if l > 4 {
				o = append(o, g.bytes(l-4)...)
			}
			b = append(b, o...)
			kinds = append(kinds, fmt.Sprintf("ts len %d ptr %d flag %d", l, ptr, flag))
		case 7: // security (RFC 1108), length 11
			if room() >= 11 {
				b = append(b, 130, 11)
				b = append(b, g.bytes(9)...)
				kinds = append(kinds, "sec")
			}
		case 8: // stream id, router alert (RFC 2113)
			if room() >= 4 {
				kind := uint8(g.pick(136, 148))
				b = append(b, kind, 4, 0, uint8(g.n(2)))
				kinds = append(kinds, fmt.Sprint(kind))
			}
		case 9, 10: // unknown kinds, valid length
			kind := g.u8()
			if kind < 2 {
				kind = 25
			}
			l := 2 + g.n(min(8, room()-1))
			if l > room() {
				continue
			}
			b = append(b, kind, uint8(l))
			b = append(b, g.bytes(l-2)...)
			kinds = append(kinds, fmt.Sprintf("kind %d len %d", kind, l))
		case 11: // a length byte that lies
			kind := uint8(g.pick(7, 68, 130, 136, 148, 25, 131, int(g.u8())))
			l := g.pick(0, 1, 2, 255, room()+1+g.n(10))
			b = append(b, kind, uint8(l))
			kinds = append(kinds, fmt.Sprintf("kind %d bad len %d", kind, l))
		case 12: // a kind byte alone at the end
			if room() == 1 || g.p(0.3) {
				b = append(b, uint8(g.pick(7, 68, 130)))
				kinds = append(kinds, "lone kind")
			}
		}
	}
	if len(b) > craft.MaxOptionsLen {
		b = b[:craft.MaxOptionsLen]
	}
	g.note("ipopts[%s]", strings.Join(kinds, "; "))
	return b
}

// tcpOptions makes up to 40 bytes of TCP options: every kind rawcraft or
// tshark names, unknown kinds, and malformed lengths.
func (g *diffGen) tcpOptions() []byte {
	var b []byte
	var kinds []string
	room := func() int { return craft.MaxOptionsLen - len(b) }
	add := func(name string, o []byte) {
		if len(o) <= room() {
			b = append(b, o...)
			kinds = append(kinds, name)
		}
	}
	for k := 1 + g.n(6); k > 0 && room() > 0; k-- {
		switch g.n(18) {
		case 0, 1:
			add("nop", []byte{1})
		case 2:
			add("eol", []byte{0})
			if g.p(0.3) {
				add("junk", g.bytes(g.n(room()+1)))
			}
		case 3:
			add("mss", craft.AppendTCPOptMSS(nil, uint16(g.pick(1460, 536, 0, 65535, 1220, int(g.u16())))))
		case 4:
			add("wscale", craft.AppendTCPOptWScale(nil, uint8(g.pick(0, 7, 14, 15, 255, g.n(20)))))
		case 5:
			add("sackok", craft.AppendTCPOptSACKOK(nil))
		case 6:
			var blocks []craft.SACKBlock
			for range 1 + g.n(4) {
				l := g.u32()
				blocks = append(blocks, craft.SACKBlock{Left: l, Right: l + uint32(g.n(3000))})
			}
			add("sack", craft.AppendTCPOptSACK(nil, blocks...))
		case 7, 8:
			add("ts", craft.AppendTCPOptTimestamps(nil, g.u32(), g.u32()))
		case 9: // TCP Fast Open (RFC 7413): a cookie request (length 2) or a cookie of 4 to 16 bytes
			n := g.pick(0, 4, 8, 16, 6, 10, 2)
			add(fmt.Sprintf("tfo %d", n), append([]byte{34, uint8(2 + n)}, g.bytes(n)...))
		case 10: // the experimental TFO option (kind 254, ExID 0xF989)
			n := g.pick(0, 4, 8, 16)
			add(fmt.Sprintf("tfo-exp %d", n), append([]byte{254, uint8(4 + n), 0xf9, 0x89}, g.bytes(n)...))
		case 11: // MD5 signature (RFC 2385), 16 bytes of digest
			add("md5", append([]byte{19, 18}, g.bytes(16)...))
		case 12: // user timeout (RFC 5482)
			add("uto", []byte{28, 4, g.u8(), g.u8()})
		case 13: // an unknown kind with a sane length
			kind := uint8(g.pick(6, 7, 9, 14, 15, 24, 31, 69, 76, 99, 200, 252, 253, 254, int(g.u8())))
			if kind < 2 {
				kind = 99
			}
			n := g.n(min(10, room()))
			add(fmt.Sprintf("kind %d len %d", kind, n+2), append([]byte{kind, uint8(n + 2)}, g.bytes(n)...))
		case 14: // a known kind with the wrong length
			kind := uint8(g.pick(2, 3, 4, 5, 8, 19, 28, 34))
			l := g.pick(0, 1, 3, 5, 6, 9, 11, 12, 2)
			o := []byte{kind, uint8(l)}
			if l > 2 && l-2 <= room()-2 {
				o = append(o, g.bytes(l-2)...)
			}
			add(fmt.Sprintf("kind %d bad len %d", kind, l), o)
		case 15: // a length past the options
			add("len past end", []byte{uint8(g.pick(2, 8, 5, 99)), uint8(room() + 1 + g.n(20))})
		case 16: // a kind byte alone at the end
			if room() == 1 {
				add("lone kind", []byte{uint8(g.pick(2, 3, 8, 99))})
			}
		case 17: // MPTCP capable (RFC 8684), a common real-world option
			add("mptcp", append([]byte{30, 12, 0x01, 0x81}, g.bytes(8)...))
		}
	}
	g.note("tcpopts[%s]", strings.Join(kinds, " "))
	return b
}

// tcp makes a TCP header.
func (g *diffGen) tcp() *craft.TCP {
	h := &craft.TCP{SrcPort: g.port(), DstPort: g.port(), Seq: g.u32(), Window: g.u16()}
	flags := []uint8{craft.TCPSyn, craft.TCPSyn | craft.TCPAck, craft.TCPAck, craft.TCPAck | craft.TCPPsh,
		craft.TCPRst, craft.TCPRst | craft.TCPAck, craft.TCPFin | craft.TCPAck, g.u8(), craft.TCPSyn | craft.TCPEce | craft.TCPCwr}
	h.Flags = flags[g.n(len(flags))]
	if h.Flags&craft.TCPAck != 0 || g.p(0.1) {
		h.Ack = g.u32()
	}
	if h.Flags&craft.TCPUrg != 0 || g.p(0.05) {
		h.Urgent = g.u16()
	}
	if g.p(0.05) {
		h.Reserved = uint8(1 + g.n(15))
		g.mut |= mutTCPRes
	}
	if g.p(0.5) {
		h.Options = g.tcpOptions()
	}
	g.note("tcp %s", craft.FlagNames(h.Flags))
	return h
}

func (g *diffGen) udp() *craft.UDP {
	g.note("udp")
	return &craft.UDP{SrcPort: g.port(), DstPort: g.port()}
}

// transportMutations forces lying or wrong transport fields.
func (g *diffGen) transportMutations(p *craft.Packet) {
	if g.p(0.06) {
		g.mut |= mutL4Csum
		v := craft.Set(g.u16())
		switch {
		case p.TCP != nil:
			p.TCP.Checksum = v
		case p.UDP != nil:
			p.UDP.Checksum = v
		case p.ICMP != nil:
			p.ICMP.Checksum = v
		case p.ICMPv6 != nil:
			p.ICMPv6.Checksum = v
		}
		g.note("l4 checksum forced")
	}
	if p.UDP != nil {
		if g.p(0.04) {
			g.mut |= mutUDPZeroSum
			p.UDP.Checksum = craft.Set[uint16](0)
			g.note("udp checksum 0")
		}
		if g.p(0.05) {
			g.mut |= mutUDPLen
			l := 8 + len(p.Payload)
			v := g.pick(0, 1, 7, 8, l-1, l+1, l+8, l+100, 65535)
			if v < 0 {
				v = 0
			}
			p.UDP.Length = craft.Set(uint16(v))
			g.note("udp len %d", v)
		}
	}
	if p.TCP != nil && g.p(0.05) {
		g.mut |= mutDataOff
		v := uint8(g.n(16))
		p.TCP.DataOffset = craft.Set(v)
		g.note("data offset %d", v)
	}
}

// ipv4 makes an IPv4 frame: TCP, UDP, ICMP, or another protocol;
// sometimes one fragment of it.
func (g *diffGen) ipv4() []byte {
	e := g.ethernet()
	h := g.ipv4Header()
	p := craft.Packet{IPv4: h, Payload: g.payload()}
	switch x := g.n(100); {
	case x < 40:
		p.TCP = g.tcp()
	case x < 65:
		p.UDP = g.udp()
	case x < 95:
		g.icmp(&p)
	default:
		h.Protocol = craft.Set(uint8(g.pick(0, 2, 47, 50, 51, 89, 132, 255, 41)))
		g.note("ipv4 proto %d", h.Protocol.Or(0))
		if h.Protocol.Or(0) == 41 { // IPv6 in IPv4
			p.Payload = g.bytes(g.n(60))
		}
	}
	g.transportMutations(&p)
	fragment := g.p(0.08)
	if !fragment {
		g.ipv4Mutations(h, &p)
	}
	b, err := p.Append(nil)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", strings.Join(g.what, " "), err))
	}
	if fragment && len(b) > 28 {
		frags, err := g.fragments4(b)
		if err == nil {
			b = frags
		}
	}
	hdr := make([]byte, e.Len())
	if err := e.Encode(hdr, craft.EtherTypeIPv4); err != nil {
		panic(err)
	}
	return append(hdr, b...)
}

// fragments4 splits an IPv4 datagram and returns one of its fragments.
func (g *diffGen) fragments4(b []byte) ([]byte, error) {
	o := craft.FragOptions{DataSize: 8 * (1 + g.n(max(1, (len(b)-20)/8)))}
	if g.p(0.2) {
		o.TinyFirst = 8
	}
	_, frags, err := craft.Fragments(nil, nil, b, o)
	if err != nil || len(frags) == 0 {
		return nil, fmt.Errorf("no fragments")
	}
	f := frags[g.n(len(frags))]
	g.note("fragment %d of %d (offset %d, MF %v)", f.Index, len(frags), f.Offset, f.MF)
	return f.Bytes, nil
}

func (g *diffGen) ipv4Mutations(h *craft.IPv4, p *craft.Packet) {
	if g.p(0.05) {
		g.mut |= mutIPCsum
		h.Checksum = craft.Set(g.u16())
		g.note("ip checksum forced")
	}
	switch x := g.n(100); {
	case x < 4:
		g.mut |= mutIPLen
		n := p.Len() - 0
		if p.Ethernet != nil {
			n -= p.Ethernet.Len()
		}
		v := g.pick(n-1, n+1, n-8, n+20, n+1000, 20, 21, 19, 28, 40, 65535)
		if v < 0 {
			v = 1
		}
		h.TotalLen = craft.Set(uint16(v))
		g.note("total length %d", v)
	case x < 5:
		g.mut |= mutIPZeroLen
		h.TotalLen = craft.Set[uint16](0)
		g.note("total length 0")
	case x < 8:
		g.mut |= mutIHL
		v := uint8(g.n(16))
		h.IHL = craft.Set(v)
		g.note("ihl %d", v)
	case x < 9:
		g.mut |= mutVersion
		v := uint8(g.pick(0, 6, 5, 15))
		h.Version = craft.Set(v)
		g.note("version %d", v)
	}
}

// icmp makes an ICMP message: a query, or an error quoting a datagram,
// with RFC 4884 extensions (an MPLS label stack, RFC 4950) at times.
func (g *diffGen) icmp(p *craft.Packet) {
	switch x := g.n(10); {
	case x < 3:
		t := uint8(g.pick(int(craft.ICMPEcho), int(craft.ICMPEchoReply), int(craft.ICMPTimestamp), int(craft.ICMPTimestampReply), 9, 10, 15, 17, 42, 43, int(g.u8())))
		p.ICMP = &craft.ICMP{Type: t, Code: uint8(g.pick(0, 0, 0, 1, int(g.u8()))), Rest: g.u32()}
		if t == craft.ICMPTimestamp || t == craft.ICMPTimestampReply {
			p.Payload = g.bytes(12)
		}
		g.note("icmp type %d", t)
	default:
		t := uint8(g.pick(int(craft.ICMPUnreachable), int(craft.ICMPUnreachable), int(craft.ICMPTimeExceeded), int(craft.ICMPParamProblem), int(craft.ICMPRedirect), int(craft.ICMPSourceQuench)))
		c := uint8(g.n(4))
		if t == craft.ICMPUnreachable {
			c = uint8(g.n(16))
		}
		if g.p(0.05) {
			c = g.u8()
		}
		h := &craft.ICMP{Type: t, Code: c}
		switch {
		case t == craft.ICMPUnreachable && c == craft.CodeFragNeeded:
			h.Rest = uint32(g.pick(0, 576, 1280, 1400, 1492, 68, int(g.u16())))
		case t == craft.ICMPParamProblem:
			h.Rest = uint32(g.n(60)) << 24
		case t == craft.ICMPRedirect:
			h.Rest = g.u32()
		case g.p(0.1):
			h.Rest = g.u32() // unused bits set
		}
		inner := g.quotedDatagram4()
		q := inner
		switch g.n(4) {
		case 0:
			q = craft.Quote(inner) // the header and 8 data bytes (RFC 792)
		case 1:
			if len(inner) > 28 {
				q = inner[:20+g.n(len(inner)-20)]
			}
		}
		g.note("icmp error %d/%d quoting %d bytes", t, c, len(q))
		if (t == craft.ICMPUnreachable || t == craft.ICMPTimeExceeded || t == craft.ICMPParamProblem) && g.p(0.3) {
			q = g.rfc4884(q, h, false)
		}
		p.ICMP, p.Payload = h, q
	}
}

// rfc4884 pads a quoted datagram to 128 bytes, sets the length field and
// appends an extension structure holding an MPLS label stack (RFC 4950);
// at times with no length field (the compatibility case, RFC 4884 §5) or
// a structure that lies.
func (g *diffGen) rfc4884(q []byte, h any, v6 bool) []byte {
	pad := 128
	if len(q) > pad {
		pad = (len(q) + 7) &^ 7
		if pad > 128+64 {
			q, pad = q[:128], 128
		}
	}
	out := append([]byte(nil), q...)
	for len(out) < pad {
		out = append(out, 0)
	}
	var stack []craft.MPLSEntry
	for i := range 1 + g.n(3) {
		stack = append(stack, craft.MPLSEntry{Label: g.u32() & 0xfffff, TC: uint8(g.n(8)), TTL: g.u8()})
		_ = i
	}
	stack[len(stack)-1].S = true
	out = craft.AppendMPLSExtension(out, stack)
	length := pad / 4
	if v6 {
		length = pad / 8
	}
	compat := g.p(0.2)
	if compat {
		length = 0
	}
	if g.p(0.1) {
		out[pad+2] ^= 0x55 // a checksum that does not hold
		g.note("ext checksum wrong")
	}
	if g.p(0.05) {
		length = g.pick(1, 4, 31, 255)
		g.note("length %d", length)
	}
	switch h := h.(type) {
	case *craft.ICMP:
		if h.Type == craft.ICMPParamProblem {
			h.Rest = h.Rest&0xff000000 | uint32(length)<<16
		} else {
			h.Rest = h.Rest&0xff00ffff | uint32(length)<<16
		}
	case *craft.ICMPv6:
		h.Rest = h.Rest&0x00ffffff | uint32(length)<<24
	}
	g.note("rfc4884 mpls %d labels compat %v", len(stack), compat)
	return out
}

// quotedDatagram4 is the datagram an ICMP error quotes.
func (g *diffGen) quotedDatagram4() []byte {
	h := &craft.IPv4{Src: g.addr4(), Dst: g.addr4(), ID: g.u16(), TTL: craft.Set(uint8(g.pick(1, 0, 64)))}
	if g.p(0.1) {
		h.Options = craft.AppendIPOptRecordRoute(nil, 1+g.n(3))
	}
	p := craft.Packet{IPv4: h, Payload: g.payload()}
	switch g.n(3) {
	case 0:
		p.TCP = &craft.TCP{SrcPort: g.port(), DstPort: g.port(), Seq: g.u32(), Flags: craft.TCPSyn, Window: g.u16()}
	case 1:
		p.UDP = &craft.UDP{SrcPort: g.port(), DstPort: g.port()}
	default:
		e := craft.Echo(g.u16(), g.u16())
		p.ICMP = &e
	}
	if g.p(0.1) {
		h.Checksum = craft.Set(g.u16())
		g.note("quoted ip checksum forced")
	}
	if g.p(0.1) {
		h.Flags = craft.FlagMF
		g.note("quoted MF")
	}
	b, err := p.Append(nil)
	if err != nil {
		panic(err)
	}
	return b
}

// ipv6Exts makes an extension header chain.
func (g *diffGen) ipv6Exts() []craft.IPv6Ext {
	var exts []craft.IPv6Ext
	var names []string
	if g.p(0.35) {
		exts = append(exts, craft.HopByHop(g.ipv6Options(true)))
		names = append(names, "hbh")
	}
	for k := g.n(3); k > 0; k-- {
		switch g.n(6) {
		case 0, 1:
			exts = append(exts, craft.DestOpts(g.ipv6Options(false)))
			names = append(names, "dest")
		case 2:
			var addrs []netip.Addr
			for range 1 + g.n(3) {
				addrs = append(addrs, g.addr6())
			}
			left := uint8(g.n(len(addrs) + 1))
			exts = append(exts, craft.RoutingType0(left, addrs...))
			names = append(names, fmt.Sprintf("rt0 left %d", left))
		case 3:
			left := uint8(g.n(2))
			a := g.addr6().As16()
			exts = append(exts, craft.Routing(2, left, append(make([]byte, 4), a[:]...)))
			names = append(names, fmt.Sprintf("rt2 left %d", left))
		case 4:
			n := 1 + g.n(3)
			left := uint8(g.n(n))
			d := []byte{uint8(n - 1), 0, 0, 0}
			for range n {
				a := g.addr6().As16()
				d = append(d, a[:]...)
			}
			exts = append(exts, craft.Routing(4, left, d))
			names = append(names, fmt.Sprintf("srh left %d", left))
		case 5:
			typ := uint8(g.pick(3, 1, 5, 253, 254, int(g.u8())))
			left := uint8(g.n(3))
			exts = append(exts, craft.Routing(typ, left, g.bytes(4+g.n(20))))
			names = append(names, fmt.Sprintf("rt%d left %d", typ, left))
		}
	}
	if g.p(0.1) {
		exts = append(exts, craft.FragmentExt(0, false, g.u32()))
		names = append(names, "atomic frag")
	}
	if len(names) > 0 {
		g.note("ext[%s]", strings.Join(names, " "))
	}
	return exts
}

// ipv6Options makes Hop-by-Hop or Destination options: padding, Router
// Alert, Jumbo Payload, and unknown types of every action.
func (g *diffGen) ipv6Options(hbh bool) []byte {
	var b []byte
	for k := g.n(4); k > 0; k-- {
		switch g.n(8) {
		case 0:
			b = append(b, craft.IPv6OptPad1)
		case 1:
			b = craft.AppendIPv6OptPadN(b, 2+g.n(6))
		case 2:
			if hbh {
				b = craft.AppendIPv6OptRouterAlert(b, uint16(g.pick(0, 1, 2, int(g.u16()))))
			}
		case 3:
			if hbh {
				b = craft.AppendIPv6Opt(b, craft.IPv6OptJumbo, binary.BigEndian.AppendUint32(nil, uint32(g.pick(0, 100, 65536, 70000, int(g.u32())))))
			}
		case 4, 5:
			t := uint8(g.pick(0x1e, 0x3e, 0x5e, 0x7e, 0x9e, 0xbe, 0xde, 0xfe, 0x08, 0x4d, 0x63, int(g.u8())))
			if t <= 1 {
				t = 0x1e
			}
			b = craft.AppendIPv6Opt(b, t, g.bytes(g.n(8)))
		case 6: // PadN with non-zero bytes (RFC 8200 §4.2 says zeros)
			b = append(b, craft.IPv6OptPadN, 2, 0, g.u8()|1)
		case 7: // an option whose length runs past the header
			b = append(b, uint8(g.pick(1, 5, 0x1e, 0xc2)), uint8(10+g.n(40)))
		}
	}
	return b
}

// ipv6 makes an IPv6 frame: TCP, UDP, ICMPv6 (queries, errors, NDP, MLD)
// or no next header, through an extension chain; at times a fragment.
func (g *diffGen) ipv6() []byte {
	e := g.ethernet()
	h := &craft.IPv6{Src: g.addr6(), Dst: g.addr6(), HopLimit: craft.Set(uint8(g.pick(64, 64, 255, 1, 0, int(g.u8()))))}
	if g.p(0.3) {
		h.FlowLabel = g.u32() & 0xfffff
	}
	if g.p(0.2) {
		h.TrafficClass = g.u8()
	}
	p := craft.Packet{IPv6: h, Payload: g.payload()}
	if g.p(0.45) {
		p.IPv6Ext = g.ipv6Exts()
	}
	switch x := g.n(100); {
	case x < 30:
		p.TCP = g.tcp()
	case x < 55:
		p.UDP = g.udp()
	case x < 95:
		g.icmpv6(&p)
	default:
		g.note("no next header")
	}
	g.transportMutations(&p)
	fragment := g.p(0.1)
	if !fragment {
		g.ipv6Mutations(&p)
	}
	b, err := p.Append(nil)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", strings.Join(g.what, " "), err))
	}
	if fragment {
		if f, err := g.fragments6(b); err == nil {
			b = f
		}
	}
	hdr := make([]byte, e.Len())
	if err := e.Encode(hdr, craft.EtherTypeIPv6); err != nil {
		panic(err)
	}
	return append(hdr, b...)
}

// fragments6 splits an IPv6 packet and returns one of its fragments; with
// a tiny first fragment, at times one whose header chain is split (RFC
// 7112).
func (g *diffGen) fragments6(b []byte) ([]byte, error) {
	o := craft.FragOptions6{ID: g.u32()}
	o.DataSize = 8 * (1 + g.n(max(1, (len(b)-40)/8)))
	if g.p(0.3) {
		o.TinyFirst = 8
		g.note("tiny first")
	}
	if g.p(0.1) {
		o = craft.FragOptions6{ID: o.ID, Atomic: true}
	}
	_, frags, err := craft.Fragments6(nil, nil, b, o)
	if err != nil || len(frags) == 0 {
		return nil, fmt.Errorf("no fragments")
	}
	f := frags[g.n(len(frags))]
	split := ""
	if craft.ChainSplit(f.Bytes) {
		split = ", chain split (RFC 7112)"
	}
	g.note("fragment %d of %d (offset %d, M %v%s)", f.Index, len(frags), f.Offset, f.MF, split)
	return f.Bytes, nil
}

func (g *diffGen) ipv6Mutations(p *craft.Packet) {
	switch x := g.n(100); {
	case x < 5:
		g.mut |= mutIPLen
		n := p.Len() - craft.IPv6HeaderLen
		v := g.pick(n-1, n+1, n-8, n+20, n+1000, 0, 8, 65535)
		if v < 0 {
			v = 0
		}
		p.IPv6.PayloadLen = craft.Set(uint16(v))
		g.note("payload length %d", v)
	case x < 6:
		g.mut |= mutVersion
		v := uint8(g.pick(0, 4, 7, 15))
		p.IPv6.Version = craft.Set(v)
		g.note("version %d", v)
	case x < 9 && len(p.IPv6Ext) > 0:
		g.mut |= mutExtLen
		i := g.n(len(p.IPv6Ext))
		v := uint8(g.pick(0, 1, 2, 5, 255))
		p.IPv6Ext[i].HdrExtLen = craft.Set(v)
		g.note("ext %d hdr ext len %d", i, v)
	}
	// A Jumbo Payload option asks for a payload length of 0 (RFC 2675 §3).
	for _, e := range p.IPv6Ext {
		if e.Kind == craft.ProtoHopByHop && hasJumbo(e.Data) && g.p(0.5) {
			p.IPv6.PayloadLen = craft.Set[uint16](0)
			g.note("jumbo: payload length 0")
		}
	}
}

func hasJumbo(opts []byte) bool {
	for off := 0; off < len(opts); {
		o, next, err := craft.NextIPv6Option(opts, off)
		if err != nil {
			return false
		}
		if o.Type == craft.IPv6OptJumbo {
			return true
		}
		off = next
	}
	return false
}

// icmpv6 makes an ICMPv6 message: echo, an error quoting a packet (with
// RFC 4884 extensions at times), NDP with options, MLD, or another type.
func (g *diffGen) icmpv6(p *craft.Packet) {
	switch x := g.n(20); {
	case x < 3:
		t := uint8(g.pick(int(craft.ICMPv6EchoRequest), int(craft.ICMPv6EchoReply)))
		p.ICMPv6 = &craft.ICMPv6{Type: t, Code: uint8(g.pick(0, 0, 0, int(g.u8()))), Rest: g.u32()}
		g.note("icmpv6 echo %d", t)
	case x < 9:
		t := uint8(1 + g.n(4))
		c := uint8(g.n(4))
		if t == craft.ICMPv6Unreachable {
			c = uint8(g.n(9))
		}
		if g.p(0.05) {
			c = g.u8()
		}
		h := &craft.ICMPv6{Type: t, Code: c}
		switch t {
		case craft.ICMPv6PacketTooBig:
			h.Rest = uint32(g.pick(1280, 1500, 1280, 0, int(g.u32())))
		case craft.ICMPv6ParamProblem:
			h.Rest = uint32(g.pick(0, 4, 6, 7, 40, 42, 44, int(g.u32())))
		}
		inner := g.quotedPacket6()
		q := craft.QuoteV6(inner)
		if g.p(0.3) && len(q) > 48 {
			q = q[:40+g.n(len(q)-40)]
		}
		g.note("icmpv6 error %d/%d quoting %d bytes", t, c, len(q))
		if (t == craft.ICMPv6Unreachable || t == craft.ICMPv6TimeExceeded) && g.p(0.3) {
			q = g.rfc4884(q, h, true)
		}
		p.ICMPv6, p.Payload = h, q
	case x < 16:
		g.ndp(p)
	case x < 18:
		g.mld(p)
	default:
		t := uint8(g.pick(100, 101, 127, 138, 139, 140, 141, 142, 144, 145, 200, 255, int(g.u8())))
		p.ICMPv6 = &craft.ICMPv6{Type: t, Code: g.u8(), Rest: g.u32()}
		g.note("icmpv6 type %d", t)
	}
}

// quotedPacket6 is the packet an ICMPv6 error quotes.
func (g *diffGen) quotedPacket6() []byte {
	h := &craft.IPv6{Src: g.addr6(), Dst: g.addr6(), HopLimit: craft.Set(uint8(g.pick(1, 0, 64)))}
	p := craft.Packet{IPv6: h, Payload: g.payload()}
	if g.p(0.2) {
		p.IPv6Ext = []craft.IPv6Ext{craft.DestOpts(nil)}
	}
	switch g.n(3) {
	case 0:
		p.TCP = &craft.TCP{SrcPort: g.port(), DstPort: g.port(), Seq: g.u32(), Flags: craft.TCPSyn}
	case 1:
		p.UDP = &craft.UDP{SrcPort: g.port(), DstPort: g.port()}
	default:
		e := craft.Echo6(g.u16(), g.u16())
		p.ICMPv6 = &e
	}
	b, err := p.Append(nil)
	if err != nil {
		panic(err)
	}
	return b
}

// ndpOptions makes NDP options (RFC 4861 §4.6): link-layer addresses,
// prefix information, MTU, redirected header, unknown types, and lengths
// that lie.
func (g *diffGen) ndpOptions() []byte {
	var b []byte
	for k := g.n(4); k > 0; k-- {
		switch g.n(8) {
		case 0, 1:
			b = craft.AppendNDPOptLinkAddr(b, uint8(1+g.n(2)), g.mac())
		case 2:
			bits := g.pick(64, 48, 128, 0)
			pfx, _ := g.addr6().Prefix(bits)
			b = craft.AppendNDPOptPrefix(b, pfx, g.u8()&0xe0, g.u32(), g.u32())
		case 3:
			b = craft.AppendNDPOptMTU(b, uint32(g.pick(1500, 1280, 9000, int(g.u32()))))
		case 4:
			b = craft.AppendNDPOpt(b, craft.NDPOptRedirected, append(make([]byte, 6), g.bytes(8*g.n(4))...))
		case 5:
			b = craft.AppendNDPOpt(b, uint8(g.pick(6, 8, 14, 24, 25, 31, 38, 200)), g.bytes(g.n(14)))
		case 6: // length 0
			b = append(b, uint8(1+g.n(5)), 0, 0, 0, 0, 0, 0, 0)
		case 7: // length past the message
			b = append(b, uint8(1+g.n(5)), uint8(2+g.n(5)), 0, 0, 0, 0, 0, 0)
		}
	}
	return b
}

// ndp makes a router or neighbor solicitation or advertisement, or a
// redirect.
func (g *diffGen) ndp(p *craft.Packet) {
	n := craft.NDP{Type: uint8(133 + g.n(5)), Options: g.ndpOptions()}
	switch n.Type {
	case craft.ICMPv6RouterAdvert:
		n.CurHopLimit, n.Flags, n.RouterLifetime = g.u8(), g.u8(), g.u16()
		n.ReachableTime, n.RetransTimer = g.u32(), g.u32()
	case craft.ICMPv6NeighborSolicit:
		n.Target = g.addr6()
	case craft.ICMPv6NeighborAdvert:
		n.Target, n.Flags = g.addr6(), g.u8()&0xe0
	case craft.ICMPv6Redirect:
		n.Target, n.Destination = g.addr6(), g.addr6()
	}
	h := n.Header()
	if g.p(0.1) {
		h.Code = g.u8()
	}
	if g.p(0.1) {
		h.Rest ^= g.u32() // reserved bits
	}
	body := n.AppendBody(nil)
	if g.p(0.1) && len(body) > 0 {
		body = body[:g.n(len(body))]
		g.note("ndp body cut to %d", len(body))
	}
	p.ICMPv6, p.Payload = &h, body
	p.IPv6.HopLimit = craft.Set(uint8(g.pick(255, 255, 255, 64)))
	g.note("ndp %d", n.Type)
}

// mld makes a Multicast Listener Query, Report or Done (RFC 2710), or an
// MLDv2 report (RFC 3810).
func (g *diffGen) mld(p *craft.Packet) {
	t := uint8(g.pick(130, 131, 132, 143))
	h := &craft.ICMPv6{Type: t, Code: 0}
	switch t {
	case 130:
		h.Rest = uint32(g.u16()) << 16 // maximum response delay
		a := g.addr6().As16()
		p.Payload = a[:]
		if g.p(0.5) { // MLDv2 query: S, QRV, QQIC, sources
			n := g.n(3)
			p.Payload = append(p.Payload, g.u8()&0xf, g.u8(), 0, uint8(n))
			for range n {
				s := g.addr6().As16()
				p.Payload = append(p.Payload, s[:]...)
			}
		}
	case 131, 132:
		a := g.addr6().As16()
		p.Payload = a[:]
	case 143:
		n := 1 + g.n(2)
		h.Rest = uint32(n)
		p.Payload = nil
		for range n {
			a := g.addr6().As16()
			p.Payload = append(p.Payload, uint8(1+g.n(6)), 0, 0, 0)
			p.Payload = append(p.Payload, a[:]...)
		}
	}
	p.ICMPv6 = h
	p.IPv6.HopLimit = craft.Set[uint8](1)
	g.note("mld %d", t)
}
