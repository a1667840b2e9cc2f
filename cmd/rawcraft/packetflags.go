package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

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
	hlen, plen                             numValue
	data, dataFile                         string
	dataHex                                bytesValue
	size                                   numValue
	fill                                   string
	frag, mtu, fragOverlap, fragTiny, seed numValue
	fragOrder, fragDrop, fragDup           string
	ether                                  bool
	srcMAC, dstMAC                         macValue
	vlan                                   vlanValue
	// IPv6 (RFC 8200 §3, §4)
	hopLimit, tclass, flowLabel, payloadLen numValue
	ext                                     extValue
	pointer                                 numValue
}

func port(rule string) numValue { return numValue{bits: 16, rule: rule} }

func newPacketFlags(fs *pflag.FlagSet) *packetFlags {
	p := &packetFlags{fs: fs}
	p.ttl = numValue{v: 64, bits: 8, rule: "a TTL is 0 to 255"}
	p.hlen = numValue{v: 6, bits: 8, rule: "the ARP hardware length is one byte, 0 to 255"}
	p.plen = numValue{v: 4, bits: 8, rule: "the ARP protocol length is one byte, 0 to 255"}
	p.tos = numValue{bits: 8, rule: "the type of service is one byte, 0 to 255"}
	p.id = numValue{v: 1, bits: 32, rule: "the identification is 0 to 65535 (IPv4) or 0 to 4294967295 (an IPv6 Fragment header)"}
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
	p.size = numValue{bits: 17, rule: "the payload size is " + payloadLimit}
	p.frag = numValue{bits: 16, rule: "the fragment data size is a multiple of 8, up to 65528"}
	p.mtu = numValue{bits: 16, rule: "an MTU is 68 to 65535"}
	p.fragOverlap = numValue{bits: 16, rule: "the overlap is a multiple of 8 bytes"}
	p.fragTiny = numValue{bits: 16, rule: "the tiny first fragment is a multiple of 8 bytes"}
	p.seed = numValue{v: 1, bits: 64, rule: "the seed is a 64-bit number"}
	p.ipOpt = bytesValue{parse: craft.ParseIPOptions}
	p.tcpOpt = bytesValue{parse: craft.ParseTCPOptions}
	p.dataHex = bytesValue{parse: craft.ParseHex}
	p.hopLimit = numValue{v: 64, bits: 8, rule: "a hop limit is 0 to 255"}
	p.tclass = numValue{bits: 8, rule: "the traffic class is one byte, 0 to 255"}
	p.flowLabel = numValue{bits: 20, rule: "the flow label is 20 bits, 0 to 1048575"}
	p.payloadLen = numValue{bits: 16, rule: "the payload length is 0 to 65535"}
	p.pointer = numValue{bits: 32, rule: "the pointer is a byte offset, 0 to 4294967295 (ICMPv6) or 0 to 255 (ICMP)"}
	_ = p.src.Set(defaultSrc)
	_ = p.dst.Set(defaultDst)

	// IPv4 (RFC 791 §3.1)
	fs.Var(&p.src, "src", "source address (IPv4, or IPv6 where the command takes it)")
	fs.Var(&p.dst, "dst", "destination address, IPv4 or IPv6 (an IPv6 one makes the packet IPv6)")
	fs.Var(&p.ttl, "ttl", "time to live")
	fs.Var(&p.tos, "tos", "type of service byte (DSCP and ECN)")
	fs.Var(&p.id, "id", "identification, shared by the fragments of one datagram (IPv6: of the Fragment headers --frag or --mtu make)")
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
	fs.Var(&p.icmpType, "type", "ICMP type: 8 echo request, 0 echo reply, 3 unreachable, 11 time exceeded; ICMPv6 (an IPv6 --dst): 128 echo request, 129 echo reply, 1 unreachable, 2 packet too big, 3 time exceeded")
	fs.Var(&p.icmpCode, "code", "ICMP code")
	fs.Var(&p.icmpID, "icmp-id", "ICMP echo identifier")
	fs.Var(&p.icmpSeq, "icmp-seq", "ICMP echo sequence number")
	fs.Var(&p.nextHopMTU, "next-hop-mtu", "next-hop MTU of a fragmentation-needed message (type 3 code 4, RFC 1191)")
	fs.StringVar(&p.quote, "quote", "", `for an ICMP error: the packet it quotes, as packet flags ("udp --dport 9999")`)
	// ARP (RFC 826)
	fs.StringVar(&p.arpOp, "op", "request", "ARP operation: request, reply or a number")
	fs.Var(&p.targetMAC, "target-mac", "ARP target hardware address (zero in a request)")
	fs.Var(&p.hlen, "hlen", "ARP hardware address length in bytes (RFC 826): both MACs are laid out at this length, zero-padded or cut")
	fs.Var(&p.plen, "plen", "ARP protocol address length in bytes (RFC 826): both addresses are laid out at this length, zero-padded or cut")
	// Payload
	fs.StringVar(&p.data, "data", "", "payload as text")
	fs.Var(&p.dataHex, "data-hex", "payload as hex digits")
	fs.StringVar(&p.dataFile, "data-file", "", "payload read from a file")
	fs.Var(&p.size, "size", "payload of N bytes (see --fill)")
	fs.StringVar(&p.fill, "fill", "A", "the byte --size repeats: a character or 0xNN")
	// Fragments (RFC 791 §2.3)
	fs.Var(&p.frag, "frag", "split into fragments carrying BYTES of data each (a multiple of 8)")
	fs.Var(&p.mtu, "mtu", "split into fragments no larger than N bytes, as a link of MTU N would: a datagram of at most N bytes goes whole")
	fs.StringVar(&p.fragOrder, "frag-order", "", "send order: a list like 3,1,2, reverse or random")
	fs.StringVar(&p.fragDrop, "frag-drop", "", "fragments not sent, like 2 or 1,3")
	fs.StringVar(&p.fragDup, "frag-dup", "", "fragments sent twice")
	fs.Var(&p.fragOverlap, "frag-overlap", "each fragment starts BYTES before the previous one ended")
	fs.Var(&p.fragTiny, "frag-tiny", "the first fragment carries only BYTES of data (a multiple of 8)")
	fs.Var(&p.seed, "frag-seed", "seed for --frag-order random")
	fs.Var(&p.pointer, "pointer", "parameter problem pointer: the byte of the quoted packet that is wrong (ICMP type 12, ICMPv6 type 4)")
	// IPv6 (RFC 8200): --src and --dst take IPv6 addresses in build and explain
	fs.Var(&p.hopLimit, "hop-limit", "IPv6 hop limit")
	fs.Var(&p.tclass, "tclass", "IPv6 traffic class (DSCP and ECN)")
	fs.Var(&p.flowLabel, "flow-label", "IPv6 flow label (20 bits)")
	fs.Var(&p.ext, "ext", "IPv6 extension headers in order: hop-by-hop[=HEX], dest[=HEX], routing[=TYPE:LEFT[:HEX]], frag[=OFF:M:ID], raw=KIND:HEX")
	fs.Var(&p.payloadLen, "payload-len", "force the IPv6 payload length")
	// Link (IEEE 802.3)
	fs.BoolVar(&p.ether, "ether", false, "add an Ethernet II header")
	fs.Var(&p.srcMAC, "src-mac", "Ethernet source address (implies --ether)")
	fs.Var(&p.dstMAC, "dst-mac", "Ethernet destination address (implies --ether)")
	fs.Var(&p.vlan, "vlan", "add an 802.1Q tag: VLAN ID and optional priority, like 5 or 5:3; 100,5 for QinQ (implies --ether)")
	return p
}

