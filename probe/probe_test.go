package probe

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

func TestMain(m *testing.M) { os.Exit(lab.RunTests(m)) }

// syn is the shape of a plain SYN probe to Hs.
func syn(ports ...uint16) Config {
	return Config{Proto: craft.ProtoTCP, Dst: lab.AddrHs, Ports: ports,
		Packet: craft.Packet{IPv4: &craft.IPv4{}, TCP: &craft.TCP{Flags: craft.TCPSyn, Window: 64240}}}
}

func portRange(lo, hi int) []uint16 {
	var out []uint16
	for p := lo; p <= hi; p++ {
		out = append(out, uint16(p))
	}
	return out
}

// runIn runs cfg inside host of l.
func runIn(t *testing.T, l *lab.Lab, host string, cfg Config) *Report {
	t.Helper()
	var rep *Report
	if err := l.Do(host, func() (err error) { rep, err = Run(cfg); return err }); err != nil {
		t.Fatal(err)
	}
	return rep
}

// A Config that cannot be sent is refused with ErrConfig, before any socket
// is opened (no privilege is needed to be told).
func TestConfigErrors(t *testing.T) {
	cases := []struct {
		desc string
		edit func(*Config)
	}{
		{"no layer for the protocol", func(c *Config) { c.Proto = craft.ProtoUDP }},
		{"unknown protocol", func(c *Config) { c.Proto = 99 }},
		{"no port", func(c *Config) { c.Ports = nil }},
		{"too many retries", func(c *Config) { c.Retries = 11 }},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }},
		{"timeout over the bound", func(c *Config) { c.Timeout = 2 * time.Minute }},
		{"interval over the bound", func(c *Config) { c.Interval = time.Minute }},
		{"Ethernet in the packet", func(c *Config) { c.Packet.Ethernet = &craft.Ethernet{} }},
		// IPv6 targets are probed; these shapes cannot be (each is refused
		// before a route is looked up, so nothing leaves this namespace).
		{"IPv4-mapped destination", func(c *Config) { c.Dst = netip.MustParseAddr("::ffff:198.18.1.1") }},
		{"IPv6 target, IPv4 options", func(c *Config) {
			c.Dst, c.Packet.IPv4.Options = netip.MustParseAddr("2001:2::1"), craft.AppendIPOptRecordRoute(nil, 2)
		}},
		{"IPv6 target, IPv4 source", func(c *Config) {
			c.Dst, c.Packet.IPv4.Src = netip.MustParseAddr("2001:2::1"), lab.AddrHc
		}},
		{"IPv6 target, ICMP timestamp", func(c *Config) {
			c.Dst, c.Proto, c.Packet.TCP, c.Packet.ICMP = netip.MustParseAddr("2001:2::1"), craft.ProtoICMP, nil, &craft.ICMP{Type: 13}
		}},
		{"IPv6 target in a list, fragments below IPv6's 1280-byte minimum MTU", func(c *Config) {
			c.Targets, c.Frag = []netip.Prefix{netip.MustParsePrefix("198.18.1.1/32"), netip.MustParsePrefix("2001:2::1/128")}, &Fragmenting{Options: craft.FragOptions{MTU: 1000}}
			c.Packet.Payload = make([]byte, 3000)
		}},
		{"fragment data not a multiple of 8", func(c *Config) {
			c.Frag, c.Packet.Payload = &Fragmenting{Options: craft.FragOptions{DataSize: 100}}, make([]byte, 3000)
		}},
		{"stateless IPv6", func(c *Config) { c.Dst, c.Stateless = netip.MustParseAddr("2001:2::1"), true }},
		{"IPv4 target, IPv6 extension headers", func(c *Config) {
			c.Packet.IPv4, c.Packet.IPv6, c.Packet.IPv6Ext = nil, &craft.IPv6{}, []craft.IPv6Ext{craft.DestOpts(nil)}
		}},
		{"both IP headers", func(c *Config) { c.Packet.IPv6 = &craft.IPv6{} }},
		{"sharded, IPv6 target", func(c *Config) { c.Dst, c.Shard = netip.MustParseAddr("2001:2::1"), Shard{Index: 0, Count: 4} }},
		{"sharded, mixed list", func(c *Config) {
			c.Targets, c.Shard = []netip.Prefix{netip.MustParsePrefix("198.18.1.1/32"), netip.MustParsePrefix("2001:2::1/128")}, Shard{Index: 1, Count: 2}
		}},
		{"multicast IPv6 destination", func(c *Config) { c.Dst = netip.MustParseAddr("ff02::1") }},
		{"multicast IPv4 block", func(c *Config) { c.Targets = []netip.Prefix{netip.MustParsePrefix("224.0.0.0/30")} }},
		{"stateless UDP", func(c *Config) {
			c.Proto, c.Packet.TCP, c.Packet.UDP, c.Stateless = craft.ProtoUDP, nil, &craft.UDP{}, true
		}},
		{"stateless with fragments", func(c *Config) { c.Stateless, c.Frag = true, &Fragmenting{Options: craft.FragOptions{DataSize: 8}} }},
		{"stateless via ip", func(c *Config) { c.Stateless, c.Via = true, rawsock.ViaIP }},
	}
	for _, c := range cases {
		cfg := syn(80)
		c.edit(&cfg)
		if _, err := Run(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", c.desc, err)
		}
	}
}

