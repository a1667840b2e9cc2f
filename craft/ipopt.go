package craft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// More IPv4 option types (RFC 791 §3.1; IANA "ip-parameters").
const (
	IPOptLSRR uint8 = 131 // Loose Source and Record Route
	IPOptSSRR uint8 = 137 // Strict Source and Record Route
)

type ipOptType struct{ name, rfc string }

// ipOptTypes names the IPv4 option types, as Wireshark does, with the
// document that defines each.
var ipOptTypes = map[uint8]ipOptType{
	0:   {"End of Options List", "RFC 791 §3.1"},
	1:   {"No-Operation", "RFC 791 §3.1"},
	7:   {"Record Route", "RFC 791 §3.1"},
	11:  {"MTU Probe", "RFC 1063"},
	12:  {"MTU Reply", "RFC 1063"},
	25:  {"Quick-Start", "RFC 4782"},
	30:  {"RFC3692-style Experiment", "RFC 4727"},
	68:  {"Time Stamp", "RFC 791 §3.1"},
	82:  {"Traceroute", "RFC 1393"},
	94:  {"RFC3692-style Experiment", "RFC 4727"},
	130: {"Security", "RFC 1108"},
	131: {"Loose Source Route", "RFC 791 §3.1"},
	133: {"Extended Security", "RFC 1108"},
	134: {"Commercial Security", "IANA ip-parameters (no RFC)"},
	136: {"Stream ID", "RFC 791 §3.1"},
	137: {"Strict Source Route", "RFC 791 §3.1"},
	148: {"Router Alert", "RFC 2113 §2.1"},
	149: {"Selective Directed Broadcast", "RFC 1770"},
	158: {"RFC3692-style Experiment", "RFC 4727"},
	222: {"RFC3692-style Experiment", "RFC 4727"},
}

// IPOptionName names IPv4 option type t ("Record Route", "Time Stamp").
func IPOptionName(t uint8) string {
	if o, ok := ipOptTypes[t]; ok {
		return o.name
	}
	return fmt.Sprintf("unknown type %d (copied %d, class %d, number %d)", t, t>>7, t>>5&3, t&0x1f)
}

// IPOptPointer is where the pointer of a route option (Record Route, Loose
// and Strict Source Route) or of a Time Stamp option stands (RFC 791 §3.1).
// The pointer counts octets from the option's type octet, starting at 1:
// a route's first address is at octet 4, a Time Stamp's first entry at
// octet 5; the area is full when the pointer exceeds the length.
type IPOptPointer struct {
	Slots  int  // entries the option has room for: 4 bytes each, 8 for a timestamp with addresses
	Filled int  // entries already written: those before the pointer
	Full   bool // the pointer exceeds the length: nothing more is written
	Before bool // the pointer is below the first entry: malformed
	Middle bool // the pointer is within the area but not at an entry's first octet: malformed
	NoRoom bool // the pointer is at an entry that does not fit in the length: RFC 791 calls the datagram in error
	Slot   int  // bytes per entry
	First  int  // octet of the first entry: 4 or 5
}

// ReadIPOptPointer returns the state of the pointer ptr of an option of
// length l whose entries start at octet first and take slot bytes each.
func ReadIPOptPointer(ptr, l, first, slot int) IPOptPointer {
	p := IPOptPointer{Slots: max(0, l+1-first) / slot, Slot: slot, First: first}
	switch {
	case ptr < first:
		p.Before = true
	case ptr > l:
		p.Full, p.Filled = true, p.Slots
	case (ptr-first)%slot != 0:
		p.Middle = true
	default:
		p.Filled = (ptr - first) / slot
		p.NoRoom = ptr+slot-1 > l
	}
	return p
}

// routeOption reports whether t is Record Route or a source route.
func routeOption(t uint8) bool { return t == IPOptRR || t == IPOptLSRR || t == IPOptSSRR }

// tsSlot is the bytes per entry of a Time Stamp option with flag f: 4 for
// timestamps only (0), 8 for address and timestamp pairs (1, 3); 0 for a
// flag RFC 791 does not define.
func tsSlot(flag uint8) int {
	switch flag {
	case 0:
		return 4
	case 1, 3:
		return 8
	}
	return 0
}

