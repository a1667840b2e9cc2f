package exercise

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
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
	// lets Hc's kernel fragment it at the link's MTU (over IPv6 too: there
	// the source fragments, and only the source).
	SendSocket
)

// MaxFragWait bounds FragConfig.Wait, MaxFragTime FragConfig.FragTime.
const (
	MaxFragWait = time.Minute
	MaxFragTime = 30
)

// FragConfig is one fragmentation experiment: a datagram from Hc to Hs or
// Hf on a routed lab of its own, over IPv4 or IPv6.
type FragConfig struct {
	// Packet is the datagram as described: its IPv4 header (Dst is
	// lab.AddrHs or lab.AddrHf), one of UDP, TCP or ICMP, and Payload; or
	// its IPv6 header (Dst is lab.Addr6Hs or lab.Addr6Hf), extension
	// headers, one of UDP, TCP or ICMPv6, and Payload. The story and the
	// matching of ICMP replies take the addresses, ports, ICMP identifier
	// and sequence, TCP sequence number and IP ID from it.
	// Packet.Ethernet is ignored.
	Packet craft.Packet
	// Planned are the IP datagrams (of Packet's family) to send from Hc,
	// in sending order and without a link header: the fragments left after
	// drops, with their duplicates, or the one unfragmented datagram. Over
	// IPv6 the Fragment header of the first planned fragment gives the
	// identification. Ignored by SendSocket.
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
	// FragTime is the lab's net.ipv4.ipfrag_time and ip6frag_time, in
	// seconds, 1 to MaxFragTime (0: the lab's default, 3).
	FragTime int
	// SrcMAC and DstMAC, when not nil, replace the route's addresses in
	// the Ethernet header (ViaPacket).
	SrcMAC, DstMAC *craft.MAC
	// OnEvent, if not nil, is told the experiment's events as they happen,
	// in time order, timed from the first send: each fragment leaving Hc
	// and reaching the destination, the application's reads, the ICMP
	// coming back. It must not block for long.
	OnEvent func(at time.Duration, what string)

	// shared, when not nil, is a routed lab Frag uses instead of building
	// its own, and leaves up: tests that run many shapes share one lab
	// (each shape has its own IP ID and ports). Its FragTime is the one
	// that counts.
	shared *lab.Lab
}

