package main

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Every command's help lists each of its visible flags exactly once (the
// grouping loses none and repeats none), and no default that is a
// placeholder.
func TestHelpListsEveryFlagOnce(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.Hidden && c.Runnable() {
			args := append(strings.Fields(strings.TrimPrefix(c.CommandPath(), "rawcraft")), "--help")
			out, _, code := runCLI(t, args...)
			if code != 0 {
				t.Errorf("%v: exit %d", args, code)
			}
			if strings.Contains(out, "(default -)") || strings.Contains(out, `(default "-")`) {
				t.Errorf("%v shows a placeholder default", args)
			}
			c.LocalFlags().VisitAll(func(f *pflag.Flag) {
				if f.Hidden || f.Name == "help" {
					return
				}
				if n := strings.Count(out, "--"+f.Name+" ") + strings.Count(out, "--"+f.Name+"\n"); n < 1 {
					t.Errorf("%v: --%s is not listed", args, f.Name)
				}
				lines := 0
				for _, l := range strings.Split(out, "\n") {
					if !strings.HasPrefix(l, "  ") {
						continue // prose, not the flag list
					}
					if strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "-"+f.Shorthand+",")), "--"+f.Name+" ") ||
						strings.TrimSpace(l) == "--"+f.Name {
						lines++
					}
				}
				if lines != 1 {
					t.Errorf("%v: --%s listed on %d lines", args, f.Name, lines)
				}
			})
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRoot(io.Discard, io.Discard))
}

// "send tcp --help" shows the flags a TCP packet takes, grouped by layer,
// timing, output and safety; ARP's, UDP's and ICMP's are left out. probe
// never shows (and refuses) ARP's and the ICMP-error flags.
func TestHelpShowsWhatApplies(t *testing.T) {
	flagLines := func(out string) []string {
		var fl []string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "--") {
				fl = append(fl, f[0])
			} else if len(f) > 1 && strings.HasPrefix(f[1], "--") && strings.HasSuffix(f[0], ",") {
				fl = append(fl, f[1])
			}
		}
		return fl
	}
	all, _, _ := runCLI(t, "send", "--help")
	tcp, _, _ := runCLI(t, "send", "tcp", "--help")
	for _, g := range []string{"Where it goes:", "Ethernet (IEEE 802.3, 802.1Q):", "IPv4 header (RFC 791):", "TCP header (RFC 9293):", "Timing and limits:", "Output:", "Safety:"} {
		if !strings.Contains(tcp, "\n"+g+"\n") {
			t.Errorf("send tcp --help has no group %q", g)
		}
	}
	ft := flagLines(tcp)
	for _, gone := range []string{"--op", "--target-mac", "--udp-len", "--type", "--code", "--quote", "--pointer", "--next-hop-mtu", "--icmp-id"} {
		if slices.Contains(ft, gone) {
			t.Errorf("send tcp --help lists %s", gone)
		}
	}
	if len(ft) >= len(flagLines(all)) || !slices.Contains(ft, "--flags") || !slices.Contains(ft, "--tcp-opt") {
		t.Errorf("send tcp --help: %d flags %v, send --help %d", len(ft), ft, len(flagLines(all)))
	}
	arp, _, _ := runCLI(t, "send", "arp", "--help")
	for _, gone := range []string{"--ttl", "--dport", "--data", "--frag", "--flags"} {
		if slices.Contains(flagLines(arp), gone) {
			t.Errorf("send arp --help lists %s", gone)
		}
	}
	// probe and frag send no ARP: no ARP flag in their help (frag's listed
	// --hlen and --plen), each refused by name.
	for _, c := range []struct {
		cmd  string
		args []string
		gone []string
	}{
		{"probe", []string{"icmp", "--dst", "198.18.1.1"}, []string{"--op", "--target-mac", "--hlen", "--plen", "--quote", "--next-hop-mtu", "--pointer"}},
		{"frag", []string{"udp"}, []string{"--op", "--target-mac", "--hlen", "--plen"}},
	} {
		help, _, _ := runCLI(t, c.cmd, "--help")
		if strings.Contains(help, "ARP") {
			t.Errorf("%s --help mentions ARP", c.cmd)
		}
		for _, gone := range c.gone {
			if slices.Contains(flagLines(help), gone) {
				t.Errorf("%s --help lists %s", c.cmd, gone)
			}
			v := "1"
			if gone == "--target-mac" {
				v = "02:00:00:00:00:01"
			}
			_, errs, code := runCLI(t, append(append([]string{c.cmd}, c.args...), gone, v)...)
			if code != exitUsage || !strings.Contains(errs, gone+" does not apply to "+c.cmd) {
				t.Errorf("%s %s 1: exit %d, %q", c.cmd, gone, code, errs)
			}
		}
	}
	// A default the command does not use is not shown: send and probe need
	// --dst and take the source from the route.
	for _, c := range []string{"send", "probe"} {
		out, _, _ := runCLI(t, c, "--help")
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 0 && (f[0] == "--dst" || f[0] == "--src") && strings.Contains(l, "(default") {
				t.Errorf("%s --help: %q", c, l)
			}
			if f := strings.Fields(l); len(f) > 0 && f[0] == "--dst" && !strings.Contains(l, "IPv6") {
				t.Errorf("%s --help: --dst does not say IPv6: %q", c, l)
			}
		}
	}
	root, _, _ := runCLI(t, "--help")
	if !strings.Contains(strings.SplitN(root, "\n", 2)[0], "IPv4 and IPv6") {
		t.Errorf("rawcraft --help's first line: %q", strings.SplitN(root, "\n", 2)[0])
	}
}

// Shell completion offers the values the commands accept.
func TestCompletionValues(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"send", ""}, []string{"tcp", "udp", "icmp", "arp"}},
		{[]string{"probe", ""}, []string{"tcp", "udp", "icmp"}},
		{[]string{"send", "tcp", "--via", ""}, []string{"packet", "ip"}},
		{[]string{"handshake", "--guard", ""}, []string{"auto", "ghost", "firewall", "none"}},
		{[]string{"listen", "--proto", ""}, []string{"tcp", "udp", "icmp"}},
		{[]string{"trace", "--proto", ""}, []string{"udp", "tcp", "icmp"}},
		{[]string{"lab", "exec", ""}, []string{"hc", "hs", "s1", "s2", "r", "hf"}},
		{[]string{"lab", "impair", "--dir", ""}, []string{"both", "to-hs", "to-hc"}},
		{[]string{"exercise", ""}, []string{"1", "7v6", "3way", "paris", "all"}},
	} {
		out, _, code := runCLI(t, append([]string{cobra.ShellCompRequestCmd}, c.args...)...)
		var got []string
		for _, l := range strings.Split(out, "\n") {
			if l != "" && !strings.HasPrefix(l, ":") {
				got = append(got, strings.SplitN(l, "\t", 2)[0])
			}
		}
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("complete %q: %v, exit %d; want %s among them", c.args, got, code, w)
			}
		}
	}
	// Every word offered for a flag is one the flag accepts: the exercise
	// IDs are exercise's own, and the guard's are ParseGuard's.
	out, _, _ := runCLI(t, cobra.ShellCompRequestCmd, "handshake", "--guard", "")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, ":") {
			continue
		}
		_, errs, code := runCLI(t, "handshake", "--dst", "198.18.1.1", "--dport", "9999", "--guard", l, "--ghost", "10.0.0.5")
		if strings.Contains(errs, "--guard") && code == exitUsage && !strings.Contains(errs, "--ghost") {
			t.Errorf("--guard %s offered but refused: %s", l, errs)
		}
	}
}