// The JSON form carries the contract's keys, and only where they apply.
func TestResultJSON(t *testing.T) {
	r := Result{Probe: listen.Probe{Proto: craft.ProtoUDP, Dst: lab.AddrHs, SrcPort: 40000, DstPort: 9998},
		Reply: listen.Reply{Reason: listen.ICMPPortUnreachable, From: lab.AddrHs, Code: 3}, State: listen.Closed, Attempts: 1, RTT: 1500 * time.Microsecond}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"dst":"198.18.1.1","proto":"udp","port":9998,"state":"closed","reason":"icmp-port-unreachable","rtt_ms":1.5,"from":"198.18.1.1","code":3,"attempts":1,"sport":40000}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	silent := Result{Probe: listen.Probe{Proto: craft.ProtoTCP, Dst: lab.AddrHs, DstPort: 9997}, State: listen.Filtered, Attempts: 2}
	b, _ = json.Marshal(silent)
	if want := `{"dst":"198.18.1.1","proto":"tcp","port":9997,"state":"filtered","reason":"no-response","rtt_ms":0,"attempts":2}`; string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if d := silent.Describe(); !strings.Contains(d, "no reply to 2 probes — filtered") {
		t.Errorf("Describe: %q", d)
	}
}

// The stateful and the stateless engine agree with the peer kernel on the
// same ports: open where a socket listens, closed elsewhere, and a run of
// more than StatelessAbove ports is stateless by itself.
func TestRunStatefulAndStateless(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	stop, err := l.Servers(lab.Hs, "198.18.1.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, c := range []struct {
		desc      string
		cfg       Config
		stateless bool
	}{
		{"stateful", syn(9990, 9998, 9999), false},
		{"asked stateless", func() Config { c := syn(9990, 9998, 9999); c.Stateless = true; return c }(), true},
		{"stateless above 1024 ports", syn(portRange(9000, 10100)...), true},
	} {
		rep := runIn(t, l, lab.Hc, c.cfg)
		if rep.Stateless != c.stateless || len(rep.Results) != len(c.cfg.Ports) {
			t.Errorf("%s: stateless %v with %d results", c.desc, rep.Stateless, len(rep.Results))
			continue
		}
		for _, r := range rep.Results {
			want := listen.Closed
			if r.Probe.DstPort == 9999 {
				want = listen.Open
			}
			if r.State != want {
				t.Errorf("%s: port %d %s (%s), want %s", c.desc, r.Probe.DstPort, r.State, r.Reply.Reason, want)
			}
		}
	}
}

