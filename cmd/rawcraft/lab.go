package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/internal/owner"
	"github.com/spf13/cobra"
)

func newLabCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "lab up | down [--all | --all-users] | status | break | restore | exec HOST -- CMD...",
		Short: "build, inspect, break and remove the lab: the article's Figure 1 in network namespaces",
		Long: `The lab is the transport-layer article's Figure 1 built from network
namespaces: client Hc (198.18.1.3) — switch S1 — switch S2 — server Hs
(198.18.1.1). "lab break" pulls the cable between the switches, "lab restore"
plugs it back. With --routed it adds a router R (198.18.1.254, 198.18.2.254)
and a far host Hf (198.18.2.2) behind a link with a smaller MTU (1280).
Everything lives in namespaces named rc-NAME-HOST; the machine's own
interfaces, routes and firewall are never touched. Needs root.`,
		Example: `  sudo rawcraft lab up
  sudo rawcraft lab exec hc -- rawcraft send tcp --dst 198.18.1.1 --dport 9999 --flags S
  sudo rawcraft lab break
  sudo rawcraft lab restore
  sudo rawcraft lab status
  sudo rawcraft lab down`,
	}
	cmd.PersistentFlags().StringVar(&name, "name", "lab", "which lab: its namespaces are rc-NAME-hc, rc-NAME-hs… (matched exactly)")
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error {
		if err := lab.ValidName(name); err != nil {
			return usagef("--name %q: %v", name, lab.ErrName)
		}
		return nil
	}
	open := func() (*lab.Lab, error) {
		routed := false
		for _, h := range lab.Labs()[name] {
			routed = routed || h == lab.R
		}
		return lab.Open(name, routed)
	}
	var routed, offload bool
	up := &cobra.Command{
		Use: "up", Short: "build the lab (again: nothing changes)", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := lab.Up(lab.Config{Name: name, Routed: routed, Offload: offload})
			if err != nil {
				return labErr(err)
			}
			// Built and checked: from here it outlives this process.
			if err := l.Keep(); err != nil {
				return errors.Join(err, l.Down())
			}
			w := cmd.OutOrStdout()
			if was, now := l.Replaced(); was != "" {
				fmt.Fprintf(w, "lab %q was %s; rebuilt it as %s\n", l.Name(), was, now)
			}
			if r := l.Repaired(); len(r) > 0 {
				fmt.Fprintf(w, "lab %q was there but broken; rebuilt it. What was wrong:\n", l.Name())
				for _, s := range r {
					fmt.Fprintln(w, "  "+s)
				}
			}
			fmt.Fprintf(w, "lab %q is up (every link, address, route and sysctl checked):\n", l.Name())
			for _, s := range l.Status() {
				fmt.Fprintln(w, "  "+s)
			}
			fmt.Fprintf(w, "ICMP rate limits are lifted in the hosts: net.ipv4.icmp_ratelimit=0 and net.ipv6.icmp.ratelimit=0 (per destination) and icmp_msgs_per_sec=icmp_msgs_burst=%d (the namespace-wide limit, both families)\n", lab.ICMPRate)
			if !offload {
				fmt.Fprintln(w, "checksum and segmentation offload are off on the hosts: captures show the bytes on the wire")
			} else {
				fmt.Fprintln(w, "checksum offload is ON: a capture on the sending host shows TCP/UDP checksums the NIC has not filled yet")
			}
			return nil
		},
	}
	up.Flags().BoolVar(&routed, "routed", false, "add router R and far host Hf (198.18.2.0/24, MTU 1280 on R–Hf)")
	up.Flags().BoolVar(&offload, "offload", false, "leave checksum offload on, to see its effect on captures")
	var all, allUsers bool
	down := &cobra.Command{
		Use:   "down [--all | --all-users]",
		Short: "remove the lab (--all: also your other labs and any whose run died; --all-users: everyone's)",
		Long: `lab down removes the lab --name says (lab by default). A lab a running
process uses (demo, exercise, frag, a test, or another lab command) is never
removed: that process removes it when it ends.

--all removes every lab you kept with lab up — "you" being the user who ran
sudo, or the caller without sudo — and every lab whose run died (a killed
demo, exercise, frag or test, anyone's: rawcraft cleanup removes those
alone). Other users' kept labs stay, and so do labs made by an older
rawcraft that recorded no user; --all-users removes those too.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if os.Geteuid() != 0 {
				return labErr(lab.ErrPermission)
			}
			var removed []string
			var err error
			switch {
			case allUsers:
				removed, err = lab.Sweep(true)
			case all:
				removed, err = lab.SweepUser(owner.Caller())
			default:
				removed, err = lab.Remove(name)
			}
			for _, ns := range removed {
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", ns)
			}
			if len(removed) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing to remove")
			}
			if all && !allUsers {
				if n := othersLabs(owner.Caller()); n > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "left %d lab(s) of other users or of no recorded user (lab status lists them; --all-users removes them)\n", n)
				}
			}
			return err
		},
	}
	down.Flags().BoolVar(&all, "all", false, "remove every lab you kept with lab up and every lab whose run died; never one whose owner still runs, nor another user's")
	down.Flags().BoolVar(&allUsers, "all-users", false, "as --all, and also other users' kept labs and labs with no recorded user")
	down.MarkFlagsMutuallyExclusive("all", "all-users")
	status := &cobra.Command{
		Use: "status", Short: "say what exists", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			inv := lab.Inventory()
			if len(inv) == 0 {
				fmt.Fprintln(w, "no lab: sudo rawcraft lab up")
				return nil
			}
			for _, o := range inv {
				fmt.Fprintf(w, "lab %s: %s; %s\n", o.Name, strings.Join(o.Hosts, " "), ownerLine(o))
			}
			l, err := open()
			if err != nil {
				return nil
			}
			fmt.Fprintf(w, "lab %s:\n", l.Name())
			for _, s := range l.Status() {
				fmt.Fprintln(w, "  "+s)
			}
			if up, err := l.CableUp(); err == nil {
				fmt.Fprintf(w, "  S1–S2 cable: %s\n", map[bool]string{true: "plugged in", false: "PULLED (lab restore plugs it back)"}[up])
			}
			printImpairments(w, l)
			if bad := l.Check(); len(bad) > 0 {
				fmt.Fprintf(w, "  check: BROKEN (sudo rawcraft lab up --name %s rebuilds it):\n", l.Name())
				for _, b := range bad {
					fmt.Fprintln(w, "    "+b)
				}
				return fmt.Errorf("lab %s is broken: %s", l.Name(), strings.Join(bad, "; "))
			}
			fmt.Fprintln(w, "  check: every link, address, route and sysctl as specified")
			return nil
		},
	}
	cable := func(use, short string, f func(*lab.Lab) error, said string) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: noArgs, RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := open()
			if err != nil {
				return labErr(err)
			}
			if err := f(l); err != nil {
				return labErr(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), said)
			return nil
		}}
	}
	exe := &cobra.Command{
		Use:   "exec HOST -- CMD...",
		Short: "run a command inside a host of the lab (hc, hs, s1, s2, r, hf)",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("lab exec %q: give a host (hc, hs, s1, s2, r, hf), then -- and the command to run there", strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			host := args[0]
			if cmd.ArgsLenAtDash() != 1 {
				return usagef("lab exec %s: put -- between the host and the command", host)
			}
			l, err := open()
			if err != nil {
				return labErr(err)
			}
			known := false
			for _, h := range l.Hosts() {
				known = known || h == host
			}
			if !known {
				return usagef("lab exec %q: the hosts are %s", host, strings.Join(l.Hosts(), ", "))
			}
			argv := args[1:]
			if argv[0] == "rawcraft" {
				if self, err := os.Executable(); err == nil {
					argv[0] = self
				}
			}
			if _, err := exec.LookPath(argv[0]); err != nil {
				return usagef("lab exec %s: %s", host, programProblem(argv[0], err))
			}
			c := exec.Command(argv[0], argv[1:]...)
			c.Stdin, c.Stdout, c.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
			err = runChild(l, host, c)
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return exitCode(128 + int(ws.Signal())) // as a shell reports it
				}
				return exitCode(ee.ExitCode())
			}
			return err
		},
	}
	cmd.AddCommand(up, down, status,
		cable("break", "pull the S1–S2 cable: nothing crosses between the switches", (*lab.Lab).Break, "S1–S2 cable pulled: Hc and Hs still see their links up, but nothing crosses"),
		cable("restore", "plug the S1–S2 cable back in", (*lab.Lab).Restore, "S1–S2 cable plugged back in"),
		exe)
	cmd.AddCommand(newLabImpairCmd(open))
	return cmd
}

// ownerLine says who holds a lab, for lab status.
func ownerLine(o lab.Owned) string {
	switch o.State {
	case lab.Live:
		return "in use by running process " + o.Owner
	case lab.KeptByUser:
		if o.User >= 0 {
			return fmt.Sprintf("kept by lab up for user %d (lab down removes it)", o.User)
		}
		return "kept by lab up, no user recorded (lab down removes it)"
	case lab.Orphan:
		return "ORPHAN: its owner " + o.Owner + " is gone (rawcraft cleanup removes it)"
	}
	return "no owner recorded (lab down --all-users removes it)"
}

// programProblem says why lab exec cannot run program: LookPath's err in
// words. The lab's hosts share this machine's files, so what is missing
// here is missing there.
func programProblem(program string, err error) string {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("program %q is not executable", program)
	case strings.ContainsRune(program, '/'):
		return fmt.Sprintf("program %q not found", program)
	}
	return fmt.Sprintf("program %q not found in $PATH", program)
}

// exitCode passes a child's exit status through.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("the command exited with status %d", int(e)) }

func labErr(err error) error {
	if errors.Is(err, lab.ErrPermission) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%v", lab.ErrPermission)
	}
	return err
}

// runChild runs c in host and waits for it. INT, TERM and HUP sent to lab
// exec are passed on to the child, and lab exec ends when the child does;
// if lab exec itself is killed, the kernel kills the child (lab.Start).
func runChild(l *lab.Lab, host string, c *exec.Cmd) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, lab.Signals...)
	defer signal.Stop(sig)
	if err := l.Start(host, c); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	for {
		select {
		case s := <-sig:
			_ = c.Process.Signal(s)
		case err := <-done:
			return err
		}
	}
}

// othersLabs counts the labs lab down --all leaves for --all-users: kept
// by another user, or with no user recorded.
func othersLabs(user int) int {
	n := 0
	for _, o := range lab.Inventory() {
		if o.State == lab.KeptByUser && o.User != user || o.State == lab.Unrecorded {
			n++
		}
	}
	return n
}
