package exercise

import (
	"fmt"
	"slices"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
)

// The IPv6 side of the fragmentation experiment (RFC 8200 §4.5): fragments
// carry a Fragment header with a 32-bit identification, only the source
// fragments (a router answers Packet Too Big instead, §5), and the model is
// craft's reassembler with Linux's IPv6 rules (net/ipv6/reassembly.c).

// check6 is check for an IPv6 packet.
func (cfg *FragConfig) check6() (*FragReport, string, error) {
	pk := &cfg.Packet
	rep := &FragReport{Dst: pk.IPv6.Dst, Payload: pk.Payload, Made: cfg.Made, Order: cfg.Order, Sender: cfg.Sender}
	var target string
	switch rep.Dst {
	case lab.Addr6Hs:
		target, rep.Host = lab.Hs, "Hs"
	case lab.Addr6Hf:
		target, rep.Host = lab.Hf, "Hf"
	default:
		return nil, "", fmt.Errorf("%w: destination %v: Hs (%v) or Hf (%v)", errFragConfig, rep.Dst, lab.Addr6Hs, lab.Addr6Hf)
	}
	if pk.IPv6.Src != lab.Addr6Hc {
		return nil, "", fmt.Errorf("%w: source %v: the experiment sends from Hc (%v)", errFragConfig, pk.IPv6.Src, lab.Addr6Hc)
	}
	switch {
	case pk.ICMP != nil:
		return nil, "", fmt.Errorf("%w: an IPv6 packet carries ICMPv6, not ICMP", errFragConfig)
	case pk.UDP != nil:
		rep.Proto = craft.ProtoUDP
	case pk.TCP != nil:
		rep.Proto = craft.ProtoTCP
	case pk.ICMPv6 != nil:
		rep.Proto = craft.ProtoICMPv6
	default:
		return nil, "", fmt.Errorf("%w: the packet has no UDP, TCP or ICMPv6 header", errFragConfig)
	}
	if err := cfg.checkSending(); err != nil {
		return nil, "", err
	}
	if cfg.Sender == SendPlanned {
		d := craft.Decoded{AcceptIPv6: true}
		for i, b := range cfg.Planned {
			if _ = d.DecodeIP(b); d.Layers&craft.LayerIPv6 == 0 {
				return nil, "", fmt.Errorf("%w: planned datagram %d is not an IPv6 packet", errFragConfig, i+1)
			}
			if f := d.FragExt(); f != nil && !rep.HasFragID {
				rep.FragID, rep.HasFragID = f.Ident(), true
			}
		}
	}
	return rep, target, nil
}

// probe6 is the experiment's packet as the Matcher knows it.
func (rep *FragReport) probe6(pk *craft.Packet) listen.Probe {
	p := listen.Probe{Proto: rep.Proto, Src: lab.Addr6Hc, Dst: rep.Dst}
	switch {
	case pk.UDP != nil:
		p.SrcPort, p.DstPort = pk.UDP.SrcPort, pk.UDP.DstPort
	case pk.TCP != nil:
		p.SrcPort, p.DstPort, p.Seq = pk.TCP.SrcPort, pk.TCP.DstPort, pk.TCP.Seq
		// The answer acknowledges the segment's data too (RFC 9293 §3.10.7.1).
		p.Flags, p.Ack, p.Len = pk.TCP.Flags, pk.TCP.Ack, len(pk.Payload)
	case pk.ICMPv6 != nil:
		p.ICMPID, p.ICMPSeq = pk.ICMPv6.ID(), pk.ICMPv6.Seq()
	}
	return p
}

// ours6 says whether d is the experiment's packet or one of its fragments,
// from Hc to the destination: by the Fragment header's identification, or,
// without one, by the transport's identity (ports, sequence number, echo
// identifier). Without a planned identification (SendSocket) the first
// fragment seen gives it.
func (rep *FragReport) ours6(d *craft.Decoded, pk *craft.Packet) bool {
	if d.Layers&craft.LayerIPv6 == 0 || d.IPv6.Src != lab.Addr6Hc || d.IPv6.Dst != rep.Dst {
		return false
	}
	if f := d.FragExt(); f != nil {
		if !rep.HasFragID {
			rep.FragID, rep.HasFragID = f.Ident(), true
		}
		return f.Ident() == rep.FragID
	}
	switch {
	case pk.UDP != nil:
		return d.Has(craft.LayerUDP) && d.UDP.SrcPort == pk.UDP.SrcPort && d.UDP.DstPort == pk.UDP.DstPort
	case pk.TCP != nil:
		return d.Has(craft.LayerTCP) && d.TCP.SrcPort == pk.TCP.SrcPort && d.TCP.DstPort == pk.TCP.DstPort && d.TCP.Seq == pk.TCP.Seq
	case pk.ICMPv6 != nil:
		return d.Has(craft.LayerICMPv6) && d.ICMPv6.Type == pk.ICMPv6.Type && d.ICMPv6.Rest == pk.ICMPv6.Rest
	}
	return false
}

