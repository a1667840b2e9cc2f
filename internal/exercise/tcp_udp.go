package exercise

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// exTCPUDP runs the TCP article's closing exercise: its TCP server and
// client on 8080, its UDP server and client on 8081 (ported from the
// article's Python line for line; the servers bind Hs's address instead of
// localhost, so that the client runs on another host), with the wire
// recorded at Hc.
func exTCPUDP(x *run) error {
	rec := x.record(lab.Hc, rawsock.Filter{Host: lab.AddrHs})
	var mu sync.Mutex
	var printed []string
	say := func(who, f string, a ...any) {
		mu.Lock()
		printed = append(printed, who+": "+fmt.Sprintf(f, a...))
		mu.Unlock()
	}
	// TCP server: bind, listen(1), accept, recv(1024), send, close.
	var tl net.Listener
	if err := x.lab.Do(lab.Hs, func() error {
		var err error
		tl, err = net.Listen("tcp4", net.JoinHostPort(hsAddr, "8080"))
		return err
	}); err != nil {
		return err
	}
	say("tcp_server", "TCP server is listening...")
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer tl.Close()
		_ = tl.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
		c, err := tl.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		say("tcp_server", "Accepted TCP connection from: %v", c.RemoteAddr())
		b := make([]byte, 1024)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		n, _ := c.Read(b)
		say("tcp_server", "Received TCP data: %s", b[:n])
		_, _ = c.Write([]byte("Hello from TCP server!"))
	}()
	time.Sleep(x.d(1))
	// TCP client: connect, send, recv(1024), close.
	var tcpReply string
	_ = x.lab.Do(lab.Hc, func() error {
		c, err := net.DialTimeout("tcp4", net.JoinHostPort(hsAddr, "8080"), 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_, _ = c.Write([]byte("Hello from TCP client!"))
		b := make([]byte, 1024)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		n, _ := c.Read(b)
		tcpReply = string(b[:n])
		say("tcp_client", "Received TCP response: %s", tcpReply)
		return nil
	})
	<-done
	// UDP server: bind, then recvfrom(1024) and sendto a reply, forever.
	var us *net.UDPConn
	if err := x.lab.Do(lab.Hs, func() error {
		a, _ := net.ResolveUDPAddr("udp4", net.JoinHostPort(hsAddr, "8081"))
		var err error
		us, err = net.ListenUDP("udp4", a)
		return err
	}); err != nil {
		return err
	}
	say("udp_server", "UDP server is listening...")
	go func() {
		b := make([]byte, 1024)
		for {
			_ = us.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, from, err := us.ReadFromUDP(b)
			if err != nil {
				return
			}
			say("udp_server", "Received UDP data: %s", b[:n])
			_, _ = us.WriteToUDP([]byte("Hello from UDP server!"), from)
		}
	}()
	var udpReply string
	_ = x.lab.Do(lab.Hc, func() error {
		c, err := net.Dial("udp4", net.JoinHostPort(hsAddr, "8081"))
		if err != nil {
			return err
		}
		defer c.Close()
		_, _ = c.Write([]byte("Hello from UDP client!"))
		b := make([]byte, 1024)
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _ := c.Read(b)
		udpReply = string(b[:n])
		say("udp_client", "Received UDP response: %s", udpReply)
		return nil
	})
	time.Sleep(100 * time.Millisecond)
	us.Close()
	caps := rec.Stop()
	mu.Lock()
	for _, p := range printed {
		x.see("%s", p)
	}
	mu.Unlock()
	// The wire: TCP segments to 8080 before the first byte of data; UDP
	// datagrams on 8081 in order.
	var tcpBefore []string
	var udp []string
	dataSeen := false
	for _, d := range decoded(caps, func(*craft.Decoded, *listen.Captured) bool { return true }) {
		switch {
		case d.Has(craft.LayerTCP) && (d.TCP.DstPort == 8080 || d.TCP.SrcPort == 8080):
			if len(d.Payload) > 0 {
				dataSeen = true
			}
			if !dataSeen {
				tcpBefore = append(tcpBefore, craft.FlagString(d.TCP.Flags))
			}
		case d.Has(craft.LayerUDP) && (d.UDP.DstPort == 8081 || d.UDP.SrcPort == 8081):
			udp = append(udp, fmt.Sprintf("%v:%d → %v:%d %q", d.IPv4.Src, d.UDP.SrcPort, d.IPv4.Dst, d.UDP.DstPort, d.Payload))
		}
	}
	x.see("on the wire, TCP before the first byte of data: %v (the three-way handshake)", tcpBefore)
	x.see("on the wire, UDP: %d datagrams, the first with the data itself (no handshake):", len(udp))
	for _, u := range udp {
		x.see("  %s", u)
	}
	x.see("the article says the UDP server will not be seen responding; its own code calls sendto with \"Hello from UDP server!\", and the reply %s", map[bool]string{true: "is there, on the wire and in the client", false: "did not come"}[udpReply == "Hello from UDP server!"])
	if len(tcpBefore) != 3 || tcpBefore[0] != "S" {
		x.differ("TCP before the data: %v, want SYN, SYN-ACK, ACK", tcpBefore)
	}
	if tcpReply != "Hello from TCP server!" {
		x.differ("the TCP client got %q", tcpReply)
	}
	if len(udp) != 2 {
		x.differ("%d UDP datagrams, want the request and the server's reply", len(udp))
	}
	if udpReply != "Hello from UDP server!" {
		x.differ("the UDP client got %q, not the reply the server's code sends", udpReply)
	}
	return nil
}
