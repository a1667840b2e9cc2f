package main

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/rawcraft/rawcraft/craft"
)

// packetRange is one range of --packet, numbered from 1; hi 0 is open.
type packetRange struct{ lo, hi int }

func parsePackets(s string) ([]packetRange, error) {
	if s == "" {
		return nil, nil
	}
	var rs []packetRange
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 1 {
			return nil, usagef("--packet %q: %q is not a packet number (1, 2, …) or range (2-5, 7-)", s, part)
		}
		r := packetRange{a, a}
		if isRange {
			r.hi = 0
			if hi != "" {
				b, err := strconv.Atoi(hi)
				if err != nil || b < a {
					return nil, usagef("--packet %q: %q is not a range: its end is a number not below its start", s, part)
				}
				r.hi = b
			}
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func inRanges(rs []packetRange, n int) bool {
	if rs == nil {
		return true
	}
	for _, r := range rs {
		if n >= r.lo && (r.hi == 0 || n <= r.hi) {
			return true
		}
	}
	return false
}

// readFilter holds the parsed filters of read.
type readFilter struct {
	ranges []packetRange
	proto  craft.Layer
	host   netip.Addr
	port   int
}

func (o *readOpts) filter() (readFilter, error) {
	var f readFilter
	var err error
	if f.ranges, err = parsePackets(o.packets); err != nil {
		return f, err
	}
	switch o.proto {
	case "":
	case "tcp":
		f.proto = craft.LayerTCP
	case "udp":
		f.proto = craft.LayerUDP
	case "icmp":
		f.proto = craft.LayerICMP | craft.LayerICMPv6 // either family's
	case "arp":
		f.proto = craft.LayerARP
	default:
		return f, usagef("--proto %q: rawcraft decodes tcp, udp, icmp and arp", o.proto)
	}
	if o.host != "" {
		a, err := netip.ParseAddr(o.host)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			return f, usagef("--host %q: not an IPv4 or IPv6 address", o.host)
		}
		f.host = a
	}
	if o.port < -1 || o.port > 65535 {
		return f, usagef("--port %d: a port is 0 to 65535", o.port)
	}
	f.port = o.port
	switch o.link {
	case "", "ether", "raw":
	default:
		return f, usagef("--link %q: ether or raw", o.link)
	}
	return f, nil
}
