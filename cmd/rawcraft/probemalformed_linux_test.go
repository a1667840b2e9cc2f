package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/internal/lab"
)

// hsCounters reads Hs's kernel counters from /proc/net/snmp and
// /proc/net/netstat in its namespace: "Ip:InHdrErrors", "Udp:InCsumErrors",
// "IpExt:InCsumErrors"…
func hsCounters(t *testing.T, l *lab.Lab) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	err := l.Do(lab.Hs, func() error {
		for _, f := range []string{"snmp", "netstat"} {
			b, err := os.ReadFile("/proc/thread-self/net/" + f)
			if err != nil {
				return err
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			for i := 0; i+1 < len(lines); i += 2 {
				names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
				for j := 1; j < len(names) && j < len(values); j++ {
					v, _ := strconv.ParseInt(values[j], 10, 64)
					m[names[0]+names[j]] = v
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// probeTextRun runs the probe command inside Hc, as text.
func probeTextRun(t *testing.T, l *lab.Lab, proto string, args ...string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := l.Do(lab.Hc, func() error {
		cmd := newProbeCmd()
		cmd.SetOut(&out)
		cmd.SetErr(&errb)
		cmd.SetArgs(append([]string{proto}, args...))
		return cmd.Execute()
	})
	if err != nil {
		t.Fatalf("probe %s %v: %v (%s)", proto, args, err, errb.String())
	}
	return out.String(), errb.String()
}

// A probe that Hs's kernel drops unread (a bad checksum, an IHL of 3) is
// met by silence whatever the port's state; the port here is closed (the
// well-formed probe gets its RST or port unreachable), Hs's counters show
// the kernel dropping every attempt, and rawcraft must blame the probe,
// not the port: reason probe-malformed, state filtered (the probe never
// reached the port), the fault and the claim in the text, and one warning
// on stderr before anything was sent.
func TestProbeMalformedIsNotThePort(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	base := []string{"--dst", "198.18.1.1", "--ports", "9998", "--timeout", "300ms"}
	// The control: well formed, port 9998 answers closed.
	for proto, reason := range map[string]string{"udp": "icmp-port-unreachable", "tcp": "rst"} {
		res, _ := probeJSONRun(t, l, proto, base...)
		if len(res) != 1 || res[0].State != "closed" || res[0].Reason != reason {
			t.Fatalf("control %s: %+v, want closed (%s)", proto, res, reason)
		}
	}
	// Through a raw IPv4 socket the kernel writes the header checksum
	// itself (raw(7)): a forced one never leaves, and nothing is blamed.
	res, errs := probeJSONRun(t, l, "udp", append(append([]string(nil), base...), "--via", "ip", "--ip-csum", "0xdead")...)
	if len(res) != 1 || res[0].State != "closed" || strings.Contains(errs, "malformed") {
		t.Fatalf("--via ip --ip-csum 0xdead: %+v %q, want closed and no warning", res, errs)
	}
	cases := []struct {
		proto   string
		args    []string
		counter []string // each moves by one per attempt at Hs
		fault   string
		claim   string
	}{
		{"udp", []string{"--ip-csum", "0xdead"}, []string{"IpExt:InCsumErrors", "Ip:InHdrErrors"},
			"our probe's IPv4 header checksum is bad (0xdead, should be 0x", "the receiving host drops the packet unread, without an answer"},
		{"tcp", []string{"--csum", "0xdead"}, []string{"Tcp:InCsumErrors"},
			"our probe's TCP checksum is bad (0xdead, should be 0x", "the receiving host drops the segment silently: no RST"},
		{"udp", []string{"--ihl", "3"}, []string{"Ip:InHdrErrors"},
			"our probe's IPv4 header length is 3 words (12 bytes), fewer than the fixed header's 5", "the receiver drops it as a header error, without an answer"},
		{"udp", []string{"--csum", "0xdead"}, []string{"Udp:InCsumErrors"},
			"our probe's UDP checksum is bad (0xdead, should be 0x", "no ICMP port unreachable"},
	}
	for _, c := range cases {
		t.Run(c.proto+strings.Join(c.args, ""), func(t *testing.T) {
			args := append(append([]string(nil), base...), c.args...)
			before := hsCounters(t, l)
			res, errs := probeJSONRun(t, l, c.proto, args...)
			after := hsCounters(t, l)
			if len(res) != 1 {
				t.Fatalf("%d results", len(res))
			}
			r := res[0]
			for _, k := range c.counter {
				if d := after[k] - before[k]; d != int64(r.Attempts) || r.Attempts < 1 {
					t.Errorf("Hs %s moved by %d over %d attempts: the kernel did not drop each probe as a malformed one", k, d, r.Attempts)
				}
			}
			if r.State != "filtered" || r.Reason != "probe-malformed" || r.From != "" {
				t.Errorf("JSON %+v, want filtered, probe-malformed", r)
			}
			if n := strings.Count(errs, "warning: the probe is malformed: "); n != 1 {
				t.Errorf("stderr %q: %d warnings, want 1", errs, n)
			}
			out, errs := probeTextRun(t, l, c.proto, args...)
			t.Logf("%s%s", out, errs)
			line := strings.TrimSpace(out)
			for _, w := range []string{"198.18.1.1:9998/" + c.proto, " filtered ", " probe-malformed ", "— expected: " + c.fault, c.claim, "the port's state cannot be told from this"} {
				if !strings.Contains(line, w) {
					t.Errorf("output %q lacks %q", line, w)
				}
			}
			for _, w := range []string{"open|filtered", "an open one may stay silent", "something dropped the SYN"} {
				if strings.Contains(line, w) {
					t.Errorf("output %q still blames the port: %q", line, w)
				}
			}
			warn := strings.SplitN(errs, "\n", 2)[0]
			if !strings.HasPrefix(warn, "warning: the probe is malformed: "+strings.TrimPrefix(c.fault, "our probe's ")) || !strings.Contains(warn, "its silence will not be about the port") {
				t.Errorf("first stderr line %q, want the warning", warn)
			}
		})
	}
}
