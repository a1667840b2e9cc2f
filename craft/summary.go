package craft

import (
	"fmt"
	"strings"
)

// Summary describes the packet in one line, as a capture tool would:
// "198.18.1.3:40000 → 198.18.1.1:9999 TCP SYN seq 0 win 64240 len 0".
func (d *Decoded) Summary() string {
	var sb strings.Builder
	if d.Link&LayerARP != 0 {
		a := &d.ARP
		if a.Op == ARPRequest {
			fmt.Fprintf(&sb, "ARP who has %v? tell %v (%v)", a.TargetIP, a.SenderIP, a.SenderHW)
		} else {
			fmt.Fprintf(&sb, "ARP %v is at %v (op %d)", a.SenderIP, a.SenderHW, a.Op)
		}
		return sb.String()
	}
	if d.Layers&(LayerIPv4|LayerIPv6) == 0 {
		if d.Link&LayerEthernet != 0 {
			return fmt.Sprintf("Ethernet %v → %v type 0x%04x", d.Ethernet.Src, d.Ethernet.Dst, d.Ethernet.Type.Or(0))
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
		return sb.String()
	}
	writeDatagram(&sb, g, d.Frag)
	if d.Quoted.Layers&LayerIPv4 != 0 {
		sb.WriteString(" quoting [")
		writeDatagram(&sb, &d.Quoted, NotFragment)
		sb.WriteString("]")
	}
	return sb.String()
}

func writeDatagram(sb *strings.Builder, g *Datagram, frag FragState) {
	ip := &g.IPv4
	switch {
	case g.Layers&LayerTCP != 0:
		t := &g.TCP
		fmt.Fprintf(sb, "%v:%d → %v:%d TCP %s seq %d", ip.Src, t.SrcPort, ip.Dst, t.DstPort, tcpFlagWords(t.Flags), t.Seq)
		if t.Flags&TCPAck != 0 {
			fmt.Fprintf(sb, " ack %d", t.Ack)
		}
		if g.TransportLen >= TCPHeaderLen {
			fmt.Fprintf(sb, " win %d len %d", t.Window, len(g.Payload))
		}
	case g.Layers&LayerUDP != 0:
		u := &g.UDP
		fmt.Fprintf(sb, "%v:%d → %v:%d UDP len %d", ip.Src, u.SrcPort, ip.Dst, u.DstPort, u.Length.Or(0))
	case g.Layers&LayerICMP != 0:
		c := &g.ICMP
		fmt.Fprintf(sb, "%v → %v ICMP %s", ip.Src, ip.Dst, ICMPTypeName(c.Type))
		switch {
		case c.Type == ICMPEcho || c.Type == ICMPEchoReply:
			fmt.Fprintf(sb, " id %d seq %d", c.ID(), c.Seq())
		case c.Type == ICMPUnreachable && c.Code == CodeFragNeeded:
			fmt.Fprintf(sb, " (fragmentation needed, next-hop MTU %d)", c.MTU())
		case c.IsError():
			fmt.Fprintf(sb, " (%s)", ICMPCodeName(c.Type, c.Code))
		}
	default:
		fmt.Fprintf(sb, "%v → %v proto %d", ip.Src, ip.Dst, ip.Protocol.Or(0))
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
	case g.Layers&LayerTCP != 0:
		t := &g.TCP
		fmt.Fprintf(sb, "[%v]:%d → [%v]:%d TCP %s seq %d", src, t.SrcPort, dst, t.DstPort, tcpFlagWords(t.Flags), t.Seq)
		if t.Flags&TCPAck != 0 {
			fmt.Fprintf(sb, " ack %d", t.Ack)
		}
		if g.TransportLen >= TCPHeaderLen {
			fmt.Fprintf(sb, " win %d len %d", t.Window, len(g.Payload))
		}
	case g.Layers&LayerUDP != 0:
		u := &g.UDP
		fmt.Fprintf(sb, "[%v]:%d → [%v]:%d UDP len %d", src, u.SrcPort, dst, u.DstPort, u.Length.Or(0))
	case g.Layers&LayerICMPv6 != 0:
		c := &g.ICMPv6
		fmt.Fprintf(sb, "%v → %v ICMPv6 %s", src, dst, ICMPv6TypeName(c.Type))
		switch {
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
		fmt.Fprintf(sb, "%v → %v next header %d", src, dst, ip.NextHeader.Or(0))
	}
	for _, e := range g.Exts() {
		switch e.Kind {
		case ProtoHopByHop:
			sb.WriteString(" [hop-by-hop]")
		case ProtoDestOpts:
			sb.WriteString(" [dest-opts]")
		case ProtoRouting:
			fmt.Fprintf(sb, " [routing type %d left %d]", e.RoutingType(), e.SegmentsLeft())
		case ProtoFragment:
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
