package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/session"
	"github.com/spf13/cobra"
)

type serveOpts struct {
	addr, ghost addrValue
	port        numValue
	win         int
	readRate    string
	ackDelay    time.Duration
	noAck       bool
	withhold    int
	tcpOpt      bytesValue
	wait, life  time.Duration
	rto         time.Duration
	retries     numValue
}

func newServeCmd() *cobra.Command {
	o := &serveOpts{port: port("a port is 1 to 65535"), tcpOpt: bytesValue{parse: craft.ParseTCPOptions},
		retries: numValue{v: 5, bits: 8, rule: "retries are 0 to 10"}}
	cmd := &cobra.Command{
		Use:   "serve --addr ADDR|--ghost ADDR --port P [--win N] [--read-rate N/T] [--ack-delay D] [--no-ack | --withhold N]",
		Short: "be the receiving end of TCP by hand: accept a real client's connection and choose the window and the ACKs",
		Long: `serve waits for one real client's SYN on a port, answers with a SYN-ACK
rawcraft builds, and receives by hand: it advertises the window you choose
(--win, 0 included: the client then probes the closed window), reads slowly
(--read-rate N/T opens the window N bytes every T), delays its ACKs
(--ack-delay) or withholds them (--withhold N: the first N data segments;
--no-ack: all), and answers out-of-order data with duplicate ACKs carrying
SACK blocks. Window scaling and timestamps follow what the SYNs negotiated.
Every segment is shown as it happens, with the kernel's timestamp of its
frame on the interface, who sent it (client → server or server → client,
read from its addresses and ports; rawcraft marks the segments rawcraft
built), its numbers and why; the connection ends when the client closes,
or with RST after --for.

Your kernel would answer the client's SYN with RST (nothing of its own
listens there). On this host's own address (--addr) an nftables rule drops
its RSTs from that port, removed at the end; with --ghost rawcraft speaks
for an address no interface owns, answering ARP for it (the lab only).

serve listens on the interface --addr belongs to. A client on this same
host reaches the host's own addresses over lo, not that interface: serve it
on --addr 127.0.0.1 (rawcraft then answers through a raw IP socket, since
Linux drops frames injected on lo through a packet socket).`,
		Example: `  sudo rawcraft lab up
  sudo rawcraft lab exec hs -- rawcraft serve --addr 198.18.1.1 --port 8080 --win 0 &
  sudo rawcraft lab exec hc -- sh -c 'head -c 5000 /dev/zero | nc 198.18.1.1 8080'   # zero-window probes
  sudo rawcraft lab exec hs -- rawcraft serve --addr 198.18.1.1 --port 8080 --win 4000 --read-rate 1000/50ms
  sudo rawcraft lab exec hs -- rawcraft serve --addr 198.18.1.1 --port 8080 --withhold 1   # the client's RTO
  sudo rawcraft lab exec hs -- rawcraft serve --ghost 198.18.1.200 --port 8080 --ack-delay 200ms`,
		Args: noArgs,
	}
	fs := cmd.Flags()
	fs.Var(&o.addr, "addr", "accept on this host's own IPv4 address (the firewall guard)")
	fs.Var(&o.ghost, "ghost", "accept on an address no interface owns, answering ARP for it (the lab only)")
	fs.Var(&o.port, "port", "the port to accept on")
	fs.IntVar(&o.win, "win", 64240, "receive window in bytes, 0 (closed) to 1073741824")
	fs.StringVar(&o.readRate, "read-rate", "", "the application reads N bytes every T (e.g. 1000/50ms): the window opens that fast")
	durationVar(fs, &o.ackDelay, "ack-delay", 0, "hold each ACK of in-order data this long (at most 10s)")
	fs.BoolVar(&o.noAck, "no-ack", false, "acknowledge nothing after the handshake")
	fs.IntVar(&o.withhold, "withhold", 0, "leave the first N data segments unacknowledged")
	fs.Var(&o.tcpOpt, "tcp-opt", "the SYN-ACK's options (default: as Linux answers the client's SYN)")
	durationVar(fs, &o.wait, "wait", 30*time.Second, "how long to wait for the client's SYN (at most 1h)")
	durationVar(fs, &o.life, "for", 30*time.Second, "how long the connection may last, then RST (at most 1h)")
	durationVar(fs, &o.rto, "rto", 300*time.Millisecond, "first retransmission timeout of our SYN-ACK and FIN; it doubles")
	fs.Var(&o.retries, "retries", "retransmissions of our SYN-ACK or FIN before giving up (0 to 10)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := needFlags(cmd, "port", "the port to accept on, such as 8080"); err != nil {
			return err
		}
		_, err := runServe(cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		return err
	}
	return cmd
}

