package rawsock_test

import (
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/rawsock"
)

// KernelRewrites reads the version: an IPv6 datagram gets IPv6's answer,
// which is that nothing changes.
func TestKernelRewrites6(t *testing.T) {
	dg, _ := (&craft.Packet{IPv6: &craft.IPv6{PayloadLen: craft.Set[uint16](999), HopLimit: craft.Set[uint8](0), Dst: a6Hs}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2, Checksum: craft.Set[uint16](0)}}).Append(nil)
	if rw := rawsock.KernelRewrites(dg); len(rw) != 0 {
		t.Errorf("IPv6: %+v, want nothing rewritten", rw)
	}
	if rw := rawsock.KernelRewrites6(dg); len(rw) != 0 {
		t.Errorf("KernelRewrites6: %+v", rw)
	}
	dg4, _ := (&craft.Packet{IPv4: &craft.IPv4{Dst: a4Hs}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}}).Append(nil)
	if rw := rawsock.KernelRewrites(dg4); len(rw) == 0 {
		t.Error("IPv4: nothing rewritten")
	}
}

// TestRewriteWords: a field the kernel fills with the value it already
// holds is not called a rewrite (TestViaIPRewrites checks Changed against
// what the kernel sent); no parentheses inside parentheses.
func TestRewriteWords(t *testing.T) {
	dg := make([]byte, 40)
	dg[0], dg[2], dg[3], dg[6], dg[8], dg[9] = 0x45, 0, 40, 0x40, 64, 6
	copy(dg[12:], []byte{198, 18, 0, 1, 198, 18, 0, 2})
	var lines []string
	for _, rw := range rawsock.KernelRewrites(dg) {
		lines = append(lines, rw.String())
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{
		"kernel fills total length (40, the same as built): always set to the length handed to sendto",
		"kernel leaves identification 0: with DF set",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("KernelRewrites words:\n%s\nwant a line with %q", got, want)
		}
	}
	dg[2], dg[3], dg[6] = 0x03, 0xe8, 0
	lines = lines[:0]
	for _, rw := range rawsock.KernelRewrites(dg) {
		s := rw.String()
		depth := 0
		for _, c := range s {
			switch c {
			case '(':
				if depth++; depth > 1 {
					t.Errorf("nested parentheses: %q", s)
				}
			case ')':
				depth--
			}
		}
		lines = append(lines, s)
	}
	got = strings.Join(lines, "\n")
	for _, want := range []string{
		"kernel rewrites total length: 1000 → 40 (always set to the length handed to sendto)",
		"kernel rewrites identification: 0 → chosen by the kernel (filled in when zero and DF is clear)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("KernelRewrites words:\n%s\nwant a line with %q", got, want)
		}
	}
}
