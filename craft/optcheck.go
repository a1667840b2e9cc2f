package craft

import (
	"errors"
	"fmt"
)

// Option areas whose lengths lie make the whole packet malformed: a
// receiver does not read past them. An IPv4 option whose length is below 2
// or runs past the header is answered with a parameter problem (RFC 1122
// §3.2.1.8; Linux's ip_options_compile), an IPv6 Hop-by-Hop or Destination
// option that runs past its header drops the packet (RFC 8200 §4.2; Linux's
// ip6_parse_tlv), and a neighbor discovery message whose option has length
// 0 or runs past the message, or whose fixed part is cut, is silently
// discarded (RFC 4861 §6.1, §7.1, §8.1). TCP options are not among them:
// Linux stops reading them at a bad length and keeps the segment
// (tcp_parse_options).

// optionsError returns the ErrMalformed of the outer datagram's first
// option that lies, or nil.
func (d *Decoded) optionsError() error {
	g := &d.Datagram
	if g.Layers&LayerIPv4 != 0 {
		opts := g.IPv4.Options
		for off := 0; off < len(opts); {
			o, next, err := NextOption(opts, off)
			if err != nil {
				return &ParseError{Layer: "IPv4", Field: "option length", Offset: g.IPOffset + IPv4HeaderLen + off, Err: ErrMalformed,
					Detail: fmt.Sprintf("option type %d with length %d: %s", o.Kind, o.Len, optionLie(err, o.Len))}
			}
			if o.Kind == IPOptEOL {
				break
			}
			// The options rawcraft names have a floor of their own
			// (RFC 791 §3.1; Linux's ip_options_compile answers below it).
			if floor := ipOptionFloor(o.Kind); o.Len < floor {
				return &ParseError{Layer: "IPv4", Field: "option length", Offset: g.IPOffset + IPv4HeaderLen + off, Err: ErrMalformed,
					Detail: fmt.Sprintf("option type %d with length %d: its pointer and data need at least %d", o.Kind, o.Len, floor)}
			}
			off = next
		}
	}
	if g.Layers&LayerIPv6 == 0 {
		return nil
	}
	// A Jumbo Payload option goes with a length above 65535 and a payload
	// length of 0 (RFC 2675 §3). Linux's ipv6_hop_jumbo checks them in this
	// order and answers parameter problem pointing at the Jumbo Payload
	// Length, then at the option (claim jumbo-bad, proved in the lab).
	if jl, at, ok := jumboOption(d.Raw[g.IPOffset:]); ok {
		switch {
		case jl <= 0xffff:
			return &ParseError{Layer: "IPv6 ext", Field: "Jumbo Payload Length", Offset: g.IPOffset + at, Err: ErrMalformed,
				Detail: fmt.Sprintf("Jumbo Payload Length %d, not above 65535 as it must be: %s", jl, ClaimJumboBad.Text())}
		case g.payloadLen() != 0:
			return &ParseError{Layer: "IPv6 ext", Field: "Jumbo Payload", Offset: g.IPOffset + at - 2, Err: ErrMalformed,
				Detail: fmt.Sprintf("a Jumbo Payload option in a packet whose Payload Length is %d, not 0: %s", g.payloadLen(), ClaimJumboBad.Text())}
		}
	}
	at := g.IPOffset + IPv6HeaderLen
	for i := range g.NExt {
		e := &g.Ext[i]
		if e.IsOptions() {
			for off := 0; off < len(e.Data); {
				o, next, err := NextIPv6Option(e.Data, off)
				if err != nil {
					return &ParseError{Layer: "IPv6 ext", Field: "option length", Offset: at + 2 + off, Err: ErrMalformed,
						Detail: fmt.Sprintf("%s option type 0x%02x with length %d runs past the header", IPv6NextHeaderName(e.Kind), o.Type, o.Len)}
				}
				// A Router Alert option has 2 data bytes (RFC 2711 §2.1);
				// Linux drops the packet otherwise (ipv6_hop_ra).
				if o.Type == IPv6OptRouterAlert && e.Kind == ProtoHopByHop && o.Len != 2 {
					return &ParseError{Layer: "IPv6 ext", Field: "Router Alert option", Offset: at + 2 + off, Err: ErrMalformed,
						Detail: fmt.Sprintf("data length %d: the option has 2 data bytes (RFC 2711 §2.1)", o.Len)}
				}
				// A Jumbo Payload option has 4 data bytes and starts at
				// 4n+2 (RFC 2675 §2); Linux drops it otherwise.
				if o.Type == IPv6OptJumbo && e.Kind == ProtoHopByHop && (o.Len != 4 || (2+off)%4 != 2) {
					return &ParseError{Layer: "IPv6 ext", Field: "Jumbo Payload option", Offset: at + 2 + off, Err: ErrMalformed,
						Detail: fmt.Sprintf("data length %d at header byte %d: the option has 4 data bytes and starts at 4n+2 (RFC 2675 §2)", o.Len, 2+off)}
				}
				off = next
			}
		}
		// A type 2 Routing header carries one home address: "For a type 2
		// routing header, the Hdr Ext Len MUST be 2" (RFC 6275 §6.4.1), as
		// tshark holds too (Linux's ipv6_rthdr_rcv, built with
		// CONFIG_IPV6_MIP6, drops it otherwise; without, it treats type 2
		// as unknown). Its Segments Left, which MUST be 1, is told in the
		// explanation.
		if e.Kind == ProtoRouting && len(e.Data) >= 2 && e.RoutingType() == 2 {
			if hel := e.HdrExtLen.Or(uint8((len(e.Data)+2)/8 - 1)); hel != 2 {
				return &ParseError{Layer: "IPv6 ext", Field: "Hdr Ext Len", Offset: at + 1, Err: ErrMalformed,
					Detail: fmt.Sprintf("%d in a type 2 Routing header: \"For a type 2 routing header, the Hdr Ext Len MUST be 2\" (RFC 6275 §6.4.1)", hel)}
			}
		}
		at += 2 + len(e.Data)
	}
	// An MLD message short of what its fields announce cannot be read
	// whole (tshark calls it malformed too).
	if g.Layers&LayerICMPv6 != 0 && IsMLD(g.ICMPv6.Type) && d.Frag == NotFragment {
		if err := mldShort(&g.ICMPv6, g.Payload); err != nil {
			var pe *ParseError
			errors.As(err, &pe)
			return &ParseError{Layer: "MLD", Field: pe.Field, Offset: g.PayloadOffset + len(g.Payload), Err: ErrMalformed,
				Detail: fmt.Sprintf("%s with %d bytes after the ICMPv6 header: %s", ICMPv6TypeName(g.ICMPv6.Type), len(g.Payload), pe.Detail)}
		}
	}
	if g.Layers&LayerICMPv6 != 0 && IsNDP(g.ICMPv6.Type) && d.Frag == NotFragment {
		n, err := ParseNDP(&g.ICMPv6, g.Payload)
		if err != nil {
			// The claim is proved for the messages Linux reads as a host
			// (solicitations and advertisements); a Redirect's fate is
			// left unsaid.
			fate := ": " + ClaimNDPShortDiscarded.Text()
			if g.ICMPv6.Type == ICMPv6Redirect {
				fate = " (32 bytes, RFC 4861 §4.5)"
			}
			return &ParseError{Layer: "NDP", Field: "body", Offset: g.PayloadOffset, Err: ErrMalformed,
				Detail: fmt.Sprintf("%s with %d bytes after the ICMPv6 header, short of its fixed part%s", ICMPv6TypeName(g.ICMPv6.Type), len(g.Payload), fate)}
		}
		base := g.PayloadOffset + len(g.Payload) - len(n.Options)
		for off := 0; off < len(n.Options); {
			o, next, err := NextNDPOption(n.Options, off)
			if err != nil {
				return &ParseError{Layer: "NDP", Field: "option length", Offset: base + off, Err: ErrMalformed,
					Detail: fmt.Sprintf("option type %d with length %d (8-byte units) is 0 or runs past the message: %s", o.Type, o.Len, ClaimNDPOptionMalformed.Text())}
			}
			off = next
		}
	}
	return nil
}

// firstError returns err, or the option error that comes before it in the
// packet: a Hop-by-Hop option that lies is found before the UDP length
// behind it.
func (d *Decoded) firstError(err error) error {
	oerr := d.optionsError()
	var a, b *ParseError
	if oerr != nil && errors.As(oerr, &a) && errors.As(err, &b) && a.Offset < b.Offset {
		return oerr
	}
	return err
}

// ipOptionFloor is the least length of an option rawcraft names: type,
// length and pointer for a route, and the overflow and flags byte too for
// a timestamp; 0 for the others.
func ipOptionFloor(kind uint8) int {
	switch kind {
	case IPOptRR, IPOptLSRR, IPOptSSRR:
		return 3
	case IPOptTimestamp:
		return 4
	}
	return 0
}

func optionLie(err error, l int) string {
	if errors.Is(err, ErrMalformed) && l < 2 {
		return "a length counts the type and length bytes, so it is at least 2"
	}
	return "it runs past the header's options"
}
