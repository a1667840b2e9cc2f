package session_test

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/rawcraft/rawcraft/session"
	"golang.org/x/sys/unix"
)

type served struct {
	res session.ServerResult
	err error
}

// serve starts a Server in Hs on Hs's own address (the firewall guard) and
// runs it in the background; the recorder captures the port at Hs.
func serve(t *testing.T, l *lab.Lab, cfg session.ServerConfig) (<-chan served, *listen.Recorder) {
	t.Helper()
	cfg.Addr, cfg.Scope = lab.AddrHs, labScope()
	var srv *session.Server
	var ln *listen.Listener
	if err := l.Do(lab.Hs, func() (err error) {
		if srv, err = session.NewServer(cfg); err != nil {
			return err
		}
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		prog, err := rawsock.Filter{Proto: craft.ProtoTCP, Port: cfg.Port}.Compile()
		if err != nil {
			return err
		}
		ln, err = listen.Listen(ifi, &listen.Config{Filter: prog, ReadBuffer: 8 << 20})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan served, 1)
	go func() {
		res, err := srv.Run()
		if cerr := srv.Close(); err == nil {
			err = cerr
		}
		ch <- served{res, err}
	}()
	return ch, listen.Record(ln, 0)
}

// dialHs connects from Hc to Hs:port with an ordinary socket.
func dialHs(t *testing.T, l *lab.Lab, port int) *net.TCPConn {
	t.Helper()
	var c net.Conn
	if err := l.Do(lab.Hc, func() (err error) {
		c, err = net.DialTimeout("tcp4", net.JoinHostPort(lab.AddrHs.String(), strconv.Itoa(port)), 3*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

func tcpInfo(t *testing.T, c *net.TCPConn) *unix.TCPInfo {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	var ierr error
	if err := rc.Control(func(fd uintptr) { info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil || ierr != nil {
		t.Fatalf("TCP_INFO: %v %v", err, ierr)
	}
	return info
}

// analyze runs listen's analyzer over the captured frames and writes them
// to a pcap file for tshark.
func analyze(t *testing.T, got []listen.Captured) ([]listen.TCPEvent, []*craft.Decoded, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "conn.pcap")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcap.NewWriter(f, pcap.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	a := listen.NewTCPAnalyzer()
	var evs []listen.TCPEvent
	var ds []*craft.Decoded
	for _, c := range got {
		if err := w.Write(c.Meta.Time, c.Frame); err != nil {
			t.Fatal(err)
		}
		p := listen.Packet{Frame: c.Frame, Meta: c.Meta}
		p.Err = p.Decoded.DecodeFrame(c.Frame)
		evs = append(evs, a.Add(&p))
		d := p.Decoded
		ds = append(ds, &d)
	}
	return evs, ds, file
}

// tsharkNotes reads tshark's TCP analysis of every frame
// (oracle.TsharkTCPAnalysis) as listen's notes.
func tsharkNotes(t *testing.T, file string) []listen.TCPNote {
	t.Helper()
	var notes []listen.TCPNote
	for _, a := range oracle.TsharkTCPAnalysis(t, file) {
		var n listen.TCPNote
		for _, f := range []struct {
			on   bool
			note listen.TCPNote
		}{{a.ZeroWindow, listen.TCPZeroWindow}, {a.ZeroWindowProbe, listen.TCPZeroWindowProbe}, {a.KeepAlive, listen.TCPKeepAlive},
			{a.DupAck > 0, listen.TCPDupAck}, {a.Retransmission, listen.TCPRetransmission}, {a.OutOfOrder, listen.TCPOutOfOrder}} {
			if f.on {
				n |= f.note
			}
		}
		notes = append(notes, n)
	}
	return notes
}

// tcpi_options bits (linux/tcp.h).
const (
	tcpiOptTimestamps = 1
	tcpiOptSACK       = 2
	tcpiOptWscale     = 4
)

const compared = listen.TCPZeroWindow | listen.TCPZeroWindowProbe | listen.TCPKeepAlive | listen.TCPDupAck | listen.TCPRetransmission | listen.TCPOutOfOrder

// With --win 0 the client's kernel may send nothing: it probes the closed
// window, again and again; rawcraft answers each probe with its zero
// window. On the wire: our zero windows and the client's probes, labelled
// by listen's analyzer as tshark labels them.
func TestServerZeroWindowProbes(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	ch, rec := serve(t, l, session.ServerConfig{Port: 9100, Window: 0, For: 2500 * time.Millisecond})
	c := dialHs(t, l, 9100)
	if _, err := c.Write(bytes.Repeat([]byte("z"), 1000)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	info := tcpInfo(t, c)
	s := <-ch
	time.Sleep(50 * time.Millisecond)
	got := rec.Stop()
	if s.err != nil || !s.res.Connected || !s.res.Expired {
		t.Fatalf("server: %v, connected %v, expired %v", s.err, s.res.Connected, s.res.Expired)
	}
	if s.res.Bytes != 0 || s.res.Probes < 2 {
		t.Errorf("the server took %d bytes and answered %d probes; want none taken and the probes answered", s.res.Bytes, s.res.Probes)
	}
	if info.Snd_wnd != 0 || info.Probes == 0 && info.Backoff == 0 {
		t.Errorf("the client's TCP_INFO: snd_wnd %d, probes %d, backoff %d; want a zero window it is probing", info.Snd_wnd, info.Probes, info.Backoff)
	}
	evs, ds, file := analyze(t, got)
	probes, zero := 0, 0
	for i, ev := range evs {
		if !ds[i].Has(craft.LayerTCP) || ds[i].TCP.Flags&craft.TCPSyn != 0 {
			continue
		}
		fromClient := ds[i].TCP.DstPort == 9100
		switch {
		case fromClient && len(ds[i].Payload) > 0:
			t.Errorf("frame %d: the client sent %d bytes into a zero window", i+1, len(ds[i].Payload))
		case fromClient && (ev.Note.Has(listen.TCPZeroWindowProbe) || ev.Note.Has(listen.TCPKeepAlive)):
			probes++
		case !fromClient && ds[i].TCP.Flags&craft.TCPRst == 0:
			if ds[i].TCP.Window != 0 || !ev.Note.Has(listen.TCPZeroWindow) {
				t.Errorf("frame %d: our %s window %d note %q; want a zero window, labelled so", i+1, craft.FlagNames(ds[i].TCP.Flags), ds[i].TCP.Window, ev.Note)
			}
			zero++
		}
	}
	if probes < 2 || probes != s.res.Probes || zero < probes {
		t.Errorf("%d probes on the wire, %d answered by rawcraft, %d zero-window segments of ours; want at least 2, each answered", probes, s.res.Probes, zero)
	}
	theirs := tsharkNotes(t, file)
	if len(theirs) != len(evs) {
		t.Fatalf("tshark read %d frames, the analyzer %d", len(theirs), len(evs))
	}
	for i := range evs {
		if evs[i].Note&compared != theirs[i]&compared {
			t.Errorf("frame %d: rawcraft %q, tshark %q", i+1, evs[i].Note&compared, theirs[i]&compared)
		}
	}
	t.Logf("%d frames, %d probes; the client's TCP_INFO: probes %d backoff %d rto %d µs", len(evs), probes, info.Probes, info.Backoff, info.Rto)
}

// A small window read slowly, ACKs delayed: the client's kernel never has more bytes in
// flight than rawcraft's window (TCP_INFO, sampled all along), the transfer
// takes as long as the reads say, and every byte arrives in order.
func TestServerSlowReadBoundsInFlight(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	const win, step, every, total = 4000, 1000, 40 * time.Millisecond, 20000
	// ACKs delayed 25 ms keep the bytes in flight long enough to be seen.
	ch, rec := serve(t, l, session.ServerConfig{Port: 9101, Window: win, ReadBytes: step, ReadEvery: every, AckDelay: 25 * time.Millisecond, For: 8 * time.Second})
	c := dialHs(t, l, 9101)
	data := make([]byte, total)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = c.Write(data)
		_ = c.CloseWrite()
	}()
	maxFlight, maxWnd, samples := int64(0), uint32(0), 0
	for time.Since(start) < 6*time.Second {
		i := tcpInfo(t, c)
		// bytes_acked counts the SYN's sequence number too; bytes_sent
		// counts data only, retransmissions included.
		flight := int64(i.Bytes_sent) - int64(i.Bytes_retrans) - (int64(i.Bytes_acked) - 1)
		maxFlight, maxWnd = max(maxFlight, flight), max(maxWnd, i.Snd_wnd)
		samples++
		if flight > win {
			t.Errorf("TCP_INFO: %d bytes in flight, above the %d-byte window (snd_wnd %d)", flight, win, i.Snd_wnd)
		}
		if i.Bytes_acked > total {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	took := time.Since(start)
	wg.Wait()
	s := <-ch
	got := rec.Stop()
	if s.err != nil || !s.res.Closed || !bytes.Equal(s.res.Received, data) {
		t.Fatalf("server: %v, closed %v, received %d bytes (want the %d sent, in order)", s.err, s.res.Closed, len(s.res.Received), total)
	}
	// The application reads 1000 bytes every 40 ms: after the first 4000,
	// 16 reads are needed for the rest.
	if want := (total - win) / step * every; took < want*9/10 {
		t.Errorf("the transfer took %v; the slow reads alone need %v", took, want)
	}
	if maxFlight < win/2 || maxWnd > win {
		t.Errorf("at most %d bytes in flight, window at most %d; want the window filled and never above %d", maxFlight, maxWnd, win)
	}
	// On the wire, our window fields: never above the buffer, never moving
	// the right edge left.
	var lastEdge uint32
	for _, cp := range got {
		var d craft.Decoded
		if d.DecodeFrame(cp.Frame) != nil || d.TCP.SrcPort != 9101 || d.TCP.Flags&(craft.TCPSyn|craft.TCPRst) != 0 {
			continue
		}
		edge := d.TCP.Ack + uint32(d.TCP.Window)
		if int(d.TCP.Window) > win || lastEdge != 0 && int32(edge-lastEdge) < 0 {
			t.Errorf("%s: window %d, right edge %d after %d", d.Summary(), d.TCP.Window, edge, lastEdge)
		}
		lastEdge = edge
	}
	t.Logf("%d TCP_INFO samples: at most %d bytes in flight, snd_wnd at most %d; %v for %d bytes", samples, maxFlight, maxWnd, took, total)
}

// Window scaling and timestamps as negotiated: a 200000-byte window with
// scale 7 reaches the client's kernel as exactly 199936 bytes (1562 << 7),
// and every ACK's TSecr echoes a TSval the client sent.
func TestServerScalesWindowAndEchoesTimestamps(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	opts, err := craft.ParseTCPOptions("mss=1460,sackok,ts=1000:0,nop,wscale=7")
	if err != nil {
		t.Fatal(err)
	}
	ch, rec := serve(t, l, session.ServerConfig{Port: 9102, Window: 200000, Options: opts, For: 5 * time.Second})
	c := dialHs(t, l, 9102)
	if _, err := c.Write(bytes.Repeat([]byte("w"), 30000)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	info := tcpInfo(t, c)
	c.Close()
	s := <-ch
	got := rec.Stop()
	if s.err != nil || !s.res.Closed || s.res.Bytes != 30000 {
		t.Fatalf("server: %v, closed %v, %d bytes", s.err, s.res.Closed, s.res.Bytes)
	}
	if info.Snd_wnd != 1562<<7 || info.Options&tcpiOptWscale == 0 || info.Options&tcpiOptTimestamps == 0 || info.Options&tcpiOptSACK == 0 {
		t.Errorf("the client's TCP_INFO: snd_wnd %d, options %#x; want %d and wscale, timestamps, SACK", info.Snd_wnd, info.Options, 1562<<7)
	}
	sent := map[uint32]bool{}
	checked := 0
	for _, cp := range got {
		var d craft.Decoded
		if d.DecodeFrame(cp.Frame) != nil {
			continue
		}
		ok, tsval, tsecr := timestamps(d.TCP.Options)
		if d.TCP.DstPort == 9102 {
			sent[tsval] = ok
			continue
		}
		if d.TCP.Flags&(craft.TCPSyn|craft.TCPRst) != 0 {
			continue
		}
		checked++
		if !ok || !sent[tsecr] || d.TCP.Window != 1562 {
			t.Errorf("%s: timestamps %v TSecr %d, window field %d; want an echo of a client TSval and 1562", d.Summary(), ok, tsecr, d.TCP.Window)
		}
	}
	if checked < 3 {
		t.Fatalf("only %d segments of ours checked", checked)
	}
}

// A withheld ACK: the client's kernel hears nothing for its data and sends
// it again after its retransmission timeout (at least Linux's 200 ms
// minimum, RFC 6298 §2.4's floor lowered); the second copy is acknowledged
// and the data delivered once.
func TestServerWithheldAckRetransmit(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	ch, rec := serve(t, l, session.ServerConfig{Port: 9103, Window: 65535, Withhold: 1, For: 4 * time.Second})
	c := dialHs(t, l, 9103)
	if _, err := c.Write([]byte("hello, receiver")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	info := tcpInfo(t, c)
	c.Close()
	s := <-ch
	got := rec.Stop()
	if s.err != nil || string(s.res.Received) != "hello, receiver" || s.res.Withheld != 1 {
		t.Fatalf("server: %v, received %q, %d ACKs withheld", s.err, s.res.Received, s.res.Withheld)
	}
	if info.Total_retrans < 1 || info.Unacked != 0 {
		t.Errorf("the client's TCP_INFO: %d retransmissions, %d unacknowledged; want at least one, and then everything acknowledged", info.Total_retrans, info.Unacked)
	}
	a := listen.NewTCPAnalyzer()
	for _, cp := range got {
		p := listen.Packet{Frame: cp.Frame, Meta: cp.Meta}
		p.Err = p.Decoded.DecodeFrame(cp.Frame)
		a.Add(&p)
	}
	segs := a.Retransmitted()
	if len(segs) != 1 || segs[0].Len != len("hello, receiver") {
		t.Fatalf("%d retransmitted segments; want the data segment", len(segs))
	}
	iv := segs[0].Intervals()
	if iv[0] < 200*time.Millisecond {
		t.Errorf("the first retransmission came %v after the original: sooner than Linux's minimum RTO of 200 ms", iv[0])
	}
	t.Logf("retransmitted after %v (the client's RTO now %d µs)", iv, info.Rto)
}

// One data segment lost on the cable: every later one arrives out of
// order, and rawcraft answers each with a duplicate ACK carrying SACK
// blocks for what it holds; the client's kernel fast-retransmits the hole
// well before its RTO, and everything arrives in order.
func TestServerSACKForOutOfOrder(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	// The second data segment: not a SYN (its options make it 60 bytes),
	// longer than a pure ACK's 52.
	if err := l.Impair(lab.Impairment{Dir: lab.ToHs, DropNth: 2, Drop: lab.Match{Proto: 6, Port: 9104, MinLen: 53, Flags: craft.TCPAck, FlagMask: craft.TCPAck | craft.TCPSyn}}); err != nil {
		t.Fatal(err)
	}
	ch, rec := serve(t, l, session.ServerConfig{Port: 9104, Window: 65535, For: 5 * time.Second})
	c := dialHs(t, l, 9104)
	_ = c.SetNoDelay(true)
	data := make([]byte, 8*1000)
	for i := range data {
		data[i] = byte('A' + i%26)
	}
	if _, err := c.Write(data); err != nil { // six segments at once: the initial window is ten
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	info := tcpInfo(t, c)
	c.Close()
	s := <-ch
	got := rec.Stop()
	if s.err != nil || !bytes.Equal(s.res.Received, data) {
		t.Fatalf("server: %v, %d bytes received in order (want %d)", s.err, len(s.res.Received), len(data))
	}
	if !s.res.SACK || s.res.SACKs < 3 {
		t.Fatalf("SACK negotiated %v, %d SACKs sent; want at least 3", s.res.SACK, s.res.SACKs)
	}
	evs, ds, _ := analyze(t, got)
	var hole uint32
	var firstDup, retrans time.Time
	dups := 0
	for i, ev := range evs {
		d := ds[i]
		if !d.Has(craft.LayerTCP) {
			continue
		}
		if d.TCP.SrcPort == 9104 && ev.Note.Has(listen.TCPDupAck) {
			dups++
			if ev.NSACK == 0 || int32(ev.SACK[0].Left-d.TCP.Ack) <= 0 {
				t.Errorf("frame %d: duplicate ACK %d with SACK %v; want a block above the hole", i+1, d.TCP.Ack, ev.SACK[:ev.NSACK])
			}
			if firstDup.IsZero() {
				firstDup, hole = got[i].Meta.Time, d.TCP.Ack
			}
		}
		if d.TCP.DstPort == 9104 && ev.Note.Has(listen.TCPRetransmission) && d.TCP.Seq == hole && retrans.IsZero() {
			retrans = got[i].Meta.Time
		}
	}
	if dups < 3 || retrans.IsZero() {
		t.Fatalf("%d duplicate ACKs on the wire, retransmission of the hole %v", dups, !retrans.IsZero())
	}
	if gap := retrans.Sub(firstDup); gap > 150*time.Millisecond {
		t.Errorf("the hole was retransmitted %v after the first duplicate ACK: not a fast retransmit", gap)
	}
	if info.Total_retrans < 1 {
		t.Errorf("the client's TCP_INFO shows %d retransmissions", info.Total_retrans)
	}
	t.Logf("%d duplicate ACKs with SACK; the hole at %d retransmitted %v after the first", dups, hole, retrans.Sub(firstDup))
}
