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

// ARPLen is the length of an ARP packet for Ethernet and IPv4 (HLen 6,
// PLen 4).
const ARPLen = 28

// ARPFixedLen is the length of ARP's fixed header, before the addresses.
const ARPFixedLen = 8

// ARP is an Address Resolution Protocol packet (RFC 826, "Packet format"),
// drawn here for Ethernet and IPv4 (HLen 6, PLen 4):
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
// Each address is as long as HLen (hardware) or PLen (protocol) says, so
// the packet is 8 + 2×HLen + 2×PLen bytes. Encoding writes SenderHW and
// TargetHW zero-padded or cut to HLen bytes, SenderIP and TargetIP (4 bytes
// for IPv4, 16 for IPv6) zero-padded or cut to PLen bytes. Decoding keeps
// the four addresses as they are in Addrs, and fills SenderHW/TargetHW when
// HLen is 6 and SenderIP/TargetIP when PLen is 4 and the protocol type is
// IPv4 (or 16 and IPv6).
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
	// Addrs holds, once decoded, the sender hardware, sender protocol,
	// target hardware and target protocol addresses as the packet carries
	// them (views of the input); ignored when encoding.
	Addrs [4][]byte
}

// Len returns the packet's length: 8 + 2×HLen + 2×PLen bytes.
func (a *ARP) Len() int { return ARPFixedLen + 2*int(a.HLen.Or(6)) + 2*int(a.PLen.Or(4)) }

// Encode writes the ARP packet into b[:a.Len()].
func (a *ARP) Encode(b []byte) error {
	n := a.Len()
	if len(b) < n {
		return &FieldError{Layer: "ARP", Field: "buffer", Value: uint64(len(b)), Max: uint64(n), Err: ErrTruncated}
	}
	hl, pl := int(a.HLen.Or(6)), int(a.PLen.Or(4))
	binary.BigEndian.PutUint16(b[0:], a.HType.Or(1))
	binary.BigEndian.PutUint16(b[2:], a.PType.Or(EtherTypeIPv4))
	b[4] = uint8(hl)
	b[5] = uint8(pl)
	binary.BigEndian.PutUint16(b[6:], a.Op)
	off := ARPFixedLen
	put := func(v []byte, l int) {
		clear(b[off : off+l])
		copy(b[off:off+l], v)
		off += l
	}
	s, t := arpProto(a.SenderIP), arpProto(a.TargetIP)
	put(a.SenderHW[:], hl)
	put(s[:arpProtoLen(a.SenderIP)], pl)
	put(a.TargetHW[:], hl)
	put(t[:arpProtoLen(a.TargetIP)], pl)
	return nil
}

// arpProto is an address's bytes: 4 for IPv4, 16 for IPv6, none when unset.
func arpProto(ip netip.Addr) [16]byte {
	if ip.Is4() {
		v := ip.As4()
		var b [16]byte
		copy(b[:], v[:])
		return b
	}
	return ip.As16()
}

func arpProtoLen(ip netip.Addr) int {
	switch {
	case ip.Is4():
		return 4
	case ip.IsValid():
		return 16
	}
	return 0
}

// IsEthernetIPv4 says whether the packet is the common form: Ethernet
// hardware addresses (6 bytes) and IPv4 protocol addresses (4 bytes).
func (a *ARP) IsEthernetIPv4() bool {
	return a.HLen.Or(6) == 6 && a.PLen.Or(4) == 4 && a.PType.Or(EtherTypeIPv4) == EtherTypeIPv4
}

// decode reads an ARP packet of any address lengths (RFC 826): the
// addresses are as long as HLen and PLen say.
func (a *ARP) decode(b []byte, base int) error {
	*a = ARP{}
	if len(b) < ARPFixedLen {
		return &ParseError{Layer: "ARP", Field: "packet", Offset: base, Err: ErrTruncated,
			Detail: fmt.Sprintf("%s, the fixed header has 8", Units(len(b), "byte"))}
	}
	a.HType = Set(binary.BigEndian.Uint16(b[0:]))
	a.PType = Set(binary.BigEndian.Uint16(b[2:]))
	a.HLen = Set(b[4])
	a.PLen = Set(b[5])
	a.Op = binary.BigEndian.Uint16(b[6:])
	hl, pl := int(b[4]), int(b[5])
	if n := a.Len(); len(b) < n {
		return &ParseError{Layer: "ARP", Field: "addresses", Offset: base + ARPFixedLen, Err: ErrTruncated,
			Detail: fmt.Sprintf("%s; hardware length %d and protocol length %d make a packet of %d", Units(len(b), "byte"), hl, pl, n)}
	}
	off := ARPFixedLen
	for i, l := range [4]int{hl, pl, hl, pl} {
		a.Addrs[i] = b[off : off+l : off+l]
		off += l
	}
	if hl == 6 {
		copy(a.SenderHW[:], a.Addrs[0])
		copy(a.TargetHW[:], a.Addrs[2])
	}
	switch pt := a.PType.Or(0); {
	case pl == 4 && pt == EtherTypeIPv4:
		a.SenderIP = netip.AddrFrom4([4]byte(a.Addrs[1]))
		a.TargetIP = netip.AddrFrom4([4]byte(a.Addrs[3]))
	case pl == 16 && pt == EtherTypeIPv6:
		a.SenderIP = netip.AddrFrom16([16]byte(a.Addrs[1]))
		a.TargetIP = netip.AddrFrom16([16]byte(a.Addrs[3]))
	}
	return nil
}
