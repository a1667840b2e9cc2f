package exercise

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
)

// writeID6 names how the packet was fragmented, after the story's first
// words: the Fragment header's identification, or none.
func (rep *FragReport) writeID6(w io.Writer) {
	switch {
	case rep.Sender == SendSocket && rep.HasFragID:
		fmt.Fprintf(w, ", through an ordinary UDP socket: Hc's kernel fragmented it, Fragment header ID 0x%08x", rep.FragID)
	case rep.Sender == SendSocket:
		fmt.Fprint(w, ", through an ordinary UDP socket")
	case rep.HasFragID:
		fmt.Fprintf(w, ", Fragment header ID 0x%08x", rep.FragID)
	default:
		fmt.Fprint(w, ", in one packet without a Fragment header")
	}
}

// fragText6 describes one captured IPv6 packet or fragment: the offset and
// length of the fragmentable part it carries after its Fragment header.
func fragText6(s listen.Captured) string {
	d := craft.Decoded{AcceptIPv6: true}
	_ = d.DecodeFrame(s.Frame)
	f := d.FragExt()
	if f == nil {
		return fmt.Sprintf("whole packet, no Fragment header: %d bytes after the IPv6 header", d.IPv6.PayloadLen.Or(0))
	}
	what, m := "fragment", ""
	switch {
	case f.FragOffset() == 0 && !f.More():
		what = "atomic fragment"
	case f.More():
		m = ", M"
	}
	return fmt.Sprintf("%s: offset %d, %d data bytes%s", what, int(f.FragOffset())*8, fragData6(s), m)
}

// reasmText6 is reasmText for IPv6: a fragment dropped before it joined a
// packet has no holes to show.
func reasmText6(e craft.ReassemblyEvent) string {
	if e.Dropped && !e.Duplicate && len(e.Holes) == 0 {
		return e.Reason
	}
	return reasmText(e)
}

// replyText6 describes reply i, an answer to an IPv6 experiment.
func (rep *FragReport) replyText6(i int) string {
	r := rep.Replies[i]
	from := nodeName6(r.From)
	d := craft.Decoded{AcceptIPv6: true}
	_ = d.DecodeFrame(rep.ReplyFrames[i].Frame)
	quoting := "quoting the packet"
	if f := d.Quoted.FragExt(); f != nil {
		quoting = fmt.Sprintf("quoting the fragment at offset %d (ID 0x%08x)", int(f.FragOffset())*8, f.Ident())
	}
	switch r.Reason {
	case listen.ICMPReassemblyExceeded:
		return fmt.Sprintf("ICMPv6 time exceeded, fragment reassembly time exceeded (type 3 code 1) from %v, %s", from, quoting)
	case listen.ICMPPacketTooBig:
		return fmt.Sprintf("ICMPv6 packet too big (type 2 code %d) from %v, MTU %d, %s", r.Code, from, r.MTU, quoting)
	case listen.ICMPParamProblem:
		what := "parameter problem"
		switch r.Code {
		case 0:
			what += ", erroneous header field"
		case 3:
			what += ", IPv6 first fragment has incomplete IPv6 header chain"
		}
		return fmt.Sprintf("ICMPv6 %s (type 4 code %d, pointer %d) from %v, %s", what, r.Code, r.Pointer, from, quoting)
	case listen.ICMPPortUnreachable:
		return fmt.Sprintf("ICMPv6 port unreachable (type 1 code 4) from %v, %s: %s", from, quoting, strings.Replace(rep.portUnreachWhy(r), "datagram", "packet", 1))
	case listen.EchoReply:
		return fmt.Sprintf("ICMPv6 echo reply from %v: the echo request was reassembled and answered", from)
	case listen.UDPReply:
		return fmt.Sprintf("UDP reply from %v", from)
	case listen.SynAck, listen.Rst:
		return fmt.Sprintf("TCP %v from %v: the segment was reassembled and answered", r.Reason, from)
	}
	return fmt.Sprintf("%v (code %d) from %v, %s", r.Reason, r.Code, from, quoting)
}

