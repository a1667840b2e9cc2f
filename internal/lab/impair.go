package lab

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
)

// Dir is a direction across the S1–S2 cable.
type Dir uint8

// Directions.
const (
	Both Dir = iota // both directions
	ToHs            // Hc → Hs: frames leaving S1 for S2
	ToHc            // Hs → Hc: frames leaving S2 for S1
)

func (d Dir) String() string {
	switch d {
	case ToHs:
		return "hc→hs"
	case ToHc:
		return "hs→hc"
	}
	return "both ways"
}

// ParseDir reads "both", "to-hs" or "to-hc".
func ParseDir(s string) (Dir, error) {
	switch s {
	case "both", "":
		return Both, nil
	case "to-hs":
		return ToHs, nil
	case "to-hc":
		return ToHc, nil
	}
	return 0, fmt.Errorf("direction %q: both, to-hs or to-hc", s)
}

func (d Dir) dirs() []Dir {
	if d == Both {
		return []Dir{ToHs, ToHc}
	}
	return []Dir{d}
}

// Match picks IPv4 packets for a drop rule. The zero value matches every
// IPv4 packet; each field set narrows it.
type Match struct {
	Proto    uint8  // 6 TCP, 17 UDP; 0 any
	Port     uint16 // destination port (TCP or UDP); 0 any
	SrcPort  uint16 // source port; 0 any
	Seq      uint32 // TCP sequence number, when HasSeq
	HasSeq   bool
	Flags    uint8 // TCP flags that must be set (craft.TCPSyn…), under FlagMask
	FlagMask uint8 // which flags are compared; 0 none
	// MinLen and MaxLen bound the IPv4 total length in bytes (header
	// included); 0 leaves a side open. A Linux data segment with
	// timestamps is 52 bytes + its payload: MinLen 53 picks data segments.
	MinLen, MaxLen uint16
}

func (m Match) empty() bool { return m == Match{} }

func (m Match) String() string {
	var p []string
	switch m.Proto {
	case 6:
		p = append(p, "tcp")
	case 17:
		p = append(p, "udp")
	case 0:
	default:
		p = append(p, fmt.Sprintf("proto %d", m.Proto))
	}
	if m.Port != 0 {
		p = append(p, fmt.Sprintf("dport %d", m.Port))
	}
	if m.SrcPort != 0 {
		p = append(p, fmt.Sprintf("sport %d", m.SrcPort))
	}
	if m.HasSeq {
		p = append(p, fmt.Sprintf("seq %d", m.Seq))
	}
	if m.FlagMask != 0 {
		p = append(p, fmt.Sprintf("flags %#02x/%#02x", m.Flags, m.FlagMask))
	}
	switch { // 0 leaves a side open: "53–0" would read as an empty range
	case m.MinLen != 0 && m.MaxLen != 0:
		p = append(p, fmt.Sprintf("ip length %d–%d", m.MinLen, m.MaxLen))
	case m.MinLen != 0:
		p = append(p, fmt.Sprintf("ip length ≥ %d", m.MinLen))
	case m.MaxLen != 0:
		p = append(p, fmt.Sprintf("ip length ≤ %d", m.MaxLen))
	}
	if len(p) == 0 {
		return "any IPv4"
	}
	return strings.Join(p, " ")
}

// Impairment is what the S1–S2 cable does to the frames crossing it, per
// direction. Loss, drops and duplicates are nftables rules (family netdev,
// hook ingress) on the receiving switch's end of the cable; the bottleneck
// is a tbf qdisc on the sending switch's end. Delay is not here: this
// kernel has no netem, so delay is a user-space forwarder (StartDelay) that
// lives as long as the process that started it.
type Impairment struct {
	Dir Dir
	// Loss drops each IPv4 frame with this probability, in percent (0 to
	// 100, in steps of 0.01): nftables "numgen random mod 10000 < Loss×100".
	Loss float64
	// DropNth drops the Nth IPv4 frame matching Drop (1 is the first), once:
	// nftables "numgen inc" counts the matches, so only that one goes.
	// DropNth 1 with Drop.Seq set drops one segment once, the first time it
	// is sent; its retransmission passes.
	DropNth int
	Drop    Match
	// DropAlso drops a second frame of the same match once (0 none): the
	// DropAlso-th one. SACK needs two holes.
	DropAlso int
	// Duplicate sends a copy of each IPv4 frame, in percent, straight out of
	// the receiving switch's port to the host ("dup to" in nftables).
	Duplicate float64
	// Rate is the bottleneck in bits per second (0 none): a token bucket
	// (tbf) whose queue holds Queue bytes (default 64 KiB) — a frame
	// arriving at a full queue is dropped, as at a real bottleneck.
	Rate  uint64
	Queue int
}

