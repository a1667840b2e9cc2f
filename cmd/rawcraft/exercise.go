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
	var fast, verbose bool
	var ids []string
	for _, e := range exercise.All() {
		ids = append(ids, e.ID)
	}
	cmd := &cobra.Command{
		Use:   "exercise N|3way|4way|all [--fast]",
		Short: "run one of the articles' exercises on a lab and compare what happens with what the article predicts",
		Long: `exercise runs the transport-layer article's Exercises 1 to 7, and the TCP
article's handshakes as "3way" (opening) and "4way" (closing), on a lab of its
own: the article's programs (the code behind examples/udp_client and the
others) run in Hc and Hs, the S1–S2 cable is pulled and plugged back at the
article's moments, rawcraft records the wire, and the observed outcome is
printed beside the article's prediction. The exit
status is 0 only when they match; otherwise 1, with the difference.

--fast divides the article's delays by ten (5 s between messages becomes
0.5 s, the cable is out from 1.6 s to 3.2 s): all of them run in under two
minutes.

  1  UDP message-oriented delivery      5  TCP loss, timeout and recovery
  2  UDP packet loss                    6  TCP resets
  3  UDP integrity check (checksums)    7  UDP server not running
  4  TCP streaming                      3way, 4way  TCP handshakes
  sockets  every socket kind Linux offers: what it is handed, what the
           kernel writes, who hears the answers (raw(7), packet(7))`,
		Example: `  sudo rawcraft exercise 1 --fast
  sudo rawcraft exercise 5          # the article's own timing: about a minute
  sudo rawcraft exercise all --fast`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var todo []*exercise.Exercise
			if args[0] == "all" {
				todo = exercise.All()
			} else if e := exercise.Find(args[0]); e != nil {
				todo = []*exercise.Exercise{e}
			} else {
				return usagef("exercise %q: one of %s, or all", args[0], strings.Join(ids, ", "))
			}
			if os.Geteuid() != 0 {
				return labErr(lab.ErrPermission)
			}
			out := cmd.OutOrStdout()
			failed := 0
			for _, e := range todo {
				o, err := runExercise(out, e, fast, verbose)
				if err != nil {
					return err
				}
				if !o.Matches() {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d exercises did not match their prediction", failed, len(todo))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&fast, "fast", false, "divide the article's delays by ten")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show the programs' own output as they run")
	return cmd
}

func runExercise(out io.Writer, e *exercise.Exercise, fast, verbose bool) (*exercise.Outcome, error) {
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
	o, err := exercise.Run(e, fast, progress)
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
