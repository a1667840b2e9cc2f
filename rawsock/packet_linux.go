package rawsock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/packet"
	"github.com/rawcraft/rawcraft/craft"
	"golang.org/x/sys/unix"
)

// Conn is an AF_PACKET socket bound to one interface. It sends frames
// exactly as given (Ethernet header included: any field, bad checksums and
// self-made fragments too) and receives the frames its BPF filter lets
// through.
type Conn struct {
	c   *packet.Conn
	ifi *net.Interface
	pad [craft.MinFrameLen]byte
	rs  *recvState // set with Config.Meta
	rx  *rxRing    // set with Config.Ring
}

// Listen opens an AF_PACKET socket on ifi in the calling thread's network
// namespace; it stays in that namespace.
func Listen(ifi *net.Interface, cfg *Config) (*Conn, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	proto := unix.ETH_P_ALL
	if cfg.EtherType != 0 {
		proto = int(cfg.EtherType)
	}
	pc := &packet.Config{Filter: cfg.Filter}
	bindProto := proto
	switch {
	case cfg.SendOnly:
		proto, bindProto = 0, 0 // protocol 0: the socket receives nothing (packet(7))
		pc = nil
	case cfg.Ring:
		bindProto = 0 // nothing is queued until the ring is in place; bound again below
	}
	c, err := packet.Listen(ifi, packet.Raw, bindProto, pc)
	if err != nil {
		return nil, permission("AF_PACKET socket", err)
	}
	conn := &Conn{c: c, ifi: ifi}
	if cfg.Ring && !cfg.SendOnly {
		if err := conn.startRing(proto, cfg.ReadBuffer, cfg.RingTimeout); err != nil {
			c.Close()
			return nil, err
		}
		return conn, nil
	}
	if cfg.Meta {
		if err := conn.enableMeta(); err != nil {
			c.Close()
			return nil, err
		}
	}
	if cfg.ReadBuffer > 0 {
		if err := conn.SetReadBuffer(cfg.ReadBuffer); err != nil {
			c.Close()
			return nil, err
		}
	}
	return conn, nil
}

// Interface returns the interface the socket is bound to.
func (c *Conn) Interface() *net.Interface { return c.ifi }

// Send sends one frame. Frames shorter than 60 bytes are padded with zeros
// (IEEE 802.3's minimum without the FCS); the padding follows the IP
// datagram and is not counted in its total length. The destination is the
// frame's own destination MAC.
func (c *Conn) Send(frame []byte) (int, error) {
	if len(frame) < craft.EthernetLen {
		return 0, fmt.Errorf("frame of %d bytes: shorter than an Ethernet header", len(frame))
	}
	b := frame
	if len(frame) < craft.MinFrameLen {
		n := copy(c.pad[:], frame)
		clear(c.pad[n:])
		b = c.pad[:]
	}
	n, err := c.c.WriteTo(b, &packet.Addr{HardwareAddr: net.HardwareAddr(b[:6])})
	if errors.Is(err, unix.EMSGSIZE) {
		return n, frameTooBig(c.ifi, len(frame))
	}
	return n, err
}

// frameTooBig explains EMSGSIZE from an AF_PACKET send: the kernel refuses
// a frame whose bytes after the link header exceed the interface's MTU
// (packet_snd: len > dev->mtu + reserve), whole — an AF_PACKET socket never
// fragments, and the error says only "message too long".
func frameTooBig(ifi *net.Interface, frame int) error {
	name, mtu := "the interface", 0
	if ifi != nil {
		name, mtu = ifi.Name, ifi.MTU
	}
	return fmt.Errorf("sendto: %w: the frame carries %d bytes after its Ethernet header, more than %s's MTU (%d), and AF_PACKET sends a frame whole or not at all, never fragmenting; send fragments (--frag or --mtu), each its own frame, or fewer bytes",
		unix.EMSGSIZE, frame-craft.EthernetLen, name, mtu)
}

// Recv reads one frame into b.
func (c *Conn) Recv(b []byte) (int, error) {
	if c.rx != nil {
		var m Meta
		return c.recvRing(b, &m, false)
	}
	n, _, err := c.c.ReadFrom(b)
	return n, err
}

// SetReadDeadline bounds the next Recv.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.c.SetReadDeadline(t) }

// Stats returns the kernel's counters since the last call: frames queued to
// the socket and frames dropped because its buffer was full.
func (c *Conn) Stats() (packets, drops uint64, err error) {
	s, err := c.c.Stats()
	if err != nil {
		return 0, 0, err
	}
	return uint64(s.Packets), uint64(s.Drops), nil
}

// Close closes the socket (and unmaps its ring).
func (c *Conn) Close() error {
	err := c.c.Close()
	if c.rx != nil {
		c.rx.close()
	}
	return err
}

// IPConn is a raw IP socket that takes whole datagrams, header included:
// IPv4 (ListenIP: AF_INET, IPPROTO_RAW, which implies IP_HDRINCL) or IPv6
// (ListenIP6: AF_INET6, IPPROTO_RAW, which Linux treats the same way). The
// kernel adds the link layer; in IPv4 it fills some header fields, in IPv6
// none (see KernelRewrites).
type IPConn struct {
	fd     int
	v6     bool
	ifidx  int    // ListenIP6's interface: the zone of link-local destinations
	family string // "IPv4", "IPv6"
}

