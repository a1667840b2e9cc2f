package craft

import "encoding/binary"

// ICMP extensions (RFC 4884) and the MPLS label stack object (RFC 4950).
//
// A time exceeded or destination unreachable message may carry, after the
// datagram it quotes, an extension structure: the quoted datagram is padded
// with zeros to at least 128 bytes, its length in 32-bit words is written in
// the second byte of the word after the checksum, and the structure follows:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|      (Reserved)       |           Checksum            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|             Length            |   Class-Num   |   C-Type      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Object payload …                            |
//
// An MPLS router that drops a labelled packet quotes its label stack in
// object class 1, C-Type 1 (RFC 4950 §7), one entry per label:
//
//	|                Label                  | TC  |S|      TTL      |

// Extension constants (RFC 4884 §7, RFC 4950 §7).
const (
	ICMPExtVersion    = 2   // the version of the extension header
	ICMPExtMinQuote   = 128 // the quoted datagram is padded to at least this many bytes
	ICMPExtClassMPLS  = 1   // MPLS label stack class
	ICMPExtCTypeMPLS  = 1   // incoming MPLS label stack
	icmpExtHeaderLen  = 4
	icmpExtObjHdrLen  = 4
	mplsEntryLen      = 4
	icmpExtLayerLabel = "ICMP extension"
)

// MPLSEntry is one label stack entry (RFC 3032 §2.1) as an RFC 4950 object
// quotes it.
type MPLSEntry struct {
	Label uint32 // 20 bits
	TC    uint8  // traffic class, 3 bits (once "EXP", RFC 5462)
	S     bool   // bottom of stack
	TTL   uint8
}

// ICMPExtLength returns the RFC 4884 length field of an ICMP error's Rest:
// the quoted datagram's length in 32-bit words, 0 when the sender set none.
func ICMPExtLength(rest uint32) uint8 { return uint8(rest >> 16) }

// ICMPv6ExtLength returns the RFC 4884 length field of an ICMPv6 error's
// Rest (its fifth octet, RFC 4884 §4.2): the quoted packet's length in
// 64-bit words, 0 when the sender set none.
func ICMPv6ExtLength(rest uint32) uint8 { return uint8(rest >> 24) }

// HasICMPExtLength reports whether ICMP type t carries the RFC 4884 length
// field: destination unreachable, time exceeded and parameter problem.
func HasICMPExtLength(t uint8) bool {
	return t == ICMPUnreachable || t == ICMPTimeExceeded || t == ICMPParamProblem
}

// HasICMPv6ExtLength reports whether ICMPv6 type t carries the RFC 4884
// length field: destination unreachable and time exceeded.
func HasICMPv6ExtLength(t uint8) bool { return t == ICMPv6Unreachable || t == ICMPv6TimeExceeded }

// ICMPExtensions returns the objects of the extension structure that body
// — the bytes after an ICMP time exceeded or unreachable header whose Rest
// is rest — carries after its quoted datagram, without the structure's
// header: nil when there is none. With a length field (RFC 4884 §4.1) the
// structure starts where it says; without (a router older than RFC 4884,
// §5.4) it is looked for at byte 128, and taken only when its version is 2
// and its checksum holds. A structure whose length field points past the
// body, or below 128 bytes, is an error wrapping ErrMalformed or
// ErrTruncated.
func ICMPExtensions(rest uint32, body []byte) ([]byte, error) {
	return icmpExtensions(int(ICMPExtLength(rest))*4, body, 5)
}

// ICMPv6Extensions is ICMPExtensions for an ICMPv6 destination unreachable
// or time exceeded message, whose length field counts 64-bit words
// (RFC 4884 §4.2).
func ICMPv6Extensions(rest uint32, body []byte) ([]byte, error) {
	return icmpExtensions(int(ICMPv6ExtLength(rest))*8, body, 4)
}

