package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/spf13/pflag"
)

// Defaults for building: the article's client Hc talking to its server Hs
// on the article's port.
const (
	defaultSrc   = "198.18.1.3"
	defaultDst   = "198.18.1.1"
	defaultSport = 40000
	defaultDport = 9999
)

// packetFlags are the packet flags of the CLI contract, shared by build,
// explain and send.
type packetFlags struct {
	fs *pflag.FlagSet

	src, dst                               addrValue
	ttl, tos, id, fragOffset, ihl, ipLen   numValue
	ipCsum                                 numValue
	df, mf, evil                           bool
	ipOpt                                  bytesValue
	sport, dport, seq, ack, win, urg, doff numValue
	csum, udpLen                           numValue
	tcpFlags                               tcpFlagsValue
	tcpOpt                                 bytesValue
	icmpType, icmpCode, icmpID, icmpSeq    numValue
	nextHopMTU                             numValue
	quote                                  string
	arpOp                                  string
	targetMAC                              macValue
	data, dataFile                         string
	dataHex                                bytesValue
	size                                   numValue
	fill                                   string
	frag, mtu, fragOverlap, fragTiny, seed numValue
	fragOrder, fragDrop, fragDup           string
	ether                                  bool
	srcMAC, dstMAC                         macValue
}

func port(rule string) numValue { return numValue{bits: 16, rule: rule} }

