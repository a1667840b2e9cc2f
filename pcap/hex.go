package pcap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// ParseHex reads packets from a hex dump in any of the text forms a student
// meets, and returns each packet's bytes:
//
//   - plain hex, one packet per paragraph: "450000540000…" (Wireshark's
//     "Copy as Hex Stream"), "45 00 00 54 …", "0x45, 0x00, …", "\x45\x00…";
//     a line that holds a whole IPv4 or IPv6 packet or Ethernet frame, by
//     its length field, is a packet by itself (build --hex prints one a
//     line), while a wrapped dump (xxd -p) is joined;
//   - offset dumps, a new packet where the offset returns to 0: Wireshark's
//     "Copy as Hex Dump" and text2pcap input ("0000   45 00 …   E..T"),
//     tcpdump -x/-xx/-X ("\t0x0000:  4500 0054 …  E..T"), xxd
//     ("00000000: 4500 0054 …  E..T"), hexdump -C ("00000000  45 00 … |E..T|")
//     and od -Ax -tx1 (with its "*" for repeated lines, and octal offsets
//     of plain od).
//
// Any line that is not hex (tcpdump's summary line, a title) ends a packet,
// as does a blank line. An ASCII column is told from the bytes by the gap
// before it (two or more spaces) and checked against the next line's offset.
// Errors name the line and the rule it breaks.
func ParseHex(text []byte) ([][]byte, error) {
	p := hexParser{}
	for n, line := range bytes.Split(text, []byte("\n")) {
		if err := p.line(n+1, line); err != nil {
			return nil, err
		}
	}
	p.end()
	return p.out, nil
}

type hexToken struct {
	gap  int // columns of space before it (a tab counts 3)
	at   int // its byte offset in the line
	text []byte
}

type hexParser struct {
	out     [][]byte
	cur     []byte
	offsets bool   // the current packet's lines start with offsets
	octal   bool   // those offsets are octal (plain od)
	last    []byte // bytes of the previous offset line, for od's "*"
	repeat  bool
	toks    []hexToken
	done    int // bytes of the packets in out
}

// MaxHexBytes is the most bytes of packets ParseHex returns from one dump.
// od's "*" stands for any number of repeated lines, so a few lines of text
// can stand for megabytes; past this the dump is refused, not expanded.
const MaxHexBytes = MaxHexText

func (p *hexParser) end() {
	if len(p.cur) > 0 {
		p.out = append(p.out, p.cur)
		p.done += len(p.cur)
	}
	p.cur, p.offsets, p.octal, p.last, p.repeat = nil, false, false, nil, false
}

