package craft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// IPv6Ext is an IPv6 extension header (RFC 8200 §4): Hop-by-Hop Options,
// Routing, Fragment, Destination Options, or any other kind with the same
// first two bytes. A Packet carries them in any order, count and length,
// malformed ones included:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Header  |  Hdr Ext Len  |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                  Data (options, routing or fragment fields)   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The Fragment header (RFC 8200 §4.5) has a Reserved byte where the others
// have Hdr Ext Len, and is always 8 bytes:
//
//	|  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
//	|                         Identification                        |
type IPv6Ext struct {
	// Kind is the next-header value that announces this header:
	// ProtoHopByHop, ProtoRouting, ProtoFragment, ProtoDestOpts, or another.
	Kind uint8
	// NextHeader: the kind of the following header or the transport's
	// protocol; computed unless forced.
	NextHeader Auto[uint8]
	// HdrExtLen: the header's length in 8-byte units, not counting the
	// first 8 (RFC 8200 §4.3). Computed unless forced; a forced value may
	// lie. For a Fragment header this byte is Reserved: zero unless forced.
	HdrExtLen Auto[uint8]
	// Data is everything after the first two bytes, written as given and
	// padded to a multiple of 8 bytes with the header: options headers with
	// a Pad1 or PadN option (RFC 8200 §4.2), the others with zero bytes.
	// Decoded, it is a view of exactly the header's bytes.
	Data []byte
}

// Len returns the header's length in bytes: 2 + len(Data) rounded up to 8.
func (e *IPv6Ext) Len() int { return (2 + len(e.Data) + 7) &^ 7 }

// HopByHop returns a Hop-by-Hop Options header holding options (built with
// AppendIPv6Opt…), padded when encoded.
func HopByHop(options []byte) IPv6Ext { return IPv6Ext{Kind: ProtoHopByHop, Data: options} }

// DestOpts returns a Destination Options header holding options.
func DestOpts(options []byte) IPv6Ext { return IPv6Ext{Kind: ProtoDestOpts, Data: options} }

// Routing returns a Routing header (RFC 8200 §4.4) of routing type typ with
// segLeft segments left and the type-specific data after those two bytes.
func Routing(typ, segLeft uint8, data []byte) IPv6Ext {
	b := make([]byte, 0, 2+len(data))
	return IPv6Ext{Kind: ProtoRouting, Data: append(append(b, typ, segLeft), data...)}
}

// RoutingType0 returns a type 0 Routing header (RFC 2460 §4.4) listing addrs,
// deprecated by RFC 5095: nodes must not process it, and drop it (answering
// parameter problem) when segments left is not zero.
func RoutingType0(segLeft uint8, addrs ...netip.Addr) IPv6Ext {
	data := make([]byte, 4, 4+16*len(addrs))
	for _, a := range addrs {
		b := as16(a)
		data = append(data, b[:]...)
	}
	return Routing(0, segLeft, data)
}

// FragmentExt returns a Fragment header (RFC 8200 §4.5): offset in 8-byte units
// (13 bits), the M flag (more fragments) and the 32-bit identification. An
// offset of 0 with more false is an atomic fragment (RFC 8021).
func FragmentExt(offset uint16, more bool, id uint32) IPv6Ext {
	d := make([]byte, 6)
	binary.BigEndian.PutUint16(d, offset<<3|b2u16(more))
	binary.BigEndian.PutUint32(d[2:], id)
	return IPv6Ext{Kind: ProtoFragment, Data: d}
}

func b2u16(b bool) uint16 {
	if b {
		return 1
	}
	return 0
}

// IsOptions reports whether the header holds TLV options (Hop-by-Hop or
// Destination Options).
func (e *IPv6Ext) IsOptions() bool { return e.Kind == ProtoHopByHop || e.Kind == ProtoDestOpts }

// FragOffset is a Fragment header's offset in 8-byte units (13 bits).
func (e *IPv6Ext) FragOffset() uint16 {
	if len(e.Data) < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(e.Data) >> 3
}

// More is a Fragment header's M flag: more fragments follow.
func (e *IPv6Ext) More() bool { return len(e.Data) >= 2 && e.Data[1]&1 != 0 }

