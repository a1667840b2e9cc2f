package craft

import (
	"encoding/binary"
	"fmt"
)

// A Drop is why a receiving host discards a datagram silently, before any
// socket or port sees it: the fault in the datagram, and the claim (proved
// in the lab) that says what the receiver does with it.
type Drop struct {
	Layer Layer  // the layer at fault: LayerIPv4, LayerTCP, LayerUDP, LayerICMP, LayerICMPv6
	What  string // "IPv4 header checksum is bad (0xdead, should be 0x1c46)"
	Claim ClaimID
}

// String is the fault and the receiver's fate: "IPv4 header checksum is
// bad (0xdead, should be 0x1c46); the receiving host drops the packet
// unread, without an answer, …".
func (d Drop) String() string { return d.What + "; " + d.Claim.Text() }

// SilentDrop says whether a receiver drops datagram (an IPv4 or IPv6
// datagram, no link header) without an answer, and why: an IPv4 header
// length below 5 words or a total length shorter than the header (RFC 791
// §3.1), a bad IPv4 header checksum, a bad TCP, UDP, ICMP or ICMPv6
// checksum (RFC 1122 §3.2.1.2, §4.1.3.4, §4.2.2.7, §3.2.2; RFC 4443 §2.3),
// a zero UDP checksum over IPv6 (RFC 8200 §8.1), a UDP length outside the
// datagram (RFC 768) or a TCP data offset below 5 or past the segment (RFC
// 9293 §3.1). The first fault found is returned, outermost first. Faults a
// receiver answers (an IPv4 option past the header: parameter problem) are
// not drops of this kind. A fragment's transport checksum is not judged: it
// covers bytes the fragment does not hold. It reads only datagram.
func SilentDrop(datagram []byte) (Drop, bool) {
	if len(datagram) == 0 {
		return Drop{}, false
	}
	var d Decoded
	if datagram[0]>>4 == 4 && len(datagram) >= IPv4HeaderLen {
		ihl := int(datagram[0] & 0xf)
		if ihl < 5 {
			return Drop{LayerIPv4, fmt.Sprintf("IPv4 header length is %d words (%d bytes), fewer than the fixed header's 5", ihl, ihl*4), ClaimIPv4HeaderLengthError}, true
		}
		if tl := int(binary.BigEndian.Uint16(datagram[2:])); tl < ihl*4 && tl != 0 {
			return Drop{LayerIPv4, fmt.Sprintf("IPv4 total length is %d bytes, shorter than the %d-byte header", tl, ihl*4), ClaimIPv4HeaderLengthError}, true
		}
	}
	d.AcceptIPv6 = true
	_ = d.DecodeIP(datagram) // a decode error leaves what was read; the checks below need only that
	if d.Layers&(LayerIPv4|LayerIPv6) == 0 {
		return Drop{}, false
	}
	var buf [4]ChecksumResult
	for _, c := range d.Checksums(buf[:0]) {
		if c.Quoted || c.Status != ChecksumBad {
			continue
		}
		switch c.Layer {
		case LayerIPv4:
			return Drop{LayerIPv4, fmt.Sprintf("IPv4 header checksum is bad (0x%04x, should be 0x%04x)", c.Got, c.Want), ClaimIPv4ChecksumBad}, true
		case LayerTCP:
			return Drop{LayerTCP, fmt.Sprintf("TCP checksum is bad (0x%04x, should be 0x%04x)", c.Got, c.Want), ClaimTCPChecksumBad}, true
		case LayerUDP:
			if c.Got == 0 { // over IPv6: "no checksum" does not exist
				return Drop{LayerUDP, "UDP checksum is 0 (\"no checksum\", which exists only over IPv4)", ClaimUDP6ZeroChecksum}, true
			}
			return Drop{LayerUDP, fmt.Sprintf("UDP checksum is bad (0x%04x, should be 0x%04x)", c.Got, c.Want), ClaimUDPChecksumBad}, true
		case LayerICMP:
			return Drop{LayerICMP, fmt.Sprintf("ICMP checksum is bad (0x%04x, should be 0x%04x)", c.Got, c.Want), ClaimICMPChecksumBad}, true
		case LayerICMPv6:
			return Drop{LayerICMPv6, fmt.Sprintf("ICMPv6 checksum is bad (0x%04x, should be 0x%04x)", c.Got, c.Want), ClaimICMPv6ChecksumBad}, true
		}
	}
	g := &d.Datagram
	if g.Truncated || g.fragmented() {
		return Drop{}, false
	}
	switch {
	case d.Layers&LayerUDP != 0 && len(g.l4) >= UDPHeaderLen:
		l := int(binary.BigEndian.Uint16(g.l4[4:]))
		if l < UDPHeaderLen {
			return Drop{LayerUDP, fmt.Sprintf("UDP length is %d bytes, shorter than the 8-byte header", l), ClaimUDPLengthBad}, true
		}
		if l > len(g.l4) && !g.LenFromCapture {
			return Drop{LayerUDP, fmt.Sprintf("UDP length is %d bytes, more than the %d bytes the IP header leaves for UDP", l, len(g.l4)), ClaimUDPLengthBad}, true
		}
	case d.Layers&LayerTCP != 0 && len(g.l4) >= 13:
		off := int(g.l4[12] >> 4)
		if off < 5 {
			return Drop{LayerTCP, fmt.Sprintf("TCP data offset is %d words, fewer than the fixed header's 5", off), ClaimTCPDataOffsetBad}, true
		}
		if off*4 > len(g.l4) {
			return Drop{LayerTCP, fmt.Sprintf("TCP data offset is %d words (%d bytes), past the %d-byte segment", off, off*4, len(g.l4)), ClaimTCPDataOffsetBad}, true
		}
	}
	return Drop{}, false
}
