package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/internal/exercise"
)

// runExercises runs the exercises in order with run and, when there is
// more than one, ends with a tally: how many matched, which differed and
// which could not run (an exercise that cannot run does not stop the
// others). The error names the ones that did not match.
func runExercises(out io.Writer, todo []*exercise.Exercise, run func(*exercise.Exercise) (*exercise.Outcome, error)) error {
	start := time.Now()
	var differed, broken []string
	for _, e := range todo {
		o, err := run(e)
		switch {
		case err != nil && len(todo) == 1:
			return err
		case err != nil:
			fmt.Fprintf(out, "  ! could not run: %v\n\n", err)
			broken = append(broken, e.ID)
		case !o.Matches():
			differed = append(differed, e.ID)
		}
	}
	if len(todo) > 1 {
		fmt.Fprintln(out, tally(len(todo), differed, broken, time.Since(start)))
	}
	if bad := len(differed) + len(broken); bad > 0 {
		return fmt.Errorf("%d of %d exercises did not match their prediction", bad, len(todo))
	}
	return nil
}

// tally is the last line of exercise all: "19 of 19 exercises matched
// their predictions in 47.1 s", or with what differed and what could not run.
func tally(n int, differed, broken []string, took time.Duration) string {
	s := fmt.Sprintf("%d of %d exercises matched their predictions", n-len(differed)-len(broken), n)
	if len(differed) > 0 {
		s += fmt.Sprintf("; differed: %s", strings.Join(differed, ", "))
	}
	if len(broken) > 0 {
		s += fmt.Sprintf("; could not run: %s", strings.Join(broken, ", "))
	}
	return s + fmt.Sprintf(" (%.1f s)", took.Seconds())
}

// checkSVGDir refuses an --svg directory the graphs could not be written
// into, before a minute of exercises runs: it must exist, be a directory
// and take a new file.
func checkSVGDir(dir string) error {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return usagef("--svg %q: %v", dir, errReason(err))
	}
	if !fi.IsDir() {
		return usagef("--svg %q: not a directory (--svg names the directory ID.svg is written into)", dir)
	}
	f, err := os.CreateTemp(dir, ".rawcraft-svg-check-*")
	if err != nil {
		return usagef("--svg %q: cannot write a file there: %v", dir, errReason(err))
	}
	f.Close()
	os.Remove(filepath.Join(dir, filepath.Base(f.Name())))
	return nil
}
