package probe

import (
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
)

func udpPorts(cfgPorts []uint16) Config {
	return Config{Proto: craft.ProtoUDP, Dst: lab.AddrHs, Ports: cfgPorts, Timeout: 300 * time.Millisecond, Retries: 0,
		Packet: craft.Packet{IPv4: &craft.IPv4{}, UDP: &craft.UDP{}, Payload: []byte("hi")}}
}

// With Linux's global ICMP limit on at Hs (1000 a second, bursts of 50), a
// fast UDP scan of 3000 closed ports loses most answers in its first pass;
// probing the silent ports again below the rate Hs answers at finds every
// one closed. None is called open|filtered.
func TestUDPScanUnderGlobalICMPLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("3000 probes paced below a rate limit: skipped with -short")
	}
	l := lab.ForTest(t, lab.Config{})
	for k, v := range map[string]string{"net.ipv4.icmp_msgs_per_sec": "1000", "net.ipv4.icmp_msgs_burst": "50"} {
		if err := l.Sysctl(lab.Hs, k, v); err != nil {
			t.Fatal(err)
		}
	}
	rep := runIn(t, l, lab.Hc, udpPorts(portRange(20000, 22999)))
	counts := map[listen.State]int{}
	for _, r := range rep.Results {
		counts[r.State]++
	}
	if counts[listen.Closed] != 3000 {
		t.Errorf("states %v; want all 3000 closed", counts)
	}
	if len(rep.Notes) == 0 || !strings.Contains(strings.Join(rep.Notes, " "), "rate limit may have swallowed answers") {
		t.Errorf("no note on the rate limit: %q", rep.Notes)
	}
	t.Log(rep.Notes)
}

// With the per-destination limit on (one answer a second to Hc) and a
// budget of a few seconds, most silent ports cannot be settled: they are
// unresolved, never open|filtered; the ports that were answered are closed.
func TestUDPScanUnderPerHostICMPLimit(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	if err := l.Sysctl(lab.Hs, "net.ipv4.icmp_ratelimit", "1000"); err != nil {
		t.Fatal(err)
	}
	cfg := udpPorts(portRange(20000, 20199))
	cfg.RateLimitBudget = 3 * time.Second
	rep := runIn(t, l, lab.Hc, cfg)
	counts := map[listen.State]int{}
	for _, r := range rep.Results {
		counts[r.State]++
	}
	if counts[listen.OpenFiltered] != 0 || counts[listen.Closed]+counts[listen.Unresolved] != 200 || counts[listen.Unresolved] == 0 {
		t.Errorf("states %v; want closed and unresolved only, some unresolved", counts)
	}
	t.Log(counts, rep.Notes)
}

// A host that answers every probe is not slowed down: a scan of ports
// that are silent for real (a firewall drops them) ends as open|filtered.
func TestUDPSilenceWithoutRateLimit(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	for _, p := range []uint16{30001, 30002, 30003} {
		if _, err := l.DropPort(lab.Hs, craft.ProtoUDP, p); err != nil {
			t.Fatal(err)
		}
	}
	rep := runIn(t, l, lab.Hc, udpPorts(portRange(30000, 30004)))
	for _, r := range rep.Results {
		want := listen.Closed
		if r.Probe.DstPort >= 30001 && r.Probe.DstPort <= 30003 {
			want = listen.OpenFiltered
		}
		if r.State != want {
			t.Errorf("port %d: %s, want %s", r.Probe.DstPort, r.State, want)
		}
	}
}
