// Package ladder draws an exchange of packets as a sequence diagram: one
// vertical lane per host, one arrow per packet from sender to receiver, in
// time order, each labelled with what a student reads in it — TCP flags,
// sequence and acknowledgment numbers relative to each side's initial
// sequence number (RFC 9293 §3.4), data length, window and options; UDP
// ports and length; ICMP type. It renders as terminal text (Text) or SVG.
package ladder

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
)

// Arrow is one packet of the diagram.
type Arrow struct {
	At       time.Duration // since the first packet of the diagram
	From, To int           // lanes (indexes into Ladder.Lanes)
	Label    string        // "[S] seq=0 win=64240 len=0 <mss 1460>"
	time     time.Time
	order    int
}

// Ladder collects packets and draws them. The zero value is ready to use.
// It is not safe for concurrent use.
type Ladder struct {
	// Lanes are the vertical lines, left to right, in the order they first
	// appear: one per host, or, for a host talking to itself (a TCP or UDP
	// packet whose source and destination addresses are the same), one per
	// endpoint, so that a connection to this host's own address still has
	// two sides.
	Lanes  []Lane
	arrows []Arrow
	isn    map[flowKey]uint32 // each direction's initial sequence number
}

// Lane is one vertical line of a Ladder: a host (Port 0), or one endpoint
// of a host that talks to itself.
type Lane struct {
	Addr netip.Addr
	Port uint16
}

// String is the lane's heading: "198.18.1.1", or "198.18.1.1:9999".
func (n Lane) String() string {
	if n.Port == 0 {
		return n.Addr.String()
	}
	return netip.AddrPortFrom(n.Addr, n.Port).String()
}

type flowKey struct {
	src, dst netip.AddrPort
}

// Add puts one decoded packet captured at t on the ladder. Packets other
// than IPv4 and IPv6 (ARP, undecoded) are skipped. Times come from one clock (a
// capture's, or the sender's monotonic clock): the diagram orders by them,
// keeping the order of Add for equal times.
func (l *Ladder) Add(t time.Time, d *craft.Decoded) {
	if d.Layers&(craft.LayerIPv4|craft.LayerIPv6) == 0 {
		return
	}
	src, dst := addrs(&d.Datagram)
	from, to := Lane{Addr: src}, Lane{Addr: dst}
	if src == dst {
		switch g := &d.Datagram; {
		case g.Layers&craft.LayerTCP != 0:
			from.Port, to.Port = g.TCP.SrcPort, g.TCP.DstPort
		case g.Layers&craft.LayerUDP != 0:
			from.Port, to.Port = g.UDP.SrcPort, g.UDP.DstPort
		}
	}
	l.arrows = append(l.arrows, Arrow{From: l.lane(from), To: l.lane(to), Label: l.label(d), time: t, order: len(l.arrows)})
}

// addrs are a datagram's source and destination, either family.
func addrs(g *craft.Datagram) (src, dst netip.Addr) {
	if g.Layers&craft.LayerIPv6 != 0 {
		return g.IPv6.Src, g.IPv6.Dst
	}
	return g.IPv4.Src, g.IPv4.Dst
}

func (l *Ladder) lane(a Lane) int {
	for i, h := range l.Lanes {
		if h == a {
			return i
		}
	}
	l.Lanes = append(l.Lanes, a)
	return len(l.Lanes) - 1
}

// Arrows returns the arrows in time order, with At set from the earliest.
func (l *Ladder) Arrows() []Arrow {
	as := append([]Arrow(nil), l.arrows...)
	sort.SliceStable(as, func(i, j int) bool { return as[i].time.Before(as[j].time) })
	for i := range as {
		as[i].At = as[i].time.Sub(as[0].time)
	}
	return as
}

