package craft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// A Claim is one sentence rawcraft prints about what a receiving host or a
// router does with a packet ("drops", "trims", "answers", "ignores"…),
// with the packets that show it. Every sentence of that kind comes from
// this table, and a lab test sends each claim's packets to a Linux host
// and observes it doing exactly what the sentence says: its answer, its
// silence, its SNMP counters, what its sockets read. Where an RFC asks one
// thing and Linux does another, the sentence says what Linux does.
type Claim struct {
	ID   ClaimID
	Name string // stable, for tests and --json: "ipv4-checksum-bad"
	// Text is the sentence as printed: a clause that follows a field's
	// value or verdict ("the receiving host drops the segment silently…").
	Text string
	// Demo returns the packets that demonstrate the claim, sent from h.Src
	// (h.Src6) to the host or router the sentence is about.
	Demo func(h ClaimHosts) ([]ClaimPacket, error)
	// ProvedIn names, instead of Demo, the lab test that proves a claim
	// about a live connection, whose packet depends on its sequence
	// numbers: "session/reset_test.go TestResetByHand". The test names
	// the claim.
	ProvedIn string
}

// ClaimHosts are the addresses a claim's packets travel between: a sender,
// a host on its link (Dst), and a host behind a router (Far), for each
// family; OpenPort has a TCP listener and an unconnected UDP socket on Dst
// (both families), ConnectedPort a UDP socket connected to Src:ClosedPort,
// ClosedPort nothing.
type ClaimHosts struct {
	Src, Dst, Far, Src6, Dst6, Far6     netip.Addr
	SrcLinkLocal                        netip.Addr // the sender's fe80:: address
	OpenPort, ConnectedPort, ClosedPort uint16
}

// ClaimPacket is one packet of a claim's demonstration: an IPv4 or IPv6
// datagram, the EtherType to carry it under (which need not match its
// version nibble), and whether it goes to the far host through the router.
type ClaimPacket struct {
	EtherType uint16
	Datagram  []byte
	Far       bool // to ClaimHosts.Far or Far6, through the router
	// Prior are datagrams sent just before this one, at once, to the same
	// node: the earlier fragments a reassembly claim needs in the queue
	// (sent one by one, a queue would time out between them).
	Prior     [][]byte
	Multicast bool   // to an IPv6 multicast group on the link
	Note      string // what this packet varies, for test names
}

// ClaimID names a claim.
type ClaimID uint8

// Text returns the claim's sentence.
func (id ClaimID) Text() string { return claims[id].Text }

// The claims.
const (
	ClaimIPv4ChecksumBad ClaimID = iota
	ClaimTCPChecksumBad
	ClaimUDPChecksumBad
	ClaimICMPChecksumBad
	ClaimICMPv6ChecksumBad
	ClaimQuotedChecksumsUnchecked
	ClaimNegativeZeroAccepted
	ClaimUDP6ZeroChecksum
	ClaimIPv4VersionDropped
	ClaimIPv6VersionDropped
	ClaimTTLExpires
	ClaimHopLimitExpires
	ClaimDFTooBig
	ClaimIPv6RoutersNeverFragment
	ClaimIPv4TrailerTrimmed
	ClaimIPv6TrailerTrimmed
	ClaimIPv4HeaderLengthError
	ClaimIPv4OptionPastHeader
	ClaimUDPLengthBad
	ClaimUDPLengthShort
	ClaimTCPDataOffsetBad
	ClaimJumboBad
	ClaimIPv6OptSkip
	ClaimIPv6OptDiscard
	ClaimIPv6OptParamProblem
	ClaimIPv6OptParamProblemUnicast
	ClaimReservedIgnored
	ClaimNDPOptionMalformed
	ClaimAtomicFragment
	ClaimRoutingSegmentsLeftZero
	ClaimRoutingSegmentsLeftZeroDropped
	ClaimParamProblemDropped
	ClaimClosedPortAnswersRST
	ClaimOpenPortDropsNoSYN
	ClaimACKAnsweredRST
	ClaimSYNFINDropped
	ClaimRSTWindowZero
	ClaimUnconnectedUDPNeverTold
	ClaimSYNACKAnsweredRST
	ClaimClosedUDPPortUnreachable
	ClaimReassemblyTimeExceeded
	ClaimLinkLocalNotForwarded
	ClaimJumboMissing
	ClaimRSTOutsideWindowIgnored
	ClaimRSTInWindowChallenged
	ClaimRSTExactResets
	ClaimRoutingType0Refused
	ClaimSYNRefused
	ClaimHalfOpenDroppedOnRST
	ClaimGhostIgnored
	ClaimTCPOptionsStop
	ClaimTCPOptionLengthIgnored
	ClaimMD5Unexpected
	ClaimPadNNonzeroDropped
	ClaimNDPShortDiscarded
	ClaimFragChecksumDropped
	ClaimFragInconsistentDiscarded
	ClaimFragDuplicateDropped
	ClaimFragOverlapDiscarded
	ClaimFrag6OverlapDiscarded
	ClaimFrag6NotMultipleOf8
	ClaimFrag6PastMax
	ClaimFrag6ChainSplit
	ClaimFragOversized
	ClaimFrag6Oversized
	ClaimFragTrimmed
	ClaimReassemblyTimeoutNeedsFirst
	ClaimWScaleClamped
	ClaimLoInjectedDropped
	ClaimFlowLabelHashed
	ClaimFlowLabelICMPv6Error
	numClaims
)

// Claims returns every claim, in ID order.
func Claims() []Claim { return claims[:] }

