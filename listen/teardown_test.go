package listen

import (
	"net/netip"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
)

// A close is four-way only when four segments carry its four roles; an ACK
// riding on the second FIN makes three; crossing FINs are simultaneous; a
// retransmitted FIN is not counted again.
func TestTeardownCounts(t *testing.T) {
	c, s := netip.MustParseAddrPort("198.18.1.3:40000"), netip.MustParseAddrPort("198.18.1.1:9999")
	const F, A = craft.TCPFin | craft.TCPAck, craft.TCPAck
	for _, tc := range []struct {
		desc     string
		segs     []CloseSegment
		segments int
		words    string
	}{
		{"3", []CloseSegment{{c, F, 100, 500, 0}, {s, F, 500, 101, 0}, {c, A, 101, 501, 0}}, 3,
			"3 segments: the ACK of the first FIN rode on the second FIN"},
		{"4 with data on the FIN and a retransmission", []CloseSegment{{c, F, 100, 500, 5}, {c, F, 100, 500, 5}, {s, A, 500, 106, 0}, {s, F, 500, 106, 0}, {c, A, 106, 501, 0}}, 4,
			"four-way close, 4 segments: FIN, ACK, FIN, ACK"},
		{"simultaneous", []CloseSegment{{c, F, 100, 500, 0}, {s, F, 500, 100, 0}, {c, A, 101, 501, 0}, {s, A, 501, 101, 0}}, 4,
			"simultaneous close, 4 segments: the FINs crossed"},
		{"incomplete", []CloseSegment{{c, F, 100, 500, 0}, {s, A, 500, 101, 0}}, 2, ""},
	} {
		got := Teardown(tc.segs)
		if got.Segments != tc.segments || got.Words() != tc.words {
			t.Errorf("%s: %d segments, %q; want %d, %q", tc.desc, got.Segments, got.Words(), tc.segments, tc.words)
		}
	}
}
