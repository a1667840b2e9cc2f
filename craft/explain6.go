package craft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// trailer6 shows the bytes after the IPv6 payload length.
func (x *explainer) trailer6(d *Decoded, t []byte) {
	off := d.Datagram.IPOffset + IPv6HeaderLen + d.payloadLen()
	x.layer, x.base = "Trailer", off
	zero := true
	for _, c := range t {
		zero = zero && c == 0
	}
	name, m, rfc := "Trailer", fmt.Sprintf("%s past the IPv6 payload length %d: not part of the packet; %s", Units(len(t), "byte"), d.payloadLen(), ClaimIPv6TrailerTrimmed.Text()), "RFC 8200 §3"
	if d.Link&LayerEthernet != 0 && len(d.Raw) == MinFrameLen && zero { // padding fills a frame to 60 bytes, no fewer
		name, m, rfc = "Padding", fmt.Sprintf("%d zero bytes of Ethernet padding", len(t)), "IEEE 802.3 §3.2.8"
	}
	x.addRFC(name, 0, 8*len(t), 0, fmt.Sprintf("%s: %s", Units(len(t), "byte"), preview(t)), m, rfc)
}

// datagram6 explains g's IPv6 header; quotes says that g is an ICMPv6
// error whose quote holds an IPv6 header.
func (x *explainer) datagram6(g *Datagram, q string, checks []ChecksumResult, quoted, quotes bool, frag FragState) {
	h := &g.IPv6
	x.layer, x.base, x.rfc = q+"IPv6", g.IPOffset, "RFC 8200 §3"
	ver := h.Version.Or(0)
	x.add("Version", 0, 4, uint64(ver), "", map[bool]string{true: "IPv6", false: ClaimIPv6VersionDropped.Text()}[ver == 6])
	x.addRFC("Traffic Class", 4, 8, uint64(h.TrafficClass), fmt.Sprintf("0x%02x", h.TrafficClass),
		fmt.Sprintf("DSCP %d, ECN %d", h.TrafficClass>>2, h.TrafficClass&3), "RFC 8200 §7, RFC 2474 §3, RFC 3168 §5")
	fm := "no flow"
	if h.FlowLabel != 0 {
		fm = "labels a flow: " + ClaimFlowLabelHashed.Text()
		// An error right after the header, as Linux looks for one
		// (ip6_multipath_l3_keys), with the quoted header there to hash.
		if quotes && h.NextHeader.Or(0) == ProtoICMPv6 && g.Layers&LayerICMPv6 != 0 && g.ICMPv6.Type >= ICMPv6Unreachable && g.ICMPv6.Type <= ICMPv6ParamProblem {
			fm = "labels a flow: " + ClaimFlowLabelICMPv6Error.Text()
		}
	}
	x.addRFC("Flow Label", 12, 20, uint64(h.FlowLabel), fmt.Sprintf("0x%05x", h.FlowLabel), fm, "RFC 6437")
	pl := g.payloadLen()
	pm := fmt.Sprintf("%s after this header, extension headers included", Units(pl, "byte"))
	if pl == 0 && h.NextHeader.Or(0) == ProtoHopByHop && !quoted {
		pm = "0 before a Hop-by-Hop header: a jumbogram's, whose length is in the Jumbo Payload option (RFC 2675 §2)"
		if !g.hasJumbo() {
			pm = "0 before a Hop-by-Hop header without a Jumbo Payload option: " + ClaimJumboMissing.Text()
		}
	}
	if g.Truncated {
		pm += fmt.Sprintf("; only %d present", len(g.l4)+g.TransportOffset-g.IPOffset-IPv6HeaderLen)
		if quoted {
			pm += " (an ICMPv6 error quotes what fits in 1280 bytes)"
		}
	}
	if g.LenFromCapture {
		pm = "0 and no Jumbo Payload option: " + offloadWords(IPv6HeaderLen+len(g.l4)+g.TransportOffset-g.IPOffset-IPv6HeaderLen)
		if h.NextHeader.Or(0) == ProtoHopByHop {
			pm += "; if it was sent so, before a Hop-by-Hop header: " + ClaimJumboMissing.Text()
		}
	}
	x.add("Payload Length", 32, 16, uint64(pl), "", pm)
	nh := h.NextHeader.Or(0)
	x.add("Next Header", 48, 8, uint64(nh), "", IPv6NextHeaderName(nh))
	hl := h.HopLimit.Or(0)
	x.add("Hop Limit", 56, 8, uint64(hl), "", ClaimHopLimitExpires.Text())
	x.addAddr("Source Address", 64, 128, h.Src.String(), addrMeaning(h.Src))
	x.addAddr("Destination Address", 192, 128, h.Dst.String(), addrMeaning(h.Dst))
	off := g.IPOffset + IPv6HeaderLen
	for i := range g.NExt {
		e := &g.Ext[i]
		n := len(x.out)
		x.ext(e, q, off, frag)
		// A header kind met again (Destination Options before a Routing
		// header and at the end) is a layer of its own: its fields start
		// at bit 0 again.
		seen := 1
		for j := range i {
			if g.Ext[j].Kind == e.Kind {
				seen++
			}
		}
		if seen > 1 {
			for k := n; k < len(x.out); k++ {
				x.out[k].Layer = fmt.Sprintf("%s (%s)", x.out[k].Layer, ordinal(seen))
			}
		}
		off += 2 + len(e.Data)
	}
	switch {
	case g.Layers&LayerTCP != 0:
		x.tcp(g, q, checks, quoted)
	case g.Layers&LayerUDP != 0:
		x.udp(g, q, checks, quoted)
	case g.Layers&LayerICMPv6 != 0:
		x.icmpv6(g, q, checks, quoted)
	default:
		x.layer, x.base, x.rfc = q+"IPv6", g.IPOffset, "RFC 8200 §3"
		if len(g.Payload) > 0 {
			what := "data"
			if frag == LaterFragment {
				what = "fragment data, continuing the fragmentable part"
			}
			x.payload(g.Payload, g.PayloadOffset-g.IPOffset, what)
		}
	}
}

