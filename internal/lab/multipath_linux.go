package lab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

var multipaths atomic.Int32

// activeMP are the topologies this process built and has not removed: a
// signal that removes the labs (armSignals) removes them too.
var (
	mpMu     sync.Mutex
	activeMP = map[*Multipath]bool{}
)

func cleanupMultipaths() {
	mpMu.Lock()
	ms := make([]*Multipath, 0, len(activeMP))
	for m := range activeMP {
		ms = append(ms, m)
	}
	mpMu.Unlock()
	for _, m := range ms {
		_ = m.Down()
	}
}

// MultipathForTest builds the multipath topology for one test, removed when
// the test ends, passed or failed. It first removes what killed test
// processes left (SweepStaleMultipath), and skips or fails as RequireRoot
// says.
func MultipathForTest(t TB) *Multipath {
	t.Helper()
	RequireRoot(t)
	m, err := UpMultipath()
	if m != nil {
		t.Cleanup(func() {
			if err := m.Down(); err != nil {
				t.Fatalf("removing the multipath topology: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("building the multipath topology: %v", err)
	}
	return m
}

// UpMultipath builds the topology under a name of this process's; on
// failure it removes what it made (the returned *Multipath is then nil, or
// the caller must still Down it when not nil).
func UpMultipath() (*Multipath, error) {
	if os.Geteuid() != 0 {
		return nil, ErrPermission
	}
	SweepStaleMultipath()
	m := &Multipath{base: fmt.Sprintf("%s%dx%d", MultipathPrefix, os.Getpid(), multipaths.Add(1))}
	mpMu.Lock()
	activeMP[m] = true // before the first namespace exists
	mpMu.Unlock()
	armSignals()
	if err := m.build(); err != nil {
		return nil, errors.Join(err, m.Down())
	}
	return m, nil
}

// Down removes the topology's namespaces, and with them everything in them.
func (m *Multipath) Down() error {
	mpMu.Lock()
	delete(activeMP, m)
	mpMu.Unlock()
	var errs []error
	for _, h := range MultipathHosts() {
		if nsExists(m.NS(h)) {
			errs = append(errs, deleteNS(m.NS(h)))
		}
	}
	return errors.Join(errs...)
}

// SweepStaleMultipath removes the namespaces of multipath topologies whose
// process no longer runs, and returns their names.
func SweepStaleMultipath() []string {
	var removed []string
	for _, ns := range existing(MultipathPrefix) {
		pidStr, _, ok := strings.Cut(strings.TrimPrefix(ns, MultipathPrefix), "x")
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

// Forwarded returns the packets RA and RB have received from R0 so far: the
// probes each path carried (no ARP crosses the links; IPv6 is off).
func (m *Multipath) Forwarded() (viaA, viaB uint64, err error) {
	get := func(host string) (uint64, error) {
		f, err := netns.GetFromName(m.NS(host))
		if err != nil {
			return 0, err
		}
		defer f.Close()
		h, err := netlink.NewHandleAt(f)
		if err != nil {
			return 0, err
		}
		defer h.Close()
		l, err := h.LinkByName(MPR0)
		if err != nil {
			return 0, err
		}
		if s := l.Attrs().Statistics; s != nil {
			return s.RxPackets, nil
		}
		return 0, fmt.Errorf("%s/%s: no counters", host, MPR0)
	}
	if viaA, err = get(MPRA); err != nil {
		return 0, 0, err
	}
	viaB, err = get(MPRB)
	return viaA, viaB, err
}

// mpEnd is one end of a link: host, interface, address/prefix.
type mpEnd struct{ host, ifc, addr string }

func mpMAC(addr string) net.HardwareAddr {
	ip := net.ParseIP(strings.Split(addr, "/")[0]).To4()
	return net.HardwareAddr{0x02, 0x4d, 0x50, ip[1], ip[2], ip[3]}
}

func (m *Multipath) build() error {
	hs := handles{}
	defer hs.close()
	fds := map[string]netns.NsHandle{}
	defer func() {
		for _, f := range fds {
			f.Close()
		}
	}()
	for _, host := range MultipathHosts() {
		if err := newNS(m.NS(host)); err != nil {
			return err
		}
		f, err := netns.GetFromName(m.NS(host))
		if err != nil {
			return err
		}
		fds[host] = f
		if hs[host], err = netlink.NewHandleAt(f); err != nil {
			return err
		}
		lo, err := hs[host].LinkByName("lo")
		if err != nil {
			return err
		}
		if err := hs[host].LinkSetUp(lo); err != nil {
			return err
		}
		sys := map[string]string{"net/ipv6/conf/all/disable_ipv6": "1", "net/ipv6/conf/default/disable_ipv6": "1",
			"net/ipv4/icmp_ratelimit": "0", "net/ipv4/icmp_msgs_per_sec": strconv.Itoa(ICMPRate), "net/ipv4/icmp_msgs_burst": strconv.Itoa(ICMPRate),
			"net/ipv4/conf/all/rp_filter": "0", "net/ipv4/conf/default/rp_filter": "0"}
		if host != MPSrc && host != MPDst {
			sys["net/ipv4/ip_forward"] = "1"
			sys["net/ipv4/fib_multipath_hash_policy"] = "1"
			sys["net/ipv4/icmp_errors_use_inbound_ifaddr"] = "1"
		}
		for k, v := range sys {
			if err := DoIn(m.NS(host), func() error { return os.WriteFile("/proc/sys/"+k, []byte(v), 0) }); err != nil {
				return fmt.Errorf("sysctl %s=%s in %s: %w", strings.ReplaceAll(k, "/", "."), v, host, err)
			}
		}
	}
	links := []struct {
		a, b mpEnd
		mtu  int
	}{
		{mpEnd{MPSrc, HostIfc, "198.18.10.2/24"}, mpEnd{MPR0, MPSrc, "198.18.10.1/24"}, 1500},
		{mpEnd{MPR0, MPRA, "198.18.11.1/24"}, mpEnd{MPRA, MPR0, "198.18.11.2/24"}, 1500},
		{mpEnd{MPR0, MPRB, "198.18.12.1/24"}, mpEnd{MPRB, MPR0, "198.18.12.2/24"}, 1500},
		{mpEnd{MPRA, MPRJ, "198.18.13.1/24"}, mpEnd{MPRJ, MPRA, "198.18.13.2/24"}, 1500},
		{mpEnd{MPRB, MPRJ, "198.18.14.1/24"}, mpEnd{MPRJ, MPRB, "198.18.14.2/24"}, MultipathSmallMTU},
		{mpEnd{MPRJ, MPDst, "198.18.20.1/24"}, mpEnd{MPDst, HostIfc, "198.18.20.2/24"}, 1500},
	}
	for _, lk := range links {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: lk.a.ifc, MTU: lk.mtu, HardwareAddr: mpMAC(lk.a.addr)},
			PeerName: lk.b.ifc, PeerNamespace: netlink.NsFd(int(fds[lk.b.host])), PeerMTU: uint32(lk.mtu), PeerHardwareAddr: mpMAC(lk.b.addr)}
		if err := hs[lk.a.host].LinkAdd(v); err != nil {
			return fmt.Errorf("veth %s/%s — %s/%s: %w", lk.a.host, lk.a.ifc, lk.b.host, lk.b.ifc, err)
		}
		for _, e := range [][2]mpEnd{{lk.a, lk.b}, {lk.b, lk.a}} {
			self, peer := e[0], e[1]
			h := hs[self.host]
			link, err := h.LinkByName(self.ifc)
			if err != nil {
				return err
			}
			a, err := netlink.ParseAddr(self.addr)
			if err != nil {
				return err
			}
			if err := h.AddrAdd(link, a); err != nil {
				return fmt.Errorf("address %s on %s/%s: %w", self.addr, self.host, self.ifc, err)
			}
			if err := DoIn(m.NS(self.host), func() error { return offloadOff(self.ifc) }); err != nil {
				return err
			}
			if err := h.LinkSetUp(link); err != nil {
				return err
			}
			// Static neighbours: no ARP on any link, ever.
			n := &netlink.Neigh{LinkIndex: link.Attrs().Index, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
				IP: net.ParseIP(strings.Split(peer.addr, "/")[0]), HardwareAddr: mpMAC(peer.addr)}
			if err := h.NeighSet(n); err != nil {
				return fmt.Errorf("neighbour %s in %s: %w", peer.addr, self.host, err)
			}
		}
	}
	type route struct {
		host, dst string
		via       []string
	}
	for _, r := range []route{
		{MPSrc, "0.0.0.0/0", []string{"198.18.10.1"}},
		{MPR0, "198.18.20.0/24", []string{"198.18.11.2", "198.18.12.2"}},
		{MPRA, "198.18.10.0/24", []string{"198.18.11.1"}},
		{MPRA, "198.18.20.0/24", []string{"198.18.13.2"}},
		{MPRB, "198.18.10.0/24", []string{"198.18.12.1"}},
		{MPRB, "198.18.20.0/24", []string{"198.18.14.2"}},
		{MPRJ, "198.18.10.0/24", []string{"198.18.13.1", "198.18.14.1"}},
		{MPDst, "0.0.0.0/0", []string{"198.18.20.1"}},
	} {
		_, dst, err := net.ParseCIDR(r.dst)
		if err != nil {
			return err
		}
		rt := &netlink.Route{Dst: dst}
		if len(r.via) == 1 {
			rt.Gw = net.ParseIP(r.via[0])
		} else {
			for _, v := range r.via {
				rt.MultiPath = append(rt.MultiPath, &netlink.NexthopInfo{Gw: net.ParseIP(v), Hops: 0})
			}
		}
		if err := hs[r.host].RouteAdd(rt); err != nil {
			return fmt.Errorf("route %s via %v in %s: %w", r.dst, r.via, r.host, err)
		}
	}
	// Bounded wait for every link to carry traffic.
	deadline := time.Now().Add(3 * time.Second)
	for {
		var down []string
		for host, h := range hs {
			links, err := h.LinkList()
			if err != nil {
				return err
			}
			for _, lk := range links {
				if a := lk.Attrs(); a.Name != "lo" && a.OperState != netlink.OperUp {
					down = append(down, host+"/"+a.Name)
				}
			}
		}
		if len(down) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("multipath links still not up after 3s: %v", down)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
