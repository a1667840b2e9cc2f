package lab

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

type linkSpec struct {
	host, name string
	mtu        int
	addr       string // "198.18.1.3/24" on a host's interface
	master     bool   // a port of the host's bridge br0
}

type routeSpec struct{ host, dst, via string }

type sysctlSpec struct{ host, key, value string }

// spec is the lab as it must be: what build makes and Check verifies.
func (l *Lab) spec() (links []linkSpec, routes []routeSpec, sysctls []sysctlSpec) {
	r := l.cfg.Routed
	links = []linkSpec{
		{host: Hc, name: HostIfc, mtu: 1500, addr: "198.18.1.3/24"},
		{host: Hs, name: HostIfc, mtu: 1500, addr: "198.18.1.1/24"},
		{host: S1, name: "hc", mtu: 1500, master: true}, {host: S1, name: "s2", mtu: 1500, master: true}, {host: S1, name: "br0"},
		{host: S2, name: "s1", mtu: 1500, master: true}, {host: S2, name: "hs", mtu: 1500, master: true}, {host: S2, name: "br0"},
	}
	if r {
		links = append(links,
			linkSpec{host: S1, name: "r", mtu: 1500, master: true},
			linkSpec{host: R, name: "eth0", mtu: 1500, addr: "198.18.1.254/24"},
			linkSpec{host: R, name: "eth1", mtu: l.cfg.FarMTU, addr: "198.18.2.254/24"},
			linkSpec{host: Hf, name: HostIfc, mtu: l.cfg.FarMTU, addr: "198.18.2.2/24"})
		routes = []routeSpec{{Hc, "198.18.2.0/24", "198.18.1.254"}, {Hs, "198.18.2.0/24", "198.18.1.254"}, {Hf, "198.18.1.0/24", "198.18.2.254"}}
	}
	for _, h := range l.Hosts() {
		sysctls = append(sysctls, sysctlSpec{h, "net/ipv6/conf/all/disable_ipv6", "1"}, sysctlSpec{h, "net/ipv6/conf/default/disable_ipv6", "1"})
		switch h {
		case S1, S2:
			// With br_netfilter loaded, a Linux bridge checks IPv4 like a
			// router: it drops bad header checksums and lying lengths and
			// trims Ethernet padding. The article's unmanaged switches do
			// none of that, so the lab's switches do not either. Without
			// br_netfilter the keys do not exist.
			for _, k := range []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables", "bridge-nf-call-arptables"} {
				if _, err := os.Stat("/proc/sys/net/bridge/" + k); err == nil {
					sysctls = append(sysctls, sysctlSpec{h, "net/bridge/" + k, "0"})
				}
			}
		default:
			// Answer every probe: neither the per-destination limit
			// (icmp_ratelimit) nor the namespace-wide one (icmp_msgs_*).
			sysctls = append(sysctls,
				sysctlSpec{h, "net/ipv4/icmp_ratelimit", "0"},
				sysctlSpec{h, "net/ipv4/icmp_msgs_per_sec", fmt.Sprint(ICMPRate)},
				sysctlSpec{h, "net/ipv4/icmp_msgs_burst", fmt.Sprint(ICMPRate)},
				sysctlSpec{h, "net/ipv4/ipfrag_time", fmt.Sprint(l.cfg.FragTime)})
		}
		if h == R {
			sysctls = append(sysctls, sysctlSpec{h, "net/ipv4/ip_forward", "1"})
		}
	}
	return links, routes, sysctls
}

