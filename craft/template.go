package craft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Template is a frame (Ethernet II + IPv4 or IPv6 + …) or a bare IPv4 or
// IPv6 packet, built once, with the byte offsets of the fields that vary from
// packet to packet: the IP identification, TTL (hop limit) and addresses, the
// TCP/UDP ports, the TCP sequence and acknowledgment numbers, the ICMP or
// ICMPv6 echo identifier and sequence number. Each setter writes its field in place and updates every checksum
// that covers it incrementally (RFC 1624 §3, eqn. 3), so that the bytes equal
// those a full rebuild with the new value would give, without summing the
// packet again. Setters allocate nothing.
//
// The offsets of one frame layout (where the IPv4 header, the transport
// header and the checksums sit) are fixed when the Template is made:
//
//	Ethernet  0..13     (when present; the IPv4 header then starts at 14)
//	IPv4      ID +4, TTL +8, checksum +10, source +12, destination +16
//	TCP       ports +0 +2, seq +4, ack +8, checksum +16
//	UDP       ports +0 +2, checksum +6
//	ICMP      checksum +2, identifier +4, sequence number +6
//	IPv6      hop limit +7, source +8, destination +24 (no header checksum);
//	          the transport after every extension header (RFC 8200 §4)
//	ICMPv6    as ICMP, its checksum over the pseudo-header (RFC 4443 §2.3)
//
// Template is a value: copying one copies the offsets and shares the bytes.
// Use Clone for an independent copy, or On to patch another buffer that
// holds a copy of the same frame (a send ring's slot). The zero Template
// holds nothing; its setters do nothing.
type Template struct {
	b      []byte
	ip     int   // offset of the IP header: 0, or 14 after an Ethernet header
	l4     int   // offset of the transport header; -1 when the frame does not carry it
	layers Layer // the layers whose headers the frame holds
	ipSum  int   // offset of the IPv4 header checksum; -1 when it was forced
	ipEnd  int   // the IPv4 checksum covers b[ip:ipEnd] (IHL×4 bytes, or what a forced IHL says)
	l4Sum  int   // offset of the transport checksum; -1 when forced, absent (UDP 0) or not in this frame
	pseudo bool  // the transport checksum covers the pseudo-header (TCP, UDP)
	udp    bool  // the transport checksum is UDP's: a result of 0x0000 is sent as 0xffff (RFC 768)
	// wide: a forced IHL makes the IPv4 checksum cover transport bytes, so
	// that transport words go through the general path (fix).
	wide bool
	v6   bool // the IP header is IPv6's
	// routed: a Routing header names the final destination, which the
	// transport checksum's pseudo-header holds instead of the IPv6
	// destination field (RFC 8200 §8.1).
	routed bool
	// fragID is the offset of an IPv6 Fragment header's identification,
	// 0 when the packet has none.
	fragID int
}

