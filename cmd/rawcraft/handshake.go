package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/ladder"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/rawcraft/rawcraft/session"
	"github.com/spf13/cobra"
)

type handshakeOpts struct {
	dst     targetValue
	dport   numValue
	sport   numValue
	data    string
	tcpOpt  bytesValue
	guard   string
	ghost   addrValue
	rto     time.Duration
	retries numValue
	svg     string
	pcap    string
}

func newHandshakeCmd() *cobra.Command {
	o := &handshakeOpts{dport: port("a port is 0 to 65535"), sport: port("a port is 1 to 65535"),
		retries: numValue{v: 5, bits: 8, rule: "retries are 0 to 10"}, tcpOpt: bytesValue{parse: craft.ParseTCPOptions}}
	cmd := &cobra.Command{
		Use:   "handshake --dst ADDR --dport P [--data STR] [--tcp-opt …] [--guard auto|ghost|firewall|none]",
		Short: "open, talk over and close a real TCP connection with segments rawcraft builds by hand",
		Long: `handshake drives a whole TCP connection by hand against a real server: SYN
with the options you choose, the server's SYN-ACK (its options shown), ACK,
your data with PSH|ACK, the server's ACK and any reply, then FIN|ACK, the
server's FIN|ACK, and the last ACK. Every step shows the sequence and
acknowledgement numbers, absolute and relative, and the arithmetic behind
them. rawcraft retransmits its own segments when they go unanswered (the
timeout doubling, at most --retries times) and acknowledges the server's
retransmissions. A closed port ends it with the RST, explained.

When the connection ends, every segment of both directions is listed in
the order the wire saw them — the kernel's timestamps of the frames on the
interface, one clock for what was sent and what arrived — and the same
record is drawn as a ladder; --svg FILE writes the ladder as SVG, --pcap
FILE the same segments as a capture. Who sent a segment is read from its
addresses and ports: client → server or server → client, marked rawcraft
when rawcraft built it and KERNEL when this host's kernel did.

To this host's own address (127.0.0.1, or an address of one of its
interfaces) the segments travel on lo, where rawcraft sends through a raw
IP socket: Linux drops a frame injected on lo through a packet socket (its
source is a local address, a martian there).

Your own kernel would reset the connection as soon as the SYN-ACK arrives —
it has no socket for it. A guard keeps it out:
  ghost     speak from an address no interface owns, answering ARP for it
            (no firewall change) — the default in the lab, and only there:
            on a real network rawcraft never answers ARP for an address;
  firewall  an nftables rule in this namespace drops only this
            connection's outgoing RSTs (its 4-tuple), in a table named for
            the run, removed at the end, on Ctrl-C, TERM and HUP, and by
            rawcraft cleanup after a crash — the default outside the lab;
  none      no guard: see the kernel's RST once, as a lesson.
auto picks ghost when a free address answers no ARP, else firewall.`,
		Example: `  # a server on your own machine, or the laptop next to you
  nc -l 127.0.0.1 8080 &
  sudo rawcraft handshake --dst 127.0.0.1 --dport 8080 --data "Hello"
  sudo rawcraft handshake --dst 192.168.1.20 --dport 80 --data "GET / HTTP/1.0"$'\r\n\r\n'
  # in the lab
  sudo rawcraft lab up
  sudo rawcraft lab exec hs -- nc -l 198.18.1.1 9999 &      # or any server
  sudo rawcraft lab exec hc -- rawcraft handshake --dst 198.18.1.1 --dport 9999 --data "Hello"
  sudo rawcraft lab exec hc -- rawcraft handshake --dst 198.18.1.1 --dport 9999 --tcp-opt mss=536,sackok,ts=1:0,nop,wscale=2
  sudo rawcraft lab exec hc -- rawcraft handshake --dst 198.18.1.1 --dport 9998             # closed: the RST
  sudo rawcraft lab exec hc -- rawcraft handshake --dst 198.18.1.1 --dport 9999 --guard none # the kernel's RST`,
		Args: noArgs,
	}
	fs := cmd.Flags()
	fs.Var(&o.dst, "dst", "the server: an IPv4 address or a host name (resolved once)")
	fs.Var(&o.dport, "dport", "the server's port, 0 to 65535: 0 is sent as given, like any port you name (no Linux socket can listen on it, so expect a RST)")
	fs.Var(&o.sport, "sport", "our port (default: random)")
	fs.StringVar(&o.data, "data", "", "data to send once connected")
	fs.Var(&o.tcpOpt, "tcp-opt", "the SYN's options (default mss=1460,sackok,ts=…,nop,wscale=7, as Linux)")
	fs.StringVar(&o.guard, "guard", "auto", "keep the kernel's RST out: auto, ghost, firewall or none")
	fs.Var(&o.ghost, "ghost", "the ghost address (default: a free one of the subnet)")
	durationVar(fs, &o.rto, "rto", 300*time.Millisecond, "first retransmission timeout; it doubles")
	fs.Var(&o.retries, "retries", "retransmissions of one segment before giving up (0 to 10)")
	fs.StringVar(&o.svg, "svg", "", "also write the exchange's ladder as an SVG file")
	fs.StringVar(&o.pcap, "pcap", "", "also write the exchange's segments, both directions, to a pcap file")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := needFlags(cmd,
			"dst", "the server: an IPv4 address or a host name, such as 198.18.1.1 or localhost",
			"dport", "the server's port, such as 9999"); err != nil {
			return err
		}
		_, err := runHandshake(cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		return err
	}
	return cmd
}

