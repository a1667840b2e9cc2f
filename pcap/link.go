package pcap

import (
	"encoding/binary"
	"fmt"
)

// More link types (the LINKTYPE_ registry, https://www.tcpdump.org/linktypes.html).
const (
	LinkNull     uint32 = 0   // BSD loopback: a 4-byte address family in the capturing host's byte order
	LinkRawOld   uint32 = 12  // raw IP on some BSDs (DLT_RAW's old value)
	LinkRawAlt   uint32 = 14  // raw IP on others
	LinkLoop     uint32 = 108 // OpenBSD loopback: the address family in network byte order
	LinkLinuxSLL uint32 = 113 // Linux cooked capture v1 (tcpdump -i any before libpcap 1.10)
	LinkIPv4     uint32 = 228 // raw IPv4 only
	LinkIPv6     uint32 = 229 // raw IPv6 only
	LinkSLL2     uint32 = 276 // Linux cooked capture v2 (tcpdump -i any)
)

var linkNames = map[uint32]string{
	0: "NULL (BSD loopback)", 1: "ETHERNET", 6: "IEEE802_5", 9: "PPP", 10: "FDDI", 12: "RAW (old)", 14: "RAW (BSD)",
	50: "PPP_HDLC", 51: "PPP_ETHER", 101: "RAW", 104: "C_HDLC", 105: "IEEE802_11", 107: "FRELAY", 108: "LOOP",
	113: "LINUX_SLL", 117: "PFLOG", 119: "IEEE802_11_PRISM", 122: "IP_OVER_FC", 127: "IEEE802_11_RADIOTAP",
	138: "APPLE_IP_OVER_IEEE1394", 139: "MTP2_WITH_PHDR", 143: "DOCSIS", 147: "USER0", 163: "IEEE802_11_AVS",
	165: "BACNET_MS_TP", 166: "PPP_PPPD", 169: "GPRS_LLC", 177: "LINUX_LAPD", 187: "BLUETOOTH_HCI_H4",
	189: "USB_LINUX", 192: "PPI", 195: "IEEE802_15_4_WITHFCS", 201: "BLUETOOTH_HCI_H4_WITH_PHDR", 215: "IEEE802_15_4_NONASK_PHY",
	220: "USB_LINUX_MMAPPED", 228: "IPV4", 229: "IPV6", 230: "IEEE802_15_4_NOFCS", 235: "DVB_CI", 239: "NFLOG",
	240: "NETANALYZER", 248: "SCTP", 249: "USBPCAP", 251: "BLUETOOTH_LE_LL", 252: "WIRESHARK_UPPER_PDU",
	254: "BLUETOOTH_LINUX_MONITOR", 256: "BLUETOOTH_LE_LL_WITH_PHDR", 263: "VSOCK", 266: "NORDIC_BLE",
	272: "EBHSCR", 274: "ZBOSS_NCP", 275: "USB_2_0", 276: "LINUX_SLL2", 279: "ETW", 283: "AUERSWALD_LOG",
}

// LinkName names link type t as the LINKTYPE_ registry does, with its
// number: "ETHERNET (1)", "IEEE802_11_RADIOTAP (127)", "link type 9999".
func LinkName(t uint32) string {
	if n, ok := linkNames[t]; ok {
		return fmt.Sprintf("%s (%d)", n, t)
	}
	return fmt.Sprintf("link type %d", t)
}

// LinkTypeWords is LinkName after the words "link type", said once:
// "link type ETHERNET (1)", "link type 9999".
func LinkTypeWords(t uint32) string {
	if _, ok := linkNames[t]; ok {
		return "link type " + LinkName(t)
	}
	return LinkName(t)
}

// EtherTypes a link header may name.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeVLAN = 0x8100
	EtherTypeQinQ = 0x88a8
	EtherTypeIPv6 = 0x86dd
)

