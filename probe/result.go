package probe

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
)

// Result is what became of one probe. Its JSON form is the CLI contract's:
// dst, proto, port, state, reason, rtt_ms, and from, code, mtu, attempts,
// sport and kernel_rst where they apply.
type Result struct {
	Probe    listen.Probe
	Reply    listen.Reply // Reason NoResponse when nothing answered
	State    listen.State
	Attempts int           // times it was sent
	Sent     time.Time     // when the answered attempt left: the kernel's timestamp of its outgoing copy when seen
	RTT      time.Duration // reply's kernel timestamp minus Sent; zero without a reply
	// KernelRST: after the SYN-ACK, this host's own kernel reset the
	// connection, because no socket of its own had opened it.
	KernelRST bool
}

// Report is a whole run.
type Report struct {
	Results []Result // one per probe, in the order of Config.Ports
	Stats   listen.Stats
	// Stateless: the run was a stateless scan; Stray counts the replies
	// that failed its cookie check (another run's, or forged).
	Stateless bool
	Stray     int
	Elapsed   time.Duration
	// Notes say what the results alone do not: a caveat a person should
	// read beside them.
	Notes []string
	// streamed counts, by state, the results Scan handed to its emit
	// function instead of keeping them in Results.
	streamed *[numStates]int
}

// summaryStates are the states a summary counts, in its order.
var summaryStates = [...]listen.State{listen.Open, listen.Closed, listen.Filtered, listen.OpenFiltered, listen.Up, listen.Unreachable}

const numStates = len(summaryStates) + 1 // the last: any other state

func stateIndex(s listen.State) int {
	for i, t := range summaryStates {
		if s == t {
			return i
		}
	}
	return len(summaryStates)
}

type jsonResult struct {
	Dst       string  `json:"dst"`
	Proto     string  `json:"proto"`
	Port      uint16  `json:"port"`
	State     string  `json:"state"`
	Reason    string  `json:"reason"`
	RTTms     float64 `json:"rtt_ms"`
	From      string  `json:"from,omitempty"`
	Code      *uint8  `json:"code,omitempty"`
	MTU       uint32  `json:"mtu,omitempty"`
	Pointer   *uint32 `json:"pointer,omitempty"`
	Attempts  int     `json:"attempts"`
	Sport     uint16  `json:"sport,omitempty"`
	KernelRST bool    `json:"kernel_rst,omitempty"`
}

// ProtoName is the contract's name of an IP protocol: tcp, udp or icmp.
func ProtoName(p uint8) string {
	switch p {
	case craft.ProtoTCP:
		return "tcp"
	case craft.ProtoUDP:
		return "udp"
	case craft.ProtoICMP, craft.ProtoICMPv6: // with an IPv6 target, icmp is ICMPv6
		return "icmp"
	}
	return strconv.Itoa(int(p))
}

// MarshalJSON writes the CLI contract's keys.
func (r Result) MarshalJSON() ([]byte, error) {
	j := jsonResult{Dst: r.Probe.Dst.String(), Proto: ProtoName(r.Probe.Proto), Port: r.Probe.DstPort, State: string(r.State),
		Reason: r.Reply.Reason.String(), RTTms: float64(r.RTT.Nanoseconds()) / 1e6, Attempts: r.Attempts, Sport: r.Probe.SrcPort,
		KernelRST: r.KernelRST, MTU: r.Reply.MTU}
	if r.Reply.Reason != listen.NoResponse {
		j.From = r.Reply.From.String()
	}
	switch r.Reply.Reason {
	case listen.ICMPUnreachable, listen.ICMPFragNeeded, listen.ICMPPortUnreachable, listen.ICMPTTLExceeded, listen.ICMPReassemblyExceeded,
		listen.ICMPPacketTooBig, listen.ICMPParamProblem:
		c := r.Reply.Code
		j.Code = &c
	}
	if r.Reply.Reason == listen.ICMPParamProblem {
		ptr := r.Reply.Pointer
		j.Pointer = &ptr
	}
	return json.Marshal(j)
}