func (p *packetFlags) set(name string) bool { return p.fs.Changed(name) }

// allowIPv6 lets --src and --dst take IPv6 addresses: build and explain
// speak IPv6, and so do send and probe; the commands that do not yet
// (handshake, reset, …) refuse one at parse time.
func (p *packetFlags) allowIPv6() { p.src.v6, p.dst.v6 = true, true }

// Defaults over IPv6: the lab's Hc and Hs in 2001:2:0:1::/64 (RFC 5180).
var (
	defaultSrc6 = netip.MustParseAddr("2001:2:0:1::3")
	defaultDst6 = netip.MustParseAddr("2001:2:0:1::1")
)

// ipv4Only and ipv6Only are the flags of one IP version.
var (
	ipv4Only = []string{"ttl", "tos", "id", "df", "mf", "evil", "frag-offset", "ip-opt", "ihl", "ip-len", "ip-csum"}
	ipv6Only = []string{"hop-limit", "tclass", "flow-label", "ext", "payload-len"}
)

// family resolves the addresses: IPv6 when --src or --dst is, with the
// other defaulting to the lab's IPv6 host; both given must be one family.
func (p *packetFlags) family() (src, dst netip.Addr, v6 bool, err error) {
	src, dst = p.src.a, p.dst.a
	s6, d6 := p.set("src") && src.Is6(), p.set("dst") && dst.Is6()
	switch {
	case !s6 && !d6:
		for _, n := range ipv6Only {
			if p.set(n) {
				return src, dst, false, usagef("--%s is an IPv6 header field: give an IPv6 --dst (or --src)", n)
			}
		}
		return src, dst, false, nil
	case p.set("src") && p.set("dst") && s6 != d6:
		return src, dst, false, usagef("--src %v and --dst %v: one is IPv4, the other IPv6; a packet has one IP version", src, dst)
	case !p.set("src"):
		src = defaultSrc6
	case !p.set("dst"):
		dst = defaultDst6
	}
	for _, n := range ipv4Only {
		if n == "id" && (p.set("frag") || p.set("mtu")) {
			continue // the fragments' identification
		}
		if p.set(n) {
			return src, dst, true, usagef("--%s is an IPv4 header field; the IPv6 header has --hop-limit, --tclass, --flow-label, --ext and --payload-len", n)
		}
	}
	return src, dst, true, nil
}

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
	"arp":  {"op", "target-mac", "hlen", "plen"},
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
		var err error
		if b, err = readDataFile(p.dataFile); err != nil {
			return nil, err
		}
	case p.set("size"):
		c, err := fillByte(p.fill)
		if err != nil {
			return nil, err
		}
		if p.size.v > maxPayload {
			return nil, usagef("--size %d: %s", p.size.v, payloadLimit)
		}
		b = bytes.Repeat([]byte{c}, int(p.size.v))
	}
	return b, nil
}

