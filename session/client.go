package session

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// MaxData is the most data a Client sends: one segment (Run sends its data
// in one PSH|ACK).
const MaxData = 1400

// ClientConfig describes a connection to a real server that a Client opens,
// talks over and closes by hand, guarded against this host's kernel.
type ClientConfig struct {
	Dst     netip.Addr // the server, IPv4
	DstPort uint16     // the server's port, 0 to 65535 (0 is a port on the wire; no Linux socket listens there)
	SrcPort uint16     // our port; 0: a random one from 32768 to 60767
	ISN     uint32     // our initial sequence number; 0: a random one
	Window  uint16     // our receive window; 0: 64240
	// Options are the SYN's options (RFC 9293 §3.2). nil: DefaultSYNOptions
	// with a random TSval, as Linux; an empty, non-nil slice: none.
	Options []byte
	Data    []byte // at most MaxData bytes, sent once connected
	// RTO, Retries and Linger are Config's: the first retransmission
	// timeout (0: 300 ms), retransmissions of one segment (0: 5; negative:
	// none), the wait for the server's reply (0: 500 ms).
	RTO     time.Duration
	Retries int
	Linger  time.Duration
	// Guard is the policy (the zero value: GuardAuto); Ghost, if valid, the
	// ghost address to use instead of one FindGhost picks.
	Guard Guard
	Ghost netip.Addr
	// Scope is what the guard may touch: the caller's namespace and the
	// prefix a ghost may be picked from.
	Scope Scope
	// Step is called for every segment sent or received, as it happens.
	Step func(Step)
}

// Client is a connection ready to be driven: its route resolved, its guard
// in place, its sockets open, nothing sent yet. Run drives it; Close
// removes the guard and closes the sockets.
type Client struct {
	Route     rawsock.Route // toward the server: interface, next hop and MACs
	Guard     Guard         // the guard in place: GuardGhost, GuardFirewall or GuardNone
	GuardNote string        // one sentence saying what the guard does, for a person
	// Config is the conversation Run drives: our address and MAC (the
	// ghost's, or this host's), port, ISN, SYN options and sockets.
	Config Config

	held
}

