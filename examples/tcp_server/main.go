// Command tcp_server is the transport-layer article's tcp_server program in Go.
//
//	go run ./examples/tcp_server -h
//
// In the lab: sudo rawcraft lab exec hs -- go run ./examples/tcp_server -s 198.18.1.1
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rawcraft/rawcraft/internal/article"
)

func main() {
	o := article.Options{Out: os.Stdout}
	flag.StringVar(&o.Server, "s", "0.0.0.0", "the server's address")
	flag.IntVar(&o.Port, "p", 9999, "the server's port")
	flag.IntVar(&o.Buffer, "b", 20, "bytes read at a time")
	flag.IntVar(&o.Count, "c", 10, "messages to send (client)")
	flag.DurationVar(&o.Delay, "d", 5e9, "delay between messages (client)")
	flag.DurationVar(&o.ReadDelay, "r", 0, "delay before each read (server)")
	flag.Parse()
	if o.Server == "" {
		fmt.Fprintln(os.Stderr, "tcp_server: give the server's address with -s")
		os.Exit(2)
	}
	if err := article.TCPServer(o); err != nil {
		fmt.Fprintln(os.Stderr, "tcp_server:", err)
		os.Exit(1)
	}
}
