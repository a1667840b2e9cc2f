//go:build linux

// Command socket_ping sends an echo request through an ICMP datagram socket
// — a "ping socket", socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) — which needs
// no privilege at all: only the caller's group within
// net.ipv4.ping_group_range (icmp(7)). The program hands the echo header and
// data; the kernel writes the IP header, puts the socket's port in the
// identifier, computes the checksum, and delivers to this socket only the
// replies that carry its identifier.
//
//	sudo rawcraft lab up
//	sudo rawcraft lab exec hc -- sysctl -w net.ipv4.ping_group_range="0 2147483647"
//	sudo rawcraft lab exec hc -- go run ./examples/socket_ping
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"

	"github.com/rawcraft/rawcraft/craft"
	"golang.org/x/sys/unix"
)

func main() {
	dst := flag.String("dst", "198.18.1.1", "destination")
	flag.Parse()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP)
	if err != nil {
		fmt.Fprintln(os.Stderr, "socket_ping:", err, "(is your group in net.ipv4.ping_group_range?)")
		os.Exit(1)
	}
	defer unix.Close(fd)
	// Type 8, code 0, checksum and identifier 0 (the kernel's), sequence 1, "Hello".
	echo := []byte{craft.ICMPEcho, 0, 0, 0, 0, 0, 0, 1, 'H', 'e', 'l', 'l', 'o'}
	to := netip.MustParseAddr(*dst)
	check(unix.Sendto(fd, echo, 0, &unix.SockaddrInet4{Addr: to.As4()}))
	sa, err := unix.Getsockname(fd)
	check(err)
	fmt.Printf("handed % x; the kernel uses identifier %d, the socket's port\n", echo, sa.(*unix.SockaddrInet4).Port)
	check(unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 1}))
	buf := make([]byte, 1500)
	n, _, err := unix.Recvfrom(fd, buf, 0) // the ICMP message alone, no IP header
	check(err)
	fmt.Printf("answer: type %d (echo reply), identifier %d, sequence %d, %q\n", buf[0], int(buf[4])<<8|int(buf[5]), int(buf[6])<<8|int(buf[7]), buf[8:n])
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "socket_ping:", err)
		os.Exit(1)
	}
}