func tokenize(line []byte, toks []hexToken) []hexToken {
	toks = toks[:0]
	gap := 0
	for i := 0; i < len(line); {
		switch line[i] {
		case ' ':
			gap++
			i++
			continue
		case '\t':
			gap += 3
			i++
			continue
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		toks = append(toks, hexToken{gap: gap, at: i, text: line[i:j]})
		gap = 0
		i = j
	}
	return toks
}

func isHex(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func appendHex(dst, h []byte) []byte {
	for i := 0; i+1 < len(h); i += 2 {
		hi, _ := unhexDigit(h[i])
		lo, _ := unhexDigit(h[i+1])
		dst = append(dst, hi<<4|lo)
	}
	return dst
}

func unhexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// offsetOf reads an offset token: "0x0010:", "00000010:", "0010", "000020".
func offsetOf(t []byte) (string, bool) {
	t = bytes.TrimSuffix(t, []byte(":"))
	t = bytes.TrimPrefix(bytes.TrimPrefix(t, []byte("0x")), []byte("0X"))
	return string(t), isHex(t) && len(t) <= 8
}

func (p *hexParser) line(n int, raw []byte) error {
	raw = bytes.TrimRight(raw, " \t\r")
	p.toks = tokenize(raw, p.toks)
	toks := p.toks
	if len(toks) == 0 {
		p.end()
		return nil
	}
	first := toks[0].text
	// od's "*": the lines up to the next offset repeat the last one.
	if len(toks) == 1 && string(first) == "*" && p.offsets {
		p.repeat = true
		return nil
	}
	colon := bytes.HasSuffix(first, []byte(":")) && len(first) > 1
	off, isOff := offsetOf(first)
	switch {
	case colon && isOff:
	case isOff && len(first) >= 4 && len(toks) >= 2 && len(toks[1].text) == 2 && isHex(toks[1].text):
		// Wireshark, hexdump -C, od: an offset of 4 to 8 digits, then bytes.
	case isOff && len(first) >= 4 && len(toks) == 1 && p.offsets:
		// od's last line: the offset after the last byte.
	default:
		return p.plain(n, toks)
	}
	if !p.offsets && len(p.cur) > 0 {
		p.end() // plain hex, then an offset dump
	}
	v, err := strconv.ParseUint(off, 16, 32)
	if err != nil {
		return fmt.Errorf("pcap: hex dump line %d: offset %q: %v", n, first, err)
	}
	if v == 0 && len(p.cur) > 0 {
		p.end() // the offset starts again: a new packet
	}
	if !colon && p.offsets && (p.octal || int(v) != len(p.cur) && !p.repeat) {
		// Plain od counts in octal: 0000020 is the 16th byte.
		if o, err := strconv.ParseUint(off, 8, 32); err == nil && (p.octal || int(o) == len(p.cur)) {
			v, p.octal = o, true
		}
	}
	p.offsets = true
	switch at := int(v); {
	case at < len(p.cur):
		// The line before read part of its ASCII column as hex: keep what
		// the offset says it held.
		p.cur = p.cur[:at]
	case at > len(p.cur):
		if !p.repeat || len(p.last) == 0 {
			return fmt.Errorf("pcap: hex dump line %d: offset 0x%x, but the lines before hold %d bytes (0x%x): a line is missing", n, at, len(p.cur), len(p.cur))
		}
		if at > MaxSnapLen {
			return fmt.Errorf("pcap: hex dump line %d: a packet of more than %d bytes", n, MaxSnapLen)
		}
		if err := p.room(n, at-len(p.cur)); err != nil {
			return err
		}
		// The repeated line, as many times as the gap holds, in one copy.
		need := at - len(p.cur)
		p.cur = append(p.cur, bytes.Repeat(p.last, need/len(p.last)+1)[:need]...)
	}
	p.repeat = false
	if len(p.cur) > MaxSnapLen {
		return fmt.Errorf("pcap: hex dump line %d: a packet of more than %d bytes", n, MaxSnapLen)
	}
	start := len(p.cur)
	width := 0
	for i, t := range toks[1:] {
		nbytes := len(p.cur) - start
		if i > 0 && (t.gap >= 3 || t.gap == 2 && !(width == 2 && nbytes == 8)) {
			break // the ASCII column
		}
		if !isHex(t.text) && t.gap <= 1 && (len(t.text) == width || width == 0 && len(t.text) == 2) && mostlyHex(t.text) {
			return notHexDigit(n, t)
		}
		if !isHex(t.text) || len(t.text)%2 != 0 || (width != 0 && len(t.text) > width) {
			break
		}
		if width == 0 {
			width = len(t.text)
		}
		p.cur = appendHex(p.cur, t.text)
		if len(t.text) < width {
			break // a short last group (tcpdump, xxd: an odd byte count)
		}
	}
	p.last = append(p.last[:0], p.cur[start:]...)
	return nil
}

// mostlyHex reports whether at least half of b's characters are hex
// digits: a token of bytes with a typo in it, not a word.
func mostlyHex(b []byte) bool {
	k := 0
	for _, c := range b {
		if _, ok := unhexDigit(c); ok {
			k++
		}
	}
	return 2*k >= len(b)
}

// notHexDigit is the error for a token of bytes holding a character that
// is not a hex digit: it names the character, its line and its column
// (from 1, in bytes).
func notHexDigit(n int, t hexToken) error {
	for i, c := range t.text {
		if _, ok := unhexDigit(c); ok || strings.IndexByte(",;{}[]\"':\\", c) >= 0 ||
			(c == 'x' || c == 'X') && i > 0 && (t.text[i-1] == '0' || t.text[i-1] == '\\') {
			continue
		}
		return fmt.Errorf("pcap: hex dump line %d, column %d: %q is not a hex digit (in %q)", n, t.at+i+1, string(rune(c)), t.text)
	}
	return fmt.Errorf("pcap: hex dump line %d, column %d: %q is not hex", n, t.at+1, t.text)
}

// room checks that k more bytes keep the dump within MaxHexBytes.
func (p *hexParser) room(n, k int) error {
	if p.done+len(p.cur)+k > MaxHexBytes {
		return fmt.Errorf("pcap: hex dump line %d: more than %d bytes of packets", n, MaxHexBytes)
	}
	return nil
}

// plain reads a line of hex without offsets; a line with anything else is
// text, which ends the packet.
func (p *hexParser) plain(n int, toks []hexToken) error {
	if p.offsets {
		p.end()
	}
	var clean [][]byte
	for i, t := range toks {
		b := bytes.Trim(t.text, ",;{}[]\"'")
		b = bytes.ReplaceAll(b, []byte(`\x`), nil)
		b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("0x"), nil), []byte("0X"), nil)
		b = bytes.ReplaceAll(b, []byte(","), nil)
		b = bytes.ReplaceAll(b, []byte(":"), nil)
		if len(b) == 0 {
			continue
		}
		if !isHex(b) {
			if i > 0 && len(clean) == i && mostlyHex(b) {
				// Hex before it on the line: a typo, not a line of text.
				return notHexDigit(n, t)
			}
			p.end()
			return nil // a line of text
		}
		clean = append(clean, b)
	}
	total := 0
	for _, b := range clean {
		total += len(b)
	}
	if total%2 != 0 {
		if len(clean) == 1 || total == 1 {
			p.end()
			return nil // an odd number of digits: a word, not bytes
		}
		return fmt.Errorf("pcap: hex dump line %d: %d hex digits, an odd number: a digit is missing", n, total)
	}
	if err := p.room(n, total/2); err != nil {
		return err
	}
	first := len(p.cur) == 0
	for _, b := range clean {
		if len(b)%2 != 0 {
			return fmt.Errorf("pcap: hex dump line %d: %q has an odd number of hex digits", n, b)
		}
		p.cur = appendHex(p.cur, b)
	}
	if len(p.cur) > MaxSnapLen {
		return fmt.Errorf("pcap: hex dump line %d: a packet of more than %d bytes", n, MaxSnapLen)
	}
	if first && whole(p.cur) {
		// One packet per line (build --hex, Wireshark's "Copy as Hex
		// Stream" of several packets): a line that holds a whole packet
		// ends it. A wrapped dump (xxd -p) starts with a line that does
		// not, and its lines are joined.
		p.end()
	}
	return nil
}

// whole reports whether b is exactly one IPv4 or IPv6 packet, bare or in an
// Ethernet frame (padded to 60 bytes or not), by its own length field.
func whole(b []byte) bool {
	ip := func(b []byte, padded bool) bool {
		switch {
		case len(b) >= 20 && b[0]>>4 == 4 && b[0]&0xf >= 5:
			tl := int(binary.BigEndian.Uint16(b[2:]))
			return tl == len(b) || padded && tl >= 20 && tl < len(b)
		case len(b) >= 40 && b[0]>>4 == 6:
			pl := 40 + int(binary.BigEndian.Uint16(b[4:]))
			return pl == len(b) || padded && pl < len(b)
		}
		return false
	}
	if ip(b, false) {
		return true
	}
	if len(b) < 14 {
		return false
	}
	if et := binary.BigEndian.Uint16(b[12:]); et != 0x0800 && et != 0x86dd {
		return false
	}
	return ip(b[14:], len(b) == 60)
}
