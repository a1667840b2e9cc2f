package exercise

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/article"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

const hsAddr = "198.18.1.1"

var exercises = []*Exercise{
	{ID: "1", Title: "UDP message-oriented delivery",
		Prediction: "The UDP server, reading 20 bytes at a time, shows 20 A's, then 20 B's, … one read per 50-byte message: the other 30 bytes of each message are discarded, while a capture at Hs shows all 50 arrived.",
		run:        ex1},
	{ID: "2", Title: "UDP packet loss",
		Prediction: "With the S1–S2 cable pulled from the 16th to the 32nd second, messages 5 to 7 are lost and never resent: the server shows messages 1–4 and 8–10; a capture at Hc shows 10 sent, one at Hs 7 received.",
		run:        ex2},
	{ID: "3", Title: "UDP integrity check",
		Prediction: `"Hello", "UQUQUQHello" and "llHeo" (as nc sends them, with a newline) between the same addresses and ports carry the same UDP checksum: "UQUQUQ" adds 0x5551 × 3 + 12 (the length, counted twice) = 0xFFFF, which changes no one's-complement sum, and swapping 16-bit words changes nothing either.`,
		run:        ex3},
	{ID: "4", Title: "TCP streaming",
		Prediction: "The TCP server reading 20 bytes at a time still gets every byte, in order, in chunks that ignore the message boundaries; a slow reader (100 bytes every two message intervals) gets two messages in one read: TCP delivers a stream.",
		run:        ex4},
	{ID: "5", Title: "TCP packet loss, timeout and recovery",
		Prediction: "With the cable pulled from the 16th to the 32nd second, nothing reaches the server after message 4 (sent at 15 s) until a retransmission gets through once the cable is back (the article rounds this to 20 s without display); message 5 is retransmitted at doubling intervals; after the cable is back, messages 5–7 reach the server together, 6 and 7 in a single segment acknowledged by a single cumulative ACK, and every byte is delivered in order.",
		run:        ex5},
	{ID: "6", Title: "TCP resets",
		Prediction: "Connecting to a port where nothing listens (8888) brings a RST at once; killing the server in the middle of the stream makes its kernel answer the client's next segment with a RST, and the client's sends then fail.",
		run:        ex6},
	{ID: "7", Title: "UDP server not running",
		Prediction: `A datagram to a port where no UDP server runs brings back an ICMP "port unreachable", quoting the datagram; the sending program itself is told nothing.`,
		run:        ex7},
	{ID: "7v6", Title: "UDP server not running, over IPv6",
		PredictedBy: "RFC 4443 §3.1",
		Prediction:  `The same datagram over IPv6 brings back an ICMPv6 "destination unreachable" of code 4, "port unreachable" (type 1, not ICMP's 3), quoting as much of the datagram as fits in 1280 bytes — the whole of it here; the sending program is told nothing.`,
		run:         ex7v6},
	{ID: "3way", Title: "TCP three-way handshake (the TCP article)",
		Prediction: "SYN with the client's ISN x; SYN-ACK with the server's ISN y and ack x+1; ACK with seq x+1 and ack y+1: each SYN uses one sequence number.",
		run:        exOpen},
	{ID: "4way", Title: "TCP four-way close (the TCP article)",
		Prediction: "The side that closes first sends FIN; the other acknowledges it (ack = its seq + 1), then sends its own FIN when its application closes, which the first acknowledges: each FIN uses one sequence number.",
		run:        exClose},
	{ID: "sockets", Title: "The sockets themselves: what each kind is handed, what the kernel writes, who hears the answers",
		PredictedBy: "the man pages",
		Prediction:  "AF_PACKET SOCK_RAW sends the frame as handed; SOCK_DGRAM gets its Ethernet header from the kernel; a raw IPPROTO_RAW socket gets its zero IP ID and header checksum filled; a raw IPPROTO_TCP/UDP/ICMP socket without IP_HDRINCL gets the whole IPv4 header written; a ping socket gets its identifier and checksum written. The RST is heard by the packet socket and a raw TCP socket, the port unreachable by the packet socket and a raw ICMP socket but not the unconnected UDP socket, the echo reply also by the ping socket whose identifier it carries (raw(7), packet(7), udp(7), icmp(7)).",
		run:         exSockets},
	{ID: "paris", Title: "traceroute on load-balanced paths: classic and Paris", Prediction: parisPrediction, run: exParis},
	{ID: "fastretransmit", Title: "TCP fast retransmit (the TCP article)",
		Prediction: "One segment lost on the cable: the receiver answers each later segment with a duplicate ACK; after three the sender resends the missing segment at once, long before the retransmission timeout (RFC 5681 §3.2; Linux's RACK, RFC 8985, may resend sooner), and the stream completes.",
		run:        exFastRetransmit},
	{ID: "sack", Title: "TCP selective acknowledgment (the TCP article)",
		Prediction: "Two segments lost: the receiver's duplicate ACKs carry SACK blocks naming the data it holds beyond the holes (RFC 2018), and the sender resends exactly the two missing segments, not everything after the first (RFC 6675), before any timeout.",
		run:        exSACK},
	{ID: "mss", Title: "TCP maximum segment size (the TCP article)",
		Prediction: "Each SYN announces the largest segment its sender will take (1460 on a 1500-byte Ethernet); a server that asks for 536 gets data segments of 536 bytes less the options every segment carries (12 bytes of timestamps on Linux): 524 (RFC 9293 §3.7.1).",
		run:        exMSS},
	{ID: "wscale", Title: "TCP window scaling (the TCP article)",
		Prediction: "The window field has 16 bits, at most 65 535 bytes; with the window scale option in both SYNs (RFC 7323 §2) the receiver advertises windows above 64 KiB, the field counting units of 2^scale bytes.",
		run:        exWScale},
	{ID: "window", Title: "TCP flow control: a full receiver (the TCP article)",
		Prediction: "A receiver that does not read fills its buffer: it advertises a zero window and the sender stops; the sender probes the closed window (persist timer, RFC 9293 §3.8.6.1); once the application reads, a window update reopens it and the transfer completes.",
		run:        exWindow},
	{ID: "slowstart", Title: "TCP slow start (the TCP article)",
		Prediction: "A new connection sends its initial window (10 segments on Linux, RFC 6928), then doubles what it has in flight every round trip while the ACKs come back (RFC 5681 §3.1), as the sender's own congestion window (TCP_INFO) says.",
		run:        exSlowStart},
	{ID: "tcpudp", Title: "TCP and UDP client/server (the TCP article's closing exercise)",
		Prediction: "TCP (8080): the server accepts the connection — a three-way handshake on the wire — before any data, then receives and answers. UDP (8081): the data goes first, with no handshake. The article says the UDP server will not be seen responding; its code sends \"Hello from UDP server!\" with sendto, so the reply comes back: the code, not the prose, is what runs.",
		run:        exTCPUDP},
}

