package craft

import (
	"encoding/binary"
	"fmt"
)

// More TCP option kinds (IANA "tcp-parameters").
const (
	TCPOptMD5      uint8 = 19  // TCP MD5 Signature (RFC 2385 §3.0), 16-byte digest
	TCPOptFastOpen uint8 = 34  // TCP Fast Open Cookie (RFC 7413 §4.1.1)
	TCPOptExp1     uint8 = 253 // RFC 3692-style experiment 1 (RFC 4727), ExID first (RFC 6994)
	TCPOptExp2     uint8 = 254 // RFC 3692-style experiment 2 (RFC 4727), ExID first (RFC 6994)
	// TCPExIDFastOpen is the experiment identifier (RFC 6994) under which
	// TCP Fast Open ran as kind 254 before kind 34 was assigned; Linux
	// still sends and accepts it (IANA "TCP Experimental Option Experiment
	// Identifiers", RFC 7413).
	TCPExIDFastOpen uint16 = 0xf989
)

// tcpOptKind is what the IANA registry (and Wireshark, whose names these
// are) says of a TCP option kind.
type tcpOptKind struct {
	name string
	rfc  string // where the option is defined
	// size is the option's fixed length; 0 when it varies, then min is the
	// least length it can have.
	size, min int
}

const ianaTCP = "IANA tcp-parameters (no RFC)"

// tcpOptKinds holds every kind tshark names, with the document that defines it.
var tcpOptKinds = map[uint8]tcpOptKind{
	0:   {"End of Option List", "RFC 9293 §3.2", 1, 1},
	1:   {"No-Operation", "RFC 9293 §3.2", 1, 1},
	2:   {"Maximum Segment Size", "RFC 9293 §3.7.1, RFC 6691", 4, 4},
	3:   {"Window Scale", "RFC 7323 §2.2", 3, 3},
	4:   {"SACK Permitted", "RFC 2018 §2", 2, 2},
	5:   {"SACK", "RFC 2018 §3", 0, 10},
	6:   {"Echo", "RFC 1072", 6, 6},
	7:   {"Echo Reply", "RFC 1072", 6, 6},
	8:   {"Time Stamp Option", "RFC 7323 §3.2", 10, 10},
	9:   {"Partial Order Connection Permitted", "RFC 1693", 2, 2},
	10:  {"Partial Order Service Profile", "RFC 1693", 0, 2},
	11:  {"CC", "RFC 1644", 6, 6},
	12:  {"CC.NEW", "RFC 1644", 6, 6},
	13:  {"CC.ECHO", "RFC 1644", 6, 6},
	14:  {"TCP Alternate Checksum Request", "RFC 1146", 3, 3},
	15:  {"TCP Alternate Checksum Data", "RFC 1146", 0, 2},
	16:  {"Skeeter", ianaTCP, 0, 2},
	17:  {"Bubba", ianaTCP, 0, 2},
	18:  {"Trailer Checksum Option", ianaTCP, 3, 3},
	19:  {"MD5 Signature Option", "RFC 2385 §3.0", 18, 18},
	20:  {"SCPS Capabilities", ianaTCP, 0, 2},
	21:  {"Selective Negative Acknowledgements", ianaTCP, 6, 6},
	22:  {"Record Boundaries", ianaTCP, 2, 2},
	23:  {"Corruption experienced", ianaTCP, 2, 2},
	24:  {"SNAP", ianaTCP, 0, 2},
	25:  {"Unassigned", ianaTCP, 0, 2},
	26:  {"TCP Compression Filter", ianaTCP, 0, 2},
	27:  {"Quick-Start Response", "RFC 4782", 8, 8},
	28:  {"User Timeout Option", "RFC 5482", 4, 4},
	29:  {"The TCP Authentication Option", "RFC 5925 §2.2", 0, 4},
	30:  {"Multipath TCP", "RFC 8684", 0, 3},
	34:  {"TCP Fast Open Cookie", "RFC 7413 §4.1.1", 0, 2},
	76:  {"Riverbed Probe", ianaTCP, 0, 3},
	78:  {"Riverbed Transparency", ianaTCP, 16, 16},
	172: {"Accurate ECN Order 0", "draft-ietf-tcpm-accurate-ecn", 0, 2},
	174: {"Accurate ECN Order 1", "draft-ietf-tcpm-accurate-ecn", 0, 2},
	253: {"RFC3692-style Experiment 1", "RFC 4727, RFC 6994 §3", 0, 4},
	254: {"RFC3692-style Experiment 2", "RFC 4727, RFC 6994 §3", 0, 4},
}