func newPacketFlags(fs *pflag.FlagSet) *packetFlags {
	p := &packetFlags{fs: fs}
	p.ttl = numValue{v: 64, bits: 8, rule: "a TTL is 0 to 255"}
	p.tos = numValue{bits: 8, rule: "the type of service is one byte, 0 to 255"}
	p.id = numValue{v: 1, bits: 16, rule: "the identification is 0 to 65535"}
	p.fragOffset = numValue{bits: 13, rule: "the fragment offset is 0 to 8191, in units of 8 bytes"}
	p.ihl = numValue{bits: 4, rule: "the IHL is 4 bits, 0 to 15 words"}
	p.ipLen = numValue{bits: 16, rule: "the total length is 0 to 65535"}
	p.ipCsum = numValue{bits: 16, rule: "a checksum is 0 to 65535"}
	p.sport = port("a port is 0 to 65535")
	p.sport.v = defaultSport
	p.dport = port("a port is 0 to 65535")
	p.dport.v = defaultDport
	p.seq = numValue{bits: 32, rule: "a sequence number is 0 to 4294967295"}
	p.ack = numValue{bits: 32, rule: "an acknowledgment number is 0 to 4294967295"}
	p.win = numValue{v: 64240, bits: 16, rule: "the window is 0 to 65535"}
	p.urg = numValue{bits: 16, rule: "the urgent pointer is 0 to 65535"}
	p.doff = numValue{bits: 4, rule: "the data offset is 4 bits, 0 to 15 words"}
	p.csum = numValue{bits: 16, rule: "a checksum is 0 to 65535"}
	p.udpLen = numValue{bits: 16, rule: "the UDP length is 0 to 65535"}
	p.icmpType = numValue{v: 8, bits: 8, rule: "the ICMP type is 0 to 255"}
	p.icmpCode = numValue{bits: 8, rule: "the ICMP code is 0 to 255"}
	p.icmpID = numValue{bits: 16, rule: "the ICMP identifier is 0 to 65535"}
	p.icmpSeq = numValue{bits: 16, rule: "the ICMP sequence number is 0 to 65535"}
	p.nextHopMTU = numValue{bits: 16, rule: "an MTU is 0 to 65535"}
	p.size = numValue{bits: 17, rule: "the payload size is 0 to 65507 bytes"}
	p.frag = numValue{bits: 16, rule: "the fragment data size is a multiple of 8, up to 65528"}
	p.mtu = numValue{bits: 16, rule: "an MTU is 68 to 65535"}
	p.fragOverlap = numValue{bits: 16, rule: "the overlap is a multiple of 8 bytes"}
	p.fragTiny = numValue{bits: 16, rule: "the tiny first fragment is a multiple of 8 bytes"}
	p.seed = numValue{v: 1, bits: 64, rule: "the seed is a 64-bit number"}
	p.ipOpt = bytesValue{parse: craft.ParseIPOptions}
	p.tcpOpt = bytesValue{parse: craft.ParseTCPOptions}
	p.dataHex = bytesValue{parse: craft.ParseHex}
	_ = p.src.Set(defaultSrc)
	_ = p.dst.Set(defaultDst)

	// IPv4 (RFC 791 §3.1)
	fs.Var(&p.src, "src", "IPv4 source address")
	fs.Var(&p.dst, "dst", "IPv4 destination address")
	fs.Var(&p.ttl, "ttl", "time to live")
	fs.Var(&p.tos, "tos", "type of service byte (DSCP and ECN)")
	fs.Var(&p.id, "id", "identification, shared by the fragments of one datagram")
	fs.BoolVar(&p.df, "df", false, "set Don't Fragment")
	fs.BoolVar(&p.mf, "mf", false, "set More Fragments")
	fs.BoolVar(&p.evil, "evil", false, "set the reserved flag bit (RFC 3514's evil bit)")
	fs.Var(&p.fragOffset, "frag-offset", "fragment offset, in 8-byte units")
	fs.Var(&p.ipOpt, "ip-opt", "IPv4 options: rr=N, ts=N, nop, eol, raw=HEX")
	fs.Var(&p.ihl, "ihl", "force the IHL (header length in words)")
	fs.Var(&p.ipLen, "ip-len", "force the total length")
	fs.Var(&p.ipCsum, "ip-csum", "force the header checksum")
	// TCP and UDP
	fs.Var(&p.sport, "sport", "source port")
	fs.Var(&p.dport, "dport", "destination port")
	fs.Var(&p.tcpFlags, "flags", "TCP control bits as letters FSRPAUEC (FIN SYN RST PSH ACK URG ECE CWR); default S")
	fs.Var(&p.seq, "seq", "TCP sequence number")
	fs.Var(&p.ack, "ack", "TCP acknowledgment number")
	fs.Var(&p.win, "win", "TCP window")
	fs.Var(&p.urg, "urg", "TCP urgent pointer")
	fs.Var(&p.tcpOpt, "tcp-opt", "TCP options: mss=N,wscale=N,sackok,sack=L-R,ts=V:E,nop,eol,raw=HEX")
	fs.Var(&p.doff, "data-offset", "force the TCP data offset (header length in words)")
	fs.Var(&p.csum, "csum", "force the TCP, UDP or ICMP checksum (UDP: 0 means no checksum)")
	fs.Var(&p.udpLen, "udp-len", "force the UDP length")
	// ICMP (RFC 792)
	fs.Var(&p.icmpType, "type", "ICMP type: 8 echo request, 0 echo reply, 3 unreachable, 11 time exceeded")
	fs.Var(&p.icmpCode, "code", "ICMP code")
	fs.Var(&p.icmpID, "icmp-id", "ICMP echo identifier")
	fs.Var(&p.icmpSeq, "icmp-seq", "ICMP echo sequence number")
	fs.Var(&p.nextHopMTU, "next-hop-mtu", "next-hop MTU of a fragmentation-needed message (type 3 code 4, RFC 1191)")
	fs.StringVar(&p.quote, "quote", "", `for an ICMP error: the packet it quotes, as packet flags ("udp --dport 9999")`)
	// ARP (RFC 826)
	fs.StringVar(&p.arpOp, "op", "request", "ARP operation: request, reply or a number")
	fs.Var(&p.targetMAC, "target-mac", "ARP target hardware address (zero in a request)")
	// Payload
	fs.StringVar(&p.data, "data", "", "payload as text")
	fs.Var(&p.dataHex, "data-hex", "payload as hex digits")
	fs.StringVar(&p.dataFile, "data-file", "", "payload read from a file")
	fs.Var(&p.size, "size", "payload of N bytes (see --fill)")
	fs.StringVar(&p.fill, "fill", "A", "the byte --size repeats: a character or 0xNN")
	// Fragments (RFC 791 §2.3)
	fs.Var(&p.frag, "frag", "split into fragments carrying BYTES of data each (a multiple of 8)")
	fs.Var(&p.mtu, "mtu", "split into fragments no larger than N bytes")
	fs.StringVar(&p.fragOrder, "frag-order", "", "send order: a list like 3,1,2, reverse or random")
	fs.StringVar(&p.fragDrop, "frag-drop", "", "fragments not sent, like 2 or 1,3")
	fs.StringVar(&p.fragDup, "frag-dup", "", "fragments sent twice")
	fs.Var(&p.fragOverlap, "frag-overlap", "each fragment starts BYTES before the previous one ended")
	fs.Var(&p.fragTiny, "frag-tiny", "the first fragment carries only BYTES of data (a multiple of 8)")
	fs.Var(&p.seed, "frag-seed", "seed for --frag-order random")
	// Link (IEEE 802.3)
	fs.BoolVar(&p.ether, "ether", false, "add an Ethernet II header")
	fs.Var(&p.srcMAC, "src-mac", "Ethernet source address (implies --ether)")
	fs.Var(&p.dstMAC, "dst-mac", "Ethernet destination address (implies --ether)")
	return p
}

