package session

import (
	"bytes"
	"net"
	"net/netip"
	"sort"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
)

// wireLog is the one record of a conversation: every segment of the
// connection, both directions, in a Step each, timed by the kernel. What
// rawcraft sends goes out through its own socket; the listener, another
// AF_PACKET socket on the same interface, sees each of those frames too
// (the kernel hands an outgoing frame to every packet socket but the
// sender's, dev_queue_xmit_nit) with the same clock as the frames that
// arrive. A sent Step is therefore timed again by its copy on the wire, so
// that the steps and any ladder or capture drawn from them are in the
// wire's order — a reply is never listed before the segment it answers.
//
// Who sent a frame is read from its addresses and ports (From == us), not
// from the direction the socket reports: on lo every frame shows twice,
// once leaving (PACKET_OUTGOING) and once arriving (PACKET_HOST), and both
// ends of a connection to this host's own address are this host. The log
// keeps the arriving copy there, as libpcap does, so that its times match
// tcpdump's.
type wireLog struct {
	rx      *listen.Listener
	lo      bool           // rx is on a loopback interface
	us      netip.AddrPort // rawcraft's end of the connection
	steps   *[]Step        // the record, in the order the steps were taken
	emit    func(Step)     // called with each step once it is final; may be nil
	emitted int            // (*steps)[:emitted] went to emit
	pending []int          // sent steps whose copy has not been seen yet
}

func newWireLog(rx *listen.Listener, us netip.AddrPort, steps *[]Step, emit func(Step)) *wireLog {
	w := &wireLog{rx: rx, us: us, steps: steps, emit: emit}
	if ifi := rx.Interface(); ifi != nil {
		w.lo = ifi.Flags&net.FlagLoopback != 0
	}
	return w
}

// sent records a step rawcraft just sent as frame. Its Time is the
// sender's clock until its copy on the wire is seen.
func (w *wireLog) sent(s Step, frame []byte) {
	s.Frame = append([]byte(nil), frame...)
	*w.steps = append(*w.steps, s)
	w.pending = append(w.pending, len(*w.steps)-1)
}

// record records a step that arrived (or this host's kernel sent).
func (w *wireLog) record(s Step) { *w.steps = append(*w.steps, s) }

// next returns the next TCP frame of interest that rawcraft did not send:
// the peer's, or one from our address that this host's kernel sent
// (ours false... see fromUs). Frames rawcraft sent are consumed here: they
// time their steps. nil, nil: a frame of no interest.
func (w *wireLog) next(deadline time.Time) (p *listen.Packet, fromUs bool, err error) {
	w.flush()
	p, err = w.rx.Next(deadline)
	if err != nil {
		return nil, false, err
	}
	d := &p.Decoded
	if p.Err != nil || !d.Has(craft.LayerTCP) || !d.Has(craft.LayerIPv4) || w.lo && p.Meta.Outgoing {
		return nil, false, nil
	}
	from := netip.AddrPortFrom(d.IPv4.Src, d.TCP.SrcPort)
	if from != w.us {
		return p, false, nil
	}
	got := ipDatagram(p.Frame)
	for i, at := range w.pending {
		s := &(*w.steps)[at]
		if bytes.Equal(ipDatagram(s.Frame), got) {
			s.Time, s.Wire = p.Meta.Time, true
			w.pending = append(w.pending[:i], w.pending[i+1:]...)
			return nil, false, nil
		}
	}
	return p, true, nil
}

// flush emits the steps that are final: those before the first sent step
// still waiting for its copy.
func (w *wireLog) flush() {
	end := len(*w.steps)
	if len(w.pending) > 0 {
		end = w.pending[0]
	}
	for ; w.emitted < end; w.emitted++ {
		if w.emit != nil {
			w.emit((*w.steps)[w.emitted])
		}
	}
}

// settleWait is how long the end of a conversation waits for the last
// frames (copies of what was sent, late answers): once a read waits this
// long with nothing, the record is complete; at most settleMax in all.
const (
	settleWait = 50 * time.Millisecond
	settleMax  = 500 * time.Millisecond
)

// finish reads the frames still to come with handle (which records them)
// until the wire is quiet, emits what is left and sorts the record by
// time: the kernel's timestamps, or for a step whose copy was never seen,
// the sender's clock (Wire false).
func (w *wireLog) finish(handle func(deadline time.Time) error) {
	end := time.Now().Add(settleMax)
	for time.Now().Before(end) {
		if err := handle(minTime(time.Now().Add(settleWait), end)); err != nil {
			break
		}
	}
	w.pending = nil
	w.flush()
	sort.SliceStable(*w.steps, func(i, j int) bool { return (*w.steps)[i].Time.Before((*w.steps)[j].Time) })
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ipDatagram is the IPv4 datagram in an Ethernet frame, without the
// frame's padding (nil if there is none).
func ipDatagram(frame []byte) []byte {
	if len(frame) < craft.EthernetLen+craft.IPv4HeaderLen {
		return nil
	}
	b := frame[craft.EthernetLen:]
	n := int(b[2])<<8 | int(b[3])
	if n < craft.IPv4HeaderLen || n > len(b) {
		return b
	}
	return b[:n]
}