// TCPOptionName names TCP option kind k as the IANA registry and Wireshark
// do ("Maximum Segment Size", "TCP Fast Open Cookie"), or "unknown kind k".
func TCPOptionName(k uint8) string {
	if o, ok := tcpOptKinds[k]; ok {
		return o.name
	}
	return fmt.Sprintf("unknown kind %d", k)
}

// TCPOptionRFC returns where TCP option kind k is defined: an RFC section,
// or the IANA registry for kinds no RFC describes.
func TCPOptionRFC(k uint8) string {
	if o, ok := tcpOptKinds[k]; ok {
		return o.rfc
	}
	return "RFC 9293 §3.1"
}

// tcpOptValid reports whether o's length is one its kind allows. A kind
// the registry does not know is valid with any length of 2 or more.
func tcpOptValid(o Option) bool {
	k, ok := tcpOptKinds[o.Kind]
	switch {
	case o.Len < 2 || len(o.Data) != o.Len-2:
		return o.Kind <= TCPOptNOP // cut short by the end of the options
	case !ok:
		return o.Len >= 2
	case o.Kind == TCPOptSACK:
		return o.Len >= 10 && (o.Len-2)%8 == 0
	case o.Kind == TCPOptFastOpen:
		// RFC 7413 §4.1.1: "Length ... range 6 to 18 (bytes) ... The
		// number MUST be even", or 2 for a cookie request.
		return o.Len == 2 || o.Len >= 6 && o.Len <= 18 && o.Len%2 == 0
	case isFastOpenExp(o):
		return o.Len == 4 || o.Len >= 8 && o.Len <= 20 && o.Len%2 == 0
	case o.Kind == 172 || o.Kind == 174:
		// AccECN: 0 to 3 counters of 3 bytes each
		return o.Len >= 2 && o.Len <= 11 && (o.Len-2)%3 == 0
	case k.size > 0:
		return o.Len == k.size
	}
	return o.Len >= k.min
}

func isFastOpenExp(o Option) bool {
	return o.Kind == TCPOptExp2 && len(o.Data) >= 2 && binary.BigEndian.Uint16(o.Data) == TCPExIDFastOpen
}

// tcpOptionRFC is the citation of o's fields: the experiment's for an
// ExID the registry names.
func tcpOptionRFC(o Option) string {
	if isFastOpenExp(o) {
		return "RFC 6994 §3, RFC 7413 §4.1.1"
	}
	return TCPOptionRFC(o.Kind)
}

