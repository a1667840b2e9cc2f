package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/internal/lab"
)

// The experiment itself is tested in internal/exercise; here, the command:
// its flags become the experiment and its story is printed.
func TestFragCommand(t *testing.T) {
	lab.RequireRoot(t)
	out, errs, code := runCLI(t, "frag", "--size", "4000", "--fill", "F", "--frag", "1480", "--frag-order", "reverse", "--id", "0x1234")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"One UDP datagram of 4000 data bytes from Hc to Hs (198.18.1.1), IP ID 0x1234, made into 3 fragments, sent in the order 3,2,1:\n",
		"Hc → fragment: offset 2960, 1048 data bytes\n",
		"Hs ← fragment: offset 0, 1480 data bytes, MF   reassembly: complete\n",
		"Hs's application received 4000 bytes in one read: exactly the bytes sent\n",
		"Outcome:\n  the application received the datagram once, whole.\n  craft's reassembler completed the datagram; the kernel delivered it — they agree.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the story lacks %q:\n%s", want, out)
		}
	}
	if _, ok := lab.Labs()[fmt.Sprintf("frag%d", os.Getpid())]; ok {
		t.Errorf("frag left lab frag%d", os.Getpid())
	}
}

// Bad flags: one line naming the value and the rule, exit 2, no lab built.
func TestFragBadFlagsExit2(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--dst", "198.18.1.3"}, "--dst 198.18.1.3: frag experiments go to Hs (198.18.1.1) or Hf (198.18.2.2)"},
		{[]string{"--sender", "kernel"}, `--sender "kernel": craft or socket`},
		{[]string{"--via", "tun"}, `--via "tun": packet or ip`},
		{[]string{"--wait", "99999h"}, "--wait 99999h0m0s: 0 (the default: the lab's ipfrag_time + 1.5 s) up to 1m0s"},
		{[]string{"--wait", "-1s"}, "--wait -1s: 0 (the default"},
		{[]string{"--sender", "socket", "--mtu", "1500"}, "--sender socket sends UDP through an ordinary socket"},
		{[]string{"tcp", "--sender", "socket"}, "--sender socket sends UDP"},
		{[]string{"arp"}, "frag arp: a fragmentation experiment sends udp, icmp or tcp"},
		{[]string{"--size", "4000", "--frag", "1001"}, "--frag 1001: the data of every fragment but the last"},
		// IPv6 (issue 16 item 6)
		{[]string{"--dst", "2001:2:0:1::3"}, "--dst 2001:2:0:1::3: frag experiments go to Hs (198.18.1.1) or Hf (198.18.2.2), or over IPv6 to Hs (2001:2:0:1::1) or Hf (2001:2:0:2::1)"},
		{[]string{"--dst", "2001:2:0:1::1", "--src", "2001:2:0:1::5"}, "--src 2001:2:0:1::5: frag sends from Hc (2001:2:0:1::3)"},
		{[]string{"--dst", "2001:2:0:1::1", "--src", "198.18.1.3"}, "one is IPv4, the other IPv6"},
		{[]string{"--dst", "2001:2:0:1::1", "--sender", "socket", "--ext", "dest"}, "--ext with --sender socket: the kernel builds the IPv6 header"},
		{[]string{"--dst", "2001:2:0:1::1", "--sender", "socket", "--size", "4000", "--mtu", "1500"}, "--sender socket sends UDP through an ordinary socket"},
		{[]string{"--dst", "2001:2:0:1::1", "--ext", "frag", "--size", "4000", "--frag", "1448"}, "--ext frag and --frag or --mtu: the fragments get Fragment headers of their own"},
		{[]string{"--dst", "2001:2:0:1::1", "--size", "4000", "--mtu", "1000"}, "MTU 1000: IPv6 requires every link to carry 1280 bytes"},
		{[]string{"--dst", "2001:2:0:1::1", "--df"}, "--df is an IPv4 header field"},
		{[]string{"--hop-limit", "5"}, "--hop-limit is an IPv6 header field: give an IPv6 --dst"},
		{[]string{"--dst", "2001:2:0:1::1", "--size", "4000", "--frag", "1448", "--frag-drop", "1,2,3"}, "--frag-drop 1,2,3: drops all 3 fragments"},
		{[]string{"--dst", "2001:2:0:2::1", "--size", "4000", "--frag", "1452"}, "--frag 1452: the data of every fragment but the last"},
	} {
		out, errs, code := runCLI(t, append([]string{"frag"}, c.args...)...)
		if code != exitUsage || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 || out != "" {
			t.Errorf("frag %v: exit %d, stderr %q, stdout %q; want exit 2 and %q", c.args, code, errs, out, c.want)
		}
	}
	if _, ok := lab.Labs()[fmt.Sprintf("frag%d", os.Getpid())]; ok {
		t.Errorf("a refused frag left lab frag%d", os.Getpid())
	}
}

func TestSendUnfragmentedTooBigViaIP(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var errb bytes.Buffer
	err := l.Do(lab.Hc, func() error {
		cmd := newSendCmd()
		cmd.SetOut(io.Discard)
		cmd.SetErr(&errb)
		cmd.SetArgs([]string{"udp", "--dst", "198.18.1.1", "--size", "4000", "--via", "ip"})
		return cmd.Execute()
	})
	// Refused before sending, naming the kernel's rule (rawsock.KernelRefuses).
	var u usageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "EMSGSIZE") || !strings.Contains(err.Error(), "never fragments") || !strings.Contains(err.Error(), "--frag or --mtu") {
		t.Errorf("4000 unfragmented bytes via ip: %v", err)
	}
}
