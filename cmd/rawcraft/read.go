package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/ladder"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/spf13/cobra"
)

type readOpts struct {
	explain, diagram, asJSON bool
	ladder                   bool
	svg                      string
	packets, proto, host     string
	port                     int
	link                     string
}

func newReadCmd() *cobra.Command {
	o := &readOpts{}
	cmd := &cobra.Command{
		Use:   "read FILE|-",
		Short: "read a capture (pcap, pcapng, gzip) or a hex dump and explain every packet; no privileges needed",
		Long: `read opens a capture — classic pcap or pcapng from tcpdump, Wireshark or
dumpcap, gzip-compressed or not, any interface: Ethernet (802.1Q tags too), raw
IP, Linux cooked (tcpdump -i any: SLL, SLL2), loopback — or a hex dump pasted
from a page (hex stream, spaced hex, Wireshark's hex dump, tcpdump -xx/-X,
xxd, hexdump -C, od), and shows each packet as build does: one line each, or
every field (--explain), the RFC bit diagrams (--diagram) or JSON (--json).
"-" reads standard input.

A checksum that is wrong on a packet the capturing host sent, and holds only
the pseudo-header sum, was captured before the network card filled it
(checksum offload): it is "not yet filled (offload)", not bad. A packet the
capture cut short (its snapshot length) says so, and what it lacks is not
judged.`,
		Example: `  rawcraft read capture.pcapng
  rawcraft read --explain --packet 3 any.pcap.gz
  tcpdump -xx -c 1 -r capture.pcap | rawcraft read --diagram -
  rawcraft read --proto tcp --host 198.18.1.1 --port 9999 --json capture.pcap`,
		Args: cobra.ExactArgs(1),
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.explain, "explain", false, "a table of every field, its meaning and RFC, and the checksum verdicts")
	fl.BoolVar(&o.diagram, "diagram", false, "the RFC bit diagram of every header, filled with the values")
	fl.BoolVar(&o.asJSON, "json", false, "one JSON object per packet: fields, checksums, time, link, direction")
	fl.StringVar(&o.packets, "packet", "", "only these packets, numbered from 1: 3, 2-5, 7-, comma-separated")
	fl.StringVar(&o.proto, "proto", "", "only packets of this protocol: tcp, udp, icmp or arp")
	fl.StringVar(&o.host, "host", "", "only packets from or to this IPv4 address")
	fl.IntVar(&o.port, "port", -1, "only TCP or UDP packets from or to this port")
	fl.BoolVar(&o.ladder, "ladder", false, "draw the exchange as a time-ordered sequence diagram, one lane per host")
	fl.StringVar(&o.svg, "svg", "", "also write the ladder as an SVG file")
	fl.StringVar(&o.link, "link", "", "the link type of a hex dump: ether or raw (default: guessed from the first byte)")
	cmd.MarkFlagsMutuallyExclusive("json", "ladder")
	cmd.MarkFlagsMutuallyExclusive("json", "explain")
	cmd.MarkFlagsMutuallyExclusive("json", "diagram")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return runRead(cmd.OutOrStdout(), cmd.InOrStdin(), args[0], o)
	}
	return cmd
}

// packetRange is one range of --packet, numbered from 1; hi 0 is open.
type packetRange struct{ lo, hi int }

