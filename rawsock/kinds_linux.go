package rawsock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"golang.org/x/sys/unix"
)

// KindConn is a socket of one SocketKind, opened in the calling thread's
// namespace, with blocking-free sends and bounded receives. It exists to
// show what each kind does; the engine sends through Conn, IPConn and
// Sender.
type KindConn struct {
	kind  SocketKind
	proto uint8 // IP protocol of InetRawProto(HdrIncl) and Dgram
	fd    int
	ifi   *net.Interface
}

// OpenKind opens a socket of kind k. proto is the IP protocol for the kinds
// that take one (craft.ProtoTCP, ProtoUDP, ProtoICMP); ifi the interface
// for the AF_PACKET kinds. Stream sockets are made by ConnectStream instead.
func OpenKind(k SocketKind, proto uint8, ifi *net.Interface) (*KindConn, error) {
	family, typ, p := unix.AF_INET, unix.SOCK_RAW, int(proto)
	switch k {
	case PacketRaw, PacketDgram:
		if ifi == nil {
			return nil, fmt.Errorf("%v: needs an interface", k)
		}
		family, p = unix.AF_PACKET, int(htons(unix.ETH_P_ALL))
		if k == PacketDgram {
			typ = unix.SOCK_DGRAM
		}
	case InetRaw:
		p = unix.IPPROTO_RAW
	case InetRawProto, InetRawProtoHdrIncl:
	case Dgram:
		typ = unix.SOCK_DGRAM
	default:
		return nil, fmt.Errorf("%v: use ConnectStream", k)
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, p)
	if err != nil {
		return nil, permission(k.String()+" socket", fmt.Errorf("socket: %w", err))
	}
	c := &KindConn{kind: k, proto: proto, fd: fd, ifi: ifi}
	if family == unix.AF_PACKET {
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			c.Close()
			return nil, fmt.Errorf("%v: bind to %s: %w", k, ifi.Name, err)
		}
	}
	if k == InetRawProtoHdrIncl {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_HDRINCL, 1); err != nil {
			c.Close()
			return nil, fmt.Errorf("%v: IP_HDRINCL: %w", k, err)
		}
	}
	return c, nil
}

// Kind returns the socket's kind.
func (c *KindConn) Kind() SocketKind { return c.kind }

// Bind binds a Dgram socket to the local address and port (a ping socket's
// port is its echo identifier).
func (c *KindConn) Bind(a netip.Addr, port uint16) error {
	return unix.Bind(c.fd, &unix.SockaddrInet4{Addr: a.As4(), Port: int(port)})
}

// LocalPort returns the port a Dgram socket is bound to (a ping socket's
// echo identifier).
func (c *KindConn) LocalPort() (uint16, error) {
	sa, err := unix.Getsockname(c.fd)
	if err != nil {
		return 0, err
	}
	if in, ok := sa.(*unix.SockaddrInet4); ok {
		return uint16(in.Port), nil
	}
	return 0, errors.New("not an IPv4 socket")
}

// Send hands b — the part of the packet the kind takes (SocketKind.Hands) —
// to the kernel, toward dst (and, for PacketDgram, the next hop's MAC
// dstMAC). dstPort is the destination port of a UDP Dgram socket.
func (c *KindConn) Send(b []byte, dst netip.Addr, dstPort uint16, dstMAC craft.MAC) error {
	var sa unix.Sockaddr
	switch c.kind {
	case PacketRaw:
		sa = &unix.SockaddrLinklayer{Ifindex: c.ifi.Index, Halen: 6, Addr: [8]byte(append(dstMAC[:], 0, 0))}
	case PacketDgram:
		sa = &unix.SockaddrLinklayer{Ifindex: c.ifi.Index, Protocol: htons(unix.ETH_P_IP), Halen: 6, Addr: [8]byte(append(dstMAC[:], 0, 0))}
	default:
		sa = &unix.SockaddrInet4{Addr: dst.As4(), Port: int(dstPort)}
	}
	return os.NewSyscallError("sendto", unix.Sendto(c.fd, b, 0, sa))
}

// Recv waits until deadline for one packet and reads it into b: a frame
// (PacketRaw), a datagram without link header (PacketDgram), the IP
// datagram with its header (raw AF_INET sockets receive it whole, raw(7)),
// or the data (Dgram).
func (c *KindConn) Recv(b []byte, deadline time.Time) (int, error) {
	for {
		n, _, err := unix.Recvfrom(c.fd, b, unix.MSG_DONTWAIT)
		if err == nil {
			return n, nil
		}
		if err != unix.EAGAIN {
			return 0, os.NewSyscallError("recvfrom", err)
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return 0, os.ErrDeadlineExceeded
		}
		fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(min(wait, time.Second)/time.Millisecond)+1); err != nil && err != unix.EINTR {
			return 0, os.NewSyscallError("poll", err)
		}
	}
}

// Close closes the socket.
func (c *KindConn) Close() error { return unix.Close(c.fd) }
