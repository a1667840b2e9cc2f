package craft

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Field explains one field of a decoded packet.
type Field struct {
	Layer   string // "Ethernet", "ARP", "IPv4", "TCP", "UDP", "ICMP", "quoted IPv4"…
	Name    string // as the RFC names it
	Offset  int    // byte offset of the field's first byte in the decoded input
	Bit     int    // bit offset from the start of its layer's header
	Width   int    // width in bits
	Value   uint64 // the value, for fields of at most 64 bits
	Text    string // the value as shown: "198.18.1.1", "0x4bbc", "SYN"
	Meaning string // what it means here, in words
	RFC     string // where it is defined: "RFC 791 §3.1"
}

type explainer struct {
	out   []Field
	layer string
	base  int // byte offset of the layer in the input
	rfc   string
}

func (x *explainer) add(name string, bit, width int, v uint64, text, meaning string) {
	x.addRFC(name, bit, width, v, text, meaning, x.rfc)
}

func (x *explainer) addRFC(name string, bit, width int, v uint64, text, meaning, rfc string) {
	if text == "" {
		text = fmt.Sprint(v)
	}
	x.out = append(x.out, Field{Layer: x.layer, Name: name, Offset: x.base + bit/8, Bit: bit, Width: width,
		Value: v, Text: text, Meaning: meaning, RFC: rfc})
}

// Explain returns every field of the decoded packet in wire order, quoted
// datagram included, with what each value means. Checksums are checked:
// their meaning says good, or bad with the value they should hold.
func Explain(d *Decoded) []Field {
	x := &explainer{}
	var sums [4]ChecksumResult
	checks := d.Checksums(sums[:0])
	if d.Link&LayerEthernet != 0 {
		x.ethernet(&d.Ethernet)
	}
	if d.Link&LayerARP != 0 {
		x.arp(&d.ARP, d.Ethernet.Len())
	}
	if d.Datagram.Layers&LayerIPv4 != 0 {
		x.datagram(&d.Datagram, "", checks, false, d.Frag)
	}
	if d.Quoted.Layers&LayerIPv4 != 0 {
		x.datagram(&d.Quoted, "quoted ", checks, true, NotFragment)
	}
	if d.Datagram.Layers&LayerIPv6 != 0 {
		x.datagram6(&d.Datagram, "", checks, false, d.Frag)
	}
	if d.Quoted.Layers&LayerIPv6 != 0 {
		x.datagram6(&d.Quoted, "quoted ", checks, true, NotFragment)
	}
	if t := d.Datagram.Trailer; len(t) > 0 && d.Datagram.Layers&LayerIPv6 != 0 {
		x.trailer6(d, t)
	}
	if t := d.Datagram.Trailer; len(t) > 0 && d.Datagram.Layers&LayerIPv4 != 0 {
		x.trailer(d, t)
	}
	return x.out
}

// trailer shows the bytes after the IPv4 total length: Ethernet padding of a
// short frame, or bytes the total length leaves out. Receivers trim them
// (RFC 1122 §3.2.1.1 via the total length; Linux's ip_rcv_core).
func (x *explainer) trailer(d *Decoded, t []byte) {
	off := d.Datagram.IPOffset + d.totalLen()
	x.layer, x.base = "Trailer", off
	zero := true
	for _, c := range t {
		zero = zero && c == 0
	}
	name, m, rfc := "Trailer", fmt.Sprintf("%d bytes past the IPv4 total length %d: not part of the datagram; the receiver trims them", len(t), d.totalLen()), "RFC 791 §3.1"
	if d.Link&LayerEthernet != 0 && len(d.Raw) <= MinFrameLen && zero {
		name, m, rfc = "Padding", fmt.Sprintf("%d zero bytes of Ethernet padding: a frame carries at least 46 bytes after its header; the IPv4 total length leaves them out", len(t)), "IEEE 802.3 §3.2.8"
	}
	text := fmt.Sprintf("%d bytes: %s", len(t), preview(t))
	x.addRFC(name, 0, 8*len(t), 0, text, m, rfc)
}

