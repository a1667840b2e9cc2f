package craft

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxIPv6Ext is the most extension headers the decoder records in one
// packet; a chain longer than that stops decoding with ErrMalformed.
const MaxIPv6Ext = 16

// Exts returns the decoded IPv6 extension headers, in wire order.
func (g *Datagram) Exts() []IPv6Ext { return g.Ext[:g.NExt] }

// FragExt returns the decoded Fragment header, or nil.
func (g *Datagram) FragExt() *IPv6Ext {
	for i := range g.NExt {
		if g.Ext[i].Kind == ProtoFragment {
			return &g.Ext[i]
		}
	}
	return nil
}

func (g *Datagram) payloadLen() int { v, _ := g.IPv6.PayloadLen.Get(); return int(v) }

func (d *Decoded) decodeOuter6(b []byte, base int) error {
	err := d.Datagram.decode6(b, base, false)
	if f := d.FragExt(); f != nil && (f.More() || f.FragOffset() != 0) {
		d.Frag = FirstFragment
		if f.FragOffset() != 0 {
			d.Frag = LaterFragment
		}
	}
	if err != nil {
		return d.firstError(err)
	}
	if d.Layers&LayerICMPv6 != 0 && d.ICMPv6.IsError() && d.Frag != LaterFragment && len(d.Payload) > 0 && d.Payload[0]>>4 == 6 {
		if qerr := d.Quoted.decode6(d.Payload, d.PayloadOffset, true); qerr != nil && !errors.Is(qerr, ErrTruncated) {
			// An outer option that lies comes first: a receiver drops
			// the packet there and never reads the quote.
			return d.firstError(qerr)
		}
	}
	if oerr := d.optionsError(); oerr != nil {
		return oerr
	}
	if d.Truncated {
		return &ParseError{Layer: "IPv6", Field: "payload length", Offset: base + 4, Err: ErrTruncated,
			Detail: fmt.Sprintf("payload length %d, %d bytes present after the header", d.payloadLen(), len(b)-IPv6HeaderLen)}
	}
	return nil
}

