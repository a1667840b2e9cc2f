package exercise

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/internal/lab"
)

// The sack exercise writes its time-sequence graph: the two resends (red)
// and the SACK blocks (purple) are on it.
func TestSACKGraphSVG(t *testing.T) {
	lab.RequireRoot(t)
	dir := t.TempDir()
	old := SVGDir
	SVGDir = dir
	defer func() { SVGDir = old }()
	o, err := Run(Find("sack"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Matches() {
		t.Fatalf("sack: %v", o.Diffs)
	}
	b, err := os.ReadFile(filepath.Join(dir, "sack.svg"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if n := strings.Count(s, `stroke="red"`); n < 2 {
		t.Errorf("the graph marks %d retransmissions, want 2", n)
	}
	if !strings.Contains(s, `stroke="purple"`) {
		t.Error("the graph shows no SACK block")
	}
}
