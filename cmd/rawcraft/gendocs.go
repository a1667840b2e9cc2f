package main

//go:generate go run . gendocs ../../docs

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// docsDate is the date every generated man page carries: fixed, so that
// generating again from the same commands gives the same bytes (the docs
// test compares them); change it when the pages change in substance.
var docsDate = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// newGendocsCmd writes the CLI reference (DIR/cli, Markdown) and the man
// pages (DIR/man, section 1) from the command definitions themselves, with
// cobra's own generator: the help of each command is the one source.
// Hidden: it is for `go generate ./cmd/rawcraft` and for packagers.
func newGendocsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gendocs DIR",
		Short:  "write the CLI reference (DIR/cli) and the man pages (DIR/man) from the command definitions",
		Hidden: true,
		Args:   argsRule(1, 1, "DIR, the folder to write the docs into"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return genDocs(args[0])
		},
	}
}

// genDocs writes dir/cli/*.md and dir/man/*.1 for a fresh command tree,
// removing the files of commands that no longer exist.
func genDocs(dir string) error {
	root := newRoot(os.Stdout, os.Stderr)
	root.DisableAutoGenTag = true // no "generated on <today>" line
	cli, man := filepath.Join(dir, "cli"), filepath.Join(dir, "man")
	for _, d := range []string{cli, man} {
		old, _ := filepath.Glob(filepath.Join(d, "rawcraft*"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := doc.GenMarkdownTree(root, cli); err != nil {
		return fmt.Errorf("CLI reference: %w", err)
	}
	hdr := &doc.GenManHeader{Title: "RAWCRAFT", Section: "1", Date: &docsDate, Source: "rawcraft", Manual: "rawcraft manual"}
	if err := doc.GenManTree(root, hdr, man); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	return nil
}