func addrMeaning(a netip.Addr) string {
	switch {
	case a.IsUnspecified():
		return "unspecified (::): a host with no address yet"
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast():
		return ClaimLinkLocalNotForwarded.Text()
	case a.IsMulticast():
		b := a.As16()
		if b[1]&0xf == 2 && b[11] == 1 && b[12] == 0xff {
			return "solicited-node multicast (RFC 4291 §2.7.1): where neighbor solicitations go"
		}
		return "multicast"
	case a.Is4In6():
		return "IPv4-mapped"
	}
	return ""
}

// ext explains one extension header at byte off of the input.
func (x *explainer) ext(e *IPv6Ext, q string, off int, frag FragState) {
	x.base = off
	nh, hel := e.NextHeader.Or(0), e.HdrExtLen.Or(0)
	switch e.Kind {
	case ProtoHopByHop:
		x.layer, x.rfc = q+"Hop-by-Hop", "RFC 8200 §4.3"
	case ProtoDestOpts:
		x.layer, x.rfc = q+"Dest Options", "RFC 8200 §4.6"
	case ProtoRouting:
		x.layer, x.rfc = q+"Routing", "RFC 8200 §4.4"
	case ProtoFragment:
		x.layer, x.rfc = q+"Fragment", "RFC 8200 §4.5"
	default:
		x.layer, x.rfc = q+fmt.Sprintf("Extension %d", e.Kind), "RFC 8200 §4"
	}
	x.add("Next Header", 0, 8, uint64(nh), "", IPv6NextHeaderName(nh))
	n := 2 + len(e.Data)
	if e.Kind == ProtoFragment {
		x.add("Reserved", 8, 8, uint64(hel), "", map[bool]string{true: "zero", false: ClaimReservedIgnored.Text()}[hel == 0])
		if len(e.Data) < 6 {
			return
		}
		fo := e.FragOffset()
		fm := fmt.Sprintf("%d × 8 = byte %d of the fragmentable part", fo, int(fo)*8)
		switch {
		case frag == FirstFragment:
			fm += ": the first fragment"
		case frag == LaterFragment:
			fm += ": a later fragment"
		case fo == 0 && !e.More():
			fm += ": " + ClaimAtomicFragment.Text()
		}
		x.add("Fragment Offset", 16, 13, uint64(fo), "", fm)
		x.add("Res", 29, 2, uint64(e.FragRes()), "", "reserved, zero")
		m := uint64(0)
		if e.More() {
			m = 1
		}
		x.add("M", 31, 1, m, "", map[bool]string{true: "more fragments follow", false: "the last fragment"}[e.More()])
		id := e.Ident()
		x.add("Identification", 32, 32, uint64(id), fmt.Sprintf("0x%08x", id), "shared by every fragment of this packet")
		return
	}
	hm := fmt.Sprintf("(%d + 1) × 8 = %d bytes", hel, 8*(int(hel)+1))
	if 8*(int(hel)+1) != n {
		hm += fmt.Sprintf("; %d present", n)
	}
	x.add("Hdr Ext Len", 8, 8, uint64(hel), "", hm)
	if e.IsOptions() {
		x.ipv6Options(e.Data, 16)
		return
	}
	if e.Kind == ProtoRouting && len(e.Data) >= 2 {
		rt := e.RoutingType()
		rm := map[uint8]string{0: "type 0 source route: deprecated (RFC 5095)",
			2: "type 2, mobile IPv6 home address (RFC 6275 §6.4)", 3: "RPL source route (RFC 6554)",
			4: "segment routing header (RFC 8754)"}[rt]
		if rt == 0 && e.SegmentsLeft() > 0 {
			rm += "; " + ClaimRoutingType0Refused.Text()
		}
		x.add("Routing Type", 16, 8, uint64(rt), "", rm)
		sl := e.SegmentsLeft()
		sm := ClaimRoutingSegmentsLeftZero.Text()
		switch {
		case sl == 0 && (rt == 3 || rt == 4):
			sm = "no segments left: " + ClaimRoutingSegmentsLeftZeroDropped.Text()
		case sl > 0:
			sm = fmt.Sprintf("%d %s to visit; the checksums' pseudo-header uses the final destination (RFC 8200 §8.1)", sl, map[bool]string{true: "segment", false: "segments"}[sl == 1])
		}
		switch {
		case rt == 2 && sl != 1:
			sm += "; but a type 2 header's \"Segments Left MUST be 1\" (RFC 6275 §6.4.1)"
		}
		x.add("Segments Left", 24, 8, uint64(sl), "", sm)
		if len(e.Data) > 2 {
			x.add("Data", 32, 8*(len(e.Data)-2), 0, fmt.Sprintf("%s: %s", Units(len(e.Data)-2, "byte"), preview(e.Data[2:])), "type-specific data")
		}
		return
	}
	if len(e.Data) > 0 {
		x.add("Data", 16, 8*len(e.Data), 0, fmt.Sprintf("%s: %s", Units(len(e.Data), "byte"), preview(e.Data)), "")
	}
}

