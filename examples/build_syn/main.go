// Command build_syn builds the first segment of a TCP handshake (a SYN, RFC
// 9293 §3.5) with the craft package and shows it three ways: the bytes in
// hex, the TCP header as the RFC draws it, and a table of every field with
// what its value means. It teaches how a packet is described as values —
// each layer a struct, the derived fields (lengths, checksums) left at zero
// for craft to compute — and turned into bytes. Nothing is sent.
//
//	go run ./examples/build_syn
//	go run ./examples/build_syn -dport 80 -mss 1400
package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/rawcraft/rawcraft/craft"
)

func main() {
	src := flag.String("src", "198.18.1.3", "source address (the lab's client Hc)")
	dst := flag.String("dst", "198.18.1.1", "destination address (the lab's server Hs)")
	sport := flag.Uint("sport", 40000, "source port")
	dport := flag.Uint("dport", 9999, "destination port")
	mss := flag.Uint("mss", 1460, "the maximum segment size this side can receive")
	flag.Parse()
	if *sport > 65535 || *dport > 65535 || *mss > 65535 {
		fmt.Fprintln(os.Stderr, "build_syn: ports and the MSS are 0 to 65535")
		os.Exit(2)
	}
	s, err1 := netip.ParseAddr(*src)
	d, err2 := netip.ParseAddr(*dst)
	if err1 != nil || err2 != nil || !s.Is4() || !d.Is4() {
		fmt.Fprintln(os.Stderr, "build_syn: -src and -dst are IPv4 addresses")
		os.Exit(2)
	}

	// The packet as values. Total length, IHL, protocol, data offset and
	// both checksums are left at zero: craft computes them.
	syn := craft.Packet{
		IPv4: &craft.IPv4{TTL: craft.Set(uint8(64)), ID: 1, Flags: craft.FlagDF, Src: s, Dst: d},
		TCP: &craft.TCP{SrcPort: uint16(*sport), DstPort: uint16(*dport), Seq: 1000, Flags: craft.TCPSyn, Window: 64240,
			Options: craft.AppendTCPOptMSS(nil, uint16(*mss))},
	}
	b, err := syn.Append(nil) // the values become bytes
	if err != nil {
		fmt.Fprintln(os.Stderr, "build_syn:", err)
		os.Exit(1)
	}
	fmt.Printf("%d bytes:\n%s\n", len(b), hex.Dump(b))

	// The bytes decoded back, and explained field by field.
	var dec craft.Decoded
	if err := dec.DecodeIP(b); err != nil {
		fmt.Fprintln(os.Stderr, "build_syn:", err)
		os.Exit(1)
	}
	fmt.Println(dec.Summary())
	fields := craft.Explain(&dec)
	fmt.Printf("\nTCP header\n%s\n", craft.Diagram(fields, "TCP"))
	for _, f := range fields {
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%-5s %-22s %-18s %s", f.Layer, f.Name, f.Text, f.Meaning)))
	}
}