func parsePackets(s string) ([]packetRange, error) {
	if s == "" {
		return nil, nil
	}
	var rs []packetRange
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 1 {
			return nil, usagef("--packet %q: %q is not a packet number (1, 2, …) or range (2-5, 7-)", s, part)
		}
		r := packetRange{a, a}
		if isRange {
			r.hi = 0
			if hi != "" {
				b, err := strconv.Atoi(hi)
				if err != nil || b < a {
					return nil, usagef("--packet %q: %q is not a range: its end is a number not below its start", s, part)
				}
				r.hi = b
			}
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func inRanges(rs []packetRange, n int) bool {
	if rs == nil {
		return true
	}
	for _, r := range rs {
		if n >= r.lo && (r.hi == 0 || n <= r.hi) {
			return true
		}
	}
	return false
}

// readFilter holds the parsed filters of read.
type readFilter struct {
	ranges []packetRange
	proto  craft.Layer
	host   netip.Addr
	port   int
}

func (o *readOpts) filter() (readFilter, error) {
	var f readFilter
	var err error
	if f.ranges, err = parsePackets(o.packets); err != nil {
		return f, err
	}
	switch o.proto {
	case "":
	case "tcp":
		f.proto = craft.LayerTCP
	case "udp":
		f.proto = craft.LayerUDP
	case "icmp":
		f.proto = craft.LayerICMP
	case "arp":
		f.proto = craft.LayerARP
	default:
		return f, usagef("--proto %q: rawcraft decodes tcp, udp, icmp and arp", o.proto)
	}
	if o.host != "" {
		a, err := netip.ParseAddr(o.host)
		if err != nil || !a.Is4() {
			return f, usagef("--host %q: not an IPv4 address", o.host)
		}
		f.host = a
	}
	if o.port < -1 || o.port > 65535 {
		return f, usagef("--port %d: a port is 0 to 65535", o.port)
	}
	f.port = o.port
	switch o.link {
	case "", "ether", "raw":
	default:
		return f, usagef("--link %q: ether or raw", o.link)
	}
	return f, nil
}

// readPacket is one packet of a capture, decoded.
type readPacket struct {
	n      int // from 1
	p      pcap.Packet
	dir    pcap.Direction
	link   pcap.Link
	linkOK bool // the link header was read and the network layer decoded
	note   string
	d      craft.Decoded
	derr   error
	eth    bool
	sums   []craft.ChecksumResult
	sumBuf [8]craft.ChecksumResult
}

// decodeCaptured decodes one packet of a capture (pcap.Dissect).
func decodeCaptured(rp *readPacket) {
	x, sums := pcap.Dissect(&rp.p, &rp.d, rp.sumBuf[:0])
	rp.dir, rp.link, rp.linkOK, rp.note, rp.derr, rp.eth, rp.sums = x.Dir, x.Link, x.Decoded, x.Note, x.Err, x.Ethernet, sums
}

func (f *readFilter) keep(rp *readPacket) bool {
	if !inRanges(f.ranges, rp.n) {
		return false
	}
	if f.proto == 0 && !f.host.IsValid() && f.port < 0 {
		return true
	}
	if !rp.linkOK {
		return false
	}
	d := &rp.d
	if f.proto != 0 && !d.Has(f.proto) {
		return false
	}
	if f.host.IsValid() {
		switch {
		case d.Has(craft.LayerIPv4):
			if d.IPv4.Src != f.host && d.IPv4.Dst != f.host {
				return false
			}
		case d.Has(craft.LayerARP):
			if d.ARP.SenderIP != f.host && d.ARP.TargetIP != f.host {
				return false
			}
		default:
			return false
		}
	}
	if f.port >= 0 {
		var sp, dp uint16
		switch {
		case d.Has(craft.LayerTCP) && d.Frag != craft.LaterFragment:
			sp, dp = d.TCP.SrcPort, d.TCP.DstPort
		case d.Has(craft.LayerUDP) && d.Frag != craft.LaterFragment:
			sp, dp = d.UDP.SrcPort, d.UDP.DstPort
		default:
			return false
		}
		if int(sp) != f.port && int(dp) != f.port {
			return false
		}
	}
	return true
}

// openCapture opens name ("-": in) with the --link override of a hex dump.
func openCapture(name string, in io.Reader, link string) (*pcap.File, func() error, error) {
	var r io.Reader = in
	closeFn := func() error { return nil }
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, usagef("%s: %v", name, errReason(err))
		}
		r, closeFn = f, f.Close
	}
	pf, err := pcap.Open(r)
	if err != nil {
		closeFn()
		return nil, nil, usagef("%s: %v", name, err)
	}
	if pf.Format == pcap.FormatHex {
		switch link {
		case "ether":
			pf.LinkType = pcap.LinkEthernet
		case "raw":
			pf.LinkType = pcap.LinkRaw
		}
	} else if link != "" {
		closeFn()
		return nil, nil, usagef("--link %q: only for a hex dump; %s is %s and says its own link type", link, name, pf.Format)
	}
	if pf.Format != pcap.FormatPcapNG && !pcap.Decodable(pf.LinkType) {
		closeFn()
		return nil, nil, usagef("%s: %s capture of link type %s: not decoded (rawcraft reads Ethernet, raw IP, Linux cooked SLL/SLL2 and loopback)", name, pf.Format, pcap.LinkName(pf.LinkType))
	}
	return pf, closeFn, nil
}

// readAll reads and decodes every packet of name, calling each for those
// the filter keeps. A damaged file stops at the damage: the packets before it
// are shown, then the error.
func readAll(name string, in io.Reader, o *readOpts, each func(*readPacket) error) (*pcap.File, error) {
	flt, err := o.filter()
	if err != nil {
		return nil, err
	}
	pf, closeFn, err := openCapture(name, in, o.link)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	rp := new(readPacket)
	for n := 1; ; n++ {
		p, err := pf.Next()
		if err == io.EOF {
			return pf, nil
		}
		if err != nil {
			return pf, fmt.Errorf("%s: after packet %d: %v", name, n-1, err)
		}
		if pf.Format == pcap.FormatHex && p.LinkType != pf.LinkType {
			p.LinkType = pf.LinkType
		}
		*rp = readPacket{n: n, p: p}
		decodeCaptured(rp)
		if !flt.keep(rp) {
			continue
		}
		if err := each(rp); err != nil {
			return pf, err
		}
	}
}

