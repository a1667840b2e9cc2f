package lab

import (
	"container/heap"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// impairTable is the nftables table (family netdev) that holds the
// impairments, in S1 and S2 only.
const impairTable = "rawcraft-impair"

// where says, for a direction, the switch whose cable end receives the
// frames (its ingress hook drops and duplicates), that end's name, the
// switch's port toward the destination host, and the switch and cable end
// that send them (where the bottleneck's qdisc sits).
func where(d Dir) (rxSw, rxIfc, hostPort, txSw, txIfc string) {
	if d == ToHs {
		return S2, "s1", "hs", S1, "s2"
	}
	return S1, "s2", "hc", S2, "s1"
}

func chainName(d Dir) string {
	if d == ToHs {
		return "to-hs"
	}
	return "to-hc"
}

func (l *Lab) nftIn(sw string) (*nftables.Conn, func(), error) {
	f, err := netns.GetFromName(l.NS(sw))
	if err != nil {
		return nil, nil, fmt.Errorf("lab %s is not up: %w", l.cfg.Name, err)
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(f)))
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return c, func() { f.Close() }, nil
}

func be16(v uint16) []byte  { return binaryutil.BigEndian.PutUint16(v) }
func be32b(v uint32) []byte { return binaryutil.BigEndian.PutUint32(v) }

// ipv4Only starts every rule: ARP and everything else but IPv4 crosses
// untouched, so the lab keeps resolving addresses under any loss.
func ipv4Only() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(unix.ETH_P_IP)},
	}
}

// random passes a frame with probability pct percent: numgen random mod
// 10000, turned to network order so that "<" compares numbers.
func random(pct float64) []expr.Any {
	th := uint32(pct*100 + 0.5)
	return []expr.Any{
		&expr.Numgen{Register: 1, Modulus: 10000, Type: unix.NFT_NG_RANDOM},
		&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
		&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: be32b(th)},
	}
}

func (m Match) exprs() []expr.Any {
	var e []expr.Any
	proto := m.Proto
	if m.HasSeq || m.FlagMask != 0 {
		proto = unix.IPPROTO_TCP
	}
	if proto != 0 {
		e = append(e, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}})
	}
	th := func(off, n uint32, data []byte) {
		e = append(e, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: n},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: data})
	}
	if m.SrcPort != 0 {
		th(0, 2, be16(m.SrcPort))
	}
	if m.Port != 0 {
		th(2, 2, be16(m.Port))
	}
	if m.HasSeq {
		th(4, 4, be32b(m.Seq))
	}
	if m.FlagMask != 0 {
		e = append(e, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{m.FlagMask}, Xor: []byte{0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{m.Flags & m.FlagMask}})
	}
	if m.MinLen != 0 || m.MaxLen != 0 {
		e = append(e, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 2, Len: 2})
		if m.MinLen != 0 {
			e = append(e, &expr.Cmp{Op: expr.CmpOpGte, Register: 1, Data: be16(m.MinLen)})
		}
		if m.MaxLen != 0 {
			e = append(e, &expr.Cmp{Op: expr.CmpOpLte, Register: 1, Data: be16(m.MaxLen)})
		}
	}
	return e
}

// nth passes only the nth frame to reach it (1-based), once: numgen inc
// counts from 0 in host order.
func nth(n int) []expr.Any {
	return []expr.Any{
		&expr.Numgen{Register: 1, Modulus: 0xffffffff, Type: unix.NFT_NG_INCREMENTAL},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(uint32(n - 1))},
	}
}

func comment(s string) []byte { return userdata.AppendString(nil, userdata.TypeComment, s) }

func rule(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var dropV = []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}}

// Impair sets the impairment on the S1–S2 cable, replacing whatever
// Impair set before in the directions it names (a delay forwarder running
// in them is stopped by it: start delays after impairing). Loss, drops and
// duplicates are nftables rules in table netdev rawcraft-impair, on the
// ingress hook of the receiving switch's cable end; the bottleneck is a tbf
// qdisc on the sending switch's cable end. Nothing outside S1 and S2 is
// touched. A bad value returns an error wrapping ErrImpair and sets
// nothing.
func (l *Lab) Impair(im Impairment) error {
	if err := im.validate(); err != nil {
		return err
	}
	if err := l.clear(im.Dir); err != nil {
		return err
	}
	for _, d := range im.Dir.dirs() {
		one := im
		one.Dir = d
		if err := l.impairOne(one); err != nil {
			return errors.Join(err, l.clear(im.Dir))
		}
	}
	return nil
}

