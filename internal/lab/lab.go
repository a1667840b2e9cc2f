// Package lab builds the transport-layer article's Figure 1 from network
// namespaces: client Hc — switch S1 — switch S2 — server Hs, with the S1–S2
// cable that can be pulled, and a routed variant Hc — R — Hf with a smaller
// MTU on R–Hf. The hosts speak IPv4 and IPv6; the switches are bridges that
// speak neither. Every host and switch is a namespace of its own; every
// interface, bridge, address, route and sysctl lives inside them. The root
// namespace is never touched.
package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/rawcraft/rawcraft/craft"
)

// Prefix starts the name of every namespace the project creates, so that
// DownAll finds leftovers.
const Prefix = "rc-"

// Hosts of the lab, as Do, Exec and the CLI name them.
const (
	Hc = "hc" // the client, 198.18.1.3 and 2001:2:0:1::3
	Hs = "hs" // the server, 198.18.1.1 and 2001:2:0:1::1
	S1 = "s1" // switch next to the client: a bridge
	S2 = "s2" // switch next to the server: a bridge
	R  = "r"  // router of the routed variant: 198.18.1.254 and 2001:2:0:1::2, 198.18.2.254 and 2001:2:0:2::2
	Hf = "hf" // far host of the routed variant, 198.18.2.2 and 2001:2:0:2::1, behind R–Hf's smaller MTU
)

// Addresses (RFC 2544's benchmarking range, 198.18.0.0/15, which no real
// network routes).
var (
	AddrHs  = netip.MustParseAddr("198.18.1.1")
	AddrHc  = netip.MustParseAddr("198.18.1.3")
	AddrR1  = netip.MustParseAddr("198.18.1.254")
	AddrR2  = netip.MustParseAddr("198.18.2.254")
	AddrHf  = netip.MustParseAddr("198.18.2.2")
	Net     = netip.MustParsePrefix("198.18.0.0/15") // the only addresses the lab and rawcraft's send use
	LANNet  = netip.MustParsePrefix("198.18.1.0/24")
	FarNet  = netip.MustParsePrefix("198.18.2.0/24")
	MACHs   = craft.MAC{0x02, 0, 0, 0, 0x01, 0x01}
	MACHc   = craft.MAC{0x02, 0, 0, 0, 0x01, 0x03}
	MACR1   = craft.MAC{0x02, 0, 0, 0, 0x01, 0xfe}
	MACR2   = craft.MAC{0x02, 0, 0, 0, 0x02, 0xfe}
	MACHf   = craft.MAC{0x02, 0, 0, 0, 0x02, 0x02}
	HostIfc = "eth0" // the interface of Hc, Hs and Hf (R has eth0 toward S1, eth1 toward Hf)
)

// IPv6 addresses, beside the IPv4 ones on the same interfaces (RFC 5180's
// benchmarking range, 2001:2::/48, which no real network routes). Each
// interface also has its link-local address (fe80::, from its MAC), which
// neighbour discovery needs. Hosts neither autoconfigure addresses nor
// solicit routers, and skip duplicate address detection: an address is
// usable when Up returns.
var (
	Addr6Hs = netip.MustParseAddr("2001:2:0:1::1")
	Addr6Hc = netip.MustParseAddr("2001:2:0:1::3")
	Addr6R1 = netip.MustParseAddr("2001:2:0:1::2") // R toward S1 (AddrR1's interface)
	Addr6R2 = netip.MustParseAddr("2001:2:0:2::2") // R toward Hf (AddrR2's interface)
	Addr6Hf = netip.MustParseAddr("2001:2:0:2::1")
	Net6    = netip.MustParsePrefix("2001:2::/48") // the only IPv6 addresses the lab and rawcraft's send use
	LANNet6 = netip.MustParsePrefix("2001:2:0:1::/64")
	FarNet6 = netip.MustParsePrefix("2001:2:0:2::/64")
)

// ICMPRate is what the lab sets net.ipv4.icmp_msgs_per_sec and
// icmp_msgs_burst to in its hosts: the namespace-wide ("global") ICMP
// limit, 1000 a second in bursts of 50 by default, which a UDP scan of a
// few thousand closed ports exceeds at once. Linux multiplies the rate by
// elapsed jiffies in 32 bits, so it stays well below 2^32 / HZ.
const ICMPRate = 1000000

// Config describes a lab. The zero value is the article's lab named "lab".
type Config struct {
	// Name makes the lab's namespaces rc-NAME-hc, rc-NAME-hs…: labs with
	// different names never collide. Letters, digits and '-', at most 20.
	Name string
	// Routed adds R and Hf: Hc — S1 — R — Hf, 198.18.2.0/24, with MTU
	// FarMTU on R–Hf.
	Routed bool
	// FarMTU is the MTU of the R–Hf link (default 1280).
	FarMTU int
	// Offload leaves checksum and segmentation offload on. By default the
	// lab turns them off, so that a capture on the sending host shows the
	// checksums and segment sizes that go on the wire.
	Offload bool
	// FragTime is net.ipv4.ipfrag_time and net.ipv6.ip6frag_time inside
	// the hosts (Hc, Hs, R, Hf), in seconds: how long a receiver waits for
	// missing fragments before giving up with ICMP time exceeded (code 1).
	// Default 3 (Linux's own defaults are 30 and 60).
	FragTime int
}

