package rawsock

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rxRing is a PACKET_RX_RING in TPACKET_V3 layout (packet(7),
// Documentation/networking/packet_mmap.rst): memory shared with the kernel,
// cut into blocks. The kernel copies each frame it would have queued on
// the socket into the current block, behind a struct tpacket3_hdr, and
// hands the block over (TP_STATUS_USER) when it is full or its timeout
// expires; only then does it wake the reader. So a burst costs one wakeup
// per block, not a system call per frame. The reader gives the block back
// (TP_STATUS_KERNEL) when it has read every frame in it; while every block
// is the reader's, new frames are dropped, and counted (PACKET_STATISTICS).
type rxRing struct {
	rc        syscall.RawConn
	ready     func(fd uintptr) bool // bound once: no closure per frame
	mem       []byte
	blockSize int
	blocks    int
	cur       int // the block being read
	pkt       int // offset of the next frame's header in mem
	left      int // frames left in the current block; 0: not yet taken
	// The mapping outlives Close while a reader is inside recvRing: a
	// Close from another goroutine (to unblock it) must not pull the
	// memory from under its copy. The last one out unmaps.
	users  atomic.Int32
	closed atomic.Bool
	unmap  sync.Once
}

// The ring's layout, from linux/if_packet.h.
const (
	rxBlockSize = 1 << 17 // 128 KiB: a multiple of the page, above any frame, a 64 KiB GSO one with its headers included
	rxFrameSize = 1 << 11 // tp_frame_size: a V3 ring still wants one
	// Offsets in struct tpacket_block_desc.
	blkStatus, blkNumPkts, blkFirst = 8, 12, 16
	// Offsets in struct tpacket3_hdr, and the struct sockaddr_ll after it
	// (TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) = 48).
	p3Next, p3Sec, p3Nsec, p3Snaplen, p3Len, p3Status, p3Mac = 0, 4, 8, 12, 16, 20, 24
	p3VLANTCI, p3VLANTPID                                    = 32, 36 // hv1.tp_vlan_tci, tp_vlan_tpid
	p3Pkttype                                                = 48 + 10
)

// setupRxRing gives the socket a ring of about bytes bytes and maps it.
// The socket must not yet receive anything (bound to protocol 0), or
// frames queued before the ring would be stranded in the ordinary queue.
// timeout is how long a partly filled block waits before it is handed over.
func setupRxRing(rc syscall.RawConn, bytes int, timeout time.Duration) (*rxRing, error) {
	blocks := max(2, bytes/rxBlockSize)
	r := &rxRing{rc: rc, blockSize: rxBlockSize, blocks: blocks}
	r.ready = r.poll
	var serr error
	err := rc.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); serr != nil {
			serr = fmt.Errorf("PACKET_VERSION: %w", serr)
			return
		}
		req := unix.TpacketReq3{
			Block_size:     rxBlockSize,
			Block_nr:       uint32(blocks),
			Frame_size:     rxFrameSize,
			Frame_nr:       uint32(blocks * rxBlockSize / rxFrameSize),
			Retire_blk_tov: uint32(max(1, timeout.Milliseconds())),
		}
		if serr = unix.SetsockoptTpacketReq3(int(fd), unix.SOL_PACKET, unix.PACKET_RX_RING, &req); serr != nil {
			serr = fmt.Errorf("PACKET_RX_RING: %w", serr)
			return
		}
		r.mem, serr = unix.Mmap(int(fd), 0, blocks*rxBlockSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if serr != nil {
			serr = fmt.Errorf("mmap: %w", serr)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return nil, fmt.Errorf("rx ring: %w", err)
	}
	return r, nil
}

func (r *rxRing) u32(off int) uint32 { return binary.NativeEndian.Uint32(r.mem[off:]) }

func (r *rxRing) status(block int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[block*r.blockSize+blkStatus]))
}

// poll reports whether a frame is ready, taking the next block from the
// kernel if it has handed it over. Empty blocks are given straight back.
func (r *rxRing) poll(uintptr) bool {
	for r.left == 0 {
		if atomic.LoadUint32(r.status(r.cur))&unix.TP_STATUS_USER == 0 {
			return false
		}
		base := r.cur * r.blockSize
		r.left = int(r.u32(base + blkNumPkts))
		r.pkt = base + int(r.u32(base+blkFirst))
		if r.left == 0 {
			r.release()
		}
	}
	return true
}

