package main

import (
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// A bad --shard, or one on a scan that cannot be stateless, is one line and
// exit 2, before anything is sent.
func TestProbeShardBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"probe", "tcp", "--dst", "198.18.1.0/24", "--shard", "4/4"}, `--shard: "4/4" is not I/N`},
		{[]string{"probe", "tcp", "--dst", "198.18.1.0/24", "--shard", "1"}, `--shard: "1" is not I/N`},
		{[]string{"probe", "tcp", "--dst", "198.18.1.0/24", "--shard", "0/0"}, `is not I/N`},
		// Refused by probe.Scan's own checks, before any socket is opened.
		{[]string{"probe", "udp", "--dst", "198.18.1.1", "--shard", "0/2"}, "a stateless scan sends TCP SYNs"},
		{[]string{"probe", "tcp", "--dst", "198.18.1.1", "--flags", "SF", "--shard", "0/2"}, "a stateless scan sends plain IPv4 SYNs"},
	} {
		out, errs, code := runCLI(t, c.args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, one line with %q", c.args, code, out, errs, c.want)
		}
	}
}

// Four `probe --shard I/4 --json` runs, as four machines would run them,
// concatenate into one line per host of a block that one server answers
// for (a local route on its lo): every host once, each closed by its RST.
func TestProbeShardsJSON(t *testing.T) {
	blk := netip.MustParsePrefix("198.18.128.0/22")
	p := lab.PairForTest(t)
	dst := &net.IPNet{IP: blk.Addr().AsSlice(), Mask: net.CIDRMask(blk.Bits(), 32)}
	if err := p.Do(p.Server, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{LinkIndex: lo.Attrs().Index, Dst: dst, Type: unix.RTN_LOCAL, Table: unix.RT_TABLE_LOCAL, Scope: netlink.SCOPE_HOST})
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.Do(p.Client, func() error {
		eth, err := netlink.LinkByName(lab.PairIfc)
		if err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Dst: dst, Gw: lab.PairServer.AsSlice()})
	}); err != nil {
		t.Fatal(err)
	}
	// Outside the lab the rails hold: 1 024 hosts need the owner's word.
	code, out, errs := inNS(t, p.Client, "probe", "tcp", "--dst", blk.String(), "--ports", "80", "--shard", "0/4")
	if code != exitUsage || out != "" || !strings.Contains(errs, "1024 hosts") {
		t.Fatalf("without %s: exit %d, stdout %q, stderr %q", "--i-own-the-network", code, out, errs)
	}
	seen := map[string]int{}
	start := time.Now()
	for i := 0; i < 4; i++ {
		code, out, errs := inNS(t, p.Client, "probe", "tcp", "--dst", blk.String(), "--ports", "80", "--shard", []string{"0/4", "1/4", "2/4", "3/4"}[i],
			"--json", "--rate", "max", "--i-own-the-network", "--retries", "2")
		if code != exitOK {
			t.Fatalf("shard %d/4: exit %d, stderr %q", i, code, errs)
		}
		if !strings.Contains(errs, "shard "+[]string{"0/4", "1/4", "2/4", "3/4"}[i]+" of a scan of 1024 hosts") {
			t.Errorf("shard %d/4: stderr %q names no shard", i, errs)
		}
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			var j struct {
				Dst, State, Reason, From string
				Port                     uint16
			}
			if err := json.Unmarshal([]byte(line), &j); err != nil {
				t.Fatalf("shard %d/4: %q: %v", i, line, err)
			}
			if j.Port != 80 || j.State != "closed" || j.Reason != "rst" || j.From != j.Dst {
				t.Fatalf("shard %d/4: %s", i, line)
			}
			seen[j.Dst]++
		}
	}
	t.Logf("4 shards of %v in %v", blk, time.Since(start).Round(time.Millisecond))
	if len(seen) != 1024 {
		t.Errorf("the shards' lines name %d hosts; want 1024", len(seen))
	}
	for a, n := range seen {
		if n != 1 || !blk.Contains(netip.MustParseAddr(a)) {
			t.Errorf("%s: %d lines", a, n)
		}
	}
}
