package session

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/rawcraft/rawcraft/craft"
)

// send builds a segment, sends it and reports the step.
func (c *conv) send(flags uint8, seq, ack uint32, opts, data []byte, retrans int) error {
	opts = c.options(flags, opts)
	win := c.window(flags)
	p := craft.Packet{
		Ethernet: &craft.Ethernet{Dst: c.cfg.DstMAC, Src: c.cfg.SrcMAC},
		IPv4:     &craft.IPv4{ID: uint16(seq), Flags: craft.FlagDF, Src: c.cfg.Src, Dst: c.cfg.Dst},
		TCP:      &craft.TCP{SrcPort: c.cfg.SrcPort, DstPort: c.cfg.DstPort, Seq: seq, Ack: ack, Flags: flags, Window: win, Options: opts},
		Payload:  data,
	}
	b, err := p.Append(c.buf[:0])
	if err != nil {
		return err
	}
	c.buf = b
	sentAt := time.Now() // before the system call: a fast reply may beat its return
	if _, err := c.cfg.Tx.Send(b); err != nil {
		return err
	}
	s := Step{Time: sentAt, Out: true, Flags: flags, Seq: seq, Ack: ack, RelSeq: seq - c.cfg.ISN, Len: len(data),
		Window: win, Scale: c.ourShift, Payload: data, Retrans: retrans,
		From: netip.AddrPortFrom(c.cfg.Src, c.cfg.SrcPort), To: netip.AddrPortFrom(c.cfg.Dst, c.cfg.DstPort)}
	if flags&craft.TCPSyn != 0 {
		s.Scale = -1
	}
	if c.res.Connected || flags&craft.TCPAck != 0 {
		s.RelAck = ack - c.irs
	}
	s.Options = craft.DescribeOptions(opts, false)
	s.Why = c.explainOut(&s)
	c.log.sent(s, b)
	return nil
}

// next returns the next segment from the server, or nil for frames that are
// not part of this conversation (and for this host's kernel's, recorded).
func (c *conv) next(deadline time.Time) (*Step, error) {
	p, fromUs, err := c.log.next(deadline)
	if err != nil || p == nil {
		return nil, err
	}
	d := &p.Decoded
	t := &d.TCP
	from, to := netip.AddrPortFrom(d.IPv4.Src, t.SrcPort), netip.AddrPortFrom(d.IPv4.Dst, t.DstPort)
	if fromUs {
		if to != netip.AddrPortFrom(c.cfg.Dst, c.cfg.DstPort) {
			return nil, nil
		}
		// From our address and port, but not a segment rawcraft sent:
		// this host's kernel's (no guard). A SYN-ACK for a connection it
		// never opened earns its RST.
		s := Step{Time: p.Meta.Time, Wire: true, From: from, To: to, Out: true, Kernel: true, Flags: t.Flags, Seq: t.Seq, Ack: t.Ack,
			RelSeq: t.Seq - c.cfg.ISN, Len: len(d.Payload), Frame: append([]byte(nil), p.Frame...)}
		if t.Flags&craft.TCPRst != 0 {
			c.res.KernelRST = true
			s.Why = "this host's kernel sent RST (rawcraft opened the connection by hand): " + craft.ClaimSYNACKAnsweredRST.Text() + ", and " + craft.ClaimHalfOpenDroppedOnRST.Text() + ". A guard (--guard ghost or firewall) keeps the kernel out"
		} else {
			s.Why = "this host's kernel sent this segment from our address and port: rawcraft did not"
		}
		c.log.record(s)
		return nil, nil
	}
	if from != netip.AddrPortFrom(c.cfg.Dst, c.cfg.DstPort) || to != netip.AddrPortFrom(c.cfg.Src, c.cfg.SrcPort) {
		return nil, nil
	}
	s := Step{Time: p.Meta.Time, Wire: true, From: from, To: to, Flags: t.Flags, Seq: t.Seq, Ack: t.Ack, Len: len(d.Payload), Window: t.Window, Scale: c.peerShift,
		Payload: append([]byte(nil), d.Payload...), Options: craft.DescribeOptions(t.Options, false), Frame: append([]byte(nil), p.Frame...)}
	if t.Flags&craft.TCPSyn != 0 {
		s.Scale = -1
		c.synAck = parseOptions(t.Options)
	}
	if o := parseOptions(t.Options); o.ts {
		c.tsRecent = o.tsval
	}
	irs := c.irs
	if !c.res.Connected && t.Flags&craft.TCPSyn != 0 {
		irs = t.Seq
	}
	s.RelSeq, s.RelAck = t.Seq-irs, t.Ack-c.cfg.ISN
	s.Why = c.explainIn(&s, irs)
	c.log.record(s)
	return &c.res.Steps[len(c.res.Steps)-1], nil
}

