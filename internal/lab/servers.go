package lab

import (
	"fmt"
	"net"
)

// Servers starts, inside host, a TCP server that accepts and closes every
// connection and a UDP server that answers every datagram with "hello from
// HOST, you said: …", both on addr (such as "198.18.1.1:9999"). Closing the
// returned function stops both; their goroutines end with their sockets.
func (l *Lab) Servers(host, addr string) (stop func(), err error) {
	var tl net.Listener
	var ul net.PacketConn
	if err := l.Do(host, func() (err error) {
		if tl, err = net.Listen("tcp", addr); err != nil {
			return err
		}
		ul, err = net.ListenPacket("udp", addr)
		return err
	}); err != nil {
		if tl != nil {
			tl.Close()
		}
		return nil, err
	}
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := ul.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = ul.WriteTo(append([]byte(fmt.Sprintf("hello from %s, you said: ", host)), buf[:n]...), from)
		}
	}()
	return func() { tl.Close(); ul.Close() }, nil
}
