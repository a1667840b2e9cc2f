package craft

import (
	"encoding/binary"
	"fmt"
)

// EtherTypes (IEEE 802.3, the IANA "ieee-802-numbers" registry).
const (
	EtherTypeIPv4 uint16 = 0x0800
	EtherTypeARP  uint16 = 0x0806
	// EtherTypeVLAN is the TPID of an IEEE 802.1Q customer tag (C-tag).
	EtherTypeVLAN uint16 = 0x8100
	// EtherTypeQinQ is the TPID of an IEEE 802.1ad service tag (S-tag),
	// the outer tag of a QinQ frame.
	EtherTypeQinQ uint16 = 0x88a8
	// EtherTypeQinQOld is the pre-standard outer-tag TPID many switches
	// still send (0x9100); decoded as a tag like 0x88a8.
	EtherTypeQinQOld uint16 = 0x9100
)

// VLANTagLen is the length of one IEEE 802.1Q tag: TPID and TCI.
const VLANTagLen = 4

// MaxVLANTags is how many stacked tags the decoder reads (QinQ: two). A
// frame with more keeps the rest undecoded in Payload.
const MaxVLANTags = 2

// VLAN is one IEEE 802.1Q tag (IEEE 802.1Q-2018 §9.6), inserted between the
// source address and the EtherType:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|      TPID (0x8100/0x88a8)     | PCP |D|         VID           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type VLAN struct {
	// TPID says a tag follows: 0x8100 (802.1Q) or 0x88a8 (802.1ad outer
	// tag). 0 is written as 0x8100.
	TPID uint16
	PCP  uint8  // priority code point, 3 bits (0..7)
	DEI  bool   // drop eligible indicator
	ID   uint16 // VLAN identifier, 12 bits: 1..4094; 0 tags priority only, 4095 is reserved
}

func (v VLAN) tci() (uint16, error) {
	switch {
	case v.PCP > 7:
		return 0, rangeErr("802.1Q", "PCP", uint64(v.PCP), 7)
	case v.ID > 0xfff:
		return 0, rangeErr("802.1Q", "VLAN ID", uint64(v.ID), 0xfff)
	}
	t := uint16(v.PCP)<<13 | v.ID
	if v.DEI {
		t |= 1 << 12
	}
	return t, nil
}

func isTPID(t uint16) bool {
	return t == EtherTypeVLAN || t == EtherTypeQinQ || t == EtherTypeQinQOld
}

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
	// VLANs are the 802.1Q tags, outermost first: one for a tagged frame,
	// two for QinQ (802.1ad). Decoded frames hold a view valid until the
	// next decode.
	VLANs []VLAN
	// Type names the payload: 0x0800 IPv4, 0x0806 ARP. Leave it unset to
	// let rawcraft take it from the next layer.
	Type Auto[uint16]
}

// Len returns the header length: 14 (EthernetLen) plus 4 per VLAN tag.
func (e *Ethernet) Len() int { return EthernetLen + VLANTagLen*len(e.VLANs) }

// Encode writes the header into b[:e.Len()]; what follows in b is the
// payload. next is the EtherType used when Type is not forced. A tag whose
// PCP or ID does not fit its bits is an error wrapping ErrRange.
func (e *Ethernet) Encode(b []byte, next uint16) error {
	n := e.Len()
	if len(b) < n {
		return &FieldError{Layer: "Ethernet", Field: "buffer", Value: uint64(len(b)), Max: uint64(n), Err: ErrTruncated}
	}
	copy(b[0:6], e.Dst[:])
	copy(b[6:12], e.Src[:])
	at := 12
	for _, v := range e.VLANs {
		tci, err := v.tci()
		if err != nil {
			return err
		}
		tpid := v.TPID
		if tpid == 0 {
			tpid = EtherTypeVLAN
		}
		binary.BigEndian.PutUint16(b[at:], tpid)
		binary.BigEndian.PutUint16(b[at+2:], tci)
		at += VLANTagLen
	}
	binary.BigEndian.PutUint16(b[at:at+2], e.Type.Or(next))
	return nil
}

// decode reads the header and up to len(tags) VLAN tags into tags (storage
// the caller owns, so that decoding allocates nothing), and returns the
// header length.
func (e *Ethernet) decode(b []byte, tags []VLAN) (int, error) {
	e.VLANs = tags[:0]
	if len(b) < EthernetLen {
		return 0, &ParseError{Layer: "Ethernet", Field: "header", Offset: 0, Err: ErrTruncated,
			Detail: fmt.Sprintf("%s, an Ethernet II header has 14", Units(len(b), "byte"))}
	}
	copy(e.Dst[:], b[0:6])
	copy(e.Src[:], b[6:12])
	at := 12
	t := binary.BigEndian.Uint16(b[at:])
	for isTPID(t) && len(e.VLANs) < cap(tags) {
		if len(b) < at+VLANTagLen+2 {
			e.Type = Set(t)
			return at + 2, &ParseError{Layer: "802.1Q", Field: "tag", Offset: at, Err: ErrTruncated,
				Detail: fmt.Sprintf("TPID 0x%04x announces a 4-byte tag and an EtherType; %d bytes present", t, len(b)-at)}
		}
		tci := binary.BigEndian.Uint16(b[at+2:])
		e.VLANs = append(e.VLANs, VLAN{TPID: t, PCP: uint8(tci >> 13), DEI: tci&(1<<12) != 0, ID: tci & 0xfff})
		at += VLANTagLen
		t = binary.BigEndian.Uint16(b[at:])
	}
	e.Type = Set(t)
	return at + 2, nil
}
