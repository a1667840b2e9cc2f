package craft_test

import (
	"errors"
	"slices"
	"strings"

	"github.com/rawcraft/rawcraft/craft"
)

// The reviewed list of differences between rawcraft's reading of a packet
// and tshark's (4.0) that the differential harness (differential_test.go)
// accepts. Each entry names the compared fields, the narrow condition
// under which the two differ, and why; where tshark is wrong, the RFC
// sentence that says so. Anything else the harness finds is a fault to fix
// in craft.

// tsharkDifference is one justified difference.
type tsharkDifference struct {
	fields []string // the compared keys (see diffKeys), "q." ones included when named; "*" for every key
	when   string   // the condition, in words
	match  func(x *disagreement) bool
	why    string // the reason; where tshark is wrong, the RFC's words
}

// justify returns the entry that explains x, or nil.
func justify(x *disagreement) *tsharkDifference {
	for _, d := range tsharkDifferences {
		for _, f := range d.fields {
			if (f == x.key || f == "*") && d.match(x) {
				return d
			}
		}
	}
	return nil
}

// Conditions the entries share.

func (x *disagreement) has(m mutation) bool { return x.c.gp.mut&m != 0 }

// errLayer is the layer rawcraft's decode error names ("" for none).
func (x *disagreement) errLayer() string {
	var pe *craft.ParseError
	if errors.As(x.c.err, &pe) {
		return pe.Layer
	}
	return ""
}

func (x *disagreement) errField() string {
	var pe *craft.ParseError
	if errors.As(x.c.err, &pe) {
		return pe.Field
	}
	return ""
}

// ipOptionLie: rawcraft found an IPv4 option whose length is below 2, below
// its kind's floor, or past the header (RFC 791 §3.1), as Linux's
// ip_options_compile does.
func (x *disagreement) ipOptionLie() bool {
	return x.errLayer() == "IPv4" && (x.errField() == "option length" || x.errField() == "options")
}

// lastVerdicts returns the two verdicts on the last TCP option compared
// (see alignOptions), "" where a side has none.
func (x *disagreement) lastVerdicts() (ours, theirs string) {
	n := len(x.ours)
	if n == 0 {
		return "", ""
	}
	if n <= len(x.theirs) {
		theirs = x.theirs[n-1]
	}
	return x.ours[n-1], theirs
}

func (x *disagreement) theirsEmpty() bool { return len(x.theirs) == 0 }
func (x *disagreement) oursEmpty() bool   { return len(x.ours) == 0 }
func (x *disagreement) tsharkBad() bool   { return x.c.theirs["verdict.bad"][0] == "true" }

// ipOption returns the first IPv4 option of one of kinds in the outer
// header, whole, or nil.
func (x *disagreement) ipOption(kinds ...uint8) []byte {
	opts := x.c.d.IPv4.Options
	if x.c.d.Layers&craft.LayerIPv4 == 0 {
		return nil
	}
	for off := 0; off < len(opts); {
		o, next, err := craft.NextOption(opts, off)
		if err != nil || o.Kind == craft.IPOptEOL {
			return nil
		}
		for _, k := range kinds {
			if o.Kind == k {
				return opts[off:next]
			}
		}
		off = next
	}
	return nil
}

// cutInFixedHeader: the frame ends inside a fixed header rawcraft reads
// only whole (IPv4's 20 bytes, IPv6's 40, ARP's 28).
func (x *disagreement) cutInFixedHeader() bool {
	f := x.errField()
	return errors.Is(x.c.err, craft.ErrTruncated) && (f == "header" || f == "packet") &&
		(x.errLayer() == "IPv4" || x.errLayer() == "IPv6" || x.errLayer() == "ARP")
}

var allARP = []string{"arp.hw.type", "arp.proto.type", "arp.hw.size", "arp.proto.size", "arp.opcode",
	"arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4", "verdict.bad", "eth.trailer", "eth.padding"}

// withQ returns keys and their quoted ("q.") forms.
func withQ(keys ...string) []string {
	out := append([]string(nil), keys...)
	for _, k := range keys {
		out = append(out, "q."+k)
	}
	return out
}

