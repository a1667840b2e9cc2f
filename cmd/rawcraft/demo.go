package main

import (
	"github.com/rawcraft/rawcraft/internal/exercise"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "the article's question on a lab: what happens when the server is not running?",
		Long: `demo builds a lab, starts a TCP and a UDP server on Hs port 9999, makes Hs
drop port 9997 (an nftables rule inside Hs's namespace, made over netlink with
github.com/google/nftables), leaves 9998 closed, and then asks each port twice:
once as an ordinary socket would, once with rawcraft's probes, which see the
replies ordinary sockets never see. It prints the RST and the ICMP port
unreachable with the header it quotes, a summary table, and removes the lab.`,
		Example: `  sudo rawcraft demo`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return labErr(exercise.Demo(cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
}
