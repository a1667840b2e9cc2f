package craft

import "fmt"

// Units formats a count with its unit, singular for one: "1 byte",
// "0 bytes", "78 bytes", "2 retransmissions". unit is the singular noun
// whose plural adds an s.
func Units[N ~int | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64](n N, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
