package craft

import (
	"fmt"
	"net/netip"
	"strings"
)

// Summary describes the packet in one line, as a capture tool would:
// "198.18.1.3:40000 → 198.18.1.1:9999 TCP SYN seq 0 win 64240 len 0". An
// IPv4 or IPv6 packet cut inside its header still says which it is and what
// the bytes in hand show ("IPv4, truncated: 14 of the header's 20 bytes;
// total length 40, protocol 6 (TCP)"), and one whose IPv4 total length (or
// IPv6 payload length) runs past the bytes in hand says so ("· truncated:
// IPv4 total length 100, 40 bytes present").
func (d *Decoded) Summary() string { return d.SummaryOnWire(len(d.Raw)) }

// SummaryOnWire is Summary for a frame a capture kept only part of: wireLen
// is its length on the wire (a pcap record's original length). A length
// field that fits within wireLen is not called truncated, since the capture
// cut the bytes, not the sender; the caller says the capture cut it.
func (d *Decoded) SummaryOnWire(wireLen int) string {
	var sb strings.Builder
	if d.Link&LayerARP != 0 {
		a := &d.ARP
		// An address of length 0 (hlen or plen 0) is said in words, once.
		sha, spa, tpa := arpHW(a, 0), or(arpProtoText(a, 1), "(no address)"), or(arpProtoText(a, 3), "(no address)")
		switch {
		case a.Op == ARPRequest && sha == "":
			fmt.Fprintf(&sb, "ARP who has %s? tell %s", tpa, spa)
		case a.Op == ARPRequest:
			fmt.Fprintf(&sb, "ARP who has %s? tell %s (%s)", tpa, spa, sha)
		default:
			fmt.Fprintf(&sb, "ARP %s is at %s (op %d)", spa, or(sha, "(no hardware address)"), a.Op)
		}
		if !a.IsEthernetIPv4() || a.HType.Or(1) != 1 {
			fmt.Fprintf(&sb, " [hardware type %d, protocol type 0x%04x, hlen %d, plen %d]", a.HType.Or(1), a.PType.Or(EtherTypeIPv4), a.HLen.Or(6), a.PLen.Or(4))
		}
		return sb.String()
	}
	if cut := d.cutIPHeader(); cut != "" {
		return cut
	}
	if d.Layers&(LayerIPv4|LayerIPv6) == 0 {
		if d.Link&LayerEthernet != 0 {
			s := fmt.Sprintf("Ethernet %v → %v type 0x%04x", d.Ethernet.Src, d.Ethernet.Dst, d.Ethernet.Type.Or(0))
			if d.Ethernet.Type.Or(0) == EtherTypeARP {
				s += " (ARP, shorter than its address lengths announce)"
			}
			return s
		}
		if d.frame && len(d.Raw) < EthernetLen {
			return fmt.Sprintf("Ethernet, truncated: %d of the header's %d bytes", len(d.Raw), EthernetLen)
		}
		return "not IP"
	}
	// The VLANs first, outermost first, as tcpdump does ("vlan 5, p 3").
	if d.Link&LayerVLAN != 0 {
		for _, v := range d.Ethernet.VLANs {
			fmt.Fprintf(&sb, "vlan %d p %d: ", v.ID, v.PCP)
		}
	}
	g := &d.Datagram
	if g.Layers&LayerIPv6 != 0 {
		writeDatagram6(&sb, g, d.Frag)
		if d.Quoted.Layers&LayerIPv6 != 0 {
			sb.WriteString(" quoting [")
			writeDatagram6(&sb, &d.Quoted, NotFragment)
			sb.WriteString("]")
		}
	} else {
		writeDatagram(&sb, g, d.Frag)
		if d.Quoted.Layers&LayerIPv4 != 0 {
			sb.WriteString(" quoting [")
			writeDatagram(&sb, &d.Quoted, NotFragment)
			sb.WriteString("]")
		}
	}
	d.writeLengthPastEnd(&sb, wireLen)
	return sb.String()
}