// tcpOptions explains a TCP option area at bit of the header: each
// option's Kind, Length and data fields, as RFC 9293 §3.1 lays them out.
func (x *explainer) tcpOptions(opts []byte, bit, area int) {
	saved := x.rfc
	defer func() { x.rfc = saved }()
	for off := 0; off < len(opts); {
		o, next, err := NextOption(opts, off)
		b := bit + 8*off
		x.rfc = tcpOptionRFC(o)
		if err != nil {
			x.badOption(opts, off, b, area, o, "Kind", "Length", TCPOptionName(o.Kind), "byte", ClaimTCPOptionsStop.Text())
			return
		}
		x.add("Kind", b, 8, uint64(o.Kind), "", tcpKindMeaning(o))
		if o.Kind == TCPOptEOL {
			x.optPadding(opts[next:], b+8, "RFC 9293 §3.1")
			return
		}
		if o.Kind == TCPOptNOP {
			off = next
			continue
		}
		lm := fmt.Sprintf("%s, kind and length included", Units(o.Len, "byte"))
		valid := tcpOptValid(o)
		if !valid {
			lm += fmt.Sprintf(": wrong for %s (%s), %s", TCPOptionName(o.Kind), tcpOptLengths(o.Kind), ClaimTCPOptionLengthIgnored.Text())
		}
		x.add("Length", b+8, 8, uint64(o.Len), "", lm)
		d, db := o.Data, b+16
		switch {
		case !valid:
			x.optData(d, db, "")
		case o.Kind == TCPOptMSS:
			x.add("MSS Value", db, 16, uint64(binary.BigEndian.Uint16(d)), "", "the largest segment data, in bytes, the sender will accept")
		case o.Kind == TCPOptWScale:
			x.add("Shift Count", db, 8, uint64(d[0]), "", wscaleMeaning(d[0]))
		case o.Kind == TCPOptSACK:
			for i := 0; i+8 <= len(d); i += 8 {
				n := ordinal(i/8 + 1)
				x.add("Left Edge of "+n+" Block", db+8*i, 32, uint64(binary.BigEndian.Uint32(d[i:])), "", "first sequence number of a block received beyond the cumulative ACK")
				x.add("Right Edge of "+n+" Block", db+8*i+32, 32, uint64(binary.BigEndian.Uint32(d[i+4:])), "", "the sequence number just after that block")
			}
		case o.Kind == TCPOptTimestamps:
			x.add("TSval", db, 32, uint64(binary.BigEndian.Uint32(d)), "", "the sender's timestamp clock now")
			x.add("TSecr", db+32, 32, uint64(binary.BigEndian.Uint32(d[4:])), "", "the TSval last received from the other side, echoed (valid when ACK is set)")
		case o.Kind == TCPOptMD5:
			x.add("MD5 Digest", db, 128, 0, fmt.Sprintf("%x", d), "MD5 over the pseudo-header, TCP header, data and a shared key: "+ClaimMD5Unexpected.Text())
		case o.Kind == TCPOptFastOpen:
			x.fastOpenCookie(d, db)
		case o.Kind == TCPOptExp1 || o.Kind == TCPOptExp2:
			id := binary.BigEndian.Uint16(d)
			m := "experiment identifier: says which experiment the option belongs to"
			if id == TCPExIDFastOpen {
				m = "0xf989: TCP Fast Open, as it ran before kind 34 was assigned"
			}
			x.add("ExID", db, 16, uint64(id), fmt.Sprintf("0x%04x", id), m)
			if id == TCPExIDFastOpen {
				x.fastOpenCookie(d[2:], db+16)
			} else {
				x.optData(d[2:], db+16, "")
			}
		default:
			x.optData(d, db, "")
		}
		off = next
	}
}

// tcpKindMeaning names the option; its fields say the rest.
func tcpKindMeaning(o Option) string {
	switch {
	case o.Kind == TCPOptEOL:
		return "End of Option List: no options follow"
	case o.Kind == TCPOptNOP:
		return "No-Operation: one byte that aligns the next option"
	case !tcpOptValid(o):
		return DescribeTCPOption(o)
	case o.Kind == TCPOptFastOpen && o.Len == 2, isFastOpenExp(o) && o.Len == 4:
		return TCPOptionName(o.Kind) + ": a cookie request, the client asks the server for a cookie"
	case isFastOpenExp(o):
		return TCPOptionName(o.Kind) + ": TCP Fast Open (ExID 0xf989)"
	}
	return TCPOptionName(o.Kind)
}

func (x *explainer) fastOpenCookie(c []byte, bit int) {
	if len(c) > 0 {
		x.add("Cookie", bit, 8*len(c), 0, fmt.Sprintf("%x", c), "the server's cookie for this client: data in the SYN is accepted at once")
	}
}

func (x *explainer) optData(d []byte, bit int, m string) {
	if len(d) > 0 {
		x.add("Option Data", bit, 8*len(d), 0, fmt.Sprintf("%s: %x", Units(len(d), "byte"), d), m)
	}
}

func paddingMeaning(p []byte, what string) string {
	for _, c := range p {
		if c != 0 {
			return "after End of Option List: must be zero, to make " + what
		}
	}
	return "zeros after End of Option List, to make " + what
}

