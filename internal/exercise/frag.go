package exercise

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// FragSender says who makes the fragments of a fragmentation experiment.
type FragSender uint8

const (
	// SendPlanned sends FragConfig.Planned exactly as built, one by one.
	SendPlanned FragSender = iota
	// SendSocket writes the UDP payload to an ordinary UDP socket on Hc and
	// lets Hc's kernel fragment it at the link's MTU.
	SendSocket
)

// MaxFragWait bounds FragConfig.Wait.
const MaxFragWait = time.Minute

// FragConfig is one fragmentation experiment: a datagram from Hc to Hs or
// Hf on a routed lab of its own.
type FragConfig struct {
	// Packet is the datagram as described: its IPv4 header (Dst is
	// lab.AddrHs or lab.AddrHf), one of UDP, TCP or ICMP, and Payload. The
	// story and the matching of ICMP replies take the addresses, ports,
	// ICMP identifier and sequence, TCP sequence number and IP ID from it.
	// Packet.Ethernet is ignored.
	Packet craft.Packet
	// Planned are the IPv4 datagrams to send from Hc, in sending order and
	// without a link header: the fragments left after drops, with their
	// duplicates, or the one unfragmented datagram. Ignored by SendSocket.
	Planned [][]byte
	// Order gives the fragment number (from 1) of each of Planned; Made
	// counts the fragments the plan made. Both are zero when the datagram
	// was not fragmented.
	Order []int
	Made  int
	// Via is the socket the planned datagrams leave through: ViaPacket
	// (each behind an Ethernet header with the route's MACs) or ViaIP.
	Via    rawsock.Via
	Sender FragSender
	// Wait bounds the wait for the application, or for the receiver to give
	// up (0: the lab's ipfrag_time + 1.5 s); at most MaxFragWait.
	Wait time.Duration
	// SrcMAC and DstMAC, when not nil, replace the route's addresses in
	// the Ethernet header (ViaPacket).
	SrcMAC, DstMAC *craft.MAC
}

// FragReport is what a fragmentation experiment observed. Write tells it.
type FragReport struct {
	Proto   uint8 // craft.ProtoUDP, ProtoTCP or ProtoICMP
	Dst     netip.Addr
	Host    string // "Hs" or "Hf"
	Payload []byte
	ID      uint16 // IP ID: as planned, or as seen leaving Hc
	Made    int    // fragments the plan made (0: not fragmented)
	Order   []int  // fragment numbers in sending order
	// Frames are the bytes handed to Hc's socket, in order: Ethernet frames
	// via packet, IPv4 datagrams via ip; nil with SendSocket.
	Frames [][]byte
	// Left are the datagram's fragments leaving Hc, Arrived those reaching
	// the destination, as captured on the hosts' interfaces.
	Left, Arrived []listen.Captured
	// Reassembly holds craft's reassembler's view (Linux's policy:
	// overlaps discard the datagram) after each of Arrived it accepted.
	Reassembly []craft.ReassemblyEvent
	Complete   bool // craft's reassembler completed the datagram
	// Delivered are the application's reads on the destination (UDP only),
	// DeliveredAt when each returned.
	Delivered   [][]byte
	DeliveredAt []time.Time
	// Replies are the ICMP errors (or UDP replies) that came back to Hc
	// matched to the datagram, ReplyFrames their frames.
	Replies     []listen.Reply
	ReplyFrames []listen.Captured
}

