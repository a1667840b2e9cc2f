package main

import (
	"fmt"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/spf13/cobra"
)

func newChecksumCmd() *cobra.Command {
	var src, dst addrValue
	sport, dport := port("a port is 0 to 65535"), port("a port is 0 to 65535")
	var tcp, asJSON bool
	var dataHex bytesValue
	dataHex.parse = craft.ParseHex
	cmd := &cobra.Command{
		Use:   "checksum [--src A --dst B --sport P --dport Q] [DATA]",
		Short: "compute the Internet checksum step by step (RFC 1071), alone or as UDP/TCP with the pseudo-header",
		Long: `checksum adds DATA as 16-bit words, folds each carry back in and takes the
complement, showing every step: the transport-layer article's worked example.
With addresses or ports it computes the UDP checksum (or TCP with --tcp) of
DATA as a segment's payload, pseudo-header and header included (RFC 768).`,
		Example: `  # the article's example: "Computer" → 0x7439
  rawcraft checksum Computer
  # Exercise 3: three messages with one UDP checksum
  rawcraft checksum --src 198.18.1.3 --dst 198.18.1.1 --sport 40000 --dport 8192 Hello
  rawcraft checksum --src 198.18.1.3 --dst 198.18.1.1 --sport 40000 --dport 8192 UQUQUQHello
  rawcraft checksum --src 198.18.1.3 --dst 198.18.1.1 --sport 40000 --dport 8192 llHeo
  # bytes given as hex
  rawcraft checksum --data-hex 436f6d7075746572`,
		Args: argsRule(0, 1, "DATA, one argument (quote text with spaces)"),
	}
	fs := cmd.Flags()
	fs.Var(&src, "src", "pseudo-header source address (default 198.18.1.3)")
	fs.Var(&dst, "dst", "pseudo-header destination address (default 198.18.1.1)")
	fs.Var(&sport, "sport", "source port (default 40000)")
	fs.Var(&dport, "dport", "destination port (default 9999)")
	fs.BoolVar(&tcp, "tcp", false, "a TCP segment (a bare header with ACK) instead of UDP")
	fs.Var(&dataHex, "data-hex", "the data as hex digits instead of text")
	fs.BoolVar(&asJSON, "json", false, "print the steps as JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var data []byte
		switch {
		case len(args) == 1 && fs.Changed("data-hex"):
			return usagef("give DATA as text or as --data-hex, not both")
		case len(args) == 1:
			data = []byte(args[0])
		case fs.Changed("data-hex"):
			data = dataHex.b
		default:
			return usagef("no DATA: give text (rawcraft checksum Computer) or --data-hex")
		}
		transport := tcp
		for _, n := range []string{"src", "dst", "sport", "dport"} {
			transport = transport || fs.Changed(n)
		}
		var steps craft.ChecksumSteps
		what := fmt.Sprintf("Internet checksum of %d bytes", len(data))
		if transport {
			if !src.a.IsValid() {
				_ = src.Set(defaultSrc)
			}
			if !dst.a.IsValid() {
				_ = dst.Set(defaultDst)
			}
			if !fs.Changed("sport") {
				sport.v = defaultSport
			}
			if !fs.Changed("dport") {
				dport.v = defaultDport
			}
			ip := &craft.IPv4{Src: src.a, Dst: dst.a}
			p := craft.Packet{IPv4: ip, Payload: data}
			proto := craft.ProtoUDP
			if tcp {
				p.TCP = &craft.TCP{SrcPort: uint16(sport.v), DstPort: uint16(dport.v), Flags: craft.TCPAck}
				proto = craft.ProtoTCP
			} else {
				p.UDP = &craft.UDP{SrcPort: uint16(sport.v), DstPort: uint16(dport.v)}
			}
			b, err := p.Append(nil)
			if err != nil {
				return usageError{err}
			}
			steps = craft.TransportSteps(src.a, dst.a, proto, b[ip.Len():])
			name := map[uint8]string{craft.ProtoUDP: "UDP", craft.ProtoTCP: "TCP"}[proto]
			what = fmt.Sprintf("%s checksum of %d data bytes from %v:%d to %v:%d", name, len(data), src.a, sport.v, dst.a, dport.v)
			if proto == craft.ProtoUDP && steps.Checksum == 0 {
				what += " (a computed 0 is sent as 0xFFFF: 0 means no checksum)"
			}
		} else {
			steps = craft.StepsOf(data)
		}
		w := cmd.OutOrStdout()
		if asJSON {
			return writeJSON(w, steps)
		}
		fmt.Fprintln(w, what)
		fmt.Fprint(w, steps.String())
		return nil
	}
	return cmd
}