func (c *conv) explainOut(s *Step) string {
	re := ""
	if s.Retrans > 0 {
		re = fmt.Sprintf(" (retransmission %d: no answer within the timeout, which doubles each time)", s.Retrans)
	}
	switch {
	case s.Flags == craft.TCPSyn:
		return fmt.Sprintf("SYN: our initial sequence number is %d; the SYN itself uses one sequence number, so our data will start at %d%s", s.Seq, s.Seq+1, re)
	case s.Flags&craft.TCPFin != 0:
		return fmt.Sprintf("FIN: no more data from us; seq %d (relative %d) = ISN + 1 + %s of data; the FIN uses one sequence number%s", s.Seq, s.RelSeq, craft.Units(len(c.cfg.Data), "byte"), re)
	case s.Len > 0:
		return fmt.Sprintf("%s of data at seq %d (relative %d); once acknowledged the server's ACK will read %d (relative %d)%s", craft.Units(s.Len, "byte"), s.Seq, s.RelSeq, s.Seq+uint32(s.Len), s.RelSeq+uint32(s.Len), re)
	case !c.res.Connected:
		return fmt.Sprintf("ACK: ack %d = the server's ISN %d + 1 (its SYN used one number); the three-way handshake is complete", s.Ack, c.irs)
	case c.finRcvd && c.finAckd:
		return fmt.Sprintf("last ACK: ack %d (relative %d) = the server's FIN + 1; the connection is closed", s.Ack, s.RelAck)
	case c.finRcvd:
		return fmt.Sprintf("ACK of the server's FIN: ack %d (relative %d) counts its FIN as one byte", s.Ack, s.RelAck)
	}
	return fmt.Sprintf("ACK: we have everything up to %d (relative %d)", s.Ack, s.RelAck)
}

func (c *conv) explainIn(s *Step, irs uint32) string {
	switch {
	case s.Flags&craft.TCPRst != 0 && !c.res.Connected:
		return fmt.Sprintf("RST|ACK: ack %d = our ISN + 1 — port %d: %s", s.Ack, c.cfg.DstPort, craft.ClaimSYNRefused.Text())
	case s.Flags&craft.TCPRst != 0:
		return "RST: the server reset the connection — its application aborted it, or its kernel no longer has it: " + craft.ClaimACKAnsweredRST.Text()
	case s.Flags&(craft.TCPSyn|craft.TCPAck) == craft.TCPSyn|craft.TCPAck:
		return fmt.Sprintf("SYN-ACK: the server's ISN is %d; ack %d = our ISN %d + 1 acknowledges our SYN", s.Seq, s.Ack, c.cfg.ISN)
	case s.Flags&craft.TCPFin != 0:
		return fmt.Sprintf("FIN|ACK from the server: it has no more data either; seq %d (relative %d), ack %d (relative %d)", s.Seq, s.RelSeq, s.Ack, s.RelAck)
	case s.Len > 0 && seqGE(c.rcvNxt, s.Seq+uint32(s.Len)) && c.res.Connected && s.Seq != c.rcvNxt:
		return fmt.Sprintf("the server retransmitted %s we already have (seq relative %d): our ACK must have been lost; we acknowledge again", craft.Units(s.Len, "byte"), s.RelSeq)
	case s.Len > 0:
		return fmt.Sprintf("%s of data from the server at seq %d (relative %d); it acknowledges up to %d (relative %d)", craft.Units(s.Len, "byte"), s.Seq, s.RelSeq, s.Ack, s.RelAck)
	}
	return fmt.Sprintf("ACK: the server has everything up to %d (relative %d)", s.Ack, s.RelAck)
}