func opts(port, buf, count int, delay time.Duration) article.Options {
	return article.Options{Server: hsAddr, Port: port, Buffer: buf, Count: count, Delay: delay}
}

// cable pulls the S1–S2 cable at the article's 16th second and plugs it back
// at the 32nd, counted from t0.
func (x *run) cable(t0 time.Time) (pulled, plugged chan time.Time) {
	pulled, plugged = make(chan time.Time, 1), make(chan time.Time, 1)
	go func() {
		time.Sleep(time.Until(t0.Add(x.d(16))))
		_ = x.lab.Break()
		x.event(time.Now(), "cable pulled")
		pulled <- time.Now()
		time.Sleep(time.Until(t0.Add(x.d(32))))
		_ = x.lab.Restore()
		x.event(time.Now(), "cable plugged back")
		plugged <- time.Now()
	}()
	return pulled, plugged
}

func ex1(x *run) error {
	rec := x.record(lab.Hs, rawsock.Filter{Proto: craft.ProtoUDP, Port: 9999})
	srv := x.server(lab.Hs, "udp_server", article.UDPServer, opts(9999, 20, 0, 0))
	cli := x.client(lab.Hc, "udp_client", article.UDPClient, opts(9999, 50, 10, x.d(5)))
	_ = cli.wait(x.d(50) + 5*time.Second)
	time.Sleep(200 * time.Millisecond)
	srv.kill()
	_ = srv.wait(2 * time.Second)
	got := reads(srv.out.lines())
	x.see("the server made %d reads:", len(got))
	for i, r := range got {
		x.see("  read %d: %d bytes %q", i+1, len(r), r)
	}
	if len(got) != 10 {
		x.differ("%d reads, the article predicts 10", len(got))
	}
	for i, r := range got {
		if want := string(article.Message(i+1, 20)); r != want {
			x.differ("read %d is %q, predicted %q", i+1, r, want)
		}
	}
	ds := decoded(rec.Stop(), func(d *craft.Decoded, c *listen.Captured) bool { return d.Has(craft.LayerUDP) && d.UDP.DstPort == 9999 })
	x.see("a capture at Hs saw %d datagrams arrive, with %s data bytes", len(ds), sizes(ds))
	if len(ds) != 10 {
		x.differ("the capture at Hs saw %d datagrams, not 10", len(ds))
	}
	for _, d := range ds {
		if len(d.Payload) != 50 {
			x.differ("a datagram at Hs carried %d bytes, not the 50 sent", len(d.Payload))
		}
	}
	return nil
}

