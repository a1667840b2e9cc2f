package craft

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// MaxOptionsLen is the most option bytes an IPv4 or TCP header can hold: the
// 4-bit header length counts at most 15 words, 5 of them the fixed header.
const MaxOptionsLen = 40

// ParseTCPOptions reads TCP options written as a comma-separated list and
// returns their bytes, in order and unpadded:
//
//	mss=1460        Maximum Segment Size (kind 2)
//	wscale=7        Window Scale shift (kind 3)
//	sackok          SACK-Permitted (kind 4)
//	sack=L-R/L-R    SACK blocks (kind 5), left and right edges
//	ts=V:E          Timestamps TSval and TSecr (kind 8)
//	nop, eol        No-Operation (1), End of Option List (0)
//	raw=HEX         any bytes, as given, malformed ones included
//
// Numbers take decimal or 0x-hex.
func ParseTCPOptions(s string) ([]byte, error) {
	var b []byte
	for _, item := range splitList(s) {
		name, val, hasVal := strings.Cut(item, "=")
		var err error
		switch strings.ToLower(name) {
		case "mss":
			var v uint64
			v, err = parseNum(val, 16)
			b = AppendTCPOptMSS(b, uint16(v))
		case "wscale", "ws":
			var v uint64
			v, err = parseNum(val, 8)
			b = AppendTCPOptWScale(b, uint8(v))
		case "sackok", "sack_perm", "sackperm":
			b = AppendTCPOptSACKOK(b)
		case "sack":
			var blocks []SACKBlock
			for _, blk := range strings.Split(val, "/") {
				l, r, ok := strings.Cut(blk, "-")
				lv, err1 := parseNum(l, 32)
				rv, err2 := parseNum(r, 32)
				if !ok || err1 != nil || err2 != nil {
					return nil, fmt.Errorf("TCP option %q: a SACK block is LEFT-RIGHT, two 32-bit numbers, blocks separated by '/'", item)
				}
				blocks = append(blocks, SACKBlock{uint32(lv), uint32(rv)})
			}
			b = AppendTCPOptSACK(b, blocks...)
		case "ts", "timestamps":
			v, e, ok := strings.Cut(val, ":")
			vv, err1 := parseNum(v, 32)
			ev, err2 := parseNum(e, 32)
			if !ok || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("TCP option %q: timestamps are ts=TSVAL:TSECR, two 32-bit numbers", item)
			}
			b = AppendTCPOptTimestamps(b, uint32(vv), uint32(ev))
		case "nop":
			b = AppendTCPOptNOP(b)
		case "eol":
			b = AppendTCPOptEOL(b)
		case "raw":
			var r []byte
			r, err = ParseHex(val)
			b = append(b, r...)
		default:
			return nil, fmt.Errorf("TCP option %q: unknown; use mss=N, wscale=N, sackok, sack=L-R, ts=V:E, nop, eol or raw=HEX", item)
		}
		if err != nil {
			return nil, fmt.Errorf("TCP option %q: %v", item, err)
		}
		if needsValue(name) && !hasVal {
			return nil, fmt.Errorf("TCP option %q: needs a value (%s=…)", item, name)
		}
	}
	if len(b) > MaxOptionsLen {
		return nil, fmt.Errorf("TCP options %q take %d bytes: at most 40 fit in the header", s, len(b))
	}
	return b, nil
}

func needsValue(name string) bool {
	switch strings.ToLower(name) {
	case "mss", "wscale", "ws", "sack", "ts", "timestamps", "raw", "rr", "timestamp":
		return true
	}
	return false
}

// ParseIPOptions reads IPv4 options written as a comma-separated list and
// returns their bytes, unpadded:
//
//	rr=N      Record Route with N address slots (1-9)
//	ts=N      Internet Timestamp, timestamps only, N slots (1-9)
//	nop, eol  No Operation, End of Option List
//	raw=HEX   any bytes, as given
func ParseIPOptions(s string) ([]byte, error) {
	var b []byte
	for _, item := range splitList(s) {
		name, val, hasVal := strings.Cut(item, "=")
		switch strings.ToLower(name) {
		case "rr", "ts", "timestamp":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 9 || !hasVal {
				return nil, fmt.Errorf("IP option %q: %s=N takes 1 to 9 slots (40 option bytes hold 9 addresses)", item, name)
			}
			if strings.ToLower(name) == "rr" {
				b = AppendIPOptRecordRoute(b, n)
			} else {
				b = AppendIPOptTimestamp(b, n)
			}
		case "nop":
			b = AppendIPOptNOP(b)
		case "eol":
			b = AppendIPOptEOL(b)
		case "raw":
			r, err := ParseHex(val)
			if err != nil || !hasVal {
				return nil, fmt.Errorf("IP option %q: %v", item, err)
			}
			b = append(b, r...)
		default:
			return nil, fmt.Errorf("IP option %q: unknown; use rr=N, ts=N, nop, eol or raw=HEX", item)
		}
	}
	if len(b) > MaxOptionsLen {
		return nil, fmt.Errorf("IP options %q take %d bytes: at most 40 fit in the header", s, len(b))
	}
	return b, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// ParseNumber reads an unsigned number of at most bits bits, in decimal or
// with a 0x prefix in hex. Leading zeros do not mean octal.
func ParseNumber(s string, bits int) (uint64, error) { return parseNum(s, bits) }

func parseNum(s string, bits int) (uint64, error) {
	base := 10
	digits := s
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		base, digits = 16, s[2:]
	}
	if digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, fmt.Errorf("%q is not a number (decimal, or hex with 0x)", s)
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number (decimal, or hex with 0x)", s)
	}
	if bits < 64 && v >= 1<<bits {
		return 0, fmt.Errorf("%s does not fit in %d bits (0..%d)", s, bits, uint64(1)<<bits-1)
	}
	return v, nil
}

