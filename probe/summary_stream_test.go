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

// The summary counts every state a result can have, so its counts add up
// to the probes: an ACK scan's "unfiltered" (nmap's "Not shown: N
// unfiltered ports") and a rate-limited "unresolved" were left out.
func TestSummaryCountsEveryState(t *testing.T) {
	var rep Report
	for i, st := range listen.States {
		for range i + 1 {
			rep.Results = append(rep.Results, Result{State: st, Reply: listen.Reply{Reason: listen.NoResponse}})
		}
	}
	want := "36 probes: 1 open, 2 closed, 3 filtered, 4 unfiltered, 5 open|filtered, 6 unresolved, 7 up, 8 unreachable; 36 unanswered (100% loss); the kernel captured 0 frames and dropped 0"
	if got := rep.Summary(); got != want {
		t.Errorf("summary\n%q, want\n%q", got, want)
	}
	var s [numStates]int
	s[stateIndex(listen.Unfiltered)] = 4
	s[stateIndex(listen.Filtered)] = 1
	st := &Report{Stateless: true, Elapsed: time.Second, streamed: &s}
	if got := st.Summary(); !strings.HasPrefix(got, "stateless scan of 5 ports in 1s (5 probes/s): 0 open, 0 closed, 1 filtered, 4 unfiltered;") {
		t.Errorf("stateless summary: %q", got)
	}
}
