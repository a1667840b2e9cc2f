package probe

import (
	"fmt"
	"time"

	"github.com/rawcraft/rawcraft/listen"
)

// resolveRateLimit handles a UDP run whose host answered some ports with
// ICMP port unreachable but not others. A host sends ICMP errors at a
// limited rate — Linux at most one a second to each destination
// (net.ipv4.icmp_ratelimit) and 1000 a second in all, in bursts of 50
// (icmp_msgs_per_sec, icmp_msgs_burst), RFC 1812 §4.3.2.8 — so a closed port
// can be silent only because its answer was swallowed. As nmap does, when
// the answers came at a steady rate well below the probe rate, the silent
// ports are probed again, slower than the host answers, round after round,
// until a whole round brings no new answer (the rest are silent for real:
// open|filtered) or the budget runs out (the rest are unresolved, reason
// icmp-rate-limited — never open|filtered).
func (cfg *prober) resolveRateLimit(rep *Report, attempt int, send func(i, attempt int) error, drain func(time.Time) error) error {
	res := rep.Results
	if len(cfg.unreachAt) < 6 {
		// A limit that bites lets its burst through first — 6 answers to
		// one destination, 50 in all, on Linux — so fewer answers than that
		// mean it never bit: the silent ports are silent for real.
		return nil
	}
	// The rate the host answers at once its burst is spent: Linux's token
	// buckets let a burst through (6 to one destination, 50 in all) and
	// then hold a steady rate. Too few answers after the burst to measure:
	// assume the slowest default limit, one a second.
	burst := min(50, len(cfg.unreachAt)/2)
	steady := cfg.unreachAt[burst:]
	answerRate := 1.0
	if len(steady) >= 2 {
		answerRate = float64(len(steady)-1) / max(steady[len(steady)-1].Sub(steady[0]).Seconds(), 1e-3)
	}
	probeRate := float64(cfg.sent) / max(cfg.lastS.Sub(cfg.firstS).Seconds(), 1e-3)
	if len(cfg.unreachAt) == cfg.sent-len(cfg.silent()) && probeRate < 2*answerRate {
		return nil // the answers kept up with the probes: silence means silence
	}
	budget := cfg.paceBudget
	if budget == 0 {
		budget = 30 * time.Second
	}
	// Slower than the host answers, by a quarter; never more than a second
	// and a bit apart (Linux's per-destination limit is one a second).
	interval := min(max(time.Duration(1.25/answerRate*float64(time.Second)), time.Millisecond), 1200*time.Millisecond)
	deadline := time.Now().Add(budget)
	cfg.paced = true
	silent := cfg.silent
	retried := silent()
	left := retried
	unresolved := false
	rounds := 0
	const slowest = 1200 * time.Millisecond // below Linux's default one a second to each destination
	for len(left) > 0 {
		rounds++
		for _, i := range left {
			if time.Now().After(deadline) {
				unresolved = true
				break
			}
			if err := send(i, attempt); err != nil {
				return err
			}
			if err := drain(time.Now().Add(interval)); err != nil {
				return err
			}
		}
		attempt++
		if err := drain(time.Now().Add(cfg.timeout)); err != nil {
			return err
		}
		now := silent()
		if unresolved {
			left = now
			break
		}
		if len(now) == len(left) {
			// Nothing new: at the slowest pace that settles it (silent for
			// real: open|filtered); faster, the limit may have swallowed
			// these answers too, so slow down and ask again.
			if interval >= slowest {
				left = nil
				break
			}
			interval = min(4*interval, slowest)
		}
		left = now
		if len(left) > 0 && time.Now().After(deadline) {
			unresolved = true
			break
		}
	}
	for _, i := range left {
		res[i].Reply.Reason = listen.ICMPRateLimited
	}
	closed := 0
	for _, i := range retried {
		if res[i].Reply.Reason == listen.ICMPPortUnreachable && res[i].Reply.FromTarget(&res[i].Probe) {
			closed++ // only the target's own port unreachable closes a port
		}
	}
	note := fmt.Sprintf("%v answered with ICMP port unreachable at about %.0f a second while the probes went out at %.0f a second: an ICMP rate limit may have swallowed answers. The %d silent ports were probed again, at last one every %v, in %d round(s): %d answered (closed)",
		cfg.host, answerRate, probeRate, len(retried), interval.Round(time.Millisecond), rounds, closed)
	if len(left) > 0 {
		note += fmt.Sprintf(", %d were still unanswered when the %v budget ran out: unresolved, not open|filtered (raise --rate-limit-budget, or lower --rate)", len(left), budget)
	} else {
		note += fmt.Sprintf(", %d stayed silent below the limit: open|filtered", len(retried)-closed)
	}
	rep.Notes = append(rep.Notes, note+".")
	return nil
}

// silent lists the probes nothing has answered yet.
func (cfg *prober) silent() []int {
	var s []int
	for i := range cfg.res {
		if cfg.res[i].Reply.Reason == listen.NoResponse {
			s = append(s, i)
		}
	}
	return s
}