// ipv6Options explains the TLV options of a Hop-by-Hop or Destination
// Options header (RFC 8200 §4.2) at bit of the header, field by field.
func (x *explainer) ipv6Options(data []byte, bit int) {
	saved := x.rfc
	defer func() { x.rfc = saved }()
	x.rfc = "RFC 8200 §4.2"
	for o := 0; o < len(data); {
		opt, next, err := NextIPv6Option(data, o)
		b := bit + 8*o
		x.add("Option Type", b, 8, uint64(opt.Type), fmt.Sprintf("0x%02x", opt.Type), DescribeIPv6Option(opt))
		if opt.Type == IPv6OptPad1 {
			o = next
			continue
		}
		if o+1 >= len(data) {
			x.out[len(x.out)-1].Meaning = fmt.Sprintf("type 0x%02x: its length byte is missing, the header ends here", opt.Type)
			return
		}
		lm := fmt.Sprintf("%s of option data", Units(opt.Len, "byte"))
		if err != nil {
			lm = fmt.Sprintf("%s of option data, but only %d remain: the option runs past the header", Units(opt.Len, "byte"), len(data)-o-2)
		}
		x.add("Opt Data Len", b+8, 8, uint64(opt.Len), "", lm)
		d, db := opt.Data, b+16
		switch {
		case err != nil || len(d) == 0:
			x.optData(d, db, "")
		case opt.Type == IPv6OptRouterAlert && len(d) == 2:
			v := binary.BigEndian.Uint16(d)
			x.addRFC("Router Alert Value", db, 16, uint64(v), "", map[uint16]string{0: "0: the datagram holds a Multicast Listener Discovery message", 1: "1: the datagram holds an RSVP message", 2: "2: the datagram holds an Active Networks message"}[v], "RFC 2711 §2.1")
		case opt.Type == IPv6OptJumbo && len(d) == 4:
			x.addRFC("Jumbo Payload Length", db, 32, uint64(binary.BigEndian.Uint32(d)), "", "the packet's length after the IPv6 header, when above 65535", "RFC 2675 §2")
		case opt.Type == IPv6OptPadN:
			m := "padding: zeros that make the header a multiple of 8 bytes"
			for _, c := range d {
				if c != 0 {
					m = ClaimPadNNonzeroDropped.Text()
				}
			}
			x.optData(d, db, m)
		default:
			x.optData(d, db, "")
		}
		o = next
	}
}

