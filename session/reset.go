package session

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// ResetConfig describes a RST sent by hand into a live connection between a
// client on this host and a server.
type ResetConfig struct {
	Dst     netip.Addr // the server, IPv4
	DstPort uint16     // the server's port, 1 to 65535
	// SrcPort is the client's port; 0: the first connection seen.
	SrcPort uint16
	// Offset is added to the server's next expected sequence number to make
	// the RST's: 0 is exactly in window. From -2^31 to 2^32-1.
	Offset int64
	// Wait bounds the wait for a segment of the connection (0: 10 s; at
	// most a minute).
	Wait time.Duration
}

// ResetResult is the RST that was sent and what the server did with it.
type ResetResult struct {
	Src      netip.Addr // the client's address (this host's), the RST's source
	SrcPort  uint16     // the client's port
	Dst      netip.Addr
	DstPort  uint16
	Expected uint32 // the server's next expected sequence number, from its ACK
	Seq      uint32 // the RST's sequence number: Expected + Offset (mod 2^32)
	Offset   int64
	// Exact: Seq == Expected; the server resets the connection and its
	// application's next read gets ECONNRESET (RFC 5961 §3.2).
	Exact bool
	// ChallengeACK: the server answered with an ACK of Expected, asking the
	// real client to confirm (RFC 5961 §3.2): the RST was in the window but
	// not exact, and the connection lives on. Neither Exact nor
	// ChallengeACK: the RST was outside the window and silently ignored.
	ChallengeACK bool
}

// ErrNoConnection is returned by Reset when no segment of a connection to
// the server was seen within ResetConfig.Wait.
var ErrNoConnection = errors.New("no segment of a connection")

// challengeWait is how long Reset waits for a challenge ACK: it comes back
// at once, if at all.
const challengeWait = 300 * time.Millisecond

// Reset watches the connection between a client on this host and
// cfg.Dst:cfg.DstPort, learns from the server's ACK the sequence number it
// expects next, sends it a RST in the client's name with that number plus
// cfg.Offset (RFC 9293 §3.10.7.4), and waits 300 ms for a challenge ACK
// (RFC 5961 §3.2). The route is resolved with rawsock.Resolve and the
// sockets are opened and closed here. Errors: bad config; missing
// privilege; no route; ErrNoConnection (wrapped, naming the server and the
// wait); the sockets'.
func Reset(cfg ResetConfig) (ResetResult, error) {
	res := ResetResult{Dst: cfg.Dst, DstPort: cfg.DstPort, Offset: cfg.Offset}
	if cfg.Wait == 0 {
		cfg.Wait = 10 * time.Second
	}
	switch {
	case !cfg.Dst.Is4():
		return res, fmt.Errorf("server %v: an IPv4 address", cfg.Dst)
	case cfg.DstPort == 0:
		return res, errors.New("server port 0: a server listens on a port from 1 to 65535")
	case cfg.Wait < 0 || cfg.Wait > time.Minute:
		return res, fmt.Errorf("wait %v: more than 0, at most 1m", cfg.Wait)
	case cfg.Offset < -(1<<31) || cfg.Offset >= 1<<32:
		return res, fmt.Errorf("offset %d: a sequence-number offset fits 32 bits", cfg.Offset)
	}
	if err := rawsock.CheckPrivilege(); err != nil {
		return res, err
	}
	rt, err := rawsock.Resolve(cfg.Dst, nil)
	if err != nil {
		return res, err
	}
	res.Src = rt.Src
	rx, tx, err := openOn(rt, cfg.Dst, rawsock.Filter{Proto: craft.ProtoTCP, Host: cfg.Dst, Port: cfg.DstPort})
	if err != nil {
		return res, err
	}
	defer rx.Close()
	defer tx.Close()
	// Learn the server's next expected sequence number.
	deadline := time.Now().Add(cfg.Wait)
	for {
		p, err := rx.Next(deadline)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return res, fmt.Errorf("%w to %v:%d in %v: is it open, and is the client sending?", ErrNoConnection, cfg.Dst, cfg.DstPort, cfg.Wait)
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
		if d.IPv4.Src != cfg.Dst || t.SrcPort != cfg.DstPort || d.IPv4.Dst != rt.Src || t.Flags&craft.TCPAck == 0 ||
			cfg.SrcPort != 0 && t.DstPort != cfg.SrcPort {
			continue
		}
		res.SrcPort, res.Expected = t.DstPort, t.Ack
		break
	}
	// Segments queued meanwhile: a later ACK of the server, or data the
	// client has already sent, which reaches the server before the RST
	// (one path, in order) and moves what it expects.
	ours := func(d *craft.Decoded) (fromServer, fromClient bool) {
		if !d.Has(craft.LayerTCP) || d.TCP.Flags&(craft.TCPRst|craft.TCPSyn) != 0 {
			return false, false
		}
		t := &d.TCP
		fromServer = d.IPv4.Src == cfg.Dst && t.SrcPort == cfg.DstPort && d.IPv4.Dst == rt.Src && t.DstPort == res.SrcPort && t.Flags&craft.TCPAck != 0
		fromClient = d.IPv4.Src == rt.Src && t.SrcPort == res.SrcPort && d.IPv4.Dst == cfg.Dst && t.DstPort == cfg.DstPort
		return fromServer, fromClient
	}
	if err := rx.Drain(func(p *listen.Packet) {
		d := &p.Decoded
		switch server, client := ours(d); {
		case server && seqGE(d.TCP.Ack, res.Expected):
			res.Expected = d.TCP.Ack
		case client:
			end := d.TCP.Seq + uint32(len(d.Payload))
			if d.TCP.Flags&craft.TCPFin != 0 {
				end++
			}
			if seqGE(end, res.Expected) {
				res.Expected = end
			}
		}
	}); err != nil {
		return res, err
	}
	res.Seq = res.Expected + uint32(cfg.Offset)
	res.Exact = res.Seq == res.Expected
	rst := craft.Packet{
		Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC},
		IPv4:     &craft.IPv4{ID: uint16(random32()), Src: rt.Src, Dst: cfg.Dst},
		TCP:      &craft.TCP{SrcPort: res.SrcPort, DstPort: cfg.DstPort, Seq: res.Seq, Flags: craft.TCPRst},
	}
	b, err := rst.Append(nil)
	if err != nil {
		return res, err
	}
	if _, err := tx.Send(b); err != nil {
		return res, err
	}
	deadline = time.Now().Add(challengeWait)
	for {
		p, err := rx.Next(deadline)
		if err != nil {
			break
		}
		d := &p.Decoded
		server, client := ours(d)
		if client && len(d.Payload) > 0 {
			break // the client spoke again: an ACK now may answer its data, not the RST
		}
		if server && d.TCP.Flags == craft.TCPAck && len(d.Payload) == 0 && d.TCP.Ack == res.Expected {
			res.ChallengeACK = true
			break
		}
	}
	return res, nil
}
