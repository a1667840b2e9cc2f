package session_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/nftables"
	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/rawcraft/rawcraft/session"
	"golang.org/x/sys/unix"
)

// appResult is what the server application read and how its stream ended.
type appResult struct {
	data []byte
	err  error // nil: an orderly close (EOF)
}

// appServer accepts one connection on Hs:port, reads everything until EOF
// (answering "got it" after the first read) and reports what it read and
// how the stream ended.
func appServer(t *testing.T, l *lab.Lab, port string) (<-chan appResult, net.Listener) {
	t.Helper()
	var ln net.Listener
	if err := l.Do(lab.Hs, func() (err error) { ln, err = net.Listen("tcp4", "198.18.1.1:"+port); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan appResult, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- appResult{err: err}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(15 * time.Second))
		var got []byte
		buf := make([]byte, 4096)
		replied := false
		for {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if n > 0 && !replied {
				_, _ = c.Write([]byte("got it"))
				replied = true
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				ch <- appResult{data: got, err: err}
				return
			}
		}
	}()
	return ch, ln
}

// labScope is what the CLI hands in: the lab namespace the thread is in,
// and the lab's addresses for a ghost.
func labScope() session.Scope { return session.Scope{Namespace: lab.Current(), Ghosts: lab.Net} }

// dial opens a Client in Hc toward Hs, runs it and closes it, all on one
// thread in Hc's namespace; check, if not nil, runs there too, before Run
// (closed false) and after Close (closed true).
func dial(t *testing.T, l *lab.Lab, cfg session.ClientConfig, check func(c *session.Client, closed bool)) (*session.Client, session.Result, error) {
	t.Helper()
	var c *session.Client
	var res session.Result
	var runErr error
	if err := l.Do(lab.Hc, func() (err error) {
		cfg.Scope = labScope()
		if c, err = session.NewClient(cfg); err != nil {
			return err
		}
		if check != nil {
			check(c, false)
		}
		res, runErr = c.Run()
		if err := c.Close(); err != nil {
			return err
		}
		if check != nil {
			check(c, true)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return c, res, runErr
}

// guardTableLeft says whether the firewall guard's table is still in the
// calling thread's namespace.
func guardTableLeft(t *testing.T) bool {
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := conn.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(tables, func(tb *nftables.Table) bool { return tb.Name == session.GuardTable() })
}

// With each guard, a whole conversation: the server application reads the
// exact data and an orderly EOF, our side gets its reply and both FINs, and
// this host's kernel never resets the connection. With the ghost guard this
// proves claim ghost-ignored: this host's kernel ignores the server's
// segments to the ghost address instead of resetting the connection.
func TestSessionWithGuards(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	for _, tc := range []struct{ policy, want session.Guard }{
		{session.GuardGhost, session.GuardGhost},
		{session.GuardFirewall, session.GuardFirewall},
		{session.GuardAuto, session.GuardGhost}, // the lab's subnet has free addresses
	} {
		ch, ln := appServer(t, l, "9999")
		var during, left bool
		c, res, err := dial(t, l, session.ClientConfig{Dst: lab.AddrHs, DstPort: 9999, Data: []byte("Hello, server"), Guard: tc.policy},
			func(_ *session.Client, closed bool) {
				if closed {
					left = guardTableLeft(t)
				} else {
					during = guardTableLeft(t)
				}
			})
		if err != nil {
			t.Fatalf("guard %s: %v", tc.policy, err)
		}
		app := <-ch
		ln.Close()
		if app.err != nil || string(app.data) != "Hello, server" {
			t.Errorf("guard %s: the application read %q and ended with %v; want the exact data and an orderly EOF", tc.policy, app.data, app.err)
		}
		if c.Guard != tc.want || !strings.HasPrefix(c.GuardNote, "guard: "+string(tc.want)+" — ") {
			t.Errorf("guard %s: used %q (%q), want %q", tc.policy, c.Guard, c.GuardNote, tc.want)
		}
		switch c.Guard {
		case session.GuardGhost:
			if c.Config.Src == lab.AddrHc || c.Config.Src == lab.AddrHs || !lab.LANNet.Contains(c.Config.Src) || c.Config.SrcMAC != session.GhostMAC(c.Config.Src) {
				t.Errorf("guard %s: ghost %v (MAC %v): want a free address of the lab's LAN and its ghost MAC", tc.policy, c.Config.Src, c.Config.SrcMAC)
			}
		case session.GuardFirewall:
			if c.Config.Src != lab.AddrHc {
				t.Errorf("guard firewall: spoke as %v, want Hc's own %v", c.Config.Src, lab.AddrHc)
			}
		}
		if during != (c.Guard == session.GuardFirewall) || left {
			t.Errorf("guard %s: the firewall guard's table there while running %v, after Close %v; want it only while a firewall guard runs", tc.policy, during, left)
		}
		if !res.Connected || !res.Closed || res.Reset || res.Refused || res.KernelRST || string(res.Received) != "got it" {
			t.Errorf("guard %s: connected %v closed %v reset %v refused %v kernel RST %v received %q; want a clean conversation receiving \"got it\"",
				tc.policy, res.Connected, res.Closed, res.Reset, res.Refused, res.KernelRST, res.Received)
		}
		checkSteps(t, string(tc.policy), c, res)
	}
}

// checkSteps checks the explained conversation: our SYN with Linux's
// options, the server's SYN-ACK with its options, our ACK completing the
// handshake, the server's FIN, and no segment of the kernel's.
func checkSteps(t *testing.T, name string, c *session.Client, res session.Result) {
	t.Helper()
	if len(res.Steps) == 0 {
		t.Fatalf("%s: no steps", name)
	}
	syn := res.Steps[0]
	if !syn.Out || syn.Flags != craft.TCPSyn || syn.Seq != c.Config.ISN || !slices.Equal(syn.Options, craft.DescribeOptions(c.Config.Options, false)) || len(c.Config.Options) != 20 {
		t.Errorf("%s: first step %+v; want our SYN with ISN %d and the default options", name, syn, c.Config.ISN)
	}
	// One record, in the wire's order, each segment timed by the kernel
	// and labelled by its addresses and ports.
	us, them := netip.AddrPortFrom(c.Config.Src, c.Config.SrcPort), netip.AddrPortFrom(c.Config.Dst, c.Config.DstPort)
	for i, s := range res.Steps {
		if !s.Wire || i > 0 && s.Time.Before(res.Steps[i-1].Time) {
			t.Errorf("%s: step %d (%s) at %v, wire time %v; want kernel timestamps in order", name, i, craft.FlagNames(s.Flags), s.Time, s.Wire)
		}
		if s.Out && (s.From != us || s.To != them) || !s.Out && (s.From != them || s.To != us) {
			t.Errorf("%s: step %d (%s, ours %v) from %v to %v; we are %v, the server %v", name, i, craft.FlagNames(s.Flags), s.Out, s.From, s.To, us, them)
		}
	}
	var synAck, handshakeAck, serverFIN bool
	for _, s := range res.Steps {
		if s.Kernel {
			t.Errorf("%s: the kernel's %s got out: %s", name, craft.FlagNames(s.Flags), s.Why)
		}
		switch {
		case !s.Out && s.Flags == craft.TCPSyn|craft.TCPAck:
			synAck = s.Ack == c.Config.ISN+1 && s.Seq == res.ServerISN && strings.HasPrefix(s.Why, "SYN-ACK: the server's ISN") &&
				slices.ContainsFunc(s.Options, func(o string) bool { return strings.HasPrefix(o, "MSS") })
		case s.Out && s.Flags == craft.TCPAck && strings.Contains(s.Why, "three-way handshake is complete"):
			handshakeAck = s.Ack == res.ServerISN+1 && s.RelAck == 1
		case !s.Out && s.Flags&craft.TCPFin != 0:
			serverFIN = strings.HasPrefix(s.Why, "FIN|ACK from the server")
		}
	}
	if !synAck || !handshakeAck || !serverFIN {
		t.Errorf("%s: SYN-ACK with MSS %v, handshake ACK %v, server FIN %v; want all", name, synAck, handshakeAck, serverFIN)
	}
}

// Without a guard this host's kernel resets the connection when the
// SYN-ACK arrives: seen once, as the kernel's.
func TestSessionKernelRSTWithoutGuard(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	_, ln := appServer(t, l, "9999")
	c, res, _ := dial(t, l, session.ClientConfig{Dst: lab.AddrHs, DstPort: 9999, Data: []byte("x"), Guard: session.GuardNone, Retries: 1, RTO: 100 * time.Millisecond}, nil)
	ln.Close()
	if c.Guard != session.GuardNone || c.Config.Src != lab.AddrHc {
		t.Errorf("guard %q from %v; want none, from Hc's own address", c.Guard, c.Config.Src)
	}
	kernel := 0
	for _, s := range res.Steps {
		if s.Kernel {
			kernel++
			if s.Flags&craft.TCPRst == 0 || !s.Out || s.Seq != c.Config.ISN+1 {
				t.Errorf("the kernel's segment: %s seq %d; want its RST at our ISN + 1 = %d", craft.FlagNames(s.Flags), s.Seq, c.Config.ISN+1)
			}
		}
	}
	if !res.KernelRST || kernel != 1 {
		t.Errorf("kernel RST %v, %d kernel steps; want it shown once", res.KernelRST, kernel)
	}
}

// A closed port: the server's kernel refuses with RST|ACK, explained.
func TestSessionClosedPortRefused(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	c, res, err := dial(t, l, session.ClientConfig{Dst: lab.AddrHs, DstPort: 9998}, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := res.Steps[len(res.Steps)-1]
	if !res.Refused || res.Connected || last.Out || last.Flags != craft.TCPRst|craft.TCPAck || last.Ack != c.Config.ISN+1 ||
		!strings.HasSuffix(last.Why, "port 9998: "+craft.ClaimSYNRefused.Text()) {
		t.Errorf("refused %v connected %v, last step %s ack %d %q; want the server's RST|ACK acking ISN+1 %d, explained",
			res.Refused, res.Connected, craft.FlagNames(last.Flags), last.Ack, last.Why, c.Config.ISN+1)
	}
}

// The ghost guard picks an address only inside the prefix it is handed.
func TestFindGhostScope(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	if err := l.Do(lab.Hc, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		mac := craft.MAC(ifi.HardwareAddr)
		for _, p := range []string{"", "10.0.0.0/8", "198.18.2.0/24"} {
			var within netip.Prefix
			if p != "" {
				within = netip.MustParsePrefix(p)
			}
			if g, err := session.FindGhost(ifi, lab.AddrHc, mac, within); err == nil {
				t.Errorf("FindGhost within %q picked %v; want none", p, g)
			}
		}
		g, err := session.FindGhost(ifi, lab.AddrHc, mac, lab.Net)
		if err != nil || !lab.LANNet.Contains(g) || g == lab.AddrHc || g == lab.AddrHs {
			t.Errorf("FindGhost within %v: %v, %v; want a free address of %v", lab.Net, g, err, lab.LANNet)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Once both SYNs agree (RFC 7323), every later segment rawcraft sends has
// its window field shifted by the scale its SYN announced and carries
// timestamps echoing the server's latest TSval — read back from the bytes
// that reached Hs, and checked against the server's own SYN-ACK.
func TestSessionScalesWindowAndKeepsTimestamps(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	ch, _ := appServer(t, l, "9999")
	var ln *listen.Listener
	if err := l.Do(lab.Hs, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		prog, err := rawsock.Filter{Proto: craft.ProtoTCP, Port: 9999}.Compile()
		if err != nil {
			return err
		}
		ln, err = listen.Listen(ifi, &listen.Config{Filter: prog})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rec := listen.Record(ln, 0)
	_, res, err := dial(t, l, session.ClientConfig{Dst: lab.AddrHs, DstPort: 9999, Data: []byte("Hello"), Guard: session.GuardGhost}, nil)
	<-ch
	time.Sleep(50 * time.Millisecond)
	got := rec.Stop()
	if err != nil || !res.Closed {
		t.Fatalf("conversation: %v, closed %v", err, res.Closed)
	}
	var d craft.Decoded
	var serverTS uint32
	checked := 0
	for _, c := range got {
		if d.DecodeFrame(c.Frame) != nil || !d.Has(craft.LayerTCP) {
			continue
		}
		ts, tsval, tsecr := timestamps(d.TCP.Options)
		if d.TCP.SrcPort == 9999 { // the server
			if ts {
				serverTS = tsval
			}
			continue
		}
		if d.TCP.Flags&craft.TCPSyn != 0 {
			if d.TCP.Window != 64240 {
				t.Errorf("SYN window %d, want 64240 unscaled", d.TCP.Window)
			}
			continue
		}
		checked++
		if d.TCP.Window != 64240>>7 {
			t.Errorf("%s: window field %d, want %d (64240 >> 7)", d.Summary(), d.TCP.Window, 64240>>7)
		}
		if !ts || tsecr != serverTS || tsval == 0 {
			t.Errorf("%s: timestamps %v TSval %d TSecr %d; want them, echoing the server's %d", d.Summary(), ts, tsval, tsecr, serverTS)
		}
	}
	if checked < 3 {
		t.Fatalf("only %d segments of ours after the SYN reached Hs", checked)
	}
}

// timestamps reads the TCP timestamps option.
func timestamps(opts []byte) (ok bool, tsval, tsecr uint32) {
	for off := 0; off < len(opts); {
		o, next, err := craft.NextOption(opts, off)
		if err != nil || o.Kind == 0 {
			break
		}
		if o.Kind == 8 && len(o.Data) == 8 {
			return true, binary.BigEndian.Uint32(o.Data), binary.BigEndian.Uint32(o.Data[4:])
		}
		off = next
	}
	return false, 0, 0
}

// A SYN asking for window scale 15: the server's kernel uses 14, the most
// RFC 7323 §2.3 allows, as its TCP_INFO says once the connection is
// accepted. This proves claim wscale-above-14-clamped.
func TestSessionWindowScaleAbove14Clamped(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var ln net.Listener
	if err := l.Do(lab.Hs, func() (err error) { ln, err = net.Listen("tcp4", "198.18.1.1:9996"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	type scales struct {
		snd, rcv int
		err      error
	}
	ch := make(chan scales, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- scales{err: err}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		rc, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			ch <- scales{err: err}
			return
		}
		var info *unix.TCPInfo
		var ierr error
		if err := rc.Control(func(fd uintptr) { info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil || ierr != nil {
			ch <- scales{err: errors.Join(err, ierr)}
			return
		}
		// struct tcp_info byte 6: tcpi_snd_wscale:4, tcpi_rcv_wscale:4
		// (x/sys/unix leaves it as padding).
		b := (*[8]byte)(unsafe.Pointer(info))[6]
		ch <- scales{snd: int(b & 0x0f), rcv: int(b >> 4)}
		_, _ = io.Copy(io.Discard, c)
	}()
	opts := craft.AppendTCPOptWScale(craft.AppendTCPOptNOP(craft.AppendTCPOptMSS(nil, 1460)), 15)
	_, res, err := dial(t, l, session.ClientConfig{Dst: lab.AddrHs, DstPort: 9996, Data: []byte("x"), Guard: session.GuardGhost, Options: opts}, nil)
	if err != nil || !res.Connected {
		t.Fatalf("conversation: %v, connected %v", err, res.Connected)
	}
	select {
	case s := <-ch:
		if s.err != nil || s.snd != 14 {
			t.Errorf("the server's kernel uses shift %d for our window (its own %d; %v), want 14", s.snd, s.rcv, s.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server accepted nothing")
	}
}
