package craft

import (
	"encoding/binary"
	"fmt"
)

// EtherTypes (IEEE 802.3, the IANA "ieee-802-numbers" registry).
const (
	EtherTypeIPv4 uint16 = 0x0800
	EtherTypeARP  uint16 = 0x0806
)

// EthernetLen is the length of an Ethernet II header: destination, source,
// EtherType. The frame check sequence is added and removed by the NIC and is
// never seen by rawcraft.
const EthernetLen = 14

// MinFrameLen is the shortest Ethernet frame without its 4-byte FCS (IEEE
// 802.3 §3.2.8: 64 bytes with the FCS). Shorter frames must be padded; the
// pad follows the IP datagram and is not counted in its total length.
const MinFrameLen = 60

// MAC is an IEEE 802 48-bit hardware address.
type MAC [6]byte

// Broadcast is ff:ff:ff:ff:ff:ff, the address of an ARP request.
var Broadcast = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// String formats m as six colon-separated lower-case hex pairs.
func (m MAC) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// ParseMAC parses six hex pairs separated by colons or hyphens.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	if len(s) != 17 {
		return m, fmt.Errorf("MAC address %q: want six hex pairs like 02:00:5e:00:01:03", s)
	}
	for i := 0; i < 6; i++ {
		if i > 0 && s[3*i-1] != ':' && s[3*i-1] != '-' {
			return m, fmt.Errorf("MAC address %q: pairs are separated by ':' or '-'", s)
		}
		hi, ok1 := unhex(s[3*i])
		lo, ok2 := unhex(s[3*i+1])
		if !ok1 || !ok2 {
			return m, fmt.Errorf("MAC address %q: %q is not a hex pair", s, s[3*i:3*i+2])
		}
		m[i] = hi<<4 | lo
	}
	return m, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Ethernet is an Ethernet II header (IEEE 802.3 §3.2, "Ethernet II"/DIX framing):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination MAC (48 bits)                  |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                      Source MAC (48 bits)                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           EtherType           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Ethernet struct {
	Dst MAC // where the frame goes; ff:ff:ff:ff:ff:ff reaches every host of the segment
	Src MAC // the sending interface
	// Type names the payload: 0x0800 IPv4, 0x0806 ARP. Leave it unset to
	// let rawcraft take it from the next layer.
	Type Auto[uint16]
}

// Len returns EthernetLen.
func (e *Ethernet) Len() int { return EthernetLen }

// Encode writes the header into b[:14]; what follows in b is the payload.
// next is the EtherType used when Type is not forced.
func (e *Ethernet) Encode(b []byte, next uint16) error {
	if len(b) < EthernetLen {
		return &FieldError{Layer: "Ethernet", Field: "buffer", Value: uint64(len(b)), Max: EthernetLen, Err: ErrTruncated}
	}
	copy(b[0:6], e.Dst[:])
	copy(b[6:12], e.Src[:])
	binary.BigEndian.PutUint16(b[12:14], e.Type.Or(next))
	return nil
}

func (e *Ethernet) decode(b []byte) error {
	if len(b) < EthernetLen {
		return &ParseError{Layer: "Ethernet", Field: "header", Offset: 0, Err: ErrTruncated,
			Detail: fmt.Sprintf("%d bytes, an Ethernet II header has 14", len(b))}
	}
	copy(e.Dst[:], b[0:6])
	copy(e.Src[:], b[6:12])
	e.Type = Set(binary.BigEndian.Uint16(b[12:14]))
	return nil
}
