package listen

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/rawcraft/rawcraft/craft"
)

// Probe is what a probe sent, as far as matching its reply needs.
type Probe struct {
	Proto    uint8      // craft.ProtoTCP, ProtoUDP, ProtoICMP, or ProtoICMPv6 (an ICMPv6 echo)
	Src, Dst netip.Addr // the prober's address and the target's: both IPv4 or both IPv6
	SrcPort  uint16     // TCP and UDP
	DstPort  uint16
	Seq      uint32 // TCP: the probe's sequence number
	// TCP: the probe's control bits, acknowledgement number and data length,
	// and how its answers are read (nmap's scan types). The zero value is a
	// SYN without data, read as a SYN scan.
	Flags   uint8
	Ack     uint32
	Len     int
	Scan    ScanType
	ICMPID  uint16 // ICMP echo identifier
	ICMPSeq uint16 // ICMP echo sequence number
	Frag    bool   // sent in fragments: a reassembly timeout can answer it
}

// Reason says what answered a probe; its String is the contract's name.
type Reason uint8

// Reasons.
const (
	NoResponse Reason = iota
	SynAck
	Rst
	ICMPPortUnreachable
	ICMPUnreachable
	ICMPFragNeeded
	ICMPTTLExceeded
	ICMPReassemblyExceeded
	UDPReply
	EchoReply
	// ICMPRateLimited: no answer while the host was seen to rate-limit its
	// ICMP errors, and probing again below its rate did not settle it.
	ICMPRateLimited
	// ICMPPacketTooBig: ICMPv6 Packet Too Big (RFC 4443 §3.2) — a router
	// never fragments IPv6; it drops the packet and names its next link's
	// MTU (Reply.MTU).
	ICMPPacketTooBig
	// ICMPParamProblem: ICMP or ICMPv6 parameter problem (RFC 792, RFC
	// 4443 §3.4): the receiver could not process a field; Reply.Pointer
	// says where.
	ICMPParamProblem
	// SplitHandshakeSyn: a SYN without ACK answering a SYN probe — a
	// split handshake or simultaneous open (RFC 9293 §3.5): the port is
	// open, as nmap's SYN scan reads it (scan_engine_raw.cc, reason
	// "split-handshake-syn").
	SplitHandshakeSyn
)

var reasonNames = [...]string{"no-response", "syn-ack", "rst", "icmp-port-unreachable", "icmp-unreachable",
	"icmp-frag-needed", "icmp-ttl-exceeded", "icmp-reassembly-time-exceeded", "udp-reply", "echo-reply", "icmp-rate-limited",
	"icmp-packet-too-big", "icmp-parameter-problem", "split-handshake-syn"}

func (r Reason) String() string { return reasonNames[r] }

// State is a port's or host's state, as nmap names them.
type State string

// States.
const (
	Open         State = "open"
	Closed       State = "closed"
	Filtered     State = "filtered"
	OpenFiltered State = "open|filtered"
	// Unresolved: silent while the host rate-limited its answers, so
	// neither closed nor open|filtered can be claimed.
	Unresolved  State = "unresolved"
	Unfiltered  State = "unfiltered"  // ACK scan: the probe reached the host, open or closed
	Up          State = "up"          // ICMP echo answered
	Unreachable State = "unreachable" // ICMP echo answered by an error
)

// States are every State, in the order a summary counts them (nmap's port
// states first). A new State goes here too, or no summary counts it.
var States = [...]State{Open, Closed, Filtered, Unfiltered, OpenFiltered, Unresolved, Up, Unreachable}

// Reply is what answered a probe.
type Reply struct {
	Reason   Reason
	From     netip.Addr // who sent it: the target, or a router on the path
	Code     uint8      // ICMP or ICMPv6 code
	MTU      uint32     // next-hop MTU of a fragmentation-needed (16 bits) or Packet Too Big (32 bits) error
	Pointer  uint32     // the octet a parameter problem points at, in the quoted packet
	Time     time.Time  // kernel receive timestamp
	Flags    uint8      // TCP flags of a SYN-ACK or RST
	Window   uint16     // TCP window of a SYN-ACK or RST (the window scan reads it)
	QuotedID uint16     // the IP ID the error quoted (IPv4; IPv6 has none)
	// QuotedTTL is the TTL in the header an ICMP error quoted: 1 from the
	// router where a probe's TTL ran out (RFC 1812 §5.3.1), what was left
	// of it from the destination.
	QuotedTTL uint8
}

