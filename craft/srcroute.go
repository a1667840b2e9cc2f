package craft

// IPv4 source routes and the transport pseudo-header.
//
// A Loose or Strict Source Route option (RFC 791 §3.1, types 131 and 137)
// lists the addresses a datagram is to visit. Its sender puts the first of
// them in the Destination Address field and the final destination last in
// the option; each listed node swaps the next address in. While the route
// has addresses left (its pointer is not past its length) the header
// therefore names the next hop, not the host whose TCP or UDP checks the
// checksum: the sender computed that over the final destination. Linux
// does so (tcp_v4_connect sends to opt.faddr, the route's first hop, while
// tcp_v4_send_check sums the socket's destination), and tcpdump and
// Wireshark verify it so.

// finalDst4 returns the destination the transport's pseudo-header uses: the
// last address of a source route option whose route has addresses left,
// else dst.
func finalDst4(opts []byte, dst [4]byte) [4]byte {
	for off := 0; off < len(opts); {
		o, next, err := NextOption(opts, off)
		if err != nil || o.Kind == IPOptEOL {
			break
		}
		if (o.Kind == IPOptLSRR || o.Kind == IPOptSSRR) && len(o.Data) >= 5 {
			ptr, n := int(o.Data[0]), (o.Len-3)/4 // the pointer counts from the option's first byte
			if n >= 1 && ptr >= 4 && ptr <= o.Len {
				last := 1 + 4*(n-1)
				return [4]byte(o.Data[last : last+4])
			}
		}
		off = next
	}
	return dst
}
