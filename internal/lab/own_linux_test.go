package lab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/owner"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/probe"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// fakeLab makes one namespace of a lab (its Hc) and a record naming own:
// enough for the sweep, which goes by names and records.
func fakeLab(t *testing.T, name, own string) {
	t.Helper()
	if err := writeRecord(Config{Name: name, FarMTU: 1280, FragTime: 3}, own); err != nil {
		t.Fatal(err)
	}
	if err := newNS(nsName(name, Hc)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = removeLab(name) })
}

// deadOwner is a process that has exited.
func deadOwner(t *testing.T) string {
	t.Helper()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	return owner.Owner{PID: c.Process.Pid, Start: 1}.String()
}

// liveOwner is a process that runs until the test ends.
func liveOwner(t *testing.T) string {
	t.Helper()
	c := exec.Command("sleep", "60")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	return owner.Owner{PID: c.Process.Pid}.String() // start 0: any process with that PID
}

// The case: lab up --name relp-a; lab down --name relp deleted
// rc-relp-a-*. Names are matched exactly: labs sharing a prefix coexist
// and go one at a time.
func TestNamesMatchedExactly(t *testing.T) {
	RequireRoot(t)
	a := fmt.Sprintf("t%d-relp", os.Getpid())
	b := a + "-a"
	for _, n := range []string{a, b} {
		fakeLab(t, n, owner.Self().String())
	}
	if got := Labs(); !slices.Equal(got[a], []string{Hc}) || !slices.Equal(got[b], []string{Hc}) {
		t.Fatalf("Labs: %v %v, want [hc] for both", got[a], got[b])
	}
	removed, err := Remove(a)
	if err != nil || !slices.Equal(removed, []string{nsName(a, Hc)}) {
		t.Fatalf("Remove(%s) = %v, %v", a, removed, err)
	}
	if !nsExists(nsName(b, Hc)) {
		t.Fatalf("Remove(%s) removed %s", a, nsName(b, Hc))
	}
	if _, ok := readRecord(b); !ok {
		t.Fatalf("Remove(%s) removed %s's record", a, b)
	}
	if _, err := Remove(b); err != nil || nsExists(nsName(b, Hc)) {
		t.Fatalf("Remove(%s): %v", b, err)
	}
	for _, bad := range []string{"", "-", "a-", "-a", "a b", "a/b", strings.Repeat("x", 21)} {
		if _, err := Remove(bad); !errors.Is(err, ErrName) {
			t.Errorf("Remove(%q): %v, want ErrName", bad, err)
		}
		if _, err := Up(Config{Name: bad}); bad != "" && !errors.Is(err, ErrName) {
			t.Errorf("Up(%q): %v, want ErrName", bad, err)
		}
	}
}

// The case: lab down --all removed every rc-* namespace, a live
// test run's included. The sweep goes by owner: an orphan (owner dead)
// goes with cleanup, a kept lab only with down --all, and a live
// process's lab with neither.
func TestSweepByOwner(t *testing.T) {
	RequireRoot(t)
	p := fmt.Sprintf("t%d-", os.Getpid())
	live, dead, kept := p+"live", p+"dead", p+"kept"
	fakeLab(t, live, liveOwner(t))
	fakeLab(t, dead, deadOwner(t))
	fakeLab(t, kept, Kept)
	// A record whose namespaces are gone, left by a run killed early.
	stale := p + "stale"
	if err := writeRecord(Config{Name: stale}, deadOwner(t)); err != nil {
		t.Fatal(err)
	}
	states := map[string]OwnerState{}
	for _, o := range Inventory() {
		states[o.Name] = o.State
	}
	if states[live] != Live || states[dead] != Orphan || states[kept] != KeptByUser || states[stale] != Orphan {
		t.Fatalf("states: %v", states)
	}
	mine := func(n string) bool { return strings.HasPrefix(n, p) }
	removed, err := sweep(false, mine)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, nsName(dead, Hc)) || !slices.Contains(removed, recordPath(stale)) || len(removed) != 2 {
		t.Fatalf("cleanup removed %v, want %s and %s", removed, nsName(dead, Hc), recordPath(stale))
	}
	if _, err := Remove(live); !errors.Is(err, ErrBusy) {
		t.Fatalf("Remove of a live run's lab: %v, want ErrBusy", err)
	}
	if _, err := Up(Config{Name: live}); !errors.Is(err, ErrBusy) {
		t.Fatalf("Up over a live run's lab: %v, want ErrBusy", err)
	}
	removed, err = sweep(true, mine)
	if err != nil || !slices.Equal(removed, []string{nsName(kept, Hc)}) {
		t.Fatalf("down --all removed %v (%v), want only %s", removed, err, nsName(kept, Hc))
	}
	if !nsExists(nsName(live, Hc)) {
		t.Fatal("the live run's lab was removed")
	}
}

