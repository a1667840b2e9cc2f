package exercise

import (
	"net/netip"
	"strings"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/probe"
)

// parisPrediction is what the paris exercise predicts.
const parisPrediction = "On two equal-cost paths balanced per flow, a classic UDP traceroute — a new destination port for every probe — sends its probes down both paths: hop 2 and hop 3 show routers of both, and the trace draws links that do not exist (RA to RJ's RB side, RB to RJ's RA side). With --paris every probe carries one flow identifier: all take one path, the routers' counters show it, and the trace is a true path."

// exParis traces the multipath topology classic and Paris style.
func exParis(x *run) error {
	m, err := lab.UpMultipath()
	if err != nil {
		return err
	}
	defer m.Down()
	const probes = 6
	x.see("topology: src — R0 — {RA | RB} — RJ — dst (%v); R0 hashes each flow's addresses, protocol and ports onto one of two paths", lab.MPAddrDst)
	for _, paris := range []bool{false, true} {
		a0, b0, err := m.Forwarded()
		if err != nil {
			return err
		}
		var rep *probe.TraceReport
		if err := m.Do(lab.MPSrc, func() (err error) {
			rep, err = probe.Trace(probe.TraceConfig{Proto: craft.ProtoUDP, Dst: lab.MPAddrDst, Paris: paris, Probes: probes})
			return err
		}); err != nil {
			return err
		}
		a1, b1, err := m.Forwarded()
		if err != nil {
			return err
		}
		viaA, viaB := a1-a0, b1-b0
		mode := "classic (destination port 33434, 33435, … one per probe)"
		if paris {
			mode = "Paris (one source and destination port for the whole run)"
		}
		x.see("%s:", mode)
		for _, h := range rep.Hops {
			x.see("  %d  %s", h.TTL, addrList(h.Responders()))
		}
		x.see("  RA forwarded %d probes, RB %d", viaA, viaB)
		if !rep.Reached || len(rep.Hops) != 4 {
			x.differ("%s: the trace ended after %d hops without reaching %v", mode, len(rep.Hops), lab.MPAddrDst)
			continue
		}
		both := len(rep.Hops[1].Responders()) > 1 || len(rep.Hops[2].Responders()) > 1
		switch {
		case !paris && (viaA == 0 || viaB == 0):
			x.differ("classic: only one path carried probes (RA %d, RB %d)", viaA, viaB)
		case !paris && both:
			x.see("  a classic trace joins every router of hop 2 to every router of hop 3: two of those four links do not exist")
		case paris && viaA != 0 && viaB != 0:
			x.differ("Paris: both paths carried probes (RA %d, RB %d)", viaA, viaB)
		case paris && both:
			x.differ("Paris: a hop answered from two routers")
		}
	}
	x.see("why: routers that balance load per flow hash the first bytes after the IP header, where TCP and UDP keep their ports (ICMP: its checksum). Classic traceroute changes them to tell its probes apart, so each probe is a new flow; Paris traceroute tells them apart by fields the hash ignores — the IP ID, the TCP sequence number, the ICMP sequence number balanced by the data — and sees one real path.")
	return nil
}

func addrList(as []netip.Addr) string {
	if len(as) == 0 {
		return "*"
	}
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
