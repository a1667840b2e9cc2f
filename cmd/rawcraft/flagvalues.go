package main

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/spf13/pflag"
)

// Flag values that check their input when it is parsed, so that every bad
// value is reported as one line naming the value and the rule, before
// anything is built or sent; flagError writes it as --dport "70000": <rule>.

// numValue is an unsigned number of a given width, decimal or 0x-hex.
type numValue struct {
	v    uint64
	bits int
	rule string // "a port is 0 to 65535"
}

func (n *numValue) Set(s string) error {
	v, err := craft.ParseNumber(s, n.bits)
	if err != nil {
		return fmt.Errorf("%s (decimal or 0x-hex)", n.rule)
	}
	n.v = v
	return nil
}
func (n *numValue) String() string { return fmt.Sprint(n.v) }
func (n *numValue) Type() string   { return "N" }

// addrValue is an IPv4 address, or an IPv6 one where v6 allows it (the
// packet flags of build and explain).
type addrValue struct {
	a  netip.Addr
	v6 bool
}

func (a *addrValue) Set(s string) error {
	ip, err := netip.ParseAddr(s)
	if err == nil && ip.Is6() && !ip.Is4In6() && ip.Zone() == "" && a.v6 {
		a.a = ip
		return nil
	}
	if err == nil && ip.Is6() && a.v6 && ip.Zone() != "" {
		return fmt.Errorf("%s: the zone %%%s names an interface, not part of the address; give the address without it (and the interface with --iface)", s, ip.Zone())
	}
	if err == nil && ip.Is4In6() && a.v6 {
		return fmt.Errorf("%s: an IPv4-mapped address; write the IPv4 address itself (%v)", s, ip.Unmap())
	}
	if err == nil && ip.Is6() {
		return fmt.Errorf("%s is an IPv6 address: this command speaks IPv4 only for now (build, explain, send, probe, listen and read take IPv6)", s)
	}
	if err != nil && a.v6 {
		return fmt.Errorf("not an IPv4 address (four numbers 0 to 255 separated by dots, like 198.18.1.1) nor an IPv6 one (like 2001:2:0:1::1)")
	}
	if err != nil || !ip.Is4() {
		return fmt.Errorf("not an IPv4 address: four numbers 0 to 255 separated by dots, like 198.18.1.1")
	}
	a.a = ip
	return nil
}
func (a *addrValue) String() string {
	if !a.a.IsValid() {
		return ""
	}
	return a.a.String()
}
func (a *addrValue) Type() string { return "ADDR" }

// macValue is an Ethernet address.
type macValue struct{ m craft.MAC }

func (m *macValue) Set(s string) error {
	v, err := craft.ParseMAC(s)
	if err != nil {
		return fmt.Errorf("not a MAC address: six hex pairs like 02:00:5e:00:01:03")
	}
	m.m = v
	return nil
}
func (m *macValue) String() string {
	if m.m == (craft.MAC{}) {
		return "" // unset: help shows no default (the route's, or none)
	}
	return m.m.String()
}
func (m *macValue) Type() string { return "MAC" }

// tcpFlagsValue is a set of TCP control bits as letters.
type tcpFlagsValue struct{ f uint8 }

func (t *tcpFlagsValue) Set(s string) error {
	f, err := craft.ParseFlags(s)
	if err != nil {
		// craft's message names the bad letter
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), fmt.Sprintf("TCP flags %q: ", s)))
	}
	t.f = f
	return nil
}
func (t *tcpFlagsValue) String() string { return craft.FlagString(t.f) }
func (t *tcpFlagsValue) Type() string   { return "LETTERS" }

// bytesValue is bytes parsed by a craft function (hex, option lists).
type bytesValue struct {
	b     []byte
	parse func(string) ([]byte, error)
	shown string
}