func (x *explainer) icmpv6(g *Datagram, q string, checks []ChecksumResult, quoted bool) {
	h := &g.ICMPv6
	x.layer, x.base, x.rfc = q+"ICMPv6", g.TransportOffset, "RFC 4443 §2.1"
	if present(g, 0, 8) {
		x.add("Type", 0, 8, uint64(h.Type), "", ICMPv6TypeName(h.Type))
	}
	if present(g, 8, 8) {
		x.add("Code", 8, 8, uint64(h.Code), "", ICMPv6CodeName(h.Type, h.Code))
	}
	cs := h.Checksum.Or(0)
	if present(g, 16, 16) {
		x.addRFC("Checksum", 16, 16, uint64(cs), fmt.Sprintf("0x%04x", cs), checkMeaning(checks, LayerICMPv6, quoted), "RFC 4443 §2.3")
	}
	if g.TransportLen < ICMPHeaderLen {
		return // cut: the fields whose bytes are here are shown
	}
	what := "data"
	// Each message's section defines its fields after the checksum.
	if sec, ok := map[uint8]string{ICMPv6Unreachable: "§3.1", ICMPv6PacketTooBig: "§3.2", ICMPv6TimeExceeded: "§3.3", ICMPv6ParamProblem: "§3.4",
		ICMPv6EchoRequest: "§4.1", ICMPv6EchoReply: "§4.2"}[h.Type]; ok {
		x.rfc = "RFC 4443 " + sec
	}
	switch h.Type {
	case ICMPv6EchoRequest, ICMPv6EchoReply:
		x.add("Identifier", 32, 16, uint64(h.ID()), "", "chosen by the sender to match replies")
		x.add("Sequence Number", 48, 16, uint64(h.Seq()), "", "counts the requests")
		what = "echo data, returned unchanged in the reply"
	case ICMPv6PacketTooBig:
		x.addRFC("MTU", 32, 32, uint64(h.Rest), "", "the next link's MTU: "+ClaimIPv6RoutersNeverFragment.Text(), "RFC 4443 §3.2")
	case ICMPv6ParamProblem:
		x.addRFC("Pointer", 32, 32, uint64(h.Rest), "", "byte of the quoted packet where the error was found", "RFC 4443 §3.4")
	case ICMPv6RouterSolicit, ICMPv6RouterAdvert, ICMPv6NeighborSolicit, ICMPv6NeighborAdvert, ICMPv6Redirect:
		x.ndp(g, h)
		return
	case ICMPv6MLDQuery, ICMPv6MLDReport, ICMPv6MLDDone, ICMPv6MLDv2Report:
		x.mld(g, h)
		return
	case ICMPv6Unreachable, ICMPv6TimeExceeded:
		x.icmpLengthField(32, ICMPv6ExtLength(h.Rest), true)
		x.unused(40, 24, uint64(h.Rest&0xffffff))
		if !quoted {
			x.icmpQuote(g.Payload, h.Rest, true, x.cut, "the quoted packet: as much of the packet that caused this error as fits in 1280 bytes (RFC 4443 §2.4(c))")
			return
		}
	default:
		x.unused(32, 32, uint64(h.Rest))
	}
	if h.IsError() {
		what = "the quoted packet: as much of the packet that caused this error as fits in 1280 bytes (RFC 4443 §2.4(c))"
	}
	x.payload(g.Payload, ICMPHeaderLen, what)
}