var claims = [numClaims]Claim{
	ClaimIPv4ChecksumBad: {Name: "ipv4-checksum-bad",
		Text: "the receiving host drops the packet unread, without an answer, and so does a router before forwarding it (RFC 1122 §3.2.1.2, RFC 1812 §5.2.2)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			host, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst, ID: 0x2401, Checksum: Set[uint16](0xdead)}, ICMP: claimPtr(Echo(0x2401, 1)), Payload: []byte("claim")})
			if err != nil {
				return nil, err
			}
			far, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Far, ID: 0x2402, Checksum: Set[uint16](0xdead)}, ICMP: claimPtr(Echo(0x2402, 1)), Payload: []byte("claim")})
			far.Far, far.Note = true, "router"
			return []ClaimPacket{host, far}, err
		}},
	ClaimTCPChecksumBad: {Name: "tcp-checksum-bad",
		Text: "the receiving host drops the segment silently: no RST, no ACK (RFC 1122 §4.2.2.7)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return one4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, TCP: &TCP{SrcPort: 40001, DstPort: h.ClosedPort, Seq: 1, Flags: TCPSyn, Window: 1024, Checksum: Set[uint16](0xdead)}})
		}},
	ClaimUDPChecksumBad: {Name: "udp-checksum-bad",
		Text: "the receiving host drops the datagram silently: no ICMP port unreachable (RFC 1122 §4.1.3.4)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return one4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, UDP: &UDP{SrcPort: 40002, DstPort: h.ClosedPort, Checksum: Set[uint16](0xdead)}, Payload: []byte("claim")})
		}},
	ClaimICMPChecksumBad: {Name: "icmp-checksum-bad",
		Text: "the receiving host drops the message: an echo request gets no reply (RFC 1122 §3.2.2)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			e := Echo(0x2403, 1)
			e.Checksum = Set[uint16](0xdead)
			return one4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, ICMP: &e, Payload: []byte("claim")})
		}},
	ClaimICMPv6ChecksumBad: {Name: "icmpv6-checksum-bad",
		Text: "the receiving host drops the message: an echo request gets no reply, a neighbor solicitation no advertisement (RFC 4443 §2.3)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			e := Echo6(0x2404, 1)
			e.Checksum = Set[uint16](0xdead)
			echo, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, ICMPv6: &e, Payload: []byte("claim")})
			if err != nil {
				return nil, err
			}
			ns := neighborSolicit(h, 0, nil)
			ns.ICMPv6.Checksum = Set[uint16](0xdead)
			nsp, err := v6(ns)
			nsp.Note = "neighbor solicitation"
			return []ClaimPacket{echo, nsp}, err
		}},
	ClaimQuotedChecksumsUnchecked: {Name: "quoted-checksums-unchecked",
		Text: "a host receiving the ICMP error does not check the quoted datagram's checksums: it matches the quote to a socket (Linux reports the error to a connected one)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// What Dst sent to Src's closed port, its UDP checksum wrong.
			q, err := (&Packet{IPv4: &IPv4{Src: h.Dst, Dst: h.Src, ID: 0x2405}, UDP: &UDP{SrcPort: h.ConnectedPort, DstPort: h.ClosedPort, Checksum: Set[uint16](0xdead)}, Payload: []byte("claim")}).Append(nil)
			if err != nil {
				return nil, err
			}
			return one4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, ICMP: &ICMP{Type: ICMPUnreachable, Code: CodePortUnreachable}, Payload: q})
		}},
	ClaimNegativeZeroAccepted: {Name: "negative-zero-accepted",
		Text: "receivers accept either (RFC 1624 §3)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// An identification and an echo sequence number chosen so that
			// both checksums compute to 0x0000; sent as 0xffff.
			p := Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, ICMP: claimPtr(Echo(0x2406, 0)), Payload: []byte("claim")}
			b, err := p.Append(nil)
			if err != nil {
				return nil, err
			}
			p.IPv4.ID = binary.BigEndian.Uint16(b[10:])
			p.ICMP.Rest |= uint32(binary.BigEndian.Uint16(b[22:]))
			p.IPv4.Checksum, p.ICMP.Checksum = Set[uint16](0xffff), Set[uint16](0xffff)
			return one4(p)
		}},
	ClaimUDP6ZeroChecksum: {Name: "udp6-zero-checksum",
		Text: "RFC 8200 §8.1 forbids it over IPv6 and the receiver drops the datagram: nothing is delivered, no port unreachable is sent",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			open, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, UDP: &UDP{SrcPort: 40004, DstPort: h.OpenPort, Checksum: Set[uint16](0)}, Payload: []byte("claim")})
			if err != nil {
				return nil, err
			}
			closed, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, UDP: &UDP{SrcPort: 40004, DstPort: h.ClosedPort, Checksum: Set[uint16](0)}, Payload: []byte("claim")})
			closed.Note = "closed port"
			return []ClaimPacket{open, closed}, err
		}},
	ClaimIPv4VersionDropped: {Name: "ipv4-version-dropped",
		Text: "not 4: the receiver drops it as a header error, without an answer",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return one4(Packet{IPv4: &IPv4{Version: Set[uint8](5), Src: h.Src, Dst: h.Dst}, ICMP: claimPtr(Echo(0x2407, 1)), Payload: []byte("claim")})
		}},
	ClaimIPv6VersionDropped: {Name: "ipv6-version-dropped",
		Text: "not 6: the receiver drops it as a header error, without an answer",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return one6(Packet{IPv6: &IPv6{Version: Set[uint8](7), Src: h.Src6, Dst: h.Dst6}, ICMPv6: claimPtr(Echo6(0x2408, 1)), Payload: []byte("claim")})
		}},
	ClaimTTLExpires: {Name: "ttl-expires",
		Text: "hops left before a router drops it and answers ICMP time exceeded",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			c, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Far, TTL: Set[uint8](1)}, ICMP: claimPtr(Echo(0x2409, 1)), Payload: []byte("claim")})
			c.Far = true
			return []ClaimPacket{c}, err
		}},
	ClaimHopLimitExpires: {Name: "hop-limit-expires",
		Text: "hops left before a router drops it and answers time exceeded",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			c, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Far6, HopLimit: Set[uint8](1)}, ICMPv6: claimPtr(Echo6(0x240a, 1)), Payload: []byte("claim")})
			c.Far = true
			return []ClaimPacket{c}, err
		}},
	ClaimDFTooBig: {Name: "df-too-big",
		Text: "don't fragment: a router that must split it drops it and answers ICMP fragmentation needed",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			c, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Far, Flags: FlagDF}, ICMP: claimPtr(Echo(0x240b, 1)), Payload: make([]byte, 1400)})
			c.Far = true
			return []ClaimPacket{c}, err
		}},
	ClaimIPv6RoutersNeverFragment: {Name: "ipv6-routers-never-fragment",
		Text: "the source must send smaller packets (routers never fragment IPv6)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			c, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Far6}, ICMPv6: claimPtr(Echo6(0x240c, 1)), Payload: make([]byte, 1400)})
			c.Far = true
			return []ClaimPacket{c}, err
		}},
	ClaimIPv4TrailerTrimmed: {Name: "ipv4-trailer-trimmed",
		Text: "the receiver trims them before reading the transport header",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			c, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, UDP: &UDP{SrcPort: 40005, DstPort: h.OpenPort}, Payload: []byte("claim")})
			c.Datagram = append(c.Datagram, "TRAIL"...)
			return []ClaimPacket{c}, err
		}},
	ClaimIPv6TrailerTrimmed: {Name: "ipv6-trailer-trimmed",
		Text: "the receiver trims them before reading the next header",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			c, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, UDP: &UDP{SrcPort: 40006, DstPort: h.OpenPort}, Payload: []byte("claim")})
			c.Datagram = append(c.Datagram, "TRAIL"...)
			return []ClaimPacket{c}, err
		}},
	ClaimIPv4HeaderLengthError: {Name: "ipv4-header-length-error",
		Text: "the receiver drops it as a header error, without an answer",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			var out []ClaimPacket
			for _, c := range []struct {
				note string
				ip   IPv4
			}{
				{"total length 10", IPv4{TotalLen: Set[uint16](10)}},
				{"IHL 4", IPv4{IHL: Set[uint8](4)}},
				{"IHL 8, total length 28", IPv4{IHL: Set[uint8](8), TotalLen: Set[uint16](28)}},
			} {
				ip := c.ip
				ip.Src, ip.Dst = h.Src, h.Dst
				p, err := v4(Packet{IPv4: &ip, ICMP: claimPtr(Echo(0x240d, 1)), Payload: []byte("claim")})
				if err != nil {
					return nil, err
				}
				p.Note = c.note
				out = append(out, p)
			}
			return out, nil
		}},
	ClaimIPv4OptionPastHeader: {Name: "ipv4-option-past-header",
		Text: "the receiver drops the datagram and answers ICMP parameter problem pointing at the option",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// build udp --ihl 6 --data Hello: the UDP ports are read as an
			// option of kind 0x9c, length 0x40.
			past, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst, IHL: Set[uint8](6)}, UDP: &UDP{SrcPort: 40000, DstPort: h.OpenPort}, Payload: []byte("Hello")})
			if err != nil {
				return nil, err
			}
			// An option whose length byte is 1.
			short, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst, Options: []byte{0x44, 1, 0, 0}}, UDP: &UDP{SrcPort: 40000, DstPort: h.OpenPort}, Payload: []byte("Hello")})
			short.Note = "length 1"
			return []ClaimPacket{past, short}, err
		}},
	ClaimUDPLengthBad: {Name: "udp-length-bad",
		Text: "the receiver drops the datagram: nothing is delivered, no port unreachable is sent",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			open, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, UDP: &UDP{SrcPort: 40007, DstPort: h.OpenPort, Length: Set[uint16](100)}, Payload: []byte("claim")})
			if err != nil {
				return nil, err
			}
			closed, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, UDP: &UDP{SrcPort: 40007, DstPort: h.ClosedPort, Length: Set[uint16](100)}, Payload: []byte("claim")})
			if err != nil {
				return nil, err
			}
			closed.Note = "closed port"
			short, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, UDP: &UDP{SrcPort: 40007, DstPort: h.OpenPort, Length: Set[uint16](4)}, Payload: []byte("claim")})
			if err != nil {
				return nil, err
			}
			short.Note = "length 4"
			long6, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, UDP: &UDP{SrcPort: 40007, DstPort: h.OpenPort, Length: Set[uint16](100)}, Payload: []byte("claim")})
			long6.Note = "IPv6"
			return []ClaimPacket{open, closed, short, long6}, err
		}},
	ClaimUDPLengthShort: {Name: "udp-length-short",
		Text: "the receiver takes only the UDP length's bytes, and checks the checksum over them alone",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// "cl" is the datagram; "aim" follows it inside the IPv4 data.
			c, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, UDP: &UDP{SrcPort: 40008, DstPort: h.OpenPort}, Payload: []byte("cl")})
			if err != nil {
				return nil, err
			}
			c.Datagram = append(c.Datagram, "aim"...)
			binary.BigEndian.PutUint16(c.Datagram[2:], uint16(len(c.Datagram)))
			binary.BigEndian.PutUint16(c.Datagram[10:], 0)
			binary.BigEndian.PutUint16(c.Datagram[10:], Checksum(c.Datagram[:IPv4HeaderLen]))
			c6, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, UDP: &UDP{SrcPort: 40008, DstPort: h.OpenPort}, Payload: []byte("cl")})
			if err != nil {
				return nil, err
			}
			c6.Datagram = append(c6.Datagram, "aim"...)
			binary.BigEndian.PutUint16(c6.Datagram[4:], uint16(len(c6.Datagram)-IPv6HeaderLen))
			c6.Note = "IPv6"
			return []ClaimPacket{c, c6}, nil
		}},
	ClaimTCPDataOffsetBad: {Name: "tcp-data-offset-bad",
		Text: "the receiver drops the segment silently: no RST",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			short, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, TCP: &TCP{SrcPort: 40009, DstPort: h.ClosedPort, Seq: 1, Flags: TCPSyn, Window: 1024, DataOffset: Set[uint8](4)}})
			if err != nil {
				return nil, err
			}
			short.Note = "data offset 4"
			long, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, TCP: &TCP{SrcPort: 40009, DstPort: h.ClosedPort, Seq: 1, Flags: TCPSyn, Window: 1024, DataOffset: Set[uint8](15)}})
			if err != nil {
				return nil, err
			}
			long.Note = "data offset 15 past the segment"
			short6, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, TCP: &TCP{SrcPort: 40009, DstPort: h.ClosedPort, Seq: 1, Flags: TCPSyn, Window: 1024, DataOffset: Set[uint8](4)}})
			short6.Note = "IPv6 data offset 4"
			return []ClaimPacket{short, long, short6}, err
		}},
	ClaimJumboBad: {Name: "jumbo-bad",
		Text: "Linux drops the packet and answers ICMPv6 parameter problem code 0 pointing at it (RFC 2675 §3)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// --ext hop-by-hop=c2040000001e --payload-len 0: the pointer is
			// 44, the Jumbo Payload Length.
			short, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6, PayloadLen: Set[uint16](0)},
				IPv6Ext: []IPv6Ext{HopByHop([]byte{0xc2, 4, 0, 0, 0, 0x1e})}, UDP: &UDP{SrcPort: 40010, DstPort: h.OpenPort}, Payload: []byte("claim")})
			if err != nil {
				return nil, err
			}
			short.Note = "length 30"
			// A Payload Length that is not 0: the pointer is 42, the option.
			nonzero, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6},
				IPv6Ext: []IPv6Ext{HopByHop([]byte{0xc2, 4, 0, 1, 0, 0})}, UDP: &UDP{SrcPort: 40010, DstPort: h.OpenPort}, Payload: []byte("claim")})
			nonzero.Note = "payload length not 0"
			return []ClaimPacket{short, nonzero}, err
		}},
	ClaimIPv6OptSkip:                {Name: "ipv6-opt-skip", Text: "skip it", Demo: unknownOpt(0x1e)},
	ClaimIPv6OptDiscard:             {Name: "ipv6-opt-discard", Text: "discard the packet", Demo: unknownOpt(0x5e)},
	ClaimIPv6OptParamProblem:        {Name: "ipv6-opt-param-problem", Text: "discard the packet and send parameter problem code 2", Demo: unknownOpt(0x9e)},
	ClaimIPv6OptParamProblemUnicast: {Name: "ipv6-opt-param-problem-unicast", Text: "discard the packet and send parameter problem code 2 unless multicast", Demo: unknownOpt(0xde)},
	ClaimReservedIgnored: {Name: "reserved-ignored",
		Text: "should be zero; receivers ignore it",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			frag := FragmentExt(0, false, 0x2411)
			frag.HdrExtLen = Set[uint8](0xff) // the Fragment header's Reserved byte
			f, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, IPv6Ext: []IPv6Ext{frag}, ICMPv6: claimPtr(Echo6(0x2411, 1)), Payload: []byte("claim")})
			if err != nil {
				return nil, err
			}
			f.Note = "fragment header"
			ns, err := v6(neighborSolicit(h, 0xffffffff, nil))
			ns.Note = "neighbor solicitation"
			return []ClaimPacket{f, ns}, err
		}},
	ClaimNDPOptionMalformed: {Name: "ndp-option-malformed",
		Text: "malformed, receivers discard the message (RFC 4861 §4.6)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return one6(neighborSolicit(h, 0, []byte{NDPOptSourceLinkAddr, 0, 2, 0, 0, 0, 1, 3}))
		}},
	ClaimAtomicFragment: {Name: "atomic-fragment",
		Text: "an atomic fragment, the whole packet (RFC 8021); reassembly passes it through",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return one6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, IPv6Ext: []IPv6Ext{FragmentExt(0, false, 0x2412)}, ICMPv6: claimPtr(Echo6(0x2412, 1)), Payload: []byte("claim")})
		}},
	ClaimRoutingSegmentsLeftZero: {Name: "routing-segments-left-zero",
		Text: "no segments left: nodes ignore the header",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return routingSL0(h, 0, 2)
		}},
	ClaimRoutingSegmentsLeftZeroDropped: {Name: "routing-segments-left-zero-dropped",
		Text: "RFC 8200 §4.4 has nodes ignore a header with no segments left, but Linux drops this type silently unless its sysctl enables it (seg6_enabled, rpl_seg_enabled; off by default)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return routingSL0(h, 3, 4)
		}},
	ClaimParamProblemDropped: {Name: "param-problem-dropped",
		Text: "the receiver could not process the field at that offset of our packet, and dropped it",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// A record route option of length 2, too short for its pointer.
			return one4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst, Options: []byte{7, 2, 0, 0}}, UDP: &UDP{SrcPort: 40011, DstPort: h.OpenPort}, Payload: []byte("claim")})
		}},
	ClaimClosedPortAnswersRST: {Name: "closed-port-answers-rst",
		Text: "a closed port answers any segment but a RST (RFC 9293 §3.10.7.1)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return tcpFlags(h, h.ClosedPort, TCPSyn, TCPAck, TCPFin, 0, TCPSyn|TCPFin, TCPFin|TCPPsh|TCPUrg)
		}},
	ClaimOpenPortDropsNoSYN: {Name: "open-port-drops-no-syn",
		Text: "an open one drops one without SYN, ACK or RST (RFC 9293 §3.10.7.2)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return tcpFlags(h, h.OpenPort, TCPFin, 0, TCPFin|TCPPsh|TCPUrg)
		}},
	ClaimACKAnsweredRST: {Name: "ack-answered-rst",
		Text: "any host answers an ACK for no connection with RST",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			open, err := tcpFlags(h, h.OpenPort, TCPAck)
			if err != nil {
				return nil, err
			}
			closed, err := tcpFlags(h, h.ClosedPort, TCPAck)
			closed[0].Note = "closed port"
			return append(open, closed...), err
		}},
	ClaimSYNFINDropped: {Name: "syn-fin-dropped",
		Text: "its host drops SYN|FIN, as Linux does",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return tcpFlags(h, h.OpenPort, TCPSyn|TCPFin)
		}},
	ClaimRSTWindowZero: {Name: "rst-window-zero",
		Text: "Linux answers every port with window 0",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			open, err := tcpFlags(h, h.OpenPort, TCPAck)
			if err != nil {
				return nil, err
			}
			closed, err := tcpFlags(h, h.ClosedPort, TCPAck)
			return append(open, closed...), err
		}},
	ClaimUnconnectedUDPNeverTold: {Name: "unconnected-udp-never-told",
		Text: "an unconnected UDP socket is never told",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			q, err := (&Packet{IPv4: &IPv4{Src: h.Dst, Dst: h.Src, ID: 0x2414}, UDP: &UDP{SrcPort: h.OpenPort, DstPort: h.ClosedPort}, Payload: []byte("claim")}).Append(nil)
			if err != nil {
				return nil, err
			}
			return one4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, ICMP: &ICMP{Type: ICMPUnreachable, Code: CodePortUnreachable}, Payload: q})
		}},
	ClaimSYNACKAnsweredRST: {Name: "syn-ack-answered-rst",
		Text: "a SYN-ACK arrived for a connection it never opened, so it resets it",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return tcpFlags(h, h.ClosedPort, TCPSyn|TCPAck)
		}},
	ClaimClosedUDPPortUnreachable: {Name: "closed-udp-port-unreachable",
		Text: "a closed port would have answered port unreachable",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			c4, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, UDP: &UDP{SrcPort: 40012, DstPort: h.ClosedPort}, Payload: []byte("claim")})
			if err != nil {
				return nil, err
			}
			c6, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, UDP: &UDP{SrcPort: 40012, DstPort: h.ClosedPort}, Payload: []byte("claim")})
			c6.Note = "IPv6"
			return []ClaimPacket{c4, c6}, err
		}},
	ClaimReassemblyTimeExceeded: {Name: "reassembly-time-exceeded",
		Text: "it received the first fragment but not all the others, and gave up",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// The first 16 of 25 bytes, MF set.
			first := frag4(h, 0x2415, 0, true, claimDatagram(h)[:16])
			first.Note = "first fragment"
			return []ClaimPacket{first}, nil
		}},
	ClaimLinkLocalNotForwarded: {Name: "link-local-not-forwarded",
		Text: "link-local: never forwarded by a router",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			c, err := v6(Packet{IPv6: &IPv6{Src: h.SrcLinkLocal, Dst: h.Far6}, ICMPv6: claimPtr(Echo6(0x2417, 1)), Payload: []byte("claim")})
			c.Far = true
			return []ClaimPacket{c}, err
		}},
	ClaimJumboMissing: {Name: "jumbo-missing",
		Text: "RFC 2675 §3 asks for a parameter problem pointing at the Payload Length, but Linux reads the packet to the end of the frame and delivers it",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return one6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6, PayloadLen: Set[uint16](0)},
				IPv6Ext: []IPv6Ext{HopByHop(AppendIPv6OptPadN(nil, 6))}, UDP: &UDP{SrcPort: 40014, DstPort: h.OpenPort}, Payload: []byte("claim")})
		}},
	ClaimRSTOutsideWindowIgnored: {Name: "rst-outside-window-ignored",
		Text:     "the RST was outside the window, and the server silently ignored it (RFC 5961 §3.2); the connection lives on",
		ProvedIn: "session/reset_test.go TestResetByHand"},
	ClaimRSTInWindowChallenged: {Name: "rst-in-window-challenged",
		Text:     "the RST was in the window but not at the expected number, so the server asks the real client to confirm (RFC 5961 §3.2); the connection lives on",
		ProvedIn: "session/reset_test.go TestResetByHand"},
	ClaimRSTExactResets: {Name: "rst-exact-resets",
		Text:     "the RST was exactly at the expected number: the server reset the connection; its application's next read gets ECONNRESET",
		ProvedIn: "session/reset_test.go TestResetByHand"},
	ClaimRoutingType0Refused: {Name: "routing-type0-refused",
		Text: "with segments left, the receiver drops the packet and answers parameter problem code 0 pointing at the routing type",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return one6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, IPv6Ext: []IPv6Ext{RoutingType0(1, h.Far6)}, ICMPv6: claimPtr(Echo6(0x2418, 1)), Payload: []byte("claim")})
		}},
	ClaimSYNRefused: {Name: "syn-refused",
		Text: "nothing listens there; the kernel refused the connection (a socket's connect() gets ECONNREFUSED)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return synWithOptions(h, 40201, h.ClosedPort, nil)
		}},
	ClaimHalfOpenDroppedOnRST: {Name: "half-open-dropped-on-rst",
		Text: "the server drops the half-open connection",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// A SYN from the sender's address, whose kernel opened nothing:
			// it answers the server's SYN-ACK with RST at the SYN's seq + 1.
			return synWithOptions(h, 40202, h.OpenPort, nil)
		}},
	ClaimGhostIgnored: {Name: "ghost-ignored",
		Text:     "this host's kernel ignores the segments sent to it instead of resetting the connection",
		ProvedIn: "session/client_linux_test.go TestSessionWithGuards"},
	ClaimTCPOptionsStop: {Name: "tcp-options-stop",
		Text: "receivers stop reading options here: those after it are ignored",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// Kind 254 with length 1, then window scale and SACK permitted,
			// which the SYN-ACK would echo had they been read.
			opts := append([]byte{254, 1}, AppendTCPOptSACKOK(AppendTCPOptWScale(nil, 7))...)
			return synWithOptions(h, 40203, h.OpenPort, append(opts, TCPOptNOP))
		}},
	ClaimTCPOptionLengthIgnored: {Name: "tcp-option-length-ignored",
		Text: "receivers ignore the option",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// Window scale with length 4, SACK permitted with length 3.
			return synWithOptions(h, 40204, h.OpenPort, []byte{TCPOptWScale, 4, 7, 0, TCPOptSACKOK, 3, 0, TCPOptNOP})
		}},
	ClaimMD5Unexpected: {Name: "md5-unexpected",
		Text: "a receiver without the key drops the segment silently, even at a closed port (no RST)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			opts := append([]byte{TCPOptNOP, TCPOptNOP, TCPOptMD5, 18}, "0123456789abcdef"...)
			open, err := synWithOptions(h, 40205, h.OpenPort, opts)
			if err != nil {
				return nil, err
			}
			closed, err := synWithOptions(h, 40206, h.ClosedPort, opts)
			closed[0].Note = "closed port"
			return append(open, closed...), err
		}},
	ClaimPadNNonzeroDropped: {Name: "padn-nonzero-dropped",
		Text: "padding that should be zeros: RFC 8200 §4.2 has receivers ignore its value, but Linux drops the packet silently (RFC 4942 §2.1.9.5)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return one6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, IPv6Ext: []IPv6Ext{DestOpts(AppendIPv6Opt(nil, IPv6OptPadN, []byte{0, 0, 0, 1}))},
				ICMPv6: claimPtr(Echo6(0x2419, 1)), Payload: []byte("claim")})
		}},
	ClaimNDPShortDiscarded: {Name: "ndp-short-discarded",
		Text: "receivers discard it (RFC 4861 §6.1.2, §7.1)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// A neighbor solicitation cut after half its target address.
			ns := neighborSolicit(h, 0, nil)
			ns.Payload = ns.Payload[:8]
			nsp, err := v6(ns)
			if err != nil {
				return nil, err
			}
			nsp.Note = "neighbor solicitation"
			// A neighbor advertisement for shortNATarget, overriding its
			// link address with shortNALinkAddr, cut the same way.
			na, err := v6(neighborAdvert(h, shortNATarget, shortNALinkAddr, 8))
			if err != nil {
				return nil, err
			}
			na.Note = "neighbor advertisement"
			// A router advertisement of a current hop limit,
			// shortRAHopLimit, cut after half its reachable time.
			ra, err := v6(routerAdvert(h, shortRAHopLimit, 4))
			ra.Note = "router advertisement"
			return []ClaimPacket{nsp, na, ra}, err
		}},
	// Reassembly: the sentences craft's reassembler gives as a fragment's
	// or a datagram's fate under Linux's rules (ReassemblyEvent.Reason).
	ClaimFragChecksumDropped: {Name: "frag-checksum-dropped",
		Text: "header checksum wrong: dropped before reassembly (ip_rcv_core)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			c := frag4(h, 0x2430, 0, true, claimDatagram(h)[:16])
			binary.BigEndian.PutUint16(c.Datagram[10:], 0xdead)
			return []ClaimPacket{c}, nil
		}},
	ClaimFragInconsistentDiscarded: {Name: "frag-inconsistent-discarded",
		Text: "the datagram is discarded (ip_frag_queue, ip6_frag_queue)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			dg := claimDatagram(h)
			// After bytes 0 to 24 with MF: a last fragment ending at byte
			// 16; after the first 16 bytes, a fragment with MF and no data.
			short := frag4(h, 0x2431, 8, false, dg[8:16])
			short.Prior, short.Note = [][]byte{frag4(h, 0x2431, 0, true, dg[:16]).Datagram, frag4(h, 0x2431, 16, true, dg[16:24]).Datagram}, "last fragment ends early"
			empty := frag4(h, 0x2432, 16, true, nil)
			empty.Prior, empty.Note = [][]byte{frag4(h, 0x2432, 0, true, dg[:16]).Datagram}, "no data"
			dg6 := claimDatagram6(h)
			short6 := frag6(h, 0x2433, 8, false, ProtoUDP, dg6[8:16])
			short6.Prior, short6.Note = [][]byte{frag6(h, 0x2433, 0, true, ProtoUDP, dg6[:16]).Datagram, frag6(h, 0x2433, 16, true, ProtoUDP, dg6[16:24]).Datagram}, "IPv6 last fragment ends early"
			return []ClaimPacket{short, empty, short6}, nil
		}},
	ClaimFragDuplicateDropped: {Name: "frag-duplicate-dropped",
		Text: "lies inside fragments already received: dropped as a duplicate, its bytes not compared (inet_frag_queue_insert)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// The first 16 bytes, then bytes 8 to 16 again but different,
			// then the rest: what is delivered holds the first copy.
			dg := claimDatagram(h)
			last := frag4(h, 0x2434, 16, false, dg[16:])
			last.Prior = [][]byte{frag4(h, 0x2434, 0, true, dg[:16]).Datagram, frag4(h, 0x2434, 8, true, []byte("DUPLICAT")).Datagram}
			dg6 := claimDatagram6(h)
			last6 := frag6(h, 0x243d, 16, false, ProtoUDP, dg6[16:])
			last6.Prior = [][]byte{frag6(h, 0x243d, 0, true, ProtoUDP, dg6[:16]).Datagram, frag6(h, 0x243d, 8, true, ProtoUDP, []byte("DUPLICAT")).Datagram}
			last6.Note = "IPv6"
			return []ClaimPacket{last, last6}, nil
		}},
	ClaimFragOverlapDiscarded: {Name: "frag-overlap-discarded",
		Text: "the datagram is discarded (inet_frag_queue_insert, RFC 5722's rule applied to IPv4)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			dg := claimDatagram(h)
			c := frag4(h, 0x2435, 8, false, dg[8:])
			c.Prior = [][]byte{frag4(h, 0x2435, 0, true, dg[:16]).Datagram}
			return []ClaimPacket{c}, nil
		}},
	ClaimFrag6OverlapDiscarded: {Name: "frag6-overlap-discarded",
		Text: "the whole packet is discarded, as RFC 5722 requires (inet_frag_queue_insert)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			dg := claimDatagram6(h)
			c := frag6(h, 0x2436, 8, false, ProtoUDP, dg[8:])
			c.Prior = [][]byte{frag6(h, 0x2436, 0, true, ProtoUDP, dg[:16]).Datagram}
			return []ClaimPacket{c}, nil
		}},
	ClaimFrag6NotMultipleOf8: {Name: "frag6-not-multiple-of-8",
		Text: "dropped, answered with ICMPv6 parameter problem code 0 pointing at the payload length (ip6_frag_queue, RFC 8200 §4.5)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return []ClaimPacket{frag6(h, 0x2437, 8, true, ProtoUDP, claimDatagram6(h)[8:21])}, nil
		}},
	ClaimFrag6PastMax: {Name: "frag6-past-max",
		Text: "dropped, answered with ICMPv6 parameter problem pointing at the fragment offset (ip6_frag_queue)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			return []ClaimPacket{frag6(h, 0x2438, 65528, false, ProtoUDP, claimDatagram6(h)[:16])}, nil
		}},
	ClaimFrag6ChainSplit: {Name: "frag6-chain-split",
		Text: "a first fragment without the whole header chain: dropped, answered with ICMPv6 parameter problem code 3 (ipv6_frag_rcv, RFC 7112 §5)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// 8 bytes of a 20-byte TCP header.
			return []ClaimPacket{frag6(h, 0x2439, 0, true, ProtoTCP, make([]byte, 8))}, nil
		}},
	ClaimFragOversized: {Name: "frag-oversized",
		Text: "discarded as oversized (ip_frag_reasm)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// Data up to byte 65544 behind a 20-byte header.
			return oversized(func(off int, more bool, data []byte) []byte { return frag4(h, 0x243a, off, more, data).Datagram }, 1480, 65544)
		}},
	ClaimFrag6Oversized: {Name: "frag6-oversized",
		Text: "discarded as oversized (ip6_frag_reasm)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// Data up to byte 65535, the most a Fragment header can say,
			// behind an 8-byte Destination Options header in every fragment.
			return oversized(func(off int, more bool, data []byte) []byte {
				b := frag6(h, 0x243b, off, more, ProtoUDP, data).Datagram
				// Insert Destination Options (PadN) before the Fragment header.
				dst := append([]byte{ProtoFragment, 0}, AppendIPv6OptPadN(nil, 6)...)
				b = append(b[:IPv6HeaderLen:IPv6HeaderLen], append(dst, b[IPv6HeaderLen:]...)...)
				b[6] = ProtoDestOpts
				binary.BigEndian.PutUint16(b[4:], uint16(len(b)-IPv6HeaderLen))
				return b
			}, 1440, 65535)
		}},
	ClaimFragTrimmed: {Name: "frag-trimmed",
		Text: "Linux keeps the whole 8-byte units and drops the rest (ip_frag_queue)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// The first 13 bytes with MF: 8 kept. Then bytes 8 to 25: the
			// datagram is whole only if bytes 8 to 13 of the first were not.
			dg := claimDatagram(h)
			rest := frag4(h, 0x243c, 8, false, dg[8:])
			rest.Prior = [][]byte{frag4(h, 0x243c, 0, true, dg[:13]).Datagram}
			return []ClaimPacket{rest}, nil
		}},
	ClaimReassemblyTimeoutNeedsFirst: {Name: "reassembly-timeout-needs-first",
		Text: "a receiver reports a reassembly timeout only when it has fragment zero (RFC 792, RFC 1122 §3.3.2; RFC 8200 §4.5)",
		Demo: func(h ClaimHosts) ([]ClaimPacket, error) {
			// The last 9 of 25 bytes, alone.
			c6 := frag6(h, 0x2416, 16, false, ProtoUDP, claimDatagram6(h)[16:])
			c6.Note = "IPv6"
			return []ClaimPacket{frag4(h, 0x2416, 16, false, claimDatagram(h)[16:]), c6}, nil
		}},
	ClaimWScaleClamped: {Name: "wscale-above-14-clamped",
		Text:     "receivers use 14 (RFC 7323 §2.3)",
		ProvedIn: "session/client_linux_test.go TestSessionWindowScaleAbove14Clamped"},
	ClaimLoInjectedDropped: {Name: "lo-injected-dropped",
		Text:     "Linux drops a frame injected on lo through a packet socket (its source is a local address, a martian there)",
		ProvedIn: "craft/claims_linux_test.go TestLoopbackInjectionDropped"},
	ClaimFlowLabelHashed: {Name: "flow-label-hashed",
		Text:     "a Linux router hashes it, with the addresses and the next header, to choose among equal-cost routes (net.ipv6.fib_multipath_hash_policy 0, the default; policy 1 hashes the ports instead of it)",
		ProvedIn: "craft/flowlabel_linux_test.go TestFlowLabelHashed"},
	ClaimFlowLabelICMPv6Error: {Name: "flow-label-icmpv6-error",
		Text:     "a Linux router choosing among equal-cost routes for this ICMPv6 error hashes the quoted packet's addresses, flow label and next header, not this one's (net.ipv6.fib_multipath_hash_policy 0, the default)",
		ProvedIn: "craft/flowlabel_linux_test.go TestFlowLabelHashed"},
}

