package lab

import (
	"strings"
	"testing"
)

// A length bound with one side open reads as one bound, not as a range
// ending at 0 (lab status said "ip length 53–0" for --min-len 53).
func TestMatchStringLengths(t *testing.T) {
	for m, want := range map[Match]string{
		{Proto: 6, Port: 8080, MinLen: 53}:   "tcp dport 8080 ip length ≥ 53",
		{Proto: 6, MaxLen: 100}:              "tcp ip length ≤ 100",
		{Proto: 17, MinLen: 53, MaxLen: 100}: "udp ip length 53–100",
	} {
		if got := m.String(); got != want {
			t.Errorf("%+v: %q, want %q", m, got, want)
		}
	}
}

// A negative frame count is refused in words, with no ordinal ("the
// -3th/0th" it was).
func TestImpairNegativeCountWords(t *testing.T) {
	err := (&Impairment{DropNth: -3}).validate()
	if err == nil || !strings.HasSuffix(err.Error(), "drop frame number -3, then 0: frames count from 1 (0: none)") {
		t.Errorf("DropNth -3: %v", err)
	}
}
