package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
		// A count below 1 is named as typed, never as an ordinal ("-3th").
		{[]string{"lab", "impair", "--drop-nth", "-3"}, "rawcraft: --drop-nth -3: frames count from 1 (the first that matches)\n"},
		{[]string{"lab", "impair", "--drop-nth", "2", "--drop-also", "-1"}, "rawcraft: --drop-also -1: frames count from 1 (the first that matches)\n"},
		// Each refusal names the flag given, its value and the rule: not a
		// flag that was not given, not the library's words, and a wait of
		// 0s is refused rather than run until killed.
		{[]string{"lab", "impair", "--drop-nth", "0"}, "rawcraft: --drop-nth 0: frames count from 1 (the first that matches)\n"},
		{[]string{"lab", "impair", "--corrupt-every", "-1"}, "rawcraft: --corrupt-every -1: every Nth frame, N from 1\n"},
		{[]string{"lab", "impair", "--queue", "10", "--rate", "1mbit"}, "rawcraft: --queue 10: at least 1600 bytes (one full frame)\n"},
		{[]string{"lab", "impair", "--queue", "2000"}, "rawcraft: --queue 2000: goes with --rate (it is the bottleneck's queue)\n"},
		{[]string{"lab", "impair", "--rate", "1k"}, "rawcraft: --rate \"1k\": at least 8000 bits a second (8k)\n"},
		{[]string{"lab", "impair", "--delay", "20ms", "--for", "0s"}, "rawcraft: --for 0s: a duration above 0 (or leave it out to run until Ctrl-C)\n"},
		{[]string{"lab", "impair", "--delay", "0s"}, "rawcraft: --delay 0s: a duration above 0, at most 10 s (with --jitter and --reorder-hold)\n"},
		{[]string{"lab", "impair", "--delay", "5s", "--reorder-every", "2", "--reorder-hold", "6s"}, "rawcraft: --delay 5s --reorder-hold 6s: at most 10 s in all\n"},
		{[]string{"lab", "impair", "--drop-also", "2"}, "rawcraft: --drop-also 2: goes with --drop-nth (the first frame to drop)\n"},
		{[]string{"lab", "impair", "--match-port", "80", "--min-len", "53"}, "rawcraft: --match-port 80 --min-len 53: picks the frames for --drop-nth, --reorder-every or --corrupt-every; give one\n"},
		{[]string{"lab", "impair", "--loss", "0"}, "rawcraft: lab impair --loss 0: does nothing; say what to do (--loss, --drop-nth, --dup, --rate, --delay, --reorder-every, --corrupt-every) or --clear\n"},
	} {
		_, errs, code := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%q: exit %d, %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
	}
}

// One limit, one rule: --size too large to parse, too large for any IP
// packet, and --data-file too long quote the same words ("0 to 65507" and
// "at most 65535" disagreed), and the exact check at build time names the
// same UDP figure.
func TestPayloadLimitOneRule(t *testing.T) {
	const rule = "0 to 65535 bytes, less the headers' share: UDP over IPv4 carries at most 65507"
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, make([]byte, 70000), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"build", "udp", "--dst", "198.18.1.1", "--size", "200000"}, `rawcraft: --size "200000": the payload size is ` + rule + " (decimal or 0x-hex)\n"},
		{[]string{"build", "udp", "--dst", "198.18.1.1", "--size", "70000"}, "rawcraft: --size 70000: " + rule + "\n"},
		{[]string{"build", "udp", "--dst", "198.18.1.1", "--data-file", big}, `rawcraft: --data-file "` + big + `": more than 65535 bytes; the payload is ` + rule + "\n"},
		{[]string{"build", "udp", "--dst", "198.18.1.1", "--size", "65508"}, "rawcraft: payload of 65508 bytes: an IPv4 UDP datagram carries at most 65507 bytes of data (65535 − 20 − 8); fragmenting does not raise that limit\n"},
	} {
		_, errs, code := runCLI(t, c.args...)
		if code != exitUsage || errs != c.want {
			t.Errorf("%q: exit %d,\n%q, want\n%q", c.args, code, errs, c.want)
		}
	}
}

