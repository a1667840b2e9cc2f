package craft

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// icmpLengthField explains the RFC 4884 length octet of an ICMP (v6 false,
// bit 40, 32-bit words) or ICMPv6 (v6, bit 32, 64-bit words) error.
func (x *explainer) icmpLengthField(bit int, n uint8, v6 bool) {
	unit, rfc := 4, "RFC 4884 §4.1"
	if v6 {
		unit, rfc = 8, "RFC 4884 §4.2"
	}
	m := "0: no length given; the quote runs to the end of the message (a sender without RFC 4884 extensions)"
	if n > 0 {
		m = fmt.Sprintf("the quoted datagram is %d × %d = %d bytes, zero-padded; ICMP extensions (RFC 4884) follow it", n, unit, int(n)*unit)
	}
	x.addRFC("Length", bit, 8, uint64(n), "", m, rfc)
}

// icmpQuote explains an ICMP error's data: the quoted datagram and,
// when an RFC 4884 extension structure follows, its padding. It returns
// the extension structure's offset in body, or -1.
func (x *explainer) icmpQuote(body []byte, rest uint32, v6, cut bool, what string) int {
	start, err := icmpExtStart(body, rest, v6)
	switch {
	case start >= 0 && cut:
		x.payload(body[:start], ICMPHeaderLen, what+fmt.Sprintf(", zero-padded to %d bytes; the extension structure follows, cut short", start))
	case start >= 0 && err != nil:
		// The length field places the structure; what is there fails its
		// version or checksum: the quote still ends where the length says.
		x.payload(body[:start], ICMPHeaderLen, what+fmt.Sprintf(", zero-padded to %d bytes; the extension structure follows, and fails its check: %s", start, err))
	case start >= 0:
		x.payload(body[:start], ICMPHeaderLen, what+fmt.Sprintf(", zero-padded to %d bytes; the extension structure follows", start))
	case err != nil:
		x.payload(body, ICMPHeaderLen, what+"; the length field does not fit: "+err.Error())
	default:
		x.payload(body, ICMPHeaderLen, what)
	}
	return start
}

// icmpExtStart returns where the RFC 4884 extension structure of an ICMP
// (v6 false) or ICMPv6 error's body starts, -1 for none. A structure the
// length field places is there even when its version or checksum is wrong
// (the error then says which; RFC 4884 §7's checksum covers the whole
// structure): start >= 0 with a non-nil error. A length that does not fit
// the body is start -1 with the error.
func icmpExtStart(body []byte, rest uint32, v6 bool) (int, error) {
	objs, err := icmpExtOf(body, rest, v6)
	n := int(ICMPExtLength(rest)) * 4
	if v6 {
		n = int(ICMPv6ExtLength(rest)) * 8
	}
	var pe *ParseError
	switch {
	case err != nil && n > 0 && errors.As(err, &pe) && (pe.Field == "version" || pe.Field == "checksum"):
		return n, err
	case err != nil:
		return -1, err
	case objs == nil:
		return -1, nil
	}
	return len(body) - len(objs) - icmpExtHeaderLen, nil
}

func icmpExtOf(body []byte, rest uint32, v6 bool) ([]byte, error) {
	if v6 {
		return ICMPv6Extensions(rest, body)
	}
	return ICMPExtensions(rest, body)
}

