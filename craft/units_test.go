package craft_test

import (
	"regexp"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
)

// TestUnitsOneByte: a count of one is "1 byte", in Units and in every
// explained field of packets whose options, padding, data and trailers
// are one byte long (tshark says "1 byte" too).
func TestUnitsOneByte(t *testing.T) {
	if got := craft.Units(1, "byte") + " " + craft.Units(uint16(0), "byte") + " " + craft.Units(78, "byte"); got != "1 byte 0 bytes 78 bytes" {
		t.Errorf("Units: %q", got)
	}
	bad := regexp.MustCompile(`\b1 bytes\b`)
	tcp := func(opts []byte, data int) []byte {
		hl := 20 + len(opts)
		b := make([]byte, 20+hl+data)
		b[0], b[3], b[9] = 0x45, byte(len(b)), 6
		copy(b[12:], []byte{198, 18, 1, 3, 198, 18, 1, 1})
		b[20+12] = byte(hl/4) << 4
		copy(b[40:], opts)
		return b
	}
	for _, p := range [][]byte{
		tcp([]byte{0xfe, 0x03, 0xff, 0x00}, 1), // an option with 1 data byte, 1 byte of padding
		tcp([]byte{0x01, 0x01, 0x01, 0x00}, 0), // EOL, then nothing
		tcp([]byte{0x00, 0x00, 0x00, 0x00}, 1), // EOL and 3 bytes of padding
		tcp([]byte{0x08, 0x0a, 0x00, 0x00}, 0), // timestamps past the header
	} {
		var d craft.Decoded
		_ = d.DecodeIP(p)
		for _, f := range craft.Explain(&d) {
			if bad.MatchString(f.Text) || bad.MatchString(f.Meaning) {
				t.Errorf("% x: %s %s: %q %q", p, f.Layer, f.Name, f.Text, f.Meaning)
			}
		}
		if s := d.Summary(); bad.MatchString(s) {
			t.Errorf("% x: summary %q", p, s)
		}
	}
}
