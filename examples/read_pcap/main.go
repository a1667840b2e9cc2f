// Command read_pcap reads a capture file — one rawcraft wrote with --pcap, or
// one from tcpdump or Wireshark in the classic pcap format — and prints one
// line per packet: its number, its time from the first packet, its length
// and what craft decodes it to. It teaches the receiving side of the
// library: the pcap package yields records of raw bytes, the file's link
// type says whether they start with an Ethernet or an IPv4 header, and one
// reused craft.Decoded turns each record's bytes into layers.
//
//	go run ./examples/read_pcap capture.pcap
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/pcap"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: read_pcap FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "read_pcap:", err)
		os.Exit(2)
	}
	defer f.Close()
	if err := dump(f); err != nil {
		fmt.Fprintln(os.Stderr, "read_pcap:", err)
		os.Exit(1)
	}
}

func dump(f io.Reader) error {
	r, err := pcap.NewReader(f)
	if err != nil {
		return err
	}
	var d craft.Decoded // reused for every packet
	var t0 time.Time
	for n := 1; ; n++ {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch r.LinkType {
		case pcap.LinkEthernet:
			err = d.DecodeFrame(rec.Data)
		case pcap.LinkRaw:
			err = d.DecodeIP(rec.Data)
		default:
			return fmt.Errorf("link type %d: this example reads Ethernet (1) and raw IP (101) captures", r.LinkType)
		}
		if n == 1 {
			t0 = rec.Time
		}
		line := d.Summary()
		if err != nil {
			line += " (" + err.Error() + ")" // decoded as far as the bytes allow
		}
		fmt.Printf("%4d %10.6f %5d  %s\n", n, rec.Time.Sub(t0).Seconds(), rec.OrigLen, line)
	}
}
