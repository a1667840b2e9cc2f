// Package rawsock sends craft's bytes through Linux raw sockets — AF_PACKET
// for whole Ethernet frames, raw IPv4 with IP_HDRINCL for datagrams — and
// finds the interface, source address and next-hop MAC a frame needs.
package rawsock