func init() {
	for i := range claims {
		claims[i].ID = ClaimID(i)
	}
}

func claimPtr[T any](v T) *T { return &v }

func v4(p Packet) (ClaimPacket, error) {
	b, err := p.Append(nil)
	return ClaimPacket{EtherType: EtherTypeIPv4, Datagram: b}, err
}

func v6(p Packet) (ClaimPacket, error) {
	b, err := p.Append(nil)
	return ClaimPacket{EtherType: EtherTypeIPv6, Datagram: b}, err
}

func one4(p Packet) ([]ClaimPacket, error) {
	c, err := v4(p)
	return []ClaimPacket{c}, err
}

func one6(p Packet) ([]ClaimPacket, error) {
	c, err := v6(p)
	return []ClaimPacket{c}, err
}

// neighborSolicit is a unicast neighbor solicitation for Dst6, hop limit
// 255 as RFC 4861 §7.1.1 requires, its reserved word and options given.
func neighborSolicit(h ClaimHosts, reserved uint32, opts []byte) Packet {
	n := NDP{Type: ICMPv6NeighborSolicit, Target: h.Dst6, Options: opts}
	if opts == nil {
		n.Options = AppendNDPOptLinkAddr(nil, NDPOptSourceLinkAddr, MAC{2, 0, 0, 0, 1, 3})
	}
	hdr := n.Header()
	hdr.Rest = reserved
	return Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6, HopLimit: Set[uint8](255)}, ICMPv6: &hdr, Payload: n.AppendBody(nil)}
}

