// Package craft builds and decodes the packets of the Internet's first
// layers, byte for byte: Ethernet II, ARP (RFC 826), IPv4 with options
// (RFC 791), UDP (RFC 768), TCP with options (RFC 9293, RFC 7323, RFC 2018)
// and ICMPv4 (RFC 792, RFC 1191) with the datagram an error quotes and its
// RFC 4884 extensions (MPLS label stacks, RFC 4950); IPv6 (RFC 8200) with
// extension headers, ICMPv6 (RFC 4443), NDP (RFC 4861) and MLD (RFC 2710,
// RFC 3810).
//
// [Explain] turns a decoded packet into fields — name, bit offset, width,
// value, meaning and the RFC section that defines the field — option by
// option, and [Diagram] draws a layer's fields as the RFCs draw headers, each
// at its bit offset and width.
//
// Every header field can be set to any value, including values that make the
// packet wrong. Fields that are derived from the rest of the packet (lengths,
// header lengths, checksums, the IPv4 protocol number, the EtherType) are
// wrapped in [Auto]: their zero value means "compute it", and [Set] forces a
// value that is then written exactly as given and never recomputed.
//
// Building appends to a caller's buffer and allocates nothing when the buffer
// has room ([Packet.Append]). Decoding ([Decoded.DecodeFrame],
// [Decoded.DecodeIP]) reads untrusted bytes into a reused [Decoded] value: it
// never panics, never reads past its input, and keeps "truncated" (the bytes
// stop before the headers say they should, as in the datagram quoted by an
// ICMP error) apart from "malformed" (the headers contradict themselves).
//
// The package is pure: no system calls, goroutines, clocks or randomness that
// the caller did not hand it.
package craft
