package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// plainRule says what a flag of one of pflag's own types takes, for a value
// it refused: pflag's error is strconv's ("strconv.ParseFloat: parsing
// "10%": invalid syntax"), which names Go, not the rule.
func plainRule(f *pflag.Flag, err error) string {
	var ne *strconv.NumError
	rng := errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange)
	switch t := f.Value.Type(); {
	case rng:
		return "out of range for this flag"
	case t == "float64" || t == "float32":
		return "a number is expected, like 10 or 2.5"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		return "a whole number is expected, like 10"
	case t == "bool":
		return "true or false is expected (or the flag alone)"
	case t == "duration":
		return "a duration is a number with a unit, like 500ms, 2s or 1m"
	}
	return goInternals.Replace(err.Error())
}

// goInternals strips what names Go's packages from a message that must be
// read by a user.
var goInternals = strings.NewReplacer("strconv.ParseFloat: ", "", "strconv.ParseInt: ", "", "strconv.ParseUint: ", "", "strconv.Atoi: ", "")

// percentValue is a percentage 0 to 100, written with or without "%":
// 10, 10% and 2.5% (lab impair --loss and --dup).
type percentValue struct{ p *float64 }

func (v percentValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || f < 0 || f > 100 || f != f {
		return fmt.Errorf("a percentage is 0 to 100, like 10, 10%% or 2.5%%")
	}
	*v.p = f
	return nil
}
func (v percentValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatFloat(*v.p, 'f', -1, 64)
}
func (v percentValue) Type() string { return "PCT" }

// argsRule checks a command's arguments, min to max of them (max < 0: no
// limit), and says what it needs in one line of rawcraft's words, exit 2:
// cobra's own validators say "requires at least 1 arg(s), only received 0".
// what names the arguments: "PROTO: tcp, udp, icmp or arp".
func argsRule(min, max int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		name := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ") // "lab up"
		switch {
		case len(args) < min:
			return usagef("%s: give %s", name, what)
		case max == 0 && len(args) > 0:
			return usagef("%s takes no arguments, only flags: %q is not one", name, args[0])
		case max >= 0 && len(args) > max:
			return usagef("%s: %s; %q is one argument too many", name, what, args[max])
		}
		return nil
	}
}

// noArgs is argsRule for a command that takes flags only.
var noArgs = argsRule(0, 0, "")

// needFlags refuses a run without a flag it cannot do without, in
// rawcraft's words and in the order given ("handshake needs --dst: the
// server: …"), as trace, probe and send say it; pairs is name, what it
// is. cobra's MarkFlagRequired would say `required flag(s) "dst" not set`.
func needFlags(cmd *cobra.Command, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if !cmd.Flags().Changed(pairs[i]) {
			return usagef("%s needs --%s: %s", cmd.Name(), pairs[i], pairs[i+1])
		}
	}
	return nil
}
