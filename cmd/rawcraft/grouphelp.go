package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// addGroupHelp gives every command that groups subcommands (lab,
// completion) a help subcommand of its own, as the root has: their usage
// ends with "rawcraft lab help [command]", so that has to work.
func addGroupHelp(c *cobra.Command) {
	for _, sub := range c.Commands() {
		addGroupHelp(sub)
	}
	if c.Parent() == nil || !c.HasSubCommands() {
		return
	}
	group := c
	c.AddCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "help about any " + group.Name() + " command",
		Long:  "help shows the help of a " + group.Name() + " command: " + group.CommandPath() + " help " + group.Commands()[0].Name() + ".",
		RunE: func(_ *cobra.Command, args []string) error {
			cmd, rest, err := group.Find(args)
			if err != nil || cmd == nil || len(rest) > 0 || cmd.Name() == "help" {
				return usagef("%s help %s: no such command (%s --help lists them)", group.CommandPath(), strings.Join(args, " "), group.CommandPath())
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	})
}