func (x *explainer) ethernet(e *Ethernet) {
	x.layer, x.base, x.rfc = "Ethernet", 0, "IEEE 802.3 §3.2"
	x.add("Destination", 0, 48, 0, e.Dst.String(), macMeaning(e.Dst))
	x.add("Source", 48, 48, 0, e.Src.String(), "the sending interface")
	bit := 96
	for i, v := range e.VLANs {
		x.layer, x.base, x.rfc = "802.1Q", 12+4*i, "IEEE 802.1Q §9.6"
		what := "802.1Q tag (C-tag)"
		switch {
		case v.TPID != EtherTypeVLAN:
			what = "802.1ad outer tag (S-tag) of a QinQ frame"
		case i > 0:
			what = "802.1Q inner tag (C-tag) of a QinQ frame"
		}
		x.add("TPID", 0, 16, uint64(v.TPID), fmt.Sprintf("0x%04x", v.TPID), what)
		x.add("PCP", 16, 3, uint64(v.PCP), "", fmt.Sprintf("priority %d (0 best effort, 7 highest)", v.PCP))
		dei := map[bool]uint64{true: 1}[v.DEI]
		x.add("DEI", 19, 1, dei, "", map[bool]string{true: "drop eligible under congestion", false: "not drop eligible"}[v.DEI])
		vm := fmt.Sprintf("VLAN %d", v.ID)
		switch v.ID {
		case 0:
			vm = "no VLAN: a priority tag only"
		case 0xfff:
			vm = "4095: reserved, must not be sent"
		}
		x.add("VLAN ID", 20, 12, uint64(v.ID), "", vm)
		bit += 32
	}
	x.layer, x.base, x.rfc = "Ethernet", 0, "IEEE 802.3 §3.2"
	t := e.Type.Or(0)
	x.add("EtherType", bit, 16, uint64(t), fmt.Sprintf("0x%04x", t), etherTypeName(t))
}

func macMeaning(m MAC) string {
	switch {
	case m == Broadcast:
		return "broadcast: every host on the segment"
	case m[0]&1 != 0:
		return "multicast"
	}
	return "unicast"
}

func etherTypeName(t uint16) string {
	switch t {
	case EtherTypeIPv4:
		return "IPv4"
	case EtherTypeARP:
		return "ARP"
	case 0x86dd:
		return "IPv6"
	case EtherTypeVLAN:
		return "802.1Q VLAN tag"
	case EtherTypeQinQ, EtherTypeQinQOld:
		return "802.1ad QinQ outer tag"
	}
	if t <= 1500 {
		return "an 802.3 length, not an EtherType"
	}
	return "unknown"
}

func (x *explainer) arp(a *ARP, base int) {
	x.layer, x.base, x.rfc = "ARP", base, "RFC 826"
	ht, pt, hl, pl := a.HType.Or(0), a.PType.Or(0), a.HLen.Or(0), a.PLen.Or(0)
	x.add("Hardware type", 0, 16, uint64(ht), "", map[bool]string{true: "Ethernet", false: "not Ethernet"}[ht == 1])
	x.add("Protocol type", 16, 16, uint64(pt), fmt.Sprintf("0x%04x", pt), etherTypeName(pt))
	x.add("Hardware length", 32, 8, uint64(hl), "", "bytes in a hardware address")
	x.add("Protocol length", 40, 8, uint64(pl), "", "bytes in a protocol address")
	op := map[uint16]string{1: "request: who has the target address?", 2: "reply: the sender address is at the sender MAC"}[a.Op]
	if op == "" {
		op = "unknown operation"
	}
	x.add("Operation", 48, 16, uint64(a.Op), "", op)
	// Each address is as long as its length field says (RFC 826).
	h, p := int(hl)*8, int(pl)*8
	sm, tm := "", map[bool]string{true: "unknown yet: what a request asks for", false: ""}[a.Op == ARPRequest]
	if hl != 6 {
		sm, tm = fmt.Sprintf("%d bytes, as the hardware length says", hl), fmt.Sprintf("%d bytes, as the hardware length says", hl)
	}
	pm := ""
	if pl != 4 || pt != EtherTypeIPv4 {
		pm = fmt.Sprintf("%d bytes, as the protocol length says", pl)
	}
	x.add("Sender hardware address", 64, h, 0, arpHW(a, 0), sm)
	x.add("Sender protocol address", 64+h, p, 0, arpProtoText(a, 1), pm)
	x.add("Target hardware address", 64+h+p, h, 0, arpHW(a, 2), tm)
	x.add("Target protocol address", 64+2*h+p, p, 0, arpProtoText(a, 3), pm)
}