// ParseHex reads hex digits, allowing spaces, colons and a 0x prefix; the
// digit count must be even.
func ParseHex(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == ':' || r == '\n' || r == '\t' {
			return -1
		}
		return r
	}, strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
	if len(clean)%2 != 0 {
		return nil, fmt.Errorf("hex %q has an odd number of digits (%d): two digits make a byte", s, len(clean))
	}
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("hex %q: only 0-9 and a-f make hex digits", s)
	}
	return b, nil
}

// MaxWindowScale is the largest window scale shift a receiver uses: a larger
// one is taken as 14 (RFC 7323 §2.3), so a window is at most 2^30 bytes.
const MaxWindowScale = 14

// DescribeTCPOption says what one TCP option means, in words.
func DescribeTCPOption(o Option) string {
	d := o.Data
	switch {
	case o.Kind == TCPOptEOL:
		return "EOL (end of option list)"
	case o.Kind == TCPOptNOP:
		return "NOP (padding)"
	case o.Kind == TCPOptMSS && o.Len == 4 && len(d) == 2:
		return fmt.Sprintf("MSS %d: the largest segment data the sender will accept", binary.BigEndian.Uint16(d))
	case o.Kind == TCPOptWScale && o.Len == 3 && len(d) == 1:
		if d[0] > MaxWindowScale {
			// RFC 7323 §2.3: a shift above 14 is logged and used as 14;
			// Linux does the same (tcp_parse_options clamps to
			// TCP_MAX_WSCALE).
			return fmt.Sprintf("window scale %d: above the maximum 14, so receivers use 14 (RFC 7323 §2.3): windows count in units of %d bytes", d[0], 1<<MaxWindowScale)
		}
		return fmt.Sprintf("window scale %d: windows count in units of %d bytes", d[0], 1<<d[0])
	case o.Kind == TCPOptSACKOK && o.Len == 2:
		return "SACK permitted: selective acknowledgments may be used"
	case o.Kind == TCPOptSACK && o.Len >= 10 && (o.Len-2)%8 == 0 && len(d) == o.Len-2: // at least one block (RFC 2018 §3)
		s := "SACK"
		for i := 0; i+8 <= len(d); i += 8 {
			s += fmt.Sprintf(" %d-%d", binary.BigEndian.Uint32(d[i:]), binary.BigEndian.Uint32(d[i+4:]))
		}
		return s + ": these blocks arrived beyond the cumulative ACK"
	case o.Kind == TCPOptTimestamps && o.Len == 10 && len(d) == 8:
		return fmt.Sprintf("timestamps TSval %d TSecr %d", binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:]))
	}
	return fmt.Sprintf("kind %d, length %d, data %x (unknown or malformed)", o.Kind, o.Len, d)
}

// DescribeIPOption says what one IPv4 option means, in words.
func DescribeIPOption(o Option) string {
	d := o.Data
	switch {
	case o.Kind == IPOptEOL:
		return "EOL (end of option list)"
	case o.Kind == IPOptNOP:
		return "NOP (padding)"
	case o.Kind == IPOptRR && len(d) >= 1:
		return fmt.Sprintf("record route, %d slots, pointer %d (%d recorded)", (o.Len-3)/4, d[0], max(0, int(d[0])-4)/4)
	case o.Kind == IPOptTimestamp && len(d) >= 2:
		return fmt.Sprintf("timestamp, %d slots, pointer %d, overflow %d, flag %d", (o.Len-4)/4, d[0], d[1]>>4, d[1]&0xf)
	}
	return fmt.Sprintf("type %d (copied %d, class %d, number %d), length %d, data %x", o.Kind, o.Kind>>7, o.Kind>>5&3, o.Kind&0x1f, o.Len, d)
}

// DescribeOptions describes each option of an IPv4 (ip true) or TCP option
// area, and says where it stops making sense.
func DescribeOptions(opts []byte, ip bool) []string {
	var out []string
	for off := 0; off < len(opts); {
		o, next, err := NextOption(opts, off)
		if err != nil {
			out = append(out, fmt.Sprintf("byte %d: kind %d with length %d: %v", off, o.Kind, o.Len, err))
			break
		}
		if ip {
			out = append(out, DescribeIPOption(o))
		} else {
			out = append(out, DescribeTCPOption(o))
		}
		if o.Kind == 0 {
			if rest := opts[next:]; len(rest) > 0 {
				out = append(out, fmt.Sprintf("%d bytes of padding", len(rest)))
			}
			break
		}
		off = next
	}
	return out
}