func sizes(ds []*craft.Decoded) string {
	seen := map[string]int{}
	for _, d := range ds {
		seen[fmt.Sprint(len(d.Payload))]++
	}
	var parts []string
	for _, k := range sortedKeys(seen) {
		parts = append(parts, fmt.Sprintf("%s (×%d)", k, seen[k]))
	}
	return strings.Join(parts, ", ")
}

func ex2(x *run) error {
	atHc := x.record(lab.Hc, rawsock.Filter{Proto: craft.ProtoUDP, Port: 9999})
	atHs := x.record(lab.Hs, rawsock.Filter{Proto: craft.ProtoUDP, Port: 9999})
	srv := x.server(lab.Hs, "udp_server", article.UDPServer, opts(9999, 50, 0, 0))
	t0 := time.Now()
	pulled, plugged := x.cable(t0)
	cli := x.client(lab.Hc, "udp_client", article.UDPClient, opts(9999, 50, 10, x.d(5)))
	_ = cli.wait(x.d(50) + 5*time.Second)
	tp, tr := <-pulled, <-plugged
	time.Sleep(200 * time.Millisecond)
	srv.kill()
	_ = srv.wait(2 * time.Second)
	x.see("cable pulled at %.1f s, plugged back at %.1f s", tp.Sub(t0).Seconds(), tr.Sub(t0).Seconds())
	var shown []string
	for _, r := range reads(srv.out.lines()) {
		shown = append(shown, fmt.Sprintf("%d", int(r[0]-'A')+1))
	}
	x.see("the server showed messages %s", strings.Join(shown, ", "))
	// Which messages met the pulled cable, from the kernel's timestamps
	// at Hc: 5–7 in the article's timing. At --fast speed message 4 leaves
	// 0.11 s before the pull, and a busy machine can slip a message across
	// either edge; one within 20 ms of an edge could go either way.
	capsHc := atHc.Stop()
	var want []string
	for i := range capsHc {
		c := &capsHc[i]
		var d craft.Decoded
		_ = d.DecodeFrame(c.Frame)
		if !c.Meta.Outgoing || !d.Has(craft.LayerUDP) || len(d.Payload) == 0 {
			continue
		}
		n := fmt.Sprintf("%d", int(d.Payload[0]-'A')+1)
		near := func(e time.Time) bool {
			dt := c.Meta.Time.Sub(e)
			return dt > -20*time.Millisecond && dt < 20*time.Millisecond
		}
		switch {
		case near(tp) || near(tr):
			x.see("message %s left within 20 ms of the cable's edge: lost or not, either is right", n)
			if slices.Contains(shown, n) {
				want = append(want, n)
			}
		case c.Meta.Time.After(tp) && c.Meta.Time.Before(tr):
		default:
			want = append(want, n)
		}
	}
	if w := strings.Join(want, ","); w != "1,2,3,4,8,9,10" {
		x.see("this run's schedule slipped: the messages sent while the cable was out were not 5–7, so the server should show %s", w)
	}
	if strings.Join(shown, ",") != strings.Join(want, ",") {
		x.differ("the server showed %s; the messages sent while the cable was in were %s", strings.Join(shown, ","), strings.Join(want, ","))
	}
	sent := decoded(capsHc, func(d *craft.Decoded, c *listen.Captured) bool { return c.Meta.Outgoing && d.Has(craft.LayerUDP) })
	got := decoded(atHs.Stop(), func(d *craft.Decoded, c *listen.Captured) bool { return d.Has(craft.LayerUDP) })
	x.see("a capture at Hc saw %d messages sent, one at Hs %d received: %d lost, never resent", len(sent), len(got), len(sent)-len(got))
	if len(sent) != 10 || len(got) != len(want) {
		x.differ("sent %d and received %d; 10 were written and %d sent while the cable was in", len(sent), len(got), len(want))
	}
	return nil
}

