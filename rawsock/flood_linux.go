package rawsock

import (
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"golang.org/x/sys/unix"
)

// Flood sends cfg on ifi and returns how many frames went out and how long
// it took. Paced floods use one worker and an absolute schedule (packet k
// leaves at start + k·Interval), sending whatever is due in one sendmmsg, so
// that the rate holds on average even though the OS wakes the sender only
// every tens of microseconds. Unpaced floods split the packets among the
// workers, each pinned to a core, as trafgen pins its processes. Every
// socket is opened on the calling goroutine's thread, in its namespace. It
// allocates nothing per packet.
func Flood(ifi *net.Interface, cfg FloodConfig) (uint64, time.Duration, error) {
	if cfg.Count > MaxFloodCount {
		cfg.Count = MaxFloodCount
	}
	if cfg.Workers < 1 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.Interval > 0 {
		cfg.Workers = 1
	}
	conns := make([]*Sender, cfg.Workers)
	for w := range conns {
		c, err := NewSender(ifi, &SenderConfig{QdiscBypass: cfg.QdiscBypass})
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
	for w := 0; w < cfg.Workers; w++ {
		// Worker w sends packets w, w+W, w+2W…
		n := cfg.Count / uint64(cfg.Workers)
		if uint64(w) < cfg.Count%uint64(cfg.Workers) {
			n++
		}
		wg.Add(1)
		go func(w int, n uint64) {
			defer wg.Done()
			sent, err := cfg.worker(conns[w], w, n, start)
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

// patch gives frame t the identity of packet k.
func (cfg *FloodConfig) patch(t *craft.Template, k uint64) {
	t.SetIPID(cfg.BaseID + uint16(k))
	if cfg.VaryFragID {
		t.SetFragID(cfg.BaseFragID + uint32(k))
	}
	if cfg.VaryICMPSeq { // an ICMP or ICMPv6 echo; SetICMPSeq leaves other frames alone
		t.SetICMPSeq(cfg.BaseICMPSeq + uint16(k))
	}
}

func (cfg *FloodConfig) worker(c *Sender, w int, n uint64, start time.Time) (uint64, error) {
	defer c.Close()
	if cfg.Workers > 1 {
		// One core per worker. The thread is never unlocked, so the runtime
		// throws it away, with its affinity, when the worker ends.
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(w % runtime.NumCPU())
		_ = unix.SchedSetaffinity(0, &set)
	}
	perPacket := len(cfg.Packet)
	longest := 0
	for i := range cfg.Packet {
		longest = max(longest, len(cfg.Packet[i].Bytes()))
	}
	var ring *TxRing
	if cfg.Ring {
		r, err := NewTxRing(c, 1024, longest)
		if err != nil {
			return 0, err
		}
		defer r.Close()
		ring = r
	}
	// Zero copy: a single-frame packet through the ring is patched in its
	// slot, copied there on the slot's first lap; everything else is
	// patched in per-batch copies first.
	if ring != nil && perPacket == 1 {
		return cfg.zeroCopy(ring, w, n, start)
	}
	slots := max(1, MaxBatch/perPacket) // packets per batch
	bufs := make([][]craft.Template, slots)
	for s := range bufs {
		for i := range cfg.Packet {
			f := cfg.Packet[i].Bytes()
			b := make([]byte, max(len(f), craft.MinFrameLen)) // padded here, once, so that SendBatch need not copy
			bufs[s] = append(bufs[s], cfg.Packet[i].Clone(b[:len(f)]))
		}
	}
	batch := make([][]byte, 0, slots*perPacket)
	var sent uint64
	for i := uint64(0); i < n; {
		due := cfg.due(i, n, uint64(slots), start)
		if due == 0 {
			continue
		}
		batch = batch[:0]
		for s := uint64(0); s < due; s++ {
			k := uint64(w) + (i+s)*uint64(cfg.Workers) // the packet's number in the whole flood
			for f := range bufs[s] {
				t := &bufs[s][f]
				cfg.patch(t, k)
				b := t.Bytes()
				batch = append(batch, b[:max(len(b), craft.MinFrameLen)])
			}
		}
		if ring != nil {
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
		if cfg.OnProgress != nil {
			cfg.OnProgress(len(batch))
		}
		i += due
	}
	return sent, nil
}

// due says how many packets from the i-th of n to send now, at most slots;
// a paced flood sleeps until the next is due and says 0.
func (cfg *FloodConfig) due(i, n, slots uint64, start time.Time) uint64 {
	due := min(slots, n-i)
	if cfg.Interval > 0 {
		k := uint64(time.Since(start)/cfg.Interval) + 1 // packets due by now, in all
		if k <= i {
			time.Sleep(time.Until(start.Add(time.Duration(i) * cfg.Interval)))
			return 0
		}
		due = min(due, k-i)
	}
	return due
}

func (cfg *FloodConfig) zeroCopy(ring *TxRing, w int, n uint64, start time.Time) (uint64, error) {
	slots := make([]craft.Template, ring.Slots())
	filled := 0 // ring slots that hold the frame already
	var sent uint64
	for i := uint64(0); i < n; {
		due := cfg.due(i, n, uint64(MaxBatch), start)
		for s := uint64(0); s < due; s++ {
			k := uint64(w) + (i+s)*uint64(cfg.Workers)
			area, err := ring.Claim()
			if err != nil {
				return sent, err
			}
			slot := &slots[ring.claimed()]
			if filled < len(slots) {
				*slot = cfg.Packet[0].Clone(area[:len(cfg.Packet[0].Bytes())])
				filled++
			}
			cfg.patch(slot, k)
			ring.Commit(len(slot.Bytes()))
			sent++
		}
		if err := ring.Flush(); err != nil {
			return sent, err
		}
		if cfg.OnProgress != nil {
			cfg.OnProgress(int(due))
		}
		i += due
	}
	return sent, nil
}