// Kind says what a captured packet is to the Matcher.
type Kind uint8

// Kinds of matched packets.
const (
	Unrelated Kind = iota
	ProbeCopy      // the probe itself, leaving this host: its kernel timestamp times the RTT
	Answer         // the reply to a probe
	KernelRST      // this host's kernel resetting a connection a probe's SYN-ACK opened
	// ProbeFragment: an IPv6 fragment of a probe leaving this host that
	// does not carry the transport header (a later fragment, or a first one
	// cut before it), known by its Fragment identification (SentFragID).
	ProbeFragment
)

// tuple identifies a probe: for TCP and UDP the addresses and ports, for
// ICMP echo the addresses, identifier and sequence number. Addresses are
// held as 16 bytes, IPv4 ones IPv4-mapped, so that one Matcher serves a
// probe run over both families.
type tuple struct {
	proto    uint8
	src, dst [16]byte
	a, b     uint16
}

// Matcher pairs replies with the probes that caused them, by what the
// probe's identity leaves in the reply: the 4-tuple and acknowledgement
// number of a SYN-ACK or RST; the addresses, protocol, IP ID and ports (or
// ICMP identifier and sequence) quoted by an ICMP error, whoever sent it.
// Anything else — another run's replies included — is Unrelated. Matching
// allocates nothing.
type Matcher struct {
	probes []Probe
	ids    [][]uint16 // IP IDs each probe was sent with, one per attempt
	index  map[tuple]int32
	frag6  map[uint32]int32 // IPv6 Fragment identification → probe
}

// NewMatcher returns a Matcher with room for n probes.
func NewMatcher(n int) *Matcher {
	return &Matcher{probes: make([]Probe, 0, n), ids: make([][]uint16, 0, n), index: make(map[tuple]int32, n)}
}

func keyOf(p *Probe) tuple {
	t := tuple{proto: p.Proto, src: p.Src.As16(), dst: p.Dst.As16(), a: p.SrcPort, b: p.DstPort}
	if p.Proto == craft.ProtoICMP || p.Proto == craft.ProtoICMPv6 {
		t.a, t.b = p.ICMPID, p.ICMPSeq
	}
	return t
}

// Add registers a probe and returns its index. Two probes with the same
// identity cannot be told apart: Add refuses the second.
func (m *Matcher) Add(p Probe) (int, error) {
	k := keyOf(&p)
	if _, dup := m.index[k]; dup {
		return -1, fmt.Errorf("two probes with one identity (%v:%d → %v:%d): their replies could not be told apart", p.Src, p.SrcPort, p.Dst, p.DstPort)
	}
	m.index[k] = int32(len(m.probes))
	m.probes = append(m.probes, p)
	m.ids = append(m.ids, nil)
	return len(m.probes) - 1, nil
}

// SentFragID records that probe i was (re)sent in IPv6 fragments with
// Fragment identification id (RFC 8200 §4.5), so that an ICMPv6 error
// quoting a fragment without the transport header — parameter problem
// code 3 for a first fragment that does not hold the whole header chain
// (RFC 7112), or one about a later fragment — still matches it.
func (m *Matcher) SentFragID(i int, id uint32) {
	if m.frag6 == nil {
		m.frag6 = make(map[uint32]int32, cap(m.probes))
	}
	m.frag6[id] = int32(i)
}

// fragProbe finds the probe whose fragments carry g's Fragment
// identification between g's addresses, or -1.
func (m *Matcher) fragProbe(g *craft.Datagram) int {
	f := g.FragExt()
	if f == nil || g.Layers&craft.LayerIPv6 == 0 {
		return -1
	}
	i, ok := m.frag6[f.Ident()]
	if !ok || m.probes[i].Src != g.IPv6.Src || m.probes[i].Dst != g.IPv6.Dst {
		return -1
	}
	return int(i)
}

// Probe returns probe i.
func (m *Matcher) Probe(i int) *Probe { return &m.probes[i] }

// Len returns the number of probes.
func (m *Matcher) Len() int { return len(m.probes) }

// SentID records that probe i was (re)sent with IP identification id, so
// that an ICMP error quoting that ID matches it. IPv6 probes have no IP
// identification and need not call it.
func (m *Matcher) SentID(i int, id uint16) { m.ids[i] = append(m.ids[i], id) }