func ex3(x *run) error {
	rec := x.record(lab.Hs, rawsock.Filter{Proto: craft.ProtoUDP, Port: 8192})
	srv := x.server(lab.Hs, "nc -u -l 8192", article.UDPServer, opts(8192, 100, 0, 0))
	msgs := []string{"Hello\n", "UQUQUQHello\n", "llHeo\n"}
	err := x.lab.Do(lab.Hc, func() error {
		c, err := net.Dial("udp4", hsAddr+":8192") // one socket, one source port, as nc
		if err != nil {
			return err
		}
		defer c.Close()
		for _, m := range msgs {
			if _, err := c.Write([]byte(m)); err != nil {
				return err
			}
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	})
	if err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond)
	srv.kill()
	_ = srv.wait(2 * time.Second)
	ds := decoded(rec.Stop(), func(d *craft.Decoded, c *listen.Captured) bool { return d.Has(craft.LayerUDP) && d.UDP.DstPort == 8192 })
	if len(ds) != 3 {
		x.differ("the capture at Hs saw %d datagrams, not 3", len(ds))
		return nil
	}
	var sums []uint16
	for _, d := range ds {
		cs := d.UDP.Checksum.Or(0)
		sums = append(sums, cs)
		status := "unchecked"
		for _, c := range d.Checksums(nil) {
			if c.Layer == craft.LayerUDP {
				status = c.Status.String()
			}
		}
		x.see("%-16q UDP checksum 0x%04X (%s), from %v:%d", d.Payload, cs, status, d.IPv4.Src, d.UDP.SrcPort)
	}
	uq := craft.StepsOf([]byte("UQUQUQ"))
	x.see(`"UQUQUQ" words sum to 0x%04X; with the 6 bytes it adds to the length, counted twice (UDP header and pseudo-header), 0x%04X + 0x000C = 0x%04X`, uq.Sum, uq.Sum, uq.Sum+12)
	if sums[0] != sums[1] || sums[0] != sums[2] {
		x.differ("checksums 0x%04X, 0x%04X, 0x%04X differ", sums[0], sums[1], sums[2])
	}
	return nil
}

func ex4(x *run) error {
	// (a) reads of 20 bytes.
	srv := x.server(lab.Hs, "tcp_server -b 20", article.TCPServer, opts(9999, 20, 0, 0))
	cli := x.client(lab.Hc, "tcp_client", article.TCPClient, opts(9999, 50, 10, x.d(5)))
	_ = cli.wait(x.d(50) + 5*time.Second)
	_ = srv.wait(3 * time.Second)
	got := reads(srv.out.lines())
	all := strings.Join(got, "")
	var want strings.Builder
	for i := 1; i <= 10; i++ {
		want.Write(article.Message(i, 50))
	}
	x.see("with -b 20 the server made %d reads of %s bytes, %d bytes in all, in order: %v", len(got), readSizes(got), len(all), all == want.String())
	if all != want.String() {
		x.differ("the server read %d bytes %q…, not the 500 sent, in order", len(all), first(all, 60))
	}
	for _, r := range got {
		if len(r) > 20 {
			x.differ("a read of %d bytes with a 20-byte buffer", len(r))
		}
	}
	// (h) a slow reader: 100 bytes every two message intervals.
	srv = x.server(lab.Hs, "tcp_server -b 100 -r 10", article.TCPServer, article.Options{Server: hsAddr, Port: 9999, Buffer: 100, ReadDelay: x.d(10)})
	// Six messages, not ten: at one read of 100 bytes every two message
	// intervals the reader keeps up with them within the run's bound.
	const slowMsgs = 6
	cli = x.client(lab.Hc, "tcp_client", article.TCPClient, opts(9999, 50, slowMsgs, x.d(5)))
	_ = cli.wait(x.d(30) + 5*time.Second)
	_ = srv.wait(x.d(40) + 5*time.Second)
	got = reads(srv.out.lines())
	combined, read := 0, 0
	for _, r := range got {
		read += len(r)
		if len(letters(r)) > 1 {
			combined++
		}
	}
	x.see("the client sent %d messages of 50 bytes this time (%s, %d bytes); with -b 100 and a read every %v, the reads were %s: %d of %d bytes read, %d reads held two messages",
		slowMsgs, fmt.Sprintf("%c–%c", 'A', 'A'+slowMsgs-1), slowMsgs*50, x.d(10), readLetters(got), read, slowMsgs*50, combined)
	if combined == 0 {
		x.differ("no read combined two messages")
	}
	if read != slowMsgs*50 {
		x.differ("the slow reader read %d of the %d bytes sent", read, slowMsgs*50)
	}
	return nil
}

func readSizes(rs []string) string {
	seen := map[string]int{}
	for _, r := range rs {
		seen[fmt.Sprint(len(r))]++
	}
	var parts []string
	for _, k := range sortedKeys(seen) {
		parts = append(parts, fmt.Sprintf("%s (×%d)", k, seen[k]))
	}
	return strings.Join(parts, ", ")
}

func readLetters(rs []string) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%d bytes %s", len(r), letters(r)))
	}
	return strings.Join(parts, "; ")
}

