package exercise

import (
	"reflect"
	"testing"
	"time"
)

// A receipt stamped a few microseconds before its send moves after it and
// takes its time; one a whole skew apart, or of another frame, stays.
func TestCausal(t *testing.T) {
	type ev struct {
		t    time.Time
		what string
	}
	t0 := time.Unix(100, 0)
	us := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Microsecond) }
	evs := []ev{
		{us(0), "Hs ← fragment at offset 0, M   reassembly: holes"},
		{us(14), "Hc → fragment at offset 0, M"},
		{us(80), "Hs ← fragment at offset 8"},
		{us(88), "Hc → fragment at offset 8"},
		{us(90), "Hs ← fragment at offset 16"},
		{us(5000), "Hc → fragment at offset 16"},
		{us(6000), "Hc ← ICMP time exceeded"},
	}
	causal(evs, func(e *ev) *time.Time { return &e.t }, func(e *ev) string { return e.what })
	want := []ev{
		{us(14), "Hc → fragment at offset 0, M"},
		{us(14), "Hs ← fragment at offset 0, M   reassembly: holes"},
		{us(88), "Hc → fragment at offset 8"},
		{us(88), "Hs ← fragment at offset 8"},
		{us(90), "Hs ← fragment at offset 16"},
		{us(5000), "Hc → fragment at offset 16"},
		{us(6000), "Hc ← ICMP time exceeded"},
	}
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("got %v\nwant %v", evs, want)
	}
}