// Millis formats d as milliseconds with three decimals: "0.412 ms".
func Millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Nanoseconds())/1e6, 'f', 3, 64) + " ms"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Describe says in one line what the reply means, for a student: the
// target, its state, the reason, and why.
func (r Result) Describe() string {
	p := r.Probe
	proto := ProtoName(p.Proto)
	target := fmt.Sprintf("%v/%s", netip.AddrPortFrom(p.Dst, p.DstPort), proto)
	v6 := p.Dst.Is6() && !p.Dst.Is4In6()
	icmp := "ICMP"
	if v6 {
		icmp = "ICMPv6"
	}
	if p.Proto == craft.ProtoICMP || p.Proto == craft.ProtoICMPv6 {
		target = fmt.Sprintf("%v/icmp", p.Dst)
	}
	head := fmt.Sprintf("%-22s %-13s %-22s", target, r.State, r.ReasonText())
	from, in := r.Reply.From, Millis(r.RTT)
	var why string
	switch r.Reply.Reason {
	case listen.SynAck:
		why = fmt.Sprintf("SYN/ACK from %v in %s — a program listens there: the port is open", netip.AddrPortFrom(from, p.DstPort), in)
		if r.KernelRST {
			why += "; then this host's kernel sent RST, because it has no socket for a connection rawcraft opened by hand"
		}
	case listen.Rst:
		switch p.Scan {
		case listen.ScanACK:
			why = fmt.Sprintf("RST from %v in %s — the ACK reached the host: unfiltered; an ACK for no connection draws a RST from an open and a closed port alike (RFC 9293 §3.10.7), so it cannot tell them apart", netip.AddrPortFrom(from, p.DstPort), in)
		case listen.ScanWindow:
			why = fmt.Sprintf("RST from %v with window %d in %s — the window scan reads a non-zero window as open and zero as closed; Linux answers every port with window 0", netip.AddrPortFrom(from, p.DstPort), r.Reply.Window, in)
		case listen.ScanFIN:
			why = fmt.Sprintf("RST/ACK from %v in %s — closed: a closed port answers any segment but a RST (RFC 9293 §3.10.7.1), an open one drops one without SYN, ACK or RST", netip.AddrPortFrom(from, p.DstPort), in)
		default:
			why = fmt.Sprintf("RST/ACK from %v in %s — nothing listens there; the kernel refused the connection (a socket's connect() gets ECONNREFUSED)", netip.AddrPortFrom(from, p.DstPort), in)
		}
	case listen.ICMPPortUnreachable:
		if v6 {
			why = fmt.Sprintf("ICMPv6 port unreachable (type 1 code 4) from %v in %s, quoting our packet — nothing listens on UDP port %d; an unconnected UDP socket is never told", from, in, p.DstPort)
			break
		}
		why = fmt.Sprintf("ICMP port unreachable from %v in %s, quoting our datagram (IP ID 0x%04x) — nothing listens on UDP port %d; an unconnected UDP socket is never told", from, in, r.Reply.QuotedID, p.DstPort)
	case listen.ICMPUnreachable:
		name := craft.ICMPCodeName(craft.ICMPUnreachable, r.Reply.Code)
		if v6 {
			name = craft.ICMPv6CodeName(craft.ICMPv6Unreachable, r.Reply.Code)
		}
		why = fmt.Sprintf("%s destination unreachable, code %d (%s), from %v in %s — something on the path refuses it", icmp, r.Reply.Code, name, from, in)
	case listen.ICMPPacketTooBig:
		why = fmt.Sprintf("ICMPv6 Packet Too Big from %v in %s: next-hop MTU %d — IPv6 routers never fragment (RFC 8200 §5); only the source may, in smaller packets or with a Fragment header; the probe never reached the port (nmap, which ignores Packet Too Big, would say open|filtered)", from, in, r.Reply.MTU)
	case listen.ICMPParamProblem:
		why = fmt.Sprintf("%s parameter problem, code %d, pointer %d, from %v in %s — the receiver could not process the field at that offset of our packet, and dropped it", icmp, r.Reply.Code, r.Reply.Pointer, from, in)
	case listen.ICMPFragNeeded:
		why = fmt.Sprintf("ICMP fragmentation needed from %v in %s: next-hop MTU %d — the datagram has DF set and is too big for the next link (RFC 1191)", from, in, r.Reply.MTU)
	case listen.ICMPTTLExceeded:
		if v6 {
			why = fmt.Sprintf("ICMPv6 time exceeded (hop limit exceeded in transit) from router %v in %s — the hop limit ran out there", from, in)
			break
		}
		why = fmt.Sprintf("ICMP time exceeded in transit from router %v in %s — the TTL ran out there", from, in)
	case listen.ICMPReassemblyExceeded:
		why = fmt.Sprintf("%s fragment reassembly time exceeded from %v in %s — it received the first fragment but not all the others, and gave up", icmp, from, in)
	case listen.UDPReply:
		why = fmt.Sprintf("UDP reply from %v in %s — a program answered: the port is open", netip.AddrPortFrom(from, p.DstPort), in)
	case listen.EchoReply:
		why = fmt.Sprintf("echo reply from %v in %s — the host is up", from, in)
	case listen.ICMPRateLimited:
		why = fmt.Sprintf("no reply to %d probes while %v was rate-limiting its ICMP errors — unresolved: a closed port's port unreachable may have been swallowed, so neither closed nor open|filtered can be said", r.Attempts, p.Dst)
	case listen.NoResponse:
		if r.Attempts == 0 {
			why = "nothing was sent: the host's link address could not be found (no ARP reply or Neighbor Advertisement), so it is down or not on this link"
			break
		}
		fallthrough
	default:
		why = fmt.Sprintf("no reply to %d probe%s", r.Attempts, plural(r.Attempts))
		switch p.Proto {
		case craft.ProtoTCP:
			switch p.Scan {
			case listen.ScanFIN:
				why += " — open or filtered: a closed port would have answered RST; an open port drops a segment without SYN, ACK or RST (RFC 9293 §3.10.7.2), and so does a firewall"
			case listen.ScanACK, listen.ScanWindow:
				why += " — filtered: any host answers an ACK for no connection with RST, so something dropped the ACK or its answer"
			default:
				why += " — filtered: a closed port would have answered RST, so something dropped the SYN or its answer"
				if p.Flags&craft.TCPFin != 0 {
					why += " — or the port is open and its host drops SYN|FIN, as Linux does"
				}
			}
		case craft.ProtoUDP:
			why += " — open or filtered: a closed port would have answered ICMP port unreachable, an open one may stay silent"
			if p.Frag {
				why += "; a datagram that was never reassembled reaches no port at all"
			}
		default:
			why += " — the host is down, or something drops ICMP"
		}
	}
	return head + " " + why
}