// ErrName is returned, wrapped with the name, for a lab name that breaks
// the rule.
var ErrName = errors.New("a lab name is 1 to 20 letters, digits and '-', not starting or ending with '-'")

// ValidName checks a lab name: 1 to 20 letters, digits and '-', neither
// first nor last. The error wraps ErrName.
func ValidName(name string) error { return validName(name) }

func validName(name string) error {
	if name == "" || len(name) > 20 || name[0] == '-' || name[len(name)-1] == '-' ||
		strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
		return fmt.Errorf("lab name %q: %w", name, ErrName)
	}
	return nil
}

func (c *Config) defaults() error {
	if c.Name == "" {
		c.Name = "lab"
	}
	if err := validName(c.Name); err != nil {
		return err
	}
	if c.FarMTU == 0 {
		c.FarMTU = 1280
	}
	if c.FarMTU < 68 || c.FarMTU > 1500 {
		return fmt.Errorf("far MTU %d: between 68 and 1500", c.FarMTU)
	}
	if c.FragTime == 0 {
		c.FragTime = 3
	}
	return nil
}

// Lab is a running lab.
type Lab struct {
	cfg      Config
	repaired []string  // what Up found wrong and rebuilt
	replaced [2]string // the kind of lab Up found there, and the kind it built instead
}

// Replaced says what kind of lab Up found under this name and replaced,
// when it was built otherwise than asked, and the kind built instead:
// "a plain lab", "a routed lab"; "a routed lab with far MTU 1400", "a
// routed lab with far MTU 1280". Both "" when Up built it fresh or found
// it as asked. A lab of another kind is not broken: Repaired stays empty
// for it.
func (l *Lab) Replaced() (was, now string) { return l.replaced[0], l.replaced[1] }

// kindBeside says what kind of lab c builds, in words: "a routed lab", "a
// plain lab"; with the settings that differ from other's: "a plain lab
// with ipfrag_time 30".
func (c Config) kindBeside(other Config) string {
	k := "a plain lab"
	if c.Routed {
		k = "a routed lab"
	}
	var d []string
	if c.FarMTU != other.FarMTU {
		d = append(d, fmt.Sprintf("far MTU %d", c.FarMTU))
	}
	if c.FragTime != other.FragTime {
		d = append(d, fmt.Sprintf("ipfrag_time %d", c.FragTime))
	}
	if c.Offload != other.Offload {
		d = append(d, map[bool]string{true: "offload on", false: "offload off"}[c.Offload])
	}
	if len(d) > 0 {
		k += " with " + strings.Join(d, ", ")
	}
	return k
}

// Repaired lists what Up found wrong with a lab that was already there (a
// link down, an address, route or sysctl missing or changed, namespaces
// missing after a crash) and repaired by building the lab again; empty when
// Up built it fresh or found it whole.
func (l *Lab) Repaired() []string { return l.repaired }

// Name returns the lab's name.
func (l *Lab) Name() string { return l.cfg.Name }

// Config returns the lab's configuration, defaults filled in.
func (l *Lab) Config() Config { return l.cfg }

// NS returns the name of host's namespace, as `ip netns` shows it.
func (l *Lab) NS(host string) string { return nsName(l.cfg.Name, host) }

func nsName(lab, host string) string { return Prefix + lab + "-" + host }

// Hosts returns the lab's hosts and switches.
func (l *Lab) Hosts() []string { return hostsOf(l.cfg.Routed) }

func hostsOf(routed bool) []string {
	h := []string{Hc, S1, S2, Hs}
	if routed {
		h = append(h, R, Hf)
	}
	return h
}

var (
	mu     sync.Mutex
	active = map[string]*Lab{} // labs made by this process, for cleanup on a signal
)

// ErrNotLinux is returned, wrapped with the operation, by everything that
// makes, enters or inspects a namespace off Linux: the lab is Linux network
// namespaces, veth pairs and bridges.
var ErrNotLinux = errors.New("needs Linux: the lab is built from Linux network namespaces")

// ErrPermission is returned when the lab cannot be built for lack of
// privilege.
var ErrPermission = errors.New("the lab needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN to make namespaces): run it with sudo")

// Down removes the lab's namespaces (exactly rc-NAME-HOST for each host:
// never a lab whose name only starts with NAME) and, with them, every
// interface, rule and sysctl in them, then its record. Removing an absent
// lab is not an error.
func (l *Lab) Down() error {
	mu.Lock()
	delete(active, l.cfg.Name)
	mu.Unlock()
	_, err := removeLab(l.cfg.Name)
	return err
}

// DownAll removes, when lab is not empty, exactly that lab (Remove);
// when lab is empty, every lab whose owner is not running (Sweep(true)). It
// returns the namespaces removed. A lab owned by a running process is never
// removed.
func DownAll(lab string) ([]string, error) {
	if lab != "" {
		return Remove(lab)
	}
	return Sweep(true)
}

// Labs lists the labs present on this machine by name, with their hosts'
// namespaces found, sorted.
func Labs() map[string][]string {
	out := map[string][]string{}
	for _, o := range Inventory() {
		if len(o.Hosts) > 0 {
			out[o.Name] = o.Hosts
		}
	}
	return out
}
