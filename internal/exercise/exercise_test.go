package exercise

import (
	"fmt"
	"os"
	"testing"

	"github.com/rawcraft/rawcraft/internal/lab"
)

func TestMain(m *testing.M) { os.Exit(lab.RunTests(m)) }

// Every exercise, at --fast speed, observes what the article predicts.
func TestExercisesMatchTheArticles(t *testing.T) {
	lab.RequireRoot(t)
	for _, e := range All() {
		t.Run(e.ID, func(t *testing.T) {
			o, err := Run(e, true, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range o.Observed {
				t.Log(l)
			}
			if !o.Matches() {
				t.Errorf("exercise %s differs from the article: %v", e.ID, o.Diffs)
			}
			if len(o.Observed) == 0 {
				t.Error("nothing observed")
			}
		})
	}
	if left := lab.Labs(); len(left) > 0 {
		// Only this process's lab: other packages' tests run labs of their own.
		if _, ok := left[fmt.Sprintf("ex%d", os.Getpid())]; ok {
			t.Errorf("exercise left lab ex%d behind", os.Getpid())
		}
	}
}
