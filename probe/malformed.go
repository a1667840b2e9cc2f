package probe

import (
	"encoding/binary"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
)

// malformed watches the probes as they leave for ones the target's own
// stack drops unanswered (craft.SilentDrop): a bad checksum, a header
// length below the fixed header's… Their silence says nothing about the
// port, and their Results say so (Result.Malformed).
type malformed struct {
	// kernelFills: the datagrams go through a raw IPv4 socket (via ip, or
	// toward this host's own address), where the kernel writes the total
	// length and the header checksum before they leave (raw(7)), so a
	// forced value of either never reaches the target.
	kernelFills bool
	onFound     func(craft.Drop) // Config.OnMalformed: once, before the first malformed probe leaves
	told        bool
	// drops[i] is probe i's fault while every attempt of it had one; all
	// nil until the first is found. clean[i]: an attempt of probe i was
	// well formed.
	drops []*craft.Drop
	clean []bool
	buf   []byte
}

// sent checks the frames of an attempt of probe i of n before they leave;
// link is the length of their link-layer header. It allocates nothing
// while the probes are well formed.
func (m *malformed) sent(i, n int, frames [][]byte, link int) {
	if m.clean != nil && m.clean[i] {
		return
	}
	var drop craft.Drop
	bad := false
	for _, f := range frames {
		if len(f) <= link {
			continue
		}
		if drop, bad = m.check(f[link:]); bad {
			break
		}
	}
	if !bad {
		if m.clean != nil {
			m.clean[i], m.drops[i] = true, nil
		}
		return
	}
	if m.drops == nil {
		m.drops, m.clean = make([]*craft.Drop, n), make([]bool, n)
		// the probes sent before this one were well formed
		for j := 0; j < i; j++ {
			m.clean[j] = true
		}
	}
	if m.drops[i] == nil && !m.clean[i] {
		m.drops[i] = &drop
	}
	if !m.told && m.onFound != nil {
		m.told = true
		m.onFound(drop)
	}
}

// check is craft.SilentDrop of datagram as the target receives it.
func (m *malformed) check(dg []byte) (craft.Drop, bool) {
	if m.kernelFills && len(dg) >= craft.IPv4HeaderLen && dg[0]>>4 == 4 {
		ihl := int(dg[0]&0xf) * 4
		if ihl >= craft.IPv4HeaderLen && ihl <= len(dg) {
			m.buf = append(m.buf[:0], dg...)
			binary.BigEndian.PutUint16(m.buf[2:], uint16(len(dg)))
			m.buf[10], m.buf[11] = 0, 0
			binary.BigEndian.PutUint16(m.buf[10:], craft.Checksum(m.buf[:ihl]))
			dg = m.buf
		}
	}
	return craft.SilentDrop(dg)
}

// mark sets the Malformed of every unanswered Result whose every attempt
// was malformed (Results in the order of the probes).
func (m *malformed) mark(res []Result) {
	for i := range res {
		if i < len(m.drops) && m.drops[i] != nil {
			markMalformed(&res[i], m.drops[i])
		}
	}
}

// markMalformed records that r's probe was one its target drops unread,
// when nothing answered it: the port was never asked, so its state is
// filtered — the probe never reached it — whatever an unanswered
// well-formed probe would have meant.
func markMalformed(r *Result, d *craft.Drop) {
	if r.Reply.Reason != listen.NoResponse && r.Reply.Reason != listen.ICMPRateLimited {
		return // an answer came: it is described as usual
	}
	r.Reply.Reason = listen.NoResponse
	r.Malformed = d
	r.State = listen.Filtered
}