// Template builds p into buf (as p.Append(buf[:0]) does, reusing buf when it
// has room for p.Len() bytes) and records where its varying fields are. The
// layout is the builder's: the transport header follows the IPv4 header and
// its options, whatever a forced IHL says, and the IPv4 checksum covers what
// the builder summed (IHL×4 bytes).
//
// Checksums p forces (Set on IPv4.Checksum, TCP.Checksum, UDP.Checksum or
// ICMP.Checksum) are never updated by the setters: a forced value stays
// exactly as given. A UDP checksum of 0 ("no checksum", RFC 768) stays 0. A
// packet whose IPv4 fragment offset is not zero carries its transport layer
// as data (Carries reports false; only IPv4 fields are patched), as a
// receiver sees it. An IPv6 packet is laid out the same way: its transport
// follows every extension header, and a Fragment header with a non-zero
// offset leaves it uncarried. Errors are those of Append, or ErrLayers for
// a packet without an IP header (ARP).
func (p *Packet) Template(buf []byte) (Template, error) {
	if p.IPv6 != nil {
		return p.template6(buf)
	}
	if p.IPv4 == nil {
		return Template{}, fmt.Errorf("%w: a template needs an IPv4 or IPv6 header to patch", ErrLayers)
	}
	b, err := p.Append(buf[:0])
	if err != nil {
		return Template{}, err
	}
	t := Template{b: b, l4: -1, ipSum: -1, l4Sum: -1, layers: LayerIPv4}
	if p.Ethernet != nil {
		t.ip = p.Ethernet.Len()
		t.layers |= LayerEthernet
	}
	n := p.IPv4.Len()
	if !p.IPv4.Checksum.IsSet() {
		// As IPv4.encode sums it: IHL×4 bytes, or fewer when the datagram
		// is shorter than a forced IHL says.
		t.ipSum = t.ip + 10
		t.ipEnd = t.ip + min(int(p.IPv4.IHL.Or(uint8(n/4)))*4, len(b)-t.ip)
	}
	if p.IPv4.FragOff != 0 {
		return t, nil
	}
	l4 := t.ip + n
	switch {
	case p.TCP != nil:
		t.layers |= LayerTCP
		t.l4, t.pseudo = l4, true
		if !p.TCP.Checksum.IsSet() {
			t.l4Sum = l4 + 16
		}
	case p.UDP != nil:
		t.layers |= LayerUDP
		t.l4, t.pseudo, t.udp = l4, true, true
		if !p.UDP.Checksum.IsSet() {
			t.l4Sum = l4 + 6 // computed: never 0, a computed 0 is sent as 0xffff
		}
	case p.ICMP != nil:
		t.layers |= LayerICMP
		t.l4 = l4
		if !p.ICMP.Checksum.IsSet() {
			t.l4Sum = l4 + 2
		}
	}
	t.wide = t.ipSum >= 0 && t.l4 >= 0 && t.ipEnd > t.l4
	return t, nil
}

func (p *Packet) template6(buf []byte) (Template, error) {
	b, err := p.Append(buf[:0])
	if err != nil {
		return Template{}, err
	}
	t := Template{b: b, l4: -1, ipSum: -1, l4Sum: -1, layers: LayerIPv6, v6: true}
	if p.Ethernet != nil {
		t.ip = p.Ethernet.Len()
		t.layers |= LayerEthernet
	}
	l4 := t.ip + IPv6HeaderLen
	for i := range p.IPv6Ext {
		e := &p.IPv6Ext[i]
		if e.Kind == ProtoFragment && t.fragID == 0 && l4+8 <= len(b) {
			t.fragID = l4 + 4
		}
		if e.Kind == ProtoFragment && len(e.Data) >= 2 && binary.BigEndian.Uint16(e.Data)>>3 != 0 {
			return t, nil // a later fragment: its data starts mid-transport
		}
		if _, ok := e.finalDst(); ok {
			t.routed = true
		}
		l4 += e.Len()
	}
	t.set6(l4, p.TCP != nil, p.UDP != nil, p.ICMPv6 != nil)
	switch {
	case p.TCP != nil && p.TCP.Checksum.IsSet(),
		p.UDP != nil && p.UDP.Checksum.IsSet(),
		p.ICMPv6 != nil && p.ICMPv6.Checksum.IsSet():
		t.l4Sum = -1
	}
	return t, nil
}

// set6 records an IPv6 packet's transport header at l4 and its checksum.
func (t *Template) set6(l4 int, tcp, udp, icmp bool) {
	switch {
	case tcp:
		t.layers |= LayerTCP
		t.l4, t.l4Sum, t.pseudo = l4, l4+16, true
	case udp:
		t.layers |= LayerUDP
		t.l4, t.l4Sum, t.pseudo, t.udp = l4, l4+6, true, true // RFC 8200 §8.1: a computed zero goes as 0xffff
	case icmp:
		t.layers |= LayerICMPv6
		t.l4, t.l4Sum, t.pseudo = l4, l4+2, true
	}
}

