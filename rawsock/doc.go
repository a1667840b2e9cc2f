// Package rawsock sends craft's bytes through Linux raw sockets — AF_PACKET
// for whole Ethernet frames, raw IPv4 with IP_HDRINCL and raw IPv6 with
// IPPROTO_RAW for datagrams — and finds the interface, source address and
// next-hop MAC a frame needs (routes, the neighbour table, ARP and NDP).
//
// Three AF_PACKET shapes, each for its job:
//   - Conn: one frame at a time, both ways, with deadlines (Go's network
//     poller), kernel timestamps and PACKET_AUXDATA: probes, hand-driven
//     TCP, ARP.
//   - Conn with Config.Ring: a PACKET_RX_RING (TPACKET_V3) capture that
//     keeps up with a flood, one wakeup per block.
//   - Sender: floods, through sendmmsg(2) or a TxRing, from a blocking
//     socket kept out of the poller (see Sender for why that matters).
package rawsock
