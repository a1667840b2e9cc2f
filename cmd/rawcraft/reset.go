package main

import (
	"fmt"
	"io"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/rawcraft/rawcraft/session"
	"github.com/spf13/cobra"
)

type resetOpts struct {
	dst    targetValue
	dport  numValue
	sport  numValue
	offset intValue
	wait   time.Duration
	svg    string
}

func newResetCmd() *cobra.Command {
	o := &resetOpts{dport: port("a port is 1 to 65535"), sport: port("a port is 1 to 65535"),
		offset: intValue{min: -(1 << 31), max: 1<<32 - 1, rule: "a sequence-number offset is a whole number from -2147483648 to 4294967295 (32 bits)"}}
	cmd := &cobra.Command{
		Use:   "reset --dst SERVER --dport P [--sport CLIENTPORT] [--offset N]",
		Short: "reset a live TCP connection between two ordinary programs with a RST built by hand",
		Long: `reset watches a TCP connection between a client on this host and SERVER:P,
learns from the server's ACK the sequence number it expects next, and
sends the server a RST in the client's name with that number (plus
--offset). RFC 5961 §3.2 decides what happens: a RST exactly at the next
expected number resets the connection (the server application gets
ECONNRESET); one elsewhere inside the window earns a "challenge ACK" and the
connection lives on; one outside the window is silently ignored. The
segments seen meanwhile, the RST and the server's answer are drawn as a
ladder (--svg FILE: also as SVG), in the order of the kernel's timestamps.`,
		Example: `  sudo rawcraft lab exec hc -- rawcraft reset --dst 198.18.1.1 --dport 9999               # in window: killed
  sudo rawcraft lab exec hc -- rawcraft reset --dst 198.18.1.1 --dport 9999 --offset 100  # challenge ACK
  sudo rawcraft lab exec hc -- rawcraft reset --dst 198.18.1.1 --dport 9999 --offset 100000000  # ignored`,
		Args: noArgs,
	}
	fs := cmd.Flags()
	fs.Var(&o.dst, "dst", "the server: an IPv4 address or a host name (resolved once)")
	fs.Var(&o.dport, "dport", "the server's port")
	fs.Var(&o.sport, "sport", "the client's port (default: the first connection seen)")
	fs.Var(&o.offset, "offset", "added to the expected sequence number (0: exactly in window)")
	fs.StringVar(&o.svg, "svg", "", "also write the ladder (the segments seen, the RST, any challenge ACK) as an SVG file")
	durationVar(fs, &o.wait, "wait", 10*time.Second, "how long to wait for a segment of the connection")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := needFlags(cmd,
			"dst", "the server: an IPv4 address or a host name, such as 198.18.1.1",
			"dport", "the server's port, such as 9999"); err != nil {
			return err
		}
		_, err := runReset(cmd.OutOrStdout(), o)
		return err
	}
	return cmd
}

func runReset(out io.Writer, o *resetOpts) (session.ResetResult, error) {
	if o.dport.v == 0 {
		return session.ResetResult{}, usagef("--dport 0: a server listens on a port from 1 to 65535")
	}
	if o.wait <= 0 || o.wait > time.Minute {
		return session.ResetResult{}, usagef("--wait %v: more than 0, at most 1m", o.wait)
	}
	svg, err := createSVG(o.svg)
	if err != nil {
		return session.ResetResult{}, err
	}
	defer svg.Close()
	// The wire, recorded beside session.Reset's own sockets, for the ladder.
	var wire *wireRecorder
	if rt, err := rawsock.Resolve(o.dst.addr(), nil); err == nil {
		wire, _ = recordWire(rt.Iface, o.dst.addr(), uint16(o.dport.v))
	}
	r, err := session.Reset(session.ResetConfig{Dst: o.dst.addr(), DstPort: uint16(o.dport.v), SrcPort: uint16(o.sport.v), Offset: o.offset.v, Wait: o.wait})
	if err != nil {
		if wire != nil {
			wire.ladder(nil)
		}
		return r, err
	}
	if wire != nil {
		l := wire.ladder(func(d *craft.Decoded) bool { return connOf(d, r.Src, r.SrcPort, r.Dst, r.DstPort) })
		if err := writeLadder(out, svg, "The connection while rawcraft watched it", l); err != nil {
			return r, err
		}
	}
	fmt.Fprintf(out, "RST sent as %v:%d → %v:%d with seq %d (the server expects %d; offset %+d)\n", r.Src, r.SrcPort, r.Dst, r.DstPort, r.Seq, r.Expected, r.Offset)
	if r.ChallengeACK {
		fmt.Fprintf(out, "challenge ACK from the server, ack %d: %s\n", r.Expected, craft.ClaimRSTInWindowChallenged.Text())
	}
	switch {
	case r.Exact:
		fmt.Fprintln(out, craft.ClaimRSTExactResets.Text())
	case !r.ChallengeACK:
		fmt.Fprintln(out, "no answer: "+craft.ClaimRSTOutsideWindowIgnored.Text())
	}
	return r, nil
}