func checkMeaning(checks []ChecksumResult, l Layer, quoted bool) string {
	for _, c := range checks {
		if c.Layer == l && c.Quoted == quoted {
			switch c.Status {
			case ChecksumGood:
				if c.NegZero {
					return fmt.Sprintf("good: 0x%04x and the computed 0x%04x are −0 and +0, the same in one's complement; receivers accept either (RFC 1624 §3)", c.Got, c.Want)
				}
				return "good"
			case ChecksumBad:
				return fmt.Sprintf("BAD: should be 0x%04x; %s", c.Want, badFate(l, quoted))
			default:
				return c.Status.String()
			}
		}
	}
	return ""
}

// badFate says what a receiver does with a bad checksum in layer l: what
// Linux does, which is what RFC 1122 asks (§3.2.1.2 for IPv4, §4.1.3.4 for
// UDP, §4.2.2.7 for TCP, §3.2.2 for ICMP).
func badFate(l Layer, quoted bool) string {
	if quoted {
		return "a host receiving the ICMP error does not check the quoted datagram's checksums (it only matches the quote to a socket)"
	}
	switch l {
	case LayerIPv4:
		return "the receiving host (and any router) drops the packet unread (RFC 1122 §3.2.1.2)"
	case LayerTCP:
		return "the receiving host drops the segment silently: no RST, no ACK (RFC 1122 §4.2.2.7)"
	case LayerUDP:
		return "the receiving host drops the datagram silently: no ICMP port unreachable (RFC 1122 §4.1.3.4)"
	case LayerICMP:
		return "the receiving host drops the message: an echo request gets no reply (RFC 1122 §3.2.2)"
	case LayerICMPv6:
		return "the receiving host drops the message: an echo request gets no reply, a neighbor solicitation no advertisement (RFC 4443 §2.3)"
	}
	return "a receiver drops the packet"
}

func (x *explainer) datagram(g *Datagram, q string, checks []ChecksumResult, quoted bool, frag FragState) {
	h := &g.IPv4
	x.layer, x.base, x.rfc = q+"IPv4", g.IPOffset, "RFC 791 §3.1"
	ver, ihl, total := h.Version.Or(0), h.IHL.Or(0), h.TotalLen.Or(0)
	x.add("Version", 0, 4, uint64(ver), "", map[bool]string{true: "IPv4", false: "not 4: receivers drop it"}[ver == 4])
	x.add("IHL", 4, 4, uint64(ihl), "", fmt.Sprintf("header length: %d words = %d bytes", ihl, int(ihl)*4))
	x.addRFC("Type of Service", 8, 8, uint64(h.TOS), fmt.Sprintf("0x%02x", h.TOS),
		fmt.Sprintf("DSCP %d, ECN %d", h.TOS>>2, h.TOS&3), "RFC 2474 §3, RFC 3168 §5")
	tm := fmt.Sprintf("%d bytes: %d header + %d data", total, int(ihl)*4, int(total)-int(ihl)*4)
	if g.Truncated {
		tm += fmt.Sprintf("; only %d present", len(g.ipHdr)+len(g.l4))
		if quoted {
			tm += " (an ICMP error quotes only the start)"
		}
	}
	if g.LenFromCapture {
		tm = "0: " + offloadWords(len(g.ipHdr)+len(g.l4))
	}
	x.add("Total Length", 16, 16, uint64(total), "", tm)
	x.add("Identification", 32, 16, uint64(h.ID), fmt.Sprintf("0x%04x", h.ID), "shared by every fragment of this datagram")
	x.addRFC("Flags", 48, 3, uint64(h.Flags), ipFlagText(h.Flags), ipFlagMeaning(h.Flags), "RFC 791 §3.1, RFC 3514")
	fm := fmt.Sprintf("%d × 8 = data byte %d", h.FragOff, int(h.FragOff)*8)
	switch {
	case frag == FirstFragment:
		fm += ": the first fragment"
	case frag == LaterFragment:
		fm += ": a later fragment"
	case h.FragOff == 0 && h.Flags&FlagMF == 0:
		fm += ": not a fragment"
	}
	x.add("Fragment Offset", 51, 13, uint64(h.FragOff), "", fm)
	ttl := h.TTL.Or(0)
	x.add("Time to Live", 64, 8, uint64(ttl), "", "hops left before a router drops it")
	p := h.Protocol.Or(0)
	x.add("Protocol", 72, 8, uint64(p), "", protoName(p))
	cs := h.Checksum.Or(0)
	x.add("Header Checksum", 80, 16, uint64(cs), fmt.Sprintf("0x%04x", cs), checkMeaning(checks, LayerIPv4, quoted))
	x.add("Source Address", 96, 32, 0, h.Src.String(), "")
	x.add("Destination Address", 128, 32, 0, h.Dst.String(), "")
	x.options(h.Options, 160, true)
	if g.Layers&LayerIPv4 != 0 && len(g.ipHdr) > 0 {
		switch {
		case g.Layers&LayerTCP != 0:
			x.tcp(g, q, checks, quoted)
		case g.Layers&LayerUDP != 0:
			x.udp(g, q, checks, quoted)
		case g.Layers&LayerICMP != 0:
			x.icmp(g, q, checks, quoted)
		default:
			x.layer, x.base = q+"IPv4", g.IPOffset
			if len(g.Payload) > 0 {
				what := "data"
				if frag == LaterFragment {
					what = "fragment data, continuing the transport segment"
				}
				x.payload(g.Payload, g.PayloadOffset-g.IPOffset, what)
			}
		}
	}
}

