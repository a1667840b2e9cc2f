package rawsock

import (
	"encoding/binary"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvState is the per-Conn state of RecvMeta, kept in the Conn so that
// receiving allocates nothing.
type recvState struct {
	rc    syscall.RawConn
	read  func(fd uintptr) bool
	iov   unix.Iovec
	msg   unix.Msghdr
	sa    unix.RawSockaddrLinklayer
	oob   [128]byte
	n     int
	errno syscall.Errno
	now   bool // RecvMetaNow: report EAGAIN instead of waiting
}

func (c *Conn) enableMeta() error {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		// SO_TIMESTAMPING, not SO_TIMESTAMPNS: a frame the kernel did not
		// stamp then comes without a stamp (Meta.Late), instead of with
		// the time of the read dressed up as the kernel's.
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPING, unix.SOF_TIMESTAMPING_RX_SOFTWARE|unix.SOF_TIMESTAMPING_SOFTWARE); serr != nil {
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_PACKET, unix.PACKET_AUXDATA, 1)
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	c.rs = &recvState{rc: rc}
	c.rs.read = c.rs.recv // bound once: no closure per packet
	return nil
}

func (s *recvState) recv(fd uintptr) bool {
	s.msg.Controllen = uint64(len(s.oob))
	s.msg.Namelen = uint32(unsafe.Sizeof(s.sa))
	n, _, errno := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&s.msg)), unix.MSG_TRUNC|unix.MSG_DONTWAIT)
	if errno == unix.EAGAIN && !s.now {
		return false // wait for the poller (and the read deadline)
	}
	s.n, s.errno = int(n), errno
	return true
}

// RecvMetaNow is RecvMeta that never waits: with no frame queued it returns
// ErrWouldBlock at once. (A read deadline in the past would not do: Go's
// poller then refuses to try the read at all.)
func (c *Conn) RecvMetaNow(b []byte, m *Meta) (int, error) {
	if c.rx != nil {
		return c.recvRing(b, m, true)
	}
	if c.rs == nil {
		return 0, unix.EINVAL
	}
	if err := c.c.SetReadDeadline(time.Time{}); err != nil {
		return 0, err
	}
	c.rs.now = true
	n, err := c.RecvMeta(b, m)
	c.rs.now = false
	return n, err
}

// RecvMeta reads one frame into b and what the kernel knows about it into
// m. It needs a Conn opened with Config.Meta or Config.Ring. It allocates
// nothing.
func (c *Conn) RecvMeta(b []byte, m *Meta) (int, error) {
	if c.rx != nil {
		return c.recvRing(b, m, false)
	}
	s := c.rs
	if s == nil {
		n, err := c.Recv(b)
		*m = Meta{Time: time.Now(), Len: n}
		return n, err
	}
	if len(b) == 0 {
		return 0, unix.EINVAL
	}
	s.iov.Base = &b[0]
	s.iov.SetLen(len(b))
	s.msg.Name = (*byte)(unsafe.Pointer(&s.sa))
	s.msg.Iov = &s.iov
	s.msg.Iovlen = 1
	s.msg.Control = &s.oob[0]
	if err := s.rc.Read(s.read); err != nil {
		return 0, err
	}
	if s.errno != 0 {
		return 0, s.errno
	}
	*m = Meta{Len: s.n, Outgoing: s.sa.Pkttype == unix.PACKET_OUTGOING}
	var vlan bool
	var vlanTCI, vlanTPID uint16
	oob := s.oob[:s.msg.Controllen]
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			break
		}
		data := oob[unix.SizeofCmsghdr:l]
		switch {
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPING && len(data) >= 16:
			// struct scm_timestamping: ts[0] is the software stamp.
			if sec, ns := int64(binary.NativeEndian.Uint64(data)), int64(binary.NativeEndian.Uint64(data[8:])); sec != 0 || ns != 0 {
				m.Time = time.Unix(sec, ns)
			}
		case h.Level == unix.SOL_PACKET && h.Type == unix.PACKET_AUXDATA && len(data) >= 8:
			status := binary.NativeEndian.Uint32(data)
			m.ChecksumPartial = status&unix.TP_STATUS_CSUMNOTREADY != 0
			m.ChecksumValid = status&unix.TP_STATUS_CSUM_VALID != 0
			m.Len = int(binary.NativeEndian.Uint32(data[4:]))
			if status&unix.TP_STATUS_VLAN_VALID != 0 && len(data) >= 20 { // struct tpacket_auxdata
				vlanTCI = binary.NativeEndian.Uint16(data[16:])
				if status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
					vlanTPID = binary.NativeEndian.Uint16(data[18:])
				}
				vlan = true
			}
		}
		adv := (l + 7) &^ 7
		if adv > len(oob) {
			break
		}
		oob = oob[adv:]
	}
	if m.Time.IsZero() {
		m.Time, m.Late = time.Now(), true
	}
	n := s.n
	if n > len(b) {
		n = len(b)
	}
	if vlan {
		n = restoreVLAN(b, n, vlanTCI, vlanTPID, m)
	}
	return n, nil
}

// restoreVLAN puts back into the frame b[:n] the 802.1Q tag the kernel took
// out on receive (VLAN acceleration moves it into the skb's metadata, and
// AF_PACKET reports it beside the frame: PACKET_AUXDATA, tpacket3_hdr), so
// that a capture shows the frame as it was on the wire. tpid 0 means
// 0x8100. With no room for the four bytes, b is left as it is and m says so
// only through Len. It returns the frame's new length.
func restoreVLAN(b []byte, n int, tci, tpid uint16, m *Meta) int {
	if n < 12 || n+4 > len(b) {
		return n
	}
	if tpid == 0 {
		tpid = 0x8100
	}
	copy(b[16:n+4], b[12:n])
	binary.BigEndian.PutUint16(b[12:], tpid)
	binary.BigEndian.PutUint16(b[14:], tci)
	m.Len += 4
	m.VLANRestored = true
	return n + 4
}

// SetReadBuffer sets the socket's receive buffer (SO_RCVBUFFORCE when
// privileged, so that a burst fits), in bytes.
func (c *Conn) SetReadBuffer(bytes int) error {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, bytes); serr != nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, bytes)
		}
	})
	if err != nil {
		return err
	}
	return serr
}
