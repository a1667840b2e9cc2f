// Package article holds the transport-layer article's four programs —
// a UDP and a TCP client and server — written in Go with ordinary sockets,
// with the article's options and defaults: port 9999, a server buffer of 20
// bytes, a client buffer (message size) of 50, 10 messages 5 seconds apart,
// message N made of the N-th letter. The programs under examples/ are thin
// main packages around it; rawcraft exercise runs the same code inside the
// lab.
package article

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"time"
)

// Options are the article's command-line options.
type Options struct {
	Server    string        // -s: the server's address
	Port      int           // -p: the server's port (9999)
	Buffer    int           // -b: bytes per read (server, 20) or per message (client, 50)
	Count     int           // -c: messages the client sends (10)
	Delay     time.Duration // -d: between the client's messages (5 s)
	ReadDelay time.Duration // -r: the server waits this long before each read (0)
	Out       io.Writer     // where the program prints what it sends and reads
	// Stop ends a server (the article's Ctrl-C); nil runs until an error.
	Stop <-chan struct{}
	// Ready, if not nil, is closed once a server listens.
	Ready chan<- struct{}
}

// Message returns the client's n-th message (from 1): the n-th letter of
// the alphabet, size times.
func Message(n, size int) []byte { return bytes.Repeat([]byte{byte('A' + (n-1)%26)}, size) }

func (o *Options) addr() string { return fmt.Sprintf("%s:%d", o.Server, o.Port) }

// UDPServer reads datagrams with a buffer of o.Buffer bytes and prints each:
// a datagram longer than the buffer is cut, and the rest is lost (UDP keeps
// message boundaries).
func UDPServer(o Options) error {
	c, err := net.ListenPacket("udp4", o.addr())
	if err != nil {
		return err
	}
	defer c.Close()
	go func() { <-o.stopped(); c.Close() }()
	if o.Ready != nil {
		close(o.Ready)
	}
	buf := make([]byte, o.Buffer)
	for {
		time.Sleep(o.ReadDelay)
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return nil
		}
		fmt.Fprintf(o.Out, "%s read %d bytes from %v: %s\n", stamp(), n, from, buf[:n])
	}
}

// UDPClient sends o.Count messages of o.Buffer bytes, o.Delay apart.
func UDPClient(o Options) error {
	c, err := net.Dial("udp4", o.addr())
	if err != nil {
		return err
	}
	defer c.Close()
	for i := 1; i <= o.Count; i++ {
		if i > 1 {
			time.Sleep(o.Delay)
		}
		m := Message(i, o.Buffer)
		if _, err := c.Write(m); err != nil {
			fmt.Fprintf(o.Out, "%s send %d failed: %v\n", stamp(), i, err)
			continue
		}
		fmt.Fprintf(o.Out, "%s sent message %d: %d × %c\n", stamp(), i, len(m), m[0])
	}
	return nil
}

// TCPServer accepts one connection and reads it o.Buffer bytes at a time,
// o.ReadDelay apart, printing each read: TCP is a stream, so reads follow
// the buffer, not the sender's messages.
func TCPServer(o Options) error {
	l, err := net.Listen("tcp4", o.addr())
	if err != nil {
		return err
	}
	defer l.Close()
	if o.Ready != nil {
		close(o.Ready)
	}
	go func() { <-o.stopped(); l.Close() }()
	c, err := l.Accept()
	if err != nil {
		return nil
	}
	defer c.Close()
	go func() { <-o.stopped(); c.Close() }()
	fmt.Fprintf(o.Out, "%s accepted a connection from %v\n", stamp(), c.RemoteAddr())
	buf := make([]byte, o.Buffer)
	for {
		time.Sleep(o.ReadDelay)
		n, err := c.Read(buf)
		if n > 0 {
			fmt.Fprintf(o.Out, "%s read %d bytes: %s\n", stamp(), n, buf[:n])
		}
		if err != nil {
			fmt.Fprintf(o.Out, "%s connection ended: %v\n", stamp(), err)
			return nil
		}
	}
}

// TCPClient connects and sends o.Count messages of o.Buffer bytes, o.Delay
// apart, then closes.
func TCPClient(o Options) error {
	c, err := net.DialTimeout("tcp4", o.addr(), 5*time.Second)
	if err != nil {
		fmt.Fprintf(o.Out, "%s connect failed: %v\n", stamp(), err)
		return err
	}
	defer c.Close()
	for i := 1; i <= o.Count; i++ {
		if i > 1 {
			time.Sleep(o.Delay)
		}
		m := Message(i, o.Buffer)
		if _, err := c.Write(m); err != nil {
			fmt.Fprintf(o.Out, "%s send %d failed: %v\n", stamp(), i, err)
			return err
		}
		fmt.Fprintf(o.Out, "%s sent message %d: %d × %c\n", stamp(), i, len(m), m[0])
	}
	return nil
}

func (o *Options) stopped() <-chan struct{} {
	if o.Stop == nil {
		return make(chan struct{}) // never
	}
	return o.Stop
}

func stamp() string { return time.Now().Format("15:04:05.000") }