// The values the short neighbor and router advertisements of claim
// ndp-short-discarded carry: a lab test shows that the whole messages
// change the receiver's neighbor cache and hop limit, and the short ones
// do not.
var (
	shortNATarget   = netip.MustParseAddr("2001:2:0:1::77")
	shortNALinkAddr = MAC{2, 0, 0, 0, 0x77, 2}
)

// shortRAHopLimit is the current hop limit claim ndp-short-discarded's
// router advertisement carries.
const shortRAHopLimit = 77

// neighborAdvert is an unsolicited neighbor advertisement from Src6 to
// Dst6 (hop limit 255, RFC 4861 §7.1.2), override flag set, for target with
// link address mac; body > 0 keeps only that many bytes of its body.
func neighborAdvert(h ClaimHosts, target netip.Addr, mac MAC, body int) Packet {
	n := NDP{Type: ICMPv6NeighborAdvert, Flags: NDPFlagOverride, Target: target, Options: AppendNDPOptLinkAddr(nil, NDPOptTargetLinkAddr, mac)}
	hdr := n.Header()
	b := n.AppendBody(nil)
	if body > 0 {
		b = b[:body]
	}
	return Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6, HopLimit: Set[uint8](255)}, ICMPv6: &hdr, Payload: b}
}

// routerAdvert is a router advertisement from the sender's link-local
// address to Dst6 (hop limit 255, RFC 4861 §6.1.2) announcing current hop
// limit hops and router lifetime 0 (not a default router); body > 0 keeps
// only that many bytes of its body.
func routerAdvert(h ClaimHosts, hops uint8, body int) Packet {
	n := NDP{Type: ICMPv6RouterAdvert, CurHopLimit: hops}
	hdr := n.Header()
	b := n.AppendBody(nil)
	if body > 0 {
		b = b[:body]
	}
	return Packet{IPv6: &IPv6{Src: h.SrcLinkLocal, Dst: h.Dst6, HopLimit: Set[uint8](255)}, ICMPv6: &hdr, Payload: b}
}