func runHandshake(out, errw io.Writer, o *handshakeOpts) (session.Result, error) {
	guard, err := session.ParseGuard(o.guard)
	if err != nil {
		return session.Result{}, usagef("--guard %q: auto, ghost, firewall or none", o.guard)
	}
	if o.ghost.a.IsValid() && guard != session.GuardGhost && guard != session.GuardAuto {
		return session.Result{}, usagef("--ghost %v: goes with --guard ghost (or auto), not %s", o.ghost.a, guard)
	}
	if o.retries.v > 10 || o.rto <= 0 || o.rto > 10*time.Second {
		return session.Result{}, usagef("--retries %d, --rto %v: at most 10 retries, a timeout up to 10s", o.retries.v, o.rto)
	}
	if len(o.data) > session.MaxData {
		return session.Result{}, usagef("--data: %d bytes; handshake sends one segment, at most %d bytes", len(o.data), session.MaxData)
	}
	svg, err := createSVG(o.svg)
	if err != nil {
		return session.Result{}, err
	}
	defer svg.Close()
	var pw *pcap.Writer
	if o.pcap != "" {
		w, closeFile, err := createPcap(o.pcap, pcap.LinkEthernet)
		if err != nil {
			return session.Result{}, err
		}
		defer closeFile()
		pw = w
	}
	o.dst.showResolved(errw)
	var opts []byte // nil: session's default, as Linux
	if o.tcpOpt.shown != "" {
		opts = append([]byte{}, o.tcpOpt.b...)
	}
	retries := int(o.retries.v)
	if retries == 0 {
		retries = -1 // session: 0 is its default, negative none
	}
	// Ctrl-C, TERM or HUP, from before the guard is made: the guard goes
	// first, then the process.
	trap := trapSignals(errw)
	defer trap.end()
	var c *session.Client
	err = trap.make(func() (func() error, error) {
		var err error
		c, err = session.NewClient(session.ClientConfig{
			Dst: o.dst.addr(), DstPort: uint16(o.dport.v), SrcPort: uint16(o.sport.v), Options: opts, Data: []byte(o.data),
			RTO: o.rto, Retries: retries, Guard: guard, Ghost: o.ghost.a,
			Scope: guardScope(),
		})
		if err != nil {
			return nil, err
		}
		return c.Close, nil
	})
	if errors.Is(err, session.ErrBadGhost) {
		return session.Result{}, usagef("--ghost %v: %v", o.ghost.a, err)
	}
	if err != nil {
		return session.Result{}, err
	}
	defer func() {
		if err := c.Close(); err != nil {
			fmt.Fprintln(errw, err)
		}
	}()
	fmt.Fprintln(out, c.GuardNote)
	res, err := c.Run()
	if trap.interrupted() {
		select {} // Run ended because the signal closed its sockets: the signal's goroutine exits with 130
	}
	// One record, the list and the ladder: the same segments, times and order.
	server := netip.AddrPortFrom(o.dst.addr(), uint16(o.dport.v))
	printSteps(out, res.Steps, server)
	if lerr := writeLadder(out, svg, "The exchange as the wire saw it", ladderOfSteps(res.Steps)); lerr != nil {
		fmt.Fprintln(errw, lerr)
	}
	if pw != nil {
		for _, s := range res.Steps {
			if werr := pw.Write(s.Time, s.Frame); werr != nil {
				fmt.Fprintf(errw, "rawcraft: --pcap %s: %v\n", o.pcap, werr)
				break
			}
		}
	}
	switch {
	case err != nil:
		fmt.Fprintf(out, "gave up: %v\n", err)
	case res.Refused:
		fmt.Fprintf(out, "the connection was refused: nothing listens on %v:%d\n", o.dst.addr(), o.dport.v)
	case res.KernelRST:
		fmt.Fprintln(out, "this host's kernel reset the connection; run with --guard ghost or --guard firewall to keep it out")
	case res.Reset:
		fmt.Fprintln(out, "the server reset the connection")
	case res.Closed:
		fmt.Fprintf(out, "connection opened, %s sent, %d received, closed in order (%s)\n", bytesWord(len(o.data)), len(res.Received), closeWords(res.Steps))
	default:
		fmt.Fprintln(out, "the connection did not close in order")
	}
	return res, err
}

