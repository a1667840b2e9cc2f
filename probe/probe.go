// Package probe asks questions of a host and says what the answers mean:
// one packet per port (or one echo request), sent through rawsock, each
// reply caught by a listen.Listener, matched to its probe, timed from kernel
// timestamps and classified as nmap names port states. Many TCP ports are
// probed statelessly, as zmap and masscan do: the probe's identity travels in
// its source port and sequence number, and nothing is remembered per probe.
//
// A front end fills a Config with plain values and gets a Report back; it
// never hands the engine a callback that rebuilds packets.
package probe

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// StatelessAbove is the number of TCP ports above which Run scans
// statelessly without being asked.
const StatelessAbove = 1024

// Bounds on a run: every run stops by itself.
const (
	MaxRetries  = 10
	MaxTimeout  = time.Minute
	MaxInterval = 10 * time.Second
	// MaxRateLimitBudget bounds Config.RateLimitBudget.
	MaxRateLimitBudget = 5 * time.Minute
)

// ErrConfig is wrapped by every error that a Config's own values cause:
// nothing was sent.
var ErrConfig = errors.New("probe config")

// Fields names the fields of a probe that a caller may fix; those not fixed
// are chosen by the run.
type Fields uint8

// Fields of a probe.
const (
	// FixSrcPort keeps Packet's TCP or UDP source port; otherwise a random
	// port from 32768 up, one per run.
	FixSrcPort Fields = 1 << iota
	// FixSeq keeps the TCP sequence number; otherwise random, one per run.
	FixSeq
	// FixICMPID keeps the echo identifier; otherwise random, one per run.
	FixICMPID
	// FixIPID starts the IP IDs at Packet's; otherwise at a random one.
	// Each attempt of each probe carries the next ID.
	FixIPID
)

// Fragmenting splits each probe into fragments before it is sent.
type Fragmenting struct {
	Options  craft.FragOptions
	Schedule craft.Schedule
}

// Config is one probe run against one destination, or a list of them.
type Config struct {
	// Proto is craft.ProtoTCP, ProtoUDP or ProtoICMP (an echo request;
	// ICMPv6's toward an IPv6 target).
	Proto uint8
	// Dst is the target; Ports its TCP or UDP ports (ignored for ICMP,
	// which sends one echo request).
	Dst   netip.Addr
	Ports []uint16
	// Targets, when not empty, replaces Dst: every address of every
	// prefix (a single address is a /32), in order, at most MaxHosts. The
	// hosts are probed one after the other; nothing is kept per host but
	// its Results.
	Targets []netip.Prefix
	// Packet is the shape of every probe: an IPv4 or IPv6 header and the
	// layer Proto names, with any payload, and no Ethernet header (the
	// route's is added). A target of the other family gets the same probe
	// in its family (see packetFor). A zero source is the route's. The run sets each
	// probe's destination address and port, IP ID and echo sequence number
	// (Packet's echo sequence number plus the probe's index), and the
	// source port, sequence number and echo identifier unless Fixed says
	// otherwise.
	Packet craft.Packet
	Fixed  Fields
	// Frag, when not nil, sends each probe as fragments.
	Frag *Fragmenting
	// Via is the socket kind; Iface, SrcMAC and DstMAC override the route.
	Via            rawsock.Via
	Iface          string
	SrcMAC, DstMAC *craft.MAC
	// Timeout is how long to wait after each round's last probe (default
	// 1 s, at most MaxTimeout); Retries how many times an unanswered probe
	// is sent again (at most MaxRetries); Interval the pause between
	// probes (at most MaxInterval).
	Timeout  time.Duration
	Retries  int
	Interval time.Duration
	// RateLimitBudget bounds how long a UDP run may spend probing silent
	// ports again below the host's ICMP rate limit (default 30 s, at most
	// MaxRateLimitBudget); ports still silent-but-unsure when it runs out
	// are reported as unresolved, never as open|filtered.
	RateLimitBudget time.Duration
	// WindowScan reads the answers to an ACK probe as nmap's window scan
	// (-sW) does: by the RST's window. Without it an ACK probe is an ACK
	// scan (-sA). The TCP flags of Packet choose the other scan types
	// (listen.ScanOf).
	WindowScan bool
	// Stateless asks for a stateless TCP SYN scan; runs of more than
	// StatelessAbove TCP ports are stateless anyway when they can be (via
	// packet, no fragments, no IP options).
	Stateless bool
	// Shard, when its Count is set, makes the run a stateless scan (Scan)
	// of the part it names of every (host, port) of Targets × Ports; its
	// Seed chooses the order of any stateless scan.
	Shard Shard
	// OnPacket, when set, sees every captured packet that belongs to a
	// probe of a stateful run — the probe leaving, its reply, this host's
	// kernel RST — for live display or a capture file. It must not keep p.
	OnPacket func(k listen.Kind, i int, p *listen.Packet)
	// OnProgress, when set, is called by a stateful run after each probe
	// leaves, with the probes sent (1) and the replies matched since its
	// previous call: counts to add up over retries and hosts, for a running
	// count on a terminal. A stateless scan does not call it.
	OnProgress func(sent, answered int)
	// OnMalformed, when set, is called once per host, before the first
	// probe leaves that the target's own stack will drop unanswered
	// (craft.SilentDrop: a bad checksum, a malformed header or length, as
	// the datagram goes out), with the fault: that probe's silence will
	// say nothing about the port.
	OnMalformed func(craft.Drop)
}

func configErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
}

// check validates c and returns the ports to probe.
func (c *Config) check() ([]uint16, error) {
	switch c.Proto {
	case craft.ProtoTCP:
		if c.Packet.TCP == nil {
			return nil, configErr("a TCP probe needs a TCP layer in Packet")
		}
		if c.scanType() == listen.ScanNone {
			return nil, configErr("TCP flags %s: a RST is never answered (RFC 9293 §3.10.7), so it can ask nothing", craft.FlagNames(c.Packet.TCP.Flags))
		}
		if c.WindowScan && c.Packet.TCP.Flags&craft.TCPAck == 0 {
			return nil, configErr("a window scan reads the RST to an ACK: the probe's flags must include ACK")
		}
	case craft.ProtoUDP:
		if c.Packet.UDP == nil {
			return nil, configErr("a UDP probe needs a UDP layer in Packet")
		}
	case craft.ProtoICMP:
		if c.Packet.ICMP == nil && c.Packet.ICMPv6 == nil {
			return nil, configErr("an ICMP probe needs an ICMP or ICMPv6 layer in Packet")
		}
	default:
		return nil, configErr("protocol %d: tcp (6), udp (17) or icmp (1)", c.Proto)
	}
	if (c.Packet.IPv4 == nil) == (c.Packet.IPv6 == nil) || c.Packet.Ethernet != nil || c.Packet.ARP != nil {
		return nil, configErr("Packet is an IPv4 or IPv6 packet without an Ethernet header")
	}
	if len(c.Targets) == 0 && (!c.Dst.IsValid() || c.Dst.Is4In6()) {
		return nil, configErr("destination %v: not an IPv4 or IPv6 address", c.Dst)
	}
	for _, t := range c.Targets {
		if !t.IsValid() || t.Addr().Is4In6() {
			return nil, configErr("target %v: not an IPv4 or IPv6 address or block", t)
		}
		if err := c.checkShape(t.Addr()); err != nil {
			return nil, err
		}
	}
	if len(c.Targets) == 0 {
		if err := c.checkShape(c.Dst); err != nil {
			return nil, err
		}
	}
	if (c.Shard.Count != 0 || c.Shard.Index != 0) && !c.allIPv4() {
		return nil, configErr("a sharded scan is stateless, and its cookies are IPv4's: IPv6 targets are probed without --shard")
	}
	for _, a := range append([]netip.Prefix{netip.PrefixFrom(c.Dst, c.Dst.BitLen())}, c.Targets...) {
		if a.IsValid() && a.Addr().IsMulticast() {
			return nil, configErr("destination %v is multicast: a probe asks one host, and every member of the group may answer; send to it and listen instead", prefixString(a))
		}
	}
	if Hosts(c.Targets) > MaxHosts {
		return nil, configErr("more than %d hosts (a /8) in one run", MaxHosts)
	}
	if c.Via != rawsock.ViaPacket && c.Via != rawsock.ViaIP {
		return nil, configErr("via %v: packet or ip", c.Via)
	}
	if c.Retries < 0 || c.Retries > MaxRetries {
		return nil, configErr("retries %d: 0 to %d", c.Retries, MaxRetries)
	}
	if c.Timeout < 0 || c.Timeout > MaxTimeout {
		return nil, configErr("timeout %v: more than 0, at most %v", c.Timeout, MaxTimeout)
	}
	if c.RateLimitBudget < 0 || c.RateLimitBudget > MaxRateLimitBudget {
		return nil, configErr("rate-limit budget %v: 0 to %v", c.RateLimitBudget, MaxRateLimitBudget)
	}
	if c.Interval < 0 || c.Interval > MaxInterval {
		return nil, configErr("interval %v: 0 to %v", c.Interval, MaxInterval)
	}
	if c.Proto == craft.ProtoICMP {
		return []uint16{0}, nil
	}
	if len(c.Ports) == 0 {
		return nil, configErr("no port to probe")
	}
	if len(c.Ports) > 65536 {
		return nil, configErr("%d ports: at most 65536", len(c.Ports))
	}
	return c.Ports, nil
}

