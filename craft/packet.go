package craft

import (
	"fmt"
	"slices"
)

// Packet stacks layers into one frame or datagram. Nil layers are absent.
// The stacks that make sense are:
//
//	Ethernet? + ARP
//	Ethernet? + IPv4 + (TCP | UDP | ICMP)? + Payload
//	Ethernet? + IPv6 + IPv6Ext* + (TCP | UDP | ICMPv6)? + Payload
//
// With no transport layer, Payload is the IPv4 data and IPv4.Protocol must be
// forced. Each layer computes its derived fields from the layers below it
// (in the byte order: what follows it): lengths, checksums, the IPv4 protocol
// and the EtherType.
type Packet struct {
	Ethernet *Ethernet
	ARP      *ARP
	IPv4     *IPv4
	TCP      *TCP
	UDP      *UDP
	ICMP     *ICMP
	IPv6     *IPv6
	// IPv6Ext are the IPv6 extension headers in wire order, between the
	// IPv6 header and the transport (RFC 8200 §4); any order and count.
	IPv6Ext []IPv6Ext
	ICMPv6  *ICMPv6
	// Payload is the transport's data: TCP or UDP data, ICMP echo data or
	// the datagram an ICMP error quotes (see Quote).
	Payload []byte
}

// Clone returns a copy of p whose layers are copies too, so that fields of
// one can be set without touching the other. Byte slices (options, payload)
// are shared: set them to new slices rather than writing into them.
func (p *Packet) Clone() Packet {
	q := *p
	if p.Ethernet != nil {
		e := *p.Ethernet
		q.Ethernet = &e
	}
	if p.ARP != nil {
		a := *p.ARP
		q.ARP = &a
	}
	if p.IPv4 != nil {
		h := *p.IPv4
		q.IPv4 = &h
	}
	if p.TCP != nil {
		h := *p.TCP
		q.TCP = &h
	}
	if p.UDP != nil {
		h := *p.UDP
		q.UDP = &h
	}
	if p.ICMP != nil {
		h := *p.ICMP
		q.ICMP = &h
	}
	if p.IPv6 != nil {
		h := *p.IPv6
		q.IPv6 = &h
	}
	if p.ICMPv6 != nil {
		h := *p.ICMPv6
		q.ICMPv6 = &h
	}
	q.IPv6Ext = slices.Clone(p.IPv6Ext)
	return q
}

// Len returns the number of bytes Append will write.
func (p *Packet) Len() int {
	n := len(p.Payload)
	if p.Ethernet != nil {
		n += p.Ethernet.Len()
	}
	if p.ARP != nil {
		n += p.ARP.Len()
	}
	if p.IPv4 != nil {
		n += p.IPv4.Len()
	}
	if p.IPv6 != nil {
		n += IPv6HeaderLen
	}
	for i := range p.IPv6Ext {
		n += p.IPv6Ext[i].Len()
	}
	switch {
	case p.TCP != nil:
		n += p.TCP.Len()
	case p.UDP != nil:
		n += UDPHeaderLen
	case p.ICMP != nil, p.ICMPv6 != nil:
		n += ICMPHeaderLen
	}
	return n
}

func (p *Packet) check() error {
	transports := 0
	if p.TCP != nil {
		transports++
	}
	if p.UDP != nil {
		transports++
	}
	if p.ICMP != nil {
		transports++
	}
	if p.ICMPv6 != nil {
		transports++
	}
	switch {
	case p.IPv6 != nil || len(p.IPv6Ext) > 0 || p.ICMPv6 != nil:
		return p.check6(transports)
	case p.ARP != nil && (p.IPv4 != nil || transports > 0 || len(p.Payload) > 0):
		return fmt.Errorf("%w: ARP travels alone in an Ethernet frame, without IPv4 or payload", ErrLayers)
	case transports > 1:
		return fmt.Errorf("%w: a packet has at most one of TCP, UDP and ICMP", ErrLayers)
	case transports == 1 && p.IPv4 == nil:
		return fmt.Errorf("%w: TCP, UDP and ICMP need an IPv4 header (their checksums cover its addresses)", ErrLayers)
	case p.IPv4 != nil && transports == 0 && !p.IPv4.Protocol.IsSet():
		return fmt.Errorf("%w: an IPv4 datagram without a TCP, UDP or ICMP layer needs its protocol set", ErrLayers)
	case p.ARP == nil && p.IPv4 == nil:
		return fmt.Errorf("%w: no ARP and no IPv4 layer", ErrLayers)
	}
	return nil
}

// Append builds the packet and appends it to dst, growing dst at most once.
// It allocates nothing when dst has room for Len() more bytes. The layers
// are encoded innermost first, so that each can take the bytes after it as
// its payload for lengths and checksums. On error dst is returned unchanged
// in length.
func (p *Packet) Append(dst []byte) ([]byte, error) {
	if err := p.check(); err != nil {
		return dst, err
	}
	start, n := len(dst), p.Len()
	dst = slices.Grow(dst, n)[:start+n]
	if err := p.encode(dst[start:]); err != nil {
		return dst[:start], err
	}
	return dst, nil
}