func first(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func ex5(x *run) error {
	atHc := x.record(lab.Hc, rawsock.Filter{Proto: craft.ProtoTCP, Port: 9999})
	srv := x.server(lab.Hs, "tcp_server", article.TCPServer, opts(9999, 20, 0, 0))
	t0 := time.Now()
	pulled, plugged := x.cable(t0)
	cli := x.client(lab.Hc, "tcp_client", article.TCPClient, opts(9999, 50, 10, x.d(5)))
	_ = cli.wait(x.d(50) + 5*time.Second)
	tp, tr := <-pulled, <-plugged
	_ = srv.wait(3 * time.Second)
	caps := atHc.Stop()
	x.see("cable pulled at %.1f s, plugged back at %.1f s", tp.Sub(t0).Seconds(), tr.Sub(t0).Seconds())
	// When did the server's application get E, F and G?
	var efg []time.Time
	var all strings.Builder
	for _, e := range srv.out.timed() {
		if r := reads([]string{e.line}); len(r) == 1 {
			all.WriteString(r[0])
			if strings.ContainsAny(r[0], "EFG") {
				efg = append(efg, e.t)
			}
		}
	}
	var want strings.Builder
	for i := 1; i <= 10; i++ {
		want.Write(article.Message(i, 50))
	}
	if all.String() != want.String() {
		x.differ("the server read %d bytes, not the 500 sent, in order", all.Len())
	}
	if len(efg) > 0 {
		span := efg[len(efg)-1].Sub(efg[0])
		together := fmt.Sprintf("within %v of each other", span.Round(time.Millisecond))
		if span < time.Millisecond {
			together = "at the same moment (within 1 ms)"
		}
		x.see("messages 5–7 reached the server application %.2f s after the start, %s, after the cable came back at %.2f s", efg[0].Sub(t0).Seconds(), together, tr.Sub(t0).Seconds())
		if efg[0].Before(tr) {
			x.differ("message 5 arrived before the cable came back")
		}
		if span > x.d(5)/2 {
			x.differ("messages 5–7 arrived %v apart, not together", span)
		}
	} else {
		x.differ("messages 5–7 never reached the server")
	}
	// Retransmissions, from the capture at Hc.
	an := listen.NewTCPAnalyzer()
	var isn uint32
	for i := range caps {
		p := listen.Packet{Frame: caps[i].Frame, Meta: caps[i].Meta}
		p.Err = p.Decoded.DecodeFrame(p.Frame)
		if p.Decoded.Has(craft.LayerTCP) && p.Decoded.TCP.Flags == craft.TCPSyn && p.Meta.Outgoing {
			isn = p.Decoded.TCP.Seq
		}
		an.Add(&p)
	}
	// The segment retransmitted is the first one the pulled cable
	// swallowed: message 5 in the article's timing. At --fast speed
	// message 4 leaves only 0.11 s before the pull, and on a busy machine
	// the client's schedule can slip past it: then message 4 is the one
	// resent, and 5–7 wait behind it in the send buffer (after a
	// retransmission timeout the congestion window is one segment, RFC
	// 5681 §3.1, and the resent one fills it).
	var ivs []time.Duration
	first := -1
	for _, s := range an.Retransmitted() {
		if s.Flow.Src != lab.AddrHc || s.Len == 0 || len(s.Copies) == 0 || s.Copies[0].Before(tp.Add(-time.Second)) {
			continue
		}
		if first < 0 || s.Seq-isn < uint32(first) {
			first, ivs = int(s.Seq-isn), s.Intervals()
		}
	}
	msg := 5
	if first > 0 {
		msg = (first-1)/50 + 1
	}
	var parts []string
	for _, iv := range ivs {
		parts = append(parts, fmt.Sprintf("%.2f s", iv.Seconds()))
	}
	x.see("message %d (seq %d) went out %d times; intervals %s", msg, isn+1+uint32(msg-1)*50, len(ivs)+1, strings.Join(parts, ", "))
	if msg != 5 && first > 0 {
		x.see("message %d, not 5, was the first segment the cable swallowed (this run's schedule slipped: at --fast speed message 4 leaves 0.11 s before the pull), so it is the one resent; the capture shows 5–7 leaving only once it was acknowledged (RFC 5681 §3.1 allows one segment in flight after a retransmission timeout, and the resent one is it)", msg)
	}
	okDoubling := 0
	for i := 1; i < len(ivs); i++ {
		if r := float64(ivs[i]) / float64(ivs[i-1]); r >= 1.5 && r <= 2.5 {
			okDoubling++
		}
	}
	if len(ivs) < 3 || okDoubling < len(ivs)-2 {
		x.differ("the retransmission intervals %s do not double (Linux may send one tail loss probe first)", strings.Join(parts, ", "))
	}
	// Steps (f) and (h): 6 and 7 in a single segment, one ACK for both.
	var together bool
	for _, d := range decoded(caps, func(d *craft.Decoded, c *listen.Captured) bool {
		return c.Meta.Outgoing && d.Has(craft.LayerTCP) && len(d.Payload) > 0
	}) {
		rel := d.TCP.Seq - isn
		if rel <= 251 && rel+uint32(len(d.Payload)) >= 351 {
			together = true
			x.see("after the cable came back, one segment carried relative bytes %d–%d: messages %s", rel, rel+uint32(len(d.Payload))-1, letters(string(d.Payload)))
		}
	}
	acks := decoded(caps, func(d *craft.Decoded, c *listen.Captured) bool {
		return !c.Meta.Outgoing && d.Has(craft.LayerTCP) && d.TCP.Flags&craft.TCPAck != 0 && d.IPv4.Src == lab.AddrHs
	})
	var ackedRel []uint32
	for _, d := range acks {
		rel := d.TCP.Ack - isn
		if rel > 201 && rel <= 401 && (len(ackedRel) == 0 || ackedRel[len(ackedRel)-1] != rel) {
			ackedRel = append(ackedRel, rel)
		}
	}
	// Message k is relative bytes 50(k−1)+1 to 50k: a cumulative ACK of
	// 50k+1 acknowledges every byte through message k.
	var said []string
	for _, a := range ackedRel {
		said = append(said, fmt.Sprintf("%d (every byte through message %d)", a, (a-1)/50))
	}
	x.see("after message 4, the server's cumulative ACKs (relative sequence numbers) were %s", strings.Join(said, ", "))
	if !together {
		x.differ("messages 6 and 7 never travelled in one segment")
	}
	for _, a := range ackedRel {
		if a == 301 {
			x.differ("message 6 was acknowledged on its own (ack 301), not with 7")
		}
	}
	return nil
}

func ex6(x *run) error {
	// (c, d): nc to a port where nothing listens.
	atHc := x.record(lab.Hc, rawsock.Filter{Proto: craft.ProtoTCP, Host: lab.AddrHs})
	var dialErr error
	_ = x.lab.Do(lab.Hc, func() error {
		c, err := net.DialTimeout("tcp4", hsAddr+":8888", 2*time.Second)
		if err == nil {
			c.Close()
		}
		dialErr = err
		return nil
	})
	time.Sleep(100 * time.Millisecond)
	caps := atHc.Snapshot()
	rst := decoded(caps, func(d *craft.Decoded, c *listen.Captured) bool {
		return d.Has(craft.LayerTCP) && d.TCP.SrcPort == 8888 && d.TCP.Flags&craft.TCPRst != 0
	})
	dialSaid := "connect() succeeded"
	if dialErr != nil {
		dialSaid = callWords(dialErr)
	}
	x.see("connecting to %s:8888: %s; the capture at Hc shows %d RST from Hs", hsAddr, dialSaid, len(rst))
	if !errors.Is(dialErr, syscall.ECONNREFUSED) || len(rst) != 1 {
		x.differ("connecting to a closed port: %s and %d RSTs, predicted ECONNREFUSED and one RST", dialSaid, len(rst))
	}
	// (e–i): streaming, and the server killed after the first message.
	srv := x.server(lab.Hs, "tcp_server", article.TCPServer, opts(9999, 20, 0, 0))
	cli := x.client(lab.Hc, "tcp_client", article.TCPClient, opts(9999, 50, 10, x.d(5)))
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(reads(srv.out.lines())) >= 3 { // the first message, in reads of 20
			break
		}
	}
	srv.kill() // Ctrl-C: the process's sockets close
	killedAt := time.Now()
	cliErr := cli.wait(x.d(50) + 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	caps = atHc.Stop()
	resets := decoded(caps, func(d *craft.Decoded, c *listen.Captured) bool {
		return d.Has(craft.LayerTCP) && d.TCP.SrcPort == 9999 && d.TCP.Flags&craft.TCPRst != 0 && c.Meta.Time.After(killedAt)
	})
	fins := decoded(caps, func(d *craft.Decoded, c *listen.Captured) bool {
		return d.Has(craft.LayerTCP) && d.TCP.SrcPort == 9999 && d.TCP.Flags&craft.TCPFin != 0
	})
	cliSaid := "no error"
	if cliErr != nil {
		cliSaid = callWords(cliErr)
	}
	x.see("after the server was killed: its kernel sent %d FIN and %d RST; the client ended with: %s", len(fins), len(resets), cliSaid)
	if len(resets) == 0 {
		x.differ("no RST from Hs after the server was killed")
	}
	if cliErr == nil {
		x.differ("the client's sends never failed")
	}
	return nil
}

func ex7(x *run) error { return udpToClosedPort(x, lab.AddrHc, lab.AddrHs) }

// ex7v6 is Exercise 7 between the lab's IPv6 addresses.
func ex7v6(x *run) error { return udpToClosedPort(x, lab.Addr6Hc, lab.Addr6Hs) }

// udpToClosedPort sends "Hello\n" from an ordinary UDP socket on Hc (at
// src) to port 8192 of dst, where nothing listens, and checks what the
// article predicts: one ICMP (or ICMPv6) port unreachable quoting the
// datagram comes back, and sendto reports nothing.
func udpToClosedPort(x *run, src, dst netip.Addr) error {
	v6 := dst.Is6()
	atHc := x.record(lab.Hc, rawsock.Filter{Host: dst})
	var sendErr error
	_ = x.lab.Do(lab.Hc, func() error {
		c, err := net.ListenPacket("udp", netip.AddrPortFrom(src, 0).String())
		if err != nil {
			return err
		}
		defer c.Close()
		_, sendErr = c.WriteTo([]byte("Hello\n"), net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 8192)))
		return nil
	})
	isUnreach := func(d *craft.Decoded, c *listen.Captured) bool {
		if v6 {
			return d.Has(craft.LayerICMPv6) && d.ICMPv6.Type == craft.ICMPv6Unreachable && d.ICMPv6.Code == 4
		}
		return d.Has(craft.LayerICMP) && d.ICMP.Type == craft.ICMPUnreachable && d.ICMP.Code == craft.CodePortUnreachable
	}
	// The error comes back in well under a millisecond; on a busy machine
	// give it up to 3 s before calling it missing.
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(decoded(atHc.Snapshot(), isUnreach)) > 0 {
			break
		}
	}
	time.Sleep(50 * time.Millisecond)
	icmp := decoded(atHc.Stop(), isUnreach)
	name := map[bool]string{false: "ICMP", true: "ICMPv6"}[v6]
	if sendErr == nil {
		x.see("the client's sendto returned no error")
	} else {
		x.see("the client's sendto returned %v", sendErr)
	}
	if len(icmp) == 1 {
		d := icmp[0]
		x.see("the capture at Hc shows: %s", d.Summary())
		q := &d.Quoted
		if q.Layers&craft.LayerUDP == 0 || q.UDP.DstPort != 8192 || string(q.Payload) != "Hello\n" {
			x.differ("the %s error quotes %v, not our datagram", name, q.Layers)
		} else if v6 {
			x.see("it quotes our whole datagram: IPv6 %v → %v, UDP port %d, %q", q.IPv6.Src, q.IPv6.Dst, q.UDP.DstPort, q.Payload)
		}
	} else {
		x.differ("%d %s port unreachable at Hc, predicted one", len(icmp), name)
	}
	if sendErr != nil {
		x.differ("the client was told %v", sendErr)
	}
	return nil
}