func (l *Lab) impairOne(im Impairment) error {
	rxSw, rxIfc, hostPort, txSw, txIfc := where(im.Dir)
	var rules [][]expr.Any
	var notes []string
	if im.DropNth > 0 {
		// The larger count first: it sees every match, the smaller one
		// every match but the one the larger dropped, which comes later.
		a, b := im.DropNth, im.DropAlso
		if b > a {
			a, b = b, a
		}
		for _, n := range []int{a, b} {
			if n == 0 {
				continue
			}
			rules = append(rules, rule(ipv4Only(), im.Drop.exprs(), nth(n), dropV))
			notes = append(notes, fmt.Sprintf("drop match #%d of %s, once", n, im.Drop))
		}
	}
	if im.Loss > 0 {
		rules = append(rules, rule(ipv4Only(), random(im.Loss), dropV))
		notes = append(notes, fmt.Sprintf("random loss %g%%", im.Loss))
	}
	if im.Duplicate > 0 {
		var idx int
		if err := l.Do(rxSw, func() error {
			ifi, err := net.InterfaceByName(hostPort)
			if err == nil {
				idx = ifi.Index
			}
			return err
		}); err != nil {
			return err
		}
		rules = append(rules, rule(ipv4Only(), random(im.Duplicate), []expr.Any{
			&expr.Counter{},
			&expr.Immediate{Register: 2, Data: binaryutil.NativeEndian.PutUint32(uint32(idx))},
			&expr.Dup{RegAddr: 2, RegDev: 2, IsRegDevSet: true},
		}))
		notes = append(notes, fmt.Sprintf("duplicate %g%% (a copy straight out of %s's port %s)", im.Duplicate, rxSw, hostPort))
	}
	if len(rules) > 0 {
		c, done, err := l.nftIn(rxSw)
		if err != nil {
			return err
		}
		defer done()
		t, ch := impairChain(c, im.Dir, rxIfc)
		for i, r := range rules {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: r, UserData: comment(im.Dir.String() + ": " + notes[i])})
		}
		if err := c.Flush(); err != nil {
			return fmt.Errorf("nftables impairment in %s: %w", rxSw, err)
		}
	}
	if im.Rate > 0 {
		if err := l.tbf(txSw, txIfc, im.Rate, im.queue()); err != nil {
			return err
		}
	}
	return nil
}

func impairChain(c *nftables.Conn, d Dir, dev string) (*nftables.Table, *nftables.Chain) {
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyNetdev, Name: impairTable})
	policy := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: chainName(d), Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookIngress, Priority: nftables.ChainPriorityFilter, Device: dev, Policy: &policy})
	return t, ch
}

// tbf puts a token bucket on a switch's cable end: rate in bit/s, a queue
// of limit bytes, a bucket of one 10 ms burst (at least two full frames).
func (l *Lab) tbf(sw, ifc string, rate uint64, limit int) error {
	return l.withHandle(sw, func(h *netlink.Handle) error {
		link, err := h.LinkByName(ifc)
		if err != nil {
			return err
		}
		bytesPerSec := rate / 8
		burst := max(uint32(bytesPerSec/100), 3200)
		q := &netlink.Tbf{
			QdiscAttrs: netlink.QdiscAttrs{LinkIndex: link.Attrs().Index, Handle: netlink.MakeHandle(0x1c, 0), Parent: netlink.HANDLE_ROOT},
			Rate:       bytesPerSec, Limit: uint32(limit), Buffer: burst,
		}
		// netlink's Tbf wants the bucket in ticks of the packet scheduler's
		// clock, as tc computes it.
		q.Buffer = uint32(netlink.Xmittime(bytesPerSec, burst))
		if err := h.QdiscReplace(q); err != nil {
			return fmt.Errorf("tbf %s on %s/%s: %w", bitrate(rate), sw, ifc, err)
		}
		return nil
	})
}

func (l *Lab) withHandle(sw string, fn func(*netlink.Handle) error) error {
	f, err := netns.GetFromName(l.NS(sw))
	if err != nil {
		return fmt.Errorf("lab %s is not up: %w", l.cfg.Name, err)
	}
	defer f.Close()
	h, err := netlink.NewHandleAt(f)
	if err != nil {
		return err
	}
	defer h.Close()
	return fn(h)
}

