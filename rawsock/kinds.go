package rawsock

import "fmt"

// SocketKind is one of the ways Linux takes a packet from a program, from
// the whole frame down to the data alone. Each hands the kernel a different
// part of the packet and lets it fill the rest (packet(7), raw(7), ip(7),
// udp(7), tcp(7), icmp(7)).
type SocketKind uint8

// Socket kinds.
const (
	// PacketRaw: AF_PACKET, SOCK_RAW — the whole frame, link header
	// included; nothing is changed.
	PacketRaw SocketKind = iota
	// PacketDgram: AF_PACKET, SOCK_DGRAM — the IP datagram; the kernel
	// writes the link header from the address given to sendto (packet(7):
	// "cooked packets").
	PacketDgram
	// InetRaw: AF_INET, SOCK_RAW, IPPROTO_RAW — the IP datagram, IP_HDRINCL
	// implied; the kernel fills the header checksum and total length
	// always, the identification and source when zero (raw(7)).
	InetRaw
	// InetRawProto: AF_INET, SOCK_RAW, IPPROTO_TCP, UDP or ICMP without
	// IP_HDRINCL — the transport header and data; the kernel writes the
	// whole IPv4 header, and leaves the transport checksum as given (raw(7):
	// only IPv6 raw sockets can have it computed).
	InetRawProto
	// InetRawProtoHdrIncl: the same socket with IP_HDRINCL set — the IP
	// datagram, as InetRaw.
	InetRawProtoHdrIncl
	// Stream: AF_INET, SOCK_STREAM — connect() alone; the kernel builds the
	// whole SYN, with options of its choosing (tcp(7)).
	Stream
	// Dgram: AF_INET, SOCK_DGRAM — the data (UDP), or the ICMP echo header
	// and data through a "ping socket" (IPPROTO_ICMP, icmp(7)), whose
	// identifier and checksum the kernel rewrites.
	Dgram
)

var kindNames = [...]string{
	PacketRaw:           "AF_PACKET SOCK_RAW",
	PacketDgram:         "AF_PACKET SOCK_DGRAM",
	InetRaw:             "AF_INET SOCK_RAW IPPROTO_RAW",
	InetRawProto:        "AF_INET SOCK_RAW IPPROTO_<proto>",
	InetRawProtoHdrIncl: "AF_INET SOCK_RAW IPPROTO_<proto> + IP_HDRINCL",
	Stream:              "AF_INET SOCK_STREAM",
	Dgram:               "AF_INET SOCK_DGRAM",
}

func (k SocketKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Hands says which part of the packet a socket of kind k is given.
func (k SocketKind) Hands() string {
	switch k {
	case PacketRaw:
		return "the whole frame"
	case PacketDgram, InetRaw, InetRawProtoHdrIncl:
		return "the IP datagram"
	case InetRawProto:
		return "the transport header and data"
	case Stream:
		return "nothing: connect() asks the kernel to open"
	case Dgram:
		return "the data (UDP) or the echo header and data (ICMP)"
	}
	return ""
}
