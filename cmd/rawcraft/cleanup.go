package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/session"
	"github.com/spf13/cobra"
)

func newCleanupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cleanup",
		Short: "remove what killed rawcraft runs left behind: labs whose owner process is gone, and nothing live",
		Long: `Every lab (and everything in it: interfaces, nftables rules, sysctls) is
recorded with the process that owns it, its PID and start time, in
/run/rawcraft. A run stopped with Ctrl-C, kill or a closed terminal removes
its own; one killed with SIGKILL cannot. cleanup removes exactly the labs
whose owner is gone. A lab a running process uses, or one kept by
"rawcraft lab up", stays (lab down removes that).`,
		Example: `  sudo rawcraft cleanup`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if os.Geteuid() != 0 {
				return labErr(lab.ErrPermission)
			}
			w := cmd.OutOrStdout()
			removed, err := lab.Sweep(false)
			removed = append(removed, lab.SweepStaleMultipath()...) // trace's two-path topologies
			// The kernel-RST guard tables of dead runs (issue 13): in this
			// namespace, and in every lab that stays (a handshake killed
			// inside a kept lab leaves its table there).
			guards, gerr := session.SweepGuards()
			removed = append(removed, guards...)
			for _, o := range lab.Inventory() {
				for _, h := range o.Hosts {
					ns := lab.Prefix + o.Name + "-" + h
					err := lab.DoIn(ns, func() error {
						g, err := session.SweepGuards()
						for _, t := range g {
							removed = append(removed, ns+": "+t)
						}
						return err
					})
					gerr = errors.Join(gerr, err)
				}
			}
			for _, r := range removed {
				fmt.Fprintf(w, "removed %s\n", r)
			}
			if len(removed) == 0 {
				fmt.Fprintln(w, "nothing left behind")
			}
			return errors.Join(err, gerr)
		},
	}
}
