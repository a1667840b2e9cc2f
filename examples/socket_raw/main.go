//go:build linux

// Command socket_raw sends a TCP SYN through an AF_INET raw socket and reads
// the answer from it (raw(7)).
//
// With -proto raw (IPPROTO_RAW) the program hands the whole IP datagram
// (IP_HDRINCL is implied) and cannot receive on that socket. With -proto tcp
// (IPPROTO_TCP) it hands only the TCP header: the kernel writes the IPv4
// header — add -hdrincl to hand the datagram instead — and the socket
// receives a copy of every TCP segment that reaches the host, the RST that
// no ordinary socket sees included.
//
//	sudo rawcraft lab up
//	sudo rawcraft lab exec hc -- go run ./examples/socket_raw -proto tcp -dport 9998
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"golang.org/x/sys/unix"
)

func main() {
	dst := flag.String("dst", "198.18.1.1", "destination")
	src := flag.String("src", "198.18.1.3", "our address (the TCP checksum covers it)")
	dport := flag.Uint("dport", 9998, "destination port")
	proto := flag.String("proto", "tcp", "raw: IPPROTO_RAW; tcp: IPPROTO_TCP")
	hdrincl := flag.Bool("hdrincl", false, "with -proto tcp: set IP_HDRINCL and hand the whole datagram")
	flag.Parse()
	to := netip.MustParseAddr(*dst)
	p := craft.Packet{
		IPv4: &craft.IPv4{ID: 1, Src: netip.MustParseAddr(*src), Dst: to},
		TCP:  &craft.TCP{SrcPort: 40124, DstPort: uint16(*dport), Seq: 1000, Flags: craft.TCPSyn, Window: 64240},
	}
	datagram, err := p.Append(nil)
	check(err)

	number, handed := unix.IPPROTO_TCP, datagram[craft.IPv4HeaderLen:] // the TCP header alone
	if *proto == "raw" {
		number = unix.IPPROTO_RAW
	}
	// socket(AF_INET, SOCK_RAW, protocol): needs CAP_NET_RAW.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, number)
	check(err)
	defer unix.Close(fd)
	if *proto == "raw" || *hdrincl {
		handed = datagram
		check(unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_HDRINCL, 1)) // implied by IPPROTO_RAW
	}
	check(unix.Sendto(fd, handed, 0, &unix.SockaddrInet4{Addr: to.As4()}))
	fmt.Printf("handed %d bytes: % x\n", len(handed), handed)
	if *proto == "raw" {
		fmt.Println("an IPPROTO_RAW socket sends only: it receives nothing (raw(7))")
		return
	}
	// A raw IPPROTO_TCP socket receives whole IP datagrams, header included.
	check(unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100_000}))
	buf := make([]byte, 65536)
	var d craft.Decoded
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err == nil && d.DecodeIP(buf[:n]) == nil && d.TCP.DstPort == 40124 {
			fmt.Println("answer:", d.Summary())
			return
		}
	}
	fmt.Println("no answer")
	os.Exit(1)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "socket_raw:", err)
		os.Exit(1)
	}
}