// writeLengthPastEnd says when the outer IPv4 total length or IPv6 payload
// length announces more bytes than the packet had on the wire (wireLen,
// counted like len(d.Raw)): tshark's "IPv4 total length exceeds packet
// length" and "IPv6 payload length exceeds framing length".
func (d *Decoded) writeLengthPastEnd(sb *strings.Builder, wireLen int) {
	g := &d.Datagram
	if g.LenFromCapture || g.IPOffset > len(d.Raw) {
		return
	}
	present, onWire := len(d.Raw)-g.IPOffset, max(wireLen, len(d.Raw))-g.IPOffset
	if g.Layers&LayerIPv6 != 0 {
		if n := g.payloadLen(); IPv6HeaderLen+n > onWire {
			fmt.Fprintf(sb, " · truncated: IPv6 payload length %d, %d bytes present after the header", n, present-IPv6HeaderLen)
		}
		return
	}
	if n := g.totalLen(); n > onWire {
		fmt.Fprintf(sb, " · truncated: IPv4 total length %d, %d bytes present", n, present)
	}
}

// cutIPHeader describes an IPv4 or IPv6 header the bytes end inside: what
// the family is and the fields in hand. "" when the input is not a cut IP
// header (the EtherType, or a bare packet's version, says another protocol).
func (d *Decoded) cutIPHeader() string {
	var b []byte
	v := 0
	switch {
	case d.Link&LayerEthernet != 0:
		t, _ := d.Ethernet.Type.Get()
		switch {
		case t == EtherTypeIPv4:
			v = 4
		case t == EtherTypeIPv6 && d.AcceptIPv6:
			v = 6
		}
		b = d.Raw[min(d.IPOffset, len(d.Raw)):]
	case !d.frame && len(d.Raw) > 0:
		b = d.Raw
		switch b[0] >> 4 {
		case 4:
			v = 4
		case 6:
			if d.AcceptIPv6 {
				v = 6
			}
		}
	}
	var sb strings.Builder
	switch {
	case len(b) == 0:
	case v == 4 && (len(b) < IPv4HeaderLen || len(b) < int(b[0]&0x0f)*4):
		hl := max(int(b[0]&0x0f)*4, IPv4HeaderLen)
		fmt.Fprintf(&sb, "IPv4, truncated: %d of the header's %d bytes", len(b), hl)
		if len(b) >= 4 {
			fmt.Fprintf(&sb, "; total length %d", int(b[2])<<8|int(b[3]))
		}
		if len(b) >= 10 {
			fmt.Fprintf(&sb, ", protocol %d", b[9])
			if n := protoName(b[9]); n != "other" {
				fmt.Fprintf(&sb, " (%s)", n)
			}
		}
		if len(b) >= 16 {
			fmt.Fprintf(&sb, ", from %v", netip.AddrFrom4([4]byte(b[12:16])))
		}
		if len(b) >= 20 {
			fmt.Fprintf(&sb, " to %v", netip.AddrFrom4([4]byte(b[16:20])))
		}
	case v == 6 && len(b) < IPv6HeaderLen:
		fmt.Fprintf(&sb, "IPv6, truncated: %d of the header's %d bytes", len(b), IPv6HeaderLen)
		if len(b) >= 6 {
			fmt.Fprintf(&sb, "; payload length %d", int(b[4])<<8|int(b[5]))
		}
		if len(b) >= 7 {
			fmt.Fprintf(&sb, ", next header %d", b[6])
		}
		if len(b) >= 24 {
			fmt.Fprintf(&sb, ", from %v", netip.AddrFrom16([16]byte(b[8:24])))
		}
	}
	return sb.String()
}

func writeDatagram(sb *strings.Builder, g *Datagram, frag FragState) {
	ip := &g.IPv4
	switch {
	case g.Layers&(LayerTCP|LayerUDP) != 0 && g.TransportLen >= 4:
		writePorts(sb, g, ip.Src.String(), ip.Dst.String())
	case g.Layers&LayerICMP != 0:
		fmt.Fprintf(sb, "%v → %v ", ip.Src, ip.Dst)
		writeICMP(sb, g)
	default: // no transport, or one cut before its ports
		fmt.Fprintf(sb, "%v → %v proto %d", ip.Src, ip.Dst, ip.Protocol.Or(0))
		writeNoHeader(sb, g, ip.Protocol.Or(0), frag)
	}
	if frag != NotFragment || ip.IsFragment() {
		mf := ""
		if ip.Flags&FlagMF != 0 {
			mf = " MF"
		}
		fmt.Fprintf(sb, " frag id 0x%04x off %d%s", ip.ID, int(ip.FragOff)*8, mf)
	}
	if ip.Flags&FlagDF != 0 {
		sb.WriteString(" DF")
	}
	if g.LenFromCapture {
		fmt.Fprintf(sb, " · total length 0: %s", offloadWords(len(g.ipHdr)+len(g.l4)))
	}
}