func exOpen(x *run) error {
	atHc := x.record(lab.Hc, rawsock.Filter{Proto: craft.ProtoTCP, Port: 9999})
	srv := x.server(lab.Hs, "tcp_server", article.TCPServer, opts(9999, 20, 0, 0))
	cli := x.client(lab.Hc, "tcp_client", article.TCPClient, opts(9999, 50, 1, 0))
	_ = cli.wait(5 * time.Second)
	_ = srv.wait(3 * time.Second)
	isTCP := func(d *craft.Decoded, c *listen.Captured) bool { return d.Has(craft.LayerTCP) }
	// The programs have ended, but on a busy machine the capture may not yet
	// have read every segment: wait (at most 3 s) until both FINs are in.
	isFIN := func(d *craft.Decoded, c *listen.Captured) bool { return isTCP(d, c) && d.TCP.Flags&craft.TCPFin != 0 }
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(decoded(atHc.Snapshot(), isFIN)) >= 2 {
			break
		}
	}
	segs := decoded(atHc.Stop(), isTCP)
	if len(segs) < 3 {
		x.differ("only %d segments captured", len(segs))
		return nil
	}
	syn, synack, ack := &segs[0].TCP, &segs[1].TCP, &segs[2].TCP
	x.see("SYN      seq x = %d; options: %s", syn.Seq, strings.Join(craft.DescribeOptions(syn.Options, false), "; "))
	x.see("SYN-ACK  seq y = %d, ack %d = x + 1; options: %s", synack.Seq, synack.Ack, strings.Join(craft.DescribeOptions(synack.Options, false), "; "))
	x.see("ACK      seq %d = x + 1, ack %d = y + 1", ack.Seq, ack.Ack)
	if syn.Flags != craft.TCPSyn || synack.Flags != craft.TCPSyn|craft.TCPAck || ack.Flags&craft.TCPAck == 0 ||
		synack.Ack != syn.Seq+1 || ack.Seq != syn.Seq+1 || ack.Ack != synack.Seq+1 {
		x.differ("the handshake was %s, %s, %s with other numbers", craft.FlagNames(syn.Flags), craft.FlagNames(synack.Flags), craft.FlagNames(ack.Flags))
	}
	return nil
}