// Link is what a link-layer header says about the packet after it.
type Link struct {
	// Len is the number of bytes of link header (VLAN tags of a cooked
	// header included) before the network layer.
	Len int
	// EtherType of the network layer (EtherTypeIPv4, EtherTypeARP, …); 0
	// when the header does not say.
	EtherType uint16
	// Direction from a cooked header's packet type (4: sent by us).
	Direction Direction
	// PacketType of a Linux cooked header: 0 to us, 1 broadcast, 2
	// multicast, 3 to another host, 4 sent by us (PACKET_HOST…OUTGOING).
	PacketType int
	// VLANs holds the VLAN IDs of 802.1Q tags a cooked header carries.
	VLANs []uint16
}

// Decodable reports whether rawcraft decodes the packets of link type t:
// Ethernet (with 802.1Q tags), raw IP, Linux cooked (SLL, SLL2), and BSD or
// OpenBSD loopback.
func Decodable(t uint32) bool {
	switch t {
	case LinkEthernet, LinkRaw, LinkRawOld, LinkRawAlt, LinkIPv4, LinkIPv6, LinkNull, LinkLoop, LinkLinuxSLL, LinkSLL2:
		return true
	}
	return false
}

// ParseLink reads the link-layer header of a packet of link type t (one
// that is not Ethernet, which craft decodes whole) and says where the
// network layer starts and what it is. Errors name the link type and the
// bytes missing; a link type rawcraft does not decode is an error naming it.
func ParseLink(t uint32, b []byte) (Link, error) {
	short := func(need int) error {
		return fmt.Errorf("%s header needs %d bytes, the packet has %d", LinkName(t), need, len(b))
	}
	var l Link
	switch t {
	case LinkRaw, LinkRawOld, LinkRawAlt, LinkIPv4, LinkIPv6:
		if len(b) > 0 && b[0]>>4 == 6 {
			l.EtherType = EtherTypeIPv6
		} else {
			l.EtherType = EtherTypeIPv4
		}
		return l, nil
	case LinkNull, LinkLoop:
		if len(b) < 4 {
			return l, short(4)
		}
		af := binary.BigEndian.Uint32(b)
		if t == LinkNull && af > 0xffff {
			af = binary.LittleEndian.Uint32(b) // written in the capturing host's order
		}
		l.Len = 4
		switch af {
		case 2:
			l.EtherType = EtherTypeIPv4
		case 10, 24, 28, 30:
			l.EtherType = EtherTypeIPv6
		}
		return l, nil
	case LinkLinuxSLL:
		// packet type(2) ARPHRD(2) address length(2) address(8) protocol(2)
		if len(b) < 16 {
			return l, short(16)
		}
		l.PacketType = int(binary.BigEndian.Uint16(b))
		l.EtherType = binary.BigEndian.Uint16(b[14:])
		l.Len = 16
	case LinkSLL2:
		// protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) address length(1) address(8)
		if len(b) < 20 {
			return l, short(20)
		}
		l.EtherType = binary.BigEndian.Uint16(b)
		l.PacketType = int(b[10])
		l.Len = 20
	default:
		return l, fmt.Errorf("%s is not decoded: rawcraft reads Ethernet, raw IP, Linux cooked (SLL, SLL2) and loopback captures", LinkName(t))
	}
	if l.PacketType == 4 {
		l.Direction = DirOutbound
	} else if l.PacketType <= 3 {
		l.Direction = DirInbound
	}
	// A cooked header keeps 802.1Q tags in the data when the kernel did
	// not strip them (up to two, as craft's Ethernet decoder).
	for i := 0; i < 2 && (l.EtherType == EtherTypeVLAN || l.EtherType == EtherTypeQinQ); i++ {
		if len(b) < l.Len+4 {
			return l, short(l.Len + 4)
		}
		l.VLANs = append(l.VLANs, binary.BigEndian.Uint16(b[l.Len:])&0x0fff)
		l.EtherType = binary.BigEndian.Uint16(b[l.Len+2:])
		l.Len += 4
	}
	return l, nil
}