// unknownOpt is an echo request carrying, in a Destination Options header,
// an option of unknown type typ (its two high bits choose the action, RFC
// 8200 §4.2); for the "unless multicast" action, a second packet to the
// all-nodes group.
func unknownOpt(typ uint8) func(ClaimHosts) ([]ClaimPacket, error) {
	return func(h ClaimHosts) ([]ClaimPacket, error) {
		opts := AppendIPv6Opt(nil, typ, []byte{0, 0})
		c, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, IPv6Ext: []IPv6Ext{DestOpts(opts)}, ICMPv6: claimPtr(Echo6(0x2420+uint16(typ), 1)), Payload: []byte("claim")})
		if err != nil || typ>>6 != 3 {
			return []ClaimPacket{c}, err
		}
		m, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: netip.MustParseAddr("ff02::1")}, IPv6Ext: []IPv6Ext{DestOpts(opts)}, ICMPv6: claimPtr(Echo6(0x2420+uint16(typ), 2)), Payload: []byte("claim")})
		m.Multicast, m.Note = true, "multicast"
		return []ClaimPacket{c, m}, err
	}
}

// tcpFlags is one segment to port with each of the flag sets.
func tcpFlags(h ClaimHosts, port uint16, flags ...uint8) ([]ClaimPacket, error) {
	var out []ClaimPacket
	for i, f := range flags {
		c, err := v4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, TCP: &TCP{SrcPort: 40100 + uint16(i), DstPort: port, Seq: 1000, Ack: 2000, Flags: f, Window: 1024}})
		if err != nil {
			return nil, err
		}
		c.Note = FlagNames(f)
		out = append(out, c)
	}
	return out, nil
}