// writeOutcome6 is the outcome of an IPv6 experiment: what the application
// received, and for each thing craft's model of Linux's IPv6 receiver
// expects — delivery, parameter problem, time exceeded — whether the
// destination's kernel did it. Every claim about a kernel is what was
// captured or read within the wait.
func (rep *FragReport) writeOutcome6(w io.Writer) {
	udp := rep.Proto == craft.ProtoUDP
	delivered := len(rep.Delivered) > 0
	host := rep.Host
	agree := map[bool]string{true: "they agree", false: "they DISAGREE"}
	var ptb, paramProblem, timeExceeded, answers []listen.Reply
	for _, r := range rep.Replies {
		switch {
		case r.Reason == listen.ICMPPacketTooBig:
			ptb = append(ptb, r)
		case r.Reason == listen.ICMPParamProblem && r.Code == 3:
			paramProblem = append(paramProblem, r)
		case r.Reason == listen.ICMPReassemblyExceeded:
			timeExceeded = append(timeExceeded, r)
		case r.From == rep.Dst && (r.Reason == listen.EchoReply || r.Reason == listen.SynAck || r.Reason == listen.Rst || r.Reason == listen.ICMPPortUnreachable):
			answers = append(answers, r) // only a reassembled packet is answered so
		}
	}
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
	complete := map[bool]string{true: "completed", false: "did not complete"}[rep.Complete]
	switch {
	case len(rep.Arrived) == 0:
		fmt.Fprintf(w, "  nothing reached %s: craft's reassembler had nothing to put together, and %s's kernel %s — %s.\n", host, host,
			map[bool]string{true: "delivered it nonetheless", false: "delivered nothing"}[delivered || len(answers) > 0], agree[!delivered && len(answers) == 0])
	case udp:
		fmt.Fprintf(w, "  craft's reassembler (Linux's IPv6 rules) %s the packet; %s's kernel %s it — %s.\n", complete, host,
			map[bool]string{true: "delivered", false: "did not deliver"}[delivered], agree[rep.Complete == delivered])
	case len(answers) > 0:
		fmt.Fprintf(w, "  craft's reassembler (Linux's IPv6 rules) %s the packet; %s's kernel answered it (%v), so it reassembled it — %s.\n", complete, host, answers[0].Reason, agree[rep.Complete])
	default:
		fmt.Fprintf(w, "  craft's reassembler (Linux's IPv6 rules) %s the packet; %s's kernel sent no answer within the wait — %s.\n", complete, host, agree[!rep.Complete])
	}
	if rep.Sender == SendSocket && len(rep.Left) > 1 && rep.HasFragID {
		sizes := make([]string, len(rep.Left))
		for i, s := range rep.Left {
			sizes[i] = fmt.Sprint(fragData6(s))
		}
		fmt.Fprintf(w, "  Hc's kernel fragmented the datagram itself, into %d fragments of %s data bytes behind Fragment headers: in IPv6 only the source fragments (RFC 8200 §4.5).\n",
			len(rep.Left), strings.Join(sizes, " + "))
	}
	overlap := false
	for _, e := range rep.Reassembly {
		overlap = overlap || e.Overlap > 0 && !e.Duplicate
	}
	if overlap {
		fmt.Fprintf(w, "  the fragments overlapped: RFC 5722 has an IPv6 receiver discard the whole packet; %s's kernel %s.\n", host,
			map[bool]string{true: "DELIVERED it nonetheless", false: "delivered nothing, as it asks"}[delivered || len(answers) > 0])
	}
	if rep.ModelParamProblem || len(paramProblem) > 0 {
		model := "craft's model does not expect one"
		if rep.ModelParamProblem {
			model = "craft's model drops it and expects ICMPv6 parameter problem code 3"
		}
		kernel := "sent no parameter problem within the wait"
		if len(paramProblem) > 0 {
			kernel = fmt.Sprintf("answered parameter problem code 3, pointer %d", paramProblem[0].Pointer)
		}
		fmt.Fprintf(w, "  the first fragment did not hold the whole header chain through the upper-layer header (RFC 8200 §4.5, RFC 7112): %s; %s's kernel %s — %s.\n",
			model, host, kernel, agree[rep.ModelParamProblem == (len(paramProblem) > 0)])
	}
	if rep.ModelTimeExceeded || len(timeExceeded) > 0 {
		model := "craft's model expects none"
		if rep.ModelTimeExceeded {
			model = fmt.Sprintf("craft's model gives the packet up ip6frag_time (%g s) after its first fragment arrived and expects ICMPv6 time exceeded code 1", rep.FragTime.Seconds())
		}
		kernel := "sent none within the wait"
		if len(timeExceeded) > 0 && len(rep.Arrived) > 0 {
			kernel = fmt.Sprintf("sent it %.1f s after the first fragment reached %s", timeExceeded[0].Time.Sub(rep.Arrived[0].Meta.Time).Seconds(), host)
		}
		fmt.Fprintf(w, "  %s; %s's kernel %s — %s.\n", model, host, kernel, agree[rep.ModelTimeExceeded == (len(timeExceeded) > 0)])
	} else if rep.ModelParamProblem && !delivered {
		fmt.Fprintf(w, "  no time exceeded followed within the wait: the dropped first fragment never joined the reassembly queue, and %s (craft's model expects none either).\n", craft.ClaimReassemblyTimeoutNeedsFirst.Text())
	}
	if len(ptb) > 0 {
		fmt.Fprintf(w, "  %s answered ICMPv6 packet too big with MTU %d instead of forwarding: %s, at the path MTU it learns (RFC 8200 §5, RFC 8201).\n", nodeName6(ptb[0].From), ptb[0].MTU, craft.ClaimIPv6RoutersNeverFragment.Text())
	}
	if len(rep.Replies) == 0 && !delivered {
		expects := ""
		if !rep.ModelTimeExceeded && !rep.ModelParamProblem {
			expects = " (craft's model expects none)"
		}
		switch {
		case !hasFirst6(rep.Arrived) && len(rep.Arrived) > 0:
			fmt.Fprintf(w, "  no ICMPv6 came back: the first fragment (offset 0) never arrived, and %s.\n", craft.ClaimReassemblyTimeoutNeedsFirst.Text())
		default:
			fmt.Fprintf(w, "  no ICMPv6 came back within the wait%s.\n", expects)
		}
	}
}

