package rawsock

import (
	"fmt"
	"net"
	"time"
	"unsafe"

	"github.com/rawcraft/rawcraft/craft"
	"golang.org/x/sys/unix"
)

// Sender is a send-only AF_PACKET socket for many frames a second: batches
// through sendmmsg(2), or a TxRing. Unlike Conn it is a plain blocking
// socket, kept out of Go's network poller, and that is the point: every
// frame the kernel frees wakes whatever waits on its socket (sock_wfree
// calls sk_write_space), and a socket registered with the poller has a
// waiter — its epoll entry — so each frame would cost an epoll callback.
// Measured on a veth pair, that is 8–17 % of the packet rate.
//
// A Sender is not safe for concurrent use: give each sending goroutine its
// own. A send that finds the socket's buffer full waits, for at most the
// configured timeout.
type Sender struct {
	fd  int
	ifi *net.Interface
	// Kept here so that a batch allocates nothing.
	msgs [MaxBatch]mmsghdr
	iovs [MaxBatch]unix.Iovec
	pads [MaxBatch][craft.MinFrameLen]byte
}

type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// NewSender opens a Sender on ifi in the calling thread's network
// namespace; it stays in that namespace. It receives nothing (protocol 0,
// packet(7)).
func NewSender(ifi *net.Interface, cfg *SenderConfig) (*Sender, error) {
	if cfg == nil {
		cfg = &SenderConfig{}
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, permission("AF_PACKET socket", fmt.Errorf("socket: %w", err))
	}
	s := &Sender{fd: fd, ifi: ifi}
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		s.Close()
		return nil, fmt.Errorf("SO_SNDTIMEO: %w", err)
	}
	if cfg.QdiscBypass {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
			s.Close()
			return nil, fmt.Errorf("PACKET_QDISC_BYPASS: %w", err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index}); err != nil {
		s.Close()
		return nil, fmt.Errorf("binding to %s: %w", ifi.Name, err)
	}
	return s, nil
}

// Interface returns the interface the socket is bound to.
func (s *Sender) Interface() *net.Interface { return s.ifi }

// Close closes the socket.
func (s *Sender) Close() error { return unix.Close(s.fd) }

// SendBatch sends up to MaxBatch frames with one sendmmsg(2) system call
// and returns how many the kernel took: fewer than given means the socket
// was interrupted or its buffer filled, and the caller sends the rest again.
// Frames shorter than 60 bytes are padded (a copy; pad them yourself to
// avoid it). The socket is bound to its interface, so no address is needed.
func (s *Sender) SendBatch(frames [][]byte) (int, error) {
	n := min(len(frames), MaxBatch)
	for i, f := range frames[:n] {
		if len(f) < craft.EthernetLen {
			return 0, fmt.Errorf("frame %d of %d bytes: shorter than an Ethernet header", i, len(f))
		}
		if len(f) < craft.MinFrameLen {
			m := copy(s.pads[i][:], f)
			clear(s.pads[i][m:])
			f = s.pads[i][:]
		}
		s.iovs[i].Base = &f[0]
		s.iovs[i].SetLen(len(f))
		s.msgs[i].hdr = unix.Msghdr{Iov: &s.iovs[i], Iovlen: 1}
	}
	for {
		// A blocking call: the runtime hands this goroutine's P on if it
		// lasts, and SO_SNDTIMEO bounds it.
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msgs[0])), uintptr(n), 0, 0, 0)
		switch errno {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, ErrSendTimeout
		}
		if errno == unix.EMSGSIZE {
			big := 0
			for _, f := range frames[:n] {
				big = max(big, len(f))
			}
			return 0, frameTooBig(s.ifi, big)
		}
		return 0, fmt.Errorf("sendmmsg: %w", errno)
	}
}
