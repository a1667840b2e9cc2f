package probe

import (
	"encoding/json"
	"fmt"
	"maps"
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
	// Malformed, when set, is why the target's own stack dropped every
	// attempt of this probe unread (a bad checksum, a malformed header):
	// nothing answered, and that says nothing about the port, whose State
	// is then filtered (the probe never reached it) and whose reason is
	// probe-malformed.
	Malformed *craft.Drop
}

// ReasonMalformed is the reason of an unanswered probe that its target's
// own stack dropped (Result.Malformed), in the JSON contract.
const ReasonMalformed = "probe-malformed"

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

const numStates = len(listen.States) + 1 // the last: a state not in listen.States

func stateIndex(s listen.State) int {
	for i, t := range listen.States {
		if s == t {
			return i
		}
	}
	return len(listen.States)
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
	if r.Malformed != nil {
		j.Reason = ReasonMalformed
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
	fromTarget := r.Reply.FromTarget(&p)
	var why string
	switch r.Reply.Reason {
	case listen.SynAck:
		why = fmt.Sprintf("SYN|ACK from %v in %s — a program listens there: the port is open", netip.AddrPortFrom(from, p.DstPort), in)
		if r.KernelRST {
			why += "; then this host's kernel sent RST: " + craft.ClaimSYNACKAnsweredRST.Text() + " (rawcraft opened it by hand)"
		}
	case listen.SplitHandshakeSyn:
		why = fmt.Sprintf("SYN without ACK from %v in %s — the target opened a connection of its own toward us (a split handshake, or a simultaneous open: RFC 9293 §3.5): something answers there, so the port is open, as nmap reads it (split-handshake-syn)", netip.AddrPortFrom(from, p.DstPort), in)
	case listen.Rst:
		switch p.Scan {
		case listen.ScanACK:
			why = fmt.Sprintf("RST from %v in %s — the ACK reached the host: unfiltered; %s, from an open and a closed port alike (RFC 9293 §3.10.7), so it cannot tell them apart", netip.AddrPortFrom(from, p.DstPort), in, craft.ClaimACKAnsweredRST.Text())
		case listen.ScanWindow:
			why = fmt.Sprintf("RST from %v with window %d in %s — the window scan reads a non-zero window as open and zero as closed; %s", netip.AddrPortFrom(from, p.DstPort), r.Reply.Window, in, craft.ClaimRSTWindowZero.Text())
		case listen.ScanFIN:
			why = fmt.Sprintf("RST|ACK from %v in %s — closed: %s, %s", netip.AddrPortFrom(from, p.DstPort), in, craft.ClaimClosedPortAnswersRST.Text(), craft.ClaimOpenPortDropsNoSYN.Text())
		default:
			why = fmt.Sprintf("RST|ACK from %v in %s — %s", netip.AddrPortFrom(from, p.DstPort), in, craft.ClaimSYNRefused.Text())
		}
	case listen.ICMPPortUnreachable:
		why = fmt.Sprintf("%s port unreachable%s %s in %s, quoting our %s — ", icmp, v6code(v6, 4), r.sender(), in, r.quoted())
		switch {
		case p.Proto == craft.ProtoUDP && fromTarget:
			why += fmt.Sprintf("nothing listens on UDP port %d; %s", p.DstPort, craft.ClaimUnconnectedUDPNeverTold.Text())
		case p.Proto == craft.ProtoUDP:
			why += fmt.Sprintf("%v is not the target: a router or firewall on the path refused the datagram, so UDP port %d's own state is unknown: filtered (only the target itself can say closed)", from, p.DstPort)
		case p.Proto == craft.ProtoTCP && fromTarget:
			why += fmt.Sprintf("a closed TCP port answers RST, not this: a firewall on the target rejected the segment to TCP port %d (an nft or iptables reject rule): filtered", p.DstPort)
		case p.Proto == craft.ProtoTCP:
			why += fmt.Sprintf("%v is not the target: a firewall on the path rejected the segment to TCP port %d: filtered", from, p.DstPort)
		case fromTarget:
			why += "the target itself answered, so it is up; a firewall there rejects echo requests"
		default:
			why += fmt.Sprintf("%v is not the target: a firewall on the path rejects echo requests toward it", from)
		}
	case listen.ICMPUnreachable:
		name := craft.ICMPCodeName(craft.ICMPUnreachable, r.Reply.Code)
		if v6 {
			name = craft.ICMPv6CodeName(craft.ICMPv6Unreachable, r.Reply.Code)
		}
		why = fmt.Sprintf("%s destination unreachable, code %d (%s), %s in %s — ", icmp, r.Reply.Code, name, r.sender(), in)
		switch {
		case r.State == listen.Up:
			why += "the target itself answered, so it is up"
		case fromTarget:
			why += fmt.Sprintf("the target itself refused the %s", r.probeNoun())
		default:
			why += fmt.Sprintf("%v, on the path, would not deliver the %s to the target", from, r.probeNoun())
		}
	case listen.ICMPPacketTooBig:
		why = fmt.Sprintf("ICMPv6 Packet Too Big %s in %s: next-hop MTU %d — %s (RFC 8200 §5), or use a Fragment header; the probe never reached the target (nmap ignores Packet Too Big and reads the silence as %s)", r.sender(), in, r.Reply.MTU, craft.ClaimIPv6RoutersNeverFragment.Text(), listen.ClassifyProbe(&p, &listen.Reply{}))
	case listen.ICMPParamProblem:
		why = fmt.Sprintf("%s parameter problem, code %d, pointer %d, %s in %s — %s", icmp, r.Reply.Code, r.Reply.Pointer, r.sender(), in, craft.ClaimParamProblemDropped.Text())
		if !fromTarget {
			why += fmt.Sprintf(" (the receiver here is %v, on the path, not the target)", from)
		}
	case listen.ICMPFragNeeded:
		why = fmt.Sprintf("ICMP fragmentation needed %s in %s: next-hop MTU %d — the datagram has DF set and is too big for the next link (RFC 1191)", r.sender(), in, r.Reply.MTU)
	case listen.ICMPTTLExceeded:
		if v6 {
			why = fmt.Sprintf("ICMPv6 time exceeded (hop limit exceeded in transit) %s in %s — the hop limit ran out there", r.sender(), in)
			break
		}
		why = fmt.Sprintf("ICMP time exceeded in transit %s in %s — the TTL ran out there", r.sender(), in)
	case listen.ICMPReassemblyExceeded:
		why = fmt.Sprintf("%s fragment reassembly time exceeded %s in %s — %s", icmp, r.sender(), in, craft.ClaimReassemblyTimeExceeded.Text())
	case listen.UDPReply:
		why = fmt.Sprintf("UDP reply from %v in %s — a program answered: the port is open", netip.AddrPortFrom(from, p.DstPort), in)
	case listen.EchoReply:
		why = fmt.Sprintf("echo reply from %v in %s — the host is up", from, in)
	case listen.ICMPRateLimited:
		why = fmt.Sprintf("no reply to %s while %v was rate-limiting its %s errors — unresolved: a closed port's port unreachable may have been swallowed, so neither closed nor open|filtered can be said", craft.Units(r.Attempts, "probe"), p.Dst, icmp)
	case listen.NoResponse:
		if r.Malformed != nil {
			what := "port's"
			if p.Proto == craft.ProtoICMP || p.Proto == craft.ProtoICMPv6 {
				what = "host's"
			}
			why = fmt.Sprintf("no reply to %s — expected: our probe's %s; the %s state cannot be told from this", craft.Units(r.Attempts, "probe"), r.Malformed, what)
			break
		}
		if r.Attempts == 0 {
			why = "nothing was sent: the host's link address could not be found (no ARP reply or Neighbor Advertisement), so it is down or not on this link"
			break
		}
		fallthrough
	default:
		why = fmt.Sprintf("no reply to %s", craft.Units(r.Attempts, "probe"))
		switch p.Proto {
		case craft.ProtoTCP:
			switch p.Scan {
			case listen.ScanFIN:
				why += " — open or filtered: " + craft.ClaimClosedPortAnswersRST.Text() + "; " + craft.ClaimOpenPortDropsNoSYN.Text() + ", and so does a firewall"
			case listen.ScanACK, listen.ScanWindow:
				why += " — filtered: " + craft.ClaimACKAnsweredRST.Text() + ", so something dropped the ACK or its answer"
			default:
				why += " — filtered: " + craft.ClaimClosedPortAnswersRST.Text() + ", so something dropped the SYN or its answer"
				if p.Flags&craft.TCPFin != 0 {
					why += " — or the port is open and " + craft.ClaimSYNFINDropped.Text()
				}
			}
		case craft.ProtoUDP:
			why += " — open or filtered: " + craft.ClaimClosedUDPPortUnreachable.Text() + ", an open one may stay silent"
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
	if r.Malformed != nil {
		return ReasonMalformed
	}
	s := r.Reply.Reason.String()
	switch r.Reply.Reason {
	case listen.ICMPUnreachable:
		s += fmt.Sprintf(" code %d", r.Reply.Code)
	case listen.ICMPFragNeeded, listen.ICMPPacketTooBig:
		s += fmt.Sprintf(" mtu %d", r.Reply.MTU)
	case listen.ICMPParamProblem:
		s += fmt.Sprintf(" pointer %d", r.Reply.Pointer)
	}
	if r.Reply.Reason != listen.NoResponse && r.Reply.Reason != listen.ICMPRateLimited && !r.Reply.FromTarget(&r.Probe) {
		s += " from " + r.Reply.From.String() // nmap's port_reason_str: the sender, when it is not the target
	}
	return s
}

// sender says who sent an ICMP error: the target, or another host on the
// path (a router whose TTL ran out says "router").
func (r Result) sender() string {
	switch {
	case r.Reply.FromTarget(&r.Probe):
		return fmt.Sprintf("from the target %v itself", r.Reply.From)
	case r.Reply.Reason == listen.ICMPTTLExceeded || r.Reply.Reason == listen.ICMPFragNeeded || r.Reply.Reason == listen.ICMPPacketTooBig:
		return fmt.Sprintf("from router %v", r.Reply.From)
	}
	return fmt.Sprintf("from %v (not the target)", r.Reply.From)
}

// probeNoun names what the probe was, in its own protocol's words.
func (r Result) probeNoun() string {
	switch r.Probe.Proto {
	case craft.ProtoTCP:
		return "TCP segment"
	case craft.ProtoUDP:
		return "UDP datagram"
	case craft.ProtoICMPv6:
		return "ICMPv6 echo request"
	}
	if r.Probe.Dst.Is6() && !r.Probe.Dst.Is4In6() {
		return "ICMPv6 echo request"
	}
	return "ICMP echo request"
}

// quoted names what an ICMP error quoted: the probe, and over IPv4 the IP
// ID that tied the error to it.
func (r Result) quoted() string {
	n := r.probeNoun()
	if r.Probe.Dst.Is4() {
		n += fmt.Sprintf(" (IP ID 0x%04x)", r.Reply.QuotedID)
	}
	return n
}

// v6code names ICMPv6's type and code where ICMP's name alone would leave
// them out.
func v6code(v6 bool, code uint8) string {
	if v6 {
		return fmt.Sprintf(" (type 1 code %d)", code)
	}
	return ""
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
	var b strings.Builder
	n := len(rs)
	if rep.streamed != nil { // Scan emitted the results instead of keeping them
		for i, c := range rep.streamed {
			n += c
			if i < len(listen.States) {
				counts[listen.States[i]] += c
			} else {
				counts["other"] += c
			}
		}
	}
	// Every state seen is counted, so the counts add up to the probes.
	var parts []string
	for _, s := range listen.States {
		if counts[s] > 0 || rep.Stateless && (s == listen.Open || s == listen.Closed || s == listen.Filtered) {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
		delete(counts, s)
	}
	for _, s := range slices.Sorted(maps.Keys(counts)) {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if rep.Stateless {
		fmt.Fprintf(&b, "stateless scan of %d ports in %v (%.0f probes/s): %s; %d stray replies; the kernel captured %d frames and dropped %d",
			n, rep.Elapsed.Round(time.Millisecond), float64(n)/rep.Elapsed.Seconds(), strings.Join(parts, ", "), rep.Stray, rep.Stats.Captured, rep.Stats.Dropped)
		return b.String()
	}
	fmt.Fprintf(&b, "%s: %s", craft.Units(n, "probe"), strings.Join(parts, ", "))
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
