package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newLabImpairCmd is "lab impair": loss, drops, duplicates, a bottleneck and
// delay on the S1–S2 cable. open finds the lab named by lab's --name.
func newLabImpairCmd(open func() (*lab.Lab, error)) *cobra.Command {
	var (
		dir, rate, flags          string
		loss, dup                 float64
		nth, also, queue          int
		port, sport, minLen, maxL int
		seq                       int64
		delay, jitter, hold       time.Duration
		reorder, corruptN         int
		reorderHold               time.Duration
		clear                     bool
	)
	cmd := &cobra.Command{
		Use:   "impair [--loss PCT] [--drop-nth N [--drop-also M] --match-…] [--dup PCT] [--rate R --queue BYTES] [--delay D [--jitter D]] [--reorder-every N --reorder-hold D] [--corrupt-every N] [--dir to-hs|to-hc|both] | --clear",
		Short: "lose, drop, duplicate, throttle, delay, reorder or corrupt frames on the S1–S2 cable",
		Long: `impair makes the cable between the switches imperfect, live, in one
direction or both (--dir): --loss drops frames at random; --drop-nth drops
the Nth frame that matches --match-seq/--match-port/--match-flags/--min-len/
--max-len, once (and --drop-also the Mth); --dup copies frames; --rate puts a
bottleneck with a queue of --queue bytes. This kernel has no netem: these
are nftables rules (table netdev rawcraft-impair) in S1 and S2 and a tbf
qdisc on the cable's sending end, and they stay until --clear or lab down.
--delay (and --jitter) is a user-space forwarder in this process: it holds
the frames while the command runs (Ctrl-C, or --for D), then the cable is
undelayed again. --reorder-every N holds every Nth frame that matches the
--match-* flags --reorder-hold longer, so that later frames overtake it;
--corrupt-every N flips one bit at the end of every Nth matching frame
(its TCP or UDP checksum then fails, and the receiving kernel drops it);
both are done by the same forwarder, while the command runs. lab status
shows what is set and what each rule has done.`,
		Example: `  sudo rawcraft lab impair --loss 10
  sudo rawcraft lab impair --dir to-hs --drop-nth 5 --match-port 8080 --min-len 53
  sudo rawcraft lab impair --rate 8mbit --queue 32768
  sudo rawcraft lab impair --delay 50ms --jitter 5ms --for 60s
  sudo rawcraft lab impair --dir to-hs --match-port 8080 --min-len 53 --reorder-every 10 --reorder-hold 5ms --for 60s
  sudo rawcraft lab impair --dir to-hs --match-port 8080 --corrupt-every 20 --for 60s
  sudo rawcraft lab impair --clear`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := lab.ParseDir(dir)
			if err != nil {
				return usagef("--dir %q: both, to-hs or to-hc", dir)
			}
			// Each flag's value is checked on its own, in the order of the
			// flags, and a refusal names that flag, its value and the rule.
			given := cmd.Flags().Changed
			if nth < 0 || (nth == 0 && given("drop-nth")) {
				return usagef("--drop-nth %d: frames count from 1 (the first that matches)", nth)
			}
			if also < 0 || (also == 0 && given("drop-also")) {
				return usagef("--drop-also %d: frames count from 1 (the first that matches)", also)
			}
			if also > 0 && nth == 0 {
				return usagef("--drop-also %d: goes with --drop-nth (the first frame to drop)", also)
			}
			if reorder < 0 || (reorder == 0 && given("reorder-every")) {
				return usagef("--reorder-every %d: every Nth frame, N from 1", reorder)
			}
			if corruptN < 0 || (corruptN == 0 && given("corrupt-every")) {
				return usagef("--corrupt-every %d: every Nth frame, N from 1", corruptN)
			}
			if reorderHold < 0 || (reorderHold == 0 && given("reorder-hold")) {
				return usagef("--reorder-hold %v: a duration above 0, at most 10 s (with --delay and --jitter)", reorderHold)
			}
			if delay < 0 || (delay == 0 && given("delay")) {
				return usagef("--delay %v: a duration above 0, at most 10 s (with --jitter and --reorder-hold)", delay)
			}
			if jitter < 0 || (jitter == 0 && given("jitter")) {
				return usagef("--jitter %v: a duration above 0, at most 10 s (with --delay and --reorder-hold)", jitter)
			}
			if hold < 0 || (hold == 0 && given("for")) {
				return usagef("--for %v: a duration above 0 (or leave it out to run until Ctrl-C)", hold)
			}
			if given("queue") && queue < 1600 {
				return usagef("--queue %d: at least 1600 bytes (one full frame)", queue)
			}
			if given("queue") && rate == "" {
				return usagef("--queue %d: goes with --rate (it is the bottleneck's queue)", queue)
			}
			im := lab.Impairment{Dir: d, Loss: loss, Duplicate: dup, DropNth: nth, DropAlso: also, Queue: queue}
			if rate != "" {
				if im.Rate, err = parseRate(rate); err != nil {
					return usagef("--rate %q: a number of bits a second, with k, m or g (8mbit, 500k)", rate)
				}
				if im.Rate < 8000 {
					return usagef("--rate %q: at least 8000 bits a second (8k)", rate)
				}
			}
			m := &im.Drop
			if seq >= 0 {
				if seq > 0xffffffff {
					return usagef("--match-seq %d: a sequence number is 0 to 4294967295", seq)
				}
				m.Seq, m.HasSeq, m.Proto = uint32(seq), true, 6
			}
			for _, p := range []struct {
				name string
				v    int
				max  int
				to   *uint16
			}{{"--match-port", port, 65535, &m.Port}, {"--match-sport", sport, 65535, &m.SrcPort}, {"--min-len", minLen, 65535, &m.MinLen}, {"--max-len", maxL, 65535, &m.MaxLen}} {
				if p.v < 0 || p.v > p.max {
					return usagef("%s %d: 0 to %d", p.name, p.v, p.max)
				}
				*p.to = uint16(p.v)
			}
			if minLen > 0 && maxL > 0 && minLen > maxL {
				return usagef("--min-len %d --max-len %d: the least length is above the most, so nothing would match", minLen, maxL)
			}
			if flags != "" {
				f, err := craft.ParseFlags(flags)
				if err != nil {
					return usagef("--match-flags %q: TCP flag letters (S, A, F, R, P, U, E, C)", flags)
				}
				m.Flags, m.FlagMask, m.Proto = f, f, 6
			}
			if (m.Port != 0 || m.SrcPort != 0) && m.Proto == 0 {
				m.Proto = 6
			}
			fw := lab.Forwarding{Delay: delay, Jitter: jitter, ReorderEvery: reorder, ReorderHold: reorderHold, CorruptEvery: corruptN}
			forwarding := fw != lab.Forwarding{}
			if forwarding && im.DropNth == 0 {
				// The --match-* flags pick the frames to reorder or
				// corrupt; without --drop-nth they are the forwarder's.
				fw.Match, im.Drop = im.Drop, lab.Match{}
			}
			if clear && (im != lab.Impairment{Dir: d} || forwarding) {
				return usagef("--clear removes everything: give it alone")
			}
			if !clear && (im == lab.Impairment{Dir: d}) && !forwarding {
				var set []string
				cmd.Flags().Visit(func(f *pflag.Flag) { set = append(set, "--"+f.Name+" "+f.Value.String()) })
				if len(set) > 0 {
					return usagef("lab impair %s: does nothing; say what to do (--loss, --drop-nth, --dup, --rate, --delay, --reorder-every, --corrupt-every) or --clear", strings.Join(set, " "))
				}
				return usagef("lab impair: say what to do (--loss, --drop-nth, --dup, --rate, --delay, --reorder-every, --corrupt-every) or --clear")
			}
			if !forwarding && im.DropNth == 0 && im.Drop != (lab.Match{}) {
				return usagef("%s: picks the frames for --drop-nth, --reorder-every or --corrupt-every; give one", givenFlags(cmd, "match-seq", "match-port", "match-sport", "match-flags", "min-len", "max-len"))
			}
			if (reorder > 0) != (reorderHold > 0) {
				return usagef("--reorder-every %d --reorder-hold %v: give both, which frames and how long they are held", reorder, reorderHold)
			}
			if delay+jitter+reorderHold > 10*time.Second {
				return usagef("%s: at most 10 s in all", givenFlags(cmd, "delay", "jitter", "reorder-hold"))
			}
			if jitter != 0 && delay == 0 {
				return usagef("--jitter %v: goes with --delay", jitter)
			}
			if hold != 0 && !forwarding {
				return usagef("--for %v: goes with --delay, --reorder-every or --corrupt-every (the other impairments stay until --clear)", hold)
			}
			if os.Geteuid() != 0 {
				return labErr(lab.ErrPermission)
			}
			l, err := open()
			if err != nil {
				return labErr(err)
			}
			w := cmd.OutOrStdout()
			if clear {
				if err := l.ClearImpair(); err != nil {
					return err
				}
				fmt.Fprintln(w, "S1–S2 cable: no impairment")
				return nil
			}
			if (im != lab.Impairment{Dir: d}) {
				if err := l.Impair(im); err != nil {
					if errors.Is(err, lab.ErrImpair) {
						return usagef("%v", err)
					}
					return err
				}
			}
			if !forwarding {
				printImpairments(w, l)
				return nil
			}
			// The signals are caught before the forwarder's rule is made:
			// one that comes while it is made waits for it, then ends it.
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, lab.Signals...)
			defer signal.Stop(sig)
			dl, err := l.StartForwarder(d, fw)
			if errors.Is(err, lab.ErrImpair) {
				return usagef("%v", err)
			}
			if err != nil {
				return err
			}
			printImpairments(w, l)
			fmt.Fprintln(w, "the forwarder lasts while this command runs: Ctrl-C ends it")
			var until <-chan time.Time
			if hold > 0 {
				until = time.After(hold)
			}
			select {
			case <-sig:
			case <-until:
			}
			st := dl.Stats()
			err = dl.Stop()
			fmt.Fprintf(w, "forwarder ended: %d frames forwarded (%d held back to be overtaken, %d corrupted), %d dropped at its full queue, at most %v late\n", st.Forwarded, st.Reordered, st.Corrupted, st.Dropped, st.Late.Round(time.Microsecond))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "both", "direction: both, to-hs (Hc → Hs) or to-hc (Hs → Hc)")
	f.Var(percentValue{&loss}, "loss", "random loss, percent of frames: 0 to 100 in steps of 0.01, with or without % (10, 10%, 2.5%)")
	f.IntVar(&nth, "drop-nth", 0, "drop the Nth frame that matches --match-*, once (1 = the first)")
	f.IntVar(&also, "drop-also", 0, "and the Mth one too, once (two holes, for SACK)")
	f.Int64Var(&seq, "match-seq", -1, "match: TCP sequence number")
	f.IntVar(&port, "match-port", 0, "match: destination port (TCP unless --match-flags/--match-seq say so anyway)")
	f.IntVar(&sport, "match-sport", 0, "match: source port")
	f.StringVar(&flags, "match-flags", "", "match: these TCP flags set (letters: S A F R P U)")
	f.IntVar(&minLen, "min-len", 0, "match: IPv4 total length at least N bytes (53 = a Linux data segment with timestamps)")
	f.IntVar(&maxL, "max-len", 0, "match: IPv4 total length at most N bytes")
	f.Var(percentValue{&dup}, "dup", "duplicate, percent of frames: 0 to 100, with or without % (50, 50%)")
	f.StringVar(&rate, "rate", "", "bottleneck in bit/s (8mbit, 500k)")
	f.IntVar(&queue, "queue", 0, "bottleneck queue in bytes (default 65536)")
	f.DurationVar(&delay, "delay", 0, "one-way delay (a forwarder in this process; lasts while it runs)")
	f.DurationVar(&jitter, "jitter", 0, "extra random delay, up to D (frames keep their order)")
	f.DurationVar(&hold, "for", 0, "with --delay, --reorder-every or --corrupt-every: end after D instead of at Ctrl-C")
	f.IntVar(&reorder, "reorder-every", 0, "hold every Nth frame matching --match-* back by --reorder-hold: later ones overtake it")
	f.DurationVar(&reorderHold, "reorder-hold", 0, "how much longer a reordered frame is held")
	f.IntVar(&corruptN, "corrupt-every", 0, "flip one bit of every Nth frame matching --match-* (its checksum fails)")
	f.BoolVar(&clear, "clear", false, "remove every impairment")
	return cmd
}