func (m *Matcher) lookup(proto uint8, src, dst netip.Addr, a, b uint16) int {
	i, ok := m.index[tuple{proto: proto, src: src.As16(), dst: dst.As16(), a: a, b: b}]
	if !ok {
		return -1
	}
	return int(i)
}

func (m *Matcher) sentWith(i int, id uint16) bool {
	if m.probes[i].Dst.Is6() && !m.probes[i].Dst.Is4In6() {
		return true // no IP identification to tell copies apart by
	}
	for _, x := range m.ids[i] {
		if x == id {
			return true
		}
	}
	return false
}

// Match says what pkt is to the probes: a reply (with its index and what it
// means), the probe itself leaving, this host's kernel resetting a
// connection a probe opened, or Unrelated.
func (m *Matcher) Match(pkt *Packet) (Kind, int, Reply) {
	d := &pkt.Decoded
	var r Reply
	if d.Layers&(craft.LayerIPv4|craft.LayerIPv6) == 0 || pkt.Err != nil && d.Quoted.Layers == 0 && d.Layers&(craft.LayerTCP|craft.LayerUDP|craft.LayerICMP|craft.LayerICMPv6) == 0 {
		return Unrelated, -1, r
	}
	ip := addrsOf(&d.Datagram)
	r.From, r.Time = ip.Src, pkt.Meta.Time
	switch {
	case d.Layers&craft.LayerTCP != 0:
		t := &d.TCP
		if i := m.lookup(craft.ProtoTCP, ip.Src, ip.Dst, t.SrcPort, t.DstPort); i >= 0 {
			p := &m.probes[i]
			switch {
			case t.Flags&craft.TCPRst != 0 && t.Seq == p.Seq+p.seqLen() && p.flags()&craft.TCPSyn != 0:
				r.Flags = t.Flags
				return KernelRST, i, r
			case t.Seq == p.Seq && t.Flags == p.flags():
				return ProbeCopy, i, r
			}
			return Unrelated, -1, r
		}
		i := m.lookup(craft.ProtoTCP, ip.Dst, ip.Src, t.DstPort, t.SrcPort)
		if i < 0 {
			return Unrelated, -1, r
		}
		p := &m.probes[i]
		r.Flags, r.Window = t.Flags, t.Window
		// What RFC 9293 §3.10.7.1 has a host answer with: to a segment
		// without ACK, <ACK=SEG.SEQ+SEG.LEN> — SYN and FIN count, and so does
		// the data; to one with ACK, a RST with <SEQ=SEG.ACK>.
		acked := t.Flags&craft.TCPAck != 0 && t.Ack == p.Seq+p.seqLen()
		probeACK := p.flags()&craft.TCPAck != 0
		switch {
		case t.Flags&(craft.TCPSyn|craft.TCPAck) == craft.TCPSyn|craft.TCPAck && !probeACK && p.flags()&craft.TCPSyn != 0 && (acked || t.Ack == p.Seq+1):
			// A listener acknowledges the SYN alone: data in a SYN is
			// queued only with Fast Open (RFC 7413), else not acknowledged.
			r.Reason = SynAck
		case t.Flags&(craft.TCPSyn|craft.TCPAck|craft.TCPRst) == craft.TCPSyn && !probeACK && p.flags()&craft.TCPSyn != 0:
			// A SYN without ACK carries no acknowledgment to check: the
			// ports alone tie it to the probe, as nmap's SYN scan does.
			r.Reason = SplitHandshakeSyn
		case t.Flags&craft.TCPRst != 0 && probeACK && t.Seq == p.Ack:
			r.Reason = Rst
		case t.Flags&craft.TCPRst != 0 && !probeACK && (acked || t.Flags&craft.TCPAck == 0 && t.Ack == 0):
			r.Reason = Rst
		default:
			return Unrelated, -1, r
		}
		return Answer, i, r
	case d.Layers&craft.LayerUDP != 0:
		u := &d.UDP
		if i := m.lookup(craft.ProtoUDP, ip.Src, ip.Dst, u.SrcPort, u.DstPort); i >= 0 && m.sentWith(i, ip.ID) {
			return ProbeCopy, i, r
		}
		if i := m.lookup(craft.ProtoUDP, ip.Dst, ip.Src, u.DstPort, u.SrcPort); i >= 0 {
			r.Reason = UDPReply
			return Answer, i, r
		}
	case d.Layers&craft.LayerICMP != 0:
		c := &d.ICMP
		switch {
		case c.Type == craft.ICMPEcho:
			// The IP ID too: a Paris traceroute holds the echo's identity
			// (and so its checksum) and tells its probes apart by IP ID; a
			// later hop's copy taken for an earlier one would time that
			// one from the wrong send.
			if i := m.lookup(craft.ProtoICMP, ip.Src, ip.Dst, c.ID(), c.Seq()); i >= 0 && m.sentWith(i, ip.ID) {
				return ProbeCopy, i, r
			}
		case c.Type == craft.ICMPEchoReply:
			if i := m.lookup(craft.ProtoICMP, ip.Dst, ip.Src, c.ID(), c.Seq()); i >= 0 {
				r.Reason = EchoReply
				return Answer, i, r
			}
		case c.IsError():
			return m.matchError(d, r)
		}
	case d.Layers&craft.LayerICMPv6 != 0:
		c := &d.ICMPv6
		switch {
		case c.Type == craft.ICMPv6EchoRequest:
			if i := m.lookup(craft.ProtoICMPv6, ip.Src, ip.Dst, c.ID(), c.Seq()); i >= 0 {
				return ProbeCopy, i, r
			}
		case c.Type == craft.ICMPv6EchoReply:
			if i := m.lookup(craft.ProtoICMPv6, ip.Dst, ip.Src, c.ID(), c.Seq()); i >= 0 {
				r.Reason = EchoReply
				return Answer, i, r
			}
		case c.IsError():
			return m.matchError6(d, r)
		}
	default:
		// A fragment of a probe without its transport header: IPv6 ones
		// are known by their Fragment identification; IPv4 ones are not
		// matched.
		if i := m.fragProbe(&d.Datagram); i >= 0 {
			return ProbeFragment, i, r
		}
	}
	return Unrelated, -1, r
}

