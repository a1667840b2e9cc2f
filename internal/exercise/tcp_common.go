package exercise

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/tcpseq"
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
	Sample    bool          // read the sender's TCP_INFO every millisecond while it writes
	SndBuf    int           // the client's SO_SNDBUF (0: Linux's autotuning)
	CC        string        // the client's congestion control (TCP_CONGESTION; "": the namespace's default, cubic)
}

// cwndSample is the sender's congestion window at one moment (TCP_INFO).
type cwndSample struct {
	T        time.Time
	Cwnd     uint32 // segments
	Ssthresh uint32
	MSS      uint32 // tcpi_snd_mss, bytes
}

// tcpInfo is the part of the sending socket's TCP_INFO the exercises
// read (struct tcp_info in linux/tcp.h).
type tcpInfo struct {
	TotalRetrans, SndCwnd, SndSsthresh uint32
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
	info     *tcpInfo     // the sender's TCP_INFO once everything was written and acknowledged
	data     listen.Flow  // Hc → Hs
	cwnd     []cwndSample // with Sample
	start    time.Time    // the first captured segment's kernel time
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