func (p *Packet) encode(b []byte) error {
	off := 0
	if p.Ethernet != nil {
		off = p.Ethernet.Len()
	}
	if p.ARP != nil {
		if err := p.ARP.Encode(b[off:]); err != nil {
			return err
		}
		if p.Ethernet != nil {
			return p.Ethernet.Encode(b, EtherTypeARP)
		}
		return nil
	}
	if p.IPv6 != nil {
		return p.encode6(b, off)
	}
	ipOff := off
	tOff := ipOff + p.IPv4.Len()
	src, dst := as4(p.IPv4.Src), as4(p.IPv4.Dst) // once, for the header and the pseudo-header
	// The payload ends the packet: b is exactly Len() long.
	if len(p.Payload) > 0 {
		copy(b[len(b)-len(p.Payload):], p.Payload)
	}
	var proto uint8
	var err error
	final := dst // the pseudo-header's: a source route's last address (srcroute.go)
	if len(p.IPv4.Options) > 0 {
		final = finalDst4(p.IPv4.Options, dst)
	}
	switch {
	case p.TCP != nil:
		proto, err = ProtoTCP, p.TCP.encode(b[tOff:], pseudoAddrs4(src, final))
	case p.UDP != nil:
		proto, err = ProtoUDP, p.UDP.encode(b[tOff:], pseudoAddrs4(src, final))
	case p.ICMP != nil:
		proto, err = ProtoICMP, p.ICMP.Encode(b[tOff:])
	}
	if err != nil {
		return err
	}
	if err := p.IPv4.encode(b[ipOff:], proto, src, dst); err != nil {
		return err
	}
	if p.Ethernet != nil {
		return p.Ethernet.Encode(b, EtherTypeIPv4)
	}
	return nil
}

// Quote returns the part of datagram that an ICMP error carries: its IPv4
// header and the first 8 bytes of its data (RFC 792), a view of datagram.
// A datagram too short to hold that much is returned whole.
func Quote(datagram []byte) []byte {
	if len(datagram) < IPv4HeaderLen {
		return datagram
	}
	n := int(datagram[0]&0xf)*4 + 8
	if n > len(datagram) {
		return datagram
	}
	return datagram[:n]
}

func (p *Packet) check6(transports int) error {
	switch {
	case p.IPv6 == nil:
		return fmt.Errorf("%w: IPv6 extension headers and ICMPv6 need an IPv6 header", ErrLayers)
	case p.IPv4 != nil || p.ARP != nil:
		return fmt.Errorf("%w: a packet has IPv4, IPv6 or ARP, one of them", ErrLayers)
	case p.ICMP != nil:
		return fmt.Errorf("%w: ICMP over IPv6 is ICMPv6 (next header 58): use the ICMPv6 layer", ErrLayers)
	case transports > 1:
		return fmt.Errorf("%w: a packet has at most one of TCP, UDP and ICMPv6", ErrLayers)
	}
	return nil
}

// encode6 builds an IPv6 packet into b, the IPv6 header at off. With no
// transport, the last header's next header is No Next Header (59) unless
// forced.
func (p *Packet) encode6(b []byte, off int) error {
	if len(p.Payload) > 0 {
		copy(b[len(b)-len(p.Payload):], p.Payload)
	}
	tOff := off + IPv6HeaderLen
	for i := range p.IPv6Ext {
		tOff += p.IPv6Ext[i].Len()
	}
	// The pseudo-header's destination is the final one (RFC 8200 §8.1).
	src, dst := as16(p.IPv6.Src), as16(p.IPv6.Dst)
	if h, ok := homeAddress(p.IPv6Ext); ok {
		src = h // a mobile node's home address (RFC 6275 §6.3)
	}
	for i := range p.IPv6Ext {
		if d, ok := p.IPv6Ext[i].finalDst(); ok {
			dst = d
		}
	}
	addrs := pseudoAddrs6(&src, &dst)
	proto := ProtoNoNext
	var err error
	switch {
	case p.TCP != nil:
		proto, err = ProtoTCP, p.TCP.encode(b[tOff:], addrs)
	case p.UDP != nil:
		proto, err = ProtoUDP, p.UDP.encode(b[tOff:], addrs)
	case p.ICMPv6 != nil:
		proto, err = ProtoICMPv6, p.ICMPv6.encode(b[tOff:], addrs)
	}
	if err != nil {
		return err
	}
	next := proto
	for i := len(p.IPv6Ext) - 1; i >= 0; i-- {
		e := &p.IPv6Ext[i]
		tOff -= e.Len()
		if err := e.encode(b[tOff:], next); err != nil {
			return err
		}
		next = e.Kind
	}
	if err := p.IPv6.Encode(b[off:], next); err != nil {
		return err
	}
	if p.Ethernet != nil {
		return p.Ethernet.Encode(b, EtherTypeIPv6)
	}
	return nil
}
