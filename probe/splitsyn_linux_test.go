package probe

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// splitSynPort is the port whose SYNs Hs answers with a bare SYN.
const splitSynPort = 8888

// splitHandshake makes Hs answer every SYN to splitSynPort with a SYN
// without ACK — the split handshake of nmap's "split-handshake-syn" — from
// an AF_PACKET socket, while its kernel never sees those SYNs (dropped at
// its input hook, which AF_PACKET reads before), so no RST races the
// answer. It runs until stop is called.
func splitHandshake(t *testing.T, l *lab.Lab) (stop func()) {
	t.Helper()
	if _, err := l.DropPort(lab.Hs, craft.ProtoTCP, splitSynPort); err != nil {
		t.Fatal(err)
	}
	var c *rawsock.Conn
	if err := l.Do(lab.Hs, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err == nil {
			c, err = rawsock.Listen(ifi, &rawsock.Config{EtherType: uint16(craft.EtherTypeIPv4)})
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if err := c.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
				return
			}
			n, err := c.Recv(buf)
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					continue
				}
				return
			}
			var d craft.Decoded
			if d.DecodeFrame(buf[:n]) != nil || d.Layers&craft.LayerTCP == 0 || d.TCP.DstPort != splitSynPort ||
				d.TCP.Flags&(craft.TCPSyn|craft.TCPAck) != craft.TCPSyn {
				continue
			}
			reply := craft.Packet{
				Ethernet: &craft.Ethernet{Src: d.Ethernet.Dst, Dst: d.Ethernet.Src},
				IPv4:     &craft.IPv4{Src: d.IPv4.Dst, Dst: d.IPv4.Src, ID: 1},
				TCP:      &craft.TCP{SrcPort: splitSynPort, DstPort: d.TCP.SrcPort, Seq: 777777, Flags: craft.TCPSyn, Window: 1024},
			}
			b, err := reply.Append(nil)
			if err == nil {
				_, _ = c.Send(b)
			}
		}
	}()
	return func() {
		_ = c.Close()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Error("the split-handshake responder did not stop")
		}
	}
}

// A SYN answered by a SYN without ACK (a split handshake) is an open port
// with reason split-handshake-syn, as nmap's SYN scan reads it
// (scan_engine_raw.cc): rawcraft's state and reason equal nmap's on the same
// port of the same host. Before, rawcraft matched no answer and said
// "filtered, no-response" to a target that had answered.
func TestSplitHandshakeAgreesWithNmap(t *testing.T) {
	oracle.Require(t, "nmap")
	l := lab.ForTest(t, lab.Config{})
	stop := splitHandshake(t, l)
	defer stop()
	cfg := Config{Proto: craft.ProtoTCP, Dst: lab.AddrHs, Ports: []uint16{splitSynPort}, Timeout: 500 * time.Millisecond, Retries: 1,
		Packet: craft.Packet{IPv4: &craft.IPv4{}, TCP: &craft.TCP{Flags: craft.TCPSyn, Window: 1024}}}
	rep := runIn(t, l, lab.Hc, cfg)
	if len(rep.Results) != 1 {
		t.Fatalf("%d results", len(rep.Results))
	}
	r := rep.Results[0]
	if r.State != listen.Open || r.Reply.Reason != listen.SplitHandshakeSyn || r.Reply.From != netip.MustParseAddr("198.18.1.1") {
		t.Errorf("rawcraft: %s %s from %v, want open split-handshake-syn from 198.18.1.1", r.State, r.Reply.Reason, r.Reply.From)
	}
	if d := r.Describe(); !strings.Contains(d, "split-handshake-syn") || !strings.Contains(d, "SYN without ACK") {
		t.Errorf("line: %s", d)
	}
	theirs := oracle.NmapStates(t, l.NS(lab.Hc), "198.18.1.1", "8888", "-sS")
	if got := theirs[splitSynPort]; got != string(r.State) {
		t.Errorf("nmap says %q, rawcraft %q", got, r.State)
	}
}