// claimDatagram is a UDP datagram of 25 bytes (8 header, 17 data: "claim,
// fragmented") from Src to Dst's OpenPort, checksum right; claimDatagram6
// the same over IPv6.
func claimDatagram(h ClaimHosts) []byte {
	b, _ := (&Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, UDP: &UDP{SrcPort: 40300, DstPort: h.OpenPort}, Payload: []byte("claim, fragmented")}).Append(nil)
	return b[IPv4HeaderLen:]
}

func claimDatagram6(h ClaimHosts) []byte {
	b, _ := (&Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, UDP: &UDP{SrcPort: 40300, DstPort: h.OpenPort}, Payload: []byte("claim, fragmented")}).Append(nil)
	return b[IPv6HeaderLen:]
}

// frag4 is an IPv4 fragment from Src to Dst carrying UDP data at byte
// offset off (a multiple of 8), MF as more.
func frag4(h ClaimHosts, id uint16, off int, more bool, data []byte) ClaimPacket {
	ip := &IPv4{Src: h.Src, Dst: h.Dst, ID: id, FragOff: uint16(off / 8), Protocol: Set(ProtoUDP)}
	if more {
		ip.Flags = FlagMF
	}
	b, _ := (&Packet{IPv4: ip, Payload: data}).Append(nil)
	return ClaimPacket{EtherType: EtherTypeIPv4, Datagram: b}
}