// nodeName6 names a lab address: "R (2001:2:0:1::2)".
func nodeName6(a netip.Addr) string {
	names := map[netip.Addr]string{lab.Addr6R1: "R", lab.Addr6R2: "R", lab.Addr6Hs: "Hs", lab.Addr6Hf: "Hf", lab.Addr6Hc: "Hc"}
	if n, ok := names[a]; ok {
		return fmt.Sprintf("%s (%v)", n, a)
	}
	return a.String()
}

// fragData6 is the number of data bytes after a fragment's Fragment header.
func fragData6(s listen.Captured) int {
	d := craft.Decoded{AcceptIPv6: true}
	_ = d.DecodeFrame(s.Frame)
	n := int(d.IPv6.PayloadLen.Or(0))
	for _, e := range d.Exts() {
		n -= e.Len()
		if e.Kind == craft.ProtoFragment {
			break
		}
	}
	return n
}

// hasFirst6 reports whether a first fragment (offset 0), or the whole
// packet, arrived.
func hasFirst6(arrived []listen.Captured) bool {
	d := craft.Decoded{AcceptIPv6: true}
	for _, s := range arrived {
		if _ = d.DecodeFrame(s.Frame); d.Layers&craft.LayerIPv6 != 0 && (d.FragExt() == nil || d.FragExt().FragOffset() == 0) {
			return true
		}
	}
	return false
}
