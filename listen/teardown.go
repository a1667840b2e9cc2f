package listen

import (
	"net/netip"

	"github.com/rawcraft/rawcraft/craft"
)

// CloseSegment is what Teardown reads of one TCP segment of a connection: its
// sender, flags, numbers and data length.
type CloseSegment struct {
	From     netip.AddrPort
	Flags    uint8 // craft.TCPFin, craft.TCPAck, …
	Seq, Ack uint32
	Len      int // data bytes
}

// Close is where a connection's close (RFC 9293 §3.6) is in a list of its
// segments: the first FIN, the other end's acknowledgment of it, the other
// end's FIN and its acknowledgment, each an index into the list or -1 when
// not seen. An acknowledgment may ride on the other end's FIN, so the four
// take 4 segments or 3 (Segments).
type Close struct {
	FirstFIN, AckOfFirst, SecondFIN, AckOfSecond int
	Segments                                     int // distinct segments among the four
}

// Complete says whether all four were seen.
func (c Close) Complete() bool {
	return c.FirstFIN >= 0 && c.AckOfFirst >= 0 && c.SecondFIN >= 0 && c.AckOfSecond >= 0
}

// Piggybacked says whether the acknowledgment of the first FIN rode on the
// second FIN: a 3-segment close.
func (c Close) Piggybacked() bool { return c.Complete() && c.AckOfFirst == c.SecondFIN }

// Words says how the close went in a few words, for a result line: "4
// segments (FIN, ACK, FIN, ACK)", "3 segments: the ACK of the first FIN
// rode on the second (FIN, FIN|ACK, ACK)", "simultaneous close, 4
// segments"; "" when incomplete.
func (c Close) Words() string {
	switch {
	case !c.Complete():
		return ""
	case c.Piggybacked():
		return "3 segments: the ACK of the first FIN rode on the second FIN"
	case c.SecondFIN < c.AckOfFirst:
		return "simultaneous close, 4 segments: the FINs crossed"
	}
	return "four-way close, 4 segments: FIN, ACK, FIN, ACK"
}

// Teardown finds the close among a connection's segments, in the order
// they were sent or seen. The first FIN's sender is the end that closed
// first; retransmitted copies are not counted again.
func Teardown(segs []CloseSegment) Close {
	c := Close{-1, -1, -1, -1, 0}
	var first netip.AddrPort
	end := func(i int) uint32 { return segs[i].Seq + uint32(segs[i].Len) + 1 }
	for i, s := range segs {
		fin, ack := s.Flags&craft.TCPFin != 0, s.Flags&craft.TCPAck != 0
		switch {
		case fin && c.FirstFIN < 0:
			c.FirstFIN, first = i, s.From
		case fin && c.SecondFIN < 0 && s.From != first:
			c.SecondFIN = i
		}
		if c.FirstFIN >= 0 && c.AckOfFirst < 0 && ack && s.From != first && s.Ack == end(c.FirstFIN) {
			c.AckOfFirst = i
		}
		if c.SecondFIN >= 0 && c.AckOfSecond < 0 && i > c.SecondFIN && ack && s.From == first && s.Ack == end(c.SecondFIN) {
			c.AckOfSecond = i
		}
	}
	seen := map[int]bool{}
	for _, i := range []int{c.FirstFIN, c.AckOfFirst, c.SecondFIN, c.AckOfSecond} {
		if i >= 0 {
			seen[i] = true
		}
	}
	c.Segments = len(seen)
	return c
}