// ipAddrs are the addresses and IP ID of a datagram of either family.
type ipAddrs struct {
	Src, Dst netip.Addr
	ID       uint16 // IPv4 only
}

func addrsOf(g *craft.Datagram) ipAddrs {
	if g.Layers&craft.LayerIPv6 != 0 {
		return ipAddrs{Src: g.IPv6.Src, Dst: g.IPv6.Dst}
	}
	return ipAddrs{Src: g.IPv4.Src, Dst: g.IPv4.Dst, ID: g.IPv4.ID}
}

// quotedProbe finds the probe a quoted datagram (either family) is: its
// addresses, protocol and ports, and for TCP its sequence number, for UDP
// over IPv4 its IP ID, for an echo its identifier and sequence.
func (m *Matcher) quotedProbe(q *craft.Datagram) int {
	qip := addrsOf(q)
	i := -1
	switch {
	case q.Layers&craft.LayerTCP != 0:
		i = m.lookup(craft.ProtoTCP, qip.Src, qip.Dst, q.TCP.SrcPort, q.TCP.DstPort)
		if i >= 0 && q.TCP.Seq != m.probes[i].Seq {
			i = -1
		}
	case q.Layers&craft.LayerUDP != 0:
		i = m.lookup(craft.ProtoUDP, qip.Src, qip.Dst, q.UDP.SrcPort, q.UDP.DstPort)
		if i >= 0 && !m.sentWith(i, qip.ID) {
			i = -1
		}
	case q.Layers&craft.LayerICMP != 0:
		i = m.lookup(craft.ProtoICMP, qip.Src, qip.Dst, q.ICMP.ID(), q.ICMP.Seq())
	case q.Layers&craft.LayerICMPv6 != 0:
		i = m.lookup(craft.ProtoICMPv6, qip.Src, qip.Dst, q.ICMPv6.ID(), q.ICMPv6.Seq())
	}
	return i
}

// matchError6 matches an ICMPv6 error (RFC 4443 §3) through the packet it
// quotes, past any extension headers, as matchError does for ICMP.
func (m *Matcher) matchError6(d *craft.Decoded, r Reply) (Kind, int, Reply) {
	e, ok := ErrorReply6(d, r.Time)
	if !ok {
		return Unrelated, -1, r
	}
	if i := m.quotedProbe(&d.Quoted); i >= 0 {
		return Answer, i, e
	}
	if i := m.fragProbe(&d.Quoted); i >= 0 {
		return Answer, i, e
	}
	return Unrelated, -1, r
}