// givenFlags is the named flags the user gave, as typed: "--delay 11s
// --jitter 1s".
func givenFlags(cmd *cobra.Command, names ...string) string {
	var out []string
	for _, n := range names {
		if f := cmd.Flags().Lookup(n); f != nil && f.Changed {
			out = append(out, "--"+n+" "+f.Value.String())
		}
	}
	return strings.Join(out, " ")
}

func parseRate(s string) (uint64, error) {
	s = strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(s), "bit"), "bps"))
	mul := uint64(1)
	switch {
	case strings.HasSuffix(s, "k"):
		mul, s = 1e3, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "m"):
		mul, s = 1e6, strings.TrimSuffix(s, "m")
	case strings.HasSuffix(s, "g"):
		mul, s = 1e9, strings.TrimSuffix(s, "g")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || v*float64(mul) > 1e12 {
		return 0, fmt.Errorf("rate %q", s)
	}
	return uint64(v * float64(mul)), nil
}

// printImpairments writes what is set on the cable, for lab impair and lab
// status.
func printImpairments(w io.Writer, l *lab.Lab) {
	st, err := l.ImpairStatus()
	if err != nil {
		fmt.Fprintf(w, "  S1–S2 impairments: cannot read them: %v\n", err)
		return
	}
	if len(st) == 0 {
		fmt.Fprintln(w, "  S1–S2 impairments: none")
		return
	}
	fmt.Fprintln(w, "  S1–S2 impairments (lab impair --clear removes them):")
	for _, s := range st {
		fmt.Fprintln(w, "    "+s)
	}
}