// offloadWords says why a length field of 0 was read as the bytes captured
// (Datagram.LenFromCapture).
func offloadWords(n int) string {
	return fmt.Sprintf("as a capture on the sending host shows it under segmentation offload (TSO): the NIC writes each segment's length; decoded with the %d bytes captured", n)
}

func writeDatagram6(sb *strings.Builder, g *Datagram, frag FragState) {
	ip := &g.IPv6
	src, dst := ip.Src, ip.Dst
	switch {
	case g.Layers&(LayerTCP|LayerUDP) != 0 && g.TransportLen >= 4:
		writePorts(sb, g, "["+src.String()+"]", "["+dst.String()+"]")
	case g.Layers&LayerICMPv6 != 0:
		c := &g.ICMPv6
		fmt.Fprintf(sb, "%v → %v ICMPv6 %s", src, dst, ICMPv6TypeName(c.Type))
		n := g.TransportLen
		switch {
		case n < ICMPHeaderLen && n < 2:
		case n < ICMPHeaderLen:
			fmt.Fprintf(sb, " (%s; %d of 8 header bytes)", ICMPv6CodeName(c.Type, c.Code), n)
		case c.Type == ICMPv6EchoRequest || c.Type == ICMPv6EchoReply:
			fmt.Fprintf(sb, " id %d seq %d", c.ID(), c.Seq())
		case c.Type == ICMPv6PacketTooBig:
			fmt.Fprintf(sb, " mtu %d", c.Rest)
		case c.Type == ICMPv6ParamProblem:
			fmt.Fprintf(sb, " (%s, pointer %d)", ICMPv6CodeName(c.Type, c.Code), c.Rest)
		case c.IsError():
			fmt.Fprintf(sb, " (%s)", ICMPv6CodeName(c.Type, c.Code))
		case IsNDP(c.Type):
			if n, err := ParseNDP(c, g.Payload); err == nil && n.Target.IsValid() {
				fmt.Fprintf(sb, " target %v", n.Target)
			}
		}
	default:
		nh := ip.NextHeader.Or(0)
		if g.NExt > 0 {
			nh = g.Ext[g.NExt-1].NextHeader.Or(0)
		}
		fmt.Fprintf(sb, "%v → %v next header %d", src, dst, nh)
		if !isExtKind(nh) {
			writeNoHeader(sb, g, nh, frag)
		}
	}
	for _, e := range g.Exts() {
		switch e.Kind {
		case ProtoHopByHop:
			sb.WriteString(" [hop-by-hop]")
		case ProtoDestOpts:
			sb.WriteString(" [dest-opts]")
		case ProtoRouting:
			if len(e.Data) < 2 {
				sb.WriteString(" [routing, cut]")
				continue
			}
			fmt.Fprintf(sb, " [routing type %d left %d]", e.RoutingType(), e.SegmentsLeft())
		case ProtoFragment:
			if len(e.Data) < 6 {
				sb.WriteString(" [frag, cut]")
				continue
			}
			mf := ""
			if e.More() {
				mf = " M"
			}
			fmt.Fprintf(sb, " [frag id 0x%08x off %d%s]", e.Ident(), int(e.FragOffset())*8, mf)
		default:
			fmt.Fprintf(sb, " [ext %d]", e.Kind)
		}
	}
	fmt.Fprintf(sb, " hlim %d", ip.HopLimit.Or(0))
	if g.LenFromCapture {
		fmt.Fprintf(sb, " · payload length 0 and no Jumbo Payload option: %s", offloadWords(len(g.ipHdr)+g.TransportOffset-g.IPOffset-IPv6HeaderLen+len(g.l4)))
	}
}