// printSteps lists steps, timed from the first.
func printSteps(out io.Writer, steps []session.Step, server netip.AddrPort) {
	p := stepPrinter(out, server)
	for _, s := range steps {
		p(s)
	}
}

// stepPrinter renders each segment of a conversation with the server at
// server: time since the first, who sent it to whom (read from the
// segment's addresses and ports), who built it when this host did
// (rawcraft, or its KERNEL), flags, numbers, options, data, and why.
func stepPrinter(out io.Writer, server netip.AddrPort) func(session.Step) {
	var t0 time.Time
	return func(s session.Step) {
		if t0.IsZero() {
			t0 = s.Time
		}
		from, to := "client", "server"
		if s.From == server {
			from, to = "server", "client"
		}
		by := ""
		switch {
		case s.Kernel:
			by = "KERNEL"
		case s.Out:
			by = "rawcraft"
		}
		line := fmt.Sprintf("%9.3f ms %s → %s %-8s %-8s seq %d (rel %d)", float64(s.Time.Sub(t0).Nanoseconds())/1e6, from, to, by, craft.FlagNames(s.Flags), s.Seq, s.RelSeq)
		if s.Flags&craft.TCPAck != 0 {
			line += fmt.Sprintf(" ack %d (rel %d)", s.Ack, s.RelAck)
		}
		if !s.Kernel {
			if s.Scale > 0 {
				line += fmt.Sprintf(" win %d (×%d = %s) len %d", s.Window, 1<<s.Scale, bytesWord(int(s.Window)<<s.Scale), s.Len)
			} else {
				line += fmt.Sprintf(" win %d len %d", s.Window, s.Len)
			}
		}
		if !s.Wire {
			line += " (time from rawcraft's clock: its frame was not seen on the wire)"
		}
		fmt.Fprintln(out, line)
		if len(s.Options) > 0 {
			fmt.Fprintf(out, "%14s options: %s\n", "", strings.Join(s.Options, "; "))
		}
		if s.Len > 0 {
			fmt.Fprintf(out, "%14s data: %q\n", "", s.Payload)
		}
		fmt.Fprintf(out, "%14s %s\n", "", s.Why)
	}
}

// bytesWord is n with its unit: "1 byte", "2 bytes".
func bytesWord(n int) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// ladderOfSteps draws a conversation's record: the same segments, times
// and order as its list.
func ladderOfSteps(steps []session.Step) *ladder.Ladder {
	l := new(ladder.Ladder)
	d := new(craft.Decoded)
	for _, s := range steps {
		if err := d.DecodeFrame(s.Frame); err != nil && d.Layers&craft.LayerIPv4 == 0 {
			continue
		}
		l.Add(s.Time, d)
	}
	return l
}

// wireRecorder records the TCP frames to and from one server port on an
// interface, both directions, each with the kernel's timestamp: AF_PACKET
// stamps a frame leaving this host (the copy it hands every packet socket
// but the sender's) and one arriving with the same clock, so the ladder's
// order is the wire's. reset draws its ladder from it (session.Reset keeps
// no record of a connection it only watches).
type wireRecorder struct {
	rx  *listen.Listener
	rec *listen.Recorder
}

// maxLadderFrames bounds what a wireRecorder keeps.
const maxLadderFrames = 1000

