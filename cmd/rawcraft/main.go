// Command rawcraft hand-builds IPv4 and IPv6 packets (Ethernet, ARP, UDP,
// TCP, ICMP, ICMPv6), explains them field by field, sends them into a lab of network
// namespaces and shows the replies that ordinary sockets never see.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
	return runOn(runtime.GOOS, args, stdout, stderr)
}

// runOn is run as if on the operating system goos: the commands that need
// Linux fail at once elsewhere (see linuxOnly).
func runOn(goos string, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	if err := linuxOnly(goos, root, args); err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
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
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}

const usageTemplate = `{{if .HasExample}}Examples:
{{.Example}}

{{end}}Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if .HasAvailableSubCommands}}

Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

{{groupedFlags .}}{{end}}{{if .HasAvailableInheritedFlags}}

Global flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} help [command]" for more about a command.{{end}}
`

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "rawcraft",
		Short: "hand-build IPv4 and IPv6 packets, send them into a lab, and see what really comes back",
		Long: `rawcraft builds IPv4 and IPv6 packets — Ethernet, ARP, UDP, TCP, ICMP and
ICMPv6 inside — byte for byte, explains every field with the RFC that
defines it, and (with privileges) sends them into a lab of network
namespaces to show the replies that ordinary sockets never see.`,
		Example: `  rawcraft build tcp --dst 198.18.1.1 --dport 9999 --flags S --tcp-opt mss=1460,sackok
  rawcraft explain udp --dport 8192 --data "Hello"
  rawcraft build udp --dst 2001:2:0:1::1 --dport 9999 --data Hello
  rawcraft checksum Computer
  rawcraft build udp --size 4000 --mtu 1500 --pcap frags.pcap`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetUsageTemplate(usageTemplate)
	root.SetFlagErrorFunc(flagError)
	root.Version = versionLine(debug.ReadBuildInfo())
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(newBuildCmd(), newExplainCmd(), newChecksumCmd(), newSendCmd(), newProbeCmd(), newTraceCmd(), newListenCmd(), newFragCmd(), newHandshakeCmd(), newResetCmd(), newExerciseCmd(), newLabCmd(), newDemoCmd(), newCleanupCmd(), newVersionCmd(), newReadCmd(), newGendocsCmd(), newReplayCmd())
	root.AddCommand(newServeCmd())
	root.SetHelpCommand(newHelpCmd())
	// Made now, not on Execute, so that the walk below reaches them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	addGroupHelp(root)
	tidyHelp(root)
	registerCompletions(root)
	strictArgs(root)
	for _, c := range root.Commands() {
		c.SetUsageTemplate(usageTemplate)
	}
	return root
}

// strictArgs makes every misuse cobra detects a usageError, by structure
// rather than by the wording of cobra's messages: each command's Args
// validator is wrapped so that its error becomes a usageError; a command
// that only groups subcommands (the root, lab, completion) runs its help
// when given nothing and refuses an unknown subcommand (cobra would print
// the help and exit 0); and the required-flag and flag-group checks, which
// cobra returns unwrapped, run first in PreRunE as usageErrors.
func strictArgs(c *cobra.Command) {
	switch {
	case c.HasSubCommands() && !c.Runnable():
		c.Args = unknownCommand
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	case c.Runnable():
		valid := c.Args
		if valid == nil {
			valid = cobra.ArbitraryArgs // what cobra does for a command without subcommands
		}
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := valid(cmd, args); err != nil {
				return asUsage(err)
			}
			return nil
		}
		pre, preE := c.PreRun, c.PreRunE
		c.PreRun = nil
		c.PreRunE = func(cmd *cobra.Command, args []string) error {
			if err := cmd.ValidateRequiredFlags(); err != nil {
				return usageError{err}
			}
			if err := exclusiveError(cmd); err != nil {
				return err
			}
			if err := cmd.ValidateFlagGroups(); err != nil {
				return usageError{err}
			}
			switch {
			case preE != nil:
				return preE(cmd, args)
			case pre != nil:
				pre(cmd, args)
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		strictArgs(sub)
	}
}

func asUsage(err error) error {
	var ue usageError
	if errors.As(err, &ue) {
		return err
	}
	return usageError{err}
}

// unknownCommand is the Args of a command that only groups subcommands:
// cobra found none among args.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, set only on its own error path
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		return usagef("unknown command %q for %q: did you mean %q?", args[0], cmd.CommandPath(), s[0])
	}
	return usagef("unknown command %q for %q (%s --help lists them)", args[0], cmd.CommandPath(), cmd.CommandPath())
}

// newHelpCmd is cobra's help command, except that an unknown topic is a
// usageError (cobra's prints the usage and exits 0).
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "help about any command",
		Long:  "help shows the help of any command: rawcraft help build.",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || cmd == nil || (len(rest) > 0 && cmd.HasSubCommands()) {
				return usagef("help %s: no such command (rawcraft --help lists them)", strings.Join(args, " "))
			}
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
	}
}

// newVersionCmd prints what --version prints.
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version, the commit it was built from, and the Go toolchain",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), cmd.Root().Version)
			return err
		},
	}
}

// versionLine describes the binary from its build information
// (debug.ReadBuildInfo): the module version ("(devel)" when built from a
// checkout), the VCS revision and whether the tree had uncommitted changes
// (stamped by go build in a git checkout; absent with go install
// module@version), and the Go toolchain, e.g.
// "rawcraft v0.3.0 commit 0123abcd… (modified), go1.26.8 linux/amd64".
func versionLine(bi *debug.BuildInfo, ok bool) string {
	ver, goVer := "(devel)", runtime.Version()
	var rev string
	var modified bool
	if ok {
		if bi.Main.Version != "" {
			ver = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVer = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	line := "rawcraft " + ver
	if rev != "" {
		line += " commit " + rev
		if modified {
			line += " (modified)"
		}
	}
	return line + ", " + goVer + " " + runtime.GOOS + "/" + runtime.GOARCH
}

// flagError makes every flag error a usage error; a value the flag refused
// reads as the other usage errors do: the flag, the value, the rule.
func flagError(_ *cobra.Command, err error) error {
	var iv *pflag.InvalidValueError
	if errors.As(err, &iv) {
		msg := iv.Unwrap().Error()
		if strings.Contains(msg, "strconv.") || strings.Contains(msg, "time: ") {
			msg = plainRule(iv.GetFlag(), iv.Unwrap()) // pflag's own types speak Go
		}
		return usagef("--%s %q: %s", iv.GetFlag().Name, iv.GetValue(), msg)
	}
	return usageError{err}
}

// exclusiveError names, as rawcraft's other usage errors do, two flags
// given together that MarkFlagsMutuallyExclusive keeps apart.
func exclusiveError(cmd *cobra.Command) error {
	var err error
	fs := cmd.Flags()
	fs.Visit(func(f *pflag.Flag) {
		if err != nil {
			return
		}
		for _, g := range f.Annotations["cobra_annotation_mutually_exclusive"] {
			for _, other := range strings.Fields(g) {
				if other != f.Name && fs.Changed(other) {
					err = usagef("%s and %s: give one or the other", flagShown(f), flagShown(fs.Lookup(other)))
					return
				}
			}
		}
	})
	return err
}

// flagShown is a flag as the user gave it: --hex, --rate max.
func flagShown(f *pflag.Flag) string {
	if f.Value.Type() == "bool" {
		return "--" + f.Name
	}
	return "--" + f.Name + " " + f.Value.String()
}
