package rawsock

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/rawcraft/rawcraft/craft"
	"golang.org/x/sys/unix"
)

// TxRing is a PACKET_TX_RING (TPACKET_V2, packet(7)) on an AF_PACKET
// socket: frames are written into memory shared with the kernel and handed
// over many at a time by one empty send(2) — what trafgen does, and the
// fastest way out of the socket.
//
// Each slot starts with a struct tpacket2_hdr (32 bytes); the frame follows
// it. A slot is the sender's when its status is TP_STATUS_AVAILABLE, and the
// kernel's once marked TP_STATUS_SEND_REQUEST, until it has gone out.
type TxRing struct {
	fd       int
	mem      []byte
	slot     int // bytes per slot
	perBlock int // slots in a block: the kernel never lets a slot straddle two
	block    int // bytes per block
	n        int // slots
	next     int // the next slot to fill
	queued   int // slots marked since the last flush
}

const (
	tpStatusAvailable   = 0
	tpStatusSendRequest = 1
	tpStatusWrongFormat = 4
	tpacket2HdrLen      = 32 // TPACKET_ALIGN(sizeof(struct tpacket2_hdr)): where the frame starts
)

// NewTxRing sets up a ring of slots slots, each holding a frame of at most
// maxFrame bytes, on s. Once it has a ring the socket sends only through
// it: use one Sender per ring.
func NewTxRing(s *Sender, slots, maxFrame int) (*TxRing, error) {
	slot := (tpacket2HdrLen + max(maxFrame, craft.MinFrameLen) + 15) &^ 15
	page := unix.Getpagesize()
	if slot > page || slots < 1 || slots > 1<<16 {
		return nil, fmt.Errorf("tx ring: %d slots of %d bytes: a slot fits one page (%d), at most 65536 slots", slots, slot, page)
	}
	perBlock := page / slot
	blocks := (slots + perBlock - 1) / perBlock
	r := &TxRing{fd: s.fd, slot: slot, perBlock: perBlock, block: page, n: blocks * perBlock}
	// Frames in flight count against the send buffer until the kernel
	// frees them: room for the whole ring.
	if err := unix.SetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4*blocks*page); err != nil {
		return nil, fmt.Errorf("tx ring: SO_SNDBUFFORCE: %w", err)
	}
	if err := unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return nil, fmt.Errorf("tx ring: PACKET_VERSION: %w", err)
	}
	req := unix.TpacketReq{Block_size: uint32(page), Block_nr: uint32(blocks), Frame_size: uint32(slot), Frame_nr: uint32(r.n)}
	if err := unix.SetsockoptTpacketReq(r.fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &req); err != nil {
		return nil, fmt.Errorf("tx ring: PACKET_TX_RING: %w", err)
	}
	mem, err := unix.Mmap(r.fd, 0, blocks*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("tx ring: mmap: %w", err)
	}
	r.mem = mem
	return r, nil
}

// offset returns where slot i starts: slots fill a block, and the rest of
// the block is left unused.
func (r *TxRing) offset(i int) int { return i/r.perBlock*r.block + i%r.perBlock*r.slot }

func (r *TxRing) status(i int) *uint32 { return (*uint32)(unsafe.Pointer(&r.mem[r.offset(i)])) }

// Put copies frame into the next free slot (padded to 60 bytes) and marks
// it for sending; Flush hands the marked slots to the kernel. A slot comes
// back only when the kernel has freed the frame it carried, so when the
// ring is full Put flushes and waits — spinning first, then sleeping a few
// microseconds at a time — for at most a second before ErrRingFull.
func (r *TxRing) Put(frame []byte) error {
	if len(frame) > r.slot-tpacket2HdrLen {
		return fmt.Errorf("tx ring: a %d-byte frame does not fit a %d-byte slot", len(frame), r.slot-tpacket2HdrLen)
	}
	area, err := r.Claim()
	if err != nil {
		return err
	}
	n := copy(area, frame)
	if n < craft.MinFrameLen {
		clear(area[n:craft.MinFrameLen])
	}
	r.Commit(n)
	return nil
}

// Flush asks the kernel to send every marked slot (an empty send(2)).
func (r *TxRing) Flush() error {
	r.queued = 0
	_, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(r.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 && errno != unix.EAGAIN && errno != unix.ENOBUFS {
		return fmt.Errorf("tx ring flush: %w", errno)
	}
	return nil
}

// Slots returns the ring's size in frames.
func (r *TxRing) Slots() int { return r.n }

// Close releases the ring's memory; the Sender stays open.
func (r *TxRing) Close() error { return unix.Munmap(r.mem) }

// Claim returns the next slot's frame area once it is free, to be written
// or patched in place, then handed over with Commit. The area keeps the
// bytes of the frame the slot last carried, so a sender that fills every
// slot once can afterwards patch only what changes — nothing is copied per
// frame. It waits like Put when the ring is full.
func (r *TxRing) Claim() ([]byte, error) {
	st := r.status(r.next)
	var deadline time.Time
	for spins := 0; atomic.LoadUint32(st) != tpStatusAvailable; spins++ {
		if atomic.LoadUint32(st) == tpStatusWrongFormat {
			return nil, fmt.Errorf("tx ring: the kernel refused a frame (TP_STATUS_WRONG_FORMAT)")
		}
		if spins%64 == 0 {
			if err := r.Flush(); err != nil {
				return nil, err
			}
		}
		switch {
		case spins < 256:
			runtime.Gosched()
		case deadline.IsZero():
			deadline = time.Now().Add(time.Second)
		case time.Now().After(deadline):
			return nil, ErrRingFull
		default:
			time.Sleep(5 * time.Microsecond)
		}
	}
	base := r.offset(r.next) + tpacket2HdrLen
	return r.mem[base : base+r.slot-tpacket2HdrLen], nil
}

// claimed is the index of the slot Claim returned last.
func (r *TxRing) claimed() int { return r.next }

// Commit hands the claimed slot, holding a frame of n bytes, to the kernel.
func (r *TxRing) Commit(n int) {
	base := r.offset(r.next)
	*(*uint32)(unsafe.Pointer(&r.mem[base+4])) = uint32(max(n, craft.MinFrameLen)) // tp_len
	atomic.StoreUint32(r.status(r.next), tpStatusSendRequest)
	r.queued++
	r.next++
	if r.next == r.n {
		r.next = 0
	}
}
