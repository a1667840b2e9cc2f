package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// How --help shows a command's flags: grouped — the packet's fields layer
// by layer, then where it goes, timing, output and safety — and only those
// that apply. This file is a table over the flags the commands register,
// so that registering a flag stays where it is; a flag the table does not
// know lands in "Other flags".

// flagGroups lists the groups in the order help shows them, each with its
// flags in the order shown.
var flagGroups = []struct {
	title string
	flags []string
}{
	{"Where it goes", []string{"dst", "src", "ports", "dport", "sport", "addr", "port", "host", "iface", "via", "sender", "name", "dir", "from", "proto"}},
	{"Ethernet (IEEE 802.3, 802.1Q)", []string{"ether", "src-mac", "dst-mac", "vlan"}},
	{"ARP (RFC 826)", protoFlags["arp"]},
	{"IPv4 header (RFC 791)", []string{"ttl", "tos", "id", "df", "mf", "evil", "frag-offset", "ip-opt", "ihl", "ip-len", "ip-csum"}},
	{"IPv6 header (RFC 8200)", []string{"hop-limit", "tclass", "flow-label", "ext", "payload-len"}},
	{"Fragments (RFC 791 §2.3, RFC 8200 §4.5)", []string{"frag", "mtu", "frag-order", "frag-drop", "frag-dup", "frag-overlap", "frag-tiny", "frag-seed"}},
	{"TCP header (RFC 9293)", []string{"flags", "seq", "ack", "win", "urg", "tcp-opt", "data-offset"}},
	{"UDP header (RFC 768)", []string{"udp-len"}},
	{"ICMP and ICMPv6 (RFC 792, RFC 4443)", []string{"type", "code", "icmp-id", "icmp-seq", "next-hop-mtu", "pointer", "quote"}},
	{"TCP, UDP and ICMP", []string{"csum", "tcp"}},
	{"Payload", []string{"data", "data-hex", "data-file", "size", "fill"}},
	{"Timing and limits", []string{"count", "interval", "rate", "cpus", "tx-ring", "timeout", "retries", "rto", "rate-limit-budget", "wait", "for", "duration", "timing", "first-ttl", "max-ttl", "probes", "stateless", "shard", "seed", "fast"}},
	{"Output", []string{"json", "hex", "pcap", "svg", "verbose", "quiet", "open", "analyze", "explain", "diagram", "ladder", "tcpseq", "packet", "link"}},
	{"Safety", []string{"i-own-the-network", "guard", "ghost", "all", "all-users"}},
}

// notFor are the packet flags a command registers with the others but
// never uses: hidden from its help, and refused when given.
var notFor = map[string]map[string]string{
	"rawcraft probe": withARPFlags("probe sends tcp, udp or icmp, not ARP", map[string]string{
		"quote": "probe sends questions, not ICMP errors", "next-hop-mtu": "probe sends questions, not ICMP errors",
		"pointer": "probe sends questions, not ICMP errors",
	}),
	"rawcraft frag": withARPFlags("frag sends udp, icmp or tcp, not ARP", nil),
}

// withARPFlags adds every ARP flag (protoFlags' one list) to m, each for
// the reason why: a command that sends no ARP lists none of them, whatever
// ARP flag is added later.
func withARPFlags(why string, m map[string]string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	for _, name := range protoFlags["arp"] {
		m[name] = why
	}
	return m
}

// noDefault are the flags whose registered default help must not show:
// the command requires the flag, or picks the value itself (the route's
// source, a random port, its own IP ID to match replies by).
var noDefault = map[string][]string{
	"rawcraft send":  {"dst", "src"},
	"rawcraft probe": {"dst", "src", "sport", "seq", "id", "icmp-id"},
}

