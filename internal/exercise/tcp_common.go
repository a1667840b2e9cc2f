package exercise

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/rawcraft/rawcraft/tcpseq"
	"golang.org/x/sys/unix"
)

// SVGDir, when not empty, is where the TCP exercises write their
// time-sequence graphs, as EXERCISE.svg. The environment variable
// RAWCRAFT_SVG_DIR sets it for the rawcraft command.
var SVGDir = os.Getenv("RAWCRAFT_SVG_DIR")

const tcpPort = 8080

// transfer is one TCP connection of a TCP exercise: Hc sends Bytes to a
// server in Hs on port 8080, across whatever the cable is set to do.
type transfer struct {
	Bytes     int
	RcvBuf    int           // the server's SO_RCVBUF (0: Linux's autotuning)
	MaxSeg    int           // the server's TCP_MAXSEG, which its SYN-ACK's MSS announces (0: from the MTU)
	ReadDelay time.Duration // the server waits this long before it reads
	ReadChunk int           // then reads this many bytes at a time (0: all it can)
	ReadPause time.Duration // between reads
	Impair    *lab.Impairment
	Delay     time.Duration // one-way, both ways: RTT = 2×Delay
}

// seen is one captured segment with what the analyzer said of it.
type seen struct {
	d  *craft.Decoded
	ev listen.TCPEvent
}

// transferred is what the wire and the sender's kernel said.
type transferred struct {
	segs     []seen
	trace    *tcpseq.Trace
	received int
	info     *unix.TCPInfo // the sender's TCP_INFO once everything was written and acknowledged
	data     listen.Flow   // Hc → Hs
}

func (x *run) transfer(t transfer) (*transferred, error) {
	if t.Impair != nil {
		if err := x.lab.Impair(*t.Impair); err != nil {
			return nil, err
		}
		defer x.lab.ClearImpair()
	}
	if t.Delay > 0 {
		dl, err := x.lab.StartDelay(lab.Both, t.Delay, 0)
		if err != nil {
			return nil, err
		}
		defer dl.Stop()
	}
	rec := x.record(lab.Hc, rawsock.Filter{Proto: craft.ProtoTCP, Port: tcpPort})
	var ln net.Listener
	err := x.lab.Do(lab.Hs, func() error {
		lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				if t.RcvBuf > 0 {
					serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, t.RcvBuf)
				}
				if t.MaxSeg > 0 && serr == nil {
					serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_MAXSEG, t.MaxSeg)
				}
			})
			return errors.Join(err, serr)
		}}
		var err error
		ln, err = lc.Listen(nil, "tcp4", fmt.Sprintf("%s:%d", hsAddr, tcpPort))
		return err
	})
	if err != nil {
		rec.Stop()
		return nil, err
	}
	defer ln.Close()
	got := make(chan int, 1)
	go func() {
		n := 0
		defer func() { got <- n }()
		_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		time.Sleep(t.ReadDelay)
		buf := make([]byte, 64<<10)
		for {
			b := buf
			if t.ReadChunk > 0 {
				b = buf[:t.ReadChunk]
			}
			k, err := c.Read(b)
			n += k
			if err != nil {
				return
			}
			if t.ReadPause > 0 {
				time.Sleep(t.ReadPause)
			}
		}
	}()
	out := &transferred{}
	err = x.lab.Do(lab.Hc, func() error {
		c, err := net.DialTimeout("tcp4", fmt.Sprintf("%s:%d", hsAddr, tcpPort), 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		if _, err := c.Write(make([]byte, t.Bytes)); err != nil {
			return err
		}
		raw, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			return err
		}
		// Wait (bounded) until everything written is acknowledged, then read
		// the sender's own account: cwnd, ssthresh, retransmissions.
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			var info *unix.TCPInfo
			_ = raw.Control(func(fd uintptr) { info, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
			out.info = info
			if info == nil || info.Notsent_bytes == 0 && info.Unacked == 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		return c.(*net.TCPConn).CloseWrite()
	})
	select {
	case out.received = <-got:
	case <-time.After(25 * time.Second):
		ln.Close()
		out.received = <-got
	}
	time.Sleep(50 * time.Millisecond)
	caps := rec.Stop()
	if err != nil {
		return nil, err
	}
	an := listen.NewTCPAnalyzer()
	out.data = listen.Flow{Src: lab.AddrHc, Dst: lab.AddrHs, DstPort: tcpPort}
	for i := range caps {
		p := &listen.Packet{Frame: caps[i].Frame, Meta: caps[i].Meta}
		if p.Decoded.DecodeFrame(p.Frame) != nil || !p.Decoded.Has(craft.LayerTCP) {
			continue
		}
		ev := an.Add(p)
		if out.trace == nil && p.Decoded.TCP.DstPort == tcpPort {
			out.data.SrcPort = p.Decoded.TCP.SrcPort
			out.trace = tcpseq.New(out.data)
		}
		if out.trace != nil {
			out.trace.Add(p, ev)
		}
		d := p.Decoded
		d.Payload = append([]byte(nil), p.Decoded.Payload...)
		d.TCP.Options = append([]byte(nil), p.Decoded.TCP.Options...)
		out.segs = append(out.segs, seen{d: &d, ev: ev})
	}
	if out.trace == nil {
		return nil, errors.New("the capture at Hc holds no segment to port 8080")
	}
	return out, nil
}

// toHs says whether a segment goes from Hc to the server.
func (s seen) toHs() bool { return s.d.TCP.DstPort == tcpPort }

// graph adds the time-sequence graph to the observation (the lines around
// what matters), and writes it as SVG when SVGDir is set.
func (x *run) graph(tr *transferred, maxLines int) {
	var b strings.Builder
	tr.trace.Text(&b, 48, maxLines)
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		x.see("  %s", l)
	}
	if SVGDir == "" {
		return
	}
	name := filepath.Join(SVGDir, x.out.Exercise.ID+".svg")
	f, err := os.Create(name)
	if err == nil {
		err = errors.Join(tr.trace.SVG(f), f.Close())
	}
	if err != nil {
		x.see("the SVG could not be written: %v", err)
		return
	}
	x.see("time-sequence graph written to %s", name)
}

// synOption returns the value of a TCP option in a SYN (kind 2 MSS: two
// bytes; kind 3 window scale: one), or -1.
func synOption(d *craft.Decoded, kind uint8) int {
	o := d.TCP.Options
	for off := 0; off < len(o); {
		opt, next, err := craft.NextOption(o, off)
		if err != nil || opt.Kind == 0 {
			break
		}
		if opt.Kind == kind {
			switch len(opt.Data) {
			case 1:
				return int(opt.Data[0])
			case 2:
				return int(opt.Data[0])<<8 | int(opt.Data[1])
			}
		}
		off = next
	}
	return -1
}