// decode6 reads an IPv6 packet from b, at offset base of the input: the
// header, the extension header chain, and TCP, UDP or ICMPv6. A quoted
// packet may stop anywhere after its header: it decodes as far as it goes
// and is marked Truncated, without error.
func (g *Datagram) decode6(b []byte, base int, quoted bool) error {
	layer := "IPv6"
	if quoted {
		layer = "quoted IPv6"
	}
	g.IPOffset = base
	err := g.IPv6.decode(b, base, layer)
	if len(b) >= IPv6HeaderLen {
		g.Layers |= LayerIPv6
	}
	if err != nil {
		return err
	}
	g.ipHdr = b[:IPv6HeaderLen]
	plen := g.payloadLen()
	if nh := g.IPv6.NextHeader.Or(0); plen == 0 && !quoted && (nh == ProtoTCP || nh == ProtoUDP || nh == ProtoHopByHop) {
		// A Payload Length of 0 before TCP, UDP or a Hop-by-Hop header (with
		// No Next Header it is simply empty, before anything else wrong): a
		// jumbogram's length is in its Jumbo
		// Payload option (RFC 2675 §2); without one, the packet is read to
		// the frame's end, as Linux's ipv6_rcv does (claim jumbo-missing)
		// and as a capture on a sender with segmentation offload needs
		// (LenFromCapture). Whether a Jumbo option's values are legal is
		// checkOptions' verdict, not a reason to stop decoding.
		if jl, ok := jumboLen(b); ok {
			plen = int(min(jl, uint32(len(b)-IPv6HeaderLen)+1))
		} else {
			plen, g.LenFromCapture = len(b)-IPv6HeaderLen, true
		}
	}
	end := IPv6HeaderLen + plen
	switch {
	case end > len(b):
		g.Truncated = true
		end = len(b)
	case end < len(b):
		g.Trailer = b[end:]
	}
	off := IPv6HeaderLen
	next := g.IPv6.NextHeader.Or(0)
	later := false
	for isExtKind(next) && !later {
		if g.NExt == MaxIPv6Ext {
			err = &ParseError{Layer: layer, Field: "next header", Offset: base + off, Err: ErrMalformed,
				Detail: fmt.Sprintf("more than %d extension headers", MaxIPv6Ext)}
			break
		}
		e := &g.Ext[g.NExt]
		n, eerr := e.decode(b[off:end], next, base+off, extLayer(quoted))
		if len(b[off:end]) >= 2 {
			g.NExt++
			g.Layers |= LayerIPv6Ext
		}
		if eerr != nil {
			err = eerr
			break
		}
		if e.Kind == ProtoFragment && e.FragOffset() != 0 {
			later = true
		}
		next = e.NextHeader.Or(0)
		off += n
	}
	g.TransportOffset, g.PayloadOffset = base+off, base+off
	if off > end {
		off = end
	}
	data := b[off:end]
	g.l4, g.Payload = data, data
	if err != nil {
		if errors.Is(err, ErrTruncated) && (quoted || g.Truncated) {
			g.Truncated = true
			return nil
		}
		return err
	}
	fragment := later || g.FragExt() != nil && g.FragExt().More()
	if later {
		return nil // a later fragment: its data starts mid-transport
	}
	claimed := plen - (off - IPv6HeaderLen)
	var hl, want int
	switch next {
	case ProtoTCP:
		hl, err = g.TCP.decode(data, g.TransportOffset, prefix(quoted, "TCP"))
		g.Layers |= headerIn(LayerTCP, data)
		want = TCPHeaderLen
	case ProtoUDP:
		hl, err = g.UDP.decode(data, g.TransportOffset, prefix(quoted, "UDP"))
		g.Layers |= headerIn(LayerUDP, data)
		want = UDPHeaderLen
		if err == nil {
			ul := int(g.UDP.Length.Or(0))
			switch {
			case ul <= len(data):
				data = data[:ul]
			case fragment:
			case ul > claimed && !quoted:
				err = &ParseError{Layer: "UDP", Field: "length", Offset: g.TransportOffset + 4, Err: ErrMalformed,
					Detail: fmt.Sprintf("UDP length %d > upper-layer length %d (payload length %d − %d bytes of extension headers)", ul, claimed, plen, off-IPv6HeaderLen)}
			default:
				g.Truncated = true
			}
		}
	case ProtoICMPv6:
		hl, err = g.ICMPv6.decode(data, g.TransportOffset, prefix(quoted, "ICMPv6"))
		g.Layers |= headerIn(LayerICMPv6, data)
		want = ICMPHeaderLen
	default:
		return nil
	}
	g.TransportLen = hl
	g.Payload = data[min(hl, len(data)):]
	g.PayloadOffset = g.TransportOffset + min(hl, len(data))
	if err != nil && errors.Is(err, ErrTruncated) {
		switch {
		case quoted || fragment:
			g.Truncated = g.Truncated || quoted
			return nil
		case want <= claimed && g.Truncated:
			return nil // cut short: the payload length error says so
		}
		return &ParseError{Layer: layerOf(next), Field: "header", Offset: g.TransportOffset, Err: ErrMalformed,
			Detail: fmt.Sprintf("payload length %d leaves %d bytes after the extension headers; the header has %d", plen, claimed, want)}
	}
	return err
}

// jumboLen returns the Jumbo Payload Length (RFC 2675 §2) of the packet b
// starts with, when its first extension header is a whole Hop-by-Hop
// Options header holding a well-formed Jumbo Payload option.
func jumboLen(b []byte) (uint32, bool) {
	l, _, ok := jumboOption(b)
	return l, ok
}

// jumboOption is jumboLen with the offset of the length field in b.
func jumboOption(b []byte) (uint32, int, bool) {
	if len(b) < IPv6HeaderLen+8 || b[6] != ProtoHopByHop {
		return 0, 0, false
	}
	n := 8 * (int(b[IPv6HeaderLen+1]) + 1)
	if IPv6HeaderLen+n > len(b) {
		return 0, 0, false
	}
	opts := b[IPv6HeaderLen+2 : IPv6HeaderLen+n]
	for off := 0; off < len(opts); {
		o, next, err := NextIPv6Option(opts, off)
		if err != nil {
			return 0, 0, false
		}
		if o.Type == IPv6OptJumbo && len(o.Data) == 4 {
			return binary.BigEndian.Uint32(o.Data), IPv6HeaderLen + 2 + off + 2, true
		}
		off = next
	}
	return 0, 0, false
}

// IPv6OptHomeAddress is the Home Address destination option of Mobile
// IPv6 (RFC 6275 §6.3).
const IPv6OptHomeAddress uint8 = 0xc9