// NewClient resolves the route to cfg.Dst (rawsock.Resolve), applies the
// guard policy — auto: a ghost when FindGhost finds a free address in
// cfg.Scope.Ghosts, else the firewall — sets the guard up (AnswerARP or
// FirewallGuard), picks the random port, ISN and SYN options not given, and
// opens a listener for the connection's frames and a send-only AF_PACKET
// socket on the route's interface. Errors: bad config; missing privilege
// (rawsock.CheckPrivilege); no route; no ghost address (GuardGhost); the
// firewall's (CAP_NET_ADMIN); the sockets'. On error nothing is left in
// place. Outside the lab (Scope.Ghosts zero) auto means the firewall guard,
// in this namespace, in a table named for this run (GuardTable).
func NewClient(cfg ClientConfig) (*Client, error) {
	guard, err := ParseGuard(string(orAuto(cfg.Guard)))
	if err != nil {
		return nil, err
	}
	switch {
	case !cfg.Dst.Is4():
		return nil, fmt.Errorf("server %v: an IPv4 address", cfg.Dst)
	case len(cfg.Data) > MaxData:
		return nil, fmt.Errorf("data: %d bytes; a Client sends one segment, at most %d bytes", len(cfg.Data), MaxData)
	}
	if err := rawsock.CheckPrivilege(); err != nil {
		return nil, err
	}
	if cfg.Ghost.IsValid() {
		// Checked before anything is sent: the route alone, no ARP yet.
		pre, err := rawsock.Resolve(cfg.Dst, &rawsock.ResolveConfig{DstMAC: &craft.MAC{}})
		if err != nil {
			return nil, err
		}
		if err := CheckGhost(pre.Iface, cfg.Ghost, pre.Src, cfg.Dst, cfg.Scope.Ghosts); err != nil {
			return nil, err
		}
	}
	rt, err := rawsock.Resolve(cfg.Dst, nil)
	if err != nil {
		return nil, err
	}
	if cfg.Ghost.IsValid() {
		// In use? An address that answers ARP belongs to someone: speaking
		// as it would hijack its traffic.
		if _, err := rawsock.ARP(rt.Iface, rt.SrcMAC, rt.Src, cfg.Ghost, 150*time.Millisecond, 2); !errors.Is(err, rawsock.ErrNoARPReply) {
			return nil, fmt.Errorf("%w: %v answers ARP: it is in use", ErrBadGhost, cfg.Ghost)
		}
	}
	guard, ghost, err := chooseGuard(guard, cfg.Ghost, func() (netip.Addr, error) {
		return FindGhost(rt.Iface, rt.Src, rt.SrcMAC, cfg.Scope.Ghosts)
	})
	if err != nil {
		return nil, err
	}
	c := &Client{Route: rt, Guard: guard}
	src, srcMAC := rt.Src, rt.SrcMAC
	if guard == GuardGhost {
		src, srcMAC = ghost, GhostMAC(ghost)
	}
	sport := cfg.SrcPort
	for sport == 0 || cfg.SrcPort == 0 && src == cfg.Dst && sport == cfg.DstPort {
		sport = uint16(32768 + random32()%28000)
	}
	if src == cfg.Dst && sport == cfg.DstPort {
		return nil, fmt.Errorf("port %d on %v: the server's own address and port; a connection to itself", sport, src)
	}
	switch guard {
	case GuardGhost:
		if c.stopARP, err = AnswerARP(rt.Iface, src, srcMAC); err != nil {
			return nil, err
		}
	case GuardFirewall:
		if c.removeFW, err = FirewallGuard(src, sport, cfg.Dst, cfg.DstPort); err != nil {
			return nil, err
		}
	}
	c.GuardNote = guardNote(guard, src, srcMAC, sport, cfg.Dst, cfg.DstPort)
	isn := cfg.ISN
	if isn == 0 {
		isn = random32()
	}
	opts := cfg.Options
	if opts == nil {
		opts = DefaultSYNOptions(random32())
	}
	srt := rt
	srt.Src, srt.SrcMAC = src, srcMAC
	rx, tx, err := openOn(srt, cfg.Dst, rawsock.Filter{Proto: craft.ProtoTCP, Host: src, Port: sport})
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	c.Config = Config{
		Src: src, SrcMAC: srcMAC, SrcPort: sport, Dst: cfg.Dst, DstMAC: rt.DstMAC, DstPort: cfg.DstPort,
		ISN: isn, Window: cfg.Window, Options: opts, Data: cfg.Data, RTO: cfg.RTO, Retries: cfg.Retries, Linger: cfg.Linger,
		Tx: tx, Rx: rx, Step: cfg.Step,
	}
	return c, nil
}

func orAuto(g Guard) Guard {
	if g == "" {
		return GuardAuto
	}
	return g
}

// Run drives the conversation (see Run) and returns what happened. Call it
// once.
func (c *Client) Run() (Result, error) { return Run(c.Config) }

// Close closes the sockets and removes the guard: stops answering ARP for
// the ghost, or deletes the firewall rule. Its error is the rule's removal's
// (the namespace takes the rule away with it in any case).
func (c *Client) Close() error {
	if c.Config.Rx != nil {
		c.Config.Rx.Close()
		c.Config.Rx = nil
	}
	if c.Config.Tx != nil {
		c.Config.Tx.Close()
		c.Config.Tx = nil
	}
	return c.release()
}

// openOn opens, on the route's interface, a listener with filter f and the
// socket that sends toward dst: AF_PACKET, or on lo (rt.Datagrams) a raw IP
// socket, since lo's input routing drops a frame with no route attached —
// a local source address is a martian there (fib_validate_source) — while
// a datagram sent through a raw socket carries its route (rawsock.Open).
// What a Client and Reset talk through.
func openOn(rt rawsock.Route, dst netip.Addr, f rawsock.Filter) (*listen.Listener, *rawsock.Tx, error) {
	rx, err := listenOn(rt.Iface, f)
	if err != nil {
		return nil, nil, err
	}
	srcMAC, dstMAC := rt.SrcMAC, rt.DstMAC
	tx, err := rawsock.Open(dst, rawsock.ViaPacket, &rawsock.OpenConfig{Iface: rt.Iface.Name, Src: rt.Src, SrcMAC: &srcMAC, DstMAC: &dstMAC})
	if err != nil {
		rx.Close()
		return nil, nil, err
	}
	return rx, tx, nil
}

// listenOn opens a listener on ifi with filter f.
func listenOn(ifi *net.Interface, f rawsock.Filter) (*listen.Listener, error) {
	prog, err := f.Compile()
	if err != nil {
		return nil, err
	}
	return listen.Listen(ifi, &listen.Config{Filter: prog})
}
