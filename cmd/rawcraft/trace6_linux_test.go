package main

import (
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/pcap"
)

// trace over IPv6 in the routed lab, from Hc to Hf: the text says hop
// limit and ICMPv6, never TTL; --json has IPv6's keys; --pcap holds the
// probes and their answers.
func TestTrace6Command(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Routed: true})
	hf, r1 := lab.Addr6Hf.String(), lab.Addr6R1.String()

	code, out, errs := inHc(t, l, "trace", "--dst", hf, "--max-ttl", "5")
	t.Logf("\n%s%s", out, errs)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("exit %d, %d lines:\n%s%s", code, len(lines), out, errs)
	}
	for i, want := range [][]string{
		{"trace to " + hf + " over udp (IPv6), hop limits 1 to 5, 3 probes a hop", "the flow label change with every probe"},
		{"  1  " + r1 + " ", "ICMPv6 time exceeded: hop limit exceeded in transit (type 3 code 0), quoted hop limit 1"},
		{"  2  " + hf + " ", "ICMPv6 destination unreachable: port unreachable (type 1 code 4), quoted hop limit"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d lacks %q: %q", i+1, w, lines[i])
			}
		}
	}
	if strings.Count(lines[1], " ms") != 3 || !strings.Contains(errs, "6 probes in 2 hops") || !strings.Contains(errs, hf+" answered itself") {
		t.Errorf("RTTs or summary:\n%s%s", out, errs)
	}
	if s := out + errs; strings.Contains(s, "TTL") || strings.Contains(s, "type 11") {
		t.Errorf("IPv6 output speaks of TTL or ICMP type 11:\n%s", s)
	}

	// ICMPv6 echo requests finding the path MTU, in words.
	code, out, errs = inHc(t, l, "trace", "--dst", hf, "--proto", "icmp", "--pmtu", "--probes", "1", "--max-ttl", "5")
	t.Logf("\n%s%s", out, errs)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 {
		t.Fatalf("exit %d, %d lines:\n%s%s", code, len(lines), out, errs)
	}
	for i, want := range [][]string{
		{"over ICMPv6 echo, hop limits 1 to 5, 1 probe a hop", "finding the path MTU (ICMPv6 packet too big)"},
		{"  1  " + r1 + " ", "quoted hop limit 1, 1500-byte probes pass"},
		{"  2  " + r1 + " ", "ICMPv6 packet too big (type 2 code 0)", "MTU 1280: probes of 1500 bytes are too big"},
		{"     " + hf + " ", "ICMPv6 echo reply (type 129), 1280-byte probes pass"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d lacks %q: %q", i+1, w, lines[i])
			}
		}
	}
	if !strings.Contains(errs, "path MTU 1280") || strings.Contains(out+errs, "TTL") {
		t.Errorf("summary or words:\n%s%s", out, errs)
	}

	// --json and --pcap: TCP SYNs to a closed port, Paris, finding the
	// path MTU — R's packet too big (1280) at hop 2, then Hf's RST.
	file := t.TempDir() + "/trace6.pcap"
	code, out, errs = inHc(t, l, "trace", "--dst", hf, "--proto", "tcp", "--dport", "9", "--paris", "--pmtu", "--probes", "2",
		"--flow-label", "0x12345", "--json", "--pcap", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var hops []map[string]any
	for _, ln := range strings.Split(strings.TrimSpace(out), "\n") {
		var h map[string]any
		if err := json.Unmarshal([]byte(ln), &h); err != nil {
			t.Fatalf("%q: %v", ln, err)
		}
		hops = append(hops, h)
	}
	if len(hops) != 2 {
		t.Fatalf("%d hops in JSON:\n%s", len(hops), out)
	}
	probesOf := func(h map[string]any) []map[string]any {
		var ps []map[string]any
		for _, p := range h["probes"].([]any) {
			ps = append(ps, p.(map[string]any))
		}
		return ps
	}
	for i, h := range hops {
		if h["hop_limit"] != float64(i+1) || h["ttl"] != nil || h["mtu"] != float64([]int{1500, 1280}[i]) {
			t.Errorf("hop %d: %v; want hop_limit %d, no ttl, mtu %d", i+1, h, i+1, []int{1500, 1280}[i])
		}
		for _, p := range probesOf(h) {
			if p["flow_label"] != float64(0x12345) || p["ip_id"] != nil || p["quoted_ttl"] != nil || p["icmp_type"] != nil || p["dport"] != float64(9) {
				t.Errorf("hop %d probe: %v; want flow_label 74565, dport 9 and no IPv4 keys", i+1, p)
			}
		}
	}
	p1 := probesOf(hops[0])
	if len(p1) != 2 || p1[0]["from"] != r1 || p1[0]["reason"] != "icmp-ttl-exceeded" || p1[0]["icmpv6_type"] != float64(3) ||
		p1[0]["icmpv6_code"] != float64(0) || p1[0]["quoted_hop_limit"] != float64(1) || p1[0]["size"] != float64(1500) {
		t.Errorf("hop 1: %v", p1)
	}
	p2 := probesOf(hops[1])
	if len(p2) != 4 || p2[0]["from"] != r1 || p2[0]["reason"] != "icmp-packet-too-big" || p2[0]["mtu"] != float64(1280) ||
		p2[0]["icmpv6_type"] != float64(2) || p2[0]["size"] != float64(1500) ||
		p2[3]["from"] != hf || p2[3]["reason"] != "rst" || p2[3]["size"] != float64(1280) || p2[3]["icmpv6_type"] != nil {
		t.Errorf("hop 2: %v", p2)
	}
	if !strings.Contains(errs, "path MTU 1280") {
		t.Errorf("summary: %s", errs)
	}
	checkTracePcap6(t, file)
}