// Frag builds a routed lab, starts a UDP application on the destination,
// records Hc's and the destination's interfaces, sends the datagram from Hc
// as cfg says, waits, matches what came back and runs what arrived through
// craft.Reassembler (RFC 815). The lab is removed before Frag returns.
// Frag needs root; errors are the lab's, a socket's, or a bad cfg (an
// unknown Via or Sender, a Dst that is neither Hs nor Hf, SendSocket with
// a transport other than UDP, a Wait out of range).
func Frag(cfg FragConfig) (*FragReport, error) {
	rep, target, err := cfg.check()
	if err != nil {
		return nil, err
	}
	l, err := lab.Up(lab.Config{Name: fmt.Sprintf("frag%d", os.Getpid()), Routed: true})
	if err != nil {
		return nil, err
	}
	defer l.Down()
	fragTime := time.Duration(l.Config().FragTime) * time.Second
	wait := cfg.Wait
	if wait == 0 {
		wait = fragTime + 1500*time.Millisecond
	}
	pk := &cfg.Packet

	// The application: an ordinary UDP socket on the destination. Its
	// reader owns rep.Delivered until appExit is closed.
	appDone, appExit := make(chan struct{}, 1), make(chan struct{})
	var app net.PacketConn
	if pk.UDP != nil {
		if err := l.Do(target, func() (err error) {
			app, err = net.ListenPacket("udp4", fmt.Sprintf("%v:%d", rep.Dst, pk.UDP.DstPort))
			return err
		}); err != nil {
			return nil, err
		}
		go rep.readApp(app, appDone, appExit)
	} else {
		close(appExit)
	}
	stopApp := func() {
		if app != nil {
			app.Close()
		}
		<-appExit
	}
	// Listeners at both ends, open before anything leaves.
	atTarget, err := openListener(l, target)
	if err != nil {
		return nil, err
	}
	defer atTarget.Close()
	atHc, err := openListener(l, lab.Hc)
	if err != nil {
		return nil, err
	}
	defer atHc.Close()
	recHc, recTarget := listen.Record(atHc, 0), listen.Record(atTarget, 0)

	if err := l.Do(lab.Hc, func() error { return cfg.send(rep) }); err != nil {
		recHc.Stop()
		recTarget.Stop()
		stopApp()
		return nil, err
	}
	// Wait for the application, or for the receiver to give up.
	select {
	case <-appDone:
		time.Sleep(150 * time.Millisecond) // duplicates and stragglers
	case <-time.After(wait):
	}
	hcSeen, targetSeen := recHc.Stop(), recTarget.Stop()
	stopApp()
	rep.observe(pk, hcSeen, targetSeen, fragTime)
	return rep, nil
}

// readApp is the application: it keeps every datagram it reads, signals
// done after each, and closes exit when app is closed.
func (rep *FragReport) readApp(app net.PacketConn, done, exit chan struct{}) {
	defer close(exit)
	buf := make([]byte, 65536)
	for {
		n, _, err := app.ReadFrom(buf)
		if err != nil {
			return
		}
		rep.Delivered = append(rep.Delivered, append([]byte(nil), buf[:n]...))
		rep.DeliveredAt = append(rep.DeliveredAt, time.Now())
		select {
		case done <- struct{}{}:
		default:
		}
	}
}

var errFragConfig = errors.New("frag")

func (cfg *FragConfig) check() (*FragReport, string, error) {
	pk := &cfg.Packet
	if pk.IPv4 == nil {
		return nil, "", fmt.Errorf("%w: the packet has no IPv4 header", errFragConfig)
	}
	rep := &FragReport{Dst: pk.IPv4.Dst, ID: pk.IPv4.ID, Payload: pk.Payload, Made: cfg.Made, Order: cfg.Order}
	var target string
	switch rep.Dst {
	case lab.AddrHs:
		target, rep.Host = lab.Hs, "Hs"
	case lab.AddrHf:
		target, rep.Host = lab.Hf, "Hf"
	default:
		return nil, "", fmt.Errorf("%w: destination %v: Hs (%v) or Hf (%v)", errFragConfig, rep.Dst, lab.AddrHs, lab.AddrHf)
	}
	switch {
	case pk.UDP != nil:
		rep.Proto = craft.ProtoUDP
	case pk.TCP != nil:
		rep.Proto = craft.ProtoTCP
	case pk.ICMP != nil:
		rep.Proto = craft.ProtoICMP
	default:
		return nil, "", fmt.Errorf("%w: the packet has no UDP, TCP or ICMP header", errFragConfig)
	}
	switch {
	case cfg.Sender == SendSocket && pk.UDP == nil:
		return nil, "", fmt.Errorf("%w: an ordinary socket sends UDP here", errFragConfig)
	case cfg.Sender > SendSocket:
		return nil, "", fmt.Errorf("%w: sender %d", errFragConfig, cfg.Sender)
	case cfg.Via != rawsock.ViaPacket && cfg.Via != rawsock.ViaIP:
		return nil, "", fmt.Errorf("%w: via %v", errFragConfig, cfg.Via)
	case cfg.Wait < 0 || cfg.Wait > MaxFragWait:
		return nil, "", fmt.Errorf("%w: wait %v: 0 (the default) to %v", errFragConfig, cfg.Wait, MaxFragWait)
	case cfg.Sender == SendPlanned && len(cfg.Planned) == 0:
		return nil, "", fmt.Errorf("%w: nothing planned to send", errFragConfig)
	}
	return rep, target, nil
}

// openListener records host's lab interface: everything to or from Hc.
func openListener(l *lab.Lab, host string) (*listen.Listener, error) {
	var ln *listen.Listener
	err := l.Do(host, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		prog, err := rawsock.Filter{Host: lab.AddrHc}.Compile()
		if err != nil {
			return err
		}
		ln, err = listen.Listen(ifi, &listen.Config{Filter: prog})
		return err
	})
	return ln, err
}