// ClearImpair removes every impairment in both directions: the nftables
// tables, the bottleneck qdiscs, and the rule that hands frames to a delay
// forwarder (which then sees nothing more).
func (l *Lab) ClearImpair() error { return l.clear(Both) }

func (l *Lab) clear(dir Dir) error {
	var errs []error
	for _, d := range dir.dirs() {
		rxSw, _, _, txSw, txIfc := where(d)
		c, done, err := l.nftIn(rxSw)
		if err != nil {
			return err
		}
		if t, err := c.ListTableOfFamily(impairTable, nftables.TableFamilyNetdev); err == nil && t != nil {
			c.DelChain(&nftables.Chain{Name: chainName(d), Table: t})
			if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("removing the %s impairments in %s: %w", d, rxSw, err))
			}
			if chains, _ := c.ListChainsOfTableFamily(nftables.TableFamilyNetdev); !hasTableChain(chains, impairTable) {
				c.DelTable(t)
				_ = c.Flush()
			}
		}
		done()
		errs = append(errs, l.withHandle(txSw, func(h *netlink.Handle) error {
			link, err := h.LinkByName(txIfc)
			if err != nil {
				return err
			}
			qs, err := h.QdiscList(link)
			if err != nil {
				return err
			}
			for _, q := range qs {
				if q.Attrs().Parent == netlink.HANDLE_ROOT && q.Type() == "tbf" {
					if err := h.QdiscDel(q); err != nil {
						return fmt.Errorf("removing the bottleneck on %s/%s: %w", txSw, txIfc, err)
					}
				}
			}
			return nil
		}))
	}
	return errors.Join(errs...)
}

func hasTableChain(chains []*nftables.Chain, table string) bool {
	for _, c := range chains {
		if c.Table != nil && c.Table.Name == table {
			return true
		}
	}
	return false
}

// ImpairStatus says what is set on the S1–S2 cable, one line per rule with
// how many frames it has dropped or copied so far, and each bottleneck with
// its drops; nil when nothing is.
func (l *Lab) ImpairStatus() ([]string, error) {
	var out []string
	for _, d := range []Dir{ToHs, ToHc} {
		rxSw, _, _, txSw, txIfc := where(d)
		c, done, err := l.nftIn(rxSw)
		if err != nil {
			return nil, err
		}
		t, err := c.ListTableOfFamily(impairTable, nftables.TableFamilyNetdev)
		if err == nil && t != nil {
			rules, err := c.GetRules(t, &nftables.Chain{Name: chainName(d), Table: t})
			if err == nil {
				for _, r := range rules {
					s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
					for _, e := range r.Exprs {
						if ctr, ok := e.(*expr.Counter); ok {
							s += fmt.Sprintf(" [%d frames so far]", ctr.Packets)
						}
					}
					out = append(out, s)
				}
			}
		}
		done()
		_ = l.withHandle(txSw, func(h *netlink.Handle) error {
			link, err := h.LinkByName(txIfc)
			if err != nil {
				return err
			}
			qs, _ := h.QdiscList(link)
			for _, q := range qs {
				if tb, ok := q.(*netlink.Tbf); ok && q.Attrs().Parent == netlink.HANDLE_ROOT {
					s := fmt.Sprintf("%s: bottleneck %s, queue %d bytes (tbf on %s/%s)", d, bitrate(tb.Rate*8), tb.Limit, txSw, txIfc)
					if q.Attrs().Statistics != nil {
						st := q.Attrs().Statistics
						s += fmt.Sprintf(" [%d frames sent, %d dropped at the full queue]", st.Basic.Packets, st.Queue.Drops)
					}
					out = append(out, s)
				}
			}
			return nil
		})
	}
	return out, nil
}

// Delayer is a running delay forwarder: frames crossing the cable in its
// direction are handed by nftables ("dup to lo", then drop) to the
// receiving switch's loopback, read there from an AF_PACKET socket, held
// for the delay, and sent on through the switch's bridge. This kernel has
// no netem; the forwarder adds its own lateness (DelayStats.Late) and has
// a ceiling in frames a second (measured in docs/tutorial.md).
type Delayer struct {
	l         *Lab
	dir       Dir
	stop      chan struct{}
	wg        sync.WaitGroup
	fwd       atomic.Uint64
	dropped   atomic.Uint64
	reordered atomic.Uint64
	corrupted atomic.Uint64
	late      atomic.Int64
	once      sync.Once
	undo      []func() error
}

type delayed struct {
	due time.Time
	n   int
	buf *[2048]byte
	seq uint64 // arrival order, for frames due at the same time
}

