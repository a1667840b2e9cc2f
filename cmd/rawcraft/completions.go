package main

import (
	"strings"

	"github.com/rawcraft/rawcraft/internal/exercise"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/spf13/cobra"
)

// Shell completion of argument values (rawcraft completion bash|zsh|fish):
// the protocols, exercise IDs, lab hosts and lab names, and each flag that
// takes one of a few words. The words are the ones the commands accept.

// flagWords are the values of flags that take one of a few words, by
// command path ("" for every command with that flag).
var flagWords = map[string]map[string][]string{
	"": {
		"via":        {"packet", "ip"},
		"guard":      {"auto", "ghost", "firewall", "none"},
		"sender":     {"craft", "socket"},
		"frag-order": {"reverse", "random"},
		"link":       {"ether", "raw"},
		"dir":        {"both", "to-hs", "to-hc"},
		"rate":       {"max"},
		"timing":     {"original"},
		"op":         {"request", "reply"},
	},
	"rawcraft listen":     {"proto": {"tcp", "udp", "icmp"}},
	"rawcraft trace":      {"proto": {"udp", "tcp", "icmp"}},
	"rawcraft read":       {"proto": {"tcp", "udp", "icmp", "arp"}},
	"rawcraft replay":     {"from": {"any"}},
	"rawcraft lab impair": {"rate": {"8mbit", "1mbit", "500k"}},
}

// labHosts are the hosts lab exec runs a command in.
var labHosts = []string{lab.Hc, lab.Hs, lab.S1, lab.S2, lab.R, lab.Hf}

func words(ws ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return ws, cobra.ShellCompDirectiveNoFileComp
	}
}

// registerCompletions attaches the completions to the command tree.
func registerCompletions(c *cobra.Command) {
	path := c.CommandPath()
	if protos := packetProtos[path]; protos != nil {
		c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return protos, cobra.ShellCompDirectiveNoFileComp
		}
	}
	switch path {
	case "rawcraft exercise":
		c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var ids []cobra.Completion
			for _, e := range exercise.All() {
				ids = append(ids, cobra.CompletionWithDesc(e.ID, e.Title))
			}
			return append(ids, cobra.CompletionWithDesc("all", "every exercise, in order")), cobra.ShellCompDirectiveNoFileComp
		}
		_ = c.RegisterFlagCompletionFunc("svg", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		})
	case "rawcraft lab exec":
		c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveDefault // the command to run
			}
			return labHosts, cobra.ShellCompDirectiveNoFileComp
		}
	case "rawcraft lab":
		_ = c.RegisterFlagCompletionFunc("name", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var names []cobra.Completion
			for _, o := range lab.Inventory() {
				names = append(names, cobra.CompletionWithDesc(o.Name, strings.Join(o.Hosts, " ")))
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		})
	}
	for name, ws := range flagWords[""] {
		if f := c.LocalNonPersistentFlags().Lookup(name); f != nil && flagWords[path][name] == nil {
			_ = c.RegisterFlagCompletionFunc(name, words(ws...))
		}
	}
	for name, ws := range flagWords[path] {
		_ = c.RegisterFlagCompletionFunc(name, words(ws...))
	}
	for _, sub := range c.Commands() {
		registerCompletions(sub)
	}
}
