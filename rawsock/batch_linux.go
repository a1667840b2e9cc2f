package rawsock

import (
	"syscall"
	"unsafe"

	"github.com/rawcraft/rawcraft/craft"
	"golang.org/x/sys/unix"
)

// MaxBatch is the most frames one SendBatch hands the kernel at once.
const MaxBatch = 256

type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// batchState is kept in the Conn so that sending a batch allocates nothing.
type batchState struct {
	rc    syscall.RawConn
	write func(fd uintptr) bool
	msgs  [MaxBatch]mmsghdr
	iovs  [MaxBatch]unix.Iovec
	pads  [MaxBatch][craft.MinFrameLen]byte
	n     int // messages to send
	sent  int
	errno syscall.Errno
}

func (s *batchState) send(fd uintptr) bool {
	n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.msgs[0])), uintptr(s.n), unix.MSG_DONTWAIT, 0, 0)
	if errno == unix.EAGAIN {
		return false // the queue is full: wait until the socket can send
	}
	s.sent, s.errno = int(n), errno
	return true
}

// SendBatch sends up to MaxBatch frames with one sendmmsg(2) system call
// and returns how many the kernel took. Frames shorter than 60 bytes are
// padded. The socket is bound to its interface, so no address is needed.
func (c *Conn) SendBatch(frames [][]byte) (int, error) {
	if c.bs == nil {
		rc, err := c.c.SyscallConn()
		if err != nil {
			return 0, err
		}
		c.bs = &batchState{rc: rc}
		c.bs.write = c.bs.send
	}
	s := c.bs
	s.n = min(len(frames), MaxBatch)
	for i := 0; i < s.n; i++ {
		f := frames[i]
		if len(f) < craft.MinFrameLen {
			n := copy(s.pads[i][:], f)
			clear(s.pads[i][n:])
			f = s.pads[i][:]
		}
		s.iovs[i].Base = &f[0]
		s.iovs[i].SetLen(len(f))
		s.msgs[i].hdr = unix.Msghdr{Iov: &s.iovs[i], Iovlen: 1}
	}
	if err := s.rc.Write(s.write); err != nil {
		return 0, err
	}
	if s.errno != 0 {
		return s.sent, s.errno
	}
	return s.sent, nil
}

// SetQdiscBypass sends frames straight to the driver, past the queueing
// discipline (PACKET_QDISC_BYPASS, packet(7)): faster, but a full driver
// queue drops frames instead of queueing them.
func (c *Conn) SetQdiscBypass(on bool) error {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return err
	}
	v := 0
	if on {
		v = 1
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, v)
	}); err != nil {
		return err
	}
	return serr
}
