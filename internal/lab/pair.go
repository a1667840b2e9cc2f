package lab

import "net/netip"

// PairPrefix begins the name of every namespace of a Pair. It is not Prefix
// ("rc-"): Current returns "" inside a pair, which is the point — a pair
// stands for two machines on a switch that are not rawcraft's lab.
const PairPrefix = "rcpair"

// Addresses of a Pair: a client and a server on one /24 of the benchmarking
// range (RFC 2544), as two laptops on a switch.
var (
	PairClient = netip.MustParseAddr("198.18.7.3")
	PairServer = netip.MustParseAddr("198.18.7.1")
)

// PairIfc is the name of each end of a Pair's veth.
const PairIfc = "eth0"

// Pair is two plain network namespaces joined by one veth: Client
// (198.18.7.3/24) and Server (198.18.7.1/24), each with lo up and nothing
// else — no sysctl changed, no firewall, the kernel's defaults. Tests of
// rawcraft "on a real network" run there.
type Pair struct {
	Client, Server string // namespace names: rcpair<pid>-<n>-c, -s
}

// Do runs fn with the calling goroutine's thread inside namespace ns (one of
// p.Client, p.Server).
func (p *Pair) Do(ns string, fn func() error) error { return DoIn(ns, fn) }