// FragRes is a Fragment header's two reserved bits (Res), zero on send.
func (e *IPv6Ext) FragRes() uint8 {
	if len(e.Data) < 2 {
		return 0
	}
	return e.Data[1] >> 1 & 3
}

// Ident is a Fragment header's 32-bit identification.
func (e *IPv6Ext) Ident() uint32 {
	if len(e.Data) < 6 {
		return 0
	}
	return binary.BigEndian.Uint32(e.Data[2:])
}

// RoutingType and SegmentsLeft are a Routing header's first two data bytes.
func (e *IPv6Ext) RoutingType() uint8 {
	if len(e.Data) < 1 {
		return 0
	}
	return e.Data[0]
}

// SegmentsLeft is the number of route segments still to visit.
func (e *IPv6Ext) SegmentsLeft() uint8 {
	if len(e.Data) < 2 {
		return 0
	}
	return e.Data[1]
}

// finalDst returns the final destination a Routing header names, which
// the transport's pseudo-header uses instead of the IPv6 destination while
// segments are left (RFC 8200 §8.1): the last address of type 0 and 2
// (RFC 6275 §6.4), Segment List[0] of a Segment Routing header (RFC 8754
// §2).
func (e *IPv6Ext) finalDst() ([16]byte, bool) {
	if e.Kind != ProtoRouting || e.SegmentsLeft() == 0 {
		return [16]byte{}, false
	}
	switch e.RoutingType() {
	case 0, 2:
		// Data: type, segments left, 4 reserved bytes, the addresses.
		if n := len(e.Data); n >= 6+16 {
			k := (n - 6) / 16 // whole addresses
			return [16]byte(e.Data[6+16*(k-1) : 6+16*k]), true
		}
	case 4: // type, segments left, last entry, flags, tag (2), Segment List[0]
		if len(e.Data) >= 6+16 {
			return [16]byte(e.Data[6:22]), true
		}
	}
	return [16]byte{}, false
}

// encode writes the header into b[:e.Len()].
func (e *IPv6Ext) encode(b []byte, next uint8) error {
	n := e.Len()
	if n > 8*256 {
		return &FieldError{Layer: "IPv6 extension", Field: "data length", Value: uint64(len(e.Data)), Max: 8*256 - 2, Err: ErrTooLong}
	}
	if len(b) < n {
		return &FieldError{Layer: "IPv6 extension", Field: "buffer", Value: uint64(len(b)), Max: uint64(n), Err: ErrTruncated}
	}
	hel := uint8(n/8 - 1)
	if e.Kind == ProtoFragment {
		hel = 0
	}
	b[0], b[1] = e.NextHeader.Or(next), e.HdrExtLen.Or(hel)
	c := copy(b[2:n], e.Data)
	pad := b[2+c : n]
	clear(pad)
	if e.IsOptions() && len(pad) >= 2 {
		pad[0], pad[1] = IPv6OptPadN, uint8(len(pad)-2)
	}
	return nil
}

// isExtKind reports whether a next-header value announces an extension
// header with the RFC 8200 §4 layout that the decoder walks past.
func isExtKind(p uint8) bool {
	switch p {
	case ProtoHopByHop, ProtoRouting, ProtoFragment, ProtoDestOpts, 135, 139, 140, 253, 254:
		return true
	}
	return false
}

// decode reads one extension header of kind k from b. It returns the
// header's length.
func (e *IPv6Ext) decode(b []byte, k uint8, base int, layer string) (int, error) {
	*e = IPv6Ext{Kind: k}
	if len(b) < 2 {
		return 0, &ParseError{Layer: layer, Field: "header", Offset: base, Err: ErrTruncated,
			Detail: fmt.Sprintf("%s, an extension header has at least 8", Units(len(b), "byte"))}
	}
	e.NextHeader, e.HdrExtLen = Set(b[0]), Set(b[1])
	n := 8 * (int(b[1]) + 1)
	if k == ProtoFragment {
		n = 8
	}
	if n > len(b) {
		e.Data = b[2:]
		return 0, &ParseError{Layer: layer, Field: "Hdr Ext Len", Offset: base + 1, Err: ErrTruncated,
			Detail: fmt.Sprintf("%s of %d bytes, %d present", IPv6NextHeaderName(k), n, len(b))}
	}
	e.Data = b[2:n]
	return n, nil
}