// ParseTemplate makes a Template of bytes already built: with ethernet, b
// starts with an Ethernet II header (802.1Q tags are not supported) whose
// EtherType must be IPv4 (0x0800); otherwise b starts with the IPv4 header.
// craft's decoder finds the fields: the IPv4 header must decode (version 4,
// IHL ≥ 5 and within b, a total length no shorter than the header); the
// transport header is taken from the IP protocol field, at IHL×4, when its
// fixed part (TCP 20, UDP 8, ICMP 8 bytes) lies within the total length and
// the fragment offset is 0. A TCP header cut by a tiny first fragment
// (RFC 1858 §3) is not carried: its checksum lies in another fragment.
//
// Every checksum present is updated incrementally, whatever it holds; a UDP
// checksum of 0 ("no checksum", RFC 768) is never touched. The Template
// shares b. Errors are *ParseError (Ethernet or IPv4 layer, ErrTruncated or
// ErrMalformed); a malformed transport header (a TCP data offset below 5, a
// UDP length below 8) is not an error, its fixed fields are patched as they
// stand.
func ParseTemplate(b []byte, ethernet bool) (Template, error) {
	t := Template{b: b, l4: -1, ipSum: -1, l4Sum: -1, layers: LayerIPv4}
	v6 := !ethernet && len(b) > 0 && b[0]>>4 == 6
	if ethernet {
		var e Ethernet
		var tags [MaxVLANTags]VLAN
		n, err := e.decode(b, tags[:0:MaxVLANTags])
		if err != nil {
			return Template{}, err
		}
		typ, _ := e.Type.Get()
		if typ != EtherTypeIPv4 && typ != EtherTypeIPv6 {
			return Template{}, &ParseError{Layer: "Ethernet", Field: "EtherType", Offset: 12, Err: ErrMalformed,
				Detail: fmt.Sprintf("EtherType %#04x, neither IPv4 (0x0800) nor IPv6 (0x86dd)", typ)}
		}
		v6 = typ == EtherTypeIPv6
		t.ip = n
		t.layers |= LayerEthernet
	}
	if v6 {
		return parseTemplate6(t)
	}
	var g Datagram
	if err := g.decode(b[t.ip:], t.ip, false); err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Layer == "IPv4" && pe.Field != "options" {
			return Template{}, err
		}
		// A transport header that does not decode, or IPv4 options a
		// receiver would refuse (built so on purpose): the header length
		// still says where the transport starts, and its fixed fields are
		// where RFC 9293 and RFC 768 put them.
	}
	t.ipSum = t.ip + 10
	t.ipEnd = t.ip + len(g.ipHdr)
	if g.IPv4.FragOff != 0 {
		return t, nil
	}
	l4, seg := t.ip+len(g.ipHdr), g.l4
	switch g.IPv4.Protocol.Or(0) {
	case ProtoTCP:
		if len(seg) >= TCPHeaderLen {
			t.layers |= LayerTCP
			t.l4, t.l4Sum, t.pseudo = l4, l4+16, true
		}
	case ProtoUDP:
		if len(seg) >= UDPHeaderLen {
			t.layers |= LayerUDP
			t.l4, t.pseudo, t.udp = l4, true, true
			if binary.BigEndian.Uint16(seg[6:]) != 0 {
				t.l4Sum = l4 + 6
			}
		}
	case ProtoICMP:
		if len(seg) >= ICMPHeaderLen {
			t.layers |= LayerICMP
			t.l4, t.l4Sum = l4, l4+2
		}
	}
	return t, nil
}

// parseTemplate6 is ParseTemplate for an IPv6 packet at t.ip.
func parseTemplate6(t Template) (Template, error) {
	t.layers = t.layers&LayerEthernet | LayerIPv6
	t.v6 = true
	var g Datagram
	if err := g.decode6(t.b[t.ip:], t.ip, false); err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Layer == "IPv6" || pe.Layer == "IPv6 ext" || g.Layers&LayerIPv6 == 0 {
			return Template{}, err
		}
	}
	off := t.ip + IPv6HeaderLen
	for i := range g.NExt {
		e := &g.Ext[i]
		if e.Kind == ProtoFragment && t.fragID == 0 && off+8 <= len(t.b) {
			t.fragID = off + 4
		}
		off += e.Len()
		if e.Kind == ProtoFragment && e.FragOffset() != 0 {
			return t, nil
		}
		if _, ok := e.finalDst(); ok {
			t.routed = true
		}
	}
	l4 := g.TransportOffset
	end := min(t.ip+IPv6HeaderLen+g.payloadLen(), len(t.b))
	seg := t.b[min(l4, end):end]
	next := g.IPv6.NextHeader.Or(0)
	if g.NExt > 0 {
		next = g.Ext[g.NExt-1].NextHeader.Or(0)
	}
	switch {
	case next == ProtoTCP && len(seg) >= TCPHeaderLen:
		t.set6(l4, true, false, false)
	case next == ProtoUDP && len(seg) >= UDPHeaderLen:
		t.set6(l4, false, true, false)
		if binary.BigEndian.Uint16(seg[6:]) == 0 {
			t.l4Sum = -1 // "no checksum" stays as sent
		}
	case next == ProtoICMPv6 && len(seg) >= ICMPHeaderLen:
		t.set6(l4, false, false, true)
	}
	return t, nil
}