func recordWire(ifi *net.Interface, host netip.Addr, port uint16) (*wireRecorder, error) {
	if ifi == nil {
		return nil, errors.New("no interface to record on")
	}
	prog, err := rawsock.Filter{Proto: craft.ProtoTCP, Host: host, Port: port}.Compile()
	if err != nil {
		return nil, err
	}
	rx, err := listen.Listen(ifi, &listen.Config{Filter: prog})
	if err != nil {
		return nil, err
	}
	return &wireRecorder{rx: rx, rec: listen.Record(rx, maxLadderFrames)}, nil
}

// ladder stops the recording and draws the frames keep accepts.
func (w *wireRecorder) ladder(keep func(*craft.Decoded) bool) *ladder.Ladder {
	// A frame sent last is on the socket already: AF_PACKET's copy of an
	// outgoing frame is queued before the send returns.
	time.Sleep(20 * time.Millisecond)
	frames := w.rec.Stop()
	if ifi := w.rx.Interface(); ifi != nil && ifi.Flags&net.FlagLoopback != 0 {
		// On lo every frame shows twice, leaving and arriving: keep the
		// arriving copy, as libpcap does.
		kept := frames[:0]
		for _, f := range frames {
			if !f.Meta.Outgoing {
				kept = append(kept, f)
			}
		}
		frames = kept
	}
	w.rx.Close()
	return ladderOf(frames, keep)
}

// ladderOf draws the frames keep accepts, in the order of their kernel
// timestamps (one clock for both directions).
func ladderOf(frames []listen.Captured, keep func(*craft.Decoded) bool) *ladder.Ladder {
	sort.SliceStable(frames, func(i, j int) bool { return frames[i].Meta.Time.Before(frames[j].Meta.Time) })
	l := new(ladder.Ladder)
	d := new(craft.Decoded)
	for _, f := range frames {
		if err := d.DecodeFrame(f.Frame); err != nil && d.Layers&craft.LayerIPv4 == 0 {
			continue
		}
		if keep == nil || keep(d) {
			l.Add(f.Meta.Time, d)
		}
	}
	return l
}

// connOf reports whether d is a TCP segment of the connection a:ap ↔ b:bp,
// either way.
func connOf(d *craft.Decoded, a netip.Addr, ap uint16, b netip.Addr, bp uint16) bool {
	if d.Layers&craft.LayerTCP == 0 {
		return false
	}
	s, sp, t, tp := d.IPv4.Src, d.TCP.SrcPort, d.IPv4.Dst, d.TCP.DstPort
	return s == a && sp == ap && t == b && tp == bp || s == b && sp == bp && t == a && tp == ap
}

// createSVG creates the --svg file before anything is sent, so that a path
// that cannot be written is bad input; "" is no file (a nil *os.File, whose
// Close is harmless).
func createSVG(name string) (*os.File, error) { return createOutput("--svg", name) }

// createOutput creates the file an output flag names, before anything is
// read, sent or printed, so that a path that cannot be written is bad input
// (exit 2) and not a failure after the work; nil when name is "".
func createOutput(flag, name string) (*os.File, error) {
	if name == "" {
		return nil, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, usagef("%s %q: %v", flag, name, errReason(err))
	}
	return f, nil
}

// writeLadder prints title and the ladder l, and writes it as SVG to svg
// when there is one.
func writeLadder(out io.Writer, svg *os.File, title string, l *ladder.Ladder) error {
	fmt.Fprintf(out, "%s (kernel timestamps of both directions, one clock):\n", title)
	if err := l.Text(out); err != nil {
		return err
	}
	if svg != nil {
		if err := l.SVG(svg); err != nil {
			return fmt.Errorf("--svg %s: %w", svg.Name(), err)
		}
	}
	return nil
}

// exitInterrupted is the status after a signal stopped a run: 128 + SIGINT.
const exitInterrupted = 130

// guardScope is what a guard may touch here: in the lab, its namespace and
// a ghost from its range; elsewhere no ghost (never answer ARP for an
// address on a real network) and a firewall table named for this run.
func guardScope() session.Scope {
	if ns := lab.Current(); ns != "" {
		return session.Scope{Namespace: ns, Ghosts: lab.Net}
	}
	return session.Scope{}
}

// closeWords says how a connection that closed in order closed, from the
// segments seen: only a close of four segments is called four-way.
func closeWords(steps []session.Step) string {
	if w := session.Teardown(steps).Words(); w != "" {
		return w
	}
	return "both FINs acknowledged"
}
