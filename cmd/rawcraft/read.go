package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/rawcraft/rawcraft/tcpseq"
	"github.com/spf13/cobra"
)

type readOpts struct {
	explain, diagram, asJSON bool
	ladder                   bool
	svg                      string
	tcpseq                   string
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
judged. An IPv4 total length (or IPv6 payload length) of 0 is what a capture
on a sender with segmentation offload shows: the packet is decoded with the
bytes captured, and the line says so.

TCP segments carry Wireshark's analysis words, as its Info column shows them
([TCP Retransmission], [TCP Dup ACK 12#1], [TCP ZeroWindow], [TCP Window
Update], [TCP Keep-Alive], [TCP Out-Of-Order], …; --json: "analysis"),
worked out over the whole capture whatever the filters keep, with the
capture's frame numbers.`,
		Example: `  rawcraft read capture.pcapng
  rawcraft read --explain --packet 3 any.pcap.gz
  tcpdump -xx -c 1 -r capture.pcap | rawcraft read --diagram -
  rawcraft read --proto tcp --host 198.18.1.1 --port 9999 --json capture.pcap`,
		Args: argsRule(1, 1, "FILE, a capture or hex dump (- reads standard input)"),
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.explain, "explain", false, "a table of every field, its meaning and RFC, and the checksum verdicts")
	fl.BoolVar(&o.diagram, "diagram", false, "the RFC bit diagram of every header, filled with the values")
	fl.BoolVar(&o.asJSON, "json", false, "one JSON object per packet: fields, checksums, time, link, direction")
	fl.StringVar(&o.packets, "packet", "", "only these packets, numbered from 1: 3, 2-5, 7-, comma-separated")
	fl.StringVar(&o.proto, "proto", "", "only packets of this protocol: tcp, udp, icmp (ICMP or ICMPv6) or arp")
	fl.StringVar(&o.host, "host", "", "only packets from or to this IPv4 or IPv6 address")
	fl.IntVar(&o.port, "port", -1, "only TCP or UDP packets from or to this port")
	fl.BoolVar(&o.ladder, "ladder", false, "draw the exchange as a time-ordered sequence diagram, one lane per host")
	fl.StringVar(&o.svg, "svg", "", "also write the ladder as an SVG file")
	fl.StringVar(&o.tcpseq, "tcpseq", "", "write the time-sequence graph (tcptrace's) of the capture's first TCP flow to FILE (SVG)")
	fl.StringVar(&o.link, "link", "", "the link type of a hex dump: ether or raw (default: guessed from its first bytes, an IP header or a frame with a known EtherType, and said)")
	cmd.MarkFlagsMutuallyExclusive("json", "ladder")
	cmd.MarkFlagsMutuallyExclusive("json", "explain")
	cmd.MarkFlagsMutuallyExclusive("json", "diagram")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return runRead(cmd.OutOrStdout(), cmd.InOrStdin(), args[0], o)
	}
	return cmd
}

// readPacket is one packet of a capture, decoded.
type readPacket struct {
	n      int // from 1
	p      pcap.Packet
	guess  string // the hex dump's guessed link type and why (pcap.File.LinkGuess)
	dir    pcap.Direction
	link   pcap.Link
	linkOK bool // the link header was read and the network layer decoded
	note   string
	d      craft.Decoded
	derr   error
	eth    bool
	sums   []craft.ChecksumResult
	sumBuf [8]craft.ChecksumResult
	tcp    listen.TCPEvent // the TCP analysis of the packet, over every packet before it
}