// setLink sets a link of host up or down by hand.
func setLink(t *testing.T, l *Lab, host, ifc string, up bool) {
	t.Helper()
	f, err := netns.GetFromName(l.NS(host))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := netlink.NewHandleAt(f)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lk, err := h.LinkByName(ifc)
	if err != nil {
		t.Fatal(err)
	}
	if up {
		err = h.LinkSetUp(lk)
	} else {
		err = h.LinkSetDown(lk)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// The case: after a SIGKILL during lab up, lab up said "is up" over
// a lab whose Hc link was down, without routes, with Hs's ipfrag_time 30
// and icmp_ratelimit 1000. Check names each fault; Up repairs them.
func TestUpRepairsABrokenLab(t *testing.T) {
	l := ForTest(t, Config{Routed: true})
	if bad := l.Check(); len(bad) > 0 {
		t.Fatalf("a fresh lab fails its check: %v", bad)
	}
	// The cable pulled is the lab's own state, not a fault.
	if err := l.Break(); err != nil {
		t.Fatal(err)
	}
	if bad := l.Check(); len(bad) > 0 {
		t.Fatalf("a lab with the cable pulled fails its check: %v", bad)
	}
	if err := l.Restore(); err != nil {
		t.Fatal(err)
	}
	setLink(t, l, Hc, HostIfc, false)
	for _, kv := range [][2]string{{"net.ipv4.ipfrag_time", "30"}, {"net.ipv4.icmp_ratelimit", "1000"}, {"net.ipv4.icmp_msgs_per_sec", "1000"}} {
		if err := l.Sysctl(Hs, kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Do(Hf, func() error {
		_, dst, _ := net.ParseCIDR("198.18.1.0/24")
		return netlink.RouteDel(&netlink.Route{Dst: dst})
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"hc/eth0 is down",
		"hf lacks its route to 198.18.1.0/24 via 198.18.2.254",
		"hs: net.ipv4.icmp_ratelimit is 1000, not 0",
		"hs: net.ipv4.icmp_msgs_per_sec is 1000, not 1000000",
		"hs: net.ipv4.ipfrag_time is 30, not 3",
	}
	bad := l.Check()
	for _, w := range want {
		if !slices.Contains(bad, w) {
			t.Errorf("Check lacks %q: %q", w, bad)
		}
	}
	again, err := Up(l.Config())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !slices.Contains(again.Repaired(), w) {
			t.Errorf("Repaired lacks %q: %q", w, again.Repaired())
		}
	}
	if bad := again.Check(); len(bad) > 0 {
		t.Fatalf("after Up the lab still fails: %v", bad)
	}
	// A lab missing a namespace (killed half-way) is rebuilt as well.
	if err := deleteNS(l.NS(Hs)); err != nil {
		t.Fatal(err)
	}
	again, err = Up(l.Config())
	if err != nil || !slices.Contains(again.Repaired(), "namespace "+l.NS(Hs)+" is missing") {
		t.Fatalf("Up over a half-built lab: %v, repaired %q", err, again.Repaired())
	}
	srv := udpListen(t, again, Hf, "198.18.2.2:9999")
	cli := udpListen(t, again, Hc, "198.18.1.3:0")
	if !delivered(t, cli, srv, "repaired", 2*time.Second) {
		t.Fatal("Hc cannot reach Hf after the repair")
	}
}

// The case: probe udp --ports 1-3000 in the lab read 2 822 closed
// ports as open|filtered, because Hs's namespace-wide ICMP limit
// (icmp_msgs_per_sec 1000, burst 50) suppressed the port unreachables. The
// lab lifts it: every port is closed, on the first try.
func TestUDPClosedPortsNotRateLimited(t *testing.T) {
	l := ForTest(t, Config{})
	ports := make([]uint16, 3000)
	for i := range ports {
		ports[i] = uint16(20000 + i)
	}
	var rep *probe.Report
	err := l.Do(Hc, func() error {
		var err error
		rep, err = probe.Run(probe.Config{Proto: craft.ProtoUDP, Dst: AddrHs, Ports: ports, Timeout: time.Second,
			Packet: craft.Packet{IPv4: &craft.IPv4{}, UDP: &craft.UDP{}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	closed, other := 0, map[string]int{}
	for _, r := range rep.Results {
		if r.State == listen.Closed && r.Reply.Reason == listen.ICMPPortUnreachable {
			closed++
		} else {
			other[fmt.Sprint(r.State, "/", r.Reply.Reason)]++
		}
	}
	if closed != len(ports) {
		t.Fatalf("%d of %d ports closed; the rest: %v", closed, len(ports), other)
	}
}

// lab down --all on a shared machine: the caller's kept labs and every
// dead run's go; another user's kept lab, a lab with no recorded user and a
// live run's lab stay. --all-users (Sweep(true)) takes the first two too.
func TestSweepUserLeavesOthers(t *testing.T) {
	RequireRoot(t)
	p := fmt.Sprintf("t%d-u", os.Getpid())
	mineKept, otherKept, oldKept, dead, live := p+"mine", p+"other", p+"old", p+"dead", p+"live"
	fakeLab(t, mineKept, Kept)
	fakeLab(t, otherKept, Kept)
	fakeLab(t, oldKept, Kept)
	fakeLab(t, dead, deadOwner(t))
	fakeLab(t, live, liveOwner(t))
	me := owner.Caller()
	setUser := func(name, line string) {
		b, err := os.ReadFile(recordPath(name))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(b), fmt.Sprintf("user %d\n", me), line, 1)
		if err := os.WriteFile(recordPath(name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setUser(otherKept, fmt.Sprintf("user %d\n", me+4242))
	setUser(oldKept, "") // a record from before records named their user
	users := map[string]int{}
	for _, o := range Inventory() {
		users[o.Name] = o.User
	}
	if users[mineKept] != me || users[otherKept] != me+4242 || users[oldKept] != -1 {
		t.Fatalf("users read back: %v (me %d)", users, me)
	}
	mine := func(n string) bool { return strings.HasPrefix(n, p) }
	removed, err := sweepUser(me, mine)
	slices.Sort(removed)
	want := []string{nsName(dead, Hc), nsName(mineKept, Hc)}
	slices.Sort(want)
	if err != nil || !slices.Equal(removed, want) {
		t.Fatalf("lab down --all removed %v (%v), want %v", removed, err, want)
	}
	removed, err = sweep(true, mine)
	slices.Sort(removed)
	want = []string{nsName(oldKept, Hc), nsName(otherKept, Hc)}
	slices.Sort(want)
	if err != nil || !slices.Equal(removed, want) {
		t.Fatalf("lab down --all-users removed %v (%v), want %v", removed, err, want)
	}
	if !nsExists(nsName(live, Hc)) {
		t.Fatal("the live run's lab was removed")
	}
}

// The user a lab is recorded for is the one who ran sudo.
func TestCallerIsSudoUser(t *testing.T) {
	RequireRoot(t)
	t.Setenv("SUDO_UID", "4321")
	if u := owner.Caller(); u != 4321 {
		t.Fatalf("Caller under sudo = %d, want 4321", u)
	}
	t.Setenv("SUDO_UID", "")
	if u := owner.Caller(); u != os.Getuid() {
		t.Fatalf("Caller = %d, want %d", u, os.Getuid())
	}
}

// A lab of another kind under the name is not broken: Up over a plain lab
// asked for a routed one says what it was and what it built, and lists no
// damage (it said "was there but broken … built as far MTU 1280, …").
func TestUpOverAnotherKindReplacesIt(t *testing.T) {
	l := ForTest(t, Config{})
	again, err := Up(Config{Name: l.Name(), Routed: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = again.Down() })
	if was, now := again.Replaced(); was != "a plain lab" || now != "a routed lab" {
		t.Errorf("Replaced() = %q, %q; want \"a plain lab\", \"a routed lab\"", was, now)
	}
	if r := again.Repaired(); len(r) > 0 {
		t.Errorf("Repaired() = %q: a lab of another kind is not damage", r)
	}
	if bad := again.Check(); len(bad) > 0 {
		t.Fatalf("the routed lab fails its check: %v", bad)
	}
	// The same kind again: nothing replaced, nothing repaired.
	same, err := Up(again.Config())
	if err != nil {
		t.Fatal(err)
	}
	if was, _ := same.Replaced(); was != "" || len(same.Repaired()) > 0 {
		t.Errorf("Up over a whole routed lab: replaced %q, repaired %q", was, same.Repaired())
	}
}