// checkShape checks that the probe can be built for dst's family, and
// fragmented as Frag plans, before any route is looked up.
func (c *Config) checkShape(dst netip.Addr) error {
	p, err := c.packetFor(dst)
	if err != nil || c.Frag == nil {
		return err
	}
	if p.IPv6 != nil {
		p.IPv6.Dst = dst
	} else {
		p.IPv4.Dst = dst
	}
	dg, err := p.Append(nil)
	if err != nil {
		return configErr("%v", err)
	}
	var frags []craft.Fragment
	if p.IPv6 != nil {
		_, frags, err = craft.Fragments6(nil, nil, dg, craft.FragOptions6{FragOptions: c.Frag.Options})
	} else {
		_, frags, err = craft.Fragments(nil, nil, dg, c.Frag.Options)
	}
	if err == nil {
		_, err = c.Frag.Schedule.Plan(nil, len(frags))
	}
	if err != nil {
		return configErr("fragments toward %v: %v", dst, err)
	}
	return nil
}

// scanType is how the answers to the run's TCP probes are read.
func (c *Config) scanType() listen.ScanType {
	if c.Packet.TCP == nil {
		return listen.ScanSYN
	}
	return listen.ScanOf(c.Packet.TCP.Flags, c.WindowScan)
}

// stateless says whether the run can and should be a stateless scan; when
// asked for one that cannot be, it says why.
func (c *Config) stateless(ports []uint16) (bool, error) {
	want := c.Proto == craft.ProtoTCP && (c.Stateless || len(ports) > StatelessAbove)
	if c.Stateless && c.Proto != craft.ProtoTCP {
		return false, configErr("a stateless scan sends TCP SYNs, not protocol %d", c.Proto)
	}
	can := c.Via == rawsock.ViaPacket && c.Frag == nil && c.allIPv4() && (c.Packet.IPv4 == nil || len(c.Packet.IPv4.Options) == 0) && c.Packet.IPv6Ext == nil &&
		c.Packet.TCP != nil && c.Packet.TCP.Flags == craft.TCPSyn && len(c.Packet.Payload) == 0
	if c.Stateless && !can {
		return false, configErr("a stateless scan sends plain IPv4 SYNs: no other flag, data, IP options, fragments, IPv6 targets or via ip")
	}
	return want && can, nil
}

// ParsePorts reads a port list as nmap writes one: "9999", "22,80",
// "9990-9999", or a mix ("22,8000-8010"). Each port is 0 to 65535, a range
// runs upwards, and the list holds at most 65536 ports.
func ParsePorts(s string) ([]uint16, error) {
	var out []uint16
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%q is not a port or range (0 to 65535, like 22 or 9990-9999)", item)
		}
		if b < a {
			return nil, fmt.Errorf("%q runs downwards: write the lower port first (%d-%d)", item, b, a)
		}
		for p := a; p <= b; p++ {
			out = append(out, uint16(p))
		}
		if len(out) > 65536 {
			return nil, fmt.Errorf("at most 65536 ports")
		}
	}
	return out, nil
}
