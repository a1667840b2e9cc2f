// Package oracle runs the independent programs that rawcraft's tests check
// its verdicts against — nmap's port states, tshark's dissection and TCP
// analysis, tcpdump's checksums — and reads their output. Tests only.
package oracle

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"testing"
)

// Require returns tool's path. It skips the test when tool is missing and
// CI is unset, and fails it under CI, which installs every oracle
// (.ci/run): a verdict never goes unchecked there.
func Require(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed and CI=%q: .ci/run installs it", tool, os.Getenv("CI"))
	}
	t.Skipf("%s is not installed", tool)
	return ""
}

// nmapRun is the part of nmap's -oX output the comparison reads.
type nmapRun struct {
	Hosts []struct {
		Ports []struct {
			Protocol string `xml:"protocol,attr"`
			Port     uint16 `xml:"portid,attr"`
			State    struct {
				State string `xml:"state,attr"`
			} `xml:"state"`
		} `xml:"ports>port"`
	} `xml:"host"`
}

// NmapStates runs nmap with scan (e.g. "-sS", "-sA") and extra arguments
// inside network namespace ns against ports of target, and returns each
// port's state as nmap names it: open, closed, filtered, unfiltered,
// open|filtered.
func NmapStates(t testing.TB, ns, target, ports string, scan ...string) map[uint16]string {
	t.Helper()
	nmap := Require(t, "nmap")
	args := append([]string{"netns", "exec", ns, nmap}, scan...)
	args = append(args, "-n", "-Pn", "--max-retries", "1", "-p", ports, "-oX", "-", target)
	cmd := exec.Command("ip", args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nmap %v: %v: %s", scan, err, errb.String())
	}
	var r nmapRun
	if err := xml.Unmarshal(out, &r); err != nil || len(r.Hosts) != 1 {
		t.Fatalf("nmap %v output: %v\n%s", scan, err, out)
	}
	m := map[uint16]string{}
	for _, p := range r.Hosts[0].Ports {
		m[p.Port] = p.State.State
	}
	return m
}

// NmapHost runs nmap's host discovery (-sn) with ping (e.g. "-PE", an ICMP
// echo) inside network namespace ns against target, and returns the host's
// state, "up" or "down", and nmap's reason for it ("echo-reply",
// "port-unreach", … ; "" when down). extra are more arguments ("-6").
func NmapHost(t testing.TB, ns, target, ping string, extra ...string) (state, reason string) {
	t.Helper()
	nmap := Require(t, "nmap")
	args := append([]string{"netns", "exec", ns, nmap, "-sn", ping, "-n", "--max-retries", "1", "-oX", "-"}, extra...)
	cmd := exec.Command("ip", append(args, target)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nmap -sn %s: %v: %s", ping, err, errb.String())
	}
	var r struct {
		Hosts []struct {
			Status struct {
				State  string `xml:"state,attr"`
				Reason string `xml:"reason,attr"`
			} `xml:"status"`
		} `xml:"host"`
	}
	if err := xml.Unmarshal(out, &r); err != nil {
		t.Fatalf("nmap -sn output: %v\n%s", err, out)
	}
	for _, h := range r.Hosts {
		if h.Status.State == "up" {
			return "up", h.Status.Reason
		}
	}
	return "down", ""
}
