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

// MaxWindow is the largest receive window a Server advertises: 2^30 bytes,
// the most a window scale of 14 reaches (RFC 7323 §2.3).
const MaxWindow = 1 << 30

// ServerConfig describes a connection rawcraft accepts from a real client
// and receives on, by hand: the receiving end of TCP (RFC 9293 §3.8.6 flow
// control, RFC 5681 §4.2 acknowledgements, RFC 2018 SACK, RFC 7323 window
// scaling and timestamps).
type ServerConfig struct {
	// Addr is the IPv4 address to accept on: this host's own (the firewall
	// guard, ListenGuard, keeps its kernel's RSTs in), or, with Ghost, an
	// address no interface owns, which rawcraft answers ARP for (the lab
	// only: Scope.Ghosts must contain it).
	Addr  netip.Addr
	Port  uint16 // 1 to 65535
	Ghost bool
	ISN   uint32 // our initial sequence number; 0: a random one
	// Window is the receive buffer, in bytes, 0 to MaxWindow: the window
	// advertised while the application keeps up. 0 is a zero window: the
	// client may send nothing and probes it (RFC 9293 §3.8.6.1).
	Window int
	// ReadBytes and ReadEvery make the application slow: it reads
	// ReadBytes every ReadEvery, opening the window by that much each time
	// (never beyond max(Window, ReadBytes) bytes past what it has read).
	// ReadBytes 0: it reads everything at once, so the window stays Window.
	ReadBytes int
	ReadEvery time.Duration
	// AckDelay holds each acknowledgement of in-order data this long, one
	// ACK covering all that arrived meanwhile (a delayed ACK, RFC 9293
	// §3.8.6.3, RFC 1122 §4.2.3.2 allows up to 500 ms). Out-of-order data,
	// old data and probes are acknowledged at once (RFC 5681 §4.2).
	AckDelay time.Duration
	// Withhold leaves the first Withhold data segments unacknowledged, as
	// if the ACKs were lost: the client retransmits after its RTO.
	// Negative: rawcraft acknowledges nothing after the handshake.
	Withhold int
	// Options are the SYN-ACK's options; nil: what Linux answers to the
	// client's SYN — MSS 1460, SACK permitted, timestamps and window scale
	// as far as the SYN offered them, the scale the smallest that carries
	// max(Window, ReadBytes). A timestamps option with TSecr 0 is given the
	// client's TSval to echo (RFC 7323 §3.2).
	Options []byte
	// RTO and Retries bound the retransmissions of our SYN-ACK and FIN
	// (0: 300 ms, doubling; 0: 5, negative: none).
	RTO     time.Duration
	Retries int
	// Wait bounds the wait for the client's SYN (0: 10 s); For, the
	// connection's life after it (0: 10 s): then rawcraft ends it with RST.
	Wait, For time.Duration
	// Scope is what the guard may touch (see Scope).
	Scope Scope
	// Step is called for every segment sent or received, as it happens.
	Step func(Step)
}

// ServerResult is how an accepted connection went.
type ServerResult struct {
	// Steps is the one record of the connection: every segment seen on
	// the wire, both directions, in the order of their times.
	Steps     []Step
	Client    netip.AddrPort // who connected
	Connected bool           // the handshake completed
	Reset     bool           // a RST ended it (the client's; or ours at For's end, with Expired)
	Expired   bool           // For ran out: rawcraft sent RST
	Closed    bool           // both FINs were exchanged and acknowledged
	Received  []byte         // the data accepted in order (at most MaxReceive bytes kept)
	Bytes     int            // how many bytes were accepted in order
	ClientISN uint32
	// ClientOpts are the client SYN's options, described.
	ClientOpts []string
	// What the SYNs negotiated: the shifts each side applies (-1: no
	// scaling, RFC 7323 §2.2), timestamps (§3.2), SACK (RFC 2018 §2).
	OurScale, PeerScale int
	Timestamps, SACK    bool
	// Counts: ACKs answering probes of a zero window, duplicate ACKs sent
	// for out-of-order data (SACKs: with SACK blocks), ACKs withheld.
	Probes, DupAcks, SACKs, Withheld int
}

// MaxReceive bounds ServerResult.Received.
const MaxReceive = 16 << 20

