package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/probe"
	"github.com/spf13/pflag"
)

// maxTargetItems bounds the items of one --dst list.
const maxTargetItems = 4096

// targetValue is --dst of the commands that send: an IPv4 address or a
// host name, resolved once when the flag is read (shown on stderr by
// showResolved); with list set (probe), a comma list of addresses, names
// and CIDR blocks; with v6 set, IPv6 addresses and blocks too. The first
// address goes into into, the packet's destination.
type targetValue struct {
	into     *addrValue
	list     bool
	v6       bool
	zone     string // the interface a link-local IPv6 target named (fe80::1%eth0)
	raw      string
	targets  []netip.Prefix
	resolved []string // "name is addr" for each name
}

func (v *targetValue) Set(s string) error {
	v.raw, v.targets, v.resolved, v.zone = s, nil, nil, ""
	items := []string{s}
	if v.list {
		items = strings.Split(s, ",")
	}
	if len(items) > maxTargetItems {
		return fmt.Errorf("%d items: at most %d", len(items), maxTargetItems)
	}
	for _, it := range items {
		it = strings.TrimSpace(it)
		if a, err := netip.ParseAddr(it); err == nil {
			switch {
			case a.Is6() && !v.v6:
				return fmt.Errorf("%s is an IPv6 address: this command speaks IPv4 only for now (build, explain, send, probe, listen and read take IPv6)", it)
			case a.Zone() != "" && v.zone != "" && a.Zone() != v.zone:
				return fmt.Errorf("%s: its zone %s differs from %s's: one run leaves through one interface", it, a.Zone(), v.zone)
			case a.Zone() != "" && !linkScoped(a):
				return fmt.Errorf("%s: only a link-local address (fe80::/10, ff02::/16) takes a zone", it)
			case a.Is4In6():
				return fmt.Errorf("%s: an IPv4-mapped address; write the IPv4 address itself (%v)", it, a.Unmap())
			case a.IsUnspecified():
				return fmt.Errorf("the unspecified address (%s) is no destination", it)
			case a.Zone() != "":
				if _, err := net.InterfaceByName(a.Zone()); err != nil {
					return fmt.Errorf("%s: zone %s: no such interface here (see ip link)", it, a.Zone())
				}
			}
			if a.Zone() != "" {
				v.zone = a.Zone()
			}
			v.targets = append(v.targets, netip.PrefixFrom(a.WithZone(""), a.BitLen()))
			continue
		}
		if strings.Contains(it, "/") {
			p, err := netip.ParsePrefix(it)
			if !v.list || err != nil || !p.Addr().Is4() && !(v.v6 && !p.Addr().Is4In6()) {
				if v.v6 {
					return fmt.Errorf("%s: not an address, host name or (for probe) CIDR block like 198.18.7.0/24 or 2001:2:0:1::/120", it)
				}
				return fmt.Errorf("%s: not an IPv4 address, host name or (for probe) CIDR block like 198.18.7.0/24", it)
			}
			v.targets = append(v.targets, p.Masked())
			continue
		}
		a, err := resolveName(it, v.v6)
		if err != nil {
			return err
		}
		v.targets = append(v.targets, netip.PrefixFrom(a, 32))
		v.resolved = append(v.resolved, fmt.Sprintf("%s is %v", it, a))
	}
	if len(v.targets) == 0 {
		return fmt.Errorf("no address")
	}
	if probe.Hosts(v.targets) > probe.MaxHosts {
		return fmt.Errorf("more than %d hosts (an IPv4 /8, an IPv6 /104)", probe.MaxHosts)
	}
	if v.into != nil {
		v.into.a = v.targets[0].Addr()
	}
	return nil
}

func (v *targetValue) String() string { return v.raw }
func (v *targetValue) Type() string   { return "ADDR" }

// iface checks the interface a zoned link-local target names against
// --iface (given is its value, "" when not given) and returns the one to
// use; a link-local target without either is a usage error: it means
// something only on one link (RFC 4007 §6).
func (v *targetValue) iface(given string) (string, error) {
	switch {
	case v.zone != "" && given != "" && given != v.zone:
		return "", usagef("--dst names interface %s (%%%s) and --iface %s: they must agree", v.zone, v.zone, given)
	case v.zone != "":
		return v.zone, nil
	case given == "":
		for _, t := range v.targets {
			if a := t.Addr(); linkScoped(a) {
				return "", usagef("--dst %v: a link-local address means something only on one link: add its interface (%v%%eth0) or give --iface", a, a)
			}
		}
	}
	return given, nil
}

// linkScoped says whether a means something only on one link, so that it
// needs an interface: an IPv6 link-local unicast address, or an interface-
// or link-local multicast group (RFC 4007 §6).
func linkScoped(a netip.Addr) bool {
	return a.Is6() && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast())
}

// addr is the one destination (the first of a list).
func (v *targetValue) addr() netip.Addr {
	if len(v.targets) == 0 {
		return netip.Addr{}
	}
	return v.targets[0].Addr()
}