func (x *explainer) options(opts []byte, bit int, ip bool) {
	if len(opts) == 0 {
		return
	}
	saved := x.rfc
	if ip {
		x.rfc = "RFC 791 §3.1"
	} else {
		x.rfc = "RFC 9293 §3.1"
	}
	for off := 0; off < len(opts); {
		o, next, err := NextOption(opts, off)
		name, m := "Option", ""
		if err != nil {
			m = fmt.Sprintf("kind %d with length %d: %v, runs past the options", o.Kind, o.Len, err)
		} else if ip {
			m = DescribeIPOption(o)
		} else {
			m = DescribeTCPOption(o)
		}
		if o.Kind == 0 {
			next = len(opts)
			name = "Option EOL + padding"
		}
		x.add(name, bit+8*off, 8*(next-off), uint64(o.Kind), fmt.Sprintf("%x", opts[off:next]), m)
		off = next
	}
	x.rfc = saved
}

func (x *explainer) payload(p []byte, byteOff int, what string) {
	text := fmt.Sprintf("%d bytes", len(p))
	if len(p) > 0 {
		text += ": " + preview(p)
	}
	x.add("Data", 8*byteOff, 8*len(p), 0, text, what)
}

func preview(p []byte) string {
	n := min(len(p), 24)
	printable := utf8.Valid(p[:n])
	for _, c := range p[:n] {
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			printable = false
		}
	}
	s := fmt.Sprintf("%x", p[:n])
	if printable {
		s = fmt.Sprintf("%q", p[:n])
	}
	if n < len(p) {
		s += "…"
	}
	return s
}

