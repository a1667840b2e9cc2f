package lab

import "net/netip"

// The multipath topology, for traceroute (probe.Trace): a source, an
// ingress router R0 that balances per flow over two equal-cost paths — one
// through RA, one through RB, whose link to RJ has a smaller MTU — and a
// router RJ where they join, in front of the destination.
//
//	             198.18.11.0/24      198.18.13.0/24
//	           ┌─── RA ───────────────────┐
//	src ── R0 ─┤                          RJ ── dst
//	           └─── RB ───────────────────┘
//	             198.18.12.0/24      198.18.14.0/24 (MTU MultipathSmallMTU)
//
// R0 and RJ hash on the 5-tuple (net.ipv4.fib_multipath_hash_policy=1):
// every packet of one flow takes one path, and flows spread over both.
// Routers answer from the interface a probe came in on
// (icmp_errors_use_inbound_ifaddr), so the path shows in RJ's address too,
// and every neighbour entry is static: no ARP packet ever crosses a link, and
// the routers' interface counters count probes alone.
//
// The topology is IPv4 only, unlike the lab: IPv6 would bring neighbour
// discovery and listener reports onto the links (breaking "counters count
// probes alone"), and Linux has no icmp_errors_use_inbound_ifaddr for
// ICMPv6, so RJ's answers would not show the path they came in on.
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