func (p *packetFlags) set(name string) bool { return p.fs.Changed(name) }

// built is what the packet flags describe.
type built struct {
	proto  string
	packet craft.Packet
	// datagram is the packet's bytes; frames are what goes out: the packet
	// alone, or its fragments in sending order (drops and duplicates
	// applied), each with the Ethernet header when there is one.
	datagram []byte
	frames   []frame
	linkEth  bool
	nfrags   int
}

type frame struct {
	bytes []byte
	frag  int // fragment number (1…), 0 when not fragmented
}

var protoFlags = map[string][]string{
	"tcp":  {"flags", "seq", "ack", "win", "urg", "tcp-opt", "data-offset"},
	"udp":  {"udp-len"},
	"icmp": {"type", "code", "icmp-id", "icmp-seq", "next-hop-mtu", "quote"},
	"arp":  {"op", "target-mac"},
}

var ipFlags = []string{"ttl", "tos", "id", "df", "mf", "evil", "frag-offset", "ip-opt", "ihl", "ip-len", "ip-csum",
	"data", "data-hex", "data-file", "size", "frag", "mtu", "frag-order", "frag-drop", "frag-dup", "frag-overlap", "frag-tiny", "frag-seed"}

// checkApplies rejects flags that belong to another protocol.
func (p *packetFlags) checkApplies(proto string) error {
	for other, names := range protoFlags {
		if other == proto {
			continue
		}
		for _, n := range names {
			if p.set(n) {
				return usagef("--%s applies to %s packets, not %s", n, other, proto)
			}
		}
	}
	if proto == "arp" {
		for _, n := range append(ipFlags, "sport", "dport", "csum") {
			if p.set(n) {
				return usagef("--%s does not apply to ARP, which has no IPv4 header, ports or payload", n)
			}
		}
	}
	if proto == "icmp" {
		for _, n := range []string{"sport", "dport"} {
			if p.set(n) {
				return usagef("--%s: ICMP has no ports", n)
			}
		}
	}
	return nil
}

func (p *packetFlags) payload(proto string) ([]byte, error) {
	sources := 0
	for _, n := range []string{"data", "data-hex", "data-file", "size"} {
		if p.set(n) {
			sources++
		}
	}
	if sources > 1 {
		return nil, usagef("give one payload: --data, --data-hex, --data-file or --size")
	}
	if p.set("fill") && !p.set("size") {
		return nil, usagef("--fill %q: it fills --size bytes; give --size too", p.fill)
	}
	var b []byte
	switch {
	case p.set("data"):
		b = []byte(p.data)
	case p.set("data-hex"):
		b = p.dataHex.b
	case p.set("data-file"):
		st, err := os.Stat(p.dataFile)
		if err != nil {
			return nil, usagef("--data-file %q: %v", p.dataFile, errReason(err))
		}
		if st.Size() > craft.MaxIPv4Len {
			return nil, usagef("--data-file %q: %d bytes; an IPv4 datagram carries at most 65515", p.dataFile, st.Size())
		}
		if b, err = os.ReadFile(p.dataFile); err != nil {
			return nil, usagef("--data-file %q: %v", p.dataFile, errReason(err))
		}
	case p.set("size"):
		c, err := fillByte(p.fill)
		if err != nil {
			return nil, err
		}
		if p.size.v > craft.MaxIPv4Len {
			return nil, usagef("--size %d: an IPv4 datagram carries at most 65515 bytes of payload", p.size.v)
		}
		b = bytes.Repeat([]byte{c}, int(p.size.v))
	}
	return b, nil
}