// release gives the current block back to the kernel and moves on.
func (r *rxRing) release() {
	atomic.StoreUint32(r.status(r.cur), unix.TP_STATUS_KERNEL)
	r.cur++
	if r.cur == r.blocks {
		r.cur = 0
	}
}

// recv copies the next frame into b (poll must have said one is ready)
// and describes it in m. The kernel's header is untrusted like the frame:
// a frame whose offsets leave the block ends the block, and ok is false.
func (r *rxRing) recv(b []byte, m *Meta) (n int, ok bool) {
	h := r.pkt
	end := r.cur*r.blockSize + r.blockSize
	if h+p3Pkttype+1 > end {
		r.left = 0
		r.release()
		return 0, false
	}
	snap, mac := int(r.u32(h+p3Snaplen)), int(binary.NativeEndian.Uint16(r.mem[h+p3Mac:]))
	status := r.u32(h + p3Status)
	*m = Meta{
		Time:            time.Unix(int64(r.u32(h+p3Sec)), int64(r.u32(h+p3Nsec))),
		Outgoing:        r.mem[h+p3Pkttype] == unix.PACKET_OUTGOING,
		ChecksumPartial: status&unix.TP_STATUS_CSUMNOTREADY != 0,
		ChecksumValid:   status&unix.TP_STATUS_CSUM_VALID != 0,
		Len:             int(r.u32(h + p3Len)),
	}
	start := h + mac
	ok = start <= end && snap <= end-start
	if ok {
		n = copy(b, r.mem[start:start+snap])
		if status&unix.TP_STATUS_VLAN_VALID != 0 && h+p3VLANTPID+2 <= end {
			tpid := uint16(0)
			if status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
				tpid = binary.NativeEndian.Uint16(r.mem[h+p3VLANTPID:])
			}
			n = restoreVLAN(b, n, uint16(r.u32(h+p3VLANTCI)), tpid, m)
		}
	}
	r.left--
	next := int(r.u32(h + p3Next))
	if r.left == 0 || next == 0 {
		r.left = 0
		r.release()
	} else {
		r.pkt = h + next
	}
	return n, ok
}

// startRing gives c, bound to protocol 0, a ring of about bytes bytes
// (4 MiB if zero) whose blocks are handed over after timeout
// (RingBlockTimeout if zero), then binds it to proto: from then on frames go to the
// ring.
func (c *Conn) startRing(proto, bytes int, timeout time.Duration) error {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return err
	}
	if bytes <= 0 {
		bytes = 4 << 20
	}
	if timeout <= 0 {
		timeout = RingBlockTimeout
	}
	r, err := setupRxRing(rc, bytes, timeout)
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.Bind(int(fd), &unix.SockaddrLinklayer{Protocol: htons(uint16(proto)), Ifindex: c.ifi.Index})
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		r.close()
		return fmt.Errorf("rx ring: bind: %w", err)
	}
	c.rx = r
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// recvRing is RecvMeta from the ring; now: never wait.
func (c *Conn) recvRing(b []byte, m *Meta, now bool) (int, error) {
	r := c.rx
	if len(b) == 0 {
		return 0, unix.EINVAL
	}
	r.users.Add(1)
	defer r.leave()
	if r.closed.Load() {
		return 0, net.ErrClosed
	}
	for {
		if !r.poll(0) {
			if now {
				return 0, ErrWouldBlock
			}
			// Wait until the kernel hands a block over, or the read
			// deadline passes.
			if err := r.rc.Read(r.ready); err != nil {
				return 0, err
			}
		}
		if n, ok := r.recv(b, m); ok {
			return n, nil
		}
	}
}

// close unmaps the ring once no reader is inside it; the socket is closed
// by its Conn, first, which wakes a reader that waits.
func (r *rxRing) close() {
	r.closed.Store(true)
	if r.users.Load() == 0 {
		r.unmap.Do(func() { _ = unix.Munmap(r.mem) })
	}
}

func (r *rxRing) leave() {
	if r.users.Add(-1) == 0 && r.closed.Load() {
		r.unmap.Do(func() { _ = unix.Munmap(r.mem) })
	}
}