// observe6 is observe for IPv6: what left Hc, what came back (matched
// through the quoted packet's transport, or its Fragment header's
// identification when the quote holds no transport header), what arrived,
// what craft's model of Linux's IPv6 receiver made of it, and which
// ICMPv6 errors that model expects from the destination by until, when
// the recording stopped.
func (rep *FragReport) observe6(pk *craft.Packet, hcSeen, targetSeen []listen.Captured, fragTime time.Duration, until time.Time) {
	d := craft.Decoded{AcceptIPv6: true}
	for _, s := range hcSeen {
		if _ = d.DecodeFrame(s.Frame); s.Meta.Outgoing && rep.ours6(&d, pk) {
			rep.Left = append(rep.Left, s)
		}
	}
	m := listen.NewMatcher(1)
	_, _ = m.Add(rep.probe6(pk))
	for _, s := range hcSeen {
		if s.Meta.Outgoing {
			continue
		}
		p := listen.Packet{Frame: s.Frame, Meta: s.Meta}
		p.Decoded.AcceptIPv6 = true
		p.Err = p.Decoded.DecodeFrame(s.Frame)
		q := &p.Decoded.Quoted
		if f := q.FragExt(); f != nil && (!rep.HasFragID || f.Ident() != rep.FragID) {
			continue // about another packet's fragment
		}
		r, ok := listen.ErrorReply6(&p.Decoded, s.Meta.Time)
		if k, _, mr := m.Match(&p); k == listen.Answer {
			r, ok = mr, true
		} else if ok && (q.FragExt() == nil || q.IPv6.Src != lab.Addr6Hc || q.IPv6.Dst != rep.Dst) {
			ok = false // neither its transport nor its Fragment header is ours
		}
		if ok {
			rep.Replies = append(rep.Replies, r)
			rep.ReplyFrames = append(rep.ReplyFrames, s)
		}
	}
	// The receiver's rules, as Linux applies them to IPv6 (craft's model
	// of net/ipv6/reassembly.c): a first fragment without the whole header
	// chain is dropped with parameter problem code 3, overlaps discard the
	// packet (RFC 5722), duplicates are dropped alone.
	ra := craft.NewReassembler(&craft.ReassemblyConfig{Timeout: fragTime, Linux: true})
	for _, s := range targetSeen {
		if s.Meta.Outgoing {
			continue
		}
		if err := d.DecodeFrame(s.Frame); err != nil && d.Layers&craft.LayerIPv6 == 0 || !rep.ours6(&d, pk) {
			continue
		}
		rep.Arrived = append(rep.Arrived, s)
		b := s.Frame[d.IPOffset:]
		b = b[:min(len(b), craft.IPv6HeaderLen+int(d.IPv6.PayloadLen.Or(0)))]
		ev, err := ra.Add(s.Meta.Time, b)
		if err != nil {
			// Kept, so that each of Arrived has its event.
			ev = craft.ReassemblyEvent{Dropped: true, Reason: "craft's reassembler could not read it: " + err.Error()}
		}
		if err == nil && ev.Dropped && ev.Offset == 0 && craft.ChainSplit(b) {
			rep.ModelParamProblem = true
		}
		ev.Holes = slices.Clone(ev.Holes)
		rep.Reassembly = append(rep.Reassembly, ev)
		rep.Complete = rep.Complete || ev.Complete
	}
	for _, x := range ra.Expire(until) {
		rep.ModelTimeExceeded = rep.ModelTimeExceeded || x.HadFirst
	}
}

// isNDP reports a neighbor discovery message (RFC 4861: types 133 to 137),
// which the hosts exchange around the experiment's packets.
func isNDP(d *craft.Decoded) bool {
	return d.Layers&craft.LayerICMPv6 != 0 && d.ICMPv6.Type >= 133 && d.ICMPv6.Type <= 137
}

func (f *fragLive) describeHc6(d *craft.Decoded, out bool) string {
	switch {
	case isNDP(d) || d.Layers&craft.LayerIPv6 == 0:
	case out && d.IPv6.Src == lab.Addr6Hc && d.IPv6.Dst == f.cfg.Packet.IPv6.Dst:
		return "Hc → " + fragWords6(d)
	case !out && d.Has(craft.LayerICMPv6):
		return "Hc ← " + d.Summary()
	}
	return ""
}

func (f *fragLive) describeTarget6(d *craft.Decoded, out bool) string {
	if !out && !isNDP(d) && d.Layers&craft.LayerIPv6 != 0 && d.IPv6.Src == lab.Addr6Hc {
		return f.host + " ← " + fragWords6(d)
	}
	return ""
}

// fragWords6 names an IPv6 packet or fragment as the timeline does.
func fragWords6(d *craft.Decoded) string {
	f := d.FragExt()
	switch {
	case f == nil:
		return "whole packet, no Fragment header"
	case f.FragOffset() == 0 && !f.More():
		return fmt.Sprintf("atomic fragment, ID 0x%08x", f.Ident())
	}
	more := ""
	if f.More() {
		more = ", M"
	}
	return fmt.Sprintf("fragment at offset %d, ID 0x%08x%s", int(f.FragOffset())*8, f.Ident(), more)
}
