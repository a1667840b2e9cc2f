package craft

import "encoding/binary"

// UpdateChecksum returns the Internet checksum hc after one 16-bit word it
// covers changed from old to new, without summing the data again (RFC 1624
// §3, eqn. 3: HC' = ~(~HC + ~m + m')). Eqn. 3, unlike RFC 1141's eqn. 2,
// never turns a checksum into the "negative zero" 0xFFFF by itself.
func UpdateChecksum(hc, old, new uint16) uint16 {
	s := uint32(^hc) + uint32(^old) + uint32(new)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return ^uint16(s)
}

// Patch16 writes v at b[at:at+2] and updates, incrementally, the checksum
// stored at b[csumAt:csumAt+2] that covers it. With csumAt < 0 only the word
// is written (a checksum forced by the caller stays as it was). It is how a
// sender varies a field packet after packet — an IP ID, a port, an ICMP
// sequence number — without building the packet again.
func Patch16(b []byte, at int, v uint16, csumAt int) {
	old := binary.BigEndian.Uint16(b[at:])
	binary.BigEndian.PutUint16(b[at:], v)
	if csumAt >= 0 {
		hc := binary.BigEndian.Uint16(b[csumAt:])
		binary.BigEndian.PutUint16(b[csumAt:], UpdateChecksum(hc, old, v))
	}
}

// Patch32 is Patch16 for a 32-bit field (a TCP sequence number), as two
// 16-bit words.
func Patch32(b []byte, at int, v uint32, csumAt int) {
	Patch16(b, at, uint16(v>>16), csumAt)
	Patch16(b, at+2, uint16(v), csumAt)
}
