package main

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/rawcraft/rawcraft/craft"
)

// Flag values that check their input when it is parsed, so that every bad
// value is reported as one line naming the value and the rule, before
// anything is built or sent. pflag prefixes the message with the flag and
// the value: invalid argument "70000" for "--dport" flag: <rule>.

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

// addrValue is an IPv4 address.
type addrValue struct{ a netip.Addr }

func (a *addrValue) Set(s string) error {
	ip, err := netip.ParseAddr(s)
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
func (m *macValue) String() string { return m.m.String() }
func (m *macValue) Type() string   { return "MAC" }

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