// Bytes returns the frame (or datagram), exactly as long as built; it is the
// Template's own buffer, patched in place by the setters.
func (t *Template) Bytes() []byte { return t.b }

// Clone copies the frame into buf (reusing buf's array when cap(buf) is at
// least len(t.Bytes()), so that it allocates nothing) and returns a Template
// of the copy with the same offsets.
func (t *Template) Clone(buf []byte) Template {
	c := *t
	if t.b != nil {
		c.b = append(buf[:0], t.b...)
	}
	return c
}

// On returns a Template with t's offsets over b, which must hold a frame of
// the same layout: a copy of t's bytes, patched or not (setters read the old
// value of a field from the bytes they patch). Nothing is copied; b is used
// up to len(t.Bytes()), and On panics when b is shorter.
func (t *Template) On(b []byte) Template {
	c := *t
	if t.b != nil {
		c.b = b[:len(t.b)]
	}
	return c
}

// Keep stops the setters from updating the checksum of layer l (LayerIPv4,
// or the transport layer the frame carries): a checksum a user forced stays
// exactly as given while the fields it covers change. ParseTemplate cannot
// know which checksums were forced; a sender that does says so with Keep.
func (t *Template) Keep(l Layer) {
	switch {
	case l == LayerIPv4:
		t.ipSum = -1
	case l&(LayerTCP|LayerUDP|LayerICMP|LayerICMPv6) != 0 && t.layers&l != 0:
		t.l4Sum = -1
	}
}

// IPOffset returns the offset of the IPv4 or IPv6 header: 0, or 14 (EthernetLen)
// after an Ethernet II header, plus 4 per 802.1Q tag.
func (t *Template) IPOffset() int { return t.ip }

// TransportOffset returns the offset of the TCP, UDP or ICMP header, or -1
// when the frame does not carry one (see Carries).
func (t *Template) TransportOffset() int { return t.l4 }

// Carries reports whether the frame holds the headers of every layer in l:
// LayerEthernet, LayerIPv4 or LayerIPv6, and one of LayerTCP, LayerUDP,
// LayerICMP, LayerICMPv6 when that header is in this frame — not in a
// fragment other than the first (RFC 791 §2.3, RFC 8200 §4.5), nor cut by a
// tiny first fragment (TCP).
func (t *Template) Carries(l Layer) bool { return l != 0 && t.b != nil && t.layers&l == l }

// put writes the 16-bit word v at b[at:] and returns what the change adds
// to a one's-complement sum covering it, ~m + m' (RFC 1624 §3), or 0 when
// the word already held v: a setter that changes nothing leaves every byte
// as it was.
func (t *Template) put(at int, v uint16) uint32 {
	old := binary.BigEndian.Uint16(t.b[at:])
	if old == v {
		return 0
	}
	binary.BigEndian.PutUint16(t.b[at:], v)
	return uint32(^old) + uint32(v)
}

// inIP reports whether the IPv4 header checksum covers the word at b[at:].
// It covers IHL×4 bytes; a forced IHL larger than the header makes it cover
// transport fields too, a smaller one leaves header fields out.
func (t *Template) inIP(at int) bool { return t.ipSum >= 0 && at+2 <= t.ipEnd }

// apply is RFC 1624 §3 eqn. 3, HC' = ~(~HC + ~m + m'), with d the sum of
// ~m + m' over every word that changed (a sum of one's-complement terms,
// folded here once): updating for several words at once gives the same
// checksum as updating for each in turn with UpdateChecksum.
func apply(hc uint16, d uint32) uint16 {
	s := uint32(^hc) + d // d < 2^20: three words at most, each under 2^17
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return ^uint16(s)
}