// A burst of 100 000 unrelated frames toward Hc while probing: every probe
// is still matched, or the kernel's drop count says why not.
func TestProbeUnderBurst(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var tx *rawsock.Conn
	var rt rawsock.Route
	if err := l.Do(lab.Hs, func() (err error) {
		if rt, err = rawsock.Resolve(lab.AddrHc, nil); err != nil {
			return err
		}
		tx, err = rawsock.Listen(rt.Iface, &rawsock.Config{SendOnly: true})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	junk, _ := (&craft.Packet{Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC}, IPv4: &craft.IPv4{Src: lab.AddrHs, Dst: lab.AddrHc, TTL: craft.Set[uint8](1)},
		UDP: &craft.UDP{SrcPort: 7, DstPort: 7}, Payload: make([]byte, 64)}).Append(nil)
	done := make(chan int)
	go func() {
		sent := 0
		for i := 0; i < 100_000; i++ {
			if _, err := tx.Send(junk); err == nil {
				sent++
			}
		}
		done <- sent
	}()
	var rep *Report
	err := l.Do(lab.Hc, func() (err error) {
		cfg := syn(portRange(10000, 10199)...)
		cfg.Timeout = time.Second
		rep, err = Run(cfg)
		return err
	})
	sent := <-done
	if err != nil {
		t.Fatal(err)
	}
	rs, st := rep.Results, rep.Stats
	unanswered := 0
	for _, r := range rs {
		if r.Reply.Reason != listen.Rst {
			unanswered++
		}
	}
	t.Logf("burst of %d frames; %d probes, %d unanswered; kernel captured %d, dropped %d", sent, len(rs), unanswered, st.Captured, st.Dropped)
	if sent < 100_000 {
		t.Errorf("only %d of the burst sent", sent)
	}
	if unanswered > 0 && st.Dropped == 0 {
		t.Errorf("%d probes unanswered and no drop reported", unanswered)
	}
	if uint64(unanswered) > st.Dropped {
		t.Errorf("%d unanswered, more than the %d frames the kernel dropped", unanswered, st.Dropped)
	}
}

// Every port of a lab host: every RST matched, nothing dropped. (The
// per-probe drain once used a deadline in the past, which Go's poller
// refuses without reading: 85 % of the RSTs were lost to a full buffer.)
// Once every port has answered the scan ends: no retry round, no timeout
// waited out.
func TestProbeAllPorts(t *testing.T) {
	if testing.Short() {
		t.Skip("65 535 probes: skipped with -short")
	}
	l := lab.ForTest(t, lab.Config{})
	var rep *Report
	err := l.Do(lab.Hc, func() (err error) {
		cfg := syn(portRange(1, 65535)...)
		cfg.Timeout, cfg.Retries = 10*time.Second, 2
		start := time.Now()
		rep, err = Run(cfg)
		if el := time.Since(start); err == nil && el >= cfg.Timeout {
			t.Errorf("the scan took %v: it waited out its %v timeout though every port had answered", el, cfg.Timeout)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rs, st := rep.Results, rep.Stats
	closed := 0
	for _, r := range rs {
		if r.State == listen.Closed && r.Reply.Reason == listen.Rst {
			closed++
		}
	}
	t.Logf("%d of %d ports answered RST; the kernel captured %d frames and dropped %d", closed, len(rs), st.Captured, st.Dropped)
	if closed != 65535 || st.Dropped != 0 {
		t.Errorf("%d of 65535 RSTs matched, %d frames dropped; want all, and none", closed, st.Dropped)
	}
}

// Two stateless scans of every port side by side: each finds exactly the
// open ports, classifies every other port closed, and counts the other's
// replies as stray — the cookie check, not a table, tells them apart.
func TestStatelessScansSideBySide(t *testing.T) {
	if testing.Short() {
		t.Skip("2 × 65 535 probes: skipped with -short")
	}
	l := lab.ForTest(t, lab.Config{})
	var lns []net.Listener
	for _, p := range []string{"22", "8080", "9999"} {
		var ln net.Listener
		if err := l.Do(lab.Hs, func() (err error) { ln, err = net.Listen("tcp4", "198.18.1.1:"+p); return err }); err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
	}
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var wg sync.WaitGroup
	outs := make([]*Report, 2)
	for k := 0; k < 2; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := syn(portRange(1, 65535)...)
			cfg.Timeout, cfg.Retries = 500*time.Millisecond, 1
			outs[k] = runIn(t, l, lab.Hc, cfg)
		}()
	}
	wg.Wait()
	for k, rep := range outs {
		rs := rep.Results
		if len(rs) != 65535 || !rep.Stateless {
			t.Fatalf("scan %d: %d results, stateless %v", k, len(rs), rep.Stateless)
		}
		var open []uint16
		closed := 0
		for _, r := range rs {
			switch r.State {
			case listen.Open:
				open = append(open, r.Probe.DstPort)
			case listen.Closed:
				closed++
			}
		}
		if fmt.Sprint(open) != "[22 8080 9999]" || closed != 65532 {
			t.Errorf("scan %d: open %v, %d closed; want [22 8080 9999] and 65532", k, open, closed)
		}
	}
}
