package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/rawcraft/rawcraft/tcpseq"
	"github.com/spf13/cobra"
)

type jsonHeard struct {
	Time      string         `json:"time"`
	Dir       string         `json:"dir"`
	Length    int            `json:"length"`
	Summary   string         `json:"summary"`
	Layers    string         `json:"layers"`
	Error     string         `json:"error,omitempty"`
	Checksums []jsonChecksum `json:"checksums"`
	Hex       string         `json:"hex"`
}

func newListenCmd() *cobra.Command {
	var iface, proto, pcapFile string
	host := addrValue{v6: true}
	port := numValue{bits: 16, rule: "a port is 0 to 65535"}
	count := numValue{v: 1000, bits: 32, rule: fmt.Sprintf("the count is 1 to %d", maxCount)}
	var timeout time.Duration
	var asJSON, analyze, quiet bool
	var svgFile string
	cmd := &cobra.Command{
		Use:   "listen [--iface NAME] [--count N] [--timeout D] [--json] [--pcap FILE] [--analyze] [-q]",
		Short: "show every frame on an interface, decoded, with honest checksum status",
		Long: `listen captures frames on one interface through AF_PACKET, with the filter
(--proto, --host, --port) compiled to BPF and run in the kernel; IPv4, IPv6
and ARP, or the family --host names (--proto icmp is ICMP in IPv4 and ICMPv6
in IPv6; in IPv6 the protocol and port tests read what follows the fixed
header, so packets with extension headers fail them). Each frame
is shown with its kernel timestamp, direction (→ sent by this host, ← received),
a one-line decode and its checksums. A checksum the sending kernel left for
the NIC to fill (checksum offload; PACKET_AUXDATA says so) is shown as "not
yet filled (offload)", never as bad. It stops after --count frames or
--timeout, whichever comes first, or at Ctrl-C, and reports how many frames
the kernel dropped. It captures through a PACKET_RX_RING, so that it keeps
up with a flood; -q shows no frame, only that summary (with --pcap: a
capture to a file at full speed).

--analyze follows TCP: it marks retransmissions (with the time since the
previous copy and its ratio to the interval before — about 2 while the
retransmission timeout doubles, RFC 6298 §5.5), duplicate ACKs and zero
windows, and ends with every retransmitted segment's intervals: the
transport-layer article's Exercise 5.`,
		Example: `  sudo rawcraft lab up
  sudo rawcraft lab exec hs -- rawcraft listen --count 10
  sudo rawcraft lab exec hc -- rawcraft listen --proto icmp --timeout 30s --pcap icmp.pcap
  sudo rawcraft lab exec hc -- rawcraft listen --proto tcp --port 9999 --analyze --timeout 40s
  sudo rawcraft lab exec hs -- rawcraft listen -q --count 1000000 --timeout 20s`,
		Args: noArgs,
	}
	fs := cmd.Flags()
	fs.Var(ifaceValue{&iface}, "iface", "interface to listen on (default: the only one besides lo)")
	fs.Var(&count, "count", fmt.Sprintf("stop after this many frames (1 to %d)", maxCount))
	durationVar(fs, &timeout, "timeout", time.Minute, "stop after this long")
	fs.StringVar(&proto, "proto", "", "only tcp, udp or icmp")
	fs.Var(&host, "host", "only frames from or to this IPv4 or IPv6 address")
	fs.Var(&port, "port", "only TCP or UDP from or to this port")
	fs.BoolVar(&asJSON, "json", false, "one JSON object per frame")
	fs.BoolVar(&analyze, "analyze", false, "follow TCP: retransmissions and their intervals, duplicate ACKs, zero windows")
	fs.StringVar(&pcapFile, "pcap", "", "also write the frames to a pcap file")
	fs.StringVar(&svgFile, "svg", "", "with --analyze: write the time-sequence graph of the first TCP flow to FILE (SVG)")
	fs.BoolVarP(&quiet, "quiet", "q", false, "show no frame: only the summary (and --pcap)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
		if count.v < 1 || count.v > maxCount {
			return usagef("--count %d: 1 to %d", count.v, maxCount)
		}
		if timeout <= 0 || timeout > 24*time.Hour {
			return usagef("--timeout %v: more than 0, at most 24h", timeout)
		}
		if quiet && (asJSON || analyze) {
			return usagef("-q shows no frame: it goes with neither --json nor --analyze")
		}
		if proto == "icmp" && cmd.Flags().Changed("port") {
			return usagef("--port %d: ICMP has no ports; --port goes with --proto tcp or udp, or alone", port.v)
		}
		if svgFile != "" && !analyze {
			return usagef("--svg %q: the graph comes from --analyze; give both", svgFile)
		}
		f := rawsock.Filter{Host: host.a, Port: uint16(port.v)}
		if n, ok := protoNumbers[proto]; ok {
			f.Proto = n
		} else if proto != "" {
			return usagef("--proto %q: tcp, udp or icmp", proto)
		}
		prog, err := f.Compile()
		if err != nil {
			return err
		}
		svgOut, err := createOutput("--svg", svgFile)
		if err != nil {
			return err
		}
		if svgOut != nil {
			defer svgOut.Close() // written (and closed) at the end; closed here on an early return
		}
		var pw *pcap.Writer
		if pcapFile != "" {
			w, closeFile, err := createPcap(pcapFile, pcap.LinkEthernet)
			if err != nil {
				return err
			}
			defer closeFile()
			pw = w
		}
		if err := rawsock.CheckPrivilege(); err != nil {
			return err
		}
		ifi, err := pickInterface(iface)
		if err != nil {
			return err
		}
		// Through the RX ring: a capture tool must keep up with a flood,
		// and a few milliseconds before a lone frame shows do not matter.
		l, err := listen.Listen(ifi, &listen.Config{Filter: prog, Ring: true})
		if err != nil {
			return err
		}
		defer l.Close()
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		fmt.Fprintf(errw, "listening on %s (filter: %s) for at most %d frames or %v\n", ifi.Name, describeFilter(f), count.v, timeout)
		an := listen.NewTCPAnalyzer()
		var graph tcpseq.First
		start := time.Now()
		n, err := l.Capture(listen.CaptureConfig{Count: count.v, Deadline: start.Add(timeout), Stop: ctx.Done()}, func(p *listen.Packet) {
			if pw != nil {
				_ = pw.Write(p.Meta.Time, p.Frame)
			}
			if quiet {
				return
			}
			// The analyzer follows every TCP flow, --analyze or not: a
			// window field means bytes only with the scale its SYNs agreed.
			ev := an.Add(p)
			var note string
			if analyze {
				note = ev.Text()
				if svgFile != "" {
					graph.Add(p, ev)
				}
			}
			if ev.Scale > 0 && p.Decoded.Has(craft.LayerTCP) && p.Decoded.TCP.Flags&craft.TCPSyn == 0 {
				note = strings.TrimPrefix(note+fmt.Sprintf("; window %d bytes (%d × %d)", ev.Window, p.Decoded.TCP.Window, 1<<ev.Scale), "; ")
			}
			if asJSON {
				_ = writeJSON(out, heard(p))
				return
			}
			dir := "←"
			if p.Meta.Outgoing {
				dir = "→"
			}
			line := fmt.Sprintf("%s %s %s", p.Meta.Time.Format("15:04:05.000000"), dir, p.Decoded.Summary())
			var notes []string
			for _, n := range p.Notes() {
				if p.Err == nil || n != p.Err.Error() || !ipLengthPastEnd(p.Err) {
					notes = append(notes, n) // the summary says an IP length past the end
				}
			}
			if note != "" {
				notes = append(notes, note)
			}
			if len(notes) > 0 {
				line += "  [" + strings.Join(notes, "; ") + "]"
			}
			fmt.Fprintln(out, line)
		})
		if err != nil {
			return err
		}
		if analyze {
			for _, s := range an.Retransmitted() {
				fmt.Fprintln(out, s.Describe())
			}
		}
		if svgFile != "" {
			if err := writeGraph(svgOut, graph.Trace); err != nil {
				return err
			}
			fmt.Fprintf(errw, "time-sequence graph written to %s\n", svgFile)
		}
		// The kernel counts every frame that reached the socket, the
		// dropped ones included (PACKET_STATISTICS).
		seen, dropped, err := l.Stats()
		if err != nil {
			return err
		}
		el := time.Since(start)
		fmt.Fprintf(errw, "%s captured in %v (%.0f/s); the kernel dropped %d", craft.Units(n, "frame"), el.Round(time.Millisecond), float64(n)/el.Seconds(), dropped)
		if seen > dropped+n {
			fmt.Fprintf(errw, "; %d more were queued, unread when it stopped", seen-dropped-n)
		}
		fmt.Fprintln(errw)
		return nil
	}
	return cmd
}

