package lab

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// handleIn is a netlink handle inside host's namespace, closed when the
// test ends.
func handleIn(t *testing.T, l *Lab, host string) *netlink.Handle {
	t.Helper()
	f, err := netns.GetFromName(l.NS(host))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := netlink.NewHandleAt(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// txPackets counts the frames host has sent on its lab interfaces.
func txPackets(t *testing.T, h *netlink.Handle) uint64 {
	t.Helper()
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, lk := range links {
		if st := lk.Attrs().Statistics; st != nil && lk.Attrs().Name != "lo" {
			n += st.TxPackets
		}
	}
	return n
}

// Hc reaches Hs over IPv6 with ordinary sockets, and a lab left alone is
// silent: no duplicate address detection, router solicitation or listener
// report goes on the wire once Up has returned.
func TestLabIPv6(t *testing.T) {
	l := ForTest(t, Config{})
	hc, hs := handleIn(t, l, Hc), handleIn(t, l, Hs)
	c0, s0 := txPackets(t, hc), txPackets(t, hs)
	time.Sleep(500 * time.Millisecond)
	if c, s := txPackets(t, hc)-c0, txPackets(t, hs)-s0; c != 0 || s != 0 {
		t.Errorf("an idle lab sent frames after Up: %d from Hc, %d from Hs", c, s)
	}

	var ln net.Listener
	if err := l.Do(Hs, func() (err error) {
		ln, err = net.Listen("tcp6", netip.AddrPortFrom(Addr6Hs, 9999).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		_, _ = c.Write([]byte("you said: " + line))
		got <- strings.TrimSpace(line) + " from " + c.RemoteAddr().(*net.TCPAddr).IP.String()
	}()
	var conn net.Conn
	if err := l.Do(Hc, func() (err error) {
		conn, err = net.DialTimeout("tcp6", netip.AddrPortFrom(Addr6Hs, 9999).String(), 2*time.Second)
		return err
	}); err != nil {
		t.Fatalf("Hc cannot connect to Hs over IPv6: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := conn.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || reply != "you said: hello\n" {
		t.Fatalf("reply %q, %v", reply, err)
	}
	if s := <-got; s != "hello from "+Addr6Hc.String() {
		t.Fatalf("server got %q, want hello from %v", s, Addr6Hc)
	}

	st := strings.Join(l.Status(), "\n")
	for _, want := range []string{Addr6Hc.String() + "/64", Addr6Hs.String() + "/64", AddrHc.String() + "/24"} {
		if !strings.Contains(st, want) {
			t.Errorf("status lacks %s:\n%s", want, st)
		}
	}
}

// icmpErr is an ICMPv6 error the kernel queued on an ordinary socket
// (IPV6_RECVERR), as recvmsg(MSG_ERRQUEUE) returns it.
type icmpErr struct {
	errno            unix.Errno
	origin, typ, cod uint8
	info             uint32
	from             netip.Addr
}

// readErrQueue waits, at most d, for the first error on fd's error queue.
func readErrQueue(fd int, d time.Duration) (icmpErr, error) {
	buf, oob := make([]byte, 2048), make([]byte, 512)
	deadline := time.Now().Add(d)
	for {
		_, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if err == nil {
			msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err != nil {
				return icmpErr{}, err
			}
			for _, m := range msgs {
				// struct sock_extended_err, then the offender's sockaddr_in6.
				if m.Header.Level != unix.IPPROTO_IPV6 || m.Header.Type != unix.IPV6_RECVERR || len(m.Data) < 16+24 {
					continue
				}
				e := icmpErr{errno: unix.Errno(binary.NativeEndian.Uint32(m.Data[0:])), origin: m.Data[4], typ: m.Data[5], cod: m.Data[6],
					info: binary.NativeEndian.Uint32(m.Data[8:])}
				e.from = netip.AddrFrom16([16]byte(m.Data[16+8 : 16+24]))
				return e, nil
			}
			return icmpErr{}, errors.New("an error queue message without IPV6_RECVERR")
		}
		if !errors.Is(err, unix.EAGAIN) {
			return icmpErr{}, err
		}
		if time.Now().After(deadline) {
			return icmpErr{}, errors.New("nothing on the error queue")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// In the routed lab, IPv6 crosses R to Hf; R answers a datagram too big for
// R–Hf with Packet Too Big (MTU 1280) and one whose hop limit runs out with
// Time Exceeded. Both are read from what the kernel of Hc did with them —
// an ordinary socket's error queue and Hc's path MTU cache — not through
// rawcraft's own decoding and matching.
func TestLabRoutedIPv6(t *testing.T) {
	l := ForTest(t, Config{Routed: true})
	var srv, cli *net.UDPConn
	if err := l.Do(Hf, func() (err error) {
		srv, err = net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(Addr6Hf, 9999)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := l.Do(Hc, func() (err error) {
		cli, err = net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(Addr6Hc, 0)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if !delivered(t, cli, srv, "via R over IPv6", 2*time.Second) {
		t.Fatal("Hc cannot reach Hf through R over IPv6")
	}

	var fd int
	if err := l.Do(Hc, func() (err error) {
		fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1); err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet6{Addr: Addr6Hc.As16()}); err != nil {
		t.Fatal(err)
	}
	hf := &unix.SockaddrInet6{Addr: Addr6Hf.As16(), Port: 9999}

	// 1400 bytes of data: 1448 on the wire, fits Hc's 1500, not R–Hf's 1280.
	if err := unix.Sendto(fd, make([]byte, 1400), 0, hf); err != nil {
		t.Fatal(err)
	}
	e, err := readErrQueue(fd, 2*time.Second)
	if err != nil {
		t.Fatalf("after a 1448-byte packet toward Hf: %v", err)
	}
	if e.origin != unix.SO_EE_ORIGIN_ICMP6 || e.typ != 2 || e.cod != 0 || e.info != 1280 || e.errno != unix.EMSGSIZE || e.from != Addr6R1 {
		t.Errorf("got %+v; want ICMPv6 Packet Too Big (type 2, code 0), MTU 1280, EMSGSIZE, from %v", e, Addr6R1)
	}
	rs, err := handleIn(t, l, Hc).RouteGet(Addr6Hf.AsSlice())
	if err != nil || len(rs) != 1 || rs[0].MTU != 1280 {
		t.Errorf("Hc's route to Hf after Packet Too Big: %+v, %v; want the path MTU 1280 cached", rs, err)
	}

	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 1); err != nil {
		t.Fatal(err)
	}
	if err := unix.Sendto(fd, []byte("hop limit 1"), 0, hf); err != nil {
		t.Fatal(err)
	}
	e, err = readErrQueue(fd, 2*time.Second)
	if err != nil {
		t.Fatalf("after a packet with hop limit 1 toward Hf: %v", err)
	}
	if e.origin != unix.SO_EE_ORIGIN_ICMP6 || e.typ != 3 || e.cod != 0 || e.from != Addr6R1 {
		t.Errorf("got %+v; want ICMPv6 Time Exceeded (type 3, code 0) from %v", e, Addr6R1)
	}
}

// Check names what is missing or changed of the lab's IPv6 — an address, a
// route, a host's or a switch's setting — and Up repairs it.
func TestCheckIPv6(t *testing.T) {
	l := ForTest(t, Config{Routed: true})
	if err := l.Do(Hc, func() error {
		lk, err := netlink.LinkByName(HostIfc)
		if err != nil {
			return err
		}
		a, _ := netlink.ParseAddr("2001:2:0:1::3/64")
		return netlink.AddrDel(lk, a)
	}); err != nil {
		t.Fatal(err)
	}
	if err := l.Do(Hf, func() error {
		_, dst, _ := net.ParseCIDR("2001:2:0:1::/64")
		return netlink.RouteDel(&netlink.Route{Dst: dst, Gw: net.ParseIP("2001:2:0:2::2")})
	}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ host, key, value string }{
		{R, "net.ipv6.conf.all.forwarding", "0"},
		{Hs, "net.ipv6.conf.eth0.accept_ra", "1"},
		{Hc, "net.ipv6.conf.default.accept_dad", "1"},
		{S2, "net.ipv6.conf.all.disable_ipv6", "0"},
	} {
		if err := l.Sysctl(s.host, s.key, s.value); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"hc/eth0 lacks its address 2001:2:0:1::3/64",
		"hf lacks its route to 2001:2:0:1::/64 via 2001:2:0:2::2",
		"r: net.ipv6.conf.all.forwarding is 0, not 1",
		"hs: net.ipv6.conf.eth0.accept_ra is 1, not 0",
		"hc: net.ipv6.conf.default.accept_dad is 1, not 0",
		"s2: net.ipv6.conf.all.disable_ipv6 is 0, not 1",
	}
	bad := l.Check()
	for _, w := range want {
		if !slices.Contains(bad, w) {
			t.Errorf("Check lacks %q: %q", w, bad)
		}
	}
	again, err := Up(l.Config())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !slices.Contains(again.Repaired(), w) {
			t.Errorf("Repaired lacks %q: %q", w, again.Repaired())
		}
	}
	if bad := again.Check(); len(bad) > 0 {
		t.Fatalf("after Up the lab still fails: %v", bad)
	}
	var srv, cli *net.UDPConn
	if err := again.Do(Hf, func() (err error) {
		srv, err = net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(Addr6Hf, 9999)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := again.Do(Hc, func() (err error) {
		cli, err = net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(Addr6Hc, 0)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if !delivered(t, cli, srv, "repaired", 2*time.Second) {
		t.Fatal("Hc cannot reach Hf over IPv6 after the repair")
	}
}
