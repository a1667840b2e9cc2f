package craft

import (
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
				out = append(out, fmt.Sprintf("%s of padding", Units(len(rest), "byte")))
			}
			break
		}
		off = next
	}
	return out
}