// ErrImpair is wrapped by every error about a value of Impairment.
var ErrImpair = errors.New("bad impairment")

func (im *Impairment) validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrImpair}, a...)...) }
	if im.Loss < 0 || im.Loss > 100 {
		return bad("loss %g%%: between 0 and 100", im.Loss)
	}
	if im.Duplicate < 0 || im.Duplicate > 100 {
		return bad("duplicate %g%%: between 0 and 100", im.Duplicate)
	}
	if im.DropNth < 0 || im.DropAlso < 0 {
		return bad("drop frame number %d, then %d: frames count from 1 (0: none)", im.DropNth, im.DropAlso)
	}
	if im.DropAlso != 0 && im.DropNth == 0 {
		return bad("a second drop needs a first (DropNth)")
	}
	if im.DropNth == 0 && !im.Drop.empty() {
		return bad("a drop match (%s) needs DropNth: which matching frame to drop", im.Drop)
	}
	if im.Rate != 0 && im.Rate < 8000 {
		return bad("rate %d bit/s: at least 8000", im.Rate)
	}
	if im.Queue < 0 || (im.Queue != 0 && im.Queue < 1600) {
		return bad("queue %d bytes: at least 1600 (one full frame)", im.Queue)
	}
	if im.Dir > ToHc {
		return bad("direction %d", im.Dir)
	}
	return nil
}

// Describe says what the impairment does, one line per part.
func (im Impairment) Describe() []string {
	var out []string
	d := im.Dir.String()
	if im.Loss > 0 {
		out = append(out, fmt.Sprintf("%s: random loss %g%%", d, im.Loss))
	}
	if im.DropNth > 0 {
		s := fmt.Sprintf("%s: drop match #%d", d, im.DropNth)
		if im.DropAlso > 0 {
			s += fmt.Sprintf(" and #%d", im.DropAlso)
		}
		out = append(out, s+" of "+im.Drop.String()+", once")
	}
	if im.Duplicate > 0 {
		out = append(out, fmt.Sprintf("%s: duplicate %g%%", d, im.Duplicate))
	}
	if im.Rate > 0 {
		out = append(out, fmt.Sprintf("%s: bottleneck %s, queue %d bytes", d, bitrate(im.Rate), im.queue()))
	}
	return out
}

func (im Impairment) queue() int {
	if im.Queue == 0 {
		return 64 << 10
	}
	return im.Queue
}

