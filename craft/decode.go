package craft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Layer is a set of layers, as bits.
type Layer uint16

// The layers a decoder recognises.
const (
	LayerEthernet Layer = 1 << iota
	LayerARP
	LayerIPv4
	LayerTCP
	LayerUDP
	LayerICMP
	// LayerVLAN: the Ethernet header carries one or more 802.1Q tags.
	LayerVLAN
	LayerIPv6
	// LayerIPv6Ext: the IPv6 header is followed by extension headers.
	LayerIPv6Ext
	LayerICMPv6
)

var layerNames = [...]struct {
	l    Layer
	name string
}{{LayerEthernet, "Ethernet"}, {LayerVLAN, "802.1Q"}, {LayerARP, "ARP"}, {LayerIPv4, "IPv4"}, {LayerIPv6, "IPv6"}, {LayerIPv6Ext, "IPv6 ext"}, {LayerTCP, "TCP"}, {LayerUDP, "UDP"}, {LayerICMP, "ICMP"}, {LayerICMPv6, "ICMPv6"}}

// String names the layers in l, outermost first.
func (l Layer) String() string {
	s := ""
	for _, n := range layerNames {
		if l&n.l != 0 {
			if s != "" {
				s += "/"
			}
			s += n.name
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// Datagram holds an IPv4 datagram or IPv6 packet decoded into layers,
// either the packet itself or the one quoted by an ICMP error. Layer structs hold the
// values found on the wire: every derived field is Set to what was there,
// so that encoding them again rebuilds the same bytes. Slices (options,
// payload) are views into the decoded input.
type Datagram struct {
	Layers Layer // which of IPv4, IPv6, IPv6 ext, TCP, UDP, ICMP, ICMPv6 were found
	IPv4   IPv4
	TCP    TCP
	UDP    UDP
	ICMP   ICMP
	IPv6   IPv6
	ICMPv6 ICMPv6
	// Ext holds the IPv6 extension headers found, NExt of them, in wire
	// order (see Exts); their Data are views of the input.
	Ext  [MaxIPv6Ext]IPv6Ext
	NExt int
	// Payload is the transport's data; for a fragment other than the first,
	// or an unknown protocol, it is the IPv4 data.
	Payload []byte
	// Truncated reports that the bytes end before the IPv4 total length or
	// the UDP length says: normal for a quoted datagram and for a capture
	// cut short, and never a reason to stop decoding.
	Truncated bool
	// TransportLen is the number of transport header bytes present (less
	// than the header's length in a quoted datagram: 8 of TCP's 20).
	TransportLen int
	// Offset of the IPv4 header, the transport header and the payload in the
	// decoder's input.
	IPOffset, TransportOffset, PayloadOffset int
	// Trailer holds bytes after the IPv4 total length: Ethernet padding of
	// short frames.
	Trailer []byte
	// LenFromCapture: the IPv4 total length (or the IPv6 payload length,
	// without a Jumbo Payload option) is 0, and the layers inside were
	// decoded with the bytes in hand. A capture on the sending host shows
	// this for a packet its kernel handed to the NIC for segmentation
	// offload (TSO): Linux's BIG TCP (gso_ipv4_max_size, gso_max_size
	// above 65535) leaves the field 0 because the length does not fit in
	// it, and the NIC writes each segment's own length; tshark reads it the
	// same way ("reported as 0, presumed to be because of TCP segmentation
	// offload"). Never set for a quoted datagram.
	LenFromCapture bool

	ipHdr []byte // the IPv4 header as received
	l4    []byte // the IPv4 data as received (up to the total length)
}

// Decoded is a frame or an IPv4 packet decoded into layers. Reuse one value
// across packets: decoding into it allocates nothing unless it fails.
type Decoded struct {
	Datagram           // the IPv4 datagram, when Layers has LayerIPv4
	Ethernet Ethernet  // when Link has LayerEthernet
	ARP      ARP       // when Link has LayerARP
	Link     Layer     // LayerEthernet, LayerVLAN (tagged) and/or LayerARP
	Quoted   Datagram  // the datagram an ICMP error quotes, when Quoted.Layers != 0
	Raw      []byte    // the input
	Frag     FragState // fragment facts of the outer datagram
	// AcceptIPv6 makes DecodeFrame decode IPv6 (EtherType 0x86dd) and
	// DecodeIP decode a packet whose version is 6; rawcraft's listener,
	// capture reader and renderers set it. Left false, an IPv6 frame
	// decodes as Ethernet alone: for callers that read IPv4 fields whenever
	// a transport layer is present. Decoding keeps it.
	AcceptIPv6 bool

	vlanBuf [MaxVLANTags]VLAN // storage for Ethernet.VLANs
	frame   bool              // the input is a frame (DecodeFrame), not a bare packet (DecodeIP)
}

// FragState describes where a datagram sits among its fragments.
type FragState uint8

// Fragment states.
const (
	NotFragment FragState = iota
	FirstFragment
	LaterFragment
)

// Has reports whether every layer in l was decoded, in the outer packet.
func (d *Decoded) Has(l Layer) bool { return (d.Link|d.Layers)&l == l }

// DecodeFrame decodes an Ethernet II frame and what it carries (IPv4 or ARP).
// Unknown EtherTypes leave the payload undecoded in d.Payload.
func (d *Decoded) DecodeFrame(b []byte) error {
	d.reset(b)
	d.frame = true
	n, err := d.Ethernet.decode(b, d.vlanBuf[:0:MaxVLANTags])
	if n == 0 {
		return err
	}
	d.Link = LayerEthernet
	if len(d.Ethernet.VLANs) > 0 {
		d.Link |= LayerVLAN
	}
	if err != nil {
		return err
	}
	t, _ := d.Ethernet.Type.Get()
	if t == EtherTypeIPv6 && d.AcceptIPv6 {
		return d.decodeOuter6(b[n:], n)
	}
	switch t {
	case EtherTypeIPv4:
		return d.decodeOuter(b[n:], n)
	case EtherTypeARP:
		err := d.ARP.decode(b[n:], n)
		if err == nil {
			d.Link |= LayerARP // every address the lengths announce is here
		}
		return err
	default:
		d.Payload = b[n:]
		d.PayloadOffset = n
		return nil
	}
}

// DecodeIP decodes an IPv4 packet, such as a raw socket returns; with
// AcceptIPv6, a packet whose version (the first 4 bits) is 6 is decoded as
// IPv6.
func (d *Decoded) DecodeIP(b []byte) error {
	d.reset(b)
	if d.AcceptIPv6 && len(b) > 0 && b[0]>>4 == 6 {
		return d.decodeOuter6(b, 0)
	}
	return d.decodeOuter(b, 0)
}

func (d *Decoded) reset(b []byte) {
	d.Datagram.Layers, d.Quoted.Layers, d.Link, d.frame = 0, 0, 0, false
	d.Datagram.reset()
	d.Quoted.reset()
	d.Raw = b
	d.Frag = NotFragment
}

func (g *Datagram) reset() {
	g.Payload, g.Trailer, g.ipHdr, g.l4 = nil, nil, nil, nil
	g.Truncated, g.TransportLen, g.NExt, g.LenFromCapture = false, 0, 0, false
	g.IPOffset, g.TransportOffset, g.PayloadOffset = 0, 0, 0
}

func (d *Decoded) decodeOuter(b []byte, base int) error {
	err := d.Datagram.decode(b, base, false)
	if d.Layers&LayerIPv4 != 0 && d.IPv4.IsFragment() {
		d.Frag = FirstFragment
		if d.IPv4.FragOff != 0 {
			d.Frag = LaterFragment
		}
	}
	if err != nil {
		return d.firstError(err)
	}
	if d.Layers&LayerICMP != 0 && d.ICMP.IsError() && d.Frag != LaterFragment {
		q := d.Payload
		if qerr := d.Quoted.decode(q, d.PayloadOffset, true); qerr != nil && !errors.Is(qerr, ErrTruncated) {
			// An outer option that lies comes first: a receiver drops
			// the packet there and never reads the quote.
			return d.firstError(qerr)
		}
	}
	if oerr := d.optionsError(); oerr != nil {
		return oerr
	}
	if d.Truncated {
		return &ParseError{Layer: "IPv4", Field: "total length", Offset: base + 2, Err: ErrTruncated,
			Detail: fmt.Sprintf("total length %d, %d bytes present", d.totalLen(), len(b))}
	}
	return nil
}

func (g *Datagram) totalLen() int { v, _ := g.IPv4.TotalLen.Get(); return int(v) }

// decode reads an IPv4 datagram from b, at offset base of the input. A
// quoted datagram may stop anywhere after its IPv4 header: it decodes as far
// as it goes and is marked Truncated, without error.
func (g *Datagram) decode(b []byte, base int, quoted bool) error {
	layer, tlayer := "IPv4", ""
	if quoted {
		layer = "quoted IPv4"
	}
	g.IPOffset = base
	n, err := g.IPv4.decode(b, base, layer)
	if len(b) >= IPv4HeaderLen {
		g.Layers |= LayerIPv4
	}
	if err != nil {
		return err
	}
	g.ipHdr = b[:n]
	total := g.totalLen()
	if p := g.IPv4.Protocol.Or(0); total == 0 && !quoted && (p == ProtoTCP || p == ProtoUDP) {
		// Segmentation offload (TSO, UDP GSO): the NIC writes each
		// segment's length. Other protocols are never segmented so, and
		// a total length of 0 stays malformed.
		total, g.LenFromCapture = len(b), true
	}
	end := total
	var optErr error
	if !quoted {
		optErr = checkIPv4Options(g.IPv4.Options, base, n)
	}
	switch {
	case end < n:
		return &ParseError{Layer: layer, Field: "total length", Offset: base + 2, Err: ErrMalformed,
			Detail: fmt.Sprintf("total length %d is shorter than the %d-byte header", end, n)}
	case end > len(b):
		g.Truncated = true
		end = len(b)
	case end < len(b):
		g.Trailer = b[end:]
	}
	data := b[n:end]
	g.l4 = data
	g.TransportOffset = base + n
	g.PayloadOffset = base + n
	g.Payload = data
	if g.IPv4.FragOff != 0 {
		return optErr // a later fragment: its data starts mid-transport
	}
	fragment := g.IPv4.Flags&FlagMF != 0
	// claimed is the IPv4 data the total length announces; data holds what
	// of it is here. A transport length beyond claimed is that field's lie;
	// beyond data but within claimed, the bytes were cut (the IPv4 total
	// length error decodeOuter reports).
	claimed := total - n
	var hl int
	switch g.IPv4.Protocol.Or(0) {
	case ProtoTCP:
		tlayer = "TCP"
		hl, err = g.TCP.decode(data, g.TransportOffset, prefix(quoted, tlayer))
		g.Layers |= headerIn(LayerTCP, data)
		if err != nil && errors.Is(err, ErrTruncated) && !quoted && !fragment {
			want := TCPHeaderLen
			if len(data) >= 13 {
				want = max(int(g.TCP.DataOffset.Or(5))*4, TCPHeaderLen)
			}
			switch {
			case g.LenFromCapture:
				// The total length is 0 (segmentation offload): no
				// length to hold the header against, the capture ends
				// inside it, truncated as the TCP decoder says.
			case want <= claimed:
				err = nil // cut short: the IPv4 total length error says so
			case want == TCPHeaderLen && len(data) < 13:
				err = &ParseError{Layer: tlayer, Field: "header", Offset: g.TransportOffset, Err: ErrMalformed,
					Detail: fmt.Sprintf("IPv4 total length %d leaves %d bytes after the %d-byte IPv4 header; a TCP header has at least 20", total, claimed, n)}
			default:
				err = &ParseError{Layer: tlayer, Field: "data offset", Offset: g.TransportOffset + 12, Err: ErrMalformed,
					Detail: fmt.Sprintf("data offset %d (%d bytes) > IP payload length %d (total length %d − %d-byte IPv4 header)", want/4, want, claimed, total, n)}
			}
		}
	case ProtoUDP:
		tlayer = "UDP"
		hl, err = g.UDP.decode(data, g.TransportOffset, prefix(quoted, tlayer))
		g.Layers |= headerIn(LayerUDP, data)
		if err == nil {
			ul, _ := g.UDP.Length.Get()
			switch {
			case int(ul) <= len(data):
				data = data[:ul] // bytes past the UDP length are not data (RFC 768)
			case fragment:
				// the first fragment: the length covers every fragment
			case int(ul) > claimed && !quoted:
				// The UDP length claims more than the IPv4 datagram
				// carries: the UDP length lies (tshark: "bad length").
				err = &ParseError{Layer: tlayer, Field: "length", Offset: g.TransportOffset + 4, Err: ErrMalformed,
					Detail: fmt.Sprintf("UDP length %d > IP payload length %d (total length %d − %d-byte IPv4 header)", ul, claimed, total, n)}
			default:
				g.Truncated = true
			}
		} else if errors.Is(err, ErrTruncated) && !quoted && !fragment && claimed >= UDPHeaderLen {
			err = nil // cut short: the IPv4 total length error says so
		} else if errors.Is(err, ErrTruncated) && !quoted && !fragment && !g.LenFromCapture {
			// (Under segmentation offload the total length is 0: the
			// capture ends inside the header, truncated as UDP says.)
			err = &ParseError{Layer: tlayer, Field: "header", Offset: g.TransportOffset, Err: ErrMalformed,
				Detail: fmt.Sprintf("IPv4 total length %d leaves %d bytes after the %d-byte IPv4 header; a UDP header has 8", total, claimed, n)}
		}
	case ProtoICMP:
		tlayer = "ICMP"
		hl, err = g.ICMP.decode(data, g.TransportOffset, prefix(quoted, tlayer))
		g.Layers |= headerIn(LayerICMP, data)
		if err != nil && errors.Is(err, ErrTruncated) && !quoted && !fragment {
			if claimed >= ICMPHeaderLen {
				err = nil // cut short: the IPv4 total length error says so
			} else {
				err = &ParseError{Layer: tlayer, Field: "header", Offset: g.TransportOffset, Err: ErrMalformed,
					Detail: fmt.Sprintf("IPv4 total length %d leaves %d bytes after the %d-byte IPv4 header; an ICMP header has 8", total, claimed, n)}
			}
		}
	default:
		return optErr
	}
	g.TransportLen = hl
	if hl > len(data) {
		hl = len(data)
	}
	g.Payload = data[hl:]
	g.PayloadOffset = g.TransportOffset + hl
	if optErr != nil {
		// A receiver reads the options before the transport header: their
		// error is the one it answers.
		return optErr
	}
	if err != nil && errors.Is(err, ErrTruncated) && (quoted || fragment) {
		g.Truncated = g.Truncated || quoted
		return nil
	}
	return err
}

// checkIPv4Options walks the options of an n-byte header at base as a
// receiver does (RFC 791 §3.1; Linux's ip_options_compile): up to End of
// Option List, every option but NOP and EOL has a length byte of at least
// 2 that keeps it inside the header. The first that breaks the rule is the
// error, at the option's type byte, where the receiver's ICMP parameter
// problem points.
func checkIPv4Options(opts []byte, base, n int) error {
	for off := 0; off < len(opts); {
		o, next, err := NextOption(opts, off)
		if o.Kind == IPOptEOL {
			return nil
		}
		if err != nil {
			what := fmt.Sprintf("kind %d with length %d runs past the %d-byte header", o.Kind, o.Len, n)
			switch {
			case off+1 >= len(opts):
				what = fmt.Sprintf("kind %d in the header's last byte has no room for its length", o.Kind)
			case o.Len < 2:
				what = fmt.Sprintf("kind %d with length %d, less than its own 2 bytes", o.Kind, o.Len)
			}
			return &ParseError{Layer: "IPv4", Field: "options", Offset: base + IPv4HeaderLen + off, Err: ErrMalformed,
				Detail: fmt.Sprintf("option at byte %d: %s; %s", IPv4HeaderLen+off, what, ClaimIPv4OptionPastHeader.Text())}
		}
		off = next
	}
	return nil
}

// headerIn is l when some of its header is in data: a layer whose header
// is not in the bytes (a first fragment that ends before it, a datagram
// cut or lying short) is not named, so that nothing shows its fields.
func headerIn(l Layer, data []byte) Layer {
	if len(data) == 0 {
		return 0
	}
	return l
}

// prefix names a layer of the quoted datagram without building a string,
// so that decoding allocates nothing.
func prefix(quoted bool, s string) string {
	if !quoted {
		return s
	}
	switch s {
	case "TCP":
		return "quoted TCP"
	case "UDP":
		return "quoted UDP"
	case "ICMP":
		return "quoted ICMP"
	case "ICMPv6":
		return "quoted ICMPv6"
	}
	return "quoted " + s
}

// ChecksumStatus says what a checksum check found.
type ChecksumStatus uint8

// Checksum states.
const (
	ChecksumGood ChecksumStatus = iota // the field holds the right value
	ChecksumBad                        // it does not; Want is the right value
	// ChecksumAbsent: a UDP checksum of zero, "no checksum" (RFC 768).
	ChecksumAbsent
	// ChecksumUnverifiable: the bytes it covers are not all here (a quoted
	// or truncated datagram, a fragment).
	ChecksumUnverifiable
	// ChecksumPartial: the sending kernel left the checksum for the NIC to
	// fill (checksum offload) and a capture on the sending host saw it
	// before that; the field holds only the pseudo-header sum. craft cannot
	// tell this from the bytes; the listener sets it from PACKET_AUXDATA
	// (TP_STATUS_CSUMNOTREADY), the capture reader from the direction.
	ChecksumPartial
	// ChecksumPartialOrBad: the field holds what a sender's checksum
	// offload leaves for its NIC (0 in an IPv4 header, the pseudo-header
	// sum in TCP or UDP), in a capture that does not say whether the
	// sending host took it: not yet filled there, bad anywhere else.
	ChecksumPartialOrBad
)

// String names the status.
func (s ChecksumStatus) String() string {
	return [...]string{"good", "bad", "absent", "unverifiable", "not yet filled (offload)", "not yet filled (offload), or bad"}[s]
}

// ChecksumResult is the check of one checksum field.
type ChecksumResult struct {
	Layer  Layer
	Quoted bool   // the field belongs to the datagram an ICMP error quotes
	Got    uint16 // the value on the wire
	Want   uint16 // the value it should hold
	Status ChecksumStatus
	// NegZero: Status is ChecksumGood although Got differs from Want,
	// because one is 0x0000 and the other 0xffff, the two forms of zero in
	// one's complement. A receiver sums the data with the field and finds
	// the same result either way, so Linux accepts both for IPv4, TCP and
	// ICMP (RFC 1624 §3; RFC 1071 §2). UDP never gets here: a UDP field of
	// 0 means no checksum (ChecksumAbsent) and a computed 0 is sent as
	// 0xffff (RFC 768).
	NegZero bool
}

// Checksums checks every checksum of the decoded packet, the quoted datagram
// included, appending one result per checksum field to dst.
func (d *Decoded) Checksums(dst []ChecksumResult) []ChecksumResult {
	dst = d.Datagram.checksums(dst, false, d.Frag != NotFragment)
	if d.Quoted.Layers != 0 {
		// A quoted datagram that is whole (Linux quotes up to 576 bytes)
		// can be checked; a cut one is Truncated and cannot.
		// A quoted fragment's transport checksum covers data the quote
		// does not hold: the other fragments.
		dst = d.Quoted.checksums(dst, true, d.Quoted.isFragment())
	}
	return dst
}

// isFragment reports whether the datagram is a fragment: IPv4 MF or an
// offset, an IPv6 Fragment header with M or an offset.
func (g *Datagram) isFragment() bool {
	if g.Layers&LayerIPv4 != 0 {
		return g.IPv4.IsFragment()
	}
	f := g.FragExt()
	return f != nil && (f.More() || f.FragOffset() != 0)
}

func skipSum(b []byte, at int) uint16 { return ^fold(sum(b[at+2:], sum(b[:at], 0))) }

func (g *Datagram) checksums(dst []ChecksumResult, quoted, partial bool) []ChecksumResult {
	if g.Layers&LayerIPv6 != 0 {
		return g.checksums6(dst, quoted, partial)
	}
	if g.Layers&LayerIPv4 == 0 || g.ipHdr == nil {
		return dst
	}
	got, _ := g.IPv4.Checksum.Get()
	r := ChecksumResult{Layer: LayerIPv4, Quoted: quoted, Got: got, Want: skipSum(g.ipHdr, 10)}
	r.Status, r.NegZero = status(r.Got, r.Want)
	dst = append(dst, r)
	seg := g.l4
	// A segmentation-offload packet's transport checksum is the NIC's to
	// fill, segment by segment: the capture holds only what the kernel
	// left for it (LenFromCapture).
	unverifiable := partial || g.Truncated || g.LenFromCapture
	src, dstAddr := g.IPv4.Src, netip.AddrFrom4(finalDst4(g.IPv4.Options, as4(g.IPv4.Dst)))
	switch {
	case g.Layers&LayerTCP != 0 && len(seg) >= 18:
		r = ChecksumResult{Layer: LayerTCP, Quoted: quoted, Got: binary.BigEndian.Uint16(seg[16:])}
		if unverifiable {
			r.Status = ChecksumUnverifiable
		} else {
			r.Want = ^fold(sum(seg[18:], sum(seg[:16], pseudoSum(src, dstAddr, ProtoTCP, len(seg)))))
			r.Status, r.NegZero = status(r.Got, r.Want)
		}
		dst = append(dst, r)
	case g.Layers&LayerUDP != 0 && len(seg) >= 8:
		r = ChecksumResult{Layer: LayerUDP, Quoted: quoted, Got: binary.BigEndian.Uint16(seg[6:])}
		ul := int(binary.BigEndian.Uint16(seg[4:]))
		switch {
		case r.Got == 0:
			r.Status = ChecksumAbsent
		case partial || g.LenFromCapture || ul > len(seg) || ul < 8:
			// A fragment, or a UDP length whose bytes are not all here.
			// A cut IPv4 datagram whose UDP length fits the bytes in hand
			// is checked: they are all the checksum covers (RFC 768).
			r.Status = ChecksumUnverifiable
		default:
			seg = seg[:ul]
			r.Want = ^fold(sum(seg[8:], sum(seg[:6], pseudoSum(src, dstAddr, ProtoUDP, ul))))
			if r.Want == 0 {
				r.Want = 0xffff // a computed 0 is sent as all ones (RFC 768)
			}
			if r.Got != r.Want {
				r.Status = ChecksumBad
			}
		}
		dst = append(dst, r)
	case g.Layers&LayerICMP != 0 && len(seg) >= 4:
		r = ChecksumResult{Layer: LayerICMP, Quoted: quoted, Got: binary.BigEndian.Uint16(seg[2:])}
		if unverifiable {
			r.Status = ChecksumUnverifiable
		} else {
			r.Want = skipSum(seg, 2)
			r.Status, r.NegZero = status(r.Got, r.Want)
		}
		dst = append(dst, r)
	}
	return dst
}

// status compares a field with the value computed for it. 0x0000 and 0xffff
// are the same number in one's complement (+0 and −0): the receiver's sum
// over data and field comes out the same, so either is good (RFC 1624 §3).
func status(got, want uint16) (ChecksumStatus, bool) {
	switch {
	case got == want:
		return ChecksumGood, false
	case got^want == 0xffff && (want == 0 || want == 0xffff):
		return ChecksumGood, true
	}
	return ChecksumBad, false
}