// A missing or extra argument is one line of rawcraft's words naming the
// command and what it needs, exit 2: never cobra's "requires at least 1
// arg(s), only received 0" or "accepts 1 arg(s)".
func TestArgumentRules(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"build"}, "rawcraft: build: give PROTO: tcp, udp, icmp or arp\n"},
		{[]string{"explain"}, "rawcraft: explain: give PROTO: tcp, udp, icmp or arp\n"},
		{[]string{"read"}, "rawcraft: read: give FILE, a capture or hex dump (- reads standard input)\n"},
		{[]string{"read", "a", "b"}, `rawcraft: read: FILE, a capture or hex dump (- reads standard input); "b" is one argument too many` + "\n"},
		{[]string{"probe"}, "rawcraft: probe: give the protocol to probe with: tcp, udp or icmp\n"},
		{[]string{"exercise"}, "rawcraft: exercise: give an exercise: its number or name, or all (rawcraft exercise --help lists them)\n"},
		{[]string{"replay"}, "rawcraft: replay: give FILE, the capture to replay (- reads standard input)\n"},
		{[]string{"checksum", "a", "b"}, `rawcraft: checksum: DATA, one argument (quote text with spaces); "b" is one argument too many` + "\n"},
		{[]string{"lab", "status", "x"}, `rawcraft: lab status takes no arguments, only flags: "x" is not one` + "\n"},
		{[]string{"version", "x"}, `rawcraft: version takes no arguments, only flags: "x" is not one` + "\n"},
	} {
		out, errs, code := runCLI(t, c.args...)
		if code != exitUsage || errs != c.want || out != "" {
			t.Errorf("%q: exit %d, stdout %q,\n%q, want exit 2 and\n%q", c.args, code, out, errs, c.want)
		}
	}
}

// A flag a command cannot do without is asked for in rawcraft's words, as
// trace, probe and send ask for --dst: never cobra's `required flag(s)
// "dst" not set`. No command marks a flag required with cobra, so none
// can fall back to cobra's wording.
func TestRequiredFlagsInRawcraftWords(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"handshake", "--dport", "9999"}, "rawcraft: handshake needs --dst: the server: an IPv4 address or a host name, such as 198.18.1.1 or localhost\n"},
		{[]string{"handshake", "--dst", "198.18.1.1"}, "rawcraft: handshake needs --dport: the server's port, such as 9999\n"},
		{[]string{"reset"}, "rawcraft: reset needs --dst: the server: an IPv4 address or a host name, such as 198.18.1.1\n"},
		{[]string{"reset", "--dst", "198.18.1.1"}, "rawcraft: reset needs --dport: the server's port, such as 9999\n"},
		{[]string{"serve"}, "rawcraft: serve needs --port: the port to accept on, such as 8080\n"},
		{[]string{"trace"}, "rawcraft: trace needs --dst: an IPv4 or IPv6 address or a host name, such as 198.18.2.2 or 2001:2:0:2::1\n"},
	} {
		_, errs, code := runCLI(t, c.args...)
		if code != exitUsage || errs != c.want {
			t.Errorf("%q: exit %d,\n%q, want\n%q", c.args, code, errs, c.want)
		}
	}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if len(f.Annotations[cobra.BashCompOneRequiredFlag]) > 0 {
				t.Errorf("%s --%s is marked required with cobra: check it in RunE with needFlags", c.CommandPath(), f.Name)
			}
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRoot(io.Discard, io.Discard))
}

// A bad value inside --quote is named in rawcraft's words (not pflag's
// `invalid argument "99999" for "--dport" flag`), and is found whatever
// --type says: the quote's own flags are checked before whether the type
// quotes at all.
func TestQuoteValuesInRawcraftWords(t *testing.T) {
	const want = `rawcraft: --quote "udp --dport 99999": --dport "99999": a port is 0 to 65535 (decimal or 0x-hex)` + "\n"
	for _, args := range [][]string{
		{"explain", "icmp", "--type", "3", "--code", "3", "--quote", "udp --dport 99999"},
		{"explain", "icmp", "--quote", "udp --dport 99999"},
		{"build", "icmp", "--dst", "2001:2::1", "--quote", "udp --dport 99999"},
	} {
		_, errs, code := runCLI(t, args...)
		if code != exitUsage || errs != want {
			t.Errorf("%q: exit %d,\n%q, want\n%q", args, code, errs, want)
		}
	}
	_, errs, code := runCLI(t, "explain", "icmp", "--quote", "udp --dport 9999")
	if want := "rawcraft: --quote: ICMP type 8 (echo request) is not an error and quotes nothing\n"; code != exitUsage || errs != want {
		t.Errorf("a good quote on an echo request: exit %d, %q, want %q", code, errs, want)
	}
}