// ErrorReply6 reads an ICMPv6 error that quotes an IPv6 packet (RFC 4443
// §3) as a Reply received at at: who sent it, the reason with its code,
// Packet Too Big's MTU, a parameter problem's pointer, and the hop limit
// the quote holds. ok is false for anything else (NDP, echo, an error
// quoting nothing decodable).
func ErrorReply6(d *craft.Decoded, at time.Time) (r Reply, ok bool) {
	if d.Layers&craft.LayerICMPv6 == 0 || !d.ICMPv6.IsError() || d.Quoted.Layers&craft.LayerIPv6 == 0 {
		return r, false
	}
	c := &d.ICMPv6
	r = Reply{From: d.IPv6.Src, Code: c.Code, Time: at}
	r.QuotedTTL, _ = d.Quoted.IPv6.HopLimit.Get()
	switch {
	case c.Type == craft.ICMPv6Unreachable && c.Code == 4: // port unreachable
		r.Reason = ICMPPortUnreachable
	case c.Type == craft.ICMPv6Unreachable:
		r.Reason = ICMPUnreachable
	case c.Type == craft.ICMPv6PacketTooBig:
		r.Reason, r.MTU = ICMPPacketTooBig, c.Rest
	case c.Type == craft.ICMPv6TimeExceeded && c.Code == 1: // fragment reassembly time exceeded
		r.Reason = ICMPReassemblyExceeded
	case c.Type == craft.ICMPv6TimeExceeded:
		r.Reason = ICMPTTLExceeded
	case c.Type == craft.ICMPv6ParamProblem:
		r.Reason, r.Pointer = ICMPParamProblem, c.Rest
	default:
		return r, false
	}
	return r, true
}

// matchError matches an ICMP error through the datagram it quotes: the
// quoted source and destination are the probe's, and so are the protocol,
// the IP ID and the ports (or the echo identifier and sequence).
func (m *Matcher) matchError(d *craft.Decoded, r Reply) (Kind, int, Reply) {
	q := &d.Quoted
	if q.Layers&craft.LayerIPv4 == 0 {
		return Unrelated, -1, r
	}
	r.Code, r.QuotedID = d.ICMP.Code, q.IPv4.ID
	r.QuotedTTL, _ = q.IPv4.TTL.Get()
	i := m.quotedProbe(q)
	if i < 0 {
		return Unrelated, -1, r
	}
	c := &d.ICMP
	switch {
	case c.Type == craft.ICMPUnreachable && c.Code == craft.CodePortUnreachable:
		r.Reason = ICMPPortUnreachable
	case c.Type == craft.ICMPUnreachable && c.Code == craft.CodeFragNeeded:
		r.Reason, r.MTU = ICMPFragNeeded, uint32(c.MTU())
	case c.Type == craft.ICMPUnreachable:
		r.Reason = ICMPUnreachable
	case c.Type == craft.ICMPTimeExceeded && c.Code == craft.CodeReassemblyExceeded:
		r.Reason = ICMPReassemblyExceeded
	case c.Type == craft.ICMPTimeExceeded:
		r.Reason = ICMPTTLExceeded
	case c.Type == craft.ICMPParamProblem:
		r.Reason, r.Pointer = ICMPParamProblem, c.Rest>>24 // RFC 792: the pointer is the first octet after the checksum
	default:
		return Unrelated, -1, r
	}
	return Answer, i, r
}

// flags are the probe's control bits: a zero Probe is a SYN.
func (p *Probe) flags() uint8 {
	if p.Flags == 0 && p.Scan == ScanSYN {
		return craft.TCPSyn
	}
	return p.Flags
}

// seqLen is the sequence space the probe takes: its data, and one each for
// SYN and FIN (RFC 9293 §3.4, SEG.LEN).
func (p *Probe) seqLen() uint32 {
	n := uint32(p.Len)
	if p.flags()&craft.TCPSyn != 0 {
		n++
	}
	if p.flags()&craft.TCPFin != 0 {
		n++
	}
	return n
}

// ScanType is how the answers to a TCP probe are read: nmap's scan types,
// which differ in the control bits they send.
type ScanType uint8

