// Command udp_client is the transport-layer article's udp_client program in Go.
//
//	go run ./examples/udp_client -h
//
// In the lab: sudo rawcraft lab exec hc -- go run ./examples/udp_client -s 198.18.1.1
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rawcraft/rawcraft/internal/article"
)

func main() {
	o := article.Options{Out: os.Stdout}
	flag.StringVar(&o.Server, "s", "", "the server's address")
	flag.IntVar(&o.Port, "p", 9999, "the server's port")
	flag.IntVar(&o.Buffer, "b", 50, "message size in bytes")
	flag.IntVar(&o.Count, "c", 10, "messages to send (client)")
	flag.DurationVar(&o.Delay, "d", 5e9, "delay between messages (client)")
	flag.DurationVar(&o.ReadDelay, "r", 0, "delay before each read (server)")
	flag.Parse()
	if o.Server == "" {
		fmt.Fprintln(os.Stderr, "udp_client: give the server's address with -s")
		os.Exit(2)
	}
	if err := article.UDPClient(o); err != nil {
		fmt.Fprintln(os.Stderr, "udp_client:", err)
		os.Exit(1)
	}
}