// writePorts writes a TCP or UDP header's summary from at least its 4
// bytes of ports: only the fields whose bytes are present (a quoted
// datagram holds 8 bytes of TCP's 20, a cut capture fewer), and how much
// of the header that was.
func writePorts(sb *strings.Builder, g *Datagram, src, dst string) {
	n := g.TransportLen
	name, full := "UDP", UDPHeaderLen
	sp, dp := g.UDP.SrcPort, g.UDP.DstPort
	if g.Layers&LayerTCP != 0 {
		name, full = "TCP", TCPHeaderLen
		sp, dp = g.TCP.SrcPort, g.TCP.DstPort
	}
	fmt.Fprintf(sb, "%s:%d → %s:%d %s", src, sp, dst, dp, name)
	if name == "UDP" {
		if n >= 6 {
			fmt.Fprintf(sb, " len %d", g.UDP.Length.Or(0))
		}
	} else {
		t := &g.TCP
		if n >= 14 {
			fmt.Fprintf(sb, " %s", tcpFlagWords(t.Flags))
		}
		if n >= 8 {
			fmt.Fprintf(sb, " seq %d", t.Seq)
		}
		if n >= 14 && t.Flags&TCPAck != 0 {
			fmt.Fprintf(sb, " ack %d", t.Ack)
		}
		if n >= TCPHeaderLen {
			fmt.Fprintf(sb, " win %d len %d", t.Window, len(g.Payload))
		}
	}
	if n < full {
		fmt.Fprintf(sb, " (%d of %d header bytes)", n, full)
	}
}

// writeICMP writes an ICMP header's summary, its fields only as far as
// their bytes go.
func writeICMP(sb *strings.Builder, g *Datagram) {
	c := &g.ICMP
	fmt.Fprintf(sb, "ICMP %s", ICMPTypeName(c.Type))
	n := g.TransportLen
	switch {
	case n < 2:
	case n < ICMPHeaderLen:
		fmt.Fprintf(sb, " (%s; %d of 8 header bytes)", ICMPCodeName(c.Type, c.Code), n)
	case c.Type == ICMPEcho || c.Type == ICMPEchoReply:
		fmt.Fprintf(sb, " id %d seq %d", c.ID(), c.Seq())
	case c.Type == ICMPUnreachable && c.Code == CodeFragNeeded:
		fmt.Fprintf(sb, " (fragmentation needed, next-hop MTU %d)", c.MTU())
	case c.IsError():
		fmt.Fprintf(sb, " (%s)", ICMPCodeName(c.Type, c.Code))
	}
}

// writeNoHeader says that the transport's header is not in the bytes,
// for a protocol rawcraft would otherwise decode.
func writeNoHeader(sb *strings.Builder, g *Datagram, proto uint8, frag FragState) {
	switch proto {
	case ProtoTCP, ProtoUDP, ProtoICMP, ProtoICMPv6:
	default:
		return
	}
	switch {
	case frag == LaterFragment || g.IPv4.FragOff != 0 || (g.FragExt() != nil && g.FragExt().FragOffset() != 0):
		sb.WriteString(" (a later fragment: its transport header is in the first)")
	case g.TransportLen > 0:
		fmt.Fprintf(sb, " (%d header byte%s, cut before the ports)", g.TransportLen, map[bool]string{true: "", false: "s"}[g.TransportLen == 1])
	default:
		sb.WriteString(" (no transport header in the bytes)")
	}
}

// arpHW shows ARP address i (0 sender, 2 target hardware) as a MAC when it
// is 6 bytes long, else in hex, as tshark does.
func arpHW(a *ARP, i int) string {
	if a.HLen.Or(6) == 6 {
		if i == 0 {
			return a.SenderHW.String()
		}
		return a.TargetHW.String()
	}
	return arpHex(a.Addrs[i])
}

// arpProtoText shows ARP address i (1 sender, 3 target protocol) as an
// IPv4 address when the protocol is IPv4 and the address 4 bytes long,
// else in hex, as tshark does.
func arpProtoText(a *ARP, i int) string {
	if a.PLen.Or(4) == 4 && a.PType.Or(EtherTypeIPv4) == EtherTypeIPv4 {
		if i == 1 {
			return a.SenderIP.String()
		}
		return a.TargetIP.String()
	}
	return arpHex(a.Addrs[i])
}

// arpHex shows an address in hex; "" when it has no bytes.
func arpHex(b []byte) string { return fmt.Sprintf("%x", b) }

// or is s, or none when s is "".
func or(s, none string) string {
	if s == "" {
		return none
	}
	return s
}
