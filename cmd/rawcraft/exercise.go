package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rawcraft/rawcraft/internal/exercise"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/spf13/cobra"
)

func newExerciseCmd() *cobra.Command {
	var fast, verbose, quiet bool
	var ids []string
	for _, e := range exercise.All() {
		ids = append(ids, e.ID)
	}
	cmd := &cobra.Command{
		Use:   "exercise ID|all [--fast] [--svg DIR]",
		Short: "run one of the articles' exercises on a lab and compare what happens with what the article predicts",
		Long: `exercise runs an experiment with a prediction on a lab of its own: the
transport-layer article's Exercises 1 to 7, the TCP article's handshakes and
its exercises on windows, MSS, slow start, fast retransmit and SACK, traceroute
on load-balanced paths, and the socket kinds themselves. The programs run in Hc
and Hs, the S1–S2 cable is pulled, delayed or made lossy at the right
moments, rawcraft records the wire, and the observed outcome is printed beside
the prediction (the article's, or the RFCs' and man pages'). The exit status
is 0 only when they match; otherwise 1, with the difference.

--fast divides the article's delays by ten (5 s between messages becomes
0.5 s, the cable is out from 1.6 s to 3.2 s): all of them run in about a
minute. --svg DIR writes the TCP exercises' time-sequence graphs there.

` + exerciseList(),
		Example: `  sudo rawcraft exercise 1 --fast
  sudo rawcraft exercise fastretransmit --svg .   # fastretransmit.svg: the time-sequence graph
  sudo rawcraft exercise 5          # the article's own timing: about a minute
  sudo rawcraft exercise all --fast`,
		Args: argsRule(1, 1, "an exercise: its number or name, or all (rawcraft exercise --help lists them)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var todo []*exercise.Exercise
			if args[0] == "all" {
				todo = exercise.All()
			} else if e := exercise.Find(args[0]); e != nil {
				todo = []*exercise.Exercise{e}
			} else {
				return usagef("exercise %q: one of %s, or all", args[0], strings.Join(ids, ", "))
			}
			if err := checkSVGDir(exercise.SVGDir); err != nil {
				return err
			}
			if os.Geteuid() != 0 {
				return labErr(lab.ErrPermission)
			}
			errw := cmd.ErrOrStderr()
			return runExercises(cmd.OutOrStdout(), todo, func(e *exercise.Exercise) (*exercise.Outcome, error) {
				return runExercise(cmd.OutOrStdout(), errw, e, fast, verbose, quiet)
			})
		},
	}
	cmd.Flags().BoolVar(&fast, "fast", false, "divide the article's delays by ten")
	cmd.Flags().StringVar(&exercise.SVGDir, "svg", exercise.SVGDir, "write the TCP exercises' time-sequence graphs (ID.svg) into this directory (checked before anything runs)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show the programs' own output as they run")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no live timeline on the terminal while the exercise runs")
	return cmd
}

// runExercise runs one exercise and prints its prediction, observation and
// verdict on out. While it runs, its timeline — each event as it happens —
// goes to errw when errw is a terminal and quiet is not set; never to a pipe
// or a file.
func runExercise(out, errw io.Writer, e *exercise.Exercise, fast, verbose, quiet bool) (*exercise.Outcome, error) {
	fmt.Fprintf(out, "Exercise %s — %s\n", e.ID, e.Title)
	if e.PredictedBy == "" {
		fmt.Fprintf(out, "  The article predicts: %s\n", e.Prediction)
	} else {
		fmt.Fprintf(out, "  Predicted by %s: %s\n", e.PredictedBy, e.Prediction)
	}
	var progress io.Writer
	if verbose {
		progress = out
	}
	opts := exercise.Options{Fast: fast, Progress: progress}
	if !quiet && isTerminal(errw) {
		opts.OnEvent = liveTimeline(errw)
	}
	o, err := exercise.RunWith(e, opts)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "  Observed (%.1f s):\n", o.Took.Seconds())
	for _, l := range o.Observed {
		fmt.Fprintf(out, "    %s\n", l)
	}
	if o.Matches() {
		fmt.Fprintln(out, "  ✓ matches the prediction")
	} else {
		fmt.Fprintln(out, "  ✗ differs from the prediction:")
		for _, d := range o.Diffs {
			fmt.Fprintf(out, "    - %s\n", d)
		}
	}
	fmt.Fprintln(out)
	return o, nil
}

// exerciseList is the table of exercises for exercise's help.
func exerciseList() string {
	var b strings.Builder
	for _, e := range exercise.All() {
		fmt.Fprintf(&b, "  %-15s %s\n", e.ID, e.Title)
	}
	return strings.TrimRight(b.String(), "\n")
}