// pointerState reads the pointer of a route or Time Stamp option; ok is
// false for other types or an option too short to hold the fields.
func pointerState(o Option) (IPOptPointer, bool) {
	switch {
	case routeOption(o.Kind) && len(o.Data) >= 1 && o.Len >= 3:
		return ReadIPOptPointer(int(o.Data[0]), o.Len, 4, 4), true
	case o.Kind == IPOptTimestamp && len(o.Data) >= 2 && o.Len >= 4 && tsSlot(o.Data[1]&0xf) > 0:
		return ReadIPOptPointer(int(o.Data[0]), o.Len, 5, tsSlot(o.Data[1]&0xf)), true
	}
	return IPOptPointer{}, false
}

func (p IPOptPointer) String() string {
	switch {
	case p.Before:
		return fmt.Sprintf("below %d, the first entry's octet: malformed", p.First)
	case p.Middle:
		return "points into the middle of an entry: malformed"
	case p.Full:
		return fmt.Sprintf("past the length: all %d entries written, the area is full", p.Slots)
	case p.NoRoom:
		return fmt.Sprintf("%d of %d entries written, and the next does not fit in the length: RFC 791 calls the datagram in error", p.Filled, p.Slots)
	}
	return fmt.Sprintf("%d of %d entries written; the next goes at this octet", p.Filled, p.Slots)
}

// DescribeIPOption says what one IPv4 option means, in words.
func DescribeIPOption(o Option) string {
	d := o.Data
	name := IPOptionName(o.Kind)
	switch {
	case o.Kind == IPOptEOL:
		return "EOL (end of option list)"
	case o.Kind == IPOptNOP:
		return "NOP (padding)"
	case routeOption(o.Kind) && len(d) >= 1:
		if o.Len < 3 {
			return fmt.Sprintf("%s, length %d: below 3, malformed", name, o.Len)
		}
		p, _ := pointerState(o)
		return fmt.Sprintf("%s, %d addresses, pointer %d: %s", name, p.Slots, d[0], p)
	case o.Kind == IPOptTimestamp && len(d) >= 2:
		flag := d[1] & 0xf
		p, ok := pointerState(o)
		if !ok {
			return fmt.Sprintf("%s, pointer %d, overflow %d, flag %d: not a flag RFC 791 defines", name, d[0], d[1]>>4, flag)
		}
		what := map[uint8]string{0: "timestamps", 1: "address and timestamp pairs", 3: "timestamps at prespecified addresses"}[flag]
		return fmt.Sprintf("%s, %d %s, pointer %d: %s; overflow %d", name, p.Slots, what, d[0], p, d[1]>>4)
	}
	if len(d) == 0 {
		return fmt.Sprintf("%s, length %d", name, o.Len)
	}
	return fmt.Sprintf("%s, length %d, data %x", name, o.Len, d)
}

func ipOptionRFC(t uint8) string {
	if o, ok := ipOptTypes[t]; ok {
		return o.rfc
	}
	return "RFC 791 §3.1"
}

// ipOptions explains an IPv4 option area at bit of the header: each
// option's type, length and data fields as RFC 791 §3.1 lays them out,
// route and timestamp entries one by one.
func (x *explainer) ipOptions(opts []byte, bit, area int) {
	saved := x.rfc
	defer func() { x.rfc = saved }()
	for off := 0; off < len(opts); {
		o, next, err := NextOption(opts, off)
		b := bit + 8*off
		x.rfc = ipOptionRFC(o.Kind)
		if err != nil {
			x.badOption(opts, off, b, area, o, "Option Type", "Option Length", IPOptionName(o.Kind), "octet", ClaimIPv4OptionPastHeader.Text())
			return
		}
		x.add("Option Type", b, 8, uint64(o.Kind), fmt.Sprint(o.Kind), ipTypeMeaning(o.Kind))
		if o.Kind == IPOptEOL {
			x.optPadding(opts[next:], b+8, "RFC 791 §3.1")
			return
		}
		if o.Kind == IPOptNOP {
			off = next
			continue
		}
		lm := fmt.Sprintf("%s, type and length included", Units(o.Len, "byte"))
		switch {
		case routeOption(o.Kind) && o.Len < 3:
			lm += ": below 3, no room for the pointer; malformed"
		case o.Kind == IPOptTimestamp && o.Len < 4:
			lm += ": below 4, no room for pointer, overflow and flag; malformed"
		}
		x.add("Option Length", b+8, 8, uint64(o.Len), "", lm)
		d, db := o.Data, b+16
		switch {
		case routeOption(o.Kind) && len(d) >= 1:
			x.routeEntries(o, db)
		case o.Kind == IPOptTimestamp && len(d) >= 2:
			x.timestampEntries(o, db)
		default:
			x.optData(d, db, "")
		}
		off = next
	}
}