// exClose closes one connection twice over: once with the article's server,
// which closes as soon as it reads the end of the stream, and once with a
// server whose application waits closeWait before closing. It tells what
// the wire showed each time (teardown), and checks the article's four
// segments where the application waited.
func exClose(x *run) error {
	// The article's server: it closes as soon as it reads the end of the
	// stream, usually before Linux's delayed ACK of the client's FIN is due.
	atHc := x.record(lab.Hc, rawsock.Filter{Proto: craft.ProtoTCP, Port: 9999})
	srv := x.server(lab.Hs, "tcp_server", article.TCPServer, opts(9999, 100, 0, 0))
	cli := x.client(lab.Hc, "tcp_client", article.TCPClient, opts(9999, 50, 1, 0))
	_ = cli.wait(5 * time.Second) // the client closes after its message
	_ = srv.wait(3 * time.Second) // the server reads EOF and closes
	first := x.closeOf(atHc, "the server closes as soon as it reads the end of the stream")

	// A server whose application waits before closing: the kernel
	// acknowledges the client's FIN on its own, then the FIN follows.
	atHc = x.record(lab.Hc, rawsock.Filter{Proto: craft.ProtoTCP, Port: 9996})
	done, err := x.lingeringServer(9996, closeWait)
	if err != nil {
		return err
	}
	cli = x.client(lab.Hc, "tcp_client", article.TCPClient, opts(9996, 50, 1, 0))
	_ = cli.wait(5 * time.Second)
	select {
	case <-done:
	case <-time.After(closeWait + 3*time.Second):
	}
	second := x.closeOf(atHc, fmt.Sprintf("the server's application waits %.1f s after the end of the stream before it closes", closeWait.Seconds()))
	if first == nil || second == nil {
		return nil
	}
	if second.Segments != 4 {
		x.differ("the server's application waited %.1f s, yet the close took %d segments, not the article's four", closeWait.Seconds(), second.Segments)
	}
	return nil
}

