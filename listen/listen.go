// Package listen is the receiving side: it reads frames through rawsock,
// decodes them with craft, matches replies to the probes that caused them,
// classifies and times them.
package listen

import (
	"net"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/rawsock"
	"golang.org/x/net/bpf"
)

// Packet is one captured frame, decoded. The Listener reuses it: it is valid
// until the next call to Next.
type Packet struct {
	Frame   []byte       // the bytes, a view into the Listener's buffer
	Meta    rawsock.Meta // kernel timestamp, direction, checksum status
	Decoded craft.Decoded
	Err     error // what decoding found wrong, if anything
	sums    [8]craft.ChecksumResult
}

// Checksums checks the packet's checksums. A transport checksum that the
// sending kernel left for the NIC to fill (offload) is reported as
// ChecksumPartial, never as bad.
func (p *Packet) Checksums() []craft.ChecksumResult {
	cs := p.Decoded.Checksums(p.sums[:0])
	if p.Meta.ChecksumPartial {
		for i := range cs {
			if cs[i].Layer != craft.LayerIPv4 && !cs[i].Quoted && cs[i].Status == craft.ChecksumBad {
				cs[i].Status = craft.ChecksumPartial
			}
		}
	}
	return cs
}

// Config configures a Listener. A nil *Config captures every IPv4 and ARP
// frame.
type Config struct {
	// Filter runs in the kernel and is attached before the socket is bound.
	Filter []bpf.RawInstruction
	// ReadBuffer is the socket's receive buffer in bytes (default 4 MiB), so
	// that a burst of replies fits while probes are still being sent; with
	// Ring, the ring's size.
	ReadBuffer int
	// Ring sizes the capture for a flood: every Listener reads through a
	// PACKET_RX_RING (TPACKET_V3, rawsock.Config), whose timestamps are
	// taken as each frame passes the tap (a recvmsg(2) socket can be
	// handed frames the kernel never stamped, for a moment after Listen);
	// by default its blocks are handed over after ConversationTimeout, so
	// that a reply waited for is read at once; with Ring, after
	// rawsock.RingBlockTimeout: far fewer wakeups under a flood, at the
	// price of that long before a lone frame can be read.
	Ring bool
}

// ConversationTimeout is how long a frame may wait in a Listener's ring
// before it can be read, unless Config.Ring asks for flood-sized waits:
// the kernel's shortest (tp_retire_blk_tov is in whole milliseconds).
const ConversationTimeout = time.Millisecond

// Listener captures frames on one interface through AF_PACKET.
type Listener struct {
	c   *rawsock.Conn
	buf []byte
	pkt Packet
}

// Listen opens a Listener on ifi in the calling thread's namespace.
func Listen(ifi *net.Interface, cfg *Config) (*Listener, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.ReadBuffer == 0 {
		c.ReadBuffer = 4 << 20
	}
	timeout := ConversationTimeout
	if c.Ring {
		timeout = rawsock.RingBlockTimeout
	}
	conn, err := rawsock.Listen(ifi, &rawsock.Config{Filter: c.Filter, Meta: true, ReadBuffer: c.ReadBuffer, Ring: true, RingTimeout: timeout})
	if err != nil {
		return nil, err
	}
	return &Listener{c: conn, buf: make([]byte, 65536+craft.EthernetLen)}, nil
}

// Interface returns the interface listened on.
func (l *Listener) Interface() *net.Interface { return l.c.Interface() }

// Next returns the next frame, or an error when deadline passes first (a
// zero deadline waits for ever; a deadline in the past only drains what is
// queued). It allocates nothing, except when a frame fails to decode.
func (l *Listener) Next(deadline time.Time) (*Packet, error) {
	if err := l.c.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	n, err := l.c.RecvMeta(l.buf, &l.pkt.Meta)
	if err != nil {
		return nil, err
	}
	return l.decode(n), nil
}

// decode decodes the n bytes just read into the reused Packet.
func (l *Listener) decode(n int) *Packet {
	p := &l.pkt
	p.Frame = l.buf[:n]
	p.Decoded.AcceptIPv6 = true
	p.Err = p.Decoded.DecodeFrame(p.Frame)
	return p
}

// Poll returns the next frame if one is already queued, or nil without
// waiting. It allocates nothing.
func (l *Listener) Poll() (*Packet, error) {
	n, err := l.c.RecvMetaNow(l.buf, &l.pkt.Meta)
	if err == rawsock.ErrWouldBlock {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return l.decode(n), nil
}

// Drain passes every frame already queued to handle, without waiting, and
// returns at the first error. The Packet is reused: handle must not keep it.
func (l *Listener) Drain(handle func(*Packet)) error {
	for {
		p, err := l.Poll()
		if err != nil || p == nil {
			return err
		}
		handle(p)
	}
}

// Interrupt makes a Next that is waiting return os.ErrDeadlineExceeded at
// once, and leaves the socket open, so that its counters can still be read
// (Close would lose them). A Next called afterwards sets its own deadline
// again: a caller that stops on a signal checks for it between calls.
func (l *Listener) Interrupt() error { return l.c.SetReadDeadline(time.Unix(1, 0)) }

// Stats returns the kernel's counters since the last call: frames queued to
// the socket, and frames dropped because its buffer was full.
func (l *Listener) Stats() (received, dropped uint64, err error) { return l.c.Stats() }

// Close closes the socket.
func (l *Listener) Close() error { return l.c.Close() }

// Stats are the kernel's capture counters over a run.
type Stats struct {
	Captured, Dropped uint64
}
