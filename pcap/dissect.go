package pcap

import (
	"encoding/binary"
	"fmt"

	"github.com/rawcraft/rawcraft/craft"
)

// Dissected is what Dissect made of one captured packet.
type Dissected struct {
	Link     Link      // the link header, on links other than Ethernet
	Dir      Direction // the capture's direction, or the link header's
	Decoded  bool      // the link header was read and the network layer decoded
	Ethernet bool      // decoded as an Ethernet frame
	Err      error     // what decoding the network layer found wrong
	Note     string    // why it was not decoded, or a remark on its checksums
}

// Dissect decodes p into d: an Ethernet frame with craft, another link's
// header with ParseLink and then IPv4 or IPv6 (other network layers are
// named, not decoded). It appends the checksum verdicts to sums, knowing
// offload: a TCP or UDP checksum that holds only the pseudo-header sum, or
// an IPv4 header checksum of 0, on a packet this host sent is
// ChecksumPartial (the NIC had not filled it when the capture took it),
// not bad; on a packet of unknown direction it is ChecksumPartialOrBad;
// on one the capture saw arrive it is bad, with a note for the transport's.
func Dissect(p *Packet, d *craft.Decoded, sums []craft.ChecksumResult) (Dissected, []craft.ChecksumResult) {
	x := Dissected{Dir: p.Direction}
	d.AcceptIPv6 = true
	if p.LinkType == LinkEthernet {
		x.Ethernet, x.Decoded = true, true
		x.Err = d.DecodeFrame(p.Data)
	} else {
		l, err := ParseLink(p.LinkType, p.Data)
		x.Link = l
		if x.Dir == DirUnknown {
			x.Dir = l.Direction
		}
		switch {
		case err != nil:
			x.Note = err.Error()
		case l.EtherType == EtherTypeIPv4, l.EtherType == EtherTypeIPv6:
			x.Decoded = true
			x.Err = d.DecodeIP(p.Data[l.Len:])
		default:
			x.Note = fmt.Sprintf("%s: EtherType 0x%04x, not decoded", LinkName(p.LinkType), l.EtherType)
		}
	}
	if !x.Decoded {
		return x, sums
	}
	start := len(sums)
	sums = d.Checksums(sums)
	for i := start; i < len(sums); i++ {
		c := &sums[i]
		if c.Quoted || c.Status != craft.ChecksumBad || d.Datagram.Layers&(craft.LayerIPv4|craft.LayerIPv6) == 0 {
			continue
		}
		var unfilled bool
		switch c.Layer {
		case craft.LayerTCP, craft.LayerUDP:
			unfilled = c.Got == PseudoHeaderSum(&d.Datagram)
		case craft.LayerIPv4:
			unfilled = c.Got == 0
		}
		switch {
		case !unfilled:
		case x.Dir == DirOutbound:
			c.Status = craft.ChecksumPartial
		case x.Dir == DirUnknown:
			c.Status = craft.ChecksumPartialOrBad
		case c.Layer != craft.LayerIPv4:
			// Bad as it arrived here, unless a virtual link (veth,
			// loopback) carried it from a sender that left it unfilled.
			x.Note = fmt.Sprintf("the %v checksum holds only the pseudo-header sum: a packet its own host sent, captured before the NIC filled it (offload)?", c.Layer)
		}
	}
	return x, sums
}

// PseudoHeaderSum is what Linux leaves in a TCP or UDP checksum field it
// hands to the NIC to finish (CHECKSUM_PARTIAL): the one's complement sum of
// the pseudo-header, folded, not complemented (RFC 9293 §3.1, RFC 768; for
// IPv6 the addresses, the upper-layer length and next header of RFC 8200
// §8.1).
func PseudoHeaderSum(g *craft.Datagram) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
	}
	if g.Layers&craft.LayerIPv6 != 0 {
		s, d := g.IPv6.Src.As16(), g.IPv6.Dst.As16()
		add(s[:])
		add(d[:])
		n := int(g.IPv6.PayloadLen.Or(0)) - (g.TransportOffset - g.IPOffset - craft.IPv6HeaderLen)
		proto := craft.ProtoTCP
		if g.Layers&craft.LayerUDP != 0 {
			proto = craft.ProtoUDP
		}
		sum += uint32(n>>16&0xffff) + uint32(n&0xffff) + uint32(proto)
	} else {
		s, d := g.IPv4.Src.As4(), g.IPv4.Dst.As4()
		add(s[:])
		add(d[:])
		ihl := int(g.IPv4.IHL.Or(5)) * 4
		n := int(g.IPv4.TotalLen.Or(0)) - ihl
		sum += uint32(g.IPv4.Protocol.Or(0)) + uint32(n&0xffff)
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}