// ipTypeMeaning names an option type and reads its three parts (RFC 791
// §3.1): the copied flag, the class and the number.
func ipTypeMeaning(t uint8) string {
	switch t {
	case IPOptEOL:
		return "End of Options List: no options follow"
	case IPOptNOP:
		return "No-Operation: one byte between options"
	}
	copied := "not copied into fragments"
	if t&0x80 != 0 {
		copied = "copied into every fragment"
	}
	class := [4]string{"control", "reserved", "debugging and measurement", "reserved"}[t>>5&3]
	return fmt.Sprintf("%s: %s, class %d (%s), number %d", IPOptionName(t), copied, t>>5&3, class, t&0x1f)
}

func ipv4Text(b []byte) string { return netip.AddrFrom4([4]byte(b[:4])).String() }

// routeEntries explains the pointer and the addresses of a Record Route or
// source route option whose data (after type and length) starts at bit.
func (x *explainer) routeEntries(o Option, bit int) {
	d := o.Data
	p, _ := pointerState(o)
	x.add("Pointer", bit, 8, uint64(d[0]), "", p.String())
	src := o.Kind != IPOptRR
	i := 0
	for ; 1+4*i+4 <= len(d); i++ {
		a := d[1+4*i : 5+4*i]
		name, m := "Address", "the pointer is malformed: whether it is recorded or still to visit is unknown"
		switch {
		case p.Before || p.Middle:
		case i < p.Filled:
			name, m = "Recorded Route", "recorded: a router that forwarded the datagram wrote its address here"
		case src:
			name, m = "Source Route", "to visit: the route the sender chose"
			if i == p.Filled {
				m = "the next hop to visit: it replaces the destination address when the current one is reached"
			}
		default:
			name, m = "Empty Route", "empty: room for the address of a later router"
			if i == p.Filled {
				m = "empty: the next router writes its address here"
			}
		}
		x.add(name, bit+8+32*i, 32, uint64(binary.BigEndian.Uint32(a)), ipv4Text(a), m)
	}
	if rest := d[1+4*i:]; len(rest) > 0 {
		x.optData(rest, bit+8+32*i, "not a whole address: the length leaves "+fmt.Sprint(len(rest))+" bytes, malformed")
	}
}