// analyze runs the TCP analysis (Wireshark's tcp.analysis) on a packet;
// readAll calls it for every packet of the capture, kept or not, so that
// the analysis and its frame numbers are the capture's.
func analyze(an *listen.TCPAnalyzer, rp *readPacket) {
	lp := listen.Packet{Frame: rp.p.Data, Meta: rawsock.Meta{Time: rp.p.Time, Len: rp.p.OrigLen}}
	if rp.linkOK {
		lp.Decoded, lp.Err = rp.d, rp.derr
	}
	rp.tcp = an.Add(&lp)
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
	if f.proto != 0 && (d.Link|d.Layers)&f.proto == 0 {
		return false
	}
	if f.host.IsValid() {
		switch {
		case d.Has(craft.LayerIPv4):
			if d.IPv4.Src != f.host && d.IPv4.Dst != f.host {
				return false
			}
		case d.Has(craft.LayerIPv6):
			if d.IPv6.Src != f.host && d.IPv6.Dst != f.host {
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
		if st, err := f.Stat(); err == nil && st.IsDir() {
			f.Close()
			return nil, nil, usagef("%s: is a directory, not a capture file", name)
		}
		r, closeFn = f, f.Close
	}
	pf, err := pcap.Open(r)
	if err != nil {
		closeFn()
		return nil, nil, usagef("%s: %v", name, err)
	}
	if pf.Format == pcap.FormatHex {
		if link != "" {
			pf.LinkGuess = ""
		}
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
		return nil, nil, usagef("%s: %s capture of %s: not decoded (rawcraft reads Ethernet, raw IP, Linux cooked SLL/SLL2 and loopback)", name, pf.Format, pcap.LinkTypeWords(pf.LinkType))
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
	an := listen.NewTCPAnalyzer()
	numbered := false // a packet whose number --packet names exists
	for n := 1; ; n++ {
		p, err := pf.Next()
		if err == io.EOF {
			switch {
			case !numbered && len(flt.ranges) > 0 && n > 1:
				return pf, usagef("--packet %s: the capture has %d packet%s", o.packets, n-1, map[bool]string{true: "", false: "s"}[n == 2])
			}
			return pf, nil
		}
		if err != nil {
			// A damaged file is bad input, like one that is not a capture
			// at all (exit 2); the packets before the damage were shown.
			return pf, usagef("%s: damaged after %d packet%s: %v", name, n-1, map[bool]string{true: "", false: "s"}[n == 2], err)
		}
		if pf.Format == pcap.FormatHex && p.LinkType != pf.LinkType {
			p.LinkType = pf.LinkType
		}
		numbered = numbered || inRanges(flt.ranges, n)
		*rp = readPacket{n: n, p: p, guess: pf.LinkGuess}
		decodeCaptured(rp)
		analyze(an, rp)
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
	graphOut, err := createOutput("--tcpseq", o.tcpseq)
	if err != nil {
		return err
	}
	var t0 time.Time
	first := true
	var graph tcpseq.First
	pf, err := readAll(name, in, o, func(rp *readPacket) error {
		if first {
			t0, first = rp.p.Time, false
			if g := rp.guess; g != "" && !o.asJSON {
				fmt.Fprintf(w, "hex dump, link type guessed: %s\n", g)
			}
		}
		if o.tcpseq != "" && rp.linkOK {
			lp := listen.Packet{Frame: rp.p.Data, Meta: rawsock.Meta{Time: rp.p.Time, Len: rp.p.OrigLen}, Decoded: rp.d, Err: rp.derr}
			graph.Add(&lp, rp.tcp)
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
		fields := craft.ExplainChecked(&rp.d, rp.sums)
		// A capture its snapshot length cut is the capture's doing: what
		// the bytes lack is not the packet's fault, and a receiver got it all.
		capCut := rp.p.OrigLen > len(rp.p.Data)
		if capCut {
			fmt.Fprintf(w, "  (the capture kept %d of the packet's %s, its snapshot length; the rest was not recorded)\n", len(rp.p.Data), craft.Units(rp.p.OrigLen, "byte"))
		}
		if rp.derr != nil && !(capCut && errors.Is(rp.derr, craft.ErrTruncated)) {
			fmt.Fprintf(w, "  (a receiver reads it as: %v)\n", rp.derr)
		}
		if txt := rp.tcp.Text(); txt != "" {
			fmt.Fprintf(w, "  TCP analysis: %s\n", txt)
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
	if err == nil && pf != nil && pf.Packets == 0 && !o.asJSON {
		fmt.Fprintf(w, "%s: a %s file that holds no packets\n", name, pf.Format)
	}
	if graphOut != nil {
		if err != nil {
			graphOut.Close()
			os.Remove(graphOut.Name())
			return err
		}
		err = writeGraph(graphOut, graph.Trace)
	}
	return err
}