// homeAddress returns the address of a Home Address option (RFC 6275 §6.3)
// in a Destination Options header: a mobile node's packet carries its
// care-of address as the source and its home address there, and the
// transport checksum covers the home address ("the checksum is computed
// using the home address"; Linux: ipv6_dest_hao swaps them on receipt).
func homeAddress(exts []IPv6Ext) ([16]byte, bool) {
	for i := range exts {
		e := &exts[i]
		for off := 0; e.Kind == ProtoDestOpts && off < len(e.Data); {
			o, next, err := NextIPv6Option(e.Data, off)
			if err != nil {
				break
			}
			if o.Type == IPv6OptHomeAddress && len(o.Data) == 16 {
				return [16]byte(o.Data), true
			}
			off = next
		}
	}
	return [16]byte{}, false
}

func extLayer(quoted bool) string {
	if quoted {
		return "quoted IPv6 ext"
	}
	return "IPv6 ext"
}

func layerOf(p uint8) string {
	switch p {
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	}
	return "ICMPv6"
}

// finalDst6 is the destination the transport's pseudo-header uses: the last
// address of a Routing header with segments left, else the IPv6 destination
// (RFC 8200 §8.1).
func (g *Datagram) finalDst6() [16]byte {
	d := g.IPv6.Dst.As16()
	for i := range g.NExt {
		if a, ok := g.Ext[i].finalDst(); ok {
			d = a
		}
	}
	return d
}

func (g *Datagram) checksums6(dst []ChecksumResult, quoted, partial bool) []ChecksumResult {
	if g.ipHdr == nil {
		return dst
	}
	seg := g.l4
	unverifiable := partial || g.Truncated || g.LenFromCapture // see checksums
	s, d := g.IPv6.Src.As16(), g.finalDst6()
	if h, ok := homeAddress(g.Exts()); ok {
		s = h
	}
	addrs := pseudoAddrs6(&s, &d)
	var r ChecksumResult
	switch {
	case g.Layers&LayerTCP != 0 && len(seg) >= 18:
		r = ChecksumResult{Layer: LayerTCP, Quoted: quoted, Got: binary.BigEndian.Uint16(seg[16:])}
		if unverifiable {
			r.Status = ChecksumUnverifiable
		} else {
			r.Want = ^fold(sum(seg[18:], sum(seg[:16], addrs+uint64(ProtoTCP)+uint64(len(seg)))))
			r.Status, r.NegZero = status(r.Got, r.Want)
		}
	case g.Layers&LayerUDP != 0 && len(seg) >= 8:
		r = ChecksumResult{Layer: LayerUDP, Quoted: quoted, Got: binary.BigEndian.Uint16(seg[6:])}
		ul := int(binary.BigEndian.Uint16(seg[4:]))
		if partial || g.LenFromCapture || ul > len(seg) || ul < 8 {
			r.Status = ChecksumUnverifiable
			break
		}
		seg = seg[:ul]
		r.Want = ^fold(sum(seg[8:], sum(seg[:6], addrs+uint64(ProtoUDP)+uint64(ul))))
		if r.Want == 0 {
			r.Want = 0xffff
		}
		if r.Got != r.Want {
			// Zero included: IPv6 has no "no checksum" (RFC 8200 §8.1).
			r.Status = ChecksumBad
		}
	case g.Layers&LayerICMPv6 != 0 && len(seg) >= 4:
		r = ChecksumResult{Layer: LayerICMPv6, Quoted: quoted, Got: binary.BigEndian.Uint16(seg[2:])}
		if unverifiable {
			r.Status = ChecksumUnverifiable
		} else {
			r.Want = ^fold(sum(seg[4:], sum(seg[:2], addrs+uint64(ProtoICMPv6)+uint64(len(seg)))))
			r.Status, r.NegZero = status(r.Got, r.Want)
		}
	default:
		return dst
	}
	return append(dst, r)
}

// hasJumbo reports whether the first extension header is a Hop-by-Hop
// header holding a Jumbo Payload option.
func (g *Datagram) hasJumbo() bool {
	if g.NExt == 0 || g.Ext[0].Kind != ProtoHopByHop {
		return false
	}
	e := &g.Ext[0]
	for o := 0; o < len(e.Data); {
		opt, next, err := NextIPv6Option(e.Data, o)
		if err != nil {
			return false
		}
		if opt.Type == IPv6OptJumbo {
			return true
		}
		o = next
	}
	return false
}
