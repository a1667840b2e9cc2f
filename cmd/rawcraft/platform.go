package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// pureCommands work on every operating system: they build, explain, sum
// and read bytes and never open a socket or a namespace. Every other command
// (send, probe, listen, frag, handshake, reset, exercise, lab, demo, and
// any added later) needs Linux.
var pureCommands = map[string]bool{
	"build": true, "explain": true, "checksum": true, "read": true,
	"help": true, "completion": true, "version": true,
}

// linuxOnly refuses, when goos is not "linux", a command that needs Linux,
// before anything is parsed, opened or sent: its error is the one line
// "rawcraft COMMAND needs Linux (…)". It returns nil on Linux, for the pure
// commands and for the root itself (help, --version, unknown commands,
// which cobra then reports).
func linuxOnly(goos string, root *cobra.Command, args []string) error {
	if goos == "linux" {
		return nil
	}
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil || cmd == root {
		return nil
	}
	top := cmd
	for top.Parent() != root {
		top = top.Parent()
	}
	if pureCommands[top.Name()] {
		return nil
	}
	return fmt.Errorf("%s needs Linux (AF_PACKET and raw IPv4 sockets, network namespaces and nftables of the Linux kernel); on %s, build, explain, checksum and read work", cmd.CommandPath(), goos)
}
