package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/spf13/cobra"
)

type resetOpts struct {
	dst    addrValue
	dport  numValue
	sport  numValue
	offset int64
	wait   time.Duration
}

// resetOutcome is what the server did with the RST.
type resetOutcome struct {
	Seq          uint32 // the RST's sequence number
	Expected     uint32 // the server's next expected sequence number
	ChallengeACK bool   // the server answered with an ACK (RFC 5961 §3.2)
	Sport        uint16
}

func newResetCmd() *cobra.Command {
	o := &resetOpts{dport: port("a port is 1 to 65535"), sport: port("a port is 1 to 65535")}
	cmd := &cobra.Command{
		Use:   "reset --dst SERVER --dport P [--sport CLIENTPORT] [--offset N]",
		Short: "reset a live TCP connection between two ordinary programs with a RST built by hand",
		Long: `reset watches a TCP connection between a client on this host and SERVER:P,
learns from the server's ACK the sequence number it expects next, and
sends the server a RST in the client's name with that number (plus
--offset). RFC 5961 §3.2 decides what happens: a RST exactly at the next
expected number resets the connection (the server application gets
ECONNRESET); one elsewhere inside the window earns a "challenge ACK" and the
connection lives on; one outside the window is silently ignored.`,
		Example: `  sudo rawcraft lab exec hc -- rawcraft reset --dst 198.18.1.1 --dport 9999               # in window: killed
  sudo rawcraft lab exec hc -- rawcraft reset --dst 198.18.1.1 --dport 9999 --offset 100  # challenge ACK
  sudo rawcraft lab exec hc -- rawcraft reset --dst 198.18.1.1 --dport 9999 --offset 100000000  # ignored`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	fs.Var(&o.dst, "dst", "the server's address")
	fs.Var(&o.dport, "dport", "the server's port")
	fs.Var(&o.sport, "sport", "the client's port (default: the first connection seen)")
	fs.Int64Var(&o.offset, "offset", 0, "added to the expected sequence number (0: exactly in window)")
	fs.DurationVar(&o.wait, "wait", 10*time.Second, "how long to wait for a segment of the connection")
	_ = cmd.MarkFlagRequired("dst")
	_ = cmd.MarkFlagRequired("dport")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		_, err := runReset(cmd.OutOrStdout(), o)
		return err
	}
	return cmd
}

func runReset(out io.Writer, o *resetOpts) (resetOutcome, error) {
	var res resetOutcome
	if err := checkLabTarget(o.dst.a); err != nil {
		return res, err
	}
	if o.wait <= 0 || o.wait > time.Minute {
		return res, usagef("--wait %v: more than 0, at most 1m", o.wait)
	}
	if o.offset < -(1<<31) || o.offset >= 1<<32 {
		return res, usagef("--offset %d: a sequence-number offset fits 32 bits", o.offset)
	}
	if err := rawsock.CheckPrivilege(); err != nil {
		return res, err
	}
	rt, err := rawsock.Resolve(o.dst.a, nil)
	if err != nil {
		return res, err
	}
	rx, tx, err := openOn(rt.Iface, listen.Filter{Proto: craft.ProtoTCP, Host: o.dst.a, Port: uint16(o.dport.v)})
	if err != nil {
		return res, err
	}
	defer rx.Close()
	defer tx.Close()
	// Learn the server's next expected sequence number.
	deadline := time.Now().Add(o.wait)
	for {
		p, err := rx.Next(deadline)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return res, fmt.Errorf("no segment of a connection to %v:%d in %v: is it open, and is the client sending?", o.dst.a, o.dport.v, o.wait)
		}
		if err != nil {
			return res, err
		}
		d := &p.Decoded
		if !d.Has(craft.LayerTCP) || d.TCP.Flags&(craft.TCPRst|craft.TCPSyn) != 0 {
			continue
		}
		t := &d.TCP
		// The server's own ACK says what it expects next; learning it there
		// (not from the client's segment, whose ACK may still be on its way)
		// lets a later ACK with the same number stand out as a challenge.
		if d.IPv4.Src != o.dst.a || t.SrcPort != uint16(o.dport.v) || d.IPv4.Dst != rt.Src || t.Flags&craft.TCPAck == 0 ||
			o.sport.v != 0 && t.DstPort != uint16(o.sport.v) {
			continue
		}
		res.Sport, res.Expected = t.DstPort, t.Ack
		break
	}
	res.Seq = res.Expected + uint32(o.offset)
	rst := craft.Packet{
		Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC},
		IPv4:     &craft.IPv4{ID: uint16(random32()), Src: rt.Src, Dst: o.dst.a},
		TCP:      &craft.TCP{SrcPort: res.Sport, DstPort: uint16(o.dport.v), Seq: res.Seq, Flags: craft.TCPRst},
	}
	b, err := rst.Append(nil)
	if err != nil {
		return res, err
	}
	if _, err := tx.Send(b); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "RST sent as %v:%d → %v:%d with seq %d (the server expects %d; offset %+d)\n", rt.Src, res.Sport, o.dst.a, o.dport.v, res.Seq, res.Expected, o.offset)
	// A challenge ACK comes back at once, if at all.
	deadline = time.Now().Add(300 * time.Millisecond)
	for {
		p, err := rx.Next(deadline)
		if err != nil {
			break
		}
		d := &p.Decoded
		if d.Has(craft.LayerTCP) && d.IPv4.Src == o.dst.a && d.TCP.DstPort == res.Sport && d.TCP.Flags == craft.TCPAck && len(d.Payload) == 0 && d.TCP.Ack == res.Expected {
			res.ChallengeACK = true
			fmt.Fprintf(out, "challenge ACK from the server, ack %d: the RST was in the window but not at the expected number, so the server asks the real client to confirm (RFC 5961 §3.2); the connection lives on\n", d.TCP.Ack)
			break
		}
	}
	switch {
	case o.offset == 0:
		fmt.Fprintln(out, "the RST was exactly at the expected number: the server reset the connection; its application's next read gets ECONNRESET")
	case !res.ChallengeACK:
		fmt.Fprintln(out, "no answer: the RST was outside the window, and the server silently ignored it (RFC 5961 §3.2); the connection lives on")
	}
	return res, nil
}

// openOn opens, on ifi, a listener with filter f and a send-only AF_PACKET
// socket: what handshake and reset talk through.
func openOn(ifi *net.Interface, f listen.Filter) (*listen.Listener, *rawsock.Conn, error) {
	prog, err := f.Compile()
	if err != nil {
		return nil, nil, err
	}
	rx, err := listen.Listen(ifi, &listen.Config{Filter: prog})
	if err != nil {
		return nil, nil, err
	}
	tx, err := rawsock.Listen(ifi, &rawsock.Config{SendOnly: true})
	if err != nil {
		rx.Close()
		return nil, nil, err
	}
	return rx, tx, nil
}
