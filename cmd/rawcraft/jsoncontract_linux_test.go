package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
)

// TestJSONContractOnTheWire: send, probe, trace and listen, run in a
// routed lab, give lines that keep docs/json.md's contract, over runs that
// exercise the optional keys (fragments, an ICMP error's code and MTU, a
// router's time exceeded, the kernel's RST after a SYN-ACK, IPv6).
func TestJSONContractOnTheWire(t *testing.T) {
	c := readJSONContract(t)
	l := lab.ForTest(t, lab.Config{Routed: true})
	// An open port on Hs: the kernel answers SYN-ACK without an accept.
	var ln net.Listener
	if err := l.Do(lab.Hs, func() (err error) { ln, err = net.Listen("tcp4", "198.18.1.1:9999"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	jsonRun := func(section string, args ...string) map[string]bool {
		t.Helper()
		code, out, errs := inHc(t, l, append(args, "--json")...)
		if code != exitOK {
			t.Fatalf("%v: exit %d, %s", args, code, errs)
		}
		return checkJSONLines(t, c, section, strings.Join(args, " "), out)
	}
	seen := map[string]bool{}
	add := func(m map[string]bool) {
		for k := range m {
			seen[k] = true
		}
	}
	add(jsonRun("send", "send", "udp", "--dst", "198.18.1.1", "--data", "Hello"))
	add(jsonRun("send", "send", "udp", "--dst", "198.18.1.1", "--size", "3000", "--mtu", "1500", "--count", "1"))
	add(jsonRun("send", "send", "udp", "--dst", "2001:2:0:1::1", "--data", "Hello", "--via", "ip"))
	add(jsonRun("probe", "probe", "tcp", "--dst", "198.18.1.1", "--ports", "9998-9999"))
	add(jsonRun("probe", "probe", "udp", "--dst", "198.18.2.2", "--df", "--size", "1400"))
	add(jsonRun("probe", "probe", "udp", "--dst", "2001:2:0:1::1,198.18.1.1", "--ports", "9999"))
	add(jsonRun("probe", "probe", "icmp", "--dst", "198.18.1.1"))
	add(jsonRun("trace", "trace", "--dst", "198.18.2.2"))
	add(jsonRun("trace", "trace", "--dst", "198.18.2.2", "--pmtu"))
	add(jsonRun("trace", "trace", "--dst", "2001:2:0:2::1", "--proto", "icmp"))
	for _, k := range []string{"fragment", "code", "mtu", "kernel_rst", "from", "ttl", "hop_limit"} {
		if !seen[k] {
			t.Errorf("no line had %q: the test no longer covers it (seen %v)", k, seen)
		}
	}
	// listen: Hs's view of a probe (in) and of its own answer (out).
	done := make(chan struct{})
	var code int
	var out, errs string
	go func() {
		defer close(done)
		var o, e strings.Builder
		_ = l.Do(lab.Hs, func() error {
			code = run([]string{"listen", "--json", "--count", "2", "--proto", "udp", "--timeout", "10s"}, &o, &e)
			return nil
		})
		out, errs = o.String(), e.String()
	}()
	time.Sleep(500 * time.Millisecond) // until it captures
	if c2, _, e := inHc(t, l, "probe", "udp", "--dst", "198.18.1.1", "--ports", "9998"); c2 != exitOK {
		t.Fatal(e)
	}
	<-done
	if code != exitOK {
		t.Fatalf("listen: exit %d, %s", code, errs)
	}
	checkJSONLines(t, c, "listen", "listen", out)
}