// ListenIP opens a raw IPv4 socket in the calling thread's namespace. A
// non-empty iface binds it to that interface (SO_BINDTODEVICE).
func ListenIP(iface string) (*IPConn, error) {
	return listenIP(unix.AF_INET, iface)
}

// ListenIP6 opens a raw IPv6 socket (AF_INET6, SOCK_RAW, IPPROTO_RAW) in
// the calling thread's namespace: each datagram goes out with the header
// as built (Linux's rawv6_send_hdrinc copies it untouched; see
// KernelRewrites6). A non-empty iface binds it to that interface
// (SO_BINDTODEVICE), which is also the zone of link-local destinations.
func ListenIP6(iface string) (*IPConn, error) {
	return listenIP(unix.AF_INET6, iface)
}

func listenIP(family int, iface string) (*IPConn, error) {
	c := &IPConn{v6: family == unix.AF_INET6, family: "IPv4"}
	if c.v6 {
		c.family = "IPv6"
	}
	fd, err := unix.Socket(family, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return nil, permission("raw "+c.family+" socket", fmt.Errorf("socket: %w", err))
	}
	c.fd = fd
	if iface != "" {
		ifi, err := net.InterfaceByName(iface)
		if err == nil {
			c.ifidx = ifi.Index
			err = unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface)
		}
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("binding the raw %s socket to %s: %w", c.family, iface, err)
		}
	}
	return c, nil
}

// Send sends one datagram to the destination address in its header (an
// IPv4 datagram on a ListenIP socket, an IPv6 one on a ListenIP6 socket).
// The kernel routes it by that address, and sends it whole or not at all:
// one larger than the interface's MTU fails with EMSGSIZE and an error
// saying to fragment. It allocates nothing, and may be called from several
// goroutines at once.
func (c *IPConn) Send(datagram []byte) (int, error) {
	var err error
	if c.v6 {
		if len(datagram) < craft.IPv6HeaderLen {
			return 0, fmt.Errorf("datagram of %d bytes: shorter than an IPv6 header", len(datagram))
		}
		if datagram[0]>>4 == 4 {
			return 0, errors.New("an IPv4 datagram on a raw IPv6 socket: send it toward an IPv4 address (ListenIP), or a version-4 IPv6 header through AF_PACKET (--via packet)")
		}
		sa := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: [16]byte(datagram[24:40])}
		if needsZone(netip.AddrFrom16(sa.Addr)) {
			sa.Scope_id = uint32(c.ifidx)
		}
		err = sendto(c.fd, datagram, unsafe.Pointer(&sa), unix.SizeofSockaddrInet6)
	} else {
		if len(datagram) < craft.IPv4HeaderLen {
			return 0, fmt.Errorf("datagram of %d bytes: shorter than an IPv4 header", len(datagram))
		}
		sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: [4]byte(datagram[16:20])}
		err = sendto(c.fd, datagram, unsafe.Pointer(&sa), unix.SizeofSockaddrInet4)
	}
	if err != nil {
		if err == unix.EMSGSIZE {
			if c.v6 {
				return 0, fmt.Errorf("sendto: %w: the datagram (%d bytes) is larger than the interface's MTU, and a raw IPv6 socket never fragments (nor may any IPv6 router); send fragments (--frag or --mtu: Fragment headers), each its own datagram", err, len(datagram))
			}
			return 0, fmt.Errorf("sendto: %w: the datagram (%d bytes) is larger than the interface's MTU, and a raw socket with IP_HDRINCL never fragments; send fragments (--frag or --mtu), each its own datagram", err, len(datagram))
		}
		return 0, fmt.Errorf("sendto: %w", err)
	}
	return len(datagram), nil
}

// sendto is sendto(2) with a socket address on the caller's stack:
// unix.Sendto takes a unix.Sockaddr interface, which costs an allocation
// per datagram.
func sendto(fd int, b []byte, sa unsafe.Pointer, salen uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, uintptr(sa), salen)
	if e != 0 {
		return e
	}
	return nil
}

// Close closes the socket.
func (c *IPConn) Close() error { return unix.Close(c.fd) }

// CheckPrivilege opens and closes a raw socket of each kind, so that a
// command can fail at once, before resolving or sending anything, with a
// PermissionError that says what to do.
func CheckPrivilege() error {
	for _, s := range []struct {
		op           string
		family, prot int
	}{{"AF_PACKET socket", unix.AF_PACKET, 0}, {"raw IPv4 socket", unix.AF_INET, unix.IPPROTO_RAW}} {
		fd, err := unix.Socket(s.family, unix.SOCK_RAW|unix.SOCK_CLOEXEC, s.prot)
		if err != nil {
			return permission(s.op, err)
		}
		unix.Close(fd)
	}
	return nil
}

func permission(op string, err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		return &PermissionError{Op: op, Err: err}
	}
	return err
}