// icmpExtensions explains the RFC 4884 extension structure at ext, byte
// off of the input: its header and each object, an MPLS label stack
// (RFC 4950) entry by entry.
//
// cut says the bytes end before the message does: the checksum over the
// structure cannot be verified then.
func (x *explainer) icmpExtensions(ext []byte, off int, layer string, cut bool) {
	x.layer, x.base, x.rfc = layer, off, "RFC 4884 §7"
	vm := "2: the ICMP extension structure"
	if v := ext[0] >> 4; v != ICMPExtVersion {
		vm = fmt.Sprintf("%d: not 2, the only version RFC 4884 defines: not an extension structure a receiver can read", v)
	}
	x.add("Version", 0, 4, uint64(ext[0]>>4), "", vm)
	r := binary.BigEndian.Uint16(ext) & 0xfff
	x.add("Reserved", 4, 12, uint64(r), "", map[bool]string{true: "zero", false: "should be zero"}[r == 0])
	cs := binary.BigEndian.Uint16(ext[2:])
	cm := "good: the one's complement sum over the whole structure"
	switch {
	case cs == 0:
		cm = "0: not computed"
	case cut:
		cm = "unverifiable: the bytes end inside the structure (a cut capture, a length that claims more, or a first fragment)"
	case Checksum(ext) != 0:
		cm = fmt.Sprintf("BAD (should be 0x%04x): the sum over the whole structure does not hold, so its objects are not to be trusted", extChecksum(ext))
	}
	x.add("Checksum", 16, 16, uint64(cs), fmt.Sprintf("0x%04x", cs), cm)
	objs := ext[icmpExtHeaderLen:]
	for o := 0; o < len(objs); {
		bit := 8 * (icmpExtHeaderLen + o)
		x.rfc = "RFC 4884 §8"
		if len(objs)-o < icmpExtObjHdrLen {
			x.optData(objs[o:], bit, "not a whole object header: malformed")
			return
		}
		l := int(binary.BigEndian.Uint16(objs[o:]))
		class, ctype := objs[o+2], objs[o+3]
		lm := fmt.Sprintf("%s, this header included", Units(l, "byte"))
		bad := l < icmpExtObjHdrLen || o+l > len(objs)
		switch {
		case l < icmpExtObjHdrLen:
			lm = fmt.Sprintf("%d: malformed, an object is at least its 4-byte header", l)
		case bad && cut:
			lm = fmt.Sprintf("%s, this header included; the bytes end after %d of them", Units(l, "byte"), len(objs)-o)
		case bad:
			lm = fmt.Sprintf("%d: malformed, it runs past the structure: %d bytes are left", l, len(objs)-o)
		}
		x.add("Length", bit, 16, uint64(l), "", lm)
		mpls := class == ICMPExtClassMPLS && ctype == ICMPExtCTypeMPLS
		cname := map[uint8]string{1: "MPLS label stack (RFC 4950)", 2: "interface information (RFC 5837)", 3: "interface identification (RFC 8335)"}[class]
		if cname == "" {
			cname = "unknown class"
		}
		x.add("Class-Num", bit+16, 8, uint64(class), "", cname)
		x.add("C-Type", bit+24, 8, uint64(ctype), "", map[bool]string{true: "1: incoming MPLS label stack", false: ""}[mpls])
		partial := bad && cut && l >= icmpExtObjHdrLen // the bytes end inside the object: read what is there
		if bad && !partial {
			x.optData(objs[o+icmpExtObjHdrLen:], bit+32, "unreadable after a wrong length")
			return
		}
		p := objs[o+icmpExtObjHdrLen : min(o+l, len(objs))]
		if mpls {
			x.rfc = "RFC 4950 §7, RFC 3032 §2.1"
			i := 0
			for ; i+mplsEntryLen <= len(p); i += mplsEntryLen {
				w := binary.BigEndian.Uint32(p[i:])
				eb := bit + 32 + 8*i
				lm := "the label the router received"
				if w>>12 < 16 {
					lm = "a reserved label (0-15, RFC 3032 §2.1)"
				}
				x.add("Label", eb, 20, uint64(w>>12), "", lm)
				x.addRFC("TC", eb+20, 3, uint64(w>>9&7), "", "traffic class (once EXP)", "RFC 4950 §7, RFC 5462")
				s := uint64(w >> 8 & 1)
				x.add("S", eb+23, 1, s, "", map[uint64]string{1: "bottom of the stack", 0: "more entries follow"}[s])
				x.add("TTL", eb+24, 8, uint64(w&0xff), "", "the label's TTL as the packet arrived")
			}
			switch {
			case i < len(p) && partial:
				x.optData(p[i:], bit+32+8*i, "the start of a label stack entry: the bytes end inside it")
			case i < len(p):
				x.optData(p[i:], bit+32+8*i, "not a whole label stack entry: malformed")
			}
		} else if len(p) > 0 {
			x.add("Object Payload", bit+32, 8*len(p), 0, fmt.Sprintf("%s: %x", Units(len(p), "byte"), p), "")
		}
		o += l
	}
}

// extChecksum is the checksum an RFC 4884 extension structure should
// carry: the one's complement sum of ext with its checksum field zeroed
// (RFC 4884 §7).
func extChecksum(ext []byte) uint16 {
	b := append([]byte(nil), ext...)
	b[2], b[3] = 0, 0
	return Checksum(b)
}
