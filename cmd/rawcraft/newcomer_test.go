package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/exercise"
)

// Issue 28's rough edges, each as the newcomer met it.

// "rawcraft lab --help" ends with "rawcraft lab help [command]": it works,
// and says the same as "lab up --help".
func TestGroupHelp(t *testing.T) {
	want, _, code := runCLI(t, "lab", "up", "--help")
	if code != 0 {
		t.Fatal(code)
	}
	got, errs, code := runCLI(t, "lab", "help", "up")
	if code != 0 || got != want {
		t.Errorf("lab help up: exit %d, %q\nstdout:\n%s\nwant:\n%s", code, errs, got, want)
	}
	lab, _, _ := runCLI(t, "lab", "--help")
	if !strings.Contains(lab, `rawcraft lab help [command]`) {
		t.Errorf("lab --help no longer points at lab help:\n%s", lab)
	}
	_, errs, code = runCLI(t, "lab", "help", "nosuch")
	if code != exitUsage || strings.Count(errs, "\n") != 1 {
		t.Errorf("lab help nosuch: exit %d, %q", code, errs)
	}
}

// exercise all ends with one tally line, and an exercise that cannot run
// does not hide the others' verdicts.
func TestExerciseTally(t *testing.T) {
	all := exercise.All()[:3]
	var out strings.Builder
	err := runExercises(&out, all, func(e *exercise.Exercise) (*exercise.Outcome, error) {
		switch e.ID {
		case all[1].ID:
			return &exercise.Outcome{Exercise: e, Diffs: []string{"x"}}, nil
		case all[2].ID:
			return nil, errors.New("no lab")
		}
		return &exercise.Outcome{Exercise: e}, nil
	})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	want := "1 of 3 exercises matched their predictions; differed: " + all[1].ID + "; could not run: " + all[2].ID + " ("
	if err == nil || !strings.HasPrefix(last, want) {
		t.Errorf("tally %q (err %v), want it to start %q", last, err, want)
	}
	out.Reset()
	err = runExercises(&out, all, func(e *exercise.Exercise) (*exercise.Outcome, error) { return &exercise.Outcome{Exercise: e}, nil })
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out.String()), "3 of 3 exercises matched their predictions (") {
		t.Errorf("all matched: %q, %v", out.String(), err)
	}
	if got := tally(19, nil, nil, 47100*time.Millisecond); got != "19 of 19 exercises matched their predictions (47.1 s)" {
		t.Errorf("tally: %q", got)
	}
}

// exercise --svg DIR is checked before a minute of exercises runs: exit 2,
// one line, nothing run (no lab, so not even root is asked for).
func TestExerciseSVGDirFirst(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]string{
		"/nonexistent/dir": `--svg "/nonexistent/dir": no such file or directory`,
		file:               "not a directory",
	} {
		old := exercise.SVGDir
		out, errs, code := runCLI(t, "exercise", "1", "--svg", dir)
		exercise.SVGDir = old
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, want) {
			t.Errorf("exercise 1 --svg %s: exit %d, stdout %q, stderr %q; want exit 2, one line with %q", dir, code, out, errs, want)
		}
	}
	if err := checkSVGDir(t.TempDir()); err != nil {
		t.Errorf("a writable directory: %v", err)
	}
}

// lab down's two help texts say the same: --all takes the caller's kept
// labs and dead runs' labs, not other users'; --all-users those too.
func TestLabDownHelpAgrees(t *testing.T) {
	root := newRoot(io.Discard, io.Discard)
	down, _, err := root.Find([]string{"lab", "down"})
	if err != nil {
		t.Fatal(err)
	}
	all := down.Flags().Lookup("all").Usage
	for _, s := range []string{down.Short, all} {
		if !strings.Contains(s, "died") {
			t.Errorf("lab down help %q does not say --all removes dead runs' labs", s)
		}
	}
	if !strings.Contains(all, "another user's") || !strings.Contains(down.Short, "--all-users: everyone's") {
		t.Errorf("lab down help: %q / %q: other users' labs are not named", down.Short, all)
	}
	_, errs, code := runCLI(t, "lab", "down", "--all", "--all-users")
	if code != exitUsage || !strings.Contains(errs, "--all and --all-users") {
		t.Errorf("lab down --all --all-users: exit %d, %q", code, errs)
	}
}
