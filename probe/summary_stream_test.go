package probe

import (
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/listen"
)

// A scan whose results were streamed (probe --json with --shard or many
// hosts) keeps none in Results; its summary still counts them (it said
// "stateless scan of 0 ports … 0 closed" while 25 closed ports had been
// written).
func TestSummaryCountsStreamedResults(t *testing.T) {
	var s [numStates]int
	s[stateIndex(listen.Closed)] = 25
	s[stateIndex(listen.Open)] = 2
	rep := &Report{Stateless: true, Elapsed: time.Second, streamed: &s}
	got := rep.Summary()
	if !strings.HasPrefix(got, "stateless scan of 27 ports in 1s (27 probes/s): 2 open, 25 closed, 0 filtered;") {
		t.Errorf("summary: %q", got)
	}
}
