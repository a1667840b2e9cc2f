package exercise

import (
	"fmt"
	"time"

	"github.com/rawcraft/rawcraft/tcpseq"
)

// slowStartDelay is the lab's one-way delay for slowstart: 25 ms each way
// through the delay forwarder, long enough that each round of the
// congestion window stands apart on the wire.
const slowStartDelay = 25 * time.Millisecond

func exSlowStart(x *run) error {
	tr, err := x.transfer(transfer{Bytes: 768 << 10, Delay: slowStartDelay, Sample: true, RcvBuf: 4 << 20, SndBuf: 4 << 20, CC: "reno"})
	if err != nil {
		return err
	}
	// The RTT as the handshake measured it: SYN out, SYN-ACK back.
	var synT, synAckT time.Duration = -1, -1
	for _, p := range tr.trace.Points {
		if p.Kind == tcpseq.Data && synT < 0 {
			synT = p.T
		}
		if p.Kind == tcpseq.Ack && synAckT < 0 {
			synAckT = p.T
		}
	}
	rtt := synAckT - synT
	x.see("25 ms of delay each way on the cable: the handshake measured an RTT of %.1f ms", float64(rtt)/1e6)
	x.see("the sender uses Reno, RFC 5681's own algorithm (TCP_CONGESTION): Linux's default CUBIC leaves slow start early (HyStart) when the RTT wobbles, as the lab's user-space delay makes it do")
	if rtt < 2*slowStartDelay {
		x.differ("the RTT %v is below the 50 ms the delay forwarder should add: the delay did not happen", rtt)
		return nil
	}
	mss := 1448
	if len(tr.cwnd) > 0 && tr.cwnd[0].MSS > 0 {
		mss = int(tr.cwnd[0].MSS)
	}
	rounds := tr.trace.Rounds()
	grew, checked := 0, 0
	for k, r := range rounds {
		if k >= 6 {
			break
		}
		cw := x.cwndAt(tr, r.End)
		segs := float64(r.Flight) / float64(mss)
		s := fmt.Sprintf("round %d (%.1f–%.1f ms): %d bytes in flight = %.1f segments; the sender's TCP_INFO cwnd just before the round's ACK: %d", k+1, float64(r.Start)/1e6, float64(r.End)/1e6, r.Flight, segs, cw)
		limited := r.Flight+mss > r.Rwnd
		if limited {
			s += fmt.Sprintf(" — held back by the receiver's window (%d bytes)", r.Rwnd)
		}
		if k > 0 && rounds[k-1].Flight > 0 {
			ratio := float64(r.Flight) / float64(rounds[k-1].Flight)
			s += fmt.Sprintf(" (×%.2f)", ratio)
			if k <= 3 && !limited {
				checked++
				if ratio >= 1.6 {
					grew++
				}
			}
		}
		if k <= 3 && !limited && cw > 0 && (segs > float64(cw)+1 || segs < float64(cw)-1) {
			x.differ("round %d: %.1f segments in flight but TCP_INFO says cwnd %d: more than 1 MSS apart", k+1, segs, cw)
		}
		x.see("  %s", s)
	}
	x.graph(tr, 24)
	if len(rounds) < 4 {
		x.differ("the transfer took %d round trips: too few to see slow start", len(rounds))
		return nil
	}
	if iw := float64(rounds[0].Flight) / float64(mss); iw < 9.5 || iw > 10.5 {
		x.differ("the first round carried %.1f segments; Linux's initial window is 10 (RFC 6928)", iw)
	}
	if checked == 0 || grew < checked {
		x.differ("bytes in flight did not about double (×1.6 or more) in %d of the %d round trips after the first that the receiver did not hold back", checked-grew, checked)
	}
	return nil
}

// cwndAt returns the congestion window (segments) TCP_INFO showed last
// before a time of the trace; 0 without a sample.
func (x *run) cwndAt(tr *transferred, at time.Duration) uint32 {
	var c uint32
	for _, s := range tr.cwnd {
		if s.T.Sub(tr.start) > at {
			break
		}
		c = s.Cwnd
	}
	return c
}
