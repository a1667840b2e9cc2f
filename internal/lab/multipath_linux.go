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
	"golang.org/x/sys/unix"
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
// probes each path carried, IPv4 and IPv6 (nothing else crosses the links:
// no ARP, neighbour discovery or listener report).
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

// SetHashPolicy6 sets net.ipv6.fib_multipath_hash_policy in the routers
// that balance, R0 and RJ (each namespace has its own): 0 hashes the
// addresses, the flow label and the next header, 1 the addresses, the next
// header and the ports (ip-sysctl.rst). The topology starts with 0.
func (m *Multipath) SetHashPolicy6(policy int) error {
	for _, host := range []string{MPR0, MPRJ} {
		if err := DoIn(m.NS(host), func() error {
			return os.WriteFile("/proc/sys/net/ipv6/fib_multipath_hash_policy", []byte(strconv.Itoa(policy)), 0)
		}); err != nil {
			return fmt.Errorf("sysctl net.ipv6.fib_multipath_hash_policy=%d in %s: %w", policy, host, err)
		}
	}
	return nil
}

// mpEnd is one end of a link: host, interface, IPv4 and IPv6
// address/prefix.
type mpEnd struct{ host, ifc, addr, addr6 string }

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
		// IPv6 without duplicate address detection or router
		// solicitations; forwarding is turned on once every interface
		// has multicast off (forwardingOn6), or each would join the
		// all-routers groups and report it.
		sys := map[string]string{"net/ipv6/conf/all/accept_dad": "0", "net/ipv6/conf/default/accept_dad": "0",
			"net/ipv6/conf/all/accept_ra": "0", "net/ipv6/conf/default/accept_ra": "0",
			"net/ipv6/conf/all/router_solicitations": "0", "net/ipv6/conf/default/router_solicitations": "0",
			"net/ipv6/icmp/ratelimit": "0",
			"net/ipv4/icmp_ratelimit": "0", "net/ipv4/icmp_msgs_per_sec": strconv.Itoa(ICMPRate), "net/ipv4/icmp_msgs_burst": strconv.Itoa(ICMPRate),
			"net/ipv4/conf/all/rp_filter": "0", "net/ipv4/conf/default/rp_filter": "0"}
		if host != MPSrc && host != MPDst {
			sys["net/ipv4/ip_forward"] = "1"
			sys["net/ipv4/fib_multipath_hash_policy"] = "1"
			sys["net/ipv4/icmp_errors_use_inbound_ifaddr"] = "1"
			sys["net/ipv6/fib_multipath_hash_policy"] = "0"
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
		{mpEnd{MPSrc, HostIfc, "198.18.10.2/24", "2001:2:0:10::2/64"}, mpEnd{MPR0, MPSrc, "198.18.10.1/24", "2001:2:0:10::1/64"}, 1500},
		{mpEnd{MPR0, MPRA, "198.18.11.1/24", "2001:2:0:11::1/64"}, mpEnd{MPRA, MPR0, "198.18.11.2/24", "2001:2:0:11::2/64"}, 1500},
		{mpEnd{MPR0, MPRB, "198.18.12.1/24", "2001:2:0:12::1/64"}, mpEnd{MPRB, MPR0, "198.18.12.2/24", "2001:2:0:12::2/64"}, 1500},
		{mpEnd{MPRA, MPRJ, "198.18.13.1/24", "2001:2:0:13::1/64"}, mpEnd{MPRJ, MPRA, "198.18.13.2/24", "2001:2:0:13::2/64"}, 1500},
		{mpEnd{MPRB, MPRJ, "198.18.14.1/24", "2001:2:0:14::1/64"}, mpEnd{MPRJ, MPRB, "198.18.14.2/24", "2001:2:0:14::2/64"}, MultipathSmallMTU},
		{mpEnd{MPRJ, MPDst, "198.18.20.1/24", "2001:2:0:20::1/64"}, mpEnd{MPDst, HostIfc, "198.18.20.2/24", "2001:2:0:20::2/64"}, 1500},
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
			// On routers, no neighbour discovery and no group joined that
			// would be reported: IPv6 then joins no solicited-node group
			// (addrconf_join_solict) nor all-routers. Not on the source
			// and the destination, whose own senders (rawsock.Resolve)
			// take a NOARP interface's destination MAC to be its own;
			// their listener reports stay on their links, which Forwarded
			// does not count.
			if self.host != MPSrc && self.host != MPDst {
				if err := h.LinkSetARPOff(link); err != nil {
					return err
				}
				if err := h.LinkSetMulticastOff(link); err != nil {
					return err
				}
			}
			for _, addr := range []string{self.addr, self.addr6} {
				a, err := netlink.ParseAddr(addr)
				if err != nil {
					return err
				}
				if err := h.AddrAdd(link, a); err != nil {
					return fmt.Errorf("address %s on %s/%s: %w", addr, self.host, self.ifc, err)
				}
			}
			if err := DoIn(m.NS(self.host), func() error { return offloadOff(self.ifc) }); err != nil {
				return err
			}
			if err := h.LinkSetUp(link); err != nil {
				return err
			}
			// Static neighbours: no ARP or neighbour solicitation on any
			// link, ever.
			for _, n := range []*netlink.Neigh{
				{LinkIndex: link.Attrs().Index, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
					IP: net.ParseIP(strings.Split(peer.addr, "/")[0]), HardwareAddr: mpMAC(peer.addr)},
				{LinkIndex: link.Attrs().Index, Family: netlink.FAMILY_V6, State: netlink.NUD_PERMANENT,
					IP: net.ParseIP(strings.Split(peer.addr6, "/")[0]), HardwareAddr: mpMAC(peer.addr)},
			} {
				if err := h.NeighSet(n); err != nil {
					return fmt.Errorf("neighbour %v in %s: %w", n.IP, self.host, err)
				}
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
		{MPSrc, "::/0", []string{"2001:2:0:10::1"}},
		{MPR0, "2001:2:0:20::/64", []string{"2001:2:0:11::2", "2001:2:0:12::2"}},
		{MPRA, "2001:2:0:10::/64", []string{"2001:2:0:11::1"}},
		{MPRA, "2001:2:0:20::/64", []string{"2001:2:0:13::2"}},
		{MPRB, "2001:2:0:10::/64", []string{"2001:2:0:12::1"}},
		{MPRB, "2001:2:0:20::/64", []string{"2001:2:0:14::2"}},
		{MPRJ, "2001:2:0:10::/64", []string{"2001:2:0:13::1", "2001:2:0:14::1"}},
		{MPDst, "::/0", []string{"2001:2:0:20::1"}},
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
	for _, host := range []string{MPR0, MPRA, MPRB, MPRJ} {
		if err := DoIn(m.NS(host), func() error { return os.WriteFile("/proc/sys/net/ipv6/conf/all/forwarding", []byte("1"), 0) }); err != nil {
			return fmt.Errorf("sysctl net.ipv6.conf.all.forwarding=1 in %s: %w", host, err)
		}
	}
	// Bounded wait for every link to carry traffic, and every IPv6
	// address on it to be usable (out of the tentative state, which the
	// kernel's work queue ends after the link comes up).
	deadline := time.Now().Add(3 * time.Second)
	for {
		var down []string
		for host, h := range hs {
			links, err := h.LinkList()
			if err != nil {
				return err
			}
			for _, lk := range links {
				a := lk.Attrs()
				if a.Name == "lo" {
					continue
				}
				if a.OperState != netlink.OperUp {
					down = append(down, host+"/"+a.Name)
					continue
				}
				addrs, err := h.AddrList(lk, netlink.FAMILY_V6)
				if err != nil {
					return err
				}
				usable := 0
				for _, ad := range addrs {
					if ad.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 && !ad.IP.IsLinkLocalUnicast() {
						usable++
					}
				}
				if usable == 0 {
					down = append(down, host+"/"+a.Name+" (IPv6 address tentative)")
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
