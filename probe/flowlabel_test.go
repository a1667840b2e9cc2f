package probe

import "testing"

// A classic trace's probes carry consecutive flow labels that skip 0 ("no
// flow", RFC 6437 §2) when they wrap.
func TestClassicFlowLabelNeverZero(t *testing.T) {
	for _, c := range []struct {
		base uint32
		i    int
		want uint32
	}{
		{1, 0, 1}, {1, 5, 6}, {0xffffe, 1, 0xfffff}, {0xfffff, 0, 0xfffff}, {0xfffff, 1, 1}, {0xffffe, 2, 1},
	} {
		if got := classicFlowLabel(c.base, c.i); got != c.want {
			t.Errorf("base %#x probe %d: %#x, want %#x", c.base, c.i, got, c.want)
		}
	}
	for base := uint32(0xfff00); base <= 0xfffff; base++ {
		for i := 0; i < 512; i++ {
			if l := classicFlowLabel(base, i); l == 0 || l > 0xfffff {
				t.Fatalf("base %#x probe %d: label %#x", base, i, l)
			}
		}
	}
}