// fix updates the transport checksum by dL4 and then the IPv4 header
// checksum by dIP, plus the change of the transport checksum word itself
// when a forced IHL makes the IPv4 checksum cover it (the builder sums the
// IPv4 header after the transport header is complete).
func (t *Template) fix(dIP, dL4 uint32) {
	if dL4 != 0 && t.l4Sum >= 0 {
		at := t.l4Sum
		old := binary.BigEndian.Uint16(t.b[at:])
		v := apply(old, dL4)
		if v == 0 && t.udp {
			v = 0xffff // RFC 768: a computed zero is sent as all ones
		}
		if v != old {
			binary.BigEndian.PutUint16(t.b[at:], v)
			if t.inIP(at) {
				dIP += uint32(^old) + uint32(v)
			}
		}
	}
	if dIP != 0 && t.ipSum >= 0 {
		at := t.ipSum
		binary.BigEndian.PutUint16(t.b[at:], apply(binary.BigEndian.Uint16(t.b[at:]), dIP))
	}
}

// setIP writes a word of the IPv4 header that the pseudo-header does not
// hold (ID, TTL and protocol) and updates the header checksum.
func (t *Template) setIP(at int, v uint16) {
	if d := t.put(at, v); d != 0 && t.inIP(at) {
		c := t.b[t.ipSum:]
		binary.BigEndian.PutUint16(c, apply(binary.BigEndian.Uint16(c), d))
	}
}

// setL4 writes the words hi, lo (two = false: hi only) of the transport
// header at b[at:] and updates the transport checksum, and the IPv4 one
// when it reaches that far (a forced IHL).
func (t *Template) setL4(at int, hi, lo uint16, two bool) {
	d := t.put(at, hi)
	var dLo uint32
	if two {
		dLo = t.put(at+2, lo)
	}
	if d|dLo == 0 {
		return
	}
	if t.wide {
		var dIP uint32
		if t.inIP(at) {
			dIP = d
		}
		if t.inIP(at + 2) {
			dIP += dLo
		}
		t.fix(dIP, d+dLo)
		return
	}
	if t.l4Sum >= 0 {
		c := t.b[t.l4Sum:]
		v := apply(binary.BigEndian.Uint16(c), d+dLo)
		if v == 0 && t.udp {
			v = 0xffff // RFC 768: a computed zero is sent as all ones
		}
		binary.BigEndian.PutUint16(c, v)
	}
}

// setAddr writes an IPv4 address at b[at:at+4] as two 16-bit words and
// updates the IPv4 header checksum and, when the frame carries the TCP or
// UDP header, the transport checksum through the pseudo-header.
func (t *Template) setAddr(at int, a netip.Addr) {
	s := as4(a)
	hi := t.put(at, uint16(s[0])<<8|uint16(s[1]))
	lo := t.put(at+2, uint16(s[2])<<8|uint16(s[3]))
	if hi|lo == 0 {
		return
	}
	var dIP, dL4 uint32
	if t.inIP(at) {
		dIP += hi
	}
	if t.inIP(at + 2) {
		dIP += lo
	}
	if t.pseudo {
		dL4 = hi + lo
	}
	t.fix(dIP, dL4)
}

// setAddr6 writes an IPv6 address at b[at:at+16] and updates the transport
// checksum through the pseudo-header when pseudo says it holds the address.
func (t *Template) setAddr6(at int, a netip.Addr, pseudo bool) {
	s := as16(a)
	var d uint32
	for i := 0; i < 16; i += 2 {
		d += t.put(at+i, uint16(s[i])<<8|uint16(s[i+1]))
	}
	if d != 0 && pseudo && t.pseudo {
		t.fix(0, d)
	}
}

// SetIPID sets the IPv4 identification (RFC 791 §3.1; RFC 6864 on its
// uniqueness) and updates the header checksum (RFC 1624 §3). An IPv6 header
// has no identification (only a Fragment header does, see SetFragID): it
// does nothing there.
func (t *Template) SetIPID(v uint16) {
	if t.b != nil && !t.v6 {
		t.setIP(t.ip+4, v)
	}
}

// SetFragID sets the 32-bit identification of the IPv6 Fragment header the
// frame carries (RFC 8200 §4.5), which no checksum covers; a frame without
// one is left alone.
func (t *Template) SetFragID(v uint32) {
	if t.b != nil && t.fragID > 0 {
		binary.BigEndian.PutUint32(t.b[t.fragID:], v)
	}
}

