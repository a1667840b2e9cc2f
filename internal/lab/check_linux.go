package lab

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

type linkSpec struct {
	host, name string
	mtu        int
	addrs      []string // "198.18.1.3/24", "2001:2:0:1::3/64" on a host's interface
	master     bool     // a port of the host's bridge br0
}

type routeSpec struct{ host, dst, via string }

type sysctlSpec struct{ host, key, value string }

// ipv6Quiet are the IPv6 settings of a host's namespace, for "all",
// "default" (which interfaces made later inherit) and each interface: no
// duplicate address detection (addresses usable at once, no probes on the
// wire), no router advertisements taken and no router solicitations sent,
// addresses kept over a link's down and up as IPv4's are, and the multicast
// listener reports of a link coming up sent within milliseconds rather than
// up to a second apart (waitQuiet waits for them). Link-local addresses
// stay: neighbour discovery needs them.
var ipv6Quiet = [][2]string{
	{"disable_ipv6", "0"},
	{"accept_dad", "0"},
	{"accept_ra", "0"},
	{"router_solicitations", "0"},
	{"keep_addr_on_down", "1"},
	{"mldv1_unsolicited_report_interval", "20"},
	{"mldv2_unsolicited_report_interval", "20"},
}

// ipv6Conf lists a host's IPv6 settings (ipv6Quiet) for conf/DEV of each
// dev.
func ipv6Conf(host string, devs ...string) []sysctlSpec {
	var out []sysctlSpec
	for _, d := range devs {
		for _, kv := range ipv6Quiet {
			out = append(out, sysctlSpec{host, "net/ipv6/conf/" + d + "/" + kv[0], kv[1]})
		}
	}
	return out
}

// switchConf lists what a switch's namespace sets before its bridge
// exists: no IPv6 of its own (the bridge forwards IPv6 frames all the same).
func switchConf(host string) []sysctlSpec {
	return []sysctlSpec{{host, "net/ipv6/conf/all/disable_ipv6", "1"}, {host, "net/ipv6/conf/default/disable_ipv6", "1"}}
}

// spec is the lab as it must be: what build makes and Check verifies.
func (l *Lab) spec() (links []linkSpec, routes []routeSpec, sysctls []sysctlSpec) {
	r := l.cfg.Routed
	links = []linkSpec{
		{host: Hc, name: HostIfc, mtu: 1500, addrs: []string{"198.18.1.3/24", "2001:2:0:1::3/64"}},
		{host: Hs, name: HostIfc, mtu: 1500, addrs: []string{"198.18.1.1/24", "2001:2:0:1::1/64"}},
		{host: S1, name: "hc", mtu: 1500, master: true}, {host: S1, name: "s2", mtu: 1500, master: true}, {host: S1, name: "br0"},
		{host: S2, name: "s1", mtu: 1500, master: true}, {host: S2, name: "hs", mtu: 1500, master: true}, {host: S2, name: "br0"},
	}
	if r {
		links = append(links,
			linkSpec{host: S1, name: "r", mtu: 1500, master: true},
			linkSpec{host: R, name: "eth0", mtu: 1500, addrs: []string{"198.18.1.254/24", "2001:2:0:1::2/64"}},
			linkSpec{host: R, name: "eth1", mtu: l.cfg.FarMTU, addrs: []string{"198.18.2.254/24", "2001:2:0:2::2/64"}},
			linkSpec{host: Hf, name: HostIfc, mtu: l.cfg.FarMTU, addrs: []string{"198.18.2.2/24", "2001:2:0:2::1/64"}})
		routes = []routeSpec{
			{Hc, "198.18.2.0/24", "198.18.1.254"}, {Hs, "198.18.2.0/24", "198.18.1.254"}, {Hf, "198.18.1.0/24", "198.18.2.254"},
			{Hc, "2001:2:0:2::/64", "2001:2:0:1::2"}, {Hs, "2001:2:0:2::/64", "2001:2:0:1::2"}, {Hf, "2001:2:0:1::/64", "2001:2:0:2::2"},
		}
	}
	for _, h := range l.Hosts() {
		switch h {
		case S1, S2:
			sysctls = append(sysctls, switchConf(h)...)
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
			devs := []string{"all", "default"}
			for _, lk := range links {
				if lk.host == h {
					devs = append(devs, lk.name)
				}
			}
			sysctls = append(sysctls, ipv6Conf(h, devs...)...)
			// Answer every probe: neither the per-destination limits
			// (icmp_ratelimit, icmp/ratelimit) nor the namespace-wide one
			// (icmp_msgs_*, which ICMPv6 shares).
			sysctls = append(sysctls,
				sysctlSpec{h, "net/ipv4/icmp_ratelimit", "0"},
				sysctlSpec{h, "net/ipv6/icmp/ratelimit", "0"},
				sysctlSpec{h, "net/ipv4/icmp_msgs_per_sec", fmt.Sprint(ICMPRate)},
				sysctlSpec{h, "net/ipv4/icmp_msgs_burst", fmt.Sprint(ICMPRate)},
				sysctlSpec{h, "net/ipv4/ipfrag_time", fmt.Sprint(l.cfg.FragTime)},
				sysctlSpec{h, "net/ipv6/ip6frag_time", fmt.Sprint(l.cfg.FragTime)})
		}
		if h == R {
			sysctls = append(sysctls, sysctlSpec{h, "net/ipv4/ip_forward", "1"}, sysctlSpec{h, "net/ipv6/conf/all/forwarding", "1"})
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
		if len(s.addrs) > 0 {
			have, _ := hs[s.host].AddrList(lk, netlink.FAMILY_ALL)
			for _, sa := range s.addrs {
				want, _ := netlink.ParseAddr(sa)
				var found *netlink.Addr
				for i, x := range have {
					if x.IPNet.String() == want.IPNet.String() {
						found = &have[i]
					}
				}
				switch {
				case found == nil:
					bad = append(bad, fmt.Sprintf("%s lacks its address %s", where, sa))
				case found.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0:
					bad = append(bad, fmt.Sprintf("%s: its address %s is not usable (tentative or failed duplicate address detection)", where, sa))
				}
			}
			if on, err := l.TxChecksumOffload(s.host, s.name); err == nil && on != l.cfg.Offload {
				bad = append(bad, fmt.Sprintf("%s: checksum offload is %s, the lab wants it %s", where, onOff(on), onOff(l.cfg.Offload)))
			}
		}
		if s.name == "br0" {
			if br, ok := lk.(*netlink.Bridge); !ok || br.MulticastSnooping == nil || *br.MulticastSnooping {
				bad = append(bad, where+" snoops multicast: the lab's switches flood it, as unmanaged switches do")
			}
		}
	}
	for _, r := range routes {
		_, dst, _ := net.ParseCIDR(r.dst)
		rs, _ := hs[r.host].RouteListFiltered(family(dst.IP), &netlink.Route{Dst: dst}, netlink.RT_FILTER_DST)
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

// family is netlink's address family of ip.
func family(ip net.IP) int {
	if ip.To4() != nil {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

func onOff(b bool) string { return map[bool]string{true: "on", false: "off"}[b] }