// IPv6 option types of the Hop-by-Hop and Destination Options headers
// (RFC 8200 §4.2; IANA "ipv6-parameters"). The two high bits say what a node
// that does not know the type does: 00 skip it, 01 discard the packet, 10
// discard and send parameter problem code 2, 11 the same unless the
// destination was multicast; the third bit says the data may change en route.
const (
	IPv6OptPad1        uint8 = 0x00 // one byte of padding, no length
	IPv6OptPadN        uint8 = 0x01 // N bytes of padding
	IPv6OptRouterAlert uint8 = 0x05 // RFC 2711
	IPv6OptJumbo       uint8 = 0xc2 // Jumbo Payload, RFC 2675
)

// AppendIPv6Opt appends a TLV option: type, data length, data. Data longer
// than 255 bytes is cut.
func AppendIPv6Opt(b []byte, typ uint8, data []byte) []byte {
	if len(data) > 255 {
		data = data[:255]
	}
	return append(append(b, typ, uint8(len(data))), data...)
}

// AppendIPv6OptPadN appends n bytes of padding: Pad1 for one byte, PadN for more.
func AppendIPv6OptPadN(b []byte, n int) []byte {
	switch {
	case n <= 0:
		return b
	case n == 1:
		return append(b, IPv6OptPad1)
	}
	b = append(b, IPv6OptPadN, uint8(n-2))
	for range n - 2 {
		b = append(b, 0)
	}
	return b
}

// AppendIPv6OptRouterAlert appends a Router Alert option (RFC 2711) with
// value v (0 MLD, 1 RSVP, 2 active networks).
func AppendIPv6OptRouterAlert(b []byte, v uint16) []byte {
	return append(b, IPv6OptRouterAlert, 2, byte(v>>8), byte(v))
}

// IPv6Option is one TLV option of a Hop-by-Hop or Destination Options
// header. Data is a view of the header.
type IPv6Option struct {
	Type uint8
	Len  uint8 // the data length byte; 0 for Pad1, which has none
	Data []byte
}

// NextIPv6Option reads the option at opts[off:], returning it and the
// offset of the next one. An option whose length runs past opts returns
// ErrMalformed with what was there.
func NextIPv6Option(opts []byte, off int) (IPv6Option, int, error) {
	if off >= len(opts) {
		return IPv6Option{}, off, ErrTruncated
	}
	o := IPv6Option{Type: opts[off]}
	if o.Type == IPv6OptPad1 {
		return o, off + 1, nil
	}
	if off+2 > len(opts) {
		return o, len(opts), ErrMalformed
	}
	o.Len = opts[off+1]
	end := off + 2 + int(o.Len)
	if end > len(opts) {
		o.Data = opts[off+2:]
		return o, len(opts), ErrMalformed
	}
	o.Data = opts[off+2 : end]
	return o, end, nil
}

// DescribeIPv6Option says what an option is and what a node that does not
// know it does.
func DescribeIPv6Option(o IPv6Option) string {
	switch o.Type {
	case IPv6OptPad1:
		return "Pad1: one byte of padding"
	case IPv6OptPadN:
		return fmt.Sprintf("PadN: %d bytes of padding", int(o.Len)+2)
	case IPv6OptRouterAlert:
		if len(o.Data) == 2 {
			return fmt.Sprintf("Router Alert %d: asks each router on the path to examine the packet (RFC 2711)", binary.BigEndian.Uint16(o.Data))
		}
		return "Router Alert with a length other than 2 (RFC 2711)"
	case IPv6OptJumbo:
		if len(o.Data) == 4 {
			jl := binary.BigEndian.Uint32(o.Data)
			if jl <= 0xffff {
				return fmt.Sprintf("Jumbo Payload length %d, not above 65535 as RFC 2675 §2 requires: %s", jl, ClaimJumboBad.Text())
			}
			return fmt.Sprintf("Jumbo Payload length %d (RFC 2675)", jl)
		}
		return "Jumbo Payload with a length other than 4 (RFC 2675)"
	}
	act := [4]ClaimID{ClaimIPv6OptSkip, ClaimIPv6OptDiscard, ClaimIPv6OptParamProblem, ClaimIPv6OptParamProblemUnicast}[o.Type>>6].Text()
	return fmt.Sprintf("option type 0x%02x, %d data bytes: a node that does not know it must %s", o.Type, o.Len, act)
}

