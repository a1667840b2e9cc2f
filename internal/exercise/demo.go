package exercise

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/probe"
)

// The demo's ports on Hs: one for each state.
const (
	demoFiltered = 9997 // an nftables rule in Hs drops it
	demoClosed   = 9998 // nothing listens
	demoOpen     = 9999 // a TCP and a UDP server listen
)

type demoRow struct {
	port                      uint16
	tcpProbe, udpProbe        probe.Result
	tcpSocket, udpSocket      string
	tcpSocketErr, udpSocketOK bool
}

// Demo asks the transport-layer article's question on a lab of its own —
// what happens when the server is not running? — and tells the story on
// out: a TCP and a UDP server on Hs port 9999, port 9998 closed, port 9997
// dropped by an nftables rule in Hs; each port asked once as an ordinary
// socket would and once with rawcraft's probes; the RST and the ICMP port
// unreachable with the header it quotes; a summary table. The lab is removed
// at the end, also when it fails. It needs root.
func Demo(out, errw io.Writer) error {
	start := time.Now()
	if os.Geteuid() != 0 {
		return lab.ErrPermission
	}
	fmt.Fprintln(out, "Building the lab: Hc 198.18.1.3 — S1 — S2 — Hs 198.18.1.1, in network namespaces.")
	l, err := lab.Up(lab.Config{Name: fmt.Sprintf("demo%d", os.Getpid())})
	if err != nil {
		return err
	}
	defer func() {
		if err := l.Down(); err != nil {
			fmt.Fprintf(errw, "removing the lab: %v\n", err)
			return
		}
		fmt.Fprintf(out, "\nThe lab is removed; nothing is left behind. (%.1f s in all)\n", time.Since(start).Seconds())
	}()

	// Servers on Hs, opened inside its namespace; closing them ends their loops.
	stopServers, err := l.Servers(lab.Hs, fmt.Sprintf("198.18.1.1:%d", demoOpen))
	if err != nil {
		return err
	}
	defer stopServers()
	var undo []func() error
	for _, proto := range []uint8{craft.ProtoTCP, craft.ProtoUDP} {
		u, err := l.DropPort(lab.Hs, proto, demoFiltered)
		if err != nil {
			return err
		}
		undo = append(undo, u)
	}
	defer func() {
		for _, u := range undo {
			_ = u()
		}
	}()
	fmt.Fprintf(out, "On Hs: TCP and UDP servers on port %d; port %d closed; port %d dropped by an nftables rule in Hs (github.com/google/nftables).\n\n", demoOpen, demoClosed, demoFiltered)

	rows := []*demoRow{{port: demoFiltered}, {port: demoClosed}, {port: demoOpen}}
	// 1. What an ordinary socket on Hc sees.
	fmt.Fprintln(out, "1. An ordinary socket on Hc asks each port:")
	err = l.Do(lab.Hc, func() error {
		for _, r := range rows {
			addr := fmt.Sprintf("198.18.1.1:%d", r.port)
			c, err := net.DialTimeout("tcp4", addr, 700*time.Millisecond)
			switch {
			case err == nil:
				r.tcpSocket = "connect(): connected"
				c.Close()
			case errors.Is(err, syscall.ECONNREFUSED):
				r.tcpSocket, r.tcpSocketErr = "connect(): ECONNREFUSED", true
			default:
				r.tcpSocket, r.tcpSocketErr = "connect(): timed out, no answer", true
			}
			u, err := net.ListenPacket("udp4", "198.18.1.3:0")
			if err != nil {
				return err
			}
			dst, _ := net.ResolveUDPAddr("udp4", addr)
			_, werr := u.WriteTo([]byte("Hello"), dst)
			_ = u.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			buf := make([]byte, 100)
			n, _, rerr := u.ReadFrom(buf)
			switch {
			case werr != nil:
				r.udpSocket = "sendto(): " + werr.Error()
			case rerr == nil:
				r.udpSocket, r.udpSocketOK = fmt.Sprintf("sendto() ok; reply %q", buf[:n]), true
			default:
				r.udpSocket = "sendto() ok; then nothing at all"
			}
			u.Close()
			fmt.Fprintf(out, "   port %d  TCP %-34s UDP %s\n", r.port, r.tcpSocket, r.udpSocket)
		}
		return nil
	})
	if err != nil {
		return err
	}

	// 2. What rawcraft's probes see.
	fmt.Fprintln(out, "\n2. rawcraft probes the same ports from Hc and listens on the wire:")
	var rst, unreach []byte
	for _, proto := range []uint8{craft.ProtoTCP, craft.ProtoUDP} {
		cfg := probe.Config{Proto: proto, Dst: lab.AddrHs, Ports: []uint16{demoFiltered, demoClosed, demoOpen},
			Timeout: 400 * time.Millisecond, Retries: 1,
			Packet: craft.Packet{IPv4: &craft.IPv4{}, TCP: &craft.TCP{Flags: craft.TCPSyn, Window: 64240}}}
		if proto == craft.ProtoUDP {
			cfg.Packet = craft.Packet{IPv4: &craft.IPv4{}, UDP: &craft.UDP{}, Payload: []byte("Hello")}
		}
		cfg.OnPacket = func(k listen.Kind, i int, p *listen.Packet) {
			if k != listen.Answer {
				return
			}
			d := &p.Decoded
			if d.Has(craft.LayerTCP) && d.TCP.Flags&craft.TCPRst != 0 && rst == nil {
				rst = append([]byte(nil), p.Frame...)
			}
			if d.Has(craft.LayerICMP) && unreach == nil {
				unreach = append([]byte(nil), p.Frame...)
			}
		}
		var rep *probe.Report
		err := l.Do(lab.Hc, func() error {
			var err error
			rep, err = probe.Run(cfg)
			return err
		})
		if err != nil {
			return err
		}
		for i, r := range rep.Results {
			if proto == craft.ProtoTCP {
				rows[i].tcpProbe = r
			} else {
				rows[i].udpProbe = r
			}
			fmt.Fprintln(out, "   "+r.Describe())
		}
	}
	if rst != nil {
		fmt.Fprintln(out, "\n3. The RST that told the ordinary socket ECONNREFUSED:")
		showReply(out, rst, []string{"TCP"})
	}
	if unreach != nil {
		fmt.Fprintln(out, "\n4. The ICMP port unreachable that the ordinary UDP socket never saw, with the header it quotes:")
		showReply(out, unreach, []string{"ICMP", "quoted IPv4", "quoted UDP"})
	}

	fmt.Fprintln(out, "\nSummary:")
	fmt.Fprintf(out, "  %-6s %-40s %-34s %-44s %s\n", "port", "TCP probe (state, reason, rtt)", "TCP ordinary socket", "UDP probe (state, reason, rtt)", "UDP ordinary socket")
	for _, r := range rows {
		fmt.Fprintf(out, "  %-6d %-40s %-34s %-44s %s\n", r.port, cell(r.tcpProbe), r.tcpSocket, cell(r.udpProbe), r.udpSocket)
	}
	return nil
}

func cell(r probe.Result) string {
	s := fmt.Sprintf("%s, %s", r.State, r.Reply.Reason)
	if r.Reply.Reason != listen.NoResponse {
		s += ", " + probe.Millis(r.RTT)
	}
	return s
}

// showReply prints the fields of some layers of a captured frame.
func showReply(w io.Writer, frame []byte, layers []string) {
	var d craft.Decoded
	_ = d.DecodeFrame(frame)
	fmt.Fprintf(w, "   %s\n", d.Summary())
	var sums [8]craft.ChecksumResult
	_ = d.Checksums(sums[:0])
	for _, f := range craft.Explain(&d) {
		for _, l := range layers {
			if f.Layer == l {
				v := f.Text
				if len([]rune(v)) > 22 {
					v = string([]rune(v)[:21]) + "…"
				}
				fmt.Fprintf(w, "   %-12s %-22s %-22s %s\n", f.Layer, f.Name, v, strings.TrimSpace(f.Meaning))
			}
		}
	}
}