// ErrNoClient is returned when no SYN came within ServerConfig.Wait.
var ErrNoClient = errors.New("no client connected")

// Server is a listening point ready to accept one connection: its guard in
// place, its sockets open, nothing sent yet. Run accepts and drives the
// connection; Close removes the guard and closes the sockets.
type Server struct {
	Iface     *net.Interface
	Guard     Guard // GuardGhost or GuardFirewall
	GuardNote string
	cfg       ServerConfig
	mac       craft.MAC
	rx        *listen.Listener
	tx        frameSender
	held
}

// NewServer checks cfg, finds the interface Addr is on (its own address,
// or for a ghost the interface with a subnet holding it), sets up the
// guard — AnswerARP for a ghost, else ListenGuard — and opens a listener
// for the port's frames and a send-only AF_PACKET socket. Errors: bad
// config; missing privilege; no such interface; a ghost outside
// Scope.Ghosts or in use (wrapping ErrBadGhost); the firewall's
// (CAP_NET_ADMIN); the sockets'. On error nothing is left in place.
func NewServer(cfg ServerConfig) (*Server, error) {
	switch {
	case !cfg.Addr.Is4():
		return nil, fmt.Errorf("address %v: an IPv4 address", cfg.Addr)
	case cfg.Port == 0:
		return nil, errors.New("port 0: listen on a port from 1 to 65535")
	case cfg.Window < 0 || cfg.Window > MaxWindow:
		return nil, fmt.Errorf("window %d bytes: 0 to %d", cfg.Window, MaxWindow)
	case cfg.ReadBytes < 0 || cfg.ReadBytes > MaxWindow || cfg.ReadBytes > 0 && cfg.ReadEvery <= 0:
		return nil, fmt.Errorf("read %d bytes every %v: 0 to %d bytes, every interval above 0", cfg.ReadBytes, cfg.ReadEvery, MaxWindow)
	case cfg.AckDelay < 0 || cfg.AckDelay > 10*time.Second:
		return nil, fmt.Errorf("ACK delay %v: 0 to 10 s", cfg.AckDelay)
	case cfg.Wait < 0 || cfg.For < 0 || cfg.Wait > time.Hour || cfg.For > time.Hour:
		return nil, fmt.Errorf("wait %v, for %v: 0 to an hour", cfg.Wait, cfg.For)
	}
	if err := rawsock.CheckPrivilege(); err != nil {
		return nil, err
	}
	ifi, mac, err := ifaceFor(cfg.Addr, cfg.Ghost)
	if err != nil {
		return nil, err
	}
	s := &Server{Iface: ifi, cfg: cfg}
	if cfg.Ghost {
		if err := CheckGhost(ifi, cfg.Addr, netip.Addr{}, netip.Addr{}, cfg.Scope.Ghosts); err != nil {
			return nil, err
		}
		own := ownAddr(ifi)
		if _, err := rawsock.ARP(ifi, craft.MAC(ifi.HardwareAddr), own, cfg.Addr, 150*time.Millisecond, 2); !errors.Is(err, rawsock.ErrNoARPReply) {
			return nil, fmt.Errorf("%w: %v answers ARP: it is in use", ErrBadGhost, cfg.Addr)
		}
		s.Guard, s.mac = GuardGhost, GhostMAC(cfg.Addr)
		if s.stopARP, err = AnswerARP(ifi, cfg.Addr, s.mac); err != nil {
			return nil, err
		}
		s.GuardNote = fmt.Sprintf("guard: ghost — rawcraft accepts on %v:%d (MAC %v), an address no interface here owns, and answers ARP for it; %s", cfg.Addr, cfg.Port, s.mac, craft.ClaimGhostIgnored.Text())
	} else {
		s.Guard, s.mac = GuardFirewall, mac
		if s.removeFW, err = ListenGuard(cfg.Addr, cfg.Port); err != nil {
			return nil, err
		}
		s.GuardNote = fmt.Sprintf("guard: firewall — an nftables rule in this namespace drops the RSTs this host's kernel would send from %v:%d (nothing of its own listens there), removed at the end (table %s)", cfg.Addr, cfg.Port, GuardTable())
	}
	if s.rx, err = listenOn(ifi, rawsock.Filter{Proto: craft.ProtoTCP, Host: cfg.Addr, Port: cfg.Port}); err == nil {
		if ifi.Flags&net.FlagLoopback != 0 {
			// lo: a frame sent there through AF_PACKET carries no route,
			// and the input routing drops it as a martian; a raw IP socket
			// bound to lo delivers it (rawsock.Open, Route.Datagrams).
			s.tx, err = rawsock.Open(cfg.Addr, rawsock.ViaPacket, &rawsock.OpenConfig{Iface: ifi.Name, Src: cfg.Addr, SrcMAC: &craft.MAC{}, DstMAC: &craft.MAC{}})
		} else {
			s.tx, err = rawsock.Listen(ifi, &rawsock.Config{SendOnly: true})
		}
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// frameSender sends the Server's frames: an AF_PACKET socket, or on lo a
// rawsock.Tx that sends their datagrams through a raw IP socket.
type frameSender interface {
	Send(frame []byte) (int, error)
	Close() error
}

// ifaceFor finds the interface that owns a (ghost false) or has a subnet
// holding it (ghost true), and its MAC: zero on lo, which carries a
// 14-byte Ethernet header with both MACs zero.
func ifaceFor(a netip.Addr, ghost bool) (*net.Interface, craft.MAC, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, craft.MAC{}, err
	}
	for i := range ifs {
		addrs, _ := ifs[i].Addrs()
		for _, x := range addrs {
			pfx, err := netip.ParsePrefix(x.String())
			if err != nil {
				continue
			}
			if !ghost && pfx.Addr() == a || ghost && pfx.Addr().Is4() && pfx.Bits() <= 30 && pfx.Masked().Contains(a) && pfx.Addr() != a {
				if !ghost && ifs[i].Flags&net.FlagLoopback != 0 {
					return &ifs[i], craft.MAC{}, nil
				}
				if len(ifs[i].HardwareAddr) != 6 {
					return nil, craft.MAC{}, fmt.Errorf("%v is on %s, which has no Ethernet address", a, ifs[i].Name)
				}
				return &ifs[i], craft.MAC(ifs[i].HardwareAddr), nil
			}
		}
	}
	if ghost {
		return nil, craft.MAC{}, fmt.Errorf("%w: %v is on no subnet of this host's interfaces", ErrBadGhost, a)
	}
	return nil, craft.MAC{}, fmt.Errorf("%v is not an address of this host (for one it does not own, a ghost)", a)
}

func ownAddr(ifi *net.Interface) netip.Addr {
	addrs, _ := ifi.Addrs()
	for _, x := range addrs {
		if pfx, err := netip.ParsePrefix(x.String()); err == nil && pfx.Addr().Is4() {
			return pfx.Addr()
		}
	}
	return netip.Addr{}
}

// Close closes the sockets and removes the guard. Its error is the rule's
// removal's.
func (s *Server) Close() error {
	if s.rx != nil {
		s.rx.Close()
		s.rx = nil
	}
	if s.tx != nil {
		_ = s.tx.Close()
		s.tx = nil
	}
	return s.release()
}

// Run waits for a client's SYN, answers it, receives by the config's rules
// until the client closes, resets, or For runs out, and returns what
// happened. Call it once. ErrNoClient: no SYN within Wait; ErrNoAnswer: our
// SYN-ACK or FIN went unacknowledged after Retries retransmissions.
func (s *Server) Run() (ServerResult, error) {
	cfg := s.cfg
	if cfg.RTO <= 0 {
		cfg.RTO = 300 * time.Millisecond
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 5
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.Wait == 0 {
		cfg.Wait = 10 * time.Second
	}
	if cfg.For == 0 {
		cfg.For = 10 * time.Second
	}
	if cfg.ISN == 0 {
		cfg.ISN = random32()
	}
	r := &recv{cfg: cfg, mac: s.mac, rx: s.rx, tx: s.tx, iss: cfg.ISN, sndNxt: cfg.ISN, ourShift: -1, peerShift: -1, start: time.Now(), tsBase: random32()}
	r.res.OurScale, r.res.PeerScale = -1, -1
	r.log = newWireLog(s.rx, netip.AddrPortFrom(cfg.Addr, cfg.Port), &r.res.Steps, cfg.Step)
	err := r.run()
	return r.res, err
}
