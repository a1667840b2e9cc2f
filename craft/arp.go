package craft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ARP operation codes (RFC 826; IANA "arp-parameters").
const (
	ARPRequest uint16 = 1
	ARPReply   uint16 = 2
)

// ARPLen is the length of an ARP packet for Ethernet and IPv4.
const ARPLen = 28

// ARP is an Address Resolution Protocol packet for IPv4 over Ethernet
// (RFC 826, "Packet format"):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Hardware Type         |         Protocol Type         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    HW Len     |  Proto Len    |           Operation           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|        Sender hardware address (48 bits) …                    |
//	|   … | Sender protocol address | Target hardware address …     |
//	|   … | Target protocol address                                 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// rawcraft only speaks the Ethernet/IPv4 form: addresses are always 6 and 4
// bytes long on the wire, whatever HLen and PLen are forced to say.
type ARP struct {
	HType    Auto[uint16] // hardware type; 1 (Ethernet) unless forced
	PType    Auto[uint16] // protocol type; 0x0800 (IPv4) unless forced
	HLen     Auto[uint8]  // hardware address length; 6 unless forced
	PLen     Auto[uint8]  // protocol address length; 4 unless forced
	Op       uint16       // 1 request ("who has TargetIP?"), 2 reply ("SenderIP is at SenderMAC")
	SenderHW MAC
	SenderIP netip.Addr
	TargetHW MAC // zero in a request: it is what the sender asks for
	TargetIP netip.Addr
}

// Len returns ARPLen.
func (a *ARP) Len() int { return ARPLen }

// Encode writes the ARP packet into b[:28].
func (a *ARP) Encode(b []byte) error {
	if len(b) < ARPLen {
		return &FieldError{Layer: "ARP", Field: "buffer", Value: uint64(len(b)), Max: ARPLen, Err: ErrTruncated}
	}
	binary.BigEndian.PutUint16(b[0:], a.HType.Or(1))
	binary.BigEndian.PutUint16(b[2:], a.PType.Or(EtherTypeIPv4))
	b[4] = a.HLen.Or(6)
	b[5] = a.PLen.Or(4)
	binary.BigEndian.PutUint16(b[6:], a.Op)
	copy(b[8:14], a.SenderHW[:])
	s, t := as4(a.SenderIP), as4(a.TargetIP)
	copy(b[14:18], s[:])
	copy(b[18:24], a.TargetHW[:])
	copy(b[24:28], t[:])
	return nil
}

func (a *ARP) decode(b []byte, base int) error {
	if len(b) < ARPLen {
		return &ParseError{Layer: "ARP", Field: "packet", Offset: base, Err: ErrTruncated,
			Detail: fmt.Sprintf("%d bytes, an Ethernet/IPv4 ARP packet has 28", len(b))}
	}
	a.HType = Set(binary.BigEndian.Uint16(b[0:]))
	a.PType = Set(binary.BigEndian.Uint16(b[2:]))
	a.HLen = Set(b[4])
	a.PLen = Set(b[5])
	a.Op = binary.BigEndian.Uint16(b[6:])
	copy(a.SenderHW[:], b[8:14])
	a.SenderIP = netip.AddrFrom4([4]byte(b[14:18]))
	copy(a.TargetHW[:], b[18:24])
	a.TargetIP = netip.AddrFrom4([4]byte(b[24:28]))
	if b[4] != 6 || b[5] != 4 {
		return &ParseError{Layer: "ARP", Field: "HLen/PLen", Offset: base + 4, Err: ErrMalformed,
			Detail: fmt.Sprintf("lengths %d/%d; rawcraft reads only Ethernet/IPv4 ARP (6/4)", b[4], b[5])}
	}
	return nil
}
