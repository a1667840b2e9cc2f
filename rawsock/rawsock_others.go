//go:build !linux

package rawsock

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/rawcraft/rawcraft/craft"
)

// Off Linux every socket operation fails at once with an error that wraps
// ErrNotLinux; nothing is opened or sent.

func notLinux(op string) error { return fmt.Errorf("%s: %w", op, ErrNotLinux) }

// Conn is an AF_PACKET socket bound to one interface (Linux only: off
// Linux, Listen returns ErrNotLinux and no Conn exists).
type Conn struct{}

// Listen returns an error wrapping ErrNotLinux.
func Listen(ifi *net.Interface, cfg *Config) (*Conn, error) {
	return nil, notLinux("AF_PACKET socket")
}

// Interface returns nil.
func (c *Conn) Interface() *net.Interface { return nil }

// Send returns an error wrapping ErrNotLinux.
func (c *Conn) Send(frame []byte) (int, error) { return 0, notLinux("AF_PACKET send") }

// Recv returns an error wrapping ErrNotLinux.
func (c *Conn) Recv(b []byte) (int, error) { return 0, notLinux("AF_PACKET receive") }

// RecvMeta returns an error wrapping ErrNotLinux.
func (c *Conn) RecvMeta(b []byte, m *Meta) (int, error) { return 0, notLinux("AF_PACKET receive") }

// RecvMetaNow returns an error wrapping ErrNotLinux.
func (c *Conn) RecvMetaNow(b []byte, m *Meta) (int, error) {
	return 0, notLinux("AF_PACKET receive")
}

// SetReadDeadline returns an error wrapping ErrNotLinux.
func (c *Conn) SetReadDeadline(t time.Time) error { return notLinux("AF_PACKET read deadline") }

// SetReadBuffer returns an error wrapping ErrNotLinux.
func (c *Conn) SetReadBuffer(bytes int) error { return notLinux("AF_PACKET receive buffer") }

// Stats returns an error wrapping ErrNotLinux.
func (c *Conn) Stats() (packets, drops uint64, err error) {
	return 0, 0, notLinux("AF_PACKET statistics")
}

// Close returns an error wrapping ErrNotLinux.
func (c *Conn) Close() error { return notLinux("AF_PACKET close") }

// IPConn is a raw IPv4 or IPv6 socket that takes whole datagrams (Linux
// only).
type IPConn struct{}

// ListenIP returns an error wrapping ErrNotLinux.
func ListenIP(iface string) (*IPConn, error) { return nil, notLinux("raw IPv4 socket") }

// ListenIP6 returns an error wrapping ErrNotLinux.
func ListenIP6(iface string) (*IPConn, error) { return nil, notLinux("raw IPv6 socket") }

// Send returns an error wrapping ErrNotLinux.
func (c *IPConn) Send(datagram []byte) (int, error) { return 0, notLinux("raw IP send") }

// Close returns an error wrapping ErrNotLinux.
func (c *IPConn) Close() error { return notLinux("raw IP close") }

// CheckPrivilege returns an error wrapping ErrNotLinux.
func CheckPrivilege() error { return notLinux("raw sockets") }

// Sender is a send-only AF_PACKET socket for floods (Linux only).
type Sender struct{}

// NewSender returns an error wrapping ErrNotLinux.
func NewSender(ifi *net.Interface, cfg *SenderConfig) (*Sender, error) {
	return nil, notLinux("AF_PACKET sender")
}

// Interface returns nil.
func (s *Sender) Interface() *net.Interface { return nil }

// SendBatch returns an error wrapping ErrNotLinux.
func (s *Sender) SendBatch(frames [][]byte) (int, error) { return 0, notLinux("sendmmsg") }

// Close returns an error wrapping ErrNotLinux.
func (s *Sender) Close() error { return notLinux("AF_PACKET sender close") }

// TxRing is a PACKET_TX_RING (Linux only).
type TxRing struct{}

// NewTxRing returns an error wrapping ErrNotLinux.
func NewTxRing(s *Sender, slots, maxFrame int) (*TxRing, error) {
	return nil, notLinux("PACKET_TX_RING")
}

// Put returns an error wrapping ErrNotLinux.
func (r *TxRing) Put(frame []byte) error { return notLinux("PACKET_TX_RING") }

// Flush returns an error wrapping ErrNotLinux.
func (r *TxRing) Flush() error { return notLinux("PACKET_TX_RING") }

// Claim returns an error wrapping ErrNotLinux.
func (r *TxRing) Claim() ([]byte, error) { return nil, notLinux("PACKET_TX_RING") }

// Commit does nothing.
func (r *TxRing) Commit(n int) {}

// Slots returns 0.
func (r *TxRing) Slots() int { return 0 }

// Close returns an error wrapping ErrNotLinux.
func (r *TxRing) Close() error { return notLinux("PACKET_TX_RING") }

// Flood returns an error wrapping ErrNotLinux; nothing is sent.
func Flood(ifi *net.Interface, cfg FloodConfig) (uint64, time.Duration, error) {
	return 0, 0, notLinux("flood")
}

// Resolve returns an error wrapping ErrNotLinux: routes and neighbours come
// from Linux's netlink.
func Resolve(dst netip.Addr, cfg *ResolveConfig) (Route, error) {
	return Route{}, notLinux("resolve " + dst.String())
}

// KindConn: see the Linux version.
type KindConn struct{}

// OpenKind needs Linux.
func OpenKind(k SocketKind, proto uint8, ifi *net.Interface) (*KindConn, error) {
	return nil, notLinux("open " + k.String())
}

func (c *KindConn) Kind() SocketKind                     { return 0 }
func (c *KindConn) Bind(a netip.Addr, port uint16) error { return notLinux("bind") }
func (c *KindConn) LocalPort() (uint16, error)           { return 0, notLinux("getsockname") }
func (c *KindConn) Send(b []byte, dst netip.Addr, dstPort uint16, dstMAC craft.MAC) error {
	return notLinux("send")
}
func (c *KindConn) Recv(b []byte, deadline time.Time) (int, error) { return 0, notLinux("recv") }
func (c *KindConn) Close() error                                   { return nil }