func tcpOptLengths(k uint8) string {
	switch k {
	case TCPOptSACK:
		return "10, 18, 26 or 34"
	case TCPOptFastOpen:
		return "2, or an even number from 6 to 18"
	case TCPOptExp1, TCPOptExp2:
		return "at least 4; with ExID 0xf989 (TCP Fast Open) 4, or an even number from 8 to 20"
	case 172, 174:
		return "2, 5, 8 or 11"
	}
	o := tcpOptKinds[k]
	if o.size > 0 {
		return fmt.Sprint(o.size)
	}
	return fmt.Sprintf("at least %d", o.min)
}

func wscaleMeaning(s uint8) string {
	if s > MaxWindowScale {
		// RFC 7323 §2.3: a shift above 14 is logged and used as 14; Linux
		// does the same (tcp_parse_options clamps to TCP_MAX_WSCALE).
		return fmt.Sprintf("%d: above the maximum 14, so %s: windows count in units of %d bytes", s, ClaimWScaleClamped.Text(), 1<<MaxWindowScale)
	}
	if s == 0 {
		return "windows count in units of 1 byte: unscaled, though scaling is on"
	}
	return fmt.Sprintf("windows count in units of %d bytes", 1<<s)
}

// Ordinal writes a count from 1 as English does: 1 "1st", 2 "2nd", 3
// "3rd", 11 "11th", 21 "21st", 112 "112th". There is no ordinal below 1: n
// < 1 is written "number n", for a message that quotes a bad count.
func Ordinal(n int) string {
	if n < 1 {
		return fmt.Sprintf("number %d", n)
	}
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

func ordinal(n int) string { return Ordinal(n) }

// DescribeTCPOption says what one TCP option means, in words, naming its
// kind as IANA and Wireshark do.
func DescribeTCPOption(o Option) string {
	d := o.Data
	name := TCPOptionName(o.Kind)
	if o.Kind > TCPOptNOP && !tcpOptValid(o) {
		return fmt.Sprintf("%s, length %d (should be %s), data %x: malformed", name, o.Len, tcpOptLengths(o.Kind), d)
	}
	switch {
	case o.Kind == TCPOptEOL:
		return "EOL (end of option list)"
	case o.Kind == TCPOptNOP:
		return "NOP (padding)"
	case o.Kind == TCPOptMSS:
		return fmt.Sprintf("MSS %d: the largest segment data the sender will accept", binary.BigEndian.Uint16(d))
	case o.Kind == TCPOptWScale:
		if d[0] > MaxWindowScale {
			return "window scale " + wscaleMeaning(d[0])
		}
		return fmt.Sprintf("window scale %d: %s", d[0], wscaleMeaning(d[0]))
	case o.Kind == TCPOptSACKOK:
		return "SACK permitted: selective acknowledgments may be used"
	case o.Kind == TCPOptSACK:
		s := "SACK"
		for i := 0; i+8 <= len(d); i += 8 {
			s += fmt.Sprintf(" %d-%d", binary.BigEndian.Uint32(d[i:]), binary.BigEndian.Uint32(d[i+4:]))
		}
		return s + ": these blocks arrived beyond the cumulative ACK"
	case o.Kind == TCPOptTimestamps:
		return fmt.Sprintf("timestamps TSval %d TSecr %d", binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:]))
	case o.Kind == TCPOptMD5:
		return fmt.Sprintf("%s: digest %x", name, d)
	case o.Kind == TCPOptFastOpen && len(d) == 0, isFastOpenExp(o) && len(d) == 2:
		return "TCP Fast Open cookie request: the client asks the server for a cookie"
	case o.Kind == TCPOptFastOpen:
		return fmt.Sprintf("TCP Fast Open cookie %x", d)
	case isFastOpenExp(o):
		return fmt.Sprintf("TCP Fast Open cookie %x (experimental kind %d, ExID 0xf989)", d[2:], o.Kind)
	case o.Kind == TCPOptExp1 || o.Kind == TCPOptExp2:
		return fmt.Sprintf("%s, ExID 0x%04x, data %x", name, binary.BigEndian.Uint16(d), d[2:])
	}
	if len(d) == 0 {
		return name
	}
	return fmt.Sprintf("%s, data %x", name, d)
}
