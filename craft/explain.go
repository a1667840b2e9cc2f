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
	Value   uint64 // the value, for fields of at most 64 bits; 0 for an address
	Address bool   // Text is an address (IPv4, IPv6, MAC), not a number
	Text    string // the value as shown: "198.18.1.1", "0x4bbc", "SYN"
	Meaning string // what it means here, in words
	RFC     string // where it is defined: "RFC 791 §3.1"
}

type explainer struct {
	out   []Field
	layer string
	base  int // byte offset of the layer in the input
	rfc   string
	// cut: the outer datagram's bytes end before its message does (a cut
	// capture, a length that claims more, or a first fragment)
	cut bool
}

func (x *explainer) add(name string, bit, width int, v uint64, text, meaning string) {
	x.addRFC(name, bit, width, v, text, meaning, x.rfc)
}

// addAddr adds an address field: its value is its Text ("198.18.1.1",
// "02:00:00:00:00:01"), not a number.
func (x *explainer) addAddr(name string, bit, width int, text, meaning string) {
	x.add(name, bit, width, 0, text, meaning)
	x.out[len(x.out)-1].Address = true
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
	var sums [4]ChecksumResult
	return ExplainChecked(d, d.Checksums(sums[:0]))
}

// ExplainChecked is Explain with the checksum verdicts given, as a
// capture reader settles them knowing offload (pcap.Dissect): each
// checksum field's meaning starts with its verdict, so that the field
// table says what the summary line says.
func ExplainChecked(d *Decoded, checks []ChecksumResult) []Field {
	x := &explainer{cut: d.Datagram.Truncated || d.Frag == FirstFragment}
	if d.Link&LayerEthernet != 0 {
		x.ethernet(&d.Ethernet)
	}
	if d.Link&LayerARP != 0 {
		x.arp(&d.ARP, d.Ethernet.Len())
		if end := d.Ethernet.Len() + d.ARP.Len(); len(d.Raw) > end { // the packet's own length, by its HLEN and PLEN (RFC 826)
			x.arpTrailer(d, end, d.ARP.Len())
		}
	}
	if d.Datagram.Layers&LayerIPv4 != 0 {
		x.datagram(&d.Datagram, "", checks, false, d.Frag)
	}
	if d.Quoted.Layers&LayerIPv4 != 0 {
		x.datagram(&d.Quoted, "quoted ", checks, true, NotFragment)
	}
	if d.Datagram.Layers&LayerIPv6 != 0 {
		x.datagram6(&d.Datagram, "", checks, false, d.Quoted.Layers&LayerIPv6 != 0, d.Frag)
	}
	if d.Quoted.Layers&LayerIPv6 != 0 {
		x.datagram6(&d.Quoted, "quoted ", checks, true, false, NotFragment)
	}
	if d.Frag != LaterFragment {
		x.extensions(&d.Datagram)
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
	name, m, rfc := "Trailer", fmt.Sprintf("%s past the IPv4 total length %d: not part of the datagram; %s", Units(len(t), "byte"), d.totalLen(), ClaimIPv4TrailerTrimmed.Text()), "RFC 791 §3.1"
	if d.Link&LayerEthernet != 0 && len(d.Raw) == MinFrameLen && zero { // padding fills a frame to 60 bytes, no fewer
		name, m, rfc = "Padding", fmt.Sprintf("%d zero bytes of Ethernet padding: a frame carries at least 46 bytes after its header; the IPv4 total length leaves them out", len(t)), "IEEE 802.3 §3.2.8"
	}
	text := fmt.Sprintf("%s: %s", Units(len(t), "byte"), preview(t))
	x.addRFC(name, 0, 8*len(t), 0, text, m, rfc)
}

// arpTrailer shows the bytes after an ARP packet: Ethernet padding of the
// 42-byte frame ARP makes, or bytes the packet does not count.
func (x *explainer) arpTrailer(d *Decoded, end, arpLen int) {
	t := d.Raw[end:]
	x.layer, x.base = "Trailer", end
	zero := true
	for _, c := range t {
		zero = zero && c == 0
	}
	name, m, rfc := "Trailer", fmt.Sprintf("%s past the %d-byte ARP packet: not part of it", Units(len(t), "byte"), arpLen), "RFC 826"
	if len(d.Raw) == MinFrameLen && zero { // padding fills a frame to 60 bytes, no fewer
		name, m, rfc = "Padding", fmt.Sprintf("%d zero bytes of Ethernet padding: a frame carries at least 46 bytes after its header", len(t)), "IEEE 802.3 §3.2.8"
	}
	x.addRFC(name, 0, 8*len(t), 0, fmt.Sprintf("%s: %s", Units(len(t), "byte"), preview(t)), m, rfc)
}

func (x *explainer) ethernet(e *Ethernet) {
	x.layer, x.base, x.rfc = "Ethernet", 0, "IEEE 802.3 §3.2"
	x.addAddr("Destination", 0, 48, e.Dst.String(), macMeaning(e.Dst))
	x.addAddr("Source", 48, 48, e.Src.String(), "the sending interface")
	bit := 96
	for i, v := range e.VLANs {
		// One layer for every tag, each tag 32 bits after the one before.
		x.layer, x.base, x.rfc = "802.1Q", 12, "IEEE 802.1Q §9.6"
		t := 32 * i
		x.add("TPID", t, 16, uint64(v.TPID), fmt.Sprintf("0x%04x", v.TPID), tagMeaning(v.TPID, i, len(e.VLANs)))
		x.add("PCP", t+16, 3, uint64(v.PCP), "", fmt.Sprintf("priority %d (0 best effort, 7 highest)", v.PCP))
		dei := map[bool]uint64{true: 1}[v.DEI]
		x.add("DEI", t+19, 1, dei, "", map[bool]string{true: "drop eligible under congestion", false: "not drop eligible"}[v.DEI])
		vm := fmt.Sprintf("VLAN %d", v.ID)
		switch v.ID {
		case 0:
			vm = "no VLAN: a priority tag only"
		case 0xfff:
			vm = "4095: reserved, must not be sent"
		}
		x.add("VLAN ID", t+20, 12, uint64(v.ID), "", vm)
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

// tagMeaning says what the TPID of tag i of n in a frame is: the kind of
// tag its value names (IEEE 802.1Q §9.5: 0x8100 a C-tag, 0x88a8 an S-tag;
// 0x9100 the value switches used before 802.1ad), and, when the frame
// carries more than one, whether it is the outer or an inner tag. Which
// place a tag holds is its position, not its TPID: a lone S-tag is not
// QinQ, and two 0x8100 tags are (double tagging).
func tagMeaning(tpid uint16, i, n int) string {
	what := "802.1Q customer tag (C-tag)"
	switch tpid {
	case EtherTypeQinQ:
		what = "802.1ad service tag (S-tag)"
	case EtherTypeQinQOld:
		what = "pre-standard QinQ tag (0x9100: not IEEE's; 802.1ad's S-tag is 0x88a8)"
	}
	switch {
	case n < 2:
		return what + ", the frame's only tag"
	case i == 0:
		return what + ", the outer tag of a QinQ frame"
	}
	return what + ", an inner tag of a QinQ frame"
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
	case EtherTypeQinQ:
		return "802.1ad service tag (S-tag)"
	case EtherTypeQinQOld:
		return "pre-standard QinQ tag (0x9100: not IEEE's; 802.1ad's S-tag is 0x88a8)"
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
		sm, tm = fmt.Sprintf("%s, as the hardware length says", Units(hl, "byte")), fmt.Sprintf("%s, as the hardware length says", Units(hl, "byte"))
	}
	pm := ""
	if pl != 4 || pt != EtherTypeIPv4 {
		pm = fmt.Sprintf("%s, as the protocol length says", Units(pl, "byte"))
	}
	x.addAddr("Sender hardware address", 64, h, or(arpHW(a, 0), "(none)"), sm)
	x.addAddr("Sender protocol address", 64+h, p, or(arpProtoText(a, 1), "(none)"), pm)
	x.addAddr("Target hardware address", 64+h+p, h, or(arpHW(a, 2), "(none)"), tm)
	x.addAddr("Target protocol address", 64+2*h+p, p, or(arpProtoText(a, 3), "(none)"), pm)
}

func checkMeaning(checks []ChecksumResult, l Layer, quoted bool) string {
	for _, c := range checks {
		if c.Layer == l && c.Quoted == quoted {
			switch c.Status {
			case ChecksumGood:
				if c.NegZero {
					return c.Verdict() + ", the same number; " + ClaimNegativeZeroAccepted.Text()
				}
				return "good"
			case ChecksumBad:
				return c.Verdict() + ": " + badFate(l, quoted)
			case ChecksumPartial:
				return c.Verdict() + ": the sending host's kernel left it for its NIC to fill, after the capture took the packet"
			case ChecksumPartialOrBad:
				what := "the pseudo-header sum"
				if l == LayerIPv4 {
					what = "0x0000"
				}
				return fmt.Sprintf("%s: %s is what a sender with checksum offload leaves for its NIC to fill; captured on that host, the wire carried 0x%04x; captured on the path, %s",
					c.Verdict(), what, c.Want, badFate(l, quoted))
			default:
				return c.Verdict()
			}
		}
	}
	return ""
}

// badFate says what a receiver does with a bad checksum in layer l: what
// Linux does, which is what RFC 1122 asks (§3.2.1.2 for IPv4, §4.1.3.4 for
// UDP, §4.2.2.7 for TCP, §3.2.2 for ICMP). The sentences are claims,
// proved in the lab.
func badFate(l Layer, quoted bool) string {
	if quoted {
		return ClaimQuotedChecksumsUnchecked.Text()
	}
	switch l {
	case LayerIPv4:
		return ClaimIPv4ChecksumBad.Text()
	case LayerTCP:
		return ClaimTCPChecksumBad.Text()
	case LayerUDP:
		return ClaimUDPChecksumBad.Text()
	case LayerICMP:
		return ClaimICMPChecksumBad.Text()
	case LayerICMPv6:
		return ClaimICMPv6ChecksumBad.Text()
	}
	return ""
}

func (x *explainer) datagram(g *Datagram, q string, checks []ChecksumResult, quoted bool, frag FragState) {
	h := &g.IPv4
	x.layer, x.base, x.rfc = q+"IPv4", g.IPOffset, "RFC 791 §3.1"
	ver, ihl, total := h.Version.Or(0), h.IHL.Or(0), h.TotalLen.Or(0)
	x.add("Version", 0, 4, uint64(ver), "", map[bool]string{true: "IPv4", false: ClaimIPv4VersionDropped.Text()}[ver == 4])
	hm := fmt.Sprintf("header length: %d words = %d bytes", ihl, int(ihl)*4)
	if ihl < 5 {
		hm += ", fewer than the fixed header's 5: " + ClaimIPv4HeaderLengthError.Text()
	}
	x.add("IHL", 4, 4, uint64(ihl), "", hm)
	x.addRFC("Type of Service", 8, 8, uint64(h.TOS), fmt.Sprintf("0x%02x", h.TOS),
		fmt.Sprintf("DSCP %d, ECN %d", h.TOS>>2, h.TOS&3), "RFC 2474 §3, RFC 3168 §5")
	tm := fmt.Sprintf("%s: %d header + %d data", Units(total, "byte"), int(ihl)*4, int(total)-int(ihl)*4)
	if int(total) < int(ihl)*4 {
		tm = fmt.Sprintf("%s: shorter than the %d-byte header the IHL announces; %s", Units(total, "byte"), int(ihl)*4, ClaimIPv4HeaderLengthError.Text())
	}
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
	x.add("Time to Live", 64, 8, uint64(ttl), "", ClaimTTLExpires.Text())
	p := h.Protocol.Or(0)
	x.add("Protocol", 72, 8, uint64(p), "", protoName(p))
	cs := h.Checksum.Or(0)
	x.add("Header Checksum", 80, 16, uint64(cs), fmt.Sprintf("0x%04x", cs), checkMeaning(checks, LayerIPv4, quoted))
	x.addAddr("Source Address", 96, 32, h.Src.String(), "")
	x.addAddr("Destination Address", 128, 32, h.Dst.String(), "")
	x.options(h.Options, 160, true, int(ihl)*4-IPv4HeaderLen)
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

// options explains an option area at bit; area is its length by the
// header's length field, which may pass the bytes present (opts).
func (x *explainer) options(opts []byte, bit int, ip bool, area int) {
	if ip {
		x.ipOptions(opts, bit, area)
	} else {
		x.tcpOptions(opts, bit, area)
	}
}

func (x *explainer) payload(p []byte, byteOff int, what string) {
	text := Units(len(p), "byte")
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
		parts = append(parts, ClaimDFTooBig.Text())
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
	om := fmt.Sprintf("header length: %d words = %d bytes", off, int(off)*4)
	switch {
	case quoted:
	case off < 5:
		om += ", fewer than the fixed header's 5: " + ClaimTCPDataOffsetBad.Text()
	case int(off)*4 > len(g.l4) && !g.Truncated && !g.fragmented():
		om += fmt.Sprintf(", past the %d-byte segment: %s", len(g.l4), ClaimTCPDataOffsetBad.Text())
	}
	add("Data Offset", 96, 4, uint64(off), "", om)
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
		x.options(h.Options, 160, false, int(off)*4-TCPHeaderLen)
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
	add("Length", 32, 16, uint64(l), "", udpLengthMeaning(g, int(l), quoted))
	cs := h.Checksum.Or(0)
	cm := checkMeaning(checks, LayerUDP, quoted)
	if cs == 0 && g.Layers&LayerIPv6 != 0 {
		x.rfc = "RFC 8200 §8.1"
		cm = "ZERO: \"no checksum\" exists only over IPv4; " + ClaimUDP6ZeroChecksum.Text()
	}
	add("Checksum", 48, 16, uint64(cs), fmt.Sprintf("0x%04x", cs), cm)
	x.rfc = "RFC 768"
	if g.TransportLen >= UDPHeaderLen && !(quoted && len(g.Payload) == 0) {
		x.payload(g.Payload, UDPHeaderLen, "datagram data")
	}
}

// fragmented reports whether g is one fragment of a larger datagram, whose
// transport lengths count the other fragments' bytes too.
func (g *Datagram) fragmented() bool {
	if g.Layers&LayerIPv6 != 0 {
		f := g.FragExt()
		return f != nil && (f.More() || f.FragOffset() != 0)
	}
	return g.IPv4.IsFragment()
}

// udpLengthMeaning explains a UDP length against the IP data that carries
// it (RFC 768): the IPv4 total length less the header, or the IPv6 payload
// length less the extension headers.
func udpLengthMeaning(g *Datagram, l int, quoted bool) string {
	carried := len(g.l4) // what the IP lengths give the transport, as far as it is here
	switch {
	case l < UDPHeaderLen:
		return fmt.Sprintf("%s: shorter than the 8-byte header; %s", Units(l, "byte"), ClaimUDPLengthBad.Text())
	case quoted || g.Truncated || g.fragmented():
	case l > carried:
		return fmt.Sprintf("%s: more than the %d bytes the IP header leaves for UDP; %s", Units(l, "byte"), carried, ClaimUDPLengthBad.Text())
	case l < carried:
		return fmt.Sprintf("%s: 8 header + %d data; the %d bytes after it are in the IP data but not in the datagram: %s", Units(l, "byte"), l-8, carried-l, ClaimUDPLengthShort.Text())
	}
	return fmt.Sprintf("%s: 8 header + %d data", Units(l, "byte"), l-8)
}

func (x *explainer) icmp(g *Datagram, q string, checks []ChecksumResult, quoted bool) {
	h := &g.ICMP
	x.layer, x.base, x.rfc = q+"ICMP", g.TransportOffset, "RFC 792"
	add := func(name string, bit, width int, v uint64, text, m string) {
		if present(g, bit, width) {
			x.add(name, bit, width, v, text, m)
		}
	}
	add("Type", 0, 8, uint64(h.Type), "", ICMPTypeName(h.Type))
	add("Code", 8, 8, uint64(h.Code), "", ICMPCodeName(h.Type, h.Code))
	cs := h.Checksum.Or(0)
	add("Checksum", 16, 16, uint64(cs), fmt.Sprintf("0x%04x", cs), checkMeaning(checks, LayerICMP, quoted))
	if g.TransportLen < ICMPHeaderLen {
		return // cut: the fields whose bytes are here are shown
	}
	switch {
	case h.Type == ICMPEcho || h.Type == ICMPEchoReply || h.Type == ICMPTimestamp || h.Type == ICMPTimestampReply,
		h.Type >= ICMPInfoRequest && h.Type <= ICMPAddrMaskReply: // RFC 792, RFC 950: the same two fields
		x.add("Identifier", 32, 16, uint64(h.ID()), "", "chosen by the sender to match replies")
		x.add("Sequence Number", 48, 16, uint64(h.Seq()), "", "counts the requests")
	case h.Type == ICMPUnreachable && h.Code == CodeFragNeeded:
		x.unused(32, 8, uint64(h.Rest>>24))
		x.icmpLengthField(40, ICMPExtLength(h.Rest), false)
		x.addRFC("Next-Hop MTU", 48, 16, uint64(h.MTU()), "", "the largest datagram the next link carries", "RFC 1191 §4")
	case h.Type == ICMPParamProblem:
		x.add("Pointer", 32, 8, uint64(h.Rest>>24), "", "byte of the quoted header that is wrong")
		x.icmpLengthField(40, ICMPExtLength(h.Rest), false)
		x.unused(48, 16, uint64(h.Rest&0xffff))
	case HasICMPExtLength(h.Type):
		x.unused(32, 8, uint64(h.Rest>>24))
		x.icmpLengthField(40, ICMPExtLength(h.Rest), false)
		x.unused(48, 16, uint64(h.Rest&0xffff))
	case h.Type == ICMPRedirect:
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], h.Rest)
		x.addAddr("Gateway Address", 32, 32, fmt.Sprintf("%d.%d.%d.%d", a[0], a[1], a[2], a[3]), "the better first hop")
	default:
		x.unused(32, 32, uint64(h.Rest))
	}
	if HasICMPExtLength(h.Type) && !quoted {
		x.icmpQuote(g.Payload, h.Rest, false, x.cut, "the quoted datagram: IP header and first data bytes of the packet that caused this error")
		return
	}
	what := "echo data, returned unchanged in the reply"
	if h.IsError() {
		what = "the quoted datagram: IP header and first 8 data bytes of the packet that caused this error"
	}
	x.payload(g.Payload, ICMPHeaderLen, what)
}

// unused explains bits no field uses: zero, as senders must set them.
func (x *explainer) unused(bit, width int, v uint64) {
	x.add("Unused", bit, width, v, "", map[bool]string{true: "zero", false: ClaimReservedIgnored.Text()}[v == 0])
}

// extensions explains the RFC 4884 extension structure an ICMP or ICMPv6
// error of the outer datagram carries after its quote.
func (x *explainer) extensions(g *Datagram) {
	start, layer := -1, "ICMP extension"
	switch {
	case g.Layers&LayerICMP != 0 && HasICMPExtLength(g.ICMP.Type) && g.TransportLen >= ICMPHeaderLen:
		start, _ = icmpExtStart(g.Payload, g.ICMP.Rest, false)
	case g.Layers&LayerICMPv6 != 0 && HasICMPv6ExtLength(g.ICMPv6.Type) && g.TransportLen >= ICMPHeaderLen:
		start, _ = icmpExtStart(g.Payload, g.ICMPv6.Rest, true)
		layer = "ICMPv6 extension"
	}
	if start < 0 {
		return
	}
	x.icmpExtensions(g.Payload[start:], g.PayloadOffset+start, layer, x.cut)
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
