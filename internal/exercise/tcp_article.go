package exercise

import (
	"fmt"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/tcpseq"
)

// dataSegments is the match for Hc's data segments to the server: a Linux
// segment with timestamps is 52 bytes of headers, so 53 and more carry data.
var dataSegments = lab.Match{Proto: 6, Port: tcpPort, MinLen: 53}

// rtoMin is Linux's lower bound on the retransmission timeout (TCP_RTO_MIN,
// 200 ms; RFC 6298 §2.4 says 1 s): a resend sooner was not a timeout.
const rtoMin = 200 * time.Millisecond

// lossStory checks retransmissions of the segments the cable dropped:
// which seqs went twice, how many duplicate ACKs came before each resend,
// and how soon after the first copy it went.
func (x *run) lossStory(tr *transferred) (dupsBefore []int, since []time.Duration, sacks int) {
	dups := 0
	for _, s := range tr.segs {
		switch {
		case !s.toHs():
			if s.ev.Note.Has(listen.TCPDupAck) {
				dups++
			}
			if s.ev.NSACK > 0 {
				sacks++
			}
		case s.ev.Note.Has(listen.TCPRetransmission) && len(s.d.Payload) > 0:
			dupsBefore = append(dupsBefore, dups)
			since = append(since, s.ev.Since)
		}
	}
	return
}

func exFastRetransmit(x *run) error {
	tr, err := x.transfer(transfer{Bytes: 256 << 10, Impair: &lab.Impairment{Dir: lab.ToHs, DropNth: 5, Drop: dataSegments}})
	if err != nil {
		return err
	}
	dups, since, _ := x.lossStory(tr)
	x.see("the cable dropped Hc's 5th data segment once; the server received %d of %d bytes", tr.received, 256<<10)
	if len(dups) == 0 {
		x.differ("no segment was retransmitted: the drop did not happen or was not seen")
		return nil
	}
	x.see("first retransmission: %.3f ms after the first copy, after %d duplicate ACKs", float64(since[0])/1e6, dups[0])
	if tr.info != nil {
		ss := fmt.Sprint(tr.info.SndSsthresh)
		if tr.info.SndSsthresh >= 0x7fffffff {
			ss = "unbounded again: Linux undid the reduction (its undo logic judged the loss response unnecessary once the hole was acknowledged)"
		}
		x.see("the sender's TCP_INFO at the end: %d segment(s) retransmitted in all, cwnd %d segments, ssthresh %s. RFC 5681 §3.2 halves the window; Linux's CUBIC multiplies it by 0.7",
			tr.info.TotalRetrans, tr.info.SndCwnd, ss)
		if tr.info.TotalRetrans < 1 {
			x.differ("the sender's kernel counts no retransmission")
		}
	}
	x.graph(tr, 30)
	if tr.received != 256<<10 {
		x.differ("the server got %d bytes, not %d", tr.received, 256<<10)
	}
	if since[0] >= rtoMin {
		x.differ("the resend came %v after the first copy: that is the retransmission timeout, not fast retransmit", since[0])
	}
	if dups[0] < 1 {
		x.differ("the resend came before any duplicate ACK")
	}
	if dups[0] < 3 {
		x.see("Linux resent after %d duplicate ACKs, not 3: RACK (RFC 8985), on by default (net.ipv4.tcp_recovery=1), marks a segment lost once a later one is SACKed and a quarter of the RTT has passed — on a 20 µs cable, at once", dups[0])
	}
	return nil
}

func exSACK(x *run) error {
	tr, err := x.transfer(transfer{Bytes: 256 << 10, Impair: &lab.Impairment{Dir: lab.ToHs, DropNth: 5, DropAlso: 8, Drop: dataSegments}})
	if err != nil {
		return err
	}
	dups, since, sacks := x.lossStory(tr)
	x.see("the cable dropped Hc's 5th and 8th data segments once; the server received %d of %d bytes", tr.received, 256<<10)
	x.see("%d ACKs from Hs carried SACK blocks; %d data segments were resent", sacks, len(dups))
	for i := range dups {
		x.see("  resend %d: %.3f ms after the first copy, after %d duplicate ACKs", i+1, float64(since[i])/1e6, dups[i])
	}
	var blocks2 bool
	for _, s := range tr.segs {
		if !s.toHs() && s.ev.NSACK >= 1 {
			if s.ev.NSACK >= 2 {
				blocks2 = true
			}
		}
	}
	x.graph(tr, 34)
	if sacks == 0 {
		x.differ("no ACK carried a SACK block")
	}
	if len(dups) < 2 {
		x.differ("%d segments resent: both holes should be repaired", len(dups))
	}
	for i, s := range since {
		if i < 2 && s >= rtoMin {
			x.differ("resend %d came %v after the first copy: a timeout, not SACK recovery", i+1, s)
		}
	}
	if !blocks2 {
		x.see("no ACK held two SACK blocks at once: the first hole was repaired before the second was reported")
	} else {
		x.see("an ACK held two SACK blocks: both islands of data beyond the holes (RFC 2018 §4)")
	}
	if tr.received != 256<<10 {
		x.differ("the server got %d bytes, not %d", tr.received, 256<<10)
	}
	return nil
}

