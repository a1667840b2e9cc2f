package lab

import "net/netip"

// The multipath topology, for traceroute (probe.Trace): a source, an
// ingress router R0 that balances per flow over two equal-cost paths — one
// through RA, one through RB, whose link to RJ has a smaller MTU — and a
// router RJ where they join, in front of the destination. Every link has
// an IPv4 and an IPv6 prefix (198.18.1X.0/24 and 2001:2:0:1X::/64).
//
//	             198.18.11.0/24      198.18.13.0/24
//	           ┌─── RA ───────────────────┐
//	src ── R0 ─┤                          RJ ── dst
//	           └─── RB ───────────────────┘
//	             198.18.12.0/24      198.18.14.0/24 (MTU MultipathSmallMTU)
//
// R0 and RJ hash IPv4 on the 5-tuple (net.ipv4.fib_multipath_hash_policy=1),
// and IPv6 on the addresses, the flow label and the next header
// (net.ipv6.fib_multipath_hash_policy=0, Linux's default; SetHashPolicy6
// changes it): every packet of one flow takes one path, and flows spread
// over both. IPv4 routers answer from the interface a probe came in on
// (icmp_errors_use_inbound_ifaddr), so the path shows in RJ's address too.
// Every neighbour entry is static and no router's interface does
// neighbour discovery or joins a group it would report (IFF_NOARP,
// multicast off): no ARP, neighbour solicitation or listener report ever
// crosses a link between routers, and their interface counters count
// probes alone.
const (
	MPSrc = "src"
	MPR0  = "r0"
	MPRA  = "ra"
	MPRB  = "rb"
	MPRJ  = "rj"
	MPDst = "dst"
)

// MultipathSmallMTU is the MTU of the RB–RJ link.
const MultipathSmallMTU = 1400

// Addresses of the multipath topology; each router's address is the one
// facing the source on its path, as a trace sees it.
var (
	MPAddrSrc = netip.MustParseAddr("198.18.10.2")
	MPAddrR0  = netip.MustParseAddr("198.18.10.1")
	MPAddrRA  = netip.MustParseAddr("198.18.11.2")
	MPAddrRB  = netip.MustParseAddr("198.18.12.2")
	MPAddrRJA = netip.MustParseAddr("198.18.13.2") // RJ, reached through RA
	MPAddrRJB = netip.MustParseAddr("198.18.14.2") // RJ, reached through RB
	MPAddrDst = netip.MustParseAddr("198.18.20.2")

	MPAddr6Src = netip.MustParseAddr("2001:2:0:10::2")
	MPAddr6R0  = netip.MustParseAddr("2001:2:0:10::1")
	MPAddr6RA  = netip.MustParseAddr("2001:2:0:11::2")
	MPAddr6RB  = netip.MustParseAddr("2001:2:0:12::2")
	MPAddr6RJA = netip.MustParseAddr("2001:2:0:13::2") // RJ's address toward RA
	MPAddr6RJB = netip.MustParseAddr("2001:2:0:14::2") // RJ's address toward RB
	MPAddr6Dst = netip.MustParseAddr("2001:2:0:20::2")
)

// MultipathPrefix begins the name of the multipath topology's namespaces:
// rc-mp<pid>x<n>-<host>. It is a lab namespace (Current names it), but no
// lab of Up's: Inventory does not list it, and SweepStaleMultipath removes
// what a killed process left.
const MultipathPrefix = Prefix + "mp"

// Multipath is a running multipath topology.
type Multipath struct {
	base string // rc-mp<pid>x<n>
}

// NS returns the namespace of host (MPSrc, MPR0 …).
func (m *Multipath) NS(host string) string { return m.base + "-" + host }

// Do runs fn with the calling goroutine's thread inside host's namespace.
func (m *Multipath) Do(host string, fn func() error) error { return DoIn(m.NS(host), fn) }

// MultipathHosts lists the topology's hosts.
func MultipathHosts() []string { return []string{MPSrc, MPR0, MPRA, MPRB, MPRJ, MPDst} }
