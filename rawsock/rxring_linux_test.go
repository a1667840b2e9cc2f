package rawsock

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// ringBlock lays out one TPACKET_V3 block as the kernel would: frames of
// the given sizes, each behind a tpacket3_hdr and its sockaddr_ll.
func ringBlock(size int, frames ...int) []byte {
	b := make([]byte, size)
	ne := binary.NativeEndian
	ne.PutUint32(b[blkStatus:], unix.TP_STATUS_USER)
	ne.PutUint32(b[blkNumPkts:], uint32(len(frames)))
	ne.PutUint32(b[blkFirst:], 48)
	off := 48
	for i, n := range frames {
		const mac = 82
		next := (mac + n + 7) &^ 7
		if i == len(frames)-1 {
			next = 0
		}
		ne.PutUint32(b[off+p3Next:], uint32(next))
		ne.PutUint32(b[off+p3Sec:], 1700000000)
		ne.PutUint32(b[off+p3Snaplen:], uint32(n))
		ne.PutUint32(b[off+p3Len:], uint32(n))
		ne.PutUint16(b[off+p3Mac:], mac)
		b[off+p3Pkttype] = unix.PACKET_OUTGOING
		for j := 0; j < n; j++ {
			b[off+mac+j] = byte(i)
		}
		off += next
	}
	return b
}

// drain reads every frame the ring offers.
func drain(r *rxRing) (frames [][]byte, metas []Meta) {
	buf := make([]byte, 1<<16)
	for r.poll(0) && len(frames) < 1<<16 {
		var m Meta
		if n, ok := r.recv(buf, &m); ok {
			frames = append(frames, append([]byte(nil), buf[:n]...))
			metas = append(metas, m)
		}
	}
	return frames, metas
}

// A block as the kernel lays it out is read frame by frame, and handed back.
func TestRxRingBlockWalk(t *testing.T) {
	const size = 4096
	mem := append(ringBlock(size, 60, 61, 1514%1000), ringBlock(size, 64)...)
	r := &rxRing{mem: mem, blockSize: size, blocks: 2}
	frames, metas := drain(r)
	if len(frames) != 4 || len(frames[2]) != 514 || frames[3][0] != 0 || frames[1][60] != 1 || !metas[0].Outgoing || metas[0].Time.Unix() != 1700000000 {
		t.Fatalf("read %d frames: %v", len(frames), metas)
	}
	for blk := 0; blk < 2; blk++ {
		if s := r.u32(blk*size + blkStatus); s != unix.TP_STATUS_KERNEL {
			t.Errorf("block %d left with status %#x, want it handed back", blk, s)
		}
	}
}

// FuzzRxRingBlock: the ring's headers come from the kernel, but they are
// read like any received bytes — nothing may panic or read outside the
// block, whatever the counts and offsets say.
func FuzzRxRingBlock(f *testing.F) {
	f.Add(ringBlock(512, 60, 100))
	f.Add(ringBlock(512, 380))
	f.Add(ringBlock(256, 60))
	f.Fuzz(func(t *testing.T, block []byte) {
		if len(block) < 64 {
			return
		}
		size := len(block) &^ 7
		mem := append(append([]byte(nil), block[:size]...), block[:size]...) // two blocks
		r := &rxRing{mem: mem, blockSize: size, blocks: 2}
		frames, _ := drain(r)
		for _, fr := range frames {
			if len(fr) > size {
				t.Fatalf("a %d-byte frame out of a %d-byte block", len(fr), size)
			}
		}
	})
}