// Scan types.
const (
	// ScanSYN (nmap -sS): SYN|ACK open, RST closed, nothing or an ICMP
	// unreachable filtered.
	ScanSYN ScanType = iota
	// ScanACK (nmap -sA): an ACK draws a RST from open and closed ports
	// alike (RFC 9293 §3.10.7.1): RST unfiltered, nothing filtered.
	ScanACK
	// ScanWindow (nmap -sW): an ACK scan that reads the RST's window: some
	// systems answer from an open port with a non-zero window.
	ScanWindow
	// ScanFIN (nmap -sF, -sN, -sX): a segment with neither SYN, ACK nor
	// RST is answered with RST by a closed port and dropped by an open one
	// (RFC 9293 §3.10.7.2): RST closed, nothing open|filtered.
	ScanFIN
	// ScanNone: a RST, which nothing answers (RFC 9293 §3.10.7): there is
	// no state to learn.
	ScanNone
)

var scanNames = [...]string{"SYN", "ACK", "window", "FIN/null/Xmas", "none"}

func (s ScanType) String() string {
	if int(s) < len(scanNames) {
		return scanNames[s]
	}
	return fmt.Sprintf("scan(%d)", uint8(s))
}

// ScanOf is how a probe with control bits flags is read: with ACK an ACK
// scan (window: the window scan), with SYN a SYN scan, with RST nothing,
// otherwise a FIN scan. A SYN that also carries FIN is a SYN scan whose
// silent ports may be open: Linux drops SYN|FIN in LISTEN.
func ScanOf(flags uint8, window bool) ScanType {
	switch {
	case flags&craft.TCPRst != 0:
		return ScanNone
	case flags&craft.TCPAck != 0 && window:
		return ScanWindow
	case flags&craft.TCPAck != 0:
		return ScanACK
	case flags&craft.TCPSyn != 0:
		return ScanSYN
	}
	return ScanFIN
}

// ClassifyProbe says what a reply means for the probe that drew it: the
// state nmap gives (nmap's "Port Scanning Techniques"; scan_engine_raw.cc).
// Who answered is part of the answer: only the target itself can say that a
// port is closed or that it is up. An ICMP or ICMPv6 port unreachable from
// the target closes a UDP port; the same error from another host — a
// router or firewall on the path — says only that something there refused
// the probe: filtered.
//
// TCP SYN scan: SYN-ACK open, a SYN without ACK (a split handshake) open,
// RST closed, any ICMP error or nothing filtered. ACK, window, FIN/null/Xmas scans: see ScanType. UDP: a UDP
// reply open, port unreachable from the target closed, any other ICMP
// error filtered, nothing open|filtered (unresolved while the host was
// rate-limiting). ICMP echo: a reply up; a port or protocol unreachable
// from the target itself up too (the host answered; nmap's host discovery
// reads it so), any other error unreachable, nothing filtered.
func ClassifyProbe(p *Probe, r *Reply) State {
	fromTarget := r.FromTarget(p)
	switch p.Proto {
	case craft.ProtoTCP:
		switch p.Scan {
		case ScanACK:
			if r.Reason == Rst {
				return Unfiltered
			}
			return Filtered
		case ScanWindow:
			switch {
			case r.Reason == Rst && r.Window > 0:
				return Open
			case r.Reason == Rst:
				return Closed
			}
			return Filtered
		case ScanFIN:
			switch r.Reason {
			case Rst:
				return Closed
			case NoResponse:
				return OpenFiltered
			}
			return Filtered
		case ScanNone:
			return Filtered
		}
		switch r.Reason {
		case SynAck, SplitHandshakeSyn:
			return Open
		case Rst:
			return Closed
		}
		return Filtered
	case craft.ProtoUDP:
		switch r.Reason {
		case UDPReply:
			return Open
		case ICMPPortUnreachable:
			if fromTarget {
				return Closed
			}
		case NoResponse:
			return OpenFiltered
		case ICMPRateLimited:
			return Unresolved
		}
		return Filtered
	default:
		switch {
		case r.Reason == EchoReply:
			return Up
		case r.Reason == NoResponse:
			return Filtered
		case fromTarget && (r.Reason == ICMPPortUnreachable || r.Reason == ICMPUnreachable && p.Dst.Is4() && r.Code == craft.CodeProtoUnreachable):
			return Up
		}
		return Unreachable
	}
}

// FromTarget says whether the reply came from the probe's destination
// itself, rather than from another host on the path (a router, a
// firewall). A missing reply is from nobody.
func (r *Reply) FromTarget(p *Probe) bool {
	return r.Reason != NoResponse && r.From.IsValid() && r.From.Unmap() == p.Dst.Unmap()
}
