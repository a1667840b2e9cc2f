package lab

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

var testPairs atomic.Int32

// PairForTest builds a Pair for one test, named for this process and test
// (rcpair<pid>-<n>-c and -s), removed when the test ends, passed or failed.
// It first removes the pairs of test processes that no longer run
// (SweepStalePairs). It skips or fails as RequireRoot says.
func PairForTest(t TB) *Pair {
	t.Helper()
	RequireRoot(t)
	SweepStalePairs()
	base := fmt.Sprintf("%s%d-%d", PairPrefix, os.Getpid(), testPairs.Add(1))
	p := &Pair{Client: base + "-c", Server: base + "-s"}
	t.Cleanup(func() {
		for _, ns := range []string{p.Client, p.Server} {
			if err := deleteNS(ns); err != nil {
				t.Fatalf("removing %s: %v", ns, err)
			}
		}
	})
	if err := p.build(); err != nil {
		t.Fatalf("building the namespace pair: %v", err)
	}
	return p
}

func (p *Pair) build() error {
	fds := map[string]netns.NsHandle{}
	defer func() {
		for _, f := range fds {
			f.Close()
		}
	}()
	for _, ns := range []string{p.Client, p.Server} {
		if err := newNS(ns); err != nil {
			return err
		}
		f, err := netns.GetFromName(ns)
		if err != nil {
			return err
		}
		fds[ns] = f
	}
	hc, err := netlink.NewHandleAt(fds[p.Client])
	if err != nil {
		return err
	}
	defer hc.Close()
	hs, err := netlink.NewHandleAt(fds[p.Server])
	if err != nil {
		return err
	}
	defer hs.Close()
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: PairIfc, MTU: 1500}, PeerName: PairIfc,
		PeerNamespace: netlink.NsFd(int(fds[p.Server]))}
	if err := hc.LinkAdd(v); err != nil {
		return fmt.Errorf("veth %s — %s: %w", p.Client, p.Server, err)
	}
	for _, s := range []struct {
		h    *netlink.Handle
		addr string
	}{{hc, PairClient.String() + "/24"}, {hs, PairServer.String() + "/24"}} {
		for _, name := range []string{"lo", PairIfc} {
			l, err := s.h.LinkByName(name)
			if err != nil {
				return err
			}
			if name == PairIfc {
				a, err := netlink.ParseAddr(s.addr)
				if err != nil {
					return err
				}
				if err := s.h.AddrAdd(l, a); err != nil {
					return err
				}
			}
			if err := s.h.LinkSetUp(l); err != nil {
				return err
			}
		}
	}
	// Wait, bounded, for both ends to carry traffic.
	for i := 0; i < 200; i++ {
		up := 0
		for _, h := range []*netlink.Handle{hc, hs} {
			if l, err := h.LinkByName(PairIfc); err == nil && l.Attrs().OperState == netlink.OperUp {
				up++
			}
		}
		if up == 2 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("the veth of %s did not come up in 2s", p.Client)
}

// SweepStalePairs removes the namespaces of pairs whose test process no
// longer runs, and returns their names.
func SweepStalePairs() []string {
	var removed []string
	for _, ns := range existing(PairPrefix) {
		pidStr, _, ok := strings.Cut(strings.TrimPrefix(ns, PairPrefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		if deleteNS(ns) == nil {
			removed = append(removed, ns)
		}
	}
	return removed
}

// PairInterface is the pair's veth end in the calling thread's namespace.
func PairInterface() (*net.Interface, error) { return net.InterfaceByName(PairIfc) }
