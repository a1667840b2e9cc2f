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
