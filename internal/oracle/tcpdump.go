package oracle

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Verdicts are tcpdump's checksum verdicts on one packet's outer headers:
// "good", "bad" or "" (not said). tcpdump says ICMP's only when it is bad.
type Verdicts struct{ IP, TCP, UDP, ICMP, ICMPv6 string }

var tcpdumpPacketStart = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d+ `)

// TcpdumpVerdicts runs tcpdump -nn -vv -r file (20 s at most) and returns
// each packet's verdicts, or nil when its output does not split into
// exactly records blocks, one per packet.
func TcpdumpVerdicts(t testing.TB, file string, records int) []Verdicts {
	t.Helper()
	tcpdump := Require(t, "tcpdump")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, tcpdump, "-nn", "-vv", "-r", file).Output()
	var blocks []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if tcpdumpPacketStart.MatchString(line) {
			blocks = append(blocks, line+"\n")
		} else if len(blocks) > 0 {
			blocks[len(blocks)-1] += line + "\n"
		}
	}
	if len(blocks) != records {
		return nil
	}
	vs := make([]Verdicts, len(blocks))
	for i, b := range blocks {
		first, _, _ := strings.Cut(b, "\n")
		v := &vs[i]
		if strings.Contains(first, " proto ") {
			v.IP = "good"
			if strings.Contains(first, "bad cksum") {
				v.IP = "bad"
			}
		}
		v.TCP = firstOf(b, "(correct)", "(incorrect -> ")
		v.UDP = firstOf(b, "[udp sum ok]", "[bad udp cksum")
		if strings.Contains(b, "wrong icmp cksum") {
			v.ICMP = "bad"
		}
		v.ICMPv6 = firstOf(b, "[icmp6 sum ok]", "[bad icmp6 cksum")
	}
	return vs
}

// firstOf is "good" or "bad" as good's or bad's text comes first in b.
func firstOf(b, good, bad string) string {
	ok, no := strings.Index(b, good), strings.Index(b, bad)
	switch {
	case ok >= 0 && (no < 0 || ok < no):
		return "good"
	case no >= 0:
		return "bad"
	}
	return ""
}