// closeWait is how long the second server of exClose waits between reading
// the end of the stream and closing: longer than Linux's delayed ACK (at
// most 200 ms, RFC 9293 §3.8.6.3 allows 500 ms).
const closeWait = 600 * time.Millisecond

// closeOf reads a recording of one connection's close (Hc closes first),
// adds what it shows to the observation, checks each FIN's acknowledgment,
// and returns it; nil when the close is incomplete (told as a difference).
func (x *run) closeOf(rec *listen.Recorder, how string) *teardown {
	// The programs have ended; on a busy machine the capture may not yet
	// have read every segment: wait (at most 3 s) for both FINs and the
	// last ACK.
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if td := closeTeardown(rec.Snapshot(), lab.AddrHc); td.Complete() {
			break
		}
	}
	caps := rec.Stop()
	if closeCaptureHook != nil {
		closeCaptureHook(caps)
	}
	td := closeTeardown(caps, lab.AddrHc)
	x.see("%s:", how)
	for _, l := range td.Lines() {
		x.see("  %s", l)
	}
	if !td.Complete() {
		x.differ("%s: %s", how, td.Missing())
		return nil
	}
	return &td
}

// closeCaptureHook, when set (by a test), gets each close's captured frames.
var closeCaptureHook func([]listen.Captured)

// lingeringServer runs a TCP server in Hs on port: it accepts one
// connection, reads until the end of the stream, waits wait and closes.
// done is closed when it has closed (or given up, after 5 s without a
// client).
func (x *run) lingeringServer(port int, wait time.Duration) (done chan struct{}, err error) {
	var l *net.TCPListener
	err = x.lab.Do(lab.Hs, func() error {
		a, err := net.ResolveTCPAddr("tcp4", fmt.Sprintf("%s:%d", hsAddr, port))
		if err != nil {
			return err
		}
		l, err = net.ListenTCP("tcp4", a)
		return err
	})
	if err != nil {
		return nil, err
	}
	done = make(chan struct{})
	go func() {
		defer close(done)
		defer l.Close()
		_ = l.SetDeadline(time.Now().Add(5 * time.Second))
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		time.Sleep(wait)
	}()
	return done, nil
}

// callWords says a failed socket call as the article teaches it, by the
// system call and its errno: "connect() failed: ECONNREFUSED — connection
// refused", "write() failed: EPIPE — broken pipe"; not Go's "dial tcp4
// 198.18.1.1:8888: connect: connection refused". An error without an errno
// is said as it is.
func callWords(err error) string {
	var no syscall.Errno
	if !errors.As(err, &no) {
		return err.Error()
	}
	call := "a socket call"
	var se *os.SyscallError
	var op *net.OpError
	switch {
	case errors.As(err, &se):
		call = se.Syscall + "()"
	case errors.As(err, &op):
		call = op.Op + "()"
	}
	if name := errnoName(no); name != "" {
		return fmt.Sprintf("%s failed: %s — %s", call, name, no.Error())
	}
	return fmt.Sprintf("%s failed: %s", call, no.Error())
}