func ipFlagText(f uint8) string {
	var parts []string
	for _, b := range []struct {
		bit  uint8
		name string
	}{{FlagEvil, "evil"}, {FlagDF, "DF"}, {FlagMF, "MF"}} {
		if f&b.bit != 0 {
			parts = append(parts, b.name)
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

func ipFlagMeaning(f uint8) string {
	var parts []string
	if f&FlagEvil != 0 {
		parts = append(parts, "reserved bit set (the RFC 3514 evil bit; must be zero)")
	}
	if f&FlagDF != 0 {
		parts = append(parts, "don't fragment: a router that must split it drops it and answers ICMP fragmentation needed")
	}
	if f&FlagMF != 0 {
		parts = append(parts, "more fragments follow")
	}
	if len(parts) == 0 {
		return "may be fragmented; last (or only) fragment"
	}
	return strings.Join(parts, "; ")
}

func protoName(p uint8) string {
	switch p {
	case ProtoICMP:
		return "ICMP"
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	}
	return "other"
}

// present reports whether the header bits [bit, bit+width) were captured.
func present(g *Datagram, bit, width int) bool { return bit+width <= 8*g.TransportLen }

func (x *explainer) tcp(g *Datagram, q string, checks []ChecksumResult, quoted bool) {
	h := &g.TCP
	x.layer, x.base, x.rfc = q+"TCP", g.TransportOffset, "RFC 9293 §3.1"
	add := func(name string, bit, width int, v uint64, text, m string) {
		if present(g, bit, width) {
			x.add(name, bit, width, v, text, m)
		}
	}
	add("Source Port", 0, 16, uint64(h.SrcPort), "", "")
	add("Destination Port", 16, 16, uint64(h.DstPort), "", "")
	sm := "sequence number of the first data byte"
	if h.Flags&TCPSyn != 0 {
		sm = "initial sequence number (ISN); the SYN itself counts as one byte"
	}
	add("Sequence Number", 32, 32, uint64(h.Seq), "", sm)
	am := "not meaningful: ACK is not set"
	if h.Flags&TCPAck != 0 {
		am = "next sequence number expected from the other side"
	}
	add("Acknowledgment Number", 64, 32, uint64(h.Ack), "", am)
	off := h.DataOffset.Or(0)
	add("Data Offset", 96, 4, uint64(off), "", fmt.Sprintf("header length: %d words = %d bytes", off, int(off)*4))
	add("Reserved", 100, 4, uint64(h.Reserved), "", map[bool]string{true: "zero, as it must be", false: "must be zero"}[h.Reserved == 0])
	add("Control Bits", 104, 8, uint64(h.Flags), tcpFlagWords(h.Flags), tcpFlagMeaning(h.Flags))
	add("Window", 112, 16, uint64(h.Window), "", "bytes the sender can receive now (before window scaling)")
	cs := h.Checksum.Or(0)
	add("Checksum", 128, 16, uint64(cs), fmt.Sprintf("0x%04x", cs), checkMeaning(checks, LayerTCP, quoted))
	um := "not meaningful: URG is not set"
	if h.Flags&TCPUrg != 0 {
		um = "urgent data ends this many bytes after the sequence number"
	}
	add("Urgent Pointer", 144, 16, uint64(h.Urgent), "", um)
	if g.TransportLen >= TCPHeaderLen {
		x.options(h.Options, 160, false)
		if !(quoted && len(g.Payload) == 0) {
			x.payload(g.Payload, g.PayloadOffset-g.TransportOffset, "segment data")
		}
	}
	if quoted && g.TransportLen < TCPHeaderLen {
		x.add("(not quoted)", 8*g.TransportLen, 0, 0, "-", fmt.Sprintf("the ICMP error quoted only %d bytes of the TCP header", g.TransportLen))
	}
}

// FlagNames returns the set control bits as names, ACK last as people say
// them: "SYN", "SYN|ACK", "RST|ACK", "FIN|ACK"; "none" for none.
func FlagNames(f uint8) string { return tcpFlagWords(f) }

func tcpFlagWords(f uint8) string {
	// ACK last, as people say them: SYN|ACK, RST|ACK, FIN|ACK, PSH|ACK.
	var parts []string
	for _, b := range []struct {
		bit  uint8
		name string
	}{{TCPSyn, "SYN"}, {TCPFin, "FIN"}, {TCPRst, "RST"}, {TCPPsh, "PSH"}, {TCPUrg, "URG"}, {TCPEce, "ECE"}, {TCPCwr, "CWR"}, {TCPAck, "ACK"}} {
		if f&b.bit != 0 {
			parts = append(parts, b.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

func tcpFlagMeaning(f uint8) string {
	switch f & (TCPSyn | TCPAck | TCPRst | TCPFin) {
	case TCPSyn:
		return "opening a connection: first step of the three-way handshake"
	case TCPSyn | TCPAck:
		return "accepting a connection: second step of the three-way handshake"
	case TCPRst, TCPRst | TCPAck:
		return "reset: the connection is refused or aborted"
	case TCPFin | TCPAck, TCPFin:
		return "the sender has no more data: closing its half of the connection"
	case TCPAck:
		return "acknowledging data"
	}
	return "unusual combination"
}

func (x *explainer) udp(g *Datagram, q string, checks []ChecksumResult, quoted bool) {
	h := &g.UDP
	x.layer, x.base, x.rfc = q+"UDP", g.TransportOffset, "RFC 768"
	add := func(name string, bit, width int, v uint64, text, m string) {
		if present(g, bit, width) {
			x.add(name, bit, width, v, text, m)
		}
	}
	add("Source Port", 0, 16, uint64(h.SrcPort), "", "")
	add("Destination Port", 16, 16, uint64(h.DstPort), "", "")
	l := h.Length.Or(0)
	add("Length", 32, 16, uint64(l), "", fmt.Sprintf("%d bytes: 8 header + %d data", l, int(l)-8))
	cs := h.Checksum.Or(0)
	cm := checkMeaning(checks, LayerUDP, quoted)
	if cs == 0 && g.Layers&LayerIPv6 != 0 {
		x.rfc = "RFC 8200 §8.1"
		cm = "ZERO: \"no checksum\" exists only over IPv4; RFC 8200 §8.1 forbids it over IPv6 and the receiver drops the datagram"
	}
	add("Checksum", 48, 16, uint64(cs), fmt.Sprintf("0x%04x", cs), cm)
	x.rfc = "RFC 768"
	if g.TransportLen >= UDPHeaderLen && !(quoted && len(g.Payload) == 0) {
		x.payload(g.Payload, UDPHeaderLen, "datagram data")
	}
}

func (x *explainer) icmp(g *Datagram, q string, checks []ChecksumResult, quoted bool) {
	h := &g.ICMP
	x.layer, x.base, x.rfc = q+"ICMP", g.TransportOffset, "RFC 792"
	if g.TransportLen < ICMPHeaderLen {
		return
	}
	x.add("Type", 0, 8, uint64(h.Type), "", ICMPTypeName(h.Type))
	x.add("Code", 8, 8, uint64(h.Code), "", ICMPCodeName(h.Type, h.Code))
	cs := h.Checksum.Or(0)
	x.add("Checksum", 16, 16, uint64(cs), fmt.Sprintf("0x%04x", cs), checkMeaning(checks, LayerICMP, quoted))
	switch {
	case h.Type == ICMPEcho || h.Type == ICMPEchoReply || h.Type == ICMPTimestamp || h.Type == ICMPTimestampReply:
		x.add("Identifier", 32, 16, uint64(h.ID()), "", "chosen by the sender to match replies")
		x.add("Sequence Number", 48, 16, uint64(h.Seq()), "", "counts the requests")
	case h.Type == ICMPUnreachable && h.Code == CodeFragNeeded:
		x.add("Unused", 32, 16, uint64(h.Rest>>16), "", "")
		x.addRFC("Next-Hop MTU", 48, 16, uint64(h.MTU()), "", "the largest datagram the next link carries", "RFC 1191 §4")
	case h.Type == ICMPParamProblem:
		x.add("Pointer", 32, 8, uint64(h.Rest>>24), "", "byte of the quoted header that is wrong")
		x.add("Unused", 40, 24, uint64(h.Rest&0xffffff), "", "")
	case h.Type == ICMPRedirect:
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], h.Rest)
		x.add("Gateway Address", 32, 32, uint64(h.Rest), fmt.Sprintf("%d.%d.%d.%d", a[0], a[1], a[2], a[3]), "the better first hop")
	default:
		x.add("Unused", 32, 32, uint64(h.Rest), "", map[bool]string{true: "zero", false: "should be zero"}[h.Rest == 0])
	}
	what := "echo data, returned unchanged in the reply"
	if h.IsError() {
		what = "the quoted datagram: IP header and first 8 data bytes of the packet that caused this error"
	}
	x.payload(g.Payload, ICMPHeaderLen, what)
}

// Layers returns the layer names of fields in order of first appearance.
func Layers(fields []Field) []string {
	var out []string
	for _, f := range fields {
		if !slices.Contains(out, f.Layer) {
			out = append(out, f.Layer)
		}
	}
	return out
}

// Diagram draws the fields of one layer as an RFC 791/793-style bit diagram,
// 32 bits to a row, each cell holding the field's name and value. Options
// and data, whose length varies, get one row each.
func Diagram(fields []Field, layer string) string {
	var sb strings.Builder
	sb.WriteString(" 0                   1                   2                   3\n")
	sb.WriteString(" 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1\n")
	var fs []Field
	for _, f := range fields {
		if f.Layer == layer && f.Width > 0 {
			fs = append(fs, f)
		}
	}
	if len(fs) == 0 {
		return ""
	}
	sep := func(bits int) string { return strings.Repeat("+-", bits) + "+\n" }
	type cell struct {
		width      int
		name, text string
	}
	row := 0
	sb.WriteString(sep(32))
	i := 0
	for i < len(fs) {
		f := fs[i]
		// Variable-length regions (options, data) past the fixed header get
		// a row of their own.
		if variableField(f.Name) {
			if f.Bit%32 == 0 && row*32 == f.Bit || f.Bit >= row*32 {
				label := f.Name + ": " + f.Text
				if strings.HasPrefix(f.Name, "Option") && f.Meaning != "" {
					label = f.Meaning
				}
				sb.WriteString("|" + center(label, 63) + "|\n")
				sb.WriteString(sep(32))
				row = (f.Bit + f.Width + 31) / 32
				i++
				continue
			}
		}
		start, end := row*32, row*32+32
		var cells []cell
		bits := 0
		for j := i; j < len(fs) && fs[j].Bit < end; j++ {
			g := fs[j]
			if variableField(g.Name) {
				break
			}
			lo, hi := max(g.Bit, start), min(g.Bit+g.Width, end)
			if hi <= lo {
				continue
			}
			name, text := g.Name, g.Text
			if short, ok := diagramNames[name]; ok && len(name) > 2*(hi-lo)-1 {
				name = short
			}
			if lo > g.Bit {
				name, text = "(cont.)", ""
			}
			if hi < g.Bit+g.Width && lo == g.Bit && 2*(hi-lo)-1 < len(text) {
				text = "→"
			}
			if lo > g.Bit && g.Bit+g.Width == hi && len(fs[j].Text) <= 2*(hi-lo)-1 && 2*(g.Bit+g.Width-start) < len(g.Text) {
				text = g.Text
			}
			cells = append(cells, cell{hi - lo, name, text})
			bits = hi - start
		}
		if len(cells) == 0 {
			i++
			continue
		}
		var l1, l2 strings.Builder
		l1.WriteString("|")
		l2.WriteString("|")
		for _, c := range cells {
			w := 2*c.width - 1
			l1.WriteString(center(c.name, w) + "|")
			l2.WriteString(center(c.text, w) + "|")
		}
		sb.WriteString(l1.String() + "\n" + l2.String() + "\n" + sep(bits))
		row++
		for i < len(fs) && fs[i].Bit+fs[i].Width <= row*32 && !(variableField(fs[i].Name)) {
			i++
		}
	}
	return sb.String()
}

// variableField reports whether a field's length varies (options, data,
// trailer): the diagram gives it a row of its own.
func variableField(name string) bool {
	return name == "Data" || name == "Trailer" || name == "Padding" || strings.HasPrefix(name, "Option")
}

// diagramNames are the RFCs' abbreviations for cells too narrow for a name.
var diagramNames = map[string]string{
	"Data Offset": "Offset", "Reserved": "Rsrvd", "Version": "Ver", "Hardware length": "HLen",
	"Protocol length": "PLen", "Type of Service": "TOS", "Time to Live": "TTL",
}

func center(s string, w int) string {
	r := []rune(s)
	if len(r) > w {
		if w <= 1 {
			return string(r[:w])
		}
		return string(r[:w-1]) + "…"
	}
	pad := w - len(r)
	return strings.Repeat(" ", pad/2) + s + strings.Repeat(" ", pad-pad/2)
}