func bitrate(r uint64) string {
	switch {
	case r >= 1e9 && r%1e6 == 0:
		return fmt.Sprintf("%g Gbit/s", float64(r)/1e9)
	case r >= 1e6:
		return fmt.Sprintf("%g Mbit/s", float64(r)/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%g kbit/s", float64(r)/1e3)
	}
	return fmt.Sprintf("%d bit/s", r)
}

// Forwarding is what the user-space forwarder (StartForwarder) does to the
// frames crossing the cable: what nftables and tbf cannot — hold frames,
// let later ones overtake them, flip their bits.
type Forwarding struct {
	// Delay and Jitter: each frame arrives Delay later, plus a uniformly
	// random extra of up to Jitter; frames keep their order.
	Delay, Jitter time.Duration
	// Match picks the frames ReorderEvery and CorruptEvery count (the zero
	// Match: every IPv4 frame).
	Match Match
	// ReorderEvery holds every Nth matching frame ReorderHold longer than
	// the others (0: none): the frames behind it overtake it, so that the
	// receiver sees it out of order.
	ReorderEvery int
	ReorderHold  time.Duration
	// CorruptEvery flips the lowest bit of the last byte of every Nth
	// matching frame's IPv4 packet (0: none) — a byte of its payload, or
	// of a bare TCP header: the TCP or UDP checksum no longer matches, and
	// the receiving kernel drops it (TcpInCsumErrors, UdpInCsumErrors).
	CorruptEvery int
}

func (f Forwarding) validate() error {
	switch {
	case f.Delay < 0 || f.Jitter < 0 || f.ReorderHold < 0 || f.Delay+f.Jitter+f.ReorderHold > 10*time.Second:
		return fmt.Errorf("%w: delay %v + jitter %v + reorder hold %v: at most 10 s in all", ErrImpair, f.Delay, f.Jitter, f.ReorderHold)
	case f.ReorderEvery < 0 || f.CorruptEvery < 0:
		return fmt.Errorf("%w: reorder every %d, corrupt every %d: counts from 1 (0 none)", ErrImpair, f.ReorderEvery, f.CorruptEvery)
	case (f.ReorderEvery > 0) != (f.ReorderHold > 0):
		return fmt.Errorf("%w: reordering needs both which frames (every %d) and how long they are held (%v)", ErrImpair, f.ReorderEvery, f.ReorderHold)
	case f.Delay+f.Jitter == 0 && f.ReorderEvery == 0 && f.CorruptEvery == 0:
		return fmt.Errorf("%w: the forwarder has nothing to do: a delay, reordering or corruption", ErrImpair)
	}
	return nil
}

// Describe says what the forwarder does, in one line.
func (f Forwarding) Describe() string {
	var p []string
	if f.Delay+f.Jitter > 0 {
		s := fmt.Sprintf("delay %v", f.Delay)
		if f.Jitter > 0 {
			s += fmt.Sprintf(" + up to %v jitter", f.Jitter)
		}
		p = append(p, s)
	}
	if f.ReorderEvery > 0 {
		p = append(p, fmt.Sprintf("reorder: every %s of %s held %v more", ordinal(f.ReorderEvery), f.Match, f.ReorderHold))
	}
	if f.CorruptEvery > 0 {
		p = append(p, fmt.Sprintf("corrupt: one bit of every %s of %s", ordinal(f.CorruptEvery), f.Match))
	}
	return strings.Join(p, "; ")
}

func ordinal(n int) string { return craft.Ordinal(n) }

// matches says whether an Ethernet frame carrying IPv4 is one m picks,
// reading its headers in place.
func (m Match) matches(f []byte) bool {
	if len(f) < 34 || f[12] != 0x08 || f[13] != 0x00 {
		return false
	}
	ip := f[14:]
	ihl := int(ip[0]&0xf) * 4
	proto := ip[9]
	tlen := uint16(ip[2])<<8 | uint16(ip[3])
	want := m.Proto
	if m.HasSeq || m.FlagMask != 0 {
		want = 6
	}
	if want != 0 && proto != want || m.MinLen != 0 && tlen < m.MinLen || m.MaxLen != 0 && tlen > m.MaxLen {
		return false
	}
	if m.Port == 0 && m.SrcPort == 0 && !m.HasSeq && m.FlagMask == 0 {
		return true
	}
	if ihl < 20 || len(ip) < ihl+14 && (m.HasSeq || m.FlagMask != 0) || len(ip) < ihl+4 {
		return false
	}
	l4 := ip[ihl:]
	sport, dport := uint16(l4[0])<<8|uint16(l4[1]), uint16(l4[2])<<8|uint16(l4[3])
	if m.SrcPort != 0 && sport != m.SrcPort || m.Port != 0 && dport != m.Port {
		return false
	}
	if m.HasSeq && uint32(l4[4])<<24|uint32(l4[5])<<16|uint32(l4[6])<<8|uint32(l4[7]) != m.Seq {
		return false
	}
	return m.FlagMask == 0 || l4[13]&m.FlagMask == m.Flags&m.FlagMask
}

// corrupt flips the lowest bit of the last byte of the frame's IPv4
// packet, and says whether it could.
func corrupt(f []byte) bool {
	if len(f) < 34 {
		return false
	}
	end := 14 + int(uint16(f[16])<<8|uint16(f[17]))
	if end > len(f) || end <= 34 {
		return false
	}
	f[end-1] ^= 1
	return true
}

// DelayStats counts what a forwarder did.
type DelayStats struct {
	Forwarded uint64 // frames sent on after their delay
	Reordered uint64 // frames held back for others to overtake (Forwarding.ReorderEvery)
	Corrupted uint64 // frames with a bit flipped (Forwarding.CorruptEvery)
	Dropped   uint64 // frames dropped because the forwarder's queue was full
	// Late is the largest lateness of a frame past its due time: the
	// forwarder's own added delay (timer slack, scheduling).
	Late time.Duration
}
