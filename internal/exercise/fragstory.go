package exercise

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
)

var protoNames = map[uint8]string{craft.ProtoUDP: "UDP", craft.ProtoTCP: "TCP", craft.ProtoICMP: "ICMP", craft.ProtoICMPv6: "ICMPv6"}

// Write tells the experiment's story to w: one line naming the datagram,
// then a timeline in milliseconds from the first event — each fragment
// leaving Hc, each arriving with the reassembler's view, the application's
// reads, the ICMP that came back — and the outcome in words. Over IPv6
// the outcome puts what the destination's kernel did next to what craft's
// model of Linux's IPv6 receiver expects.
func (rep *FragReport) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	host := rep.Host
	v6 := rep.Dst.Is6()
	fmt.Fprintf(bw, "One %s datagram of %d data bytes from Hc to %s (%v)", protoNames[rep.Proto], len(rep.Payload), host, rep.Dst)
	if v6 {
		rep.writeID6(bw)
	} else {
		fmt.Fprintf(bw, ", IP ID 0x%04x", rep.ID)
	}
	if rep.Made > 0 {
		fmt.Fprintf(bw, ", made into %d fragment%s, sent in the order %s", rep.Made, map[bool]string{true: "", false: "s"}[rep.Made == 1], order(rep.Order))
	}
	fmt.Fprintln(bw, ":")
	type line struct {
		t    time.Time
		text string
	}
	var lines []line
	describe, reasm := fragText, reasmText
	if v6 {
		describe, reasm = fragText6, reasmText6
	}
	for _, s := range rep.Left {
		lines = append(lines, line{s.Meta.Time, fmt.Sprintf("Hc → %s", describe(s))})
	}
	for i, s := range rep.Arrived {
		text := fmt.Sprintf("%s ← %s", host, describe(s))
		if i < len(rep.Reassembly) {
			text += "   reassembly: " + reasm(rep.Reassembly[i])
		}
		lines = append(lines, line{s.Meta.Time, text})
	}
	for i, t := range rep.DeliveredAt {
		got := rep.Delivered[i]
		same := "exactly the bytes sent"
		if !bytes.Equal(got, rep.Payload) {
			same = "NOT the bytes sent"
		}
		lines = append(lines, line{t, fmt.Sprintf("%s's application received %d bytes in one read: %s", host, len(got), same)})
	}
	for i, r := range rep.Replies {
		text := rep.replyText(r)
		if v6 {
			text = rep.replyText6(i)
		}
		lines = append(lines, line{rep.ReplyFrames[i].Meta.Time, "Hc ← " + text})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].t.Before(lines[j].t) })
	causal(lines, func(l *line) *time.Time { return &l.t }, func(l *line) string { return l.text })
	var t0 time.Time
	if len(lines) > 0 {
		t0 = lines[0].t
	}
	for _, l := range lines {
		fmt.Fprintf(bw, "  %+10.3f ms  %s\n", float64(l.t.Sub(t0).Nanoseconds())/1e6, l.text)
	}
	if v6 {
		rep.writeOutcome6(bw)
	} else {
		rep.writeOutcome(bw)
	}
	return bw.Flush()
}

func (rep *FragReport) writeOutcome(w io.Writer) {
	udp := rep.Proto == craft.ProtoUDP
	delivered := len(rep.Delivered) > 0
	fmt.Fprintln(w, "Outcome:")
	switch {
	case !udp:
	case len(rep.Delivered) == 0:
		fmt.Fprintf(w, "  the application received nothing: UDP delivers a datagram whole or not at all.\n")
	case len(rep.Delivered) == 1:
		fmt.Fprintf(w, "  the application received the datagram once, whole.\n")
	default:
		fmt.Fprintf(w, "  the application received %d datagrams.\n", len(rep.Delivered))
	}
	if udp {
		fmt.Fprintf(w, "  craft's reassembler %s the datagram; the kernel %s it — they %s.\n",
			map[bool]string{true: "completed", false: "did not complete"}[rep.Complete],
			map[bool]string{true: "delivered", false: "did not deliver"}[delivered],
			map[bool]string{true: "agree", false: "DISAGREE"}[rep.Complete == delivered])
	}
	overlap := false
	for _, e := range rep.Reassembly {
		overlap = overlap || e.Overlap > 0
	}
	if overlap {
		fmt.Fprintf(w, "  the fragments overlapped; this Linux receiver %s.\n", map[bool]string{true: "still delivered the datagram", false: "discarded the whole datagram (Linux has done so since 4.19, as RFC 5722 asks of IPv6)"}[delivered])
	}
	if len(rep.Replies) == 0 {
		switch {
		case !delivered && !hasOffsetZero(rep.Arrived):
			fmt.Fprintf(w, "  no ICMP came back: fragment 1 (offset 0) never arrived, and %s.\n", craft.ClaimReassemblyTimeoutNeedsFirst.Text())
		case !delivered:
			fmt.Fprintf(w, "  no ICMP came back within the wait.\n")
		}
	}
}

