package main

import (
	"strings"
	"testing"
)

// lab impair takes a percentage as people write one; what is not a
// percentage is refused with the rule, not with strconv's words.
func TestPercentValue(t *testing.T) {
	for in, want := range map[string]float64{"10": 10, "10%": 10, "2.5%": 2.5, " 0.01 % ": 0.01, "100%": 100} {
		var f float64
		if err := (percentValue{&f}).Set(in); err != nil || f != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, f, err, want)
		}
	}
	for _, in := range []string{"10%%", "%", "x", "-1", "101", "NaN", "1e400", ""} {
		var f float64
		err := (percentValue{&f}).Set(in)
		if err == nil || strings.Contains(err.Error(), "strconv") {
			t.Errorf("Set(%q): %v; want the rule", in, err)
		}
	}
	// Through the CLI: the flag parses; what stops the run is the lab's
	// absence, not the percent sign.
	_, errs, code := runCLI(t, "lab", "impair", "--name", "nosuchlab", "--loss", "10%")
	if strings.Contains(errs, "--loss") || code == exitOK {
		t.Errorf("lab impair --loss 10%%: exit %d, %q", code, errs)
	}
	_, errs, code = runCLI(t, "lab", "impair", "--loss", "ten")
	if code != exitUsage || !strings.Contains(errs, `--loss "ten": a percentage is 0 to 100`) {
		t.Errorf("lab impair --loss ten: exit %d, %q", code, errs)
	}
}

// pflag's own number and duration types speak Go (strconv.ParseInt: …);
// flagError puts the rule in their place.
func TestPflagErrorsPlain(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lab", "impair", "--drop-nth", "x"}, `--drop-nth "x": a whole number is expected`},
		{[]string{"lab", "impair", "--match-seq", "99999999999999999999999"}, `out of range`},
		{[]string{"lab", "impair", "--delay", "5"}, `--delay "5": a duration is a number with a unit`},
	} {
		_, errs, code := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(errs, c.want) || strings.Contains(errs, "strconv") || strings.Contains(errs, "time: ") {
			t.Errorf("%q: exit %d, %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
	}
}

// Values that parse but cannot mean anything are refused before anything
// changes: a length range that matches nothing, a negative --for (which ran
// until killed).
func TestImpairImpossibleValues(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lab", "impair", "--min-len", "100", "--max-len", "50", "--drop-nth", "1"}, "--min-len 100 --max-len 50: the least length is above the most"},
		{[]string{"lab", "impair", "--for", "-1s", "--delay", "5ms"}, "--for -1s: a duration above 0"},
	} {
		_, errs, code := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%q: exit %d, %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
	}
}
