package exercise

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/rawcraft/rawcraft/tcpseq"
	"golang.org/x/sys/unix"
)

// transfer runs one connection of a TCP exercise with Linux sockets in the
// lab's hosts, records it at Hc, and analyzes it.
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
		ln, err = lc.Listen(context.Background(), "tcp4", net.JoinHostPort(hsAddr, strconv.Itoa(tcpPort)))
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
		dialer := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				if t.SndBuf > 0 {
					serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, t.SndBuf)
				}
				if t.CC != "" && serr == nil {
					serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, t.CC)
				}
			})
			return errors.Join(err, serr)
		}}
		c, err := dialer.Dial("tcp4", net.JoinHostPort(hsAddr, strconv.Itoa(tcpPort)))
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		raw, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			return err
		}
		stopSampling := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			if !t.Sample {
				return
			}
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for len(out.cwnd) < 20000 {
				var info *unix.TCPInfo
				_ = raw.Control(func(fd uintptr) { info, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
				if info != nil {
					out.cwnd = append(out.cwnd, cwndSample{T: time.Now(), Cwnd: info.Snd_cwnd, Ssthresh: info.Snd_ssthresh, MSS: info.Snd_mss})
				}
				select {
				case <-stopSampling:
					return
				case <-tick.C:
				}
			}
		}()
		_, werr := c.Write(make([]byte, t.Bytes))
		if werr != nil {
			close(stopSampling)
			<-sampled
			return werr
		}
		// Wait (bounded) until everything written is acknowledged, then read
		// the sender's own account: cwnd, ssthresh, retransmissions.
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			var info *unix.TCPInfo
			_ = raw.Control(func(fd uintptr) { info, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
			if info != nil {
				out.info = &tcpInfo{TotalRetrans: info.Total_retrans, SndCwnd: info.Snd_cwnd, SndSsthresh: info.Snd_ssthresh}
			}
			if info == nil || info.Notsent_bytes == 0 && info.Unacked == 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		close(stopSampling)
		<-sampled
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
		if out.start.IsZero() {
			out.start = p.Meta.Time
		}
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