func order(frags []int) string {
	s := make([]string, len(frags))
	for i, f := range frags {
		s[i] = fmt.Sprint(f)
	}
	return strings.Join(s, ",")
}

// fragText describes one captured fragment.
func fragText(s listen.Captured) string {
	var d craft.Decoded
	_ = d.DecodeFrame(s.Frame)
	ip := &d.IPv4
	mf := ""
	if ip.Flags&craft.FlagMF != 0 {
		mf = ", MF"
	}
	if ip.Flags&craft.FlagDF != 0 {
		mf += ", DF"
	}
	dataLen := int(ip.TotalLen.Or(0)) - int(ip.IHL.Or(5))*4
	what := "fragment"
	if !ip.IsFragment() {
		what = "whole datagram"
	}
	return fmt.Sprintf("%s: offset %d, %d data bytes%s", what, int(ip.FragOff)*8, dataLen, mf)
}

func hasOffsetZero(arrived []listen.Captured) bool {
	var d craft.Decoded
	for _, s := range arrived {
		if d.DecodeFrame(s.Frame) == nil && d.IPv4.FragOff == 0 {
			return true
		}
	}
	return false
}

func reasmText(e craft.ReassemblyEvent) string {
	var parts []string
	switch {
	case e.Discarded && e.Reason != "":
		return e.Reason
	case e.Discarded:
		return fmt.Sprintf("overlaps %d bytes already received: %s", e.Overlap, craft.ClaimFragOverlapDiscarded.Text())
	case e.Duplicate:
		parts = append(parts, "duplicate, ignored")
	case e.Dropped:
		parts = append(parts, e.Reason)
	}
	if e.Trimmed > 0 {
		parts = append(parts, fmt.Sprintf("MF with %d data bytes, %d kept: %s", e.Len, e.Len-e.Trimmed, craft.ClaimFragTrimmed.Text()))
	}
	switch {
	case e.Duplicate || e.Dropped:
	case e.Overlap > 0:
		s := fmt.Sprintf("overlaps %d bytes already received", e.Overlap)
		if e.Conflict {
			s += " WITH DIFFERENT CONTENT"
		}
		parts = append(parts, s)
	}
	if e.Complete {
		parts = append(parts, "complete")
	} else {
		var hs []string
		for _, h := range e.Holes {
			if h.Last == craft.Infinity {
				hs = append(hs, fmt.Sprintf("%d–end", h.First))
			} else {
				hs = append(hs, fmt.Sprintf("%d–%d", h.First, h.Last))
			}
		}
		parts = append(parts, "holes "+strings.Join(hs, ", "))
	}
	return strings.Join(parts, "; ")
}

// portUnreachWhy says what a port unreachable about a reassembled
// datagram means: who sent it and the probe's protocol decide (only the
// target closes a port, and only a UDP one).
func (rep *FragReport) portUnreachWhy(r listen.Reply) string {
	switch {
	case r.From != rep.Dst:
		return "not the target: a router or firewall on the path refused the datagram"
	case rep.Proto == craft.ProtoUDP:
		return "the datagram was reassembled, but nothing listens on its UDP port"
	case rep.Proto == craft.ProtoTCP:
		return "the datagram was reassembled, and a firewall there rejected the TCP segment, since " + craft.ClaimClosedPortAnswersRST.Text()
	}
	return "the datagram was reassembled, and a firewall there rejects echo requests"
}

func (rep *FragReport) replyText(r listen.Reply) string {
	switch r.Reason {
	case listen.ICMPReassemblyExceeded:
		return fmt.Sprintf("ICMP time exceeded, fragment reassembly (type 11 code 1) from %v, quoting fragment 1 (IP ID 0x%04x): matched to the datagram", r.From, r.QuotedID)
	case listen.ICMPFragNeeded:
		return fmt.Sprintf("ICMP fragmentation needed (type 3 code 4) from %v, next-hop MTU %d: the DF datagram is too big for the next link (RFC 1191)", r.From, r.MTU)
	case listen.ICMPPortUnreachable:
		return fmt.Sprintf("ICMP port unreachable from %v (IP ID 0x%04x quoted): %s", r.From, r.QuotedID, rep.portUnreachWhy(r))
	case listen.UDPReply:
		return fmt.Sprintf("UDP reply from %v", r.From)
	}
	return fmt.Sprintf("%v from %v", r.Reason, r.From)
}
