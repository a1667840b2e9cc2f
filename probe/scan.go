package probe

import (
	"errors"
	"fmt"
	"hash/maphash"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// Cookies derive a probe's source port and sequence number from a secret
// and its destination address and port, so that a reply proves by
// arithmetic which probe it answers — the SYN-cookie idea (RFC 4987 §3.6),
// as masscan and zmap use it. Nothing is remembered per probe, and nothing
// is looked up per reply.
type Cookies struct{ seed maphash.Seed }

// NewCookies returns cookies with a fresh random secret.
func NewCookies() Cookies { return Cookies{seed: maphash.MakeSeed()} }

type cookieKey struct {
	dst  [4]byte
	port uint16
}

// Of returns the source port (from 32768 up) and sequence number of the probe
// to dst:port: 47 bits of keyed hash.
func (c Cookies) Of(dst netip.Addr, port uint16) (sport uint16, seq uint32) {
	h := maphash.Comparable(c.seed, cookieKey{dst.As4(), port})
	return 32768 | uint16(h>>48)&0x7fff, uint32(h)
}

// StampTick is the unit of the send time a stamped probe carries; the time
// runs over 2^23 ticks (about 33.5 s) and wraps.
const StampTick = 4 * time.Microsecond

const stampMask = 1<<23 - 1

// Stamp returns the source port and sequence number of a probe to dst:port
// sent at tick t (StampTick units, modulo 2^23): the top 24 bits of the
// sequence number are Of's (dst, port and the secret: the cookie), the
// other 23 bits of the pair carry t — the source port's low 15 bits its top,
// the sequence number's low 8 bits its bottom. A reply echoes both (in its
// destination port and, plus one, its acknowledgement number: RFC 9293
// §3.10.7), so its round-trip time needs no table either.
func (c Cookies) Stamp(dst netip.Addr, port uint16, t uint32) (sport uint16, seq uint32) {
	_, s := c.Of(dst, port)
	t &= stampMask
	return 32768 | uint16(t>>8), s&^0xff | t&0xff
}

// Check says whether a TCP segment from dst:port to this host's port sport,
// acknowledging ack, answers a probe that Stamp made, and if so at which
// tick the probe left. A forged or foreign reply passes with probability
// 2^-24.
func (c Cookies) Check(dst netip.Addr, port, sport uint16, ack uint32) (t uint32, ok bool) {
	_, s := c.Of(dst, port)
	seq := ack - 1
	if sport&0x8000 == 0 || seq&^0xff != s&^0xff {
		return 0, false
	}
	return uint32(sport&0x7fff)<<8 | seq&0xff, true
}

// space is a scan's (host, port) index space: index = host × len(ports) +
// the port's position in ports. Hosts are numbered through the target
// blocks in address order; a block inside another counts once. Its size is
// the number of blocks plus 256 KiB, whatever the number of hosts.
type space struct {
	nets   []uint32 // first address of each block, ascending, disjoint
	sizes  []uint64 // addresses in each block
	starts []uint64 // host number of each block's first address
	hosts  uint64
	ports  []uint16       // each port once, in the caller's order
	pos    *[65536]uint32 // 1 + the position of each port in ports; 0 if not scanned
}

func be(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func newSpace(targets []netip.Prefix, ports []uint16) *space {
	ts := make([]netip.Prefix, len(targets))
	for i, t := range targets {
		ts[i] = t.Masked()
	}
	slices.SortFunc(ts, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	sp := &space{pos: new([65536]uint32)}
	for i, t := range ts {
		if i > 0 && len(sp.nets) > 0 {
			last := netip.PrefixFrom(addrOf(sp.nets[len(sp.nets)-1]), 32-bitsOf(sp.sizes[len(sp.sizes)-1]))
			if last.Overlaps(t) {
				continue // sorted, so an overlapping block lies inside the last one
			}
		}
		n := uint64(1) << (32 - t.Bits())
		sp.nets, sp.sizes, sp.starts = append(sp.nets, be(t.Addr())), append(sp.sizes, n), append(sp.starts, sp.hosts)
		sp.hosts += n
	}
	for _, p := range ports {
		if sp.pos[p] == 0 {
			sp.ports = append(sp.ports, p)
			sp.pos[p] = uint32(len(sp.ports))
		}
	}
	return sp
}

func addrOf(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func bitsOf(size uint64) int {
	b := 0
	for size > 1 {
		size >>= 1
		b++
	}
	return b
}

// size is the number of indices.
func (sp *space) size() uint64 { return sp.hosts * uint64(len(sp.ports)) }

// at returns the address and port of index i.
func (sp *space) at(i uint64) (netip.Addr, uint16) {
	h, k := i/uint64(len(sp.ports)), i%uint64(len(sp.ports))
	b, found := slices.BinarySearch(sp.starts, h)
	if !found {
		b--
	}
	return addrOf(sp.nets[b] + uint32(h-sp.starts[b])), sp.ports[k]
}

// index returns the index of a:port, or false when the scan has none.
func (sp *space) index(a netip.Addr, port uint16) (uint64, bool) {
	if !a.Is4() || sp.pos[port] == 0 {
		return 0, false
	}
	v := be(a)
	b, found := slices.BinarySearch(sp.nets, v)
	if !found {
		if b == 0 {
			return 0, false
		}
		b--
	}
	off := uint64(v - sp.nets[b])
	if off >= sp.sizes[b] {
		return 0, false
	}
	return (sp.starts[b]+off)*uint64(len(sp.ports)) + uint64(sp.pos[port]-1), true
}

// bitmap is one bit per index: answered.
type bitmap []uint64

func (m bitmap) get(i uint64) bool { return m[i>>6]&(1<<(i&63)) != 0 }
func (m bitmap) set(i uint64)      { m[i>>6] |= 1 << (i & 63) }

// scanRing is the size of a Scan's capture ring, in bytes.
const scanRing = 8 << 20

// ErrOnLink is returned by Scan when the targets are hosts of a directly
// attached network, each with its own link address: Run probes them one by
// one instead.
var ErrOnLink = errors.New("the targets are on this link")

// Scans says whether Run scans cfg statelessly across hosts and ports: a
// caller that wants each Result as it comes (a stream of JSON lines, memory
// flat in the number of hosts) calls Scan itself when it is true.
func (c *Config) Scans() bool { return c.wantsScan() }

// wantsScan says whether Run should scan cfg statelessly across hosts and
// ports (Scan): when it is sharded, or a plain TCP SYN run over more than
// one host with more than StatelessAbove probes in all (or Stateless).
func (c *Config) wantsScan() bool {
	if c.Shard.Count != 0 || c.Shard.Index != 0 {
		return true // a part of a scan: only Scan knows parts
	}
	ports, err := c.check()
	hosts := Hosts(c.Targets)
	if err != nil || hosts < 2 {
		return false
	}
	s := *c
	s.Stateless = true
	if ok, err := s.stateless(ports); !ok || err != nil {
		return false
	}
	return c.Stateless || hosts*uint64(len(ports)) > StatelessAbove
}

// scanOf runs Scan and returns every Result in the Report, in index order
// (host by host in address order, ports in Config.Ports' order).
func scanOf(cfg Config) (*Report, error) {
	ports, err := cfg.check()
	if err != nil {
		return nil, err
	}
	sp := newSpace(targetsOf(&cfg), ports)
	parts := uint64(max(cfg.Shard.Count, 1))
	rs := make([]Result, 0, min(sp.size()/parts+parts, 1<<20)) // a shard's share, give or take the skipped elements
	rep, err := Scan(cfg, func(r *Result) { rs = append(rs, *r) })
	if rep == nil {
		return nil, err
	}
	sortResults(rs, sp)
	rep.Results = rs
	return rep, err
}

func sortResults(rs []Result, sp *space) {
	slices.SortFunc(rs, func(a, b Result) int {
		i, _ := sp.index(a.Probe.Dst, a.Probe.DstPort)
		j, _ := sp.index(b.Probe.Dst, b.Probe.DstPort)
		switch {
		case i < j:
			return -1
		case i > j:
			return 1
		}
		return 0
	})
}

func targetsOf(cfg *Config) []netip.Prefix {
	if len(cfg.Targets) > 0 {
		return cfg.Targets
	}
	return []netip.Prefix{netip.PrefixFrom(cfg.Dst, 32)}
}

// Scan is a stateless TCP SYN scan, as zmap does one, of every (host, port)
// of cfg — Targets (or Dst) × Ports — or of the part cfg.Shard names: the
// probes go out in the order of a Permutation of the (host, port) indices
// that cfg.Shard.Seed chooses (default: SeedOf the targets and ports),
// patched from one template and sent in batches through sendmmsg; each
// reply is checked by arithmetic (Cookies.Check over its address, ports and
// acknowledgement number) and handed to emit at once, and after the last
// round the unanswered are handed to emit in permutation order. emit must
// not keep the *Result. The run keeps one bit per index (answered), so its
// memory does not grow with the hosts beyond that bitmap (MaxScan indices
// at most: 512 MiB).
//
// Every target must be reached through the same next hop: a gateway, or a
// single host. The returned Report carries no Results, only the counts,
// Stray (replies from a target that fail the cookie check: another run's,
// or forged), the capture statistics and the time. Bounded by (Retries+1)
// × (sending + Timeout). Errors caused by cfg wrap ErrConfig; nothing has
// been sent then.
func Scan(cfg Config, emit func(*Result)) (*Report, error) {
	ports, err := cfg.check()
	if err != nil {
		return nil, err
	}
	if err := cfg.Shard.check(); err != nil {
		return nil, err
	}
	s := cfg
	s.Stateless = true
	if _, err := s.stateless(ports); err != nil {
		return nil, err
	}
	targets := targetsOf(&cfg)
	sp := newSpace(targets, ports)
	if sp.size() > MaxScan {
		return nil, configErr("%d hosts × %d ports: more than 2^32 probes in one scan", sp.hosts, len(sp.ports))
	}
	seed := cfg.Shard.Seed
	if seed == 0 {
		seed = SeedOf(targets, ports)
	}
	pm, err := NewPermutation(sp.size(), seed)
	if err != nil {
		return nil, configErr("%v", err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	if err := rawsock.CheckPrivilege(); err != nil {
		return nil, err
	}
	first, _ := sp.at(0)
	oc := &rawsock.OpenConfig{Iface: cfg.Iface, Src: cfg.Packet.IPv4.Src, SrcMAC: cfg.SrcMAC, DstMAC: cfg.DstMAC}
	tx, err := rawsock.Open(first, rawsock.ViaPacket, oc)
	if err != nil {
		return nil, err
	}
	defer tx.Close()
	rt := tx.Route()
	if rt.Datagrams {
		return nil, fmt.Errorf("%v is this host's own: a scan sends frames, which lo does not route (probe it without --shard)", first)
	}
	if sp.hosts > 1 && !rt.Gateway && cfg.DstMAC == nil {
		if cfg.Shard.Sharded() {
			return nil, fmt.Errorf("%v is on this link: a sharded scan sends every probe to one gateway, and each host here has its own link address", first)
		}
		return nil, ErrOnLink
	}
	for i, n := range sp.nets {
		for _, a := range []netip.Addr{addrOf(n), addrOf(n + uint32(sp.sizes[i]-1))} {
			r, err := rawsock.Resolve(a, &rawsock.ResolveConfig{Iface: cfg.Iface, Src: cfg.Packet.IPv4.Src, DstMAC: &rt.DstMAC})
			if err != nil {
				return nil, err
			}
			if r.Iface.Index != rt.Iface.Index || r.NextHop != rt.NextHop {
				return nil, fmt.Errorf("%v goes through %v on %s, %v through %v on %s: a scan sends every probe to one next hop; split the targets", first, rt.NextHop, rt.Iface.Name, a, r.NextHop, r.Iface.Name)
			}
		}
	}
	src := rt.Src
	if !src.Is4() {
		return nil, fmt.Errorf("no IPv4 source address toward %v", first)
	}
	filter, err := rawsock.HostFilter(src)
	if err != nil {
		return nil, err
	}
	// A ring of a fixed size, whatever the number of hosts: the listener
	// is drained after every batch, so it holds a few batches' replies
	// (about 200 bytes each), and a retry covers what it drops.
	rx, err := listen.Listen(rt.Iface, &listen.Config{Filter: filter, Ring: true, ReadBuffer: scanRing})
	if err != nil {
		return nil, err
	}
	defer rx.Close()
	clone := cfg.Packet.Clone()
	pk := &clone
	pk.IPv4.Src, pk.IPv4.Dst = src, first
	pk.Ethernet = tx.Ethernet()
	// The lines go out as they come; the summary still counts them.
	var streamed [numStates]int
	counted := func(r *Result) {
		streamed[stateIndex(r.State)]++
		emit(r)
	}
	rep, probes, err := scan(&cfg, sp, pm.Walk(cfg.Shard), pk, rx, counted)
	if rep != nil {
		rep.streamed = &streamed
	}
	if rep != nil && cfg.Shard.Sharded() {
		rep.Notes = append(rep.Notes, fmt.Sprintf("shard %v of a scan of %d hosts × %d ports (seed %#x): %d probes; the shards 0/%d … %d/%d with this seed cover it once", cfg.Shard, sp.hosts, len(sp.ports), seed, probes, cfg.Shard.Count, cfg.Shard.Count-1, cfg.Shard.Count))
	}
	return rep, err
}

// scan is the engine of Scan, and of a stateless run against one host:
// a SYN to every index of walk, patched from one template in batches
// through sendmmsg, the listener polled between batches, every reply that
// passes the cookie check emitted at once, the unanswered retried and
// emitted at the end; probes is the number of indices in walk. It allocates nothing per probe or per reply beyond
// what emit does.
func scan(cfg *Config, sp *space, walk Walk, pk *craft.Packet, rx *listen.Listener, emit func(*Result)) (rep *Report, probes uint64, err error) {
	tmpl, err := pk.Template(nil)
	if err != nil {
		return nil, 0, err
	}
	// Every probe is the template patched: the checksums a user forced
	// stay, so its fault is every probe's.
	var drop *craft.Drop
	if d, bad := craft.SilentDrop(tmpl.Bytes()[tmpl.IPOffset():]); bad {
		drop = &d
		if cfg.OnMalformed != nil {
			cfg.OnMalformed(d)
		}
	}
	// A Sender of its own: out of Go's poller, it sends faster than a
	// Conn (see rawsock.Sender).
	fast, err := rawsock.NewSender(rx.Interface(), nil)
	if err != nil {
		return nil, 0, err
	}
	defer fast.Close()
	cookies := NewCookies()
	src := pk.IPv4.Src
	answered := make(bitmap, (sp.size()+63)/64)
	slots := rawsock.MaxBatch
	bufs := make([]craft.Template, slots)
	n := len(tmpl.Bytes())
	for i := range bufs {
		b := make([]byte, max(n, craft.MinFrameLen)) // padded once: SendBatch need not copy
		bufs[i] = tmpl.Clone(b[:n])
	}
	batch := make([][]byte, 0, slots)
	start := time.Now()
	ticks := func(t time.Time) uint32 { return uint32(t.Sub(start)/StampTick) & stampMask }
	rep = &Report{Stateless: true}
	var r Result
	newAnswers := 0 // answers since the last progress report
	total, pending, attempt := uint64(0), uint64(0), 0
	handle := func(p *listen.Packet) {
		d := &p.Decoded
		if !d.Has(craft.LayerTCP) || p.Meta.Outgoing || d.IPv4.Dst != src {
			return
		}
		t := &d.TCP
		i, ok := sp.index(d.IPv4.Src, t.SrcPort)
		if !ok {
			return // not from a target: someone else's traffic
		}
		sent, ok := cookies.Check(d.IPv4.Src, t.SrcPort, t.DstPort, t.Ack)
		if !ok || t.Flags&craft.TCPAck == 0 {
			rep.Stray++
			return
		}
		if answered.get(i) {
			return // a retransmitted SYN-ACK, or the answer to a retry
		}
		var reason listen.Reason
		switch {
		case t.Flags&(craft.TCPSyn|craft.TCPAck) == craft.TCPSyn|craft.TCPAck:
			reason = listen.SynAck
		case t.Flags&craft.TCPRst != 0:
			reason = listen.Rst
		default:
			return
		}
		answered.set(i)
		pending--
		newAnswers++
		at := p.Meta.Time
		if at.IsZero() {
			at = time.Now()
		}
		r = Result{Probe: listen.Probe{Proto: craft.ProtoTCP, Src: src, Dst: d.IPv4.Src, DstPort: t.SrcPort, Flags: craft.TCPSyn, Scan: listen.ScanSYN},
			Reply:    listen.Reply{Reason: reason, From: d.IPv4.Src, Time: at, Flags: t.Flags, Window: t.Window},
			Attempts: attempt + 1, RTT: time.Duration((ticks(at)-sent)&stampMask) * StampTick}
		r.Sent = at.Add(-r.RTT)
		r.State = listen.ClassifyProbe(&r.Probe, &r.Reply)
		emit(&r)
	}
	_, _, _ = rx.Stats()
	id := uint16(time.Now().UnixNano())
	progress := func(sent int) { // Config.OnProgress: counts since the last call
		if cfg.OnProgress != nil {
			cfg.OnProgress(sent, newAnswers)
			newAnswers = 0
		}
	}
	for ; attempt <= cfg.Retries && (attempt == 0 || pending > 0); attempt++ {
		round := time.Now()
		w := walk
		k := 0
		for more := true; more; {
			batch = batch[:0]
			now := ticks(time.Now())
			for len(batch) < slots {
				i, ok := w.Next()
				if !ok {
					more = false
					break
				}
				if attempt == 0 {
					total++
					pending++
				}
				if answered.get(i) {
					continue
				}
				dst, port := sp.at(i)
				t := &bufs[len(batch)]
				sport, seq := cookies.Stamp(dst, port, now)
				id++
				t.SetIPID(id)
				t.SetDst(dst)
				t.SetSrcPort(sport)
				t.SetDstPort(port)
				t.SetSeq(seq)
				batch = append(batch, t.Bytes()[:max(n, craft.MinFrameLen)])
				k++
				if cfg.Interval > 0 {
					break // one at a time, on schedule
				}
			}
			for rest := batch; len(rest) > 0; { // rest, not batch: batch keeps its capacity
				m, err := fast.SendBatch(rest)
				if err != nil {
					return nil, 0, err
				}
				rest = rest[m:]
			}
			if err := rx.Drain(handle); err != nil {
				return nil, 0, err
			}
			progress(len(batch))
			if cfg.Interval > 0 && len(batch) > 0 {
				time.Sleep(time.Until(round.Add(time.Duration(k) * cfg.Interval)))
			}
		}
		deadline := time.Now().Add(cfg.Timeout)
		for pending > 0 {
			p, err := rx.Next(deadline)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return nil, 0, err
			}
			handle(p)
		}
		progress(0)
	}
	rep.Elapsed = time.Since(start)
	probes = total
	rep.Stats.Captured, rep.Stats.Dropped, _ = rx.Stats()
	if pending > 0 {
		w := walk
		for i, ok := w.Next(); ok; i, ok = w.Next() {
			if answered.get(i) {
				continue
			}
			dst, port := sp.at(i)
			r = Result{Probe: listen.Probe{Proto: craft.ProtoTCP, Src: src, Dst: dst, DstPort: port, Flags: craft.TCPSyn, Scan: listen.ScanSYN},
				Attempts: attempt}
			r.State = listen.ClassifyProbe(&r.Probe, &r.Reply)
			if drop != nil {
				markMalformed(&r, drop)
			}
			emit(&r)
		}
	}
	return rep, probes, nil
}

// scanHost is the stateless run against cfg.Dst alone, through tx and rx
// that runHost opened; its Results are in the order of the ports.
func scanHost(cfg *Config, pk *craft.Packet, ports []uint16, rx *listen.Listener) (*Report, error) {
	sp := newSpace([]netip.Prefix{netip.PrefixFrom(cfg.Dst, 32)}, ports)
	seed := cfg.Shard.Seed
	if seed == 0 {
		seed = SeedOf(targetsOf(cfg), ports)
	}
	pm, err := NewPermutation(sp.size(), seed)
	if err != nil {
		return nil, err
	}
	var rs []Result
	rep, _, err := scan(cfg, sp, pm.Walk(Shard{}), pk, rx, func(r *Result) { rs = append(rs, *r) })
	if err != nil {
		return nil, err
	}
	sortResults(rs, sp)
	rep.Results = rs
	return rep, nil
}
