// Command rawcraft hand-builds IPv4, UDP, TCP, ICMP, ARP and Ethernet
// packets, explains them field by field, sends them into a lab of network
// namespaces and shows the replies that ordinary sockets never see.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// usageError marks bad input: exit status 2, nothing sent.
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// Exit statuses of the CLI contract.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is main without the process: tests call it.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ec exitCode
	if errors.As(err, &ec) {
		return int(ec) // a command run by lab exec: its status, its own messages
	}
	msg := strings.TrimSpace(strings.SplitN(err.Error(), "\n", 2)[0])
	fmt.Fprintf(stderr, "rawcraft: %s\n", msg)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return exitUsage
	}
	return exitFailure
}

// isCobraUsage recognises cobra's own argument errors.
func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "invalid argument", "flag needs an argument", "if any flags in the group", "none of the others can be"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

const usageTemplate = `{{if .HasExample}}Examples:
{{.Example}}

{{end}}Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if .HasAvailableSubCommands}}

Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Global flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} help [command]" for more about a command.{{end}}
`

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "rawcraft",
		Short: "hand-build packets, send them into a lab, and see what really comes back",
		Long: `rawcraft builds IPv4, UDP, TCP, ICMP, ARP and Ethernet packets byte for byte,
explains every field with the RFC that defines it, and (with privileges) sends
them into a lab of network namespaces to show the replies that ordinary
sockets never see.`,
		Example: `  rawcraft build tcp --dst 198.18.1.1 --dport 9999 --flags S --tcp-opt mss=1460,sackok
  rawcraft explain udp --dport 8192 --data "Hello"
  rawcraft checksum Computer
  rawcraft build udp --size 4000 --mtu 1500 --pcap frags.pcap`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetUsageTemplate(usageTemplate)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newBuildCmd(), newExplainCmd(), newChecksumCmd(), newSendCmd(), newProbeCmd(), newListenCmd(), newFragCmd(), newHandshakeCmd(), newResetCmd(), newExerciseCmd(), newLabCmd(), newDemoCmd())
	for _, c := range root.Commands() {
		c.SetUsageTemplate(usageTemplate)
	}
	return root
}