func errReason(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func fillByte(s string) (byte, error) {
	if len(s) == 1 {
		return s[0], nil
	}
	if v, err := craft.ParseNumber(s, 8); err == nil && strings.HasPrefix(strings.ToLower(s), "0x") {
		return byte(v), nil
	}
	return 0, usagef("--fill %q: one character, or one byte as 0xNN", s)
}

// build turns the flags into a packet and its frames.
func (p *packetFlags) build(proto string) (*built, error) { return p.buildAt(proto, linkAt{}) }

// linkAt is what an open socket's route adds to the flags: the source
// address when --src was not given, and the Ethernet header to send with
// (nil: as the flags say).
type linkAt struct {
	src netip.Addr
	eth *craft.Ethernet
}

// buildAt is build for a packet about to leave through a socket whose route
// gave at.
func (p *packetFlags) buildAt(proto string, at linkAt) (*built, error) {
	proto = strings.ToLower(proto)
	if _, ok := protoFlags[proto]; !ok {
		return nil, usagef("protocol %q: use tcp, udp, icmp or arp", proto)
	}
	if err := p.checkApplies(proto); err != nil {
		return nil, err
	}
	out := &built{proto: proto, linkEth: at.eth != nil || p.ether || p.set("src-mac") || p.set("dst-mac") || proto == "arp"}
	pk := &out.packet
	src := p.src.a
	if at.src.IsValid() && !p.set("src") {
		src = at.src
	}
	srcMAC := p.srcMAC.m
	if out.linkEth {
		e := &craft.Ethernet{Src: p.srcMAC.m, Dst: p.dstMAC.m}
		if at.eth != nil {
			c := *at.eth
			e, srcMAC = &c, c.Src
		}
		if proto == "arp" && !p.set("dst-mac") && p.arpOp != "reply" && p.arpOp != "2" {
			e.Dst = craft.Broadcast
		}
		pk.Ethernet = e
	}
	return p.buildLayers(proto, src, srcMAC, out)
}

func (p *packetFlags) buildLayers(proto string, src netip.Addr, srcMAC craft.MAC, out *built) (*built, error) {
	pk := &out.packet
	if proto == "arp" {
		a, err := p.arp(src, srcMAC)
		if err != nil {
			return nil, err
		}
		pk.ARP = a
		b, err := pk.Append(nil)
		if err != nil {
			return nil, usageError{err}
		}
		out.datagram = b
		out.frames = []frame{{bytes: b}}
		return out, nil
	}
	data, err := p.payload(proto)
	if err != nil {
		return nil, err
	}
	ip := &craft.IPv4{TOS: uint8(p.tos.v), ID: uint16(p.id.v), FragOff: uint16(p.fragOffset.v),
		TTL: craft.Set(uint8(p.ttl.v)), Src: src, Dst: p.dst.a, Options: p.ipOpt.b}
	if p.df {
		ip.Flags |= craft.FlagDF
	}
	if p.mf {
		ip.Flags |= craft.FlagMF
	}
	if p.evil {
		ip.Flags |= craft.FlagEvil
	}
	if p.set("ihl") {
		ip.IHL = craft.Set(uint8(p.ihl.v))
	}
	if p.set("ip-len") {
		ip.TotalLen = craft.Set(uint16(p.ipLen.v))
	}
	if p.set("ip-csum") {
		ip.Checksum = craft.Set(uint16(p.ipCsum.v))
	}
	pk.IPv4 = ip
	pk.Payload = data
	hdr := 0
	switch proto {
	case "tcp":
		flags := craft.TCPSyn
		if p.set("flags") {
			flags = p.tcpFlags.f
		}
		t := &craft.TCP{SrcPort: uint16(p.sport.v), DstPort: uint16(p.dport.v), Seq: uint32(p.seq.v), Ack: uint32(p.ack.v),
			Flags: flags, Window: uint16(p.win.v), Urgent: uint16(p.urg.v), Options: p.tcpOpt.b}
		if p.set("data-offset") {
			t.DataOffset = craft.Set(uint8(p.doff.v))
		}
		if p.set("csum") {
			t.Checksum = craft.Set(uint16(p.csum.v))
		}
		pk.TCP, hdr = t, t.Len()
	case "udp":
		u := &craft.UDP{SrcPort: uint16(p.sport.v), DstPort: uint16(p.dport.v)}
		if p.set("udp-len") {
			u.Length = craft.Set(uint16(p.udpLen.v))
		}
		if p.set("csum") {
			u.Checksum = craft.Set(uint16(p.csum.v))
		}
		pk.UDP, hdr = u, craft.UDPHeaderLen
	case "icmp":
		c := &craft.ICMP{Type: uint8(p.icmpType.v), Code: uint8(p.icmpCode.v)}
		if p.set("csum") {
			c.Checksum = craft.Set(uint16(p.csum.v))
		}
		switch {
		case p.set("next-hop-mtu"):
			if c.Type != craft.ICMPUnreachable || c.Code != craft.CodeFragNeeded {
				return nil, usagef("--next-hop-mtu %d: only fragmentation needed (--type 3 --code 4) carries an MTU", p.nextHopMTU.v)
			}
			c.Rest = uint32(p.nextHopMTU.v)
		case c.Type == craft.ICMPEcho || c.Type == craft.ICMPEchoReply || c.Type == craft.ICMPTimestamp || c.Type == craft.ICMPTimestampReply:
			c.Rest = uint32(p.icmpID.v)<<16 | uint32(p.icmpSeq.v)
		case p.set("icmp-id") || p.set("icmp-seq"):
			return nil, usagef("--icmp-id and --icmp-seq belong to echo messages (--type 8 or 0), not type %d", c.Type)
		}
		if p.quote != "" {
			if !c.IsError() {
				return nil, usagef("--quote: ICMP type %d (%s) is not an error and quotes nothing", c.Type, craft.ICMPTypeName(c.Type))
			}
			if sources := p.set("data") || p.set("data-hex") || p.set("data-file") || p.set("size"); sources {
				return nil, usagef("--quote and a payload flag both give the ICMP data: choose one")
			}
			q, err := quoted(p.quote)
			if err != nil {
				return nil, err
			}
			pk.Payload = q
		}
		pk.ICMP, hdr = c, craft.ICMPHeaderLen
	}
	if max := craft.MaxIPv4Len - ip.Len() - hdr; len(pk.Payload) > max {
		rule := fmt.Sprintf("an IPv4 datagram is at most 65535 bytes, so with these headers %s carries at most %d", strings.ToUpper(proto), max)
		if proto == "udp" && ip.Len() == craft.IPv4HeaderLen {
			rule = "an IPv4 UDP datagram carries at most 65507 bytes of data (65535 − 20 − 8)"
		}
		return nil, usagef("payload of %d bytes: %s; fragmenting does not raise that limit", len(pk.Payload), rule)
	}
	// Build the datagram (without Ethernet), then frames.
	eth := pk.Ethernet
	pk.Ethernet = nil
	dg, err := pk.Append(nil)
	pk.Ethernet = eth
	if err != nil {
		return nil, usageError{err}
	}
	out.datagram = dg
	pieces, made, err := p.fragments(dg)
	if err != nil {
		return nil, err
	}
	out.nfrags = made
	for _, pc := range pieces {
		b := pc.bytes
		if eth != nil {
			e := *eth
			fb := make([]byte, craft.EthernetLen, craft.EthernetLen+len(b))
			if err := e.Encode(fb, craft.EtherTypeIPv4); err != nil {
				return nil, err
			}
			b = append(fb, b...)
		}
		out.frames = append(out.frames, frame{bytes: b, frag: pc.frag})
	}
	return out, nil
}

// fragPlan reads the fragment flags: how to split, and in which order the
// fragments leave; on is false when no fragment flag asks for it.
func (p *packetFlags) fragPlan() (o craft.FragOptions, s craft.Schedule, on bool, err error) {
	on = p.set("frag") || p.set("mtu")
	for _, n := range []string{"frag-order", "frag-drop", "frag-dup", "frag-overlap", "frag-tiny", "frag-seed"} {
		if p.set(n) && !on {
			return o, s, false, usagef("--%s needs --frag BYTES or --mtu N to make fragments", n)
		}
	}
	if !on {
		return o, s, false, nil
	}
	if p.set("frag") && p.set("mtu") {
		return o, s, on, usagef("--frag %d and --mtu %d: give one or the other", p.frag.v, p.mtu.v)
	}
	if p.set("frag") && (p.frag.v == 0 || p.frag.v%8 != 0) {
		return o, s, on, usagef("--frag %d: the data of every fragment but the last is a positive multiple of 8 bytes (the offset counts 8-byte units)", p.frag.v)
	}
	if p.set("mtu") && p.mtu.v < 68 {
		return o, s, on, usagef("--mtu %d: RFC 791 requires every link to carry 68 bytes", p.mtu.v)
	}
	o = craft.FragOptions{DataSize: int(p.frag.v), MTU: int(p.mtu.v), Overlap: int(p.fragOverlap.v), TinyFirst: int(p.fragTiny.v)}
	s = craft.Schedule{Seed: p.seed.v}
	switch p.fragOrder {
	case "":
	case "reverse":
		s.Reverse = true
	case "random":
		s.Random = true
	default:
		if s.Order, err = craft.ParseIndexList(p.fragOrder); err != nil {
			return o, s, on, usagef("--frag-order %q: a list of fragment numbers like 3,1,2, or reverse, or random", p.fragOrder)
		}
	}
	for _, l := range []struct {
		name, val string
		dst       *[]int
	}{{"frag-drop", p.fragDrop, &s.Drop}, {"frag-dup", p.fragDup, &s.Dup}} {
		if l.val == "" {
			continue
		}
		if *l.dst, err = craft.ParseIndexList(l.val); err != nil {
			return o, s, on, usagef("--%s %q: fragment numbers from 1, like 2 or 1,3", l.name, l.val)
		}
	}
	return o, s, on, nil
}

// fragments splits dg when a fragment flag asks for it, and returns the
// fragments to send, in order, and how many were made.
func (p *packetFlags) fragments(dg []byte) ([]frame, int, error) {
	o, s, on, err := p.fragPlan()
	if err != nil {
		return nil, 0, err
	}
	if !on {
		return []frame{{bytes: dg}}, 0, nil
	}
	_, frags, err := craft.Fragments(nil, nil, dg, o)
	if err != nil {
		return nil, 0, usageError{err}
	}
	plan, err := s.Plan(nil, len(frags))
	if err != nil {
		return nil, 0, usageError{err}
	}
	out := make([]frame, 0, len(plan))
	for _, i := range plan {
		out = append(out, frame{bytes: frags[i-1].Bytes, frag: i})
	}
	return out, len(frags), nil
}

func (p *packetFlags) arp(src netip.Addr, srcMAC craft.MAC) (*craft.ARP, error) {
	a := &craft.ARP{SenderHW: srcMAC, SenderIP: src, TargetHW: p.targetMAC.m, TargetIP: p.dst.a}
	switch p.arpOp {
	case "request":
		a.Op = craft.ARPRequest
	case "reply":
		a.Op = craft.ARPReply
	default:
		v, err := craft.ParseNumber(p.arpOp, 16)
		if err != nil {
			return nil, usagef("--op %q: request, reply, or a number 0 to 65535", p.arpOp)
		}
		a.Op = uint16(v)
	}
	return a, nil
}

// quoted builds the datagram an ICMP error quotes from packet flags, and
// keeps what RFC 792 says is quoted: its IP header and 8 data bytes.
func quoted(spec string) ([]byte, error) {
	args := strings.Fields(spec)
	if len(args) == 0 {
		return nil, usagef("--quote %q: give a protocol and packet flags, like \"udp --dport 9999\"", spec)
	}
	fs := pflag.NewFlagSet("quote", pflag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	q := newPacketFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return nil, usagef("--quote %q: %v", spec, err)
	}
	if fs.NArg() > 0 {
		return nil, usagef("--quote %q: unexpected %q", spec, fs.Arg(0))
	}
	if q.set("frag") || q.set("mtu") || q.ether || q.set("quote") || strings.ToLower(args[0]) == "arp" {
		return nil, usagef("--quote %q: the quoted datagram is one IPv4 packet, without fragments, Ethernet or another quote", spec)
	}
	b, err := q.build(args[0])
	if err != nil {
		return nil, usagef("--quote %q: %v", spec, err)
	}
	return craft.Quote(b.datagram), nil
}

// templates returns the frames of b ready to be patched packet after packet
// (craft.Template): a whole datagram keeps the checksums the flags forced
// exactly as given; fragments are patched from their bytes. ARP has no
// field that varies: nil.
func (b *built) templates(pf *packetFlags) ([]craft.Template, error) {
	if b.proto == "arp" {
		return nil, nil
	}
	if len(b.frames) == 1 && b.nfrags == 0 {
		t, err := b.packet.Template(nil)
		if err != nil {
			return nil, usageError{err}
		}
		return []craft.Template{t}, nil
	}
	out := make([]craft.Template, len(b.frames))
	for i, f := range b.frames {
		t, err := craft.ParseTemplate(f.bytes, b.linkEth)
		if err != nil {
			return nil, fmt.Errorf("fragment %d: %w", f.frag, err)
		}
		if pf.set("ip-csum") {
			t.Keep(craft.LayerIPv4)
		}
		if pf.set("csum") {
			t.Keep(craft.LayerTCP | craft.LayerUDP | craft.LayerICMP)
		}
		out[i] = t
	}
	return out, nil
}

// echo says whether b is an ICMP echo request or reply, whose sequence
// number counts the packets a send repeats.
func (b *built) echo() bool {
	c := b.packet.ICMP
	return c != nil && (c.Type == craft.ICMPEcho || c.Type == craft.ICMPEchoReply)
}