// checkTracePcap6 reads a trace's capture: the probes leaving with hop
// limits 1 and 2 and every answer, all IPv6.
func checkTracePcap6(t *testing.T, file string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil || r.LinkType != pcap.LinkEthernet {
		t.Fatalf("%v, link type %v", err, r)
	}
	syns, exceeded, tooBig, rsts := 0, 0, 0, 0
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		d := craft.Decoded{AcceptIPv6: true}
		_ = d.DecodeFrame(rec.Data)
		if !d.Has(craft.LayerIPv6) {
			t.Errorf("a frame that is not IPv6 in the capture: %v", d.Summary())
			continue
		}
		switch {
		case d.Has(craft.LayerTCP) && d.TCP.Flags == craft.TCPSyn:
			syns++
		case d.Has(craft.LayerTCP) && d.TCP.Flags&craft.TCPRst != 0:
			rsts++
		case d.Has(craft.LayerICMPv6) && d.ICMPv6.Type == craft.ICMPv6TimeExceeded:
			exceeded++
		case d.Has(craft.LayerICMPv6) && d.ICMPv6.Type == craft.ICMPv6PacketTooBig:
			tooBig++
		}
	}
	if syns != 6 || exceeded != 2 || tooBig != 2 || rsts != 2 {
		t.Errorf("capture: %d SYNs, %d time exceeded, %d packet too big, %d RSTs; want 6, 2, 2, 2", syns, exceeded, tooBig, rsts)
	}
}

// Bad IPv6 trace input, run inside the lab's client: exit 2 with one line,
// and nothing reaches R — where the one probe of a good trace run after
// them is seen, so that the capture is known to hear.
func TestTrace6BadInputSendsNothing(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Routed: true})
	var ln *listen.Listener
	if err := l.Do(lab.R, func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		ln, err = listen.Listen(ifi, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rec := listen.Record(ln, 0)
	hf := lab.Addr6Hf.String()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"trace", "--dst", hf, "--max-ttl", "0"}, "--max-ttl 0: a hop limit, 1 to 255"},
		{[]string{"trace", "--dst", hf, "--first-ttl", "256"}, "--first-ttl 256: a hop limit, 1 to 255"},
		{[]string{"trace", "--dst", hf, "--first-ttl", "9", "--max-ttl", "3"}, "--first-ttl 9: at most --max-ttl (3)"},
		{[]string{"trace", "--dst", hf + "%eth0"}, "zone"},
		{[]string{"trace", "--dst", "::ffff:198.18.2.2"}, "IPv4-mapped"},
		{[]string{"trace", "--dst", hf, "--proto", "icmp", "--dport", "80"}, "--dport, --sport: ICMPv6 has no ports"},
		{[]string{"trace", "--dst", hf, "--flow-label", "0x100000"}, `--flow-label "0x100000": the flow label is 20 bits`},
		{[]string{"trace", "--dst", lab.AddrHf.String(), "--flow-label", "7"}, "--flow-label: IPv6 has a flow label; 198.18.2.2 is IPv4"},
		{[]string{"trace", "--dst", hf, "--probes", "0"}, "--probes 0: 1 to 10"},
		{[]string{"trace", "--dst", hf, "--proto", "sctp"}, `--proto "sctp"`},
	} {
		code, out, errs := inHc(t, l, c.args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", c.args, code, out, errs, c.want)
		}
		if strings.Contains(errs, "TTL") {
			t.Errorf("%q: %q speaks of TTL", c.args, errs)
		}
	}
	if code, _, errs := inHc(t, l, "trace", "--dst", hf, "--max-ttl", "1", "--probes", "1"); code != 0 {
		t.Fatalf("the good trace: exit %d: %s", code, errs)
	}
	time.Sleep(200 * time.Millisecond)
	var what []string
	good := 0
	for _, g := range rec.Stop() {
		d := craft.Decoded{AcceptIPv6: true}
		_ = d.DecodeFrame(g.Frame)
		switch {
		case kernelChatter(&d):
			continue
		case d.Has(craft.LayerICMPv6) && d.ICMPv6.Type >= 133 && d.ICMPv6.Type <= 137:
			continue // neighbour discovery from a global address: the good trace resolving its next hop (RFC 4861 §7.2.2), or a kernel answering it
		case d.Has(craft.LayerUDP) && d.IPv6.HopLimit.Or(0) == 1 && good == 0:
			good++ // the good trace's probe
			continue
		case d.Has(craft.LayerICMPv6) && d.ICMPv6.Type == craft.ICMPv6TimeExceeded && d.IPv6.Src == lab.Addr6R1:
			continue // R's answer to it
		}
		what = append(what, d.Summary())
	}
	if len(what) > 0 || good != 1 {
		t.Errorf("bad input sent %d frames toward R: %v (and the good trace's probe was seen %d times)", len(what), what, good)
	}
}
