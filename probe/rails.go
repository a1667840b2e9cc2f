package probe

import (
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"time"

	"github.com/rawcraft/rawcraft/rawsock"
)

// The rails outside rawcraft's lab (DESIGN, "Where packets may go"): a
// careless command stays harmless; the owner of a network lifts a rail by
// saying so, and is told in one line what is about to happen.
const (
	// DefaultRate is the pace, in packets per second, of a run outside the
	// lab that names none (masscan's default).
	DefaultRate = 100
	// MaxPortsUnowned, MaxHostsUnowned and MaxProbesUnowned bound a run
	// outside the lab without Rails.Owned: ports per host, hosts, and
	// packets in all (hosts × ports, or a send's count).
	MaxPortsUnowned  = 1024
	MaxHostsUnowned  = 256
	MaxProbesUnowned = 16384
	// MaxHosts bounds the hosts of one run anywhere (a /8).
	MaxHosts = 1 << 24
)

// OwnFlag is how the CLI spells Rails.Owned; the rails' messages name it.
const OwnFlag = "--i-own-the-network"

// ErrRail is wrapped (with ErrConfig) by every refusal of Rails.Check:
// nothing was sent.
var ErrRail = errors.New("rail")

// Rails says where a run happens and what its user vouched for.
type Rails struct {
	// Lab: the run is inside rawcraft's lab (the CLI: lab.Current() != "");
	// no rail applies.
	Lab bool
	// Owned: the user owns the network (OwnFlag). What the rails refuse
	// otherwise is done, each with a warning line.
	Owned bool
}

// Ask is what a command is about to send, for Rails.Check.
type Ask struct {
	// Targets are the destinations (a single address is a /32).
	Targets []netip.Prefix
	// Ports per host (0 counts as 1: ICMP, or send); Count the packets per
	// host (0 counts as Ports).
	Ports int
	Count uint64
	// RateMax: as fast as the machine can. Otherwise Interval is the pause
	// between packets the user gave, when Paced; without Paced none was
	// given.
	RateMax  bool
	Interval time.Duration
	Paced    bool
}

// Verdict is what Check allows.
type Verdict struct {
	// Interval is the pause to keep between packets: the Ask's when paced,
	// 0 for RateMax, and 1/DefaultRate outside the lab when no pace was
	// given (in the lab: 0, as fast as asked).
	Interval time.Duration
	// Warnings are the one-line notices of rails the owner lifted, for
	// stderr (never for a --json stdout).
	Warnings []string
}

// railError is a refusal: its message is the one line, and it is both an
// ErrConfig and an ErrRail.
type railError struct{ msg string }

func (e *railError) Error() string   { return e.msg }
func (e *railError) Unwrap() []error { return []error{ErrConfig, ErrRail} }

func railErr(format string, a ...any) error { return &railError{fmt.Sprintf(format, a...)} }

// Hosts returns the number of addresses in ts, capped at MaxHosts+1.
func Hosts(ts []netip.Prefix) uint64 {
	var n uint64
	for _, t := range ts {
		bits := t.Addr().BitLen() - t.Bits()
		if bits >= 63 {
			return MaxHosts + 1
		}
		n += uint64(1) << bits
		if n > MaxHosts {
			return MaxHosts + 1
		}
	}
	return n
}

// Check applies the rails to a: in the lab it returns the Ask's pace and no
// warning. Outside, it refuses (an error wrapping ErrRail and ErrConfig,
// one line naming the value and the rule) RateMax, more than
// MaxPortsUnowned ports, MaxHostsUnowned hosts or MaxProbesUnowned packets,
// and a broadcast or multicast destination — unless r.Owned, when each
// becomes a warning line — and paces an unpaced run at DefaultRate.
// Directed broadcasts are recognised from the subnets of this namespace's
// interfaces.
func (r Rails) Check(a Ask) (Verdict, error) {
	var v Verdict
	hosts := Hosts(a.Targets)
	if hosts > MaxHosts {
		return v, fmt.Errorf("%w: more than %d hosts (a /8) in one run", ErrConfig, MaxHosts)
	}
	switch {
	case a.RateMax:
		v.Interval = 0
	case a.Paced:
		v.Interval = a.Interval
	case !r.Lab:
		v.Interval = time.Second / DefaultRate
	}
	if r.Lab {
		return v, nil
	}
	ports := uint64(max(a.Ports, 1))
	count := a.Count
	if count == 0 {
		count = ports
	}
	carry, total := bits.Mul64(hosts, count)
	var lifted []string
	refuse := func(warn, format string, args ...any) error {
		if r.Owned {
			lifted = append(lifted, warn)
			return nil
		}
		return railErr(format+"; add "+OwnFlag+" if the network is yours", args...)
	}
	for _, t := range a.Targets {
		if kind := castKind(t); kind != "" {
			if err := refuse(fmt.Sprintf("sending to %v, a %s destination: every host there may answer", t, kind),
				"--dst %v: a %s destination outside the lab", prefixString(t), kind); err != nil {
				return v, err
			}
			break
		}
	}
	if a.RateMax {
		if err := refuse("--rate max: sending as fast as this machine can, outside the lab",
			"--rate max: as fast as possible, outside the lab"); err != nil {
			return v, err
		}
	}
	if ports > MaxPortsUnowned {
		if err := refuse(fmt.Sprintf("probing %d ports on each host, outside the lab", ports),
			"--ports: %d ports; more than %d outside the lab", ports, MaxPortsUnowned); err != nil {
			return v, err
		}
	}
	if hosts > MaxHostsUnowned {
		if err := refuse(fmt.Sprintf("probing %d hosts, outside the lab", hosts),
			"--dst: %d hosts; more than %d outside the lab", hosts, MaxHostsUnowned); err != nil {
			return v, err
		}
	}
	if carry != 0 || total > MaxProbesUnowned {
		if err := refuse(fmt.Sprintf("sending %d packets, outside the lab", total),
			"%d packets (hosts × ports or --count); more than %d outside the lab", total, MaxProbesUnowned); err != nil {
			return v, err
		}
	}
	v.Warnings = lifted
	return v, nil
}

func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// castKind says "broadcast" or "multicast" when t holds such an address:
// 255.255.255.255, 224.0.0.0/4, IPv6's ff00::/8 (RFC 4291 §2.7: IPv6 has
// no broadcast; all-nodes ff02::1 is its stand-in), or the directed
// broadcast of a subnet of one of this namespace's interfaces.
func castKind(t netip.Prefix) string {
	for _, mc := range []netip.Prefix{netip.MustParsePrefix("224.0.0.0/4"), netip.MustParsePrefix("ff00::/8")} {
		if t.Overlaps(mc) {
			return "multicast"
		}
	}
	if t.Contains(netip.AddrFrom4([4]byte{255, 255, 255, 255})) {
		return "broadcast"
	}
	if !t.IsSingleIP() {
		return ""
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for i := range ifs {
		if rawsock.IsDirectedBroadcast(&ifs[i], t.Addr()) {
			return "broadcast"
		}
	}
	return ""
}
