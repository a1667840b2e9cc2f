package main

import (
	"runtime"
	"sync"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/rawsock"
	"golang.org/x/sys/unix"
)

// fastPlan is a flood or a high rate sent in batches: count packets (each
// the frames of one datagram), packet k carrying IP ID baseID+k and, for an
// echo, sequence number baseSeq+k, every field patched in place (RFC 1624).
type fastPlan struct {
	frames          [][]byte // one packet: the datagram, or its fragments
	linkEth         bool
	count           uint64
	interval        time.Duration // 0: as fast as the socket takes them
	workers         int
	baseID, baseSeq uint16
	echo            bool
	ipCsumForced    bool
	icmpCsumForced  bool
	ring            bool // send through a PACKET_TX_RING instead of sendmmsg
	open            func() (*rawsock.Sender, error)
}

// fastSend sends the plan and returns how many frames went out. Paced
// plans use one worker and an absolute schedule (packet k leaves at start +
// k·interval), sending whatever is due in one sendmmsg, so that the rate
// holds on average even though the OS wakes the sender only every tens of
// microseconds. Unpaced plans split the packets among the workers.
func fastSend(p fastPlan) (uint64, time.Duration, error) {
	if p.interval > 0 || p.workers < 1 {
		p.workers = 1
	}
	// Every socket is opened here, on the calling goroutine's thread: in a
	// test that runs send inside lab.Do only that thread is in the lab's
	// namespace, and a worker's thread might be in the machine's own.
	conns := make([]*rawsock.Sender, p.workers)
	for w := range conns {
		c, err := p.open()
		if err != nil {
			for _, o := range conns[:w] {
				o.Close()
			}
			return 0, 0, err
		}
		conns[w] = c
	}
	start := time.Now()
	var total uint64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < p.workers; w++ {
		// Worker w sends packets w, w+W, w+2W…
		n := p.count / uint64(p.workers)
		if uint64(w) < p.count%uint64(p.workers) {
			n++
		}
		wg.Add(1)
		go func(w int, n uint64) {
			defer wg.Done()
			sent, err := p.worker(conns[w], w, n, start)
			mu.Lock()
			total += sent
			if err != nil && firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}(w, n)
	}
	wg.Wait()
	return total, time.Since(start), firstErr
}

func (p fastPlan) worker(c *rawsock.Sender, w int, n uint64, start time.Time) (uint64, error) {
	defer c.Close()
	if p.workers > 1 {
		// One core per worker, as trafgen pins one process per core. The
		// thread is never unlocked, so the runtime throws it away, with its
		// affinity, when the worker ends.
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(w % runtime.NumCPU())
		_ = unix.SchedSetaffinity(0, &set)
	}
	var ring *rawsock.TxRing
	if p.ring {
		longest := 0
		for _, f := range p.frames {
			longest = max(longest, len(f))
		}
		r, err := rawsock.NewTxRing(c, 1024, longest)
		if err != nil {
			return 0, err
		}
		defer r.Close()
		ring = r
	}
	perPacket := len(p.frames)
	slots := max(1, rawsock.MaxBatch/perPacket) // packets per batch
	// Each slot holds its own copy of the packet's frames.
	// Zero copy: a single-frame packet through the ring is patched in its
	// slot; everything else is patched in these copies first.
	zeroCopy := ring != nil && perPacket == 1
	bufs := make([][][]byte, slots)
	for s := range bufs {
		if zeroCopy {
			break
		}
		for _, f := range p.frames {
			// Padded here, once, so that SendBatch need not copy.
			b := make([]byte, max(len(f), craft.MinFrameLen))
			copy(b, f)
			bufs[s] = append(bufs[s], b)
		}
	}
	batch := make([][]byte, 0, slots*perPacket)
	ip := 0
	if p.linkEth {
		ip = craft.EthernetLen
	}
	var sent uint64
	filled := 0 // ring slots that hold the frame already
	for i := uint64(0); i < n; {
		// How many packets are due now?
		due := min(uint64(slots), n-i)
		if p.interval > 0 {
			k := uint64(time.Since(start)/p.interval) + 1 // packets due by now, in all
			if k <= i {
				time.Sleep(time.Until(start.Add(time.Duration(i) * p.interval)))
				continue
			}
			due = min(due, k-i)
		}
		batch = batch[:0]
		for s := uint64(0); s < due && !zeroCopy; s++ {
			k := uint64(w) + (i+s)*uint64(p.workers) // the packet's number in the whole plan
			for _, f := range bufs[s] {
				p.patch(f, ip, k)
				batch = append(batch, f)
			}
		}
		if zeroCopy {
			// Zero copy: each slot got the frame on its first lap; after
			// that only the fields that change are patched, in the slot.
			for s := uint64(0); s < due; s++ {
				k := uint64(w) + (i+s)*uint64(p.workers)
				area, err := ring.Claim()
				if err != nil {
					return sent, err
				}
				f := area[:len(p.frames[0])]
				if filled < ring.Slots() {
					copy(f, p.frames[0])
					filled++
				}
				p.patch(f, ip, k)
				ring.Commit(len(f))
				sent++
			}
			if err := ring.Flush(); err != nil {
				return sent, err
			}
			batch = batch[:0]
		} else if ring != nil {
			for _, f := range batch {
				if err := ring.Put(f); err != nil {
					return sent, err
				}
				sent++
			}
			if err := ring.Flush(); err != nil {
				return sent, err
			}
		}
		for rest := batch; ring == nil && len(rest) > 0; { // rest, not batch: batch keeps its capacity
			m, err := c.SendBatch(rest)
			sent += uint64(m)
			if err != nil {
				return sent, err
			}
			rest = rest[m:]
		}
		i += due
	}
	return sent, nil
}

func cpus(n uint64) int {
	if n == 0 {
		return runtime.NumCPU()
	}
	return int(n)
}

// patch gives frame f (its IPv4 header at ip) the identity of packet k:
// IP ID baseID+k and, for an echo, sequence number baseSeq+k, with their
// checksums updated in place (RFC 1624) unless they were forced.
func (p *fastPlan) patch(f []byte, ip int, k uint64) {
	ipCsum := ip + 10
	if p.ipCsumForced {
		ipCsum = -1
	}
	craft.Patch16(f, ip+4, p.baseID+uint16(k), ipCsum)
	if p.echo && f[ip+6]&0x1f == 0 && f[ip+7] == 0 {
		t := ip + int(f[ip]&0xf)*4
		icmpCsum := t + 2
		if p.icmpCsumForced {
			icmpCsum = -1
		}
		craft.Patch16(f, t+6, p.baseSeq+uint16(k), icmpCsum)
	}
}