// tidyHelp applies the tables to the command tree: a default that is a
// placeholder ("-") or that noDefault names is not shown, notFor's flags
// are hidden and refused, and usage lists the flags by group.
func tidyHelp(c *cobra.Command) {
	path := c.CommandPath()
	c.LocalFlags() // merge the persistent flags in first
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.DefValue == "-" || slices.Contains(noDefault[path], f.Name) {
			f.DefValue = ""
		}
	})
	if bad := notFor[path]; bad != nil {
		for name := range bad {
			if f := c.Flags().Lookup(name); f != nil {
				f.Hidden = true
			}
		}
		pre := c.PreRunE
		c.PreRunE = func(cmd *cobra.Command, args []string) error {
			for name, why := range bad {
				if cmd.Flags().Changed(name) {
					return usagef("--%s does not apply to %s: %s", name, cmd.Name(), why)
				}
			}
			if pre != nil {
				return pre(cmd, args)
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		tidyHelp(sub)
	}
}

// packetProtos are the commands whose first argument is the packet's
// protocol: "send tcp --help" shows only the flags a TCP packet takes.
var packetProtos = map[string][]string{
	"rawcraft build":   {"tcp", "udp", "icmp", "arp"},
	"rawcraft explain": {"tcp", "udp", "icmp", "arp"},
	"rawcraft send":    {"tcp", "udp", "icmp", "arp"},
	"rawcraft probe":   {"tcp", "udp", "icmp"},
	"rawcraft frag":    {"udp", "icmp", "tcp"},
}

// appliesTo says whether flag name is one a proto packet takes, by the
// rules checkApplies enforces.
func appliesTo(name, proto string) bool {
	for other, names := range protoFlags {
		if other != proto && slices.Contains(names, name) {
			return false
		}
	}
	switch proto {
	case "arp":
		if slices.Contains(ipFlags, name) || slices.Contains(ipv6Only, name) || name == "sport" || name == "dport" || name == "csum" || name == "fill" {
			return false
		}
	case "icmp":
		if name == "sport" || name == "dport" {
			return false
		}
	}
	return proto == "icmp" || name != "pointer" // an ICMP parameter problem's field
}

// helpProto is the protocol named before --help ("send tcp --help"), or "".
func helpProto(c *cobra.Command) string {
	protos := packetProtos[c.CommandPath()]
	if protos == nil {
		return ""
	}
	for _, a := range c.Flags().Args() {
		if slices.Contains(protos, a) {
			return a
		}
	}
	return ""
}

// groupedFlags is the usage template's flag list. For the commands of the
// packet flags (packetProtos) it is one block per group of flagGroups, each
// flag once, in the group's order, the rest under "Other flags"; hidden
// flags and, after a protocol ("send tcp --help"), the flags that protocol
// does not take, left out. Other commands keep one block.
func groupedFlags(c *cobra.Command) string {
	local := c.LocalFlags()
	proto := helpProto(c)
	var b strings.Builder
	placed := map[string]bool{"help": true}
	block := func(title string, names []string) {
		fs := pflag.NewFlagSet(title, pflag.ContinueOnError)
		fs.SortFlags = false
		for _, n := range names {
			f := local.Lookup(n)
			if f == nil || f.Hidden || placed[n] || (proto != "" && !appliesTo(n, proto)) {
				continue
			}
			placed[n] = true
			fs.AddFlag(f)
		}
		if !fs.HasFlags() {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "%s:\n%s", title, strings.TrimRight(fs.FlagUsages(), " \n"))
	}
	title := "Flags"
	var rest []string
	local.VisitAll(func(f *pflag.Flag) { rest = append(rest, f.Name) })
	if packetProtos[c.CommandPath()] != nil {
		for _, g := range flagGroups {
			block(g.title, g.flags)
		}
		title = "Other flags"
	}
	block(title, rest)
	if protos := packetProtos[c.CommandPath()]; protos != nil {
		if proto != "" {
			fmt.Fprintf(&b, "\n\nOnly the flags a %s packet takes are listed; %s --help lists every one.", proto, c.CommandPath())
		} else {
			fmt.Fprintf(&b, "\n\n%s %s --help lists only the flags one protocol takes (%s).", c.CommandPath(), protos[0], strings.Join(protos, ", "))
		}
	}
	return b.String()
}

func init() { cobra.AddTemplateFunc("groupedFlags", groupedFlags) }