// showResolved writes, once, what each host name resolved to.
func (v *targetValue) showResolved(w io.Writer) {
	for _, r := range v.resolved {
		fmt.Fprintf(w, "rawcraft: %s\n", r)
	}
}

// resolveName looks name up once (at most 5 s) and takes the first IPv4
// address, or with v6, the first IPv6 one when the name has no IPv4 one.
func resolveName(name string, v6 bool) (netip.Addr, error) {
	if name == "" || strings.ContainsAny(name, " \t:%[]") {
		if v6 {
			return netip.Addr{}, fmt.Errorf("%q: not an IPv4 or IPv6 address, nor a host name", name)
		}
		return netip.Addr{}, fmt.Errorf("%q: not an IPv4 address or host name", name)
	}
	if strings.Trim(name, "0123456789.") == "" {
		// Digits and dots only: an address written wrong, never a name to
		// ask DNS about (RFC 1123 §2.1: a name's last label is not numeric).
		return netip.Addr{}, fmt.Errorf("%q: not an IPv4 address: four numbers 0 to 255 separated by dots, like 198.18.1.1", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	as, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", name)
	if (err != nil || len(as) == 0) && v6 {
		as, err = net.DefaultResolver.LookupNetIP(ctx, "ip6", name)
	}
	if err != nil || len(as) == 0 {
		return netip.Addr{}, fmt.Errorf("%s: the name could not be resolved: %s", name, resolveProblem(err, v6))
	}
	return as[0].Unmap(), nil
}

// resolveProblem says in words why a name lookup failed: the name does not
// exist, the DNS server did not answer or could not be reached, or the
// name has no address of the family asked for. err is nil when the lookup
// found no address.
func resolveProblem(err error, v6 bool) string {
	var dns *net.DNSError
	switch {
	case err == nil && v6:
		return "it has no IPv4 or IPv6 address"
	case err == nil:
		return "it has no IPv4 address"
	case !errors.As(err, &dns):
		return fmt.Sprintf("the lookup failed (%v)", err)
	}
	server := "the DNS server"
	if h, _, e := net.SplitHostPort(dns.Server); e == nil && h != "" {
		server += " " + h
	}
	var errno syscall.Errno
	switch {
	case dns.IsNotFound:
		return "no such host (the DNS answered that the name does not exist)"
	case errors.As(err, &errno):
		return fmt.Sprintf("%s cannot be reached (%v); see /etc/resolv.conf", server, errno)
	case strings.HasPrefix(dns.Err, "dial "):
		// The resolver keeps only the text of its socket's error:
		// "dial udp 10.0.0.53:53: connect: network is unreachable".
		why := dns.Err[strings.LastIndex(dns.Err, ": ")+2:]
		return fmt.Sprintf("%s cannot be reached (%s); see /etc/resolv.conf", server, why)
	case dns.IsTimeout:
		return fmt.Sprintf("no answer from %s within 5 s", server)
	case dns.IsTemporary:
		return fmt.Sprintf("%s failed to answer (%s); try again", server, dns.Err)
	}
	return dns.Err
}

// takeDst makes the packet flags' --dst a targetValue.
func takeDst(fs *pflag.FlagSet, pf *packetFlags, list bool) *targetValue {
	v := &targetValue{into: &pf.dst, list: list, v6: pf.dst.v6}
	f := fs.Lookup("dst")
	f.Value = v
	switch {
	case list && v.v6:
		f.Usage = "destinations: IPv4 and IPv6 addresses, host names and CIDR blocks, comma-separated (198.18.7.1,server,2001:2:0:1::1,198.18.7.0/28)"
	case list:
		f.Usage = "IPv4 destinations: addresses, host names and CIDR blocks, comma-separated (198.18.7.1,server,198.18.7.0/28)"
	case v.v6:
		f.Usage = "destination, required: an IPv4 or IPv6 address or a host name (resolved once)"
	default:
		f.Usage = "IPv4 destination, required: an address or a host name (resolved once)"
	}
	return v
}

// ownFlag adds --i-own-the-network.
func ownFlag(fs *pflag.FlagSet, p *bool) {
	fs.BoolVar(p, "i-own-the-network", false, "outside the lab: allow --rate max, more than 1024 ports, 256 hosts or 16384 packets, and broadcast or multicast destinations (each announced on stderr)")
}

// rails are the limits of where the command runs: none in the lab.
func rails(owned bool) probe.Rails { return probe.Rails{Lab: lab.Current() != "", Owned: owned} }

// checkRails applies the rails and writes their warnings to errw; a refusal
// is a usage error.
func checkRails(errw io.Writer, r probe.Rails, a probe.Ask) (probe.Verdict, error) {
	v, err := r.Check(a)
	if err != nil {
		return v, usageError{err}
	}
	for _, w := range v.Warnings {
		fmt.Fprintf(errw, "rawcraft: %s (%s)\n", w, probe.OwnFlag)
	}
	return v, nil
}