// frag6 is an IPv6 fragment from Src6 to Dst6: the IPv6 header and a
// Fragment header (next header nh, identification id, byte offset off, M
// as more), then data. Written by hand: every byte is the claim's.
func frag6(h ClaimHosts, id uint32, off int, more bool, nh uint8, data []byte) ClaimPacket {
	b := make([]byte, IPv6HeaderLen+8, IPv6HeaderLen+8+len(data))
	b[0] = 6 << 4
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(data)))
	b[6], b[7] = ProtoFragment, 64
	s, d := h.Src6.As16(), h.Dst6.As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	b[40] = nh
	binary.BigEndian.PutUint16(b[42:], uint16(off)&^7|b2u16(more))
	binary.BigEndian.PutUint32(b[44:], id)
	return ClaimPacket{EtherType: EtherTypeIPv6, Datagram: append(b, data...)}
}

// oversized is the fragments of a datagram whose data ends at byte end:
// chunk bytes each (a multiple of 8) up to the last fragment, which starts
// at 65528, the largest offset; all but that last one are its Prior.
func oversized(frag func(off int, more bool, data []byte) []byte, chunk, end int) ([]ClaimPacket, error) {
	data := make([]byte, end)
	var prior [][]byte
	for off := 0; off < 65528; off += chunk {
		prior = append(prior, frag(off, true, data[off:min(off+chunk, 65528)]))
	}
	et := EtherTypeIPv4
	if prior[0][0]>>4 == 6 {
		et = EtherTypeIPv6
	}
	return []ClaimPacket{{EtherType: et, Datagram: frag(65528, false, data[65528:]), Prior: prior}}, nil
}

// synWithOptions is a SYN from sport to port carrying the TCP options opts (a
// multiple of 4 bytes).
func synWithOptions(h ClaimHosts, sport, port uint16, opts []byte) ([]ClaimPacket, error) {
	return one4(Packet{IPv4: &IPv4{Src: h.Src, Dst: h.Dst}, TCP: &TCP{SrcPort: sport, DstPort: port, Seq: 1000, Flags: TCPSyn, Window: 1024, Options: opts}})
}

// routingSL0 is one echo request per routing type, each with a Routing
// header of no segments left listing Far6.
func routingSL0(h ClaimHosts, types ...uint8) ([]ClaimPacket, error) {
	var out []ClaimPacket
	a := h.Far6.As16()
	for _, typ := range types {
		c, err := v6(Packet{IPv6: &IPv6{Src: h.Src6, Dst: h.Dst6}, IPv6Ext: []IPv6Ext{Routing(typ, 0, append(make([]byte, 4), a[:]...))},
			ICMPv6: claimPtr(Echo6(0x2413, uint16(typ))), Payload: []byte("claim")})
		if err != nil {
			return nil, err
		}
		c.Note = fmt.Sprint("type ", typ)
		out = append(out, c)
	}
	return out, nil
}