func (v *bytesValue) Set(s string) error {
	b, err := v.parse(s)
	if err != nil {
		return err
	}
	v.b, v.shown = b, s
	return nil
}
func (v *bytesValue) String() string { return v.shown }
func (v *bytesValue) Type() string   { return "LIST" }

// durValue is a duration: a number with a unit, as Go writes them.
type durValue struct{ d *time.Duration }

func (v durValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("a duration is a number with a unit, like 300ms, 2s or 1m")
	}
	*v.d = d
	return nil
}
func (v durValue) String() string {
	if v.d == nil {
		return "0s"
	}
	return v.d.String()
}
func (v durValue) Type() string { return "DURATION" }

// durationVar defines a duration flag whose bad values name the rule.
func durationVar(fs interface {
	VarP(value pflag.Value, name, shorthand, usage string)
}, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	fs.VarP(durValue{p}, name, "", usage)
}

// intValue is a signed number within [min, max].
type intValue struct {
	v        int64
	min, max int64
	rule     string
}

func (n *intValue) Set(s string) error {
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil || v < n.min || v > n.max {
		return fmt.Errorf("%s", n.rule)
	}
	n.v = v
	return nil
}
func (n *intValue) String() string { return fmt.Sprint(n.v) }
func (n *intValue) Type() string   { return "N" }

// vlanValue is a list of 802.1Q tags, outermost first: "5" or "5:3" (VLAN
// ID and priority), "100,5" for QinQ, whose outer tag gets the 802.1ad TPID
// 0x88a8.
type vlanValue struct {
	tags []craft.VLAN
	text string
}

func (v *vlanValue) Set(s string) error {
	const rule = "ID[:PCP] with a VLAN ID 0 to 4094 and a priority 0 to 7, or two of them for QinQ (outer,inner)"
	parts := strings.Split(s, ",")
	if len(parts) > craft.MaxVLANTags {
		return fmt.Errorf("at most %d tags: %s", craft.MaxVLANTags, rule)
	}
	var tags []craft.VLAN
	for _, p := range parts {
		id, pcp, hasPCP := strings.Cut(p, ":")
		n, err := craft.ParseNumber(id, 12)
		if err != nil || n == 4095 {
			return fmt.Errorf("%s", rule)
		}
		t := craft.VLAN{TPID: craft.EtherTypeVLAN, ID: uint16(n)}
		if hasPCP {
			q, err := craft.ParseNumber(pcp, 3)
			if err != nil {
				return fmt.Errorf("%s", rule)
			}
			t.PCP = uint8(q)
		}
		tags = append(tags, t)
	}
	if len(tags) == 2 {
		tags[0].TPID = craft.EtherTypeQinQ
	}
	v.tags, v.text = tags, s
	return nil
}
func (v *vlanValue) String() string { return v.text }
func (v *vlanValue) Type() string   { return "ID[:PCP]" }

// ifaceValue is an interface of this host (of the namespace rawcraft runs
// in), by name: an empty name or one no interface has is refused.
type ifaceValue struct{ name *string }

func (v ifaceValue) Set(s string) error {
	if s == "" {
		return fmt.Errorf("give an interface name, or leave --iface out to let the routing table choose")
	}
	if _, err := net.InterfaceByName(s); err != nil {
		return fmt.Errorf("no such interface here (ip link lists them)")
	}
	*v.name = s
	return nil
}
func (v ifaceValue) String() string {
	if v.name == nil {
		return ""
	}
	return *v.name
}
func (v ifaceValue) Type() string { return "NAME" }

// extValue is a list of IPv6 extension headers (craft.ParseIPv6Ext).
type extValue struct {
	raw  string
	exts []craft.IPv6Ext
}

func (e *extValue) Set(s string) error {
	v, err := craft.ParseIPv6Ext(s)
	if err != nil {
		return err
	}
	e.raw, e.exts = s, v
	return nil
}
func (e *extValue) String() string { return e.raw }
func (e *extValue) Type() string   { return "LIST" }