func runRead(w io.Writer, in io.Reader, name string, o *readOpts) error {
	if o.ladder || o.svg != "" {
		return runReadLadder(w, in, name, o)
	}
	var t0 time.Time
	first := true
	_, err := readAll(name, in, o, func(rp *readPacket) error {
		if first {
			t0, first = rp.p.Time, false
		}
		if o.asJSON {
			return writeJSON(w, readJSON(rp, t0))
		}
		if (o.explain || o.diagram) && rp.n > 1 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, readSummary(rp, t0))
		if !rp.linkOK || !(o.explain || o.diagram) {
			return nil
		}
		fields := craft.Explain(&rp.d)
		if rp.derr != nil {
			fmt.Fprintf(w, "  (a receiver reads it as: %v)\n", rp.derr)
		}
		if o.diagram {
			for _, l := range craft.Layers(fields) {
				fmt.Fprintf(w, "\n%s\n%s", l, craft.Diagram(fields, l))
			}
			if !o.explain {
				dissect(w, nil, rp.sums)
				return nil
			}
			fmt.Fprintln(w)
		}
		dissect(w, fields, rp.sums)
		return nil
	})
	return err
}

// readSummary is a packet's line: number, time since the first packet
// shown, direction, rawcraft's summary, the verdicts that are not good.
func readSummary(rp *readPacket, t0 time.Time) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%4d", rp.n)
	if !rp.p.Time.IsZero() {
		fmt.Fprintf(&sb, " %11.6f", rp.p.Time.Sub(t0).Seconds())
	}
	switch rp.dir {
	case pcap.DirOutbound:
		sb.WriteString(" out")
	case pcap.DirInbound:
		sb.WriteString(" in ")
	}
	if len(rp.link.VLANs) > 0 {
		fmt.Fprintf(&sb, " vlan %v", rp.link.VLANs)
	}
	sb.WriteString("  ")
	if !rp.linkOK {
		sb.WriteString(rp.note)
		return sb.String()
	}
	sb.WriteString(rp.d.Summary())
	for _, c := range rp.sums {
		if c.Status == craft.ChecksumGood || c.Status == craft.ChecksumUnverifiable || c.Status == craft.ChecksumAbsent {
			continue
		}
		name := c.Layer.String()
		if c.Quoted {
			name = "quoted " + name
		}
		if c.Status == craft.ChecksumBad {
			fmt.Fprintf(&sb, " · %s checksum BAD (0x%04x, should be 0x%04x)", name, c.Got, c.Want)
		} else {
			fmt.Fprintf(&sb, " · %s checksum %v", name, c.Status)
		}
	}
	if rp.p.Truncated() {
		fmt.Fprintf(&sb, " · truncated: %d of %d bytes captured", len(rp.p.Data), rp.p.OrigLen)
	}
	if rp.derr != nil && !errors.Is(rp.derr, craft.ErrTruncated) {
		fmt.Fprintf(&sb, " · %v", rp.derr)
	}
	if rp.note != "" {
		sb.WriteString(" · " + rp.note)
	}
	return sb.String()
}

// readJSONPacket is build's JSON object with what a capture adds.
type readJSONPacket struct {
	jsonPacket
	Time      string  `json:"time,omitempty"`
	Relative  float64 `json:"relative"`
	Link      string  `json:"link"`
	LinkType  uint32  `json:"link_type"`
	Direction string  `json:"direction,omitempty"`
	OrigLen   int     `json:"orig_len"`
	Truncated bool    `json:"truncated,omitempty"`
	Note      string  `json:"note,omitempty"`
}

func readJSON(rp *readPacket, t0 time.Time) readJSONPacket {
	var fields []craft.Field
	if rp.linkOK {
		fields = craft.Explain(&rp.d)
	}
	jp := toJSON(rp.n-1, frame{bytes: rp.p.Data}, &rp.d, rp.derr, fields, rp.sums)
	if !rp.linkOK {
		jp.Layers = "none"
	}
	r := readJSONPacket{jsonPacket: jp, Link: pcap.LinkName(rp.p.LinkType), LinkType: rp.p.LinkType,
		OrigLen: rp.p.OrigLen, Truncated: rp.p.Truncated(), Note: rp.note}
	if !rp.p.Time.IsZero() {
		r.Time = rp.p.Time.UTC().Format(time.RFC3339Nano)
		r.Relative = rp.p.Time.Sub(t0).Seconds()
	}
	if rp.dir != pcap.DirUnknown {
		r.Direction = rp.dir.String()
	}
	return r
}

// runReadLadder draws the packets the filters keep as a ladder, in the
// terminal (--ladder) and as SVG (--svg FILE), times from the capture's clock.
func runReadLadder(w io.Writer, in io.Reader, name string, o *readOpts) error {
	var l ladder.Ladder
	_, err := readAll(name, in, o, func(rp *readPacket) error {
		if rp.linkOK {
			l.Add(rp.p.Time, &rp.d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if o.svg != "" {
		f, err := os.Create(o.svg)
		if err != nil {
			return usagef("--svg %q: %v", o.svg, errReason(err))
		}
		if err := l.SVG(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if o.ladder {
		return l.Text(w)
	}
	return nil
}