// ParseIPv6Ext reads a comma-separated list of IPv6 extension headers, in
// wire order, as the CLI's --ext takes them:
//
//	hop-by-hop[=HEX]          Hop-by-Hop Options holding option bytes HEX (hbh for short)
//	dest[=HEX]                Destination Options holding option bytes HEX
//	routing[=TYPE:LEFT[:HEX]] Routing header: type, segments left, type-specific data (default 0:0)
//	frag[=OFFSET:M:ID]        Fragment header: offset in 8-byte units, M 0 or 1, identification (default 0:0:0, atomic)
//	raw=KIND:HEX              any header kind, with HEX after its first two bytes
//
// Numbers are decimal or 0x-hex. Options headers are padded with PadN.
func ParseIPv6Ext(s string) ([]IPv6Ext, error) {
	var out []IPv6Ext
	for _, item := range splitList(s) {
		name, val, hasVal := strings.Cut(item, "=")
		parts := strings.Split(val, ":")
		bad := func(rule string) error { return fmt.Errorf("extension header %q: %s", item, rule) }
		switch strings.ToLower(name) {
		case "hop-by-hop", "hbh", "dest", "dst", "destination":
			var opts []byte
			if hasVal {
				var err error
				if opts, err = ParseHex(val); err != nil {
					return nil, bad("the options are hex bytes, like 05020000 (router alert)")
				}
			}
			e := HopByHop(opts)
			if n := strings.ToLower(name); n != "hop-by-hop" && n != "hbh" {
				e = DestOpts(opts)
			}
			out = append(out, e)
		case "routing", "rh":
			typ, left, data := uint64(0), uint64(0), []byte(nil)
			var err error
			if hasVal {
				if len(parts) < 2 || len(parts) > 3 {
					return nil, bad("routing=TYPE:LEFT or routing=TYPE:LEFT:HEX")
				}
				if typ, err = ParseNumber(parts[0], 8); err == nil {
					left, err = ParseNumber(parts[1], 8)
				}
				if err == nil && len(parts) == 3 {
					data, err = ParseHex(parts[2])
				}
				if err != nil {
					return nil, bad("the routing type and segments left are 0 to 255, the data hex bytes")
				}
			}
			out = append(out, Routing(uint8(typ), uint8(left), data))
		case "frag", "fragment":
			off, m, id := uint64(0), uint64(0), uint64(0)
			var err error
			if hasVal {
				if len(parts) != 3 {
					return nil, bad("frag=OFFSET:M:ID, like frag=0:1:0x1234")
				}
				if off, err = ParseNumber(parts[0], 13); err == nil {
					if m, err = ParseNumber(parts[1], 1); err == nil {
						id, err = ParseNumber(parts[2], 32)
					}
				}
				if err != nil {
					return nil, bad("the offset is 0 to 8191 (8-byte units), M 0 or 1, the identification 32 bits")
				}
			}
			out = append(out, FragmentExt(uint16(off), m == 1, uint32(id)))
		case "raw":
			if len(parts) != 2 {
				return nil, bad("raw=KIND:HEX, like raw=60:0104000000000000")
			}
			k, err := ParseNumber(parts[0], 8)
			if err != nil {
				return nil, bad("the kind is a next-header value, 0 to 255")
			}
			d, err := ParseHex(parts[1])
			if err != nil {
				return nil, bad("the data is hex bytes")
			}
			out = append(out, IPv6Ext{Kind: uint8(k), Data: d})
		default:
			return nil, bad("unknown; use hop-by-hop, dest, routing, frag or raw")
		}
		if e := &out[len(out)-1]; e.Len() > 8*256 {
			return nil, bad(fmt.Sprintf("%s: an extension header holds at most 2048", Units(e.Len(), "byte")))
		}
	}
	return out, nil
}
