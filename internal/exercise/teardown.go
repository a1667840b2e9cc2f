package exercise

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
)

// closeSeg is one TCP segment of a connection's close, as captured.
type closeSeg struct {
	at       time.Time
	fromHc   bool // sent by the client (Hc)
	flags    uint8
	seq, ack uint32
	end      uint32 // seq + data length + 1 for a FIN: what acknowledges it
}

// teardown is what the wire showed of one connection's close (RFC 9293
// §3.6): the closer's FIN, the other side's acknowledgment of it, the other
// side's FIN and its acknowledgment. An acknowledgment may ride on a FIN,
// so these four roles take three or four segments.
type teardown struct {
	segs                   []closeSeg
	activeHc               bool // the client sent the first FIN
	finA, ackA, finP, ackP int  // indexes into segs; -1 when not seen
	Segments               int  // distinct segments among the four roles
}

// closeTeardown finds the close in a connection's captured frames (IPv4 or
// IPv6, in capture order) with listen.Teardown; hc is the client's address.
func closeTeardown(caps []listen.Captured, hc netip.Addr) teardown {
	td := teardown{finA: -1, ackA: -1, finP: -1, ackP: -1}
	var segs []listen.CloseSegment
	for i := range caps {
		d := &craft.Decoded{AcceptIPv6: true}
		_ = d.DecodeFrame(caps[i].Frame)
		if !d.Has(craft.LayerTCP) {
			continue
		}
		src := d.IPv4.Src
		if d.Has(craft.LayerIPv6) {
			src = d.IPv6.Src
		}
		s := closeSeg{at: caps[i].Meta.Time, fromHc: src == hc, flags: d.TCP.Flags, seq: d.TCP.Seq, ack: d.TCP.Ack}
		s.end = s.seq + uint32(len(d.Payload)) + 1
		td.segs = append(td.segs, s)
		segs = append(segs, listen.CloseSegment{From: netip.AddrPortFrom(src, d.TCP.SrcPort), Flags: s.flags, Seq: s.seq, Ack: s.ack, Len: len(d.Payload)})
	}
	c := listen.Teardown(segs)
	td.finA, td.ackA, td.finP, td.ackP, td.Segments = c.FirstFIN, c.AckOfFirst, c.SecondFIN, c.AckOfSecond, c.Segments
	if td.finA >= 0 {
		td.activeHc = td.segs[td.finA].fromHc
	}
	return td
}

// Complete says whether all four roles were seen.
func (td *teardown) Complete() bool {
	return td.finA >= 0 && td.ackA >= 0 && td.finP >= 0 && td.ackP >= 0
}

// side names the sender of a segment: "client" or "server".
func side(fromHc bool) string {
	if fromHc {
		return "client"
	}
	return "server"
}

// Missing says which roles were not seen, for an incomplete close.
func (td *teardown) Missing() string {
	a, p := side(td.activeHc), side(!td.activeHc)
	var miss []string
	if td.finA < 0 {
		return "no FIN was captured: the connection never closed"
	}
	if td.ackA < 0 {
		miss = append(miss, fmt.Sprintf("no acknowledgment of the %s's FIN", a))
	}
	if td.finP < 0 {
		miss = append(miss, fmt.Sprintf("no FIN from the %s", p))
	} else if td.ackP < 0 {
		miss = append(miss, fmt.Sprintf("no acknowledgment of the %s's FIN", p))
	}
	return "not a complete close: " + strings.Join(miss, "; ")
}

// Lines tells the close segment by segment, in wire order, then how many
// segments it took and why.
func (td *teardown) Lines() []string {
	if td.finA < 0 {
		return []string{"no FIN was captured"}
	}
	a, p := side(td.activeHc), side(!td.activeHc)
	var out []string
	last := max(td.finA, td.ackA, td.finP, td.ackP)
	if !td.Complete() {
		last = len(td.segs) - 1
	}
	for i := td.finA; i <= last; i++ {
		s := td.segs[i]
		var roles []string
		if i == td.finA {
			roles = append(roles, fmt.Sprintf("the %s's FIN", a))
		}
		if i == td.finP {
			roles = append(roles, fmt.Sprintf("the %s's FIN", p))
		}
		if i == td.ackA {
			roles = append(roles, fmt.Sprintf("acknowledges the %s's FIN: ack %d = its seq + %d", a, s.ack, td.segs[td.finA].end-td.segs[td.finA].seq))
		}
		if i == td.ackP {
			roles = append(roles, fmt.Sprintf("acknowledges the %s's FIN: ack %d = its seq + %d", p, s.ack, td.segs[td.finP].end-td.segs[td.finP].seq))
		}
		if len(roles) == 0 {
			continue // data or an ACK of data, not part of the close
		}
		out = append(out, fmt.Sprintf("%s → %s  %-7s seq %d ack %d: %s", side(s.fromHc), side(!s.fromHc), craft.FlagNames(s.flags), s.seq, s.ack, strings.Join(roles, ", which ")))
	}
	if !td.Complete() {
		return out
	}
	fa, fp := td.segs[td.finA], td.segs[td.finP]
	switch {
	case td.Segments == 3 && td.ackA == td.finP:
		out = append(out, fmt.Sprintf("a 3-segment close: the %s's ACK of the %s's FIN rode on its own FIN (FIN|ACK), %.1f ms after the %s's FIN — its application closed before its kernel's delayed ACK was due, so no separate ACK was sent",
			p, a, ms(fp.at.Sub(fa.at)), a))
	case td.Segments == 4 && td.ackA < td.finP:
		out = append(out, fmt.Sprintf("a 4-segment close: the %s's kernel acknowledged the %s's FIN %.1f ms after it, and sent its own FIN %.1f ms later, when its application closed",
			p, a, ms(td.segs[td.ackA].at.Sub(fa.at)), ms(fp.at.Sub(td.segs[td.ackA].at))))
	case td.finP < td.ackA:
		out = append(out, fmt.Sprintf("a %d-segment simultaneous close: the %s's FIN left before it had acknowledged the %s's FIN (RFC 9293 §3.6, case 3)", td.Segments, p, a))
	default:
		out = append(out, fmt.Sprintf("a %d-segment close", td.Segments))
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