// send sends from Hc, in Hc's namespace.
func (cfg *FragConfig) send(rep *FragReport) error {
	pk := &cfg.Packet
	if cfg.Sender == SendSocket {
		c, err := net.ListenPacket("udp4", fmt.Sprintf("%v:%d", lab.AddrHc, pk.UDP.SrcPort))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.WriteTo(pk.Payload, &net.UDPAddr{IP: rep.Dst.AsSlice(), Port: int(pk.UDP.DstPort)})
		return err
	}
	tx, err := rawsock.Open(rep.Dst, cfg.Via, &rawsock.OpenConfig{SrcMAC: cfg.SrcMAC, DstMAC: cfg.DstMAC})
	if err != nil {
		return err
	}
	defer tx.Close()
	eth := tx.Ethernet()
	for _, dg := range cfg.Planned {
		b := dg
		if eth != nil {
			b = make([]byte, craft.EthernetLen, craft.EthernetLen+len(dg))
			if err := eth.Encode(b, craft.EtherTypeIPv4); err != nil {
				return err
			}
			b = append(b, dg...)
		}
		rep.Frames = append(rep.Frames, b)
		if _, err := tx.Send(b); err != nil {
			return err
		}
	}
	return nil
}

// observe sorts the captures: what left Hc, what came back matched to the
// datagram, what arrived and what the reassembler made of it.
func (rep *FragReport) observe(pk *craft.Packet, hcSeen, targetSeen []listen.Captured, fragTime time.Duration) {
	probe := listen.Probe{Proto: rep.Proto, Src: lab.AddrHc, Dst: rep.Dst}
	switch {
	case pk.UDP != nil:
		probe.SrcPort, probe.DstPort = pk.UDP.SrcPort, pk.UDP.DstPort
	case pk.TCP != nil:
		probe.SrcPort, probe.DstPort, probe.Seq = pk.TCP.SrcPort, pk.TCP.DstPort, pk.TCP.Seq
	case pk.ICMP != nil:
		switch pk.ICMP.Type {
		case craft.ICMPEcho, craft.ICMPEchoReply, craft.ICMPTimestamp, craft.ICMPTimestampReply:
			probe.ICMPID, probe.ICMPSeq = uint16(pk.ICMP.Rest>>16), uint16(pk.ICMP.Rest)
		}
	}
	m := listen.NewMatcher(1)
	_, _ = m.Add(probe)
	var d craft.Decoded
	for _, s := range hcSeen {
		if _ = d.DecodeFrame(s.Frame); d.Layers&craft.LayerIPv4 == 0 {
			continue
		}
		if s.Meta.Outgoing && d.IPv4.Src == lab.AddrHc && d.IPv4.Dst == rep.Dst {
			rep.Left = append(rep.Left, s)
			m.SentID(0, d.IPv4.ID)
			rep.ID = d.IPv4.ID
		}
	}
	for _, s := range hcSeen {
		if s.Meta.Outgoing {
			continue
		}
		p := listen.Packet{Frame: s.Frame, Meta: s.Meta}
		p.Err = p.Decoded.DecodeFrame(s.Frame)
		if k, _, r := m.Match(&p); k == listen.Answer {
			rep.Replies = append(rep.Replies, r)
			rep.ReplyFrames = append(rep.ReplyFrames, s)
		}
	}
	// The receiver's rules, as Linux applies them (craft's model of
	// net/ipv4/ip_fragment.c): overlaps and empty fragments discard the
	// datagram, duplicates are dropped alone, MF fragments are cut to
	// whole 8-byte units.
	ra := craft.NewReassembler(&craft.ReassemblyConfig{Timeout: fragTime, Linux: true})
	for _, s := range targetSeen {
		if s.Meta.Outgoing || d.DecodeFrame(s.Frame) != nil && d.Layers&craft.LayerIPv4 == 0 || d.IPv4.Src != lab.AddrHc || d.IPv4.ID != rep.ID {
			continue
		}
		rep.Arrived = append(rep.Arrived, s)
		end := craft.EthernetLen + int(d.IPv4.TotalLen.Or(0))
		ev, err := ra.Add(s.Meta.Time, s.Frame[craft.EthernetLen:min(end, len(s.Frame))])
		if err != nil {
			continue
		}
		ev.Holes = append([]craft.Hole(nil), ev.Holes...)
		rep.Reassembly = append(rep.Reassembly, ev)
		rep.Complete = rep.Complete || ev.Complete
	}
}