// maxPayload is the most bytes --size, --data-file, --data or --data-hex
// may give: the most an IPv4 total length or IPv6 payload length counts.
// What fits under the headers is checked when the packet is built, and
// said exactly there (UDP over IPv4: 65507).
const maxPayload = craft.MaxIPv4Len

// payloadLimit is the rule every payload-size message quotes.
var payloadLimit = fmt.Sprintf("0 to %d bytes, less the headers' share: UDP over IPv4 carries at most %d", maxPayload, craft.MaxUDPPayload)

// dataFileWait bounds how long --data-file waits for its bytes: a FIFO
// nobody writes to must not hang the command.
const dataFileWait = time.Second

// readDataFile reads at most 65 535 bytes of name, whatever stat says
// (/dev/zero reports 0 bytes and never ends; a FIFO reports 0 and may never
// send): one more byte than that is an error, and so is waiting more than
// dataFileWait for the end.
func readDataFile(name string) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, usagef("--data-file %q: %v", name, errReason(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, usagef("--data-file %q: %v", name, errReason(err))
	}
	fifo := st.Mode()&os.ModeNamedPipe != 0
	deadline := time.Now().Add(dataFileWait)
	canWait := f.SetReadDeadline(deadline) == nil // pipes and FIFOs
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(2*cap(buf), maxPayload+1)-len(buf))
		}
		n, err := f.Read(buf[len(buf):min(cap(buf), maxPayload+1)])
		buf = buf[:len(buf)+n]
		if len(buf) > maxPayload {
			return nil, usagef("--data-file %q: more than %d bytes; the payload is %s", name, maxPayload, payloadLimit)
		}
		switch {
		case err == io.EOF && len(buf) == 0 && fifo && time.Now().Before(deadline):
			// No writer has opened the FIFO yet: wait for one, briefly.
			time.Sleep(20 * time.Millisecond)
		case err == io.EOF && len(buf) == 0 && fifo:
			return nil, usagef("--data-file %q: a FIFO that nobody wrote to within %v; give a regular file of at most %d bytes", name, dataFileWait, maxPayload)
		case err == io.EOF:
			return buf, nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, usagef("--data-file %q: no end after %v (a FIFO or device that keeps the file open); give a regular file of at most %d bytes", name, dataFileWait, maxPayload)
		case err != nil:
			return nil, usagef("--data-file %q: %v", name, errReason(err))
		case n == 0 && !canWait && time.Now().After(deadline):
			return nil, usagef("--data-file %q: no end after %v; give a regular file of at most %d bytes", name, dataFileWait, maxPayload)
		}
	}
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
