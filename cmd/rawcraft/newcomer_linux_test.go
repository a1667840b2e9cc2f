package main

import (
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/internal/lab"
)

// An AF_PACKET send of a frame bigger than the interface's MTU: the kernel
// refuses it whole (EMSGSIZE, checked here by its refusal: nothing else
// makes "message too long"); rawcraft explains it with the MTU, as --via ip
// does, one line, for one packet and for a --rate max batch.
func TestOversizeSendExplained(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	for _, args := range [][]string{
		{"send", "udp", "--dst", "198.18.1.1", "--size", "2000"},
		{"send", "udp", "--dst", "198.18.1.1", "--size", "2000", "--rate", "max", "--count", "3", "-q"},
		{"send", "udp", "--dst", "2001:2:0:1::1", "--size", "2000"},
	} {
		code, _, errs := inHc(t, l, args...)
		for _, want := range []string{"message too long", "MTU (1500)", "never fragmenting", "--frag or --mtu"} {
			if code != exitFailure || !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("%q: exit %d, stderr %q; want exit 1 and one line with %q", args, code, errs, want)
				break
			}
		}
	}
	// 1472 bytes of UDP data fill a 1500-byte MTU exactly: sent.
	if code, _, errs := inHc(t, l, "send", "udp", "--dst", "198.18.1.1", "--size", "1472", "-q"); code != exitOK {
		t.Errorf("a frame of exactly the MTU: exit %d, %q", code, errs)
	}
}

// Port 0, one rule: a port you name is sent as given, 0 included (nmap
// probes port 0 when it is named). probe --ports 0 and handshake --dport 0
// both reach Hs, whose kernel answers RST: no Linux socket listens on 0.
func TestPortZeroOneRule(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	code, out, errs := inHc(t, l, "probe", "tcp", "--dst", "198.18.1.1", "--ports", "0")
	if code != exitOK || !strings.Contains(out, "198.18.1.1:0/tcp") || !strings.Contains(out, "closed") || !strings.Contains(out, "RST|ACK from 198.18.1.1:0") {
		t.Errorf("probe --ports 0: exit %d, %q, %q", code, out, errs)
	}
	code, out, errs = inHc(t, l, "handshake", "--dst", "198.18.1.1", "--dport", "0")
	if code == exitUsage || !strings.Contains(out, "RST|ACK") || !strings.Contains(out, "nothing listens on 198.18.1.1:0") {
		t.Errorf("handshake --dport 0: exit %d, %q, %q", code, out, errs)
	}
	for _, c := range [][]string{{"probe", "--help"}, {"handshake", "--help"}} {
		h, _, _ := runCLI(t, c...)
		if !strings.Contains(h, "port 0 is probed when you name it") && !strings.Contains(h, "0 is sent as given") {
			t.Errorf("%v does not state the port-0 rule", c)
		}
	}
}
