package lab

import "testing"

// What lab up says it found and built instead, in words.
func TestKindBeside(t *testing.T) {
	plain := Config{FarMTU: 1280, FragTime: 3}
	routed := Config{Routed: true, FarMTU: 1280, FragTime: 3}
	wide := Config{Routed: true, FarMTU: 1400, FragTime: 3, Offload: true}
	for _, c := range []struct {
		c, other Config
		want     string
	}{
		{plain, routed, "a plain lab"},
		{routed, plain, "a routed lab"},
		{routed, wide, "a routed lab with far MTU 1280, offload off"},
		{wide, routed, "a routed lab with far MTU 1400, offload on"},
	} {
		if got := c.c.kindBeside(c.other); got != c.want {
			t.Errorf("%+v beside %+v: %q, want %q", c.c, c.other, got, c.want)
		}
	}
}
