package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDocsCurrent regenerates the CLI reference and the man pages from the
// command definitions and compares them with docs/cli and docs/man: a
// changed flag, help text or example without `go generate ./cmd/rawcraft`
// fails here.
func TestDocsCurrent(t *testing.T) {
	fresh := t.TempDir()
	if err := genDocs(fresh); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"cli", "man"} {
		want, _ := filepath.Glob(filepath.Join(fresh, sub, "*"))
		have, _ := filepath.Glob(filepath.Join("..", "..", "docs", sub, "*"))
		names := func(paths []string) []string {
			var n []string
			for _, p := range paths {
				n = append(n, filepath.Base(p))
			}
			return n
		}
		if !slices.Equal(names(want), names(have)) {
			t.Errorf("docs/%s has %v, the commands make %v: run go generate ./cmd/rawcraft", sub, names(have), names(want))
			continue
		}
		for _, p := range want {
			got, err := os.ReadFile(filepath.Join("..", "..", "docs", sub, filepath.Base(p)))
			if err != nil {
				t.Fatal(err)
			}
			exp, _ := os.ReadFile(p)
			if !bytes.Equal(got, exp) {
				t.Errorf("docs/%s/%s is stale: run go generate ./cmd/rawcraft", sub, filepath.Base(p))
			}
		}
	}
}
