package probe

import (
	"net/netip"

	"github.com/rawcraft/rawcraft/craft"
)

// is6 says whether a is an IPv6 address proper (not IPv4-mapped).
func is6(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }

// packetFor returns a copy of c.Packet fit for dst's family, so that one
// run may hold IPv4 and IPv6 targets: an IPv4 shape becomes an IPv6 one
// and back — TOS ↔ traffic class (both DSCP and ECN, RFC 2474), TTL ↔ hop
// limit, an ICMP echo request ↔ an ICMPv6 echo request (RFC 4443 §4.1), the
// transport layer and payload as they are. What has no twin in the other
// family (IPv4 options, a forced IPv4 length or checksum, fragment fields,
// IPv6 extension headers, other ICMP types) is a config error naming it.
func (c *Config) packetFor(dst netip.Addr) (craft.Packet, error) {
	p := c.Packet.Clone()
	switch {
	case is6(dst) && p.IPv4 != nil:
		v4 := p.IPv4
		switch {
		case len(v4.Options) > 0:
			return p, configErr("target %v is IPv6: IPv4 options have no IPv6 twin (use extension headers)", dst)
		case v4.IHL.IsSet() || v4.TotalLen.IsSet() || v4.Checksum.IsSet() || v4.Version.IsSet() || v4.Protocol.IsSet():
			return p, configErr("target %v is IPv6: a forced IPv4 header field has no IPv6 twin", dst)
		case v4.FragOff != 0 || v4.Flags&craft.FlagMF != 0:
			return p, configErr("target %v is IPv6: IPv4 fragment fields have no IPv6 twin (IPv6 fragments carry a Fragment header)", dst)
		}
		ip6 := &craft.IPv6{TrafficClass: v4.TOS}
		if ttl, ok := v4.TTL.Get(); ok {
			ip6.HopLimit = craft.Set(ttl)
		}
		if v4.Src.IsValid() && !v4.Src.IsUnspecified() {
			return p, configErr("target %v is IPv6, the source %v IPv4", dst, v4.Src)
		}
		p.IPv4, p.IPv6 = nil, ip6
		if p.ICMP != nil {
			if p.ICMP.Type != craft.ICMPEcho {
				return p, configErr("target %v is IPv6: ICMP type %d has no ICMPv6 twin here; only an echo request does", dst, p.ICMP.Type)
			}
			p.ICMPv6 = &craft.ICMPv6{Type: craft.ICMPv6EchoRequest, Rest: p.ICMP.Rest}
			p.ICMP = nil
		}
	case dst.Is4() && p.IPv6 != nil:
		v6 := p.IPv6
		switch {
		case len(p.IPv6Ext) > 0:
			return p, configErr("target %v is IPv4: IPv6 extension headers have no IPv4 twin", dst)
		case v6.PayloadLen.IsSet() || v6.NextHeader.IsSet() || v6.Version.IsSet() || v6.FlowLabel != 0:
			return p, configErr("target %v is IPv4: a forced IPv6 header field (payload length, next header, version, flow label) has no IPv4 twin", dst)
		case v6.Src.IsValid() && !v6.Src.IsUnspecified():
			return p, configErr("target %v is IPv4, the source %v IPv6", dst, v6.Src)
		}
		ip4 := &craft.IPv4{TOS: v6.TrafficClass}
		if hl, ok := v6.HopLimit.Get(); ok {
			ip4.TTL = craft.Set(hl)
		}
		p.IPv4, p.IPv6 = ip4, nil
		if p.ICMPv6 != nil {
			if p.ICMPv6.Type != craft.ICMPv6EchoRequest {
				return p, configErr("target %v is IPv4: ICMPv6 type %d has no ICMP twin here; only an echo request does", dst, p.ICMPv6.Type)
			}
			p.ICMP = &craft.ICMP{Type: craft.ICMPEcho, Rest: p.ICMPv6.Rest}
			p.ICMPv6 = nil
		}
	}
	return p, nil
}

// echoRest is the word of p's echo request that holds its identifier and
// sequence number, ICMP's or ICMPv6's; nil when p is not an echo.
func echoRest(p *craft.Packet) *uint32 {
	switch {
	case p.ICMP != nil:
		return &p.ICMP.Rest
	case p.ICMPv6 != nil:
		return &p.ICMPv6.Rest
	}
	return nil
}

// allIPv4 says whether every destination of the run is IPv4: a stateless
// scan's cookies are IPv4's.
func (c *Config) allIPv4() bool {
	if len(c.Targets) == 0 {
		return c.Dst.Is4()
	}
	for _, t := range c.Targets {
		if !t.Addr().Is4() {
			return false
		}
	}
	return true
}