// parseReadRate reads "N/T": N bytes every duration T.
func parseReadRate(s string) (int, time.Duration, error) {
	ns, ts, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(ns)
	if !ok || err != nil || n <= 0 || n > session.MaxWindow {
		return 0, 0, usagef("--read-rate %q: N/T, N bytes (1 to %d) every duration T, e.g. 1000/50ms", s, session.MaxWindow)
	}
	t, err := time.ParseDuration(ts)
	if err != nil || t < time.Millisecond || t > time.Minute {
		return 0, 0, usagef("--read-rate %q: T is a duration from 1ms to 1m, e.g. 1000/50ms", s)
	}
	return n, t, nil
}

func runServe(out, errw io.Writer, o *serveOpts) (session.ServerResult, error) {
	var none session.ServerResult
	switch {
	case o.addr.a.IsValid() == o.ghost.a.IsValid():
		return none, usagef("serve: give --addr (this host's address) or --ghost (a free one), one of them")
	case o.port.v == 0:
		return none, usagef("--port 0: listen on a port from 1 to 65535")
	case o.win < 0 || o.win > session.MaxWindow:
		return none, usagef("--win %d: 0 to %d bytes", o.win, session.MaxWindow)
	case o.ackDelay < 0 || o.ackDelay > 10*time.Second:
		return none, usagef("--ack-delay %v: 0 to 10s", o.ackDelay)
	case o.withhold < 0:
		return none, usagef("--withhold %d: a count of data segments, 0 or more", o.withhold)
	case o.noAck && o.withhold > 0:
		return none, usagef("--no-ack withholds every ACK: give it or --withhold, not both")
	case o.wait <= 0 || o.wait > time.Hour || o.life <= 0 || o.life > time.Hour:
		return none, usagef("--wait %v, --for %v: above 0, at most 1h", o.wait, o.life)
	case o.retries.v > 10 || o.rto <= 0 || o.rto > 10*time.Second:
		return none, usagef("--retries %d, --rto %v: at most 10 retries, a timeout up to 10s", o.retries.v, o.rto)
	}
	cfg := session.ServerConfig{Addr: o.addr.a, Port: uint16(o.port.v), Window: o.win, AckDelay: o.ackDelay, Withhold: o.withhold,
		Wait: o.wait, For: o.life, RTO: o.rto, Retries: int(o.retries.v), Scope: guardScope()}
	if cfg.Retries == 0 {
		cfg.Retries = -1
	}
	if o.ghost.a.IsValid() {
		cfg.Addr, cfg.Ghost = o.ghost.a, true
	}
	cfg.Step = stepPrinter(out, netip.AddrPortFrom(cfg.Addr, cfg.Port))
	if o.noAck {
		cfg.Withhold = -1
	}
	if o.readRate != "" {
		var err error
		if cfg.ReadBytes, cfg.ReadEvery, err = parseReadRate(o.readRate); err != nil {
			return none, err
		}
	}
	if o.tcpOpt.shown != "" {
		cfg.Options = append([]byte{}, o.tcpOpt.b...)
	}
	// Ctrl-C, TERM or HUP, from before the guard is made: the guard goes
	// first, then the process.
	trap := trapSignals(errw)
	defer trap.end()
	var srv *session.Server
	err := trap.make(func() (func() error, error) {
		var err error
		if srv, err = session.NewServer(cfg); err != nil {
			return nil, err
		}
		return srv.Close, nil
	})
	if errors.Is(err, session.ErrBadGhost) {
		return none, usagef("--ghost %v: %v", o.ghost.a, err)
	}
	if err != nil {
		return none, err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			fmt.Fprintln(errw, err)
		}
	}()
	fmt.Fprintln(out, srv.GuardNote)
	fmt.Fprintf(out, "waiting up to %v for a client's SYN to %v:%d\n", o.wait, cfg.Addr, cfg.Port)
	res, err := srv.Run()
	if trap.interrupted() {
		select {} // Run ended because the signal closed its sockets: the signal's goroutine exits with 130
	}
	switch {
	case err != nil:
		fmt.Fprintf(out, "gave up: %v\n", err)
	case res.Expired:
		fmt.Fprintf(out, "the %v were up: rawcraft reset the connection after receiving %s\n", o.life, bytesWord(res.Bytes))
	case res.Reset:
		fmt.Fprintf(out, "the client reset the connection after %s\n", bytesWord(res.Bytes))
	case res.Closed:
		fmt.Fprintf(out, "received %s from %v, closed in order (%s)\n", bytesWord(res.Bytes), res.Client, closeWords(res.Steps))
	default:
		fmt.Fprintln(out, "the connection did not close in order")
	}
	if res.Connected {
		fmt.Fprintf(out, "probes of the window answered: %d; duplicate ACKs: %d (with SACK blocks: %d); ACKs withheld: %d\n", res.Probes, res.DupAcks, res.SACKs, res.Withheld)
	}
	return res, err
}