// StartDelay starts a delay forwarder: each frame crossing the cable in
// dir (Both for both) arrives delay later, plus a uniformly random extra
// of up to jitter; frames keep their order (a frame never overtakes one
// that came before it). It runs in this process until Stop, or until the
// lab goes; Impair and ClearImpair in its direction cut it off. delay is
// at most 10 s. It is StartForwarder with a delay alone.
func (l *Lab) StartDelay(dir Dir, delay, jitter time.Duration) (*Delayer, error) {
	if delay < 0 || jitter < 0 || delay+jitter > 10*time.Second || delay+jitter == 0 {
		return nil, fmt.Errorf("%w: delay %v + jitter %v: above 0, at most 10 s in all", ErrImpair, delay, jitter)
	}
	return l.StartForwarder(dir, Forwarding{Delay: delay, Jitter: jitter})
}

// StartForwarder starts the user-space forwarder on the cable in dir (Both
// for both): frames are delayed, held back for others to overtake, or
// corrupted as f says. It runs in this process until Stop, or until the
// lab goes; Impair and ClearImpair in its direction cut it off. A bad f
// returns an error wrapping ErrImpair and starts nothing.
func (l *Lab) StartForwarder(dir Dir, f Forwarding) (*Delayer, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	if dir > ToHc {
		return nil, fmt.Errorf("%w: direction %d", ErrImpair, dir)
	}
	dl := &Delayer{l: l, dir: dir, stop: make(chan struct{})}
	for _, d := range dir.dirs() {
		if err := dl.start(d, f); err != nil {
			return nil, errors.Join(err, dl.Stop())
		}
	}
	return dl, nil
}

func (dl *Delayer) start(d Dir, f Forwarding) error {
	delay, jitter := f.Delay, f.Jitter
	rxSw, rxIfc, _, _, _ := where(d)
	var rx, tx int
	err := dl.l.Do(rxSw, func() error {
		lo, err := net.InterfaceByName("lo")
		if err != nil {
			return err
		}
		br, err := net.InterfaceByName("br0")
		if err != nil {
			return err
		}
		if rx, err = packetSocket(lo.Index, true); err != nil {
			return err
		}
		if tx, err = packetSocket(br.Index, false); err != nil {
			unix.Close(rx)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	c, done, err := dl.l.nftIn(rxSw)
	if err != nil {
		unix.Close(rx)
		unix.Close(tx)
		return err
	}
	defer done()
	t, ch := impairChain(c, d, rxIfc)
	var loIdx int
	_ = dl.l.Do(rxSw, func() error {
		lo, err := net.InterfaceByName("lo")
		if err == nil {
			loIdx = lo.Index
		}
		return err
	})
	desc := fmt.Sprintf("%s: %s (user-space forwarder in pid %d: the frames stop crossing if it ends; lab impair --clear)", d, f.Describe(), os.Getpid())
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: comment(desc), Exprs: rule(ipv4Only(), []expr.Any{
		&expr.Counter{},
		&expr.Immediate{Register: 2, Data: binaryutil.NativeEndian.PutUint32(uint32(loIdx))},
		&expr.Dup{RegAddr: 2, RegDev: 2, IsRegDevSet: true},
		&expr.Verdict{Kind: expr.VerdictDrop},
	})})
	if err := c.Flush(); err != nil {
		unix.Close(rx)
		unix.Close(tx)
		return fmt.Errorf("nftables forwarder rule in %s: %w", rxSw, err)
	}
	dl.undo = append(dl.undo, func() error { return dl.l.clearDelayRule(d) })
	const slots = 4096
	free := make(chan *[2048]byte, slots)
	for range slots {
		free <- new([2048]byte)
	}
	queue := make(chan delayed, slots)
	dl.wg.Add(2)
	go func() { // reader
		defer dl.wg.Done()
		defer close(queue)
		defer unix.Close(rx)
		var last time.Time
		var spill [2048]byte // read into when every slot is taken: the frame is dropped
		matched := 0
		for {
			select {
			case <-dl.stop:
				return
			default:
			}
			var b *[2048]byte
			select {
			case b = <-free:
			default:
			}
			dst := spill[:]
			if b != nil {
				dst = b[:]
			}
			n, err := unix.Read(rx, dst)
			if err != nil || n <= 0 {
				if b != nil {
					free <- b
				}
				if err == unix.EAGAIN || err == unix.EINTR || (err == nil && n == 0) {
					continue
				}
				return
			}
			if b == nil {
				dl.dropped.Add(1)
				continue
			}
			held := false
			if (f.ReorderEvery > 0 || f.CorruptEvery > 0) && f.Match.matches(b[:n]) {
				matched++
				if f.CorruptEvery > 0 && matched%f.CorruptEvery == 0 && corrupt(b[:n]) {
					dl.corrupted.Add(1)
				}
				held = f.ReorderEvery > 0 && matched%f.ReorderEvery == 0
			}
			due := time.Now().Add(delay)
			if jitter > 0 {
				due = due.Add(rand.N(jitter))
			}
			if held {
				// Held back: later frames keep their own due times and
				// overtake it; it does not hold them up.
				dl.reordered.Add(1)
				queue <- delayed{due: due.Add(f.ReorderHold), n: n, buf: b}
				continue
			}
			if due.Before(last) {
				due = last
			}
			last = due
			queue <- delayed{due: due, n: n, buf: b}
		}
	}()
	go func() { // writer: frames leave in order of their due times
		defer dl.wg.Done()
		defer unix.Close(tx)
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		var h dueHeap
		out := func(p delayed) {
			if late := time.Since(p.due); late > time.Duration(dl.late.Load()) {
				dl.late.Store(int64(late))
			}
			if _, err := unix.Write(tx, p.buf[:p.n]); err == nil {
				dl.fwd.Add(1)
			}
			free <- p.buf
		}
		for {
			var wake <-chan time.Time
			if len(h) > 0 {
				w := time.Until(h[0].due)
				if w <= 0 {
					out(heap.Pop(&h).(delayed))
					continue
				}
				timer.Reset(w)
				wake = timer.C
			}
			select {
			case p, ok := <-queue:
				if !ok { // stopped: send on what is held, in order
					for len(h) > 0 {
						out(heap.Pop(&h).(delayed))
					}
					return
				}
				heap.Push(&h, p)
			case <-wake:
			}
		}
	}()
	return nil
}

// dueHeap orders held frames by due time (container/heap); frames due at
// the same time keep their arrival order.
type dueHeap []delayed

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any) {
	p := x.(delayed)
	p.seq = nextSeq.Add(1)
	*h = append(*h, p)
}
func (h *dueHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	*h = old[:len(old)-1]
	return p
}