// timestampEntries explains pointer, overflow, flag and entries of a Time
// Stamp option whose data starts at bit.
func (x *explainer) timestampEntries(o Option, bit int) {
	d := o.Data
	flag := d[1] & 0xf
	p, ok := pointerState(o)
	pm := "the flag is not one RFC 791 defines: the entries cannot be read"
	if ok {
		pm = p.String()
	}
	x.add("Pointer", bit, 8, uint64(d[0]), "", pm)
	ov := d[1] >> 4
	om := fmt.Sprintf("%d routers found the area full and wrote no timestamp", ov)
	if ov == 15 {
		om += "; the count can go no higher, and RFC 791 calls the datagram in error when it would"
	}
	x.add("Overflow", bit+8, 4, uint64(ov), "", om)
	fm := map[uint8]string{0: "0: timestamps only, 4 bytes each", 1: "1: each timestamp follows the address of the router that wrote it, 8 bytes a pair",
		3: "3: the sender prespecified the addresses; only those routers write their timestamp"}[flag]
	if fm == "" {
		fm = fmt.Sprintf("%d: not a flag RFC 791 defines (0, 1 or 3)", flag)
	}
	x.add("Flag", bit+12, 4, uint64(flag), "", fm)
	at, rest := bit+16, d[2:]
	if !ok {
		x.optData(rest, at, "")
		return
	}
	filled := func(i int) string {
		switch {
		case p.Before || p.Middle:
			return "the pointer is malformed: whether this entry is written is unknown"
		case i < p.Filled:
			return "written"
		case i == p.Filled:
			return "empty: the next router writes here"
		}
		return "empty"
	}
	i := 0
	for ; len(rest) >= p.Slot; i++ {
		if p.Slot == 8 {
			m := filled(i)
			if flag == 3 {
				m = "prespecified; " + m
			}
			x.add("Internet Address", at, 32, uint64(binary.BigEndian.Uint32(rest)), ipv4Text(rest), m)
			at, rest = at+32, rest[4:]
		}
		ts := binary.BigEndian.Uint32(rest)
		m := filled(i)
		if i < p.Filled && !p.Before && !p.Middle {
			m = timestampMeaning(ts)
		}
		x.add("Timestamp", at, 32, uint64(ts), "", m)
		at, rest = at+32, rest[4:]
	}
	if len(rest) > 0 {
		x.optData(rest, at, fmt.Sprintf("not a whole entry: %d bytes left over, malformed", len(rest)))
	}
}

// timestampMeaning reads an RFC 791 timestamp: milliseconds since midnight
// UT, or, with the high-order bit set, a value in a non-standard unit.
func timestampMeaning(ts uint32) string {
	if ts&(1<<31) != 0 {
		return "written; high-order bit set: not milliseconds since midnight UT"
	}
	return fmt.Sprintf("written: %d ms after midnight UT", ts)
}

// badOption explains the option at off of an IPv4 or TCP option area whose
// length is wrong: its type (kind) and length fields under the names the
// layer's RFC uses, what follows as unreadable, and what a receiver does
// (said by the caller).
//
// area is the option area's length by the header's length field: when the
// bytes present end before it does and the option fits in it, the option
// is not malformed but cut where the bytes end (a capture's snapshot
// length, or a packet shorter than its header).
func (x *explainer) badOption(opts []byte, off, b, area int, o Option, typeName, lenName, name, unit, receiver string) {
	if len(opts) < area && (off+1 >= len(opts) || o.Len >= 2 && off+int(o.Len) <= area) {
		x.add(typeName, b, 8, uint64(o.Kind), "", name+": cut where the bytes present end")
		if off+1 < len(opts) {
			x.add(lenName, b+8, 8, uint64(o.Len), "", fmt.Sprintf("%s, within the header's %d-%s option area; only %d present", Units(int(o.Len), unit), area, unit, len(opts)-off))
		}
		if off+2 < len(opts) {
			x.optData(opts[off+2:], b+16, "the start of the option's data; the rest is past the bytes present")
		}
		return
	}
	x.add(typeName, b, 8, uint64(o.Kind), "", name+": malformed, see its length")
	if off+1 >= len(opts) {
		x.out[len(x.out)-1].Meaning = name + ": its length " + unit + " is missing, the options end here"
		return
	}
	m := fmt.Sprintf("%d: below 2, the least an option with a length %s can have; %s", o.Len, unit, receiver)
	if o.Len >= 2 {
		m = fmt.Sprintf("%s, but only %d remain in the options: the option runs past the header", Units(o.Len, "byte"), len(opts)-off)
	}
	x.add(lenName, b+8, 8, uint64(o.Len), "", m)
	if off+2 < len(opts) {
		x.optData(opts[off+2:], b+16, "the rest of the options, unreadable after a wrong length")
	}
}

// optPadding explains the bytes after End of Option List at bit b: padding
// that makes the header end on a 32-bit boundary (rfc defines it).
func (x *explainer) optPadding(rest []byte, b int, rfc string) {
	if len(rest) > 0 {
		x.addRFC("Padding", b, 8*len(rest), 0, fmt.Sprintf("%s: %s", Units(len(rest), "byte"), preview(rest)),
			paddingMeaning(rest, "the header end on a 32-bit boundary"), rfc)
	}
}