// writeGraph writes a time-sequence graph as SVG into f (createOutput's)
// and closes it; with no graph, it removes f.
func writeGraph(f *os.File, tr *tcpseq.Trace) error {
	if tr == nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("%s: no TCP connection opened or carried data: no time-sequence graph", f.Name())
	}
	return errors.Join(tr.SVG(f), f.Close())
}

// heard is a captured frame as listen --json writes it.
func heard(p *listen.Packet) jsonHeard {
	j := jsonHeard{Time: p.Meta.Time.Format(time.RFC3339Nano), Dir: map[bool]string{true: "out", false: "in"}[p.Meta.Outgoing],
		Length: p.Meta.Len, Summary: p.Decoded.Summary(), Layers: layerNames(&p.Decoded), Hex: hex.EncodeToString(p.Frame), Checksums: []jsonChecksum{}}
	if p.Err != nil {
		j.Error = p.Err.Error()
	}
	for _, c := range p.Checksums() {
		j.Checksums = append(j.Checksums, jsonChecksum{Layer: c.Layer.String(), Quoted: c.Quoted, Got: c.Got, Want: c.Want, Status: c.Status.String()})
	}
	return j
}

func describeFilter(f rawsock.Filter) string {
	var parts []string
	if f.Proto != 0 {
		parts = append(parts, map[uint8]string{craft.ProtoTCP: "tcp", craft.ProtoUDP: "udp", craft.ProtoICMP: "icmp"}[f.Proto])
	}
	if f.Host.IsValid() {
		parts = append(parts, "host "+f.Host.String())
	}
	if f.Port != 0 {
		parts = append(parts, fmt.Sprintf("port %d", f.Port))
	}
	if len(parts) == 0 {
		return "IPv4, IPv6 and ARP"
	}
	return strings.Join(parts, " and ")
}

// pickInterface returns the named interface, or the only one besides lo.
func pickInterface(name string) (*net.Interface, error) {
	ifi, err := rawsock.ChooseInterface(name)
	if errors.Is(err, rawsock.ErrNoInterface) {
		return nil, usagef("--iface %q: no such interface here", name)
	}
	if errors.Is(err, rawsock.ErrAmbiguousInterface) {
		return nil, usageError{err}
	}
	return ifi, err
}

// ipLengthPastEnd reports whether err is the outer IPv4 total length or
// IPv6 payload length running past the bytes, which Summary already says.
func ipLengthPastEnd(err error) bool {
	var pe *craft.ParseError
	return errors.As(err, &pe) && errors.Is(err, craft.ErrTruncated) &&
		(pe.Layer == "IPv4" && pe.Field == "total length" || pe.Layer == "IPv6" && pe.Field == "payload length")
}
