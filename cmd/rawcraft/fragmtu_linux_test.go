package main

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/rawsock"
	"golang.org/x/sys/unix"
)

// piece is one packet of a datagram on the wire: its fragment offset in
// 8-byte units, its data length after the per-fragment headers, its More
// Fragments flag, and whether it was a fragment at all (IPv4: offset or MF
// set; IPv6: a Fragment header).
type piece struct {
	off  uint16
	n    int
	mf   bool
	frag bool
}

// Linux is the oracle of the fragmentation plan: R sends UDP datagrams of
// MTU−1, MTU, MTU+1 and 3000 bytes through an ordinary socket over its
// 1280-byte link to Hf (IP_PMTUDISC_DONT, so that the kernel fragments
// rather than refuse), Hf captures what arrives, and craft's plan for the
// same datagram with --mtu 1280 is the same packets: one whole datagram
// up to the MTU, with no Fragment header over IPv6 (RFC 791 §2.3, RFC 8200
// §5), and past it fragments of the same offsets, lengths and flags. The
// CLI says the same: build --mtu gives as many packets.
func TestMTUFragmentsAgreeWithLinux(t *testing.T) {
	const mtu = 1280
	l := lab.ForTest(t, lab.Config{Routed: true, FarMTU: mtu})
	for _, v6 := range []bool{false, true} {
		dst, src, hdr := lab.AddrHf, lab.AddrR2, craft.IPv4HeaderLen
		etherType := uint16(craft.EtherTypeIPv4)
		if v6 {
			dst, src, hdr, etherType = lab.Addr6Hf, lab.Addr6R2, craft.IPv6HeaderLen, craft.EtherTypeIPv6
		}
		atHf := sniff(t, l, lab.Hf, etherType)
		for _, total := range []int{mtu - 1, mtu, mtu + 1, 3000} {
			payload := total - hdr - craft.UDPHeaderLen
			kernel := kernelPieces(t, l, atHf, src, dst, payload)
			ours := craftPieces(t, src, dst, payload, mtu)
			if fmt.Sprint(kernel) != fmt.Sprint(ours) {
				t.Errorf("%v, %d-byte datagram over MTU %d: Linux sent %v, craft plans %v", dst, total, mtu, kernel, ours)
			}
			out, _, _ := runCLI(t, "build", "udp", "--src", src.String(), "--dst", dst.String(), "--size", fmt.Sprint(payload), "--mtu", fmt.Sprint(mtu), "--hex")
			if n := strings.Count(strings.TrimSpace(out), "\n") + 1; n != len(kernel) {
				t.Errorf("%v, %d-byte datagram: build --mtu %d gives %d packets, Linux sent %d", dst, total, mtu, n, len(kernel))
			}
		}
	}
}

// kernelPieces sends a UDP datagram of payload bytes from R to dst through
// a socket and returns the packets of it Hf captured, in order.
func kernelPieces(t *testing.T, l *lab.Lab, atHf *rawsock.Conn, src, dst netip.Addr, payload int) []piece {
	t.Helper()
	err := l.Do(lab.R, func() error {
		family, level, opt, dont := unix.AF_INET, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT
		var sa unix.Sockaddr
		if dst.Is6() {
			family, level, opt, dont = unix.AF_INET6, unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DONT
			sa = &unix.SockaddrInet6{Port: 9, Addr: dst.As16()}
		} else {
			sa = &unix.SockaddrInet4{Port: 9, Addr: dst.As4()}
		}
		fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.SetsockoptInt(fd, level, opt, dont); err != nil {
			return err
		}
		return unix.Sendto(fd, make([]byte, payload), 0, sa)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []piece
	buf := make([]byte, 2048)
	deadline := time.Now().Add(2 * time.Second)
	d := craft.Decoded{AcceptIPv6: true}
	for time.Now().Before(deadline) {
		_ = atHf.SetReadDeadline(deadline)
		n, err := atHf.Recv(buf)
		if err != nil {
			break
		}
		_ = d.DecodeFrame(buf[:n])
		p, ok := pieceOf(&d.Datagram, src, dst)
		if !ok {
			continue
		}
		got = append(got, p)
		if !p.mf {
			break
		}
	}
	return got
}

// craftPieces is the same datagram planned by craft with MTU mtu.
func craftPieces(t *testing.T, src, dst netip.Addr, payload, mtu int) []piece {
	t.Helper()
	p := craft.Packet{UDP: &craft.UDP{SrcPort: 40000, DstPort: 9}, Payload: make([]byte, payload)}
	if dst.Is6() {
		p.IPv6 = &craft.IPv6{Src: src, Dst: dst}
	} else {
		p.IPv4 = &craft.IPv4{ID: 7, Src: src, Dst: dst}
	}
	dg, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	var frags []craft.Fragment
	if dst.Is6() {
		_, frags, err = craft.Fragments6(nil, nil, dg, craft.FragOptions6{FragOptions: craft.FragOptions{MTU: mtu}, ID: 7})
	} else {
		_, frags, err = craft.Fragments(nil, nil, dg, craft.FragOptions{MTU: mtu})
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []piece
	d := craft.Decoded{AcceptIPv6: true}
	for _, f := range frags {
		if len(f.Bytes) > mtu {
			t.Errorf("craft's packet of %d bytes exceeds MTU %d", len(f.Bytes), mtu)
		}
		if err := d.DecodeIP(f.Bytes); err != nil {
			t.Fatal(err)
		}
		pc, _ := pieceOf(&d.Datagram, src, dst)
		out = append(out, pc)
	}
	return out
}

// pieceOf reads a packet of a datagram from src to dst; ok is false for
// anything else.
func pieceOf(g *craft.Datagram, src, dst netip.Addr) (p piece, ok bool) {
	switch {
	case g.Layers&craft.LayerIPv6 != 0 && g.IPv6.Src == src && g.IPv6.Dst == dst:
		pl, _ := g.IPv6.PayloadLen.Get()
		p.n = int(pl)
		if f := g.FragExt(); f != nil {
			p = piece{off: f.FragOffset(), n: int(pl) - 8, mf: f.More(), frag: true}
		}
		return p, true
	case g.Layers&craft.LayerIPv4 != 0 && g.IPv4.Src == src && g.IPv4.Dst == dst && g.IPv4.Protocol.Or(0) == craft.ProtoUDP:
		tl, _ := g.IPv4.TotalLen.Get()
		mf := g.IPv4.Flags&craft.FlagMF != 0
		return piece{off: g.IPv4.FragOff, n: int(tl) - craft.IPv4HeaderLen, mf: mf, frag: mf || g.IPv4.FragOff != 0}, true
	}
	return p, false
}