var nextSeq atomic.Uint64

// packetSocket opens an AF_PACKET socket on an interface of the current
// namespace, every protocol, with a 100 ms receive timeout so that a reader
// notices Stop.
func packetSocket(ifindex int, rx bool) (int, error) {
	proto := 0 // a sending socket receives nothing
	if rx {
		proto = int(htons(unix.ETH_P_ALL))
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	// Frames this socket's namespace sends on lo (the copy nftables hands
	// over is seen twice: going out and coming in) are skipped by the
	// kernel, so the reader needs no address per frame.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		unix.Close(fd)
		return -1, err
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (l *Lab) clearDelayRule(d Dir) error {
	rxSw, _, _, _, _ := where(d)
	c, done, err := l.nftIn(rxSw)
	if err != nil {
		return nil // the lab is gone, and the rule with it
	}
	defer done()
	t, err := c.ListTableOfFamily(impairTable, nftables.TableFamilyNetdev)
	if err != nil || t == nil {
		return nil
	}
	rules, err := c.GetRules(t, &nftables.Chain{Name: chainName(d), Table: t})
	if err != nil {
		return nil
	}
	for _, r := range rules {
		if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); len(s) > 0 && containsDelay(s) {
			if err := c.DelRule(r); err != nil {
				return err
			}
		}
	}
	return c.Flush()
}

func containsDelay(s string) bool { return strings.Contains(s, "(user-space forwarder in pid ") }

// Stats says what the forwarder has done so far.
func (dl *Delayer) Stats() DelayStats {
	return DelayStats{Forwarded: dl.fwd.Load(), Reordered: dl.reordered.Load(), Corrupted: dl.corrupted.Load(), Dropped: dl.dropped.Load(), Late: time.Duration(dl.late.Load())}
}

// Stop removes the forwarder's nftables rule (frames cross undelayed
// again), sends on what it holds, and waits for it to end (at most the
// receive timeout, 100 ms, plus the delay).
func (dl *Delayer) Stop() error {
	var errs []error
	dl.once.Do(func() {
		for _, u := range dl.undo {
			errs = append(errs, u())
		}
		close(dl.stop)
		dl.wg.Wait()
	})
	return errors.Join(errs...)
}