func (l *Ladder) label(d *craft.Decoded) string {
	var sb strings.Builder
	g := &d.Datagram
	switch {
	case d.Frag == craft.LaterFragment && g.Layers&craft.LayerIPv6 != 0:
		if f := g.FragExt(); f != nil {
			fmt.Fprintf(&sb, "IPv6 fragment id=%d offset=%d len=%d", f.Ident(), int(f.FragOffset())*8, len(g.Payload))
		}
	case d.Frag == craft.LaterFragment:
		fmt.Fprintf(&sb, "IPv4 fragment id=%d offset=%d len=%d", g.IPv4.ID, int(g.IPv4.FragOff)*8, len(g.Payload))
	case g.Layers&craft.LayerTCP != 0:
		tcp := &g.TCP
		if l.isn == nil {
			l.isn = map[flowKey]uint32{}
		}
		src, dst := addrs(g)
		fwd := flowKey{netip.AddrPortFrom(src, tcp.SrcPort), netip.AddrPortFrom(dst, tcp.DstPort)}
		rev := flowKey{fwd.dst, fwd.src}
		isn, ok := l.isn[fwd]
		if !ok || tcp.Flags&craft.TCPSyn != 0 {
			isn = tcp.Seq
			l.isn[fwd] = isn
		}
		fmt.Fprintf(&sb, "%d→%d [%s] seq=%d", tcp.SrcPort, tcp.DstPort, craft.FlagString(tcp.Flags), tcp.Seq-isn)
		if tcp.Flags&craft.TCPAck != 0 {
			if risn, ok := l.isn[rev]; ok {
				fmt.Fprintf(&sb, " ack=%d", tcp.Ack-risn)
			} else {
				fmt.Fprintf(&sb, " ack=%d", tcp.Ack)
			}
		}
		fmt.Fprintf(&sb, " win=%d len=%d", tcp.Window, len(g.Payload))
		if o := tcpOptions(tcp.Options); o != "" {
			sb.WriteString(" <" + o + ">")
		}
	case g.Layers&craft.LayerUDP != 0:
		fmt.Fprintf(&sb, "UDP %d→%d len=%d", g.UDP.SrcPort, g.UDP.DstPort, len(g.Payload))
	case g.Layers&craft.LayerICMP != 0:
		fmt.Fprintf(&sb, "ICMP type=%d code=%d", g.ICMP.Type, g.ICMP.Code)
		if d.Quoted.Layers != 0 {
			sb.WriteString(" quoting " + d.Quoted.Layers.String())
		}
	case g.Layers&craft.LayerICMPv6 != 0:
		fmt.Fprintf(&sb, "ICMPv6 type=%d code=%d", g.ICMPv6.Type, g.ICMPv6.Code)
		if d.Quoted.Layers != 0 {
			sb.WriteString(" quoting " + d.Quoted.Layers.String())
		}
	case g.Layers&craft.LayerIPv6 != 0:
		fmt.Fprintf(&sb, "IPv6 len=%d", len(g.Payload))
	default:
		fmt.Fprintf(&sb, "IPv4 proto=%d len=%d", g.IPv4.Protocol.Or(0), len(g.Payload))
	}
	if d.Frag == craft.FirstFragment {
		sb.WriteString(" (first fragment)")
	}
	return sb.String()
}

// tcpOptions names TCP options as tcpdump does: "mss 1460,sackOK,TS val 1
// ecr 0,nop,wscale 7".
func tcpOptions(b []byte) string {
	var parts []string
	for off := 0; off < len(b); {
		o, next, err := craft.NextOption(b, off)
		if err != nil {
			parts = append(parts, fmt.Sprintf("bad option %d", o.Kind))
			break
		}
		switch {
		case o.Kind == craft.TCPOptEOL:
			parts = append(parts, "eol")
			off = len(b)
			continue
		case o.Kind == craft.TCPOptNOP:
			parts = append(parts, "nop")
		case o.Kind == craft.TCPOptMSS && len(o.Data) == 2:
			parts = append(parts, fmt.Sprintf("mss %d", int(o.Data[0])<<8|int(o.Data[1])))
		case o.Kind == craft.TCPOptWScale && len(o.Data) == 1:
			parts = append(parts, fmt.Sprintf("wscale %d", o.Data[0]))
		case o.Kind == craft.TCPOptSACKOK:
			parts = append(parts, "sackOK")
		case o.Kind == craft.TCPOptTimestamps && len(o.Data) == 8:
			v := uint32(o.Data[0])<<24 | uint32(o.Data[1])<<16 | uint32(o.Data[2])<<8 | uint32(o.Data[3])
			e := uint32(o.Data[4])<<24 | uint32(o.Data[5])<<16 | uint32(o.Data[6])<<8 | uint32(o.Data[7])
			parts = append(parts, fmt.Sprintf("TS val %d ecr %d", v, e))
		case o.Kind == craft.TCPOptSACK:
			parts = append(parts, fmt.Sprintf("sack %d", len(o.Data)/8))
		default:
			parts = append(parts, fmt.Sprintf("opt-%d", o.Kind))
		}
		off = next
	}
	// Trailing padding (EOL then zeros) is not news.
	for len(parts) > 0 && parts[len(parts)-1] == "eol" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, ",")
}