// SetTTL sets the IPv4 time to live (RFC 791 §3.1, §3.2; RFC 1812 §5.3.1),
// which shares a 16-bit word with the protocol, and updates the header
// checksum (RFC 1624 §3). On IPv6 it sets the hop limit (RFC 8200 §3),
// which no checksum covers.
func (t *Template) SetTTL(v uint8) {
	if t.b != nil && t.v6 {
		t.b[t.ip+7] = v
		return
	}
	if t.b != nil {
		t.setIP(t.ip+8, uint16(v)<<8|uint16(t.b[t.ip+9]))
	}
}

// SetSrc sets the IPv4 source address (RFC 791 §3.1); anything that is not
// an IPv4 address is written as 0.0.0.0, as the builder does. It updates the
// header checksum and, when the frame carries a TCP or UDP header (the first
// or only fragment), the transport checksum, whose pseudo-header holds the
// address (RFC 9293 §3.1, RFC 768); an ICMP checksum has no pseudo-header
// (RFC 792), and a later fragment holds only the IPv4 header checksum. On
// IPv6 it writes all 16 bytes of the source (an IPv4 address IPv4-mapped,
// as the builder does) and updates the TCP, UDP or ICMPv6 checksum, whose
// pseudo-header holds it (RFC 8200 §8.1).
func (t *Template) SetSrc(a netip.Addr) {
	if t.b != nil && t.v6 {
		t.setAddr6(t.ip+8, a, true)
		return
	}
	if t.b != nil {
		t.setAddr(t.ip+12, a)
	}
}

// SetDst sets the IPv4 destination address (RFC 791 §3.1), with the
// checksums updated as SetSrc does. On IPv6 with a Routing header the
// pseudo-header holds the routing header's final destination, not this
// field, and the transport checksum is left as it is (RFC 8200 §8.1).
func (t *Template) SetDst(a netip.Addr) {
	if t.b != nil && t.v6 {
		t.setAddr6(t.ip+24, a, !t.routed)
		return
	}
	if t.b != nil {
		t.setAddr(t.ip+16, a)
	}
}

// SetSrcPort sets the TCP (RFC 9293 §3.1) or UDP (RFC 768) source port and
// updates the transport checksum (RFC 1624 §3); it does nothing when the
// frame carries neither header.
func (t *Template) SetSrcPort(v uint16) {
	if t.layers&(LayerTCP|LayerUDP) != 0 {
		t.setL4(t.l4, v, 0, false)
	}
}

// SetDstPort sets the TCP (RFC 9293 §3.1) or UDP (RFC 768) destination port
// and updates the transport checksum; it does nothing when the frame carries
// neither header.
func (t *Template) SetDstPort(v uint16) {
	if t.layers&(LayerTCP|LayerUDP) != 0 {
		t.setL4(t.l4+2, v, 0, false)
	}
}

// SetSeq sets the TCP sequence number (RFC 9293 §3.1), two 16-bit words,
// and updates the TCP checksum; it does nothing without a TCP header.
func (t *Template) SetSeq(v uint32) {
	if t.layers&LayerTCP != 0 {
		t.setL4(t.l4+4, uint16(v>>16), uint16(v), true)
	}
}

// SetAck sets the TCP acknowledgment number (RFC 9293 §3.1) and updates the
// TCP checksum; it does nothing without a TCP header.
func (t *Template) SetAck(v uint32) {
	if t.layers&LayerTCP != 0 {
		t.setL4(t.l4+8, uint16(v>>16), uint16(v), true)
	}
}

// SetICMPID sets bytes 4-5 of the ICMP header, the identifier of an echo or
// echo reply (RFC 792), and updates the ICMP checksum, which has no
// pseudo-header. It writes those bytes whatever the ICMP type (in a
// destination unreachable they are unused); it does nothing without an ICMP
// header. On ICMPv6 the same bytes hold the echo identifier (RFC 4443 §4.1).
func (t *Template) SetICMPID(v uint16) {
	if t.layers&(LayerICMP|LayerICMPv6) != 0 {
		t.setL4(t.l4+4, v, 0, false)
	}
}

// SetICMPSeq sets bytes 6-7 of the ICMP header, the sequence number of an
// echo or echo reply (RFC 792), and updates the ICMP checksum; it does
// nothing without an ICMP or ICMPv6 header.
func (t *Template) SetICMPSeq(v uint16) {
	if t.layers&(LayerICMP|LayerICMPv6) != 0 {
		t.setL4(t.l4+6, v, 0, false)
	}
}