func (x *explainer) ndp(g *Datagram, h *ICMPv6) {
	n, err := ParseNDP(h, g.Payload)
	x.rfc = map[uint8]string{ICMPv6RouterSolicit: "RFC 4861 §4.1", ICMPv6NeighborSolicit: "RFC 4861 §4.3", ICMPv6Redirect: "RFC 4861 §4.5"}[h.Type]
	switch h.Type {
	case ICMPv6RouterAdvert:
		x.rfc = "RFC 4861 §4.2"
		x.add("Cur Hop Limit", 32, 8, uint64(n.CurHopLimit), "", "the hop limit hosts should use; 0 unspecified")
		x.add("Flags", 40, 8, uint64(n.Flags), fmt.Sprintf("0x%02x", n.Flags), fmt.Sprintf("M=%d (addresses by DHCPv6) O=%d (other configuration by DHCPv6)", n.Flags>>7, n.Flags>>6&1))
		x.add("Router Lifetime", 48, 16, uint64(n.RouterLifetime), "", fmt.Sprintf("%d s as a default router", n.RouterLifetime))
		if err == nil {
			x.add("Reachable Time", 64, 32, uint64(n.ReachableTime), "", "ms a neighbor stays reachable after a confirmation")
			x.add("Retrans Timer", 96, 32, uint64(n.RetransTimer), "", "ms between neighbor solicitations")
		}
	case ICMPv6NeighborAdvert:
		x.rfc = "RFC 4861 §4.4"
		x.add("Flags", 32, 3, uint64(n.Flags>>5), fmt.Sprintf("R=%d S=%d O=%d", n.Flags>>7, n.Flags>>6&1, n.Flags>>5&1), "R router, S solicited, O override the cached link address")
		x.add("Reserved", 35, 29, uint64(h.Rest&0x1fffffff), "", "")
	default:
		x.add("Reserved", 32, 32, uint64(h.Rest), "", map[bool]string{true: "zero", false: ClaimReservedIgnored.Text()}[h.Rest == 0])
	}
	bit := 64
	if h.Type == ICMPv6RouterAdvert {
		bit = 128
	}
	if err == nil && n.Target.IsValid() {
		x.addAddr("Target Address", bit, 128, n.Target.String(), map[uint8]string{ICMPv6NeighborSolicit: "whose link address is asked for",
			ICMPv6NeighborAdvert: "whose link address this is", ICMPv6Redirect: "the better first hop"}[h.Type])
		bit += 128
	}
	if err == nil && n.Destination.IsValid() {
		x.addAddr("Destination Address", bit, 128, n.Destination.String(), "redirected to the target")
		bit += 128
	}
	if err != nil {
		x.payload(g.Payload, ICMPHeaderLen, "truncated NDP body: "+err.Error())
		return
	}
	x.rfc = "RFC 4861 §4.6"
	for o := 0; o < len(n.Options); {
		opt, next, oerr := NextNDPOption(n.Options, o)
		m := DescribeNDPOption(opt)
		if oerr != nil {
			m = fmt.Sprintf("option type %d with length %d: %s", opt.Type, opt.Len, ClaimNDPOptionMalformed.Text())
		}
		x.add("Option", bit+8*o, 8*(next-o), uint64(opt.Type), fmt.Sprintf("%x", n.Options[o:next]), m)
		o = next
	}
}
