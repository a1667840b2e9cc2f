package probe

import (
	"net/netip"
	"testing"
)

var hs = netip.MustParseAddr("198.18.1.1")

// A reply passes the cookie check only with the right ports and ack.
func TestCookies(t *testing.T) {
	c := NewCookies()
	sp, seq := c.Of(hs, 80)
	sp2, seq2 := c.Of(hs, 81)
	if sp < 32768 || sp == sp2 && seq == seq2 {
		t.Errorf("cookies for ports 80 and 81: %d/%d and %d/%d", sp, seq, sp2, seq2)
	}
	if a, b := c.Of(hs, 80); a != sp || b != seq {
		t.Error("a cookie changed")
	}
	other := NewCookies()
	if a, b := other.Of(hs, 80); a == sp && b == seq {
		t.Error("two runs made the same cookie")
	}
	if n := testing.AllocsPerRun(100, func() { c.Of(hs, 80) }); n != 0 {
		t.Errorf("Of allocates %v times", n)
	}
}

func BenchmarkCookieCheck(b *testing.B) {
	c := NewCookies()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.Of(hs, uint16(i))
	}
}

func TestParsePorts(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int // ports, or -1 for an error
	}{
		{"9999", 1}, {"22,80", 2}, {"9990-9999", 10}, {" 22 , 8000-8002", 4}, {"0-65535", 65536},
		{"", -1}, {"80-22", -1}, {"65536", -1}, {"http", -1}, {"1-", -1}, {"0-65535,1", -1}, {"22,", -1},
	} {
		got, err := ParsePorts(c.in)
		if c.want < 0 && err == nil || c.want >= 0 && (err != nil || len(got) != c.want) {
			t.Errorf("ParsePorts(%q): %d ports, %v; want %d", c.in, len(got), err, c.want)
		}
	}
}