// ReasonText is the reason's contract name with the detail that makes it
// exact: an ICMP code, an MTU, the router whose TTL ran out.
func (r Result) ReasonText() string {
	s := r.Reply.Reason.String()
	switch r.Reply.Reason {
	case listen.ICMPUnreachable:
		s += fmt.Sprintf(" code %d", r.Reply.Code)
	case listen.ICMPFragNeeded, listen.ICMPPacketTooBig:
		s += fmt.Sprintf(" mtu %d", r.Reply.MTU)
	case listen.ICMPParamProblem:
		s += fmt.Sprintf(" pointer %d", r.Reply.Pointer)
	case listen.ICMPTTLExceeded:
		s += " from " + r.Reply.From.String()
	}
	return s
}

// Summary is one line over a run's results: the count of each state, the
// RTTs, the unanswered and the kernel's capture counters.
func (rep *Report) Summary() string {
	rs := rep.Results
	counts := map[listen.State]int{}
	var rtts []time.Duration
	lost := 0
	for _, r := range rs {
		counts[r.State]++
		if r.Reply.Reason == listen.NoResponse {
			lost++
		} else {
			rtts = append(rtts, r.RTT)
		}
	}
	var parts []string
	for _, s := range []listen.State{listen.Open, listen.Closed, listen.Filtered, listen.OpenFiltered, listen.Up, listen.Unreachable} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	var b strings.Builder
	if rep.Stateless {
		n := len(rs)
		if rep.streamed != nil { // Scan emitted the results instead of keeping them
			for i, c := range rep.streamed {
				n += c
				if i < len(summaryStates) {
					counts[summaryStates[i]] += c
				}
			}
		}
		fmt.Fprintf(&b, "stateless scan of %d ports in %v (%.0f probes/s): %d open, %d closed, %d filtered; %d stray replies; the kernel captured %d frames and dropped %d",
			n, rep.Elapsed.Round(time.Millisecond), float64(n)/rep.Elapsed.Seconds(), counts[listen.Open], counts[listen.Closed], counts[listen.Filtered], rep.Stray, rep.Stats.Captured, rep.Stats.Dropped)
		return b.String()
	}
	fmt.Fprintf(&b, "%d probe%s: %s", len(rs), plural(len(rs)), strings.Join(parts, ", "))
	if len(rtts) > 0 {
		slices.Sort(rtts)
		var sum time.Duration
		for _, d := range rtts {
			sum += d
		}
		fmt.Fprintf(&b, "; rtt min/avg/max %s/%s/%s", Millis(rtts[0]), Millis(sum/time.Duration(len(rtts))), Millis(rtts[len(rtts)-1]))
	}
	fmt.Fprintf(&b, "; %d unanswered (%.0f%% loss); the kernel captured %d frames and dropped %d", lost, 100*float64(lost)/float64(max(len(rs), 1)), rep.Stats.Captured, rep.Stats.Dropped)
	return b.String()
}