// icmpExtensions finds the structure after a quote of n bytes (0: none
// said); at is the length field's offset in the ICMP header, for errors.
func icmpExtensions(n int, body []byte, at int) ([]byte, error) {
	compat := n == 0
	if compat {
		n = ICMPExtMinQuote
	}
	if n < ICMPExtMinQuote {
		return nil, &ParseError{Layer: icmpExtLayerLabel, Field: "length", Offset: at, Err: ErrMalformed,
			Detail: "a quoted datagram followed by extensions is padded to 128 bytes (RFC 4884 §4.1)"}
	}
	if len(body) < n+icmpExtHeaderLen {
		if compat {
			return nil, nil
		}
		return nil, &ParseError{Layer: icmpExtLayerLabel, Field: "header", Offset: ICMPHeaderLen + n, Err: ErrTruncated}
	}
	ext := body[n:]
	if ext[0]>>4 != ICMPExtVersion {
		if compat {
			return nil, nil
		}
		return nil, &ParseError{Layer: icmpExtLayerLabel, Field: "version", Offset: ICMPHeaderLen + n, Err: ErrMalformed}
	}
	// A zero checksum is "not computed" in practice; any other must hold.
	if sum := binary.BigEndian.Uint16(ext[2:]); sum != 0 && Checksum(ext) != 0 {
		if compat {
			return nil, nil
		}
		return nil, &ParseError{Layer: icmpExtLayerLabel, Field: "checksum", Offset: ICMPHeaderLen + n + 2, Err: ErrMalformed}
	} else if sum == 0 && compat {
		return nil, nil // at byte 128 without a length: only a checked structure is believed
	}
	return ext[icmpExtHeaderLen:], nil
}

// AppendMPLSEntries appends to dst the label stack entries of every MPLS
// object (class 1, C-Type 1) among objs, the objects ICMPExtensions
// returned. An object whose length is below 4 or runs past objs is an error
// wrapping ErrMalformed or ErrTruncated; the entries before it are kept.
// It allocates only when dst has no room.
func AppendMPLSEntries(dst []MPLSEntry, objs []byte) ([]MPLSEntry, error) {
	off := 0
	for len(objs)-off >= icmpExtObjHdrLen {
		l := int(binary.BigEndian.Uint16(objs[off:]))
		if l < icmpExtObjHdrLen {
			return dst, &ParseError{Layer: icmpExtLayerLabel, Field: "object length", Offset: off, Err: ErrMalformed}
		}
		if off+l > len(objs) {
			return dst, &ParseError{Layer: icmpExtLayerLabel, Field: "object length", Offset: off, Err: ErrTruncated}
		}
		if objs[off+2] == ICMPExtClassMPLS && objs[off+3] == ICMPExtCTypeMPLS {
			for p := off + icmpExtObjHdrLen; p+mplsEntryLen <= off+l; p += mplsEntryLen {
				w := binary.BigEndian.Uint32(objs[p:])
				dst = append(dst, MPLSEntry{Label: w >> 12, TC: uint8(w>>9) & 7, S: w&0x100 != 0, TTL: uint8(w)})
			}
		}
		off += l
	}
	return dst, nil
}

// AppendMPLSExtension appends an extension structure (RFC 4884 §7) holding
// one MPLS label stack object (RFC 4950) with stack, its checksum computed,
// for a quoted datagram already padded to 128 bytes; the ICMP error's
// length field (ICMPExtLength) must then say 32. A label above 20 bits or a
// TC above 3 bits is cut to its width.
func AppendMPLSExtension(dst []byte, stack []MPLSEntry) []byte {
	start := len(dst)
	dst = append(dst, ICMPExtVersion<<4, 0, 0, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(icmpExtObjHdrLen+mplsEntryLen*len(stack)))
	dst = append(dst, ICMPExtClassMPLS, ICMPExtCTypeMPLS)
	for _, e := range stack {
		w := (e.Label&0xfffff)<<12 | uint32(e.TC&7)<<9 | uint32(e.TTL)
		if e.S {
			w |= 0x100
		}
		dst = binary.BigEndian.AppendUint32(dst, w)
	}
	binary.BigEndian.PutUint16(dst[start+2:], Checksum(dst[start:]))
	return dst
}