// Check verifies the lab against its specification and returns what is
// wrong, one line each ("hc/eth0 is down", "hs: net.ipv4.ipfrag_time is 30,
// not 3"); nil when the lab is whole. A pulled S1–S2 cable (Break) is the
// lab's own state, not a fault.
func (l *Lab) Check() []string {
	var bad []string
	hs := handles{}
	defer hs.close()
	for _, h := range hostsOf(true) {
		ns := l.NS(h)
		want := l.cfg.Routed || (h != R && h != Hf)
		switch {
		case !want && nsExists(ns):
			bad = append(bad, fmt.Sprintf("namespace %s exists, but the lab is not routed", ns))
		case want && !nsExists(ns):
			bad = append(bad, fmt.Sprintf("namespace %s is missing", ns))
		case want:
			f, err := netns.GetFromName(ns)
			if err != nil {
				bad = append(bad, fmt.Sprintf("namespace %s: %v", ns, err))
				continue
			}
			hd, err := netlink.NewHandleAt(f)
			f.Close()
			if err != nil {
				bad = append(bad, fmt.Sprintf("namespace %s: %v", ns, err))
				continue
			}
			hs[h] = hd
		}
	}
	if len(bad) > 0 {
		return bad
	}
	links, routes, sysctls := l.spec()
	pulled := false
	if lk, err := hs[S1].LinkByName("s2"); err == nil {
		pulled = lk.Attrs().Flags&net.FlagUp == 0
	}
	for _, h := range l.Hosts() {
		lo, err := hs[h].LinkByName("lo")
		if err != nil || lo.Attrs().Flags&net.FlagUp == 0 {
			bad = append(bad, h+"/lo is down")
		}
	}
	for _, s := range links {
		where := s.host + "/" + s.name
		lk, err := hs[s.host].LinkByName(s.name)
		if err != nil {
			bad = append(bad, where+" is missing")
			continue
		}
		a := lk.Attrs()
		cable := (s.host == S1 && s.name == "s2") || (s.host == S2 && s.name == "s1")
		switch {
		case cable && pulled: // lab break: S1's end is down, S2's has no carrier
		case a.Flags&net.FlagUp == 0:
			bad = append(bad, where+" is down")
		case a.OperState != netlink.OperUp:
			bad = append(bad, fmt.Sprintf("%s is up but its state is %s", where, a.OperState))
		}
		if s.mtu != 0 && a.MTU != s.mtu {
			bad = append(bad, fmt.Sprintf("%s has MTU %d, not %d", where, a.MTU, s.mtu))
		}
		if s.master {
			br, err := hs[s.host].LinkByName("br0")
			if err != nil || a.MasterIndex != br.Attrs().Index {
				bad = append(bad, where+" is not a port of the switch's bridge br0")
			}
		}
		if s.addr != "" {
			want, _ := netlink.ParseAddr(s.addr)
			addrs, _ := hs[s.host].AddrList(lk, netlink.FAMILY_V4)
			found := false
			for _, x := range addrs {
				found = found || x.IPNet.String() == want.IPNet.String()
			}
			if !found {
				bad = append(bad, fmt.Sprintf("%s lacks its address %s", where, s.addr))
			}
			if on, err := l.TxChecksumOffload(s.host, s.name); err == nil && on != l.cfg.Offload {
				bad = append(bad, fmt.Sprintf("%s: checksum offload is %s, the lab wants it %s", where, onOff(on), onOff(l.cfg.Offload)))
			}
		}
	}
	for _, r := range routes {
		_, dst, _ := net.ParseCIDR(r.dst)
		rs, _ := hs[r.host].RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: dst}, netlink.RT_FILTER_DST)
		found := false
		for _, x := range rs {
			found = found || x.Gw.Equal(net.ParseIP(r.via))
		}
		if !found {
			bad = append(bad, fmt.Sprintf("%s lacks its route to %s via %s", r.host, r.dst, r.via))
		}
	}
	for _, s := range sysctls {
		var got string
		err := l.Do(s.host, func() error {
			b, err := os.ReadFile("/proc/sys/" + s.key)
			got = strings.TrimSpace(string(b))
			return err
		})
		key := strings.ReplaceAll(s.key, "/", ".")
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %s: %v", s.host, key, err))
		case got != s.value:
			bad = append(bad, fmt.Sprintf("%s: %s is %s, not %s", s.host, key, got, s.value))
		}
	}
	return bad
}

func onOff(b bool) string { return map[bool]string{true: "on", false: "off"}[b] }