// tsharkDifferences: the justified differences. First those that stay
// (rawcraft is right, or both are and say it differently); then, in their
// own section, faults that other branches of issue 24 (item 3) are fixing,
// which the lead removes as those branches are merged.
var tsharkDifferences = []*tsharkDifference{
	{
		fields: withQ("tcp.option.verdict", "tcp.options.sack_le", "tcp.options.sack_re", "tcp.options.timestamp.tsval",
			"tcp.options.timestamp.tsecr", "verdict.bad"),
		when: "a TCP option that fits the header's option area but runs past the bytes present (a first fragment, a cut frame)",
		match: func(x *disagreement) bool {
			return slices.Contains(x.c.optVerdicts[""], "cut") || slices.Contains(x.c.optVerdicts["q."], "cut")
		},
		why: "the option is not malformed: its bytes are in the next fragment, or were not captured. rawcraft says it is cut " +
			"where the bytes end and reads no field of it; tshark reads the fields that fit (a SACK block, a TSval) and calls " +
			"the option malformed when the next one is missing",
	},
	{
		fields: []string{"eth.trailer"},
		when:   "a frame of 64 bytes or more ends in 4 or more bytes past the IP packet",
		match: func(x *disagreement) bool {
			return len(x.ours) == 1 && len(x.c.d.Raw) >= 64 && (len(x.theirs) == 0 && len(x.ours[0]) == len("00:00:00:00") ||
				len(x.theirs) == 1 && len(x.ours[0]) == len(x.theirs[0])+len(":00:00:00:00") && strings.HasPrefix(x.ours[0], x.theirs[0]))
		},
		why: "tshark guesses that the last 4 bytes of such a frame are the Ethernet FCS (its eth.fcs); a pcap of link type ETHERNET written " +
			"by rawcraft, or captured by Linux without rx-fcs, carries no FCS, so rawcraft shows every byte past the IP packet as trailer",
	},
	{
		fields: withQ("tcp.checksum.status", "udp.checksum.status", "icmp.checksum.status", "icmpv6.checksum.status")[4:],
		when:   "the quoted datagram of an ICMP error holds every byte its transport checksum covers",
		match: func(x *disagreement) bool {
			return len(x.theirs) > 0 && !strings.Contains(strings.Join(x.theirs, ""), "0") && !strings.Contains(strings.Join(x.theirs, ""), "1")
		},
		why: "tshark never verifies a checksum inside an ICMP error (status 2, unverified); rawcraft checks a quoted datagram that is whole " +
			"(Linux quotes up to 576 bytes, RFC 1812 §4.3.2.3), and says unverifiable when it is cut or a fragment",
	},
	{
		fields: []string{"tcp.option.verdict", "q.tcp.option.verdict"},
		when:   "a TCP option of a kind the IANA registry names that tshark 4.0 does not dissect (9, 14, 15, 24, …): tshark says unknown",
		match: func(x *disagreement) bool {
			k := x.c.cutOption(strings.HasPrefix(x.key, "q."))
			o, th := x.lastVerdicts()
			return len(k) > 0 && th == "unknown" && o != "unknown" && o != "" &&
				!strings.HasPrefix(craft.TCPOptionName(k[0]), "unknown kind")
		},
		why: "rawcraft names every kind of IANA's tcp-parameters registry and checks its length against it; tshark 4.0 has a dissector " +
			"for fewer and calls the others unknown, whatever their length",
	},
	{
		fields: []string{"tcp.option.verdict", "q.tcp.option.verdict"},
		when:   "a TCP Fast Open option (34, or 254 with ExID 0xF989) whose length is not 2 or an even number from 6 to 18 (4 to 20 for 254)",
		match: func(x *disagreement) bool {
			k := x.c.cutOption(strings.HasPrefix(x.key, "q."))
			o, th := x.lastVerdicts()
			return len(k) >= 2 && o == "bad" && th == "ok" &&
				(k[0] == craft.TCPOptFastOpen || k[0] == craft.TCPOptExp2 && len(k) >= 4 && k[2] == 0xf9 && k[3] == 0x89)
		},
		why: "tshark 4.0 reads a cookie of any length. RFC 7413 §4.1.1 gives the Length as \"1 byte: range 6 to 18 (bytes); " +
			"limited by remaining space in the options field. The number MUST be even.\" and the Cookie as \"0, or 4 to 16 bytes " +
			"(Length - 2)\" (a Length of 2: a cookie request); Linux ignores a cookie outside 4 to 16 bytes or of odd length " +
			"(tcp_parse_fastopen_option)",
	},
	{
		fields: []string{"tcp.option.verdict", "q.tcp.option.verdict"},
		when:   "a SACK option of length 2: no block",
		match: func(x *disagreement) bool {
			k := x.c.cutOption(strings.HasPrefix(x.key, "q."))
			o, th := x.lastVerdicts()
			return len(k) == 2 && k[0] == craft.TCPOptSACK && k[1] == 2 && o == "bad" && th == "ok"
		},
		why: "tshark 4.0 accepts a SACK option without a block. RFC 2018 §3: \"A SACK option that specifies n blocks will have a " +
			"length of 8*n+2 bytes\", and the option is there to report blocks; Linux ignores one shorter than 10 bytes " +
			"(tcp_parse_options: opsize >= TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK)",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "tshark raises an exception inside the TCP options (an option running past them, a SACK without a block) and rawcraft marks that option",
		match: func(x *disagreement) bool {
			// Every option rawcraft read, also those past the first one
			// tshark calls unknown (kinds 14, 15, 24…), where the
			// compared verdicts stop.
			v := strings.Join(append(x.c.optVerdicts[""], x.c.optVerdicts["q."]...), " ")
			return x.tsharkBad() && x.c.err == nil && (strings.Contains(v, "bad") || strings.Contains(v, "unknown"))
		},
		why: "a TCP option whose length lies is a remark on that option, not on the segment: Linux stops reading options there and keeps " +
			"the segment (tcp_parse_options), so rawcraft's verdict stays on the option (compared as tcp.option.verdict)",
	},
	{
		fields: append([]string{"verdict.bad"}, withQ("tcp.ack", "tcp.flags", "tcp.window_size_value", "tcp.checksum", "tcp.checksum.status",
			"tcp.urgent_pointer", "tcp.hdr_len", "tcp.option_kind", "tcp.option.verdict")[9:]...),
		when: "rawcraft's decode error lies in the datagram an ICMP error quotes",
		match: func(x *disagreement) bool {
			return (x.key != "verdict.bad" || !x.tsharkBad()) && strings.HasPrefix(x.errLayer(), "quoted ")
		},
		why: "tshark dissects a quoted datagram in its error-packet mode, which never calls it malformed; rawcraft names the quoted field " +
			"that contradicts the quote (a data offset of 0 in the zero padding RFC 4884 §4.1 adds to a short quote, say)",
	},
	{
		fields: []string{"verdict.bad", "summary.transport"},
		when:   "the IPv4 total length leaves no byte for the TCP, UDP or ICMP header the protocol field announces",
		match: func(x *disagreement) bool {
			return x.errField() == "header" && errors.Is(x.c.err, craft.ErrMalformed) &&
				int(x.c.d.IPv4.TotalLen.Or(0)) == 4*int(x.c.d.IPv4.IHL.Or(0)) && x.c.d.IPv4.FragOff == 0
		},
		why: "tshark does not call a transport dissector for an empty IPv4 payload and says nothing; rawcraft says the header is missing, " +
			"as the receiver finds it (RFC 768: the minimum length is eight; Linux counts such a datagram in UDP InErrors or TCP's drops)",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "an ICMP message cut by the IPv4 total length inside its 8-byte header, of a type whose second word tshark does not read (10, unassigned types)",
		match: func(x *disagreement) bool {
			return !x.tsharkBad() && x.errLayer() == "ICMP" && x.errField() == "header" && errors.Is(x.c.err, craft.ErrMalformed) &&
				x.c.d.TransportLen > 0 && x.c.d.TransportLen < craft.ICMPHeaderLen
		},
		why: "every ICMP message starts with 8 bytes: type, code, checksum and a 32-bit word (RFC 792's formats; RFC 1256's router " +
			"solicitation has a reserved word there); Linux's icmp_rcv pulls those 8 bytes first and drops a shorter message (counted in " +
			"InErrors). tshark says malformed only when it reads a field of the missing word (an echo's identifier), and nothing for " +
			"types whose word it skips",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "an IPv4 packet of total length 0 (read as segmentation offload) whose capture ends inside its TCP or UDP header",
		match: func(x *disagreement) bool {
			return !x.tsharkBad() && x.c.d.LenFromCapture && errors.Is(x.c.err, craft.ErrTruncated) &&
				(x.errLayer() == "TCP" || x.errLayer() == "UDP")
		},
		why: "with no total length to go by, the frame holds less than the header the protocol field announces: rawcraft says the capture " +
			"is cut there; tshark, which presumes TSO and takes the captured bytes for the datagram, does not call the transport " +
			"dissector for an empty payload and shows a cut header's fields without a word",
	},
	{
		fields: withQ("ipv6.version", "ipv6.tclass", "ipv6.flow", "ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.src", "ipv6.dst")[8:],
		when:   "an ICMPv4 error whose quote starts with version 6",
		match: func(x *disagreement) bool {
			return x.oursEmpty() && x.c.d.Layers&craft.LayerICMP != 0 && x.errLayer() == "quoted IPv4" && x.errField() == "version" &&
				len(x.c.d.Payload) > 0 && x.c.d.Payload[0]>>4 == 6
		},
		why: "an ICMPv4 error quotes an IPv4 datagram: RFC 792 draws its data as \"Internet Header + 64 bits of Original Data Datagram\", " +
			"the internet header being IPv4's (an IPv6 packet's errors are ICMPv6's, RFC 4443); rawcraft says the quoted version is " +
			"not 4, tshark reads the bytes as an IPv6 header",
	},
	{
		fields: []string{"ip.version"},
		when:   "an IPv4 header (EtherType 0x0800) whose version was forced to 6: tshark reads it as IPv6 and what that announces",
		match: func(x *disagreement) bool {
			return x.has(mutVersion) && x.errLayer() == "IPv4" && x.errField() == "version" &&
				len(x.ours) == 1 && x.ours[0] == "6" && len(x.theirs) > 1 && x.theirs[0] == "6"
		},
		why: "tshark 4.0's IP dissector hands a version-6 header to its IPv6 dissector and shows the version of whatever IP header " +
			"that reading announces next; rawcraft stops at the version. RFC 791 §3.1: \"The Version field indicates the format of " +
			"the internet header. This document describes version 4.\" Linux drops such a packet (ip_rcv_core: iph->version != 4 " +
			"goes to inhdr_error)",
	},
	{
		fields: []string{"*"},
		when:   "an IPv6 Hop-by-Hop or Destination option's length runs past its header",
		match: func(x *disagreement) bool {
			return (x.key != "verdict.bad" || !x.tsharkBad()) && x.errLayer() == "IPv6 ext" && x.errField() == "option length"
		},
		why: "tshark 4.0 reads such an option on into the headers that follow and says nothing. RFC 8200 §4.2: the options are " +
			"carried inside the header, whose Hdr Ext Len gives its length; Linux drops the packet (ip6_parse_tlv: optlen > len)",
	},
	{
		fields: withQ("tcp.checksum.status", "udp.checksum.status", "icmp.checksum.status", "icmpv6.checksum.status"),
		when:   "the IP length claims more bytes than the frame (or the quote) holds, so the bytes the checksum covers are not all there",
		match: func(x *disagreement) bool {
			g := &x.c.d.Datagram
			if strings.HasPrefix(x.key, "q.") {
				g = &x.c.d.Quoted
			}
			return len(x.ours) == 1 && x.ours[0] == "2" && g.Truncated
		},
		why: "rawcraft says unverifiable; tshark sums the bytes present and calls the result good or bad. A checksum over bytes that " +
			"are missing cannot be checked (RFC 9293 §3.1 and RFC 768 sum the whole segment)",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "a first fragment whose IPv6 header chain ends in a later fragment (RFC 7112)",
		match: func(x *disagreement) bool {
			return !x.tsharkBad() && x.c.d.Frag == craft.FirstFragment && x.errLayer() == "IPv6 ext" && errors.Is(x.c.err, craft.ErrTruncated)
		},
		why: "tshark does not check RFC 7112; rawcraft says the chain stops short. RFC 7112 §5: \"When a host fragments an IPv6 " +
			"datagram, it MUST include the entire IPv6 Header Chain in the First Fragment.\"; Linux answers parameter problem code 3",
	},
	{
		fields: []string{"verdict.bad", "ipv6.opt.type", "ipv6.opt.length", "ipv6.opt.jumbo", "tcp.checksum.status", "udp.checksum.status", "icmpv6.checksum.status"},
		when:   "a Jumbo Payload option beside a payload length other than 0, or whose Jumbo Payload Length is not above 65535",
		match: func(x *disagreement) bool {
			f := x.errField()
			if strings.HasSuffix(x.key, "checksum.status") && !equalStrings(x.ours, []string{"2"}) {
				return false // rawcraft says unverifiable: the lengths disagree
			}
			return (x.key != "verdict.bad" || !x.tsharkBad()) && x.errLayer() == "IPv6 ext" && (f == "Jumbo Payload" || f == "Jumbo Payload Length") &&
				errors.Is(x.c.err, craft.ErrMalformed)
		},
		why: "tshark 4.0 accepts both (and reads its options on into the headers behind). RFC 2675 §3: \"The Payload Length field in the " +
			"IPv6 header must be set to zero in every packet that carries the Jumbo Payload option\"; §2: the Jumbo Payload Length " +
			"must be greater than 65,535 (RFC 1883 §4.3, where the option was first defined: \"it must be greater than 65,535\"); a receiver that finds either wrong sends a parameter problem (Linux's ipv6_hop_jumbo does, " +
			"claim jumbo-bad, proved in the lab)",
	},
	{
		fields: []string{"verdict.bad", "ip.opt.invalid"},
		when:   "an IPv4 option of a kind rawcraft does not name has a length its own RFC forbids (Quick-Start 25 not 8 bytes, MTU reply 12 not 4, …)",
		match: func(x *disagreement) bool {
			if x.key == "verdict.bad" && (x.c.err != nil || !x.tsharkBad()) || x.ipOptionLie() {
				return false
			}
			for off, o := 0, x.c.d.IPv4.Options; off < len(o); {
				op, next, err := craft.NextOption(o, off)
				if err != nil || op.Kind == craft.IPOptEOL {
					break
				}
				if op.Kind != craft.IPOptNOP && op.Kind != craft.IPOptRR && op.Kind != craft.IPOptTimestamp {
					return true
				}
				off = next
			}
			return false
		},
		why: "rawcraft checks every option's length against the header (RFC 791's type-length-value form) and describes the kinds it " +
			"does not name by number; tshark knows each kind's own length",
	},
	{
		fields: []string{"tcp.len", "tcp.checksum.status", "tcp.checksum", "tcp.option.verdict"},
		when:   "a TCP data offset forced below 5 or past the segment, or an IHL that puts the TCP header elsewhere: rawcraft says malformed",
		match: func(x *disagreement) bool {
			if x.has(mutDataOff) && x.c.err != nil {
				return true
			}
			return x.c.d.Layers&craft.LayerTCP != 0 && x.c.d.TCP.DataOffset.Or(5) < 5 || x.errLayer() == "TCP" && x.errField() == "data offset" ||
				x.has(mutIHL) && x.c.err != nil
		},
		why: "the data length of a segment whose header length is impossible has no meaning: rawcraft counts from the 20-byte fixed " +
			"header, tshark from its own guess",
	},
	{
		fields: []string{"tcp.len"},
		when:   "tshark gives no tcp.len",
		match:  func(x *disagreement) bool { return x.theirsEmpty() },
		why:    "tshark 4.0 leaves tcp.len out of some segments (those whose sequence analysis it skips); there is nothing to compare",
	},
	{
		fields: []string{"ip.dst"},
		when:   "a Loose or Strict Source Route option is present: tshark shows its last address",
		match: func(x *disagreement) bool {
			// Every value tshark shows that is not the header's is the
			// last address of one of the source route options.
			lasts, oddRoute := map[string]bool{}, false
			for off, o := 0, x.c.d.IPv4.Options; off < len(o); {
				op, next, err := craft.NextOption(o, off)
				if err != nil || op.Kind == craft.IPOptEOL {
					break
				}
				if (op.Kind == craft.IPOptLSRR || op.Kind == craft.IPOptSSRR) && op.Len >= 7 && (op.Len-3)%4 != 0 {
					oddRoute = true // tshark takes no address from a route whose length is not 3+4n
				}
				if (op.Kind == craft.IPOptLSRR || op.Kind == craft.IPOptSSRR) && op.Len >= 7 {
					n := (op.Len - 3) / 4
					lasts[netipFrom4(o[off+3+4*(n-1):off+3+4*n])] = true
				}
				off = next
			}
			if x.ipOption(craft.IPOptLSRR, craft.IPOptSSRR) == nil || len(x.ours) != 1 {
				return false
			}
			if len(x.theirs) == 0 { // tshark stopped at a malformed option before it added ip.dst, or found no address in the route
				return x.ipOptionLie() || len(lasts) == 0 || oddRoute || tsharkStopped(x.c.theirs)
			}
			for _, v := range x.theirs {
				if v != x.ours[0] && !lasts[v] {
					return false
				}
			}
			return true
		},
		why: "tshark puts the route's final destination in ip.dst; rawcraft shows the Destination Address field as it stands, the next hop " +
			"of the route (RFC 791 §3.1: each node of a source route replaces the destination address with the route's next address)",
	},
	{
		fields: withQ("ip.version", "ip.hdr_len", "ip.dsfield", "ip.len", "ip.id", "ip.flags.rb", "ip.flags.df", "ip.flags.mf",
			"ip.frag_offset", "ip.ttl", "ip.proto", "ip.checksum", "ip.checksum.status", "ip.src", "ip.dst",
			"ipv6.version", "ipv6.tclass", "ipv6.flow", "ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.src", "ipv6.dst"),
		when: "the frame ends inside the fixed IPv4 or IPv6 header",
		match: func(x *disagreement) bool {
			return x.cutInFixedHeader() && x.oursEmpty()
		},
		why: "rawcraft shows no field of a fixed header it does not hold whole and says where it was cut; tshark shows the fields up to " +
			"the cut and calls the packet malformed",
	},
	{
		fields: []string{"icmp.ident", "icmp.seq", "icmpv6.echo.identifier", "icmpv6.echo.sequence_number"},
		when:   "an ICMP or ICMPv6 extended echo request or reply (types 42, 43; 160, 161; RFC 8335)",
		match: func(x *disagreement) bool {
			if strings.HasPrefix(x.key, "icmpv6.") {
				t := x.c.d.ICMPv6.Type
				return x.oursEmpty() && x.c.d.Layers&craft.LayerICMPv6 != 0 && (t == 160 || t == 161)
			}
			t := x.c.d.ICMP.Type
			return x.oursEmpty() && (t == 42 || t == 43)
		},
		why: "rawcraft does not read RFC 8335's extended echo (PROBE) messages: it shows their second word whole",
	},
	{
		fields: []string{"icmpv6.opt.type", "icmpv6.opt.length", "verdict.bad", "icmpv6.nd.target_address"},
		when:   "an ICMPv6 message of a type rawcraft does not read (inverse neighbor discovery 141/142, router renumbering 138, home agent 144-147, …)",
		match: func(x *disagreement) bool {
			t := x.c.d.ICMPv6.Type
			return x.c.d.Layers&craft.LayerICMPv6 != 0 && (x.c.err == nil || x.key != "verdict.bad") && t >= 128 && !craft.IsNDP(t) && t != 128 && t != 129 &&
				t != 130 && t != 131 && t != 132 && t != 143
		},
		why: "rawcraft shows the body of these messages as data; tshark decodes them, and calls random bodies malformed",
	},
	{
		fields: []string{"icmp.mpls.label", "icmp.mpls.exp", "icmp.mpls.s", "icmp.mpls.ttl"},
		when:   "an ICMP error without an RFC 4884 length whose byte 128 starts a version-2 extension structure with a good checksum",
		match: func(x *disagreement) bool {
			return x.theirsEmpty() && craft.ICMPExtLength(x.c.d.ICMP.Rest) == 0
		},
		why: "rawcraft reads such a structure, as RFC 4884 §5 asks of receivers facing the messages of routers older than it (MPLS " +
			"routers of RFC 4950 put it at byte 128 with no length); tshark reads extensions only where a length says",
	},
	{
		fields: []string{"verdict.bad", "ipv6.opt.type", "ipv6.opt.length", "ipv6.routing.type", "ipv6.routing.segleft",
			"tcp.checksum.status", "udp.checksum.status", "icmpv6.checksum.status"},
		when: "a Routing header of type 3 (RPL, RFC 6554) or 4 (segment routing, RFC 8754) whose type-specific data is random",
		match: func(x *disagreement) bool {
			for _, e := range x.c.d.Exts() {
				if e.Kind == craft.ProtoRouting && (e.RoutingType() == 3 || e.RoutingType() == 4) {
					return x.c.err == nil || x.key != "verdict.bad"
				}
			}
			return false
		},
		why: "rawcraft shows a Routing header's type-specific data as bytes and does not check it; tshark decodes RPL's compressed " +
			"addresses and the segment list, and calls the made-up data malformed",
	},

	{
		fields: []string{"*"},
		when:   "an extension header's Hdr Ext Len was forced to a value that lies, or an IPv4 IHL was and rawcraft says the packet is malformed or cut (or the verdicts differ)",
		match: func(x *disagreement) bool {
			return x.has(mutExtLen) || x.has(mutIHL) && (x.c.err != nil || x.key == "verdict.bad")
		},
		why: "past a header whose length lies, the chain is whatever the bytes happen to say: rawcraft stops where it finds the lie " +
			"(and says so), tshark reads on; neither reading of the rest is the packet's",
	},

	{
		fields: []string{"verdict.bad"},
		when:   "an IPv4 protocol or IPv6 next header rawcraft does not read (IGMP, GRE, ESP, AH, OSPF, IPv6 in IPv4, …) carries made-up data",
		match: func(x *disagreement) bool {
			return x.c.err == nil && x.c.d.Layers&(craft.LayerTCP|craft.LayerUDP|craft.LayerICMP|craft.LayerICMPv6) == 0
		},
		why: "rawcraft shows that payload as data; tshark dissects it, and calls the generator's random bytes malformed",
	},
	{
		fields: []string{"verdict.bad", "icmpv6.opt.type", "icmpv6.opt.length"},
		when:   "an NDP message holds an option of a type rawcraft does not read (route information 24, RDNSS 25, DNSSL 31, nonce 14, …) with made-up data",
		match: func(x *disagreement) bool {
			if x.c.err != nil || !craft.IsNDP(x.c.d.ICMPv6.Type) {
				return false
			}
			n, err := craft.ParseNDP(&x.c.d.ICMPv6, x.c.d.Payload)
			for off := 0; err == nil && off < len(n.Options); {
				o, next, oerr := craft.NextNDPOption(n.Options, off)
				if oerr != nil {
					return false
				}
				if o.Type > craft.NDPOptMTU {
					return true
				}
				off = next
			}
			return false
		},
		why: "rawcraft checks every NDP option's length (RFC 4861 §4.6) and names types 1 to 5; tshark decodes the other types' " +
			"contents and calls random contents malformed",
	},

	{
		fields: withQ("tcp.seq", "tcp.ack", "tcp.hdr_len", "tcp.flags", "tcp.window_size_value", "tcp.checksum", "tcp.checksum.status",
			"tcp.urgent_pointer", "tcp.len"),
		when: "a TCP header cut short (a first fragment, or a quote) of which tshark shows the ports only",
		match: func(x *disagreement) bool {
			g := &x.c.d.Datagram
			if strings.HasPrefix(x.key, "q.") {
				g = &x.c.d.Quoted
			}
			return x.theirsEmpty() && g.Layers&craft.LayerTCP != 0 && g.TransportLen < craft.TCPHeaderLen
		},
		why: "tshark reads the header length (byte 12) before it adds the sequence number and the rest, and shows nothing more when " +
			"the header is not whole; rawcraft shows every field whose bytes are there",
	},
	{
		fields: []string{"*"},
		when:   "an IPv4 protocol or IPv6 next header rawcraft does not read (IPv6 in IPv4, GRE, …): tshark decodes what it carries",
		match: func(x *disagreement) bool {
			return x.oursEmpty() && x.c.d.Layers&(craft.LayerIPv4|craft.LayerIPv6) != 0 &&
				x.c.d.Layers&(craft.LayerTCP|craft.LayerUDP|craft.LayerICMP|craft.LayerICMPv6) == 0 && x.c.d.Frag != craft.LaterFragment
		},
		why: "rawcraft shows such a payload as data",
	},
	{
		fields: []string{"*"},
		when:   "an NDP message carries a Redirected Header option (type 4): tshark decodes the packet inside it",
		match: func(x *disagreement) bool {
			if !strings.HasPrefix(x.key, "q.") && x.key != "verdict.bad" || !craft.IsNDP(x.c.d.ICMPv6.Type) || x.key == "verdict.bad" && x.c.err != nil {
				return false
			}
			n, err := craft.ParseNDP(&x.c.d.ICMPv6, x.c.d.Payload)
			for off := 0; err == nil && off < len(n.Options); {
				o, next, oerr := craft.NextNDPOption(n.Options, off)
				if oerr != nil {
					break
				}
				if o.Type == craft.NDPOptRedirected {
					return true
				}
				off = next
			}
			return false
		},
		why: "rawcraft names the option and counts its bytes (RFC 4861 §4.6.3) but does not decode the packet it holds",
	},
	{
		fields: withQ("ip.version", "ip.hdr_len", "ip.dsfield", "ip.len", "ip.id", "ip.flags.rb", "ip.flags.df", "ip.flags.mf",
			"ip.frag_offset", "ip.ttl", "ip.proto", "ip.checksum", "ip.checksum.status", "ip.src", "ip.dst",
			"ipv6.version", "ipv6.tclass", "ipv6.flow", "ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.src", "ipv6.dst")[23:],
		when: "the quote of an ICMP error ends inside the quoted IPv4 or IPv6 fixed header",
		match: func(x *disagreement) bool {
			return x.oursEmpty() && x.c.d.Quoted.Layers&(craft.LayerIPv4|craft.LayerIPv6) == 0
		},
		why: "as for the outer header: rawcraft shows no field of a fixed header it does not hold whole; tshark shows those present",
	},
	{
		fields: []string{"tcp.option.verdict", "q.tcp.option.verdict"},
		when:   "the frame (or the IP length) ends inside the TCP options",
		match: func(x *disagreement) bool {
			g := &x.c.d.Datagram
			if strings.HasPrefix(x.key, "q.") {
				g = &x.c.d.Quoted
			}
			return (g.Truncated || x.c.d.Frag == craft.FirstFragment || x.c.err != nil) && len(x.ours) > 0 && x.ours[len(x.ours)-1] == "bad"
		},
		why: "rawcraft says the last option runs past the bytes it has (a cut frame, or a first fragment that ends inside them); tshark reads the options the header length announces and " +
			"stops at the end of the bytes with a malformed packet (compared as verdict.bad)",
	},
	{
		fields: []string{"icmp.mpls.label", "icmp.mpls.exp", "icmp.mpls.s", "icmp.mpls.ttl"},
		when:   "tshark shows no RFC 4884 extension structure (no icmp.ext) where rawcraft finds one at the place the length field gives, with a good checksum",
		match: func(x *disagreement) bool {
			return x.theirsEmpty() && len(x.c.theirs["icmp.ext.version"]) == 0 && craft.ICMPExtLength(x.c.d.ICMP.Rest) != 0
		},
		why: "tshark 4.0 does not look for extensions in every ICMP error whose length field is set (not for codes it does not know, " +
			"nor, in these, for a parameter problem); RFC 4884 §4 defines the length field for destination unreachable, time exceeded " +
			"and parameter problem alike",
	},
	{
		fields: []string{"icmp.mpls.label", "icmp.mpls.exp", "icmp.mpls.s", "icmp.mpls.ttl"},
		when:   "the extension structure's checksum does not hold, and no RFC 4884 length field places it (or the IP length was forced to cut it)",
		match: func(x *disagreement) bool {
			g := &x.c.d.Datagram
			noLength := g.Layers&craft.LayerICMP != 0 && craft.ICMPExtLength(g.ICMP.Rest) == 0 ||
				g.Layers&craft.LayerICMPv6 != 0 && craft.ICMPv6ExtLength(g.ICMPv6.Rest) == 0
			return x.oursEmpty() && len(x.c.theirs["icmp.ext.checksum.status"]) > 0 && x.c.theirs["icmp.ext.checksum.status"][0] == "0" &&
				(noLength || x.has(mutIPLen))
		},
		why: "without a length field rawcraft takes the bytes at 128 for an extension structure only when its version and checksum " +
			"hold (the reading of older routers' messages the compatibility entry above describes), and Linux reads no structure " +
			"without a length at all (ip_icmp_error_rfc4884); a checksum that fails there says the bytes are quote. tshark reads a " +
			"structure and marks its checksum bad. Where a length field places the structure, both show it and its bad checksum",
	},
	{
		fields: []string{"ipv6.opt.type", "ipv6.opt.length", "ipv6.opt.jumbo", "ipv6.hopopts.nxt", "ipv6.hopopts.len",
			"ipv6.dstopts.nxt", "ipv6.dstopts.len", "ipv6.routing.nxt", "ipv6.routing.len", "ipv6.routing.type", "ipv6.routing.segleft",
			"ipv6.fraghdr.nxt", "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident"},
		when: "the IPv6 payload length claims more than the frame holds, or a first fragment's header chain is split (RFC 7112)",
		match: func(x *disagreement) bool {
			return x.c.d.Truncated || x.c.d.Frag == craft.FirstFragment && craft.ChainSplit(x.c.d.Raw[x.c.d.IPOffset:])
		},
		why: "the two stop reading an extension header that runs past the bytes at different places: rawcraft at the payload length, " +
			"tshark at the frame's end; past that point neither reading is the packet's",
	},

	{
		fields: []string{"tcp.checksum.status", "udp.checksum.status"},
		when:   "a source route option whose pointer is past its length (the route is done), below 4 or not on an address, or whose length is not 3+4n",
		match: func(x *disagreement) bool {
			for off, o := 0, x.c.d.IPv4.Options; off < len(o); {
				op, next, err := craft.NextOption(o, off)
				if err != nil || op.Kind == craft.IPOptEOL {
					break
				}
				if (op.Kind == craft.IPOptLSRR || op.Kind == craft.IPOptSSRR) && len(op.Data) >= 1 && (int(op.Data[0]) > op.Len || op.Data[0] < 4 || op.Data[0]%4 != 0 || op.Len < 7 || (op.Len-3)%4 != 0) {
					return true
				}
				off = next
			}
			return false
		},
		why: "rawcraft sums the Destination Address once the route is done: the last node has put the final destination there " +
			"(RFC 791 §3.1, the pointer past the length), and when the option is not a usable route; tshark, like tcpdump's " +
			"ip_finddst, takes the option's last address whatever the pointer says. (A pointer off an address is itself wrong: " +
			"Linux answers parameter problem.)",
	},
	{
		fields: withQ("tcp.ack", "tcp.hdr_len", "tcp.flags", "tcp.window_size_value", "tcp.checksum", "tcp.checksum.status",
			"tcp.urgent_pointer", "tcp.len", "tcp.option_kind", "tcp.option.verdict")[10:],
		when: "a TCP header quoted by an ICMPv4 error: tshark shows its ports and sequence number only",
		match: func(x *disagreement) bool {
			return x.theirsEmpty() && x.c.d.Quoted.Layers&craft.LayerIPv4 != 0 && x.c.d.Quoted.Layers&craft.LayerTCP != 0
		},
		why: "tshark's TCP dissector, in an ICMP error, adds the sequence number early and stops (ICMPv4 errors quote 8 bytes, RFC 792); " +
			"rawcraft shows every field the quote holds (Linux quotes up to 576 bytes, RFC 1812 §4.3.2.3)",
	},
	{
		fields: withQ("udp.srcport", "udp.dstport", "udp.length", "tcp.srcport", "tcp.dstport", "tcp.seq", "icmp.type", "icmp.code",
			"icmp.checksum", "icmp.ident", "icmpv6.type", "icmpv6.code", "icmpv6.checksum"),
		when: "the quote, or a cut frame or first fragment, ends inside the transport header",
		match: func(x *disagreement) bool {
			g := &x.c.d.Datagram
			if strings.HasPrefix(x.key, "q.") {
				g = &x.c.d.Quoted
			}
			return x.theirsEmpty() && g.TransportLen < map[bool]int{true: craft.UDPHeaderLen, false: craft.ICMPHeaderLen}[g.Layers&craft.LayerUDP != 0] &&
				g.Layers&(craft.LayerTCP|craft.LayerUDP|craft.LayerICMP|craft.LayerICMPv6) != 0
		},
		why: "rawcraft shows the fields whose bytes the quote holds; tshark shows none of a transport header it does not have whole",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "an ICMP address mask request or reply (17, 18) without its 4-byte mask (RFC 950)",
		match: func(x *disagreement) bool {
			t := x.c.d.ICMP.Type
			return x.c.err == nil && (t == craft.ICMPAddrMaskReq || t == craft.ICMPAddrMaskReply) && len(x.c.d.Payload) < 4
		},
		why: "rawcraft reads the identifier and sequence number and shows what follows as data; it does not check that the mask, " +
			"RFC 950's third word of this obsolete message (RFC 6918), is there",
	},
	{
		fields: []string{"verdict.bad", "ipv6.opt.type", "ipv6.opt.length"},
		when:   "a Hop-by-Hop or Destination option of a type rawcraft does not name (RPL 0x63, CALIPSO 0x07, …) holds made-up data",
		match: func(x *disagreement) bool {
			if x.c.err != nil && x.key == "verdict.bad" {
				return false
			}
			for _, e := range x.c.d.Exts() {
				for off := 0; e.IsOptions() && off < len(e.Data); {
					o, next, err := craft.NextIPv6Option(e.Data, off)
					if err != nil {
						break
					}
					if o.Type != craft.IPv6OptPad1 && o.Type != craft.IPv6OptPadN && o.Type != craft.IPv6OptRouterAlert && o.Type != craft.IPv6OptJumbo {
						return true
					}
					off = next
				}
			}
			return false
		},
		why: "rawcraft checks every option's length (RFC 8200 §4.2) and describes the unnamed ones by the action their type's two " +
			"high bits ask of a node; tshark decodes their contents and calls random contents malformed",
	},
	{
		fields: []string{"verdict.bad", "tcp.checksum.status", "udp.checksum.status", "icmpv6.checksum.status"},
		when:   "a Routing header of a type other than 0, 2 and 4 (RPL 3, compact routing 5 and 6, …) holds made-up data",
		match: func(x *disagreement) bool {
			for _, e := range x.c.d.Exts() {
				if e.Kind == craft.ProtoRouting && e.RoutingType() != 0 && e.RoutingType() != 2 && e.RoutingType() != 4 {
					return x.c.err == nil || x.key != "verdict.bad"
				}
			}
			return false
		},
		why: "rawcraft reads the final destination of types 0, 2 and 4 (RFC 8200 §8.1's pseudo-header) and shows other types' data " +
			"as bytes; tshark decodes RPL's and the compact routing headers' segment lists, and calls random lists malformed",
	},

	{
		fields: []string{"tag.id", "tag.pcp", "tag.dei", "eth.types"},
		when:   "the frame ends inside a VLAN tag",
		match: func(x *disagreement) bool {
			return x.errLayer() == "802.1Q" && errors.Is(x.c.err, craft.ErrTruncated)
		},
		why: "rawcraft reads a tag only whole with the EtherType after it, and says where the frame ends; tshark shows the tag's " +
			"fields present",
	},
	{
		fields: []string{"udp.checksum.status", "q.udp.checksum.status"},
		when:   "a UDP length below 8 (rawcraft: malformed)",
		match: func(x *disagreement) bool {
			return len(x.ours) == 1 && x.ours[0] == "2" && x.errLayer() == "UDP" && x.errField() == "length"
		},
		why: "a checksum over a datagram whose length field is impossible covers nothing definite: rawcraft says unverifiable (RFC 768 " +
			"sums the Length octets); tshark sums the IP payload",
	},
	{
		fields: withQ("icmp.ident", "icmp.seq", "icmpv6.echo.identifier", "icmpv6.echo.sequence_number", "icmp.type", "icmp.code", "icmp.checksum",
			"icmp.checksum.status", "icmpv6.type", "icmpv6.code", "icmpv6.checksum", "icmpv6.checksum.status", "icmp.length", "icmpv6.length",
			"icmp.pointer", "icmp.mtu", "icmpv6.pointer", "icmpv6.mtu"),
		when: "an ICMP or ICMPv6 header cut inside its 8 bytes",
		match: func(x *disagreement) bool {
			g := &x.c.d.Datagram
			if strings.HasPrefix(x.key, "q.") {
				g = &x.c.d.Quoted
			}
			return (x.oursEmpty() || x.theirsEmpty()) && g.TransportLen < craft.ICMPHeaderLen
		},
		why: "rawcraft shows the type, code and checksum of a cut header, each whose bytes are there; tshark shows the identifier too " +
			"when its two bytes are there, and nothing of a header shorter than 4 bytes",
	},
	{
		fields: []string{"icmpv6.nd.target_address", "icmpv6.rd.na.destination_address", "icmpv6.nd.ra.cur_hop_limit", "icmpv6.nd.ra.router_lifetime",
			"icmpv6.nd.ra.reachable_time", "icmpv6.nd.ra.retrans_timer", "icmpv6.opt.type", "icmpv6.opt.length"},
		when: "an NDP message whose fixed part is cut (rawcraft: malformed, RFC 4861 §6.1)",
		match: func(x *disagreement) bool {
			_, err := craft.ParseNDP(&x.c.d.ICMPv6, x.c.d.Payload)
			return x.oursEmpty() && craft.IsNDP(x.c.d.ICMPv6.Type) && err != nil
		},
		why: "rawcraft shows the cut body as data and says it is short; tshark shows the fields present",
	},
	{
		fields: []string{"ip.opt.ptr", "ip.opt.flag", "ip.opt.overflow", "ip.opt.len", "ip.opt.type", "ip.rec_rt.count", "ip.opt.ts.slots"},
		when:   "an IPv4 option rawcraft calls malformed (a length below its kind's floor or past the header)",
		match: func(x *disagreement) bool {
			return x.ipOptionLie()
		},
		why: "rawcraft says the option is malformed (compared as verdict.bad) and shows its bytes; tshark reads its fields as far as they go",
	},
	{
		fields: withQ("ip.version", "ip.hdr_len", "ip.dsfield", "ip.len", "ip.id", "ip.flags.rb", "ip.flags.df", "ip.flags.mf", "ip.frag_offset",
			"ip.ttl", "ip.proto", "ip.checksum", "ip.checksum.status", "ip.src", "ip.dst", "ip.opt.invalid", "ip.opt.type", "ip.opt.len",
			"ip.opt.ptr", "ipv6.opt.type", "ipv6.opt.length")[21:],
		when: "the quote of an ICMP error ends inside the quoted header's options or extension headers",
		match: func(x *disagreement) bool {
			g := &x.c.d.Quoted
			return g.Layers&craft.LayerIPv4 != 0 && int(g.IPv4.IHL.Or(5))*4 > len(x.c.d.Payload) || g.Truncated && g.Layers&craft.LayerIPv6 != 0
		},
		why: "rawcraft shows the quoted fixed header and the options whose bytes are quoted; tshark gives up on a quoted header whose " +
			"options or extension headers the quote cuts",
	},

	{
		fields: []string{"*"},
		when:   "an IPv4 option whose length is below 2 or runs past the header: rawcraft stops reading the datagram there",
		match: func(x *disagreement) bool {
			return x.key != "verdict.bad" && x.errLayer() == "IPv4" && x.errField() == "options" && len(x.ours) < len(x.theirs) &&
				equalStrings(x.ours, x.theirs[:len(x.ours)])
		},
		why: "a receiver reads no further: past a length that lies, no byte can be told apart from an option (RFC 1122 §3.2.1.8: " +
			"\"The IP layer must not crash as the result of an option length that is outside the possible range\"); Linux drops " +
			"the datagram and answers parameter problem pointing at the option (ip_options_compile; claim ipv4-option-past-header, " +
			"proved in the lab); rawcraft shows the header and says where the option lies, tshark reads on into the transport",
	},
	{
		fields: []string{"ip.opt.ts.slots", "q.ip.opt.ts.slots"},
		when:   "a Time Stamp option whose flag is not 0, 1 or 3",
		match: func(x *disagreement) bool {
			bad, stamps := false, 0
			for off, o := 0, x.c.d.IPv4.Options; off < len(o); {
				op, next, err := craft.NextOption(o, off)
				if err != nil || op.Kind == craft.IPOptEOL {
					break
				}
				if op.Kind == craft.IPOptTimestamp {
					stamps++
					if len(op.Data) >= 2 {
						if f := op.Data[1] & 0xf; f != 0 && f != 1 && f != 3 {
							bad = true
						}
					}
				}
				off = next
			}
			if bad {
				// Beside a second Time Stamp option the two lists
				// of counts no longer pair up option by option.
				return len(x.ours) < len(x.theirs) || stamps > 1 && x.key == "ip.opt.ts.slots"
			}
			return strings.HasPrefix(x.key, "q.") && len(x.ours) < len(x.theirs)
		},
		why: "RFC 791 §3.1 defines flags 0 (timestamps only), 1 (address and timestamp pairs) and 3 (prespecified addresses); under " +
			"any other the size of an entry is not known, so rawcraft shows the entries as bytes (Linux answers parameter problem: " +
			"ip_options_compile); tshark reads them as 4-byte timestamps",
	},
	{
		fields: []string{"ip.opt.type", "ip.opt.len"},
		when:   "an IPv4 option of one of RFC 4727's experiment types (30, 94, 158, 222)",
		match: func(x *disagreement) bool {
			return x.ipOption(30, 94, 158, 222) != nil && len(x.ours) > len(x.theirs)
		},
		why: "rawcraft names them from IANA's ip-parameters registry (\"RFC3692-style Experiment\") and shows their type and length; " +
			"tshark 4.0 shows them as bytes, with no ip.opt field",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "a TCP Riverbed Probe option (kind 76) with made-up contents",
		match: func(x *disagreement) bool {
			for _, k := range x.c.opts[""] {
				if len(k) > 0 && k[0] == 76 {
					return x.c.err == nil && x.tsharkBad()
				}
			}
			return false
		},
		why: "rawcraft names the kind from IANA's tcp-parameters registry and checks its length only; tshark decodes the probe's " +
			"contents and calls random contents malformed",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "an IPv6 Payload Length of 0 before a Hop-by-Hop header with no Jumbo Payload option",
		match: func(x *disagreement) bool {
			d := &x.c.d
			if x.c.err != nil || !x.tsharkBad() || d.Layers&craft.LayerIPv6 == 0 || d.IPv6.PayloadLen.Or(1) != 0 || d.IPv6.NextHeader.Or(0xff) != craft.ProtoHopByHop {
				return false
			}
			for _, e := range d.Exts() {
				for off := 0; e.Kind == craft.ProtoHopByHop && off < len(e.Data); {
					o, next, err := craft.NextIPv6Option(e.Data, off)
					if err != nil || o.Type == craft.IPv6OptJumbo {
						return false
					}
					off = next
				}
			}
			return true
		},
		why: "RFC 2675 §3 asks for a parameter problem pointing at the Payload Length, but Linux reads such a packet to the end of " +
			"the frame and delivers it (claim jumbo-missing, proved in the lab); rawcraft's Payload Length field says both and does " +
			"not call the packet malformed, tshark does",
	},
	{
		fields: []string{"eth.trailer"},
		when:   "an IPv6 packet with a payload length of 0 and a Jumbo Payload option",
		match: func(x *disagreement) bool {
			return x.c.d.Layers&craft.LayerIPv6 != 0 && x.c.d.IPv6.PayloadLen.Or(1) == 0
		},
		why: "rawcraft takes the length from the Jumbo Payload option (RFC 2675 §2) and shows no trailer within it; tshark counts the " +
			"bytes after the header's payload length of 0 as a trailer while it dissects them",
	},

	{
		fields: []string{"verdict.bad"},
		when:   "an NDP option of a type rawcraft reads (1, 2, 3, 5) whose length is not that type's (an MTU option of 16 bytes, say)",
		match: func(x *disagreement) bool {
			if x.c.err != nil || !craft.IsNDP(x.c.d.ICMPv6.Type) {
				return false
			}
			fixed := map[uint8]uint8{craft.NDPOptSourceLinkAddr: 1, craft.NDPOptTargetLinkAddr: 1, craft.NDPOptPrefixInfo: 4, craft.NDPOptMTU: 1}
			n, err := craft.ParseNDP(&x.c.d.ICMPv6, x.c.d.Payload)
			for off := 0; err == nil && off < len(n.Options); {
				o, next, oerr := craft.NextNDPOption(n.Options, off)
				if oerr != nil {
					return false
				}
				if f, ok := fixed[o.Type]; ok && o.Len != f {
					return true
				}
				off = next
			}
			return false
		},
		why: "rawcraft describes such an option by type and length and reads the fields only of one of the right length, as Linux " +
			"does (ndisc_parse_options checks only that a length is not 0 and fits, RFC 4861 §4.6; the prefix code skips a short " +
			"prefix option); tshark calls the packet malformed",
	},

	{
		fields: []string{"ipv6.opt.jumbo", "verdict.bad"},
		when:   "a Jumbo Payload option rawcraft calls malformed (a data length other than 4, or not at 4n+2)",
		match: func(x *disagreement) bool {
			return x.errField() == "Jumbo Payload option" && (x.key != "verdict.bad" || !x.tsharkBad())
		},
		why: "tshark reads a length from the option's first 4 bytes and does not check where it starts; RFC 2675 §2 gives the option " +
			"an Opt Data Len of 4 and an alignment requirement of 4n + 2 (RFC 8200 §4.2's notation: the option starts 2 bytes past a " +
			"multiple of 4; Linux drops the packet)",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "an NDP message in a fragment",
		match: func(x *disagreement) bool {
			return x.c.err == nil && craft.IsNDP(x.c.d.ICMPv6.Type) && x.c.d.Frag != craft.NotFragment
		},
		why: "tshark reads the first fragment's part of the message and finds it short; rawcraft does not read the message of a " +
			"fragment, whose rest is in other fragments (and RFC 6980 §5 has receivers drop fragmented neighbor discovery)",
	},

	{
		fields: []string{"verdict.bad"},
		when:   "a first fragment whose ICMP or ICMPv6 error's quote goes on in a later fragment",
		match: func(x *disagreement) bool {
			return x.c.err == nil && x.c.d.Frag == craft.FirstFragment
		},
		why: "tshark dissects the first fragment's part of the quote and calls its end malformed; rawcraft knows the rest of the " +
			"message is in the fragments that follow",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "an ICMP or ICMPv6 error that quotes fewer bytes than an IP header, or an ICMP timestamp (13, 14) without its 12 bytes of times (RFC 792)",
		match: func(x *disagreement) bool {
			g := &x.c.d.Datagram
			switch {
			case x.c.err != nil:
				return false
			case g.Layers&craft.LayerICMPv6 != 0 && g.ICMPv6.IsError(), g.Layers&craft.LayerICMP != 0 && g.ICMP.IsError():
				return x.c.d.Quoted.Layers == 0
			case g.Layers&craft.LayerICMP != 0 && (g.ICMP.Type == craft.ICMPTimestamp || g.ICMP.Type == craft.ICMPTimestampReply):
				return len(g.Payload) < 12
			}
			return false
		},
		why: "rawcraft shows the message and the bytes it holds without judging their number; tshark expects the quoted header or the " +
			"three timestamps and calls the packet malformed when they are missing (Linux ignores such an error: icmpv6_notify " +
			"needs the quoted header)",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "an NDP option whose length runs past the message",
		match: func(x *disagreement) bool {
			return !x.tsharkBad() && x.errLayer() == "NDP" && x.errField() == "option length"
		},
		why: "tshark 4.0 does not flag it. An option's Length counts 8-octet units of the option itself (RFC 4861 §4.6), so one " +
			"longer than the message is a lie; Linux discards the message (ndisc_parse_options: opt_len > opt_len_remaining)",
	},

	{
		fields: []string{"eth.padding", "eth.trailer"},
		when:   "the IP length was forced to lie",
		match:  func(x *disagreement) bool { return x.has(mutIPLen) },
		why: "the bytes past a lying length are what the lie leaves: rawcraft counts them from the header's length, tshark from where " +
			"its dissection of the payload ended",
	},

	{
		fields: withQ("ipv6.version", "ipv6.tclass", "ipv6.flow", "ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.src", "ipv6.dst",
			"tcp.srcport", "tcp.dstport", "tcp.seq", "udp.srcport", "udp.dstport", "udp.length", "icmpv6.type", "icmpv6.code")[16:],
		when: "an ICMPv6 message of an unassigned error type (5 to 127)",
		match: func(x *disagreement) bool {
			t := x.c.d.ICMPv6.Type
			return x.theirsEmpty() && x.c.d.Layers&craft.LayerICMPv6 != 0 && t > craft.ICMPv6ParamProblem && t < 128
		},
		why: "RFC 4443 §2.1: \"error messages have message types from 0 to 127\", and an unknown error message is passed to the " +
			"upper layer with its quoted packet (§2.4(b)); rawcraft decodes that quote, tshark shows the body as data",
	},
	{
		fields: []string{"verdict.bad", "ipv6.opt.jumbo"},
		when:   "a Router Alert or Jumbo Payload option, which belong in a Hop-by-Hop header, in a Destination Options header",
		match: func(x *disagreement) bool {
			if x.c.err != nil && x.key == "verdict.bad" {
				return false
			}
			for _, e := range x.c.d.Exts() {
				for off := 0; e.Kind == craft.ProtoDestOpts && off < len(e.Data); {
					o, next, err := craft.NextIPv6Option(e.Data, off)
					if err != nil {
						break
					}
					if o.Type == craft.IPv6OptRouterAlert || o.Type == craft.IPv6OptJumbo {
						return true
					}
					off = next
				}
			}
			return false
		},
		why: "rawcraft describes them by type; tshark checks their lengths as if in a Hop-by-Hop header and calls a wrong one " +
			"malformed. A destination does not know them there: their types' high bits say what it does (RFC 8200 §4.2)",
	},

	{
		fields: []string{"tcp.checksum.status", "udp.checksum.status", "icmpv6.checksum.status"},
		when:   "a Home Address option (0xC9) outside a Destination Options header, or with a length other than 16",
		match: func(x *disagreement) bool {
			for _, e := range x.c.d.Exts() {
				for off := 0; e.IsOptions() && off < len(e.Data); {
					o, next, err := craft.NextIPv6Option(e.Data, off)
					if err != nil {
						break
					}
					if o.Type == craft.IPv6OptHomeAddress && (e.Kind != craft.ProtoDestOpts || o.Len != 16) {
						return true
					}
					off = next
				}
			}
			return false
		},
		why: "rawcraft puts the home address in the pseudo-header only from a well-formed option where RFC 6275 §6.3 places it: " +
			"\"The Home Address option is carried by the Destination Option extension header (Next Header value = 60)\", and its " +
			"Option Length \"MUST be set to 16\"; tshark uses whatever it finds",
	},

	{
		fields: []string{"ip.rec_rt.count"},
		when:   "a Record Route option whose pointer exceeds its length and is not 4n (the area is full): tshark says the pointer is in the middle of an address",
		match: func(x *disagreement) bool {
			for off, o := 0, x.c.d.IPv4.Options; off < len(o); {
				op, next, err := craft.NextOption(o, off)
				if err != nil || op.Kind == craft.IPOptEOL {
					break
				}
				if op.Kind == craft.IPOptRR && len(op.Data) >= 1 && int(op.Data[0]) > op.Len {
					return len(x.ours) > len(x.theirs)
				}
				off = next
			}
			return false
		},
		why: "RFC 791 §3.1, Record Route: \"If the route data area is already full (the pointer exceeds the length) the datagram is " +
			"forwarded without inserting the address into the recorded route\": every address is recorded, whatever the pointer's " +
			"remainder (Linux's ip_options_compile reads it so); tshark tests the pointer's alignment first and reads none",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "an ICMP or ICMPv6 error whose RFC 4884 length field points past the message",
		match: func(x *disagreement) bool {
			g := &x.c.d.Datagram
			switch {
			case x.c.err != nil || !x.tsharkBad():
				return false
			case g.Layers&craft.LayerICMP != 0 && g.ICMP.IsError():
				return int(craft.ICMPExtLength(g.ICMP.Rest))*4 > len(g.Payload)
			case g.Layers&craft.LayerICMPv6 != 0 && g.ICMPv6.IsError():
				return int(craft.ICMPv6ExtLength(g.ICMPv6.Rest))*8 > len(g.Payload)
			}
			return false
		},
		why: "rawcraft's Length field says it does not fit, and reads no extension; the error itself is still one a host acts on: " +
			"Linux delivers it and marks only the extension invalid (ip_icmp_error_rfc4884_validate: SO_EE_RFC4884_FLAG_INVALID), " +
			"so rawcraft does not call the message malformed; tshark does",
	},
	{
		fields: []string{"*"},
		when:   "an ICMP error whose RFC 4884 length gives a quote of fewer than 128 bytes, before bytes that are not an extension structure",
		match: func(x *disagreement) bool {
			l := int(craft.ICMPExtLength(x.c.d.ICMP.Rest)) * 4
			return strings.HasPrefix(x.key, "q.") && x.c.d.Layers&craft.LayerICMP != 0 && x.c.d.ICMP.IsError() && l > 0 && l < 128 &&
				l < len(x.c.d.Payload) && (len(x.ours) > len(x.theirs) || strings.HasSuffix(x.key, "checksum.status"))
		},
		why: "RFC 4884 requires at least 128 bytes of original datagram before an extension structure, and Linux reads a shorter " +
			"length as no extension (ip_icmp_error_rfc4884_validate: \"per rfc 4884: minimal datagram length of 128 bytes\"), " +
			"keeping the whole quote; rawcraft does the same (and checks the quoted transport checksum over it), tshark takes only the length's bytes as the quote",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "a type 0 Routing header whose Hdr Ext Len is odd",
		match: func(x *disagreement) bool {
			for _, e := range x.c.d.Exts() {
				if e.Kind == craft.ProtoRouting && e.RoutingType() == 0 && (len(e.Data)+2)/8%2 == 0 {
					return x.c.err == nil && x.tsharkBad()
				}
			}
			return false
		},
		why: "tshark checks RFC 2460's layout of type 0 (two length units per address); RFC 5095 §3 deprecated it: a node \"MUST NOT " +
			"execute the algorithm specified in the latter part of Section 4.4 of [RFC2460] for RH0\" and processes it as an " +
			"unrecognized Routing Type, whose length RFC 8200 §4.4 only counts (Linux: ignored with Segments Left 0, else a " +
			"parameter problem, as rawcraft's Segments Left field says)",
	},

	{
		fields: []string{"verdict.bad"},
		when:   "an MLD query whose length is neither 24 nor 28 or more bytes",
		match: func(x *disagreement) bool {
			return !x.tsharkBad() && x.errLayer() == "MLD" && x.errField() == "query length"
		},
		why: "tshark 4.0 does not check it. RFC 3810 §8.1: \"Query messages that do not match any of the above conditions (e.g., " +
			"a Query of length 26 octets) MUST be silently ignored\"",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "an ICMP router advertisement or solicitation (9, 10; RFC 1256) with a made-up body",
		match: func(x *disagreement) bool {
			t := x.c.d.ICMP.Type
			return x.c.err == nil && x.tsharkBad() && x.c.d.Layers&craft.LayerICMP != 0 && (t == 9 || t == 10)
		},
		why: "rawcraft shows the body of these messages as data; tshark decodes RFC 1256's address entries and calls random bodies malformed",
	},

	{
		fields: []string{"summary.transport"},
		when:   "fewer than the 4 port bytes of a TCP or UDP header are in the packet (a cut frame, or a length that lies short)",
		match: func(x *disagreement) bool {
			return len(x.ours) == 0 && x.c.d.TransportLen < 4 && strings.Contains(x.c.d.Summary(), "cut before the ports")
		},
		why: "tshark lists the transport as a malformed layer however few of its bytes there are; rawcraft's summary names the protocol number " +
			"and says the header is cut before the ports, so that no port or field is shown that is not in the bytes (issue 24: summaries invent headers)",
	},
	{
		fields: []string{"verdict.bad"},
		when:   "an IPv6 packet whose Payload Length is 0 with no Jumbo Payload option",
		match: func(x *disagreement) bool {
			return x.c.d.LenFromCapture && x.c.d.Layers&craft.LayerIPv6 != 0
		},
		why: "what a capture on a sender with segmentation offload (BIG TCP) shows: rawcraft decodes it with the bytes captured and says so, as tshark does " +
			"with its ipv6.tso_support preference on; tshark 4.0's default calls it malformed (\"IPv6 payload length equals 0 (maybe because of \\\"TCP segmentation offload\\\" (TSO))\")",
	},
	{
		fields: []string{"ip.len"},
		when:   "an IPv4 packet whose total length is 0 (decoded as segmentation offload, or cut inside its header)",
		match: func(x *disagreement) bool {
			return (x.c.d.LenFromCapture || x.c.d.IPv4.TotalLen.Or(1) == 0) && len(x.ours) == 1 && x.ours[0] == "0"
		},
		why: "rawcraft shows the field as the header holds it, 0, and says in words that it decoded with the bytes captured; " +
			"tshark puts the length it assumed in the field's place",
	},
	{
		fields: []string{"tcp.checksum.status", "udp.checksum.status"},
		when:   "a TCP or UDP packet decoded as segmentation offload (IPv4 total length or IPv6 Payload Length 0)",
		match:  func(x *disagreement) bool { return x.c.d.LenFromCapture },
		why: "under TSO or UDP GSO the NIC fills each segment's checksum (the capture holds the pseudo-header sum the kernel left): " +
			"rawcraft calls it unverifiable; tshark checks it over the captured bytes as if they were one segment",
	},
	{
		fields: []string{"*"},
		when:   "an IPv4 packet whose total length is 0 and whose protocol is neither TCP nor UDP",
		match: func(x *disagreement) bool {
			p := x.c.d.IPv4.Protocol.Or(0)
			return x.c.d.Layers&craft.LayerIPv4 != 0 && x.c.d.IPv4.TotalLen.Or(1) == 0 && p != craft.ProtoTCP && p != craft.ProtoUDP && !x.c.d.LenFromCapture
		},
		why: "tshark assumes segmentation offload for any protocol; only TCP and UDP are segmented so (Linux's GSO types), so rawcraft calls the " +
			"total length malformed, as a receiver does (RFC 791 §3.1: the total length includes the header; Linux's ip_rcv_core drops it)",
	},
	{
		fields: append([]string{"eth.padding", "eth.trailer"}, allARP...),
		when:   "an ARP packet shorter than its HLEN and PLEN announce",
		match: func(x *disagreement) bool {
			return x.errLayer() == "ARP" && errors.Is(x.c.err, craft.ErrTruncated) && x.oursEmpty()
		},
		why: "rawcraft reads an ARP packet only whole: it says the frame ends before the addresses its lengths announce (RFC 826: " +
			"each address is as long as its length field says) and shows none of its fields, as for a cut IPv4 or IPv6 header; " +
			"tshark shows the fields present and calls the packet malformed. Odd lengths otherwise compare field by field: " +
			"addresses of other lengths or types as hex",
	},
}

func netipFrom4(b []byte) string {
	return strings.Join([]string{itoa(b[0]), itoa(b[1]), itoa(b[2]), itoa(b[3])}, ".")
}

func itoa(b byte) string {
	const d = "0123456789"
	switch {
	case b >= 100:
		return string([]byte{d[b/100], d[b/10%10], d[b%10]})
	case b >= 10:
		return string([]byte{d[b/10], d[b%10]})
	}
	return string(d[b])
}
