//go:build linux

// Command socket_packet sends a TCP SYN through an AF_PACKET socket and
// waits for the answer on the same socket (packet(7)).
//
// With SOCK_RAW the program hands the kernel the whole frame, Ethernet
// header included, and the kernel changes nothing. With -dgram (SOCK_DGRAM)
// it hands the IP datagram and the next hop's MAC in the address, and the
// kernel writes the Ethernet header. Either way the socket then sees every
// frame on the interface — the RST too.
//
//	sudo rawcraft lab up
//	sudo rawcraft lab exec hc -- go run ./examples/socket_packet -dport 9998
package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"golang.org/x/sys/unix"
)

func main() {
	iface := flag.String("iface", "eth0", "interface")
	dst := flag.String("dst", "198.18.1.1", "destination (on the same link)")
	dmac := flag.String("dst-mac", "02:00:00:00:01:01", "its MAC (the lab's Hs)")
	src := flag.String("src", "198.18.1.3", "our address")
	dport := flag.Uint("dport", 9998, "destination port")
	dgram := flag.Bool("dgram", false, "SOCK_DGRAM: hand the datagram, the kernel adds the link header")
	flag.Parse()
	ifi, err := net.InterfaceByName(*iface)
	check(err)
	mac, err := craft.ParseMAC(*dmac)
	check(err)
	p := craft.Packet{
		Ethernet: &craft.Ethernet{Src: craft.MAC(ifi.HardwareAddr), Dst: mac},
		IPv4:     &craft.IPv4{ID: 1, Src: netip.MustParseAddr(*src), Dst: netip.MustParseAddr(*dst)},
		TCP:      &craft.TCP{SrcPort: 40123, DstPort: uint16(*dport), Seq: 1000, Flags: craft.TCPSyn, Window: 64240},
	}
	frame, err := p.Append(nil)
	check(err)

	typ, handed := unix.SOCK_RAW, frame
	if *dgram {
		typ, handed = unix.SOCK_DGRAM, frame[craft.EthernetLen:]
	}
	// socket(AF_PACKET, SOCK_RAW or SOCK_DGRAM, htons(ETH_P_ALL)): every frame, both ways.
	fd, err := unix.Socket(unix.AF_PACKET, typ, int(htons(unix.ETH_P_ALL)))
	check(err)
	defer unix.Close(fd)
	addr := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: htons(unix.ETH_P_IP), Halen: 6}
	copy(addr.Addr[:], mac[:])
	check(unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: htons(unix.ETH_P_ALL)}))
	check(unix.Sendto(fd, handed, 0, addr))
	fmt.Printf("handed %d bytes: % x\n", len(handed), handed)

	// Read until the answer, for at most a second.
	check(unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100_000}))
	buf := make([]byte, 65536)
	var d craft.Decoded
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			continue
		}
		if *dgram {
			err = d.DecodeIP(buf[:n]) // no link header: SOCK_DGRAM strips it
		} else {
			err = d.DecodeFrame(buf[:n])
		}
		if err == nil && d.Has(craft.LayerTCP) && d.TCP.DstPort == 40123 {
			fmt.Println("answer:", d.Summary())
			return
		}
	}
	fmt.Println("no answer")
	os.Exit(1)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "socket_packet:", err)
		os.Exit(1)
	}
}
