// Command probe_port asks one TCP port the article's question — is a server
// running there? — with rawcraft's probe engine, and prints the answer: the
// port's state as nmap names it, the reply that says so, and the round trip.
//
//	sudo rawcraft lab up
//	sudo rawcraft lab exec hc -- go run ./examples/probe_port -dst 198.18.1.1 -port 9999
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/probe"
)

func main() {
	dst := flag.String("dst", "198.18.1.1", "the host to ask (the lab's server Hs)")
	port := flag.Uint("port", 9999, "the TCP port to ask")
	flag.Parse()
	addr, err := netip.ParseAddr(*dst)
	if err != nil || *port > 65535 {
		fmt.Fprintln(os.Stderr, "probe_port: -dst takes an IPv4 address, -port 0 to 65535")
		os.Exit(2)
	}
	// The question: a SYN, as a connect() would send it. The engine fills in
	// the source address, ports, sequence number and IP ID.
	rep, err := probe.Run(probe.Config{
		Proto:  craft.ProtoTCP,
		Dst:    addr,
		Ports:  []uint16{uint16(*port)},
		Packet: craft.Packet{IPv4: &craft.IPv4{}, TCP: &craft.TCP{Flags: craft.TCPSyn, Window: 64240}},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe_port:", err)
		os.Exit(1)
	}
	r := rep.Results[0]
	fmt.Println(r.Describe())
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}