// FragReport is what a fragmentation experiment observed. Write tells it.
type FragReport struct {
	Proto   uint8 // craft.ProtoUDP, ProtoTCP, ProtoICMP or ProtoICMPv6
	Dst     netip.Addr
	Host    string // "Hs" or "Hf"
	Payload []byte
	ID      uint16 // IP ID: as planned, or as seen leaving Hc (IPv4)
	// FragID is the 32-bit identification of the Fragment headers (IPv6),
	// as planned or as seen leaving Hc; HasFragID says whether any
	// fragment carried one.
	FragID    uint32
	HasFragID bool
	Made      int   // fragments the plan made (0: not fragmented)
	Order     []int // fragment numbers in sending order
	Sender    FragSender
	// Frames are the bytes handed to Hc's socket, in order: Ethernet frames
	// via packet, IP datagrams via ip; nil with SendSocket.
	Frames [][]byte
	// Left are the datagram's fragments leaving Hc, Arrived those reaching
	// the destination, as captured on the hosts' interfaces.
	Left, Arrived []listen.Captured
	// Reassembly holds craft's reassembler's view (Linux's policy:
	// overlaps discard the datagram) after each of Arrived it accepted.
	Reassembly []craft.ReassemblyEvent
	Complete   bool // craft's reassembler completed the datagram
	// IPv6 only: what craft's model of Linux's IPv6 receiver says the
	// destination answers. ModelParamProblem: a first fragment without the
	// whole header chain was dropped, answered with parameter problem
	// code 3 (RFC 8200 §4.5, RFC 7112). ModelTimeExceeded: a packet whose
	// first fragment had arrived was given up within the wait, answered
	// with time exceeded code 1. FragTime is the receivers' ipfrag_time and
	// ip6frag_time.
	ModelParamProblem, ModelTimeExceeded bool
	FragTime                             time.Duration
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
// craft.Reassembler (RFC 815) with Linux's rules, IPv4's or IPv6's as
// Packet is. The lab is removed before Frag returns. Frag needs root;
// errors are the lab's, a socket's, or a bad cfg (an unknown Via or
// Sender, a Dst that is neither Hs nor Hf of the packet's family, an IPv6
// source other than Hc, SendSocket with a transport other than UDP, a Wait
// out of range).
func Frag(cfg FragConfig) (*FragReport, error) {
	rep, target, err := cfg.check()
	if err != nil {
		return nil, err
	}
	l := cfg.shared
	if l == nil {
		if l, err = lab.Up(lab.Config{Name: fmt.Sprintf("frag%d", os.Getpid()), Routed: true, FragTime: cfg.FragTime}); err != nil {
			return nil, err
		}
		defer l.Down()
	}
	fragTime := time.Duration(l.Config().FragTime) * time.Second
	wait := cfg.Wait
	if wait == 0 {
		wait = fragTime + 1500*time.Millisecond
	}
	pk := &cfg.Packet
	v6 := pk.IPv6 != nil
	udpNet, hc := "udp4", lab.AddrHc
	if v6 {
		udpNet, hc = "udp6", lab.Addr6Hc
	}

	// The application: an ordinary UDP socket on the destination. Its
	// reader owns rep.Delivered until appExit is closed.
	appDone, appExit := make(chan struct{}, 1), make(chan struct{})
	var app net.PacketConn
	if pk.UDP != nil {
		if err := l.Do(target, func() (err error) {
			app, err = net.ListenPacket(udpNet, netip.AddrPortFrom(rep.Dst, pk.UDP.DstPort).String())
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
	atTarget, err := openListener(l, target, hc)
	if err != nil {
		return nil, err
	}
	defer atTarget.Close()
	atHc, err := openListener(l, lab.Hc, hc)
	if err != nil {
		return nil, err
	}
	defer atHc.Close()
	recHc, recTarget := listen.Record(atHc, 0), listen.Record(atTarget, 0)

	sendStart := time.Now()
	if err := l.Do(lab.Hc, func() error { return cfg.send(rep) }); err != nil {
		recHc.Stop()
		recTarget.Stop()
		stopApp()
		return nil, err
	}
	// Wait for the application, or for the receiver to give up, telling
	// the events as they come.
	live := &fragLive{cfg: &cfg, start: sendStart, host: rep.Host, v6: v6}
	deadline := time.After(wait)
	var linger <-chan time.Time
	tick := time.NewTicker(50 * time.Millisecond)
waiting:
	for {
		select {
		case <-appDone:
			live.event(time.Now(), fmt.Sprintf("%s's application read a datagram", rep.Host))
			if linger == nil {
				linger = time.After(150 * time.Millisecond) // duplicates and stragglers
			}
		case <-tick.C:
			live.poll(recHc.Snapshot(), recTarget.Snapshot(), false)
		case <-linger:
			break waiting
		case <-deadline:
			break waiting
		}
	}
	tick.Stop()
	stopped := time.Now()
	hcSeen, targetSeen := recHc.Stop(), recTarget.Stop()
	live.poll(hcSeen, targetSeen, true)
	stopApp()
	rep.FragTime = fragTime
	if v6 {
		rep.observe6(pk, hcSeen, targetSeen, fragTime, stopped)
	} else {
		rep.observe(pk, hcSeen, targetSeen, fragTime)
	}
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
	if pk.IPv6 != nil && pk.IPv4 == nil {
		return cfg.check6()
	}
	if pk.IPv4 == nil || pk.IPv6 != nil {
		return nil, "", fmt.Errorf("%w: the packet has no IPv4 or IPv6 header, or both", errFragConfig)
	}
	rep := &FragReport{Dst: pk.IPv4.Dst, ID: pk.IPv4.ID, Payload: pk.Payload, Made: cfg.Made, Order: cfg.Order, Sender: cfg.Sender}
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
	if err := cfg.checkSending(); err != nil {
		return nil, "", err
	}
	return rep, target, nil
}

// checkSending checks what both families share: who sends, how, how long.
func (cfg *FragConfig) checkSending() error {
	switch {
	case cfg.Sender == SendSocket && cfg.Packet.UDP == nil:
		return fmt.Errorf("%w: an ordinary socket sends UDP here", errFragConfig)
	case cfg.Sender > SendSocket:
		return fmt.Errorf("%w: sender %d", errFragConfig, cfg.Sender)
	case cfg.Via != rawsock.ViaPacket && cfg.Via != rawsock.ViaIP:
		return fmt.Errorf("%w: via %v", errFragConfig, cfg.Via)
	case cfg.Wait < 0 || cfg.Wait > MaxFragWait:
		return fmt.Errorf("%w: wait %v: 0 (the default) to %v", errFragConfig, cfg.Wait, MaxFragWait)
	case cfg.FragTime < 0 || cfg.FragTime > MaxFragTime:
		return fmt.Errorf("%w: fragment time %d s: 0 (the lab's default) to %d", errFragConfig, cfg.FragTime, MaxFragTime)
	case cfg.Sender == SendPlanned && len(cfg.Planned) == 0:
		return fmt.Errorf("%w: nothing planned to send", errFragConfig)
	}
	return nil
}

// openListener records host's lab interface: everything to or from hc,
// Hc's address of the experiment's family.
func openListener(l *lab.Lab, host string, hc netip.Addr) (*listen.Listener, error) {
	var ln *listen.Listener
	err := l.Do(host, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		prog, err := rawsock.Filter{Host: hc}.Compile()
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
	udpNet, hc, etherType := "udp4", lab.AddrHc, craft.EtherTypeIPv4
	if pk.IPv6 != nil {
		udpNet, hc, etherType = "udp6", lab.Addr6Hc, craft.EtherTypeIPv6
	}
	if cfg.Sender == SendSocket {
		c, err := net.ListenPacket(udpNet, netip.AddrPortFrom(hc, pk.UDP.SrcPort).String())
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
			if err := eth.Encode(b, etherType); err != nil {
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
		// The answer acknowledges the segment's data too (RFC 9293 §3.10.7.1).
		probe.Flags, probe.Ack, probe.Len = pk.TCP.Flags, pk.TCP.Ack, len(pk.Payload)
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

// fragLive tells a frag experiment's frames as events while it runs:
// frames are told in kernel-timestamp order, each once its time is 100 ms
// past, so that a frame the other recorder has not handed over yet cannot
// come out of order.
type fragLive struct {
	cfg        *FragConfig
	start      time.Time
	host       string
	v6         bool
	hc, target int // frames of each recording told so far
	last       time.Time
}

func (f *fragLive) event(at time.Time, what string) {
	if f.cfg.OnEvent == nil {
		return
	}
	if at.Before(f.last) {
		at = f.last // an application read seen after a frame told later
	}
	f.last = at
	f.cfg.OnEvent(at.Sub(f.start), what)
}

func (f *fragLive) poll(hc, target []listen.Captured, all bool) {
	if f.cfg.OnEvent == nil {
		return
	}
	type ev struct {
		t    time.Time
		what string
	}
	var evs []ev
	ripe := time.Now().Add(-100 * time.Millisecond)
	d := craft.Decoded{AcceptIPv6: f.v6}
	ipLayer := craft.LayerIPv4
	if f.v6 {
		ipLayer = craft.LayerIPv6
	}
	take := func(caps []listen.Captured, from *int, describe func(*craft.Decoded, bool) string) {
		for ; *from < len(caps); *from++ {
			c := caps[*from]
			if !all && c.Meta.Time.After(ripe) {
				return
			}
			if d.DecodeFrame(c.Frame) != nil && d.Layers&ipLayer == 0 {
				continue
			}
			if s := describe(&d, c.Meta.Outgoing); s != "" {
				evs = append(evs, ev{c.Meta.Time, s})
			}
		}
	}
	if f.v6 {
		take(hc, &f.hc, f.describeHc6)
		take(target, &f.target, f.describeTarget6)
	} else {
		take(hc, &f.hc, func(d *craft.Decoded, out bool) string {
			switch {
			case out && d.IPv4.Dst == f.cfg.Packet.IPv4.Dst && d.Layers&craft.LayerIPv4 != 0:
				return "Hc → " + fragWords(d)
			case !out && d.Has(craft.LayerICMP):
				return "Hc ← " + d.Summary()
			}
			return ""
		})
		take(target, &f.target, func(d *craft.Decoded, out bool) string {
			if !out && d.Layers&craft.LayerIPv4 != 0 && d.IPv4.Src == lab.AddrHc {
				return f.host + " ← " + fragWords(d)
			}
			return ""
		})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].t.Before(evs[j].t) })
	causal(evs, func(e *ev) *time.Time { return &e.t }, func(e *ev) string { return e.what })
	for _, e := range evs {
		f.event(e.t, e.what)
	}
}

// fragWords names a datagram or fragment as the timeline does.
func fragWords(d *craft.Decoded) string {
	ip := &d.IPv4
	if !ip.IsFragment() {
		return fmt.Sprintf("whole datagram, IP ID 0x%04x", ip.ID)
	}
	more := ""
	if ip.Flags&craft.FlagMF != 0 {
		more = ", MF"
	}
	return fmt.Sprintf("fragment at offset %d, IP ID 0x%04x%s", int(ip.FragOff)*8, ip.ID, more)
}