func exMSS(x *run) error {
	const mss = 536
	tr, err := x.transfer(transfer{Bytes: 32 << 10, MaxSeg: mss})
	if err != nil {
		return err
	}
	synMSS, synackMSS, biggest, ts := -1, -1, 0, false
	for _, s := range tr.segs {
		f := s.d.TCP.Flags
		switch {
		case f&craft.TCPSyn != 0 && f&craft.TCPAck == 0:
			synMSS = synOption(s.d, 2)
			ts = synOption(s.d, 8) >= 0 || hasOption(s.d, 8)
		case f&craft.TCPSyn != 0:
			synackMSS = synOption(s.d, 2)
		case s.toHs():
			biggest = max(biggest, len(s.d.Payload))
		}
	}
	x.see("Hc's SYN announces MSS %d (1500 − 20 − 20); Hs's SYN-ACK announces %d (its TCP_MAXSEG)", synMSS, synackMSS)
	x.see("the largest data segment from Hc carried %d bytes; timestamps in use: %v (12 bytes of options in every segment)", biggest, ts)
	if synMSS != 1460 {
		x.differ("Hc's SYN announced MSS %d, not 1460", synMSS)
	}
	if synackMSS != mss {
		x.differ("Hs's SYN-ACK announced MSS %d, not %d", synackMSS, mss)
	}
	want := mss
	if ts {
		want -= 12
	}
	if biggest != want {
		x.differ("the largest segment carried %d bytes, want %d (the MSS less the options Linux puts in every segment, RFC 9293 §3.7.1)", biggest, want)
	}
	return nil
}

func hasOption(d *craft.Decoded, kind uint8) bool {
	o := d.TCP.Options
	for off := 0; off < len(o); {
		opt, next, err := craft.NextOption(o, off)
		if err != nil || opt.Kind == 0 {
			return false
		}
		if opt.Kind == kind {
			return true
		}
		off = next
	}
	return false
}

func exWScale(x *run) error {
	tr, err := x.transfer(transfer{Bytes: 4 << 20})
	if err != nil {
		return err
	}
	scale, field, biggest := -1, 0, 0
	for _, s := range tr.segs {
		if s.toHs() {
			continue
		}
		if s.d.TCP.Flags&craft.TCPSyn != 0 {
			scale = synOption(s.d, 3)
			continue
		}
		if s.ev.Window > biggest {
			biggest, field = s.ev.Window, int(s.d.TCP.Window)
		}
	}
	x.see("Hs's SYN-ACK offers window scale %d (RFC 7323 §2.2): its window fields count units of %d bytes", scale, 1<<max(scale, 0))
	x.see("the largest window Hs advertised: field %d × %d = %d bytes", field, 1<<max(scale, 0), biggest)
	if scale <= 0 {
		x.differ("no window scale in Hs's SYN-ACK")
	}
	if biggest <= 65535 {
		x.differ("the window never went above 64 KiB (%d bytes)", biggest)
	}
	if field > 65535 {
		x.differ("a 16-bit field cannot hold %d", field)
	}
	return nil
}

func exWindow(x *run) error {
	// Linux's persist timer starts at the RTO (200 ms at least) and
	// doubles: the reader must stay away long enough for two probes.
	pause := max(x.d(2), 900*time.Millisecond)
	tr, err := x.transfer(transfer{Bytes: 64 << 10, RcvBuf: 4096, ReadDelay: pause, ReadChunk: 4096, ReadPause: pause / 20})
	if err != nil {
		return err
	}
	var zero, probes, updates int
	var firstZero, firstUpdate time.Duration = -1, -1
	for _, p := range tr.trace.Points {
		switch {
		case p.Kind == tcpseq.Ack && p.Note.Has(listen.TCPZeroWindow):
			zero++
			if firstZero < 0 {
				firstZero = p.T
			}
		case p.Kind == tcpseq.Data && (p.Note.Has(listen.TCPZeroWindowProbe) || p.Note.Has(listen.TCPKeepAlive)):
			probes++
		case p.Kind == tcpseq.Ack && p.Note.Has(listen.TCPWindowUpdate) && zero > 0:
			updates++
			if firstUpdate < 0 {
				firstUpdate = p.T
			}
		}
	}
	x.see("the server's receive buffer is 4096 bytes (SO_RCVBUF, doubled by Linux); it reads nothing for %v, then 4 KiB at a time", pause)
	x.see("Hs advertised a zero window %d times (first at %.1f ms); Hc probed the closed window %d times; %d window updates reopened it (first at %.1f ms)",
		zero, float64(firstZero)/1e6, probes, updates, float64(firstUpdate)/1e6)
	x.see("Linux's zero-window probe carries no data and sequence number SND.UNA − 1: on the wire it is identical to a keep-alive, which is what Wireshark and the graph call it")
	x.see("the server received %d of %d bytes", tr.received, 64<<10)
	x.graph(tr, 30)
	if zero == 0 {
		x.differ("the window never closed")
	}
	if probes == 0 {
		x.differ("no zero-window probe: the sender should probe a closed window (RFC 9293 §3.8.6.1)")
	}
	if updates == 0 {
		x.differ("no window update after the zero window")
	}
	if tr.received != 64<<10 {
		x.differ("the server got %d bytes, not %d", tr.received, 64<<10)
	}
	return nil
}
