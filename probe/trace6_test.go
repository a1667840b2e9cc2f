package probe

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
)

// An IPv6 trace that cannot be sent is refused with ErrConfig before any
// socket is opened (nothing leaves, no privilege is needed to be told), in
// IPv6's words: hop limit, not TTL.
func TestTrace6ConfigRefused(t *testing.T) {
	hf := netip.MustParseAddr("2001:2:0:2::1")
	for _, c := range []struct {
		cfg  TraceConfig
		want string
	}{
		{TraceConfig{Proto: craft.ProtoUDP, Dst: hf, MaxTTL: 256}, "hop limit 0 to 256"},
		{TraceConfig{Proto: craft.ProtoUDP, Dst: hf, FirstTTL: 9, MaxTTL: 3}, "first hop limit 9 is beyond the max hop limit 3"},
		{TraceConfig{Proto: craft.ProtoUDP, Dst: hf.WithZone("eth0")}, "a zone is not taken"},
		{TraceConfig{Proto: craft.ProtoUDP, Dst: netip.MustParseAddr("::ffff:198.18.2.2")}, "IPv4-mapped"},
		{TraceConfig{Proto: craft.ProtoICMPv6, Dst: netip.MustParseAddr("198.18.2.2")}, "an IPv4 destination takes icmp"},
		{TraceConfig{Proto: craft.ProtoUDP, Dst: netip.MustParseAddr("198.18.2.2"), FlowLabel: craft.Set[uint32](7)}, "IPv6's; 198.18.2.2 is IPv4"},
		{TraceConfig{Proto: craft.ProtoUDP, Dst: hf, FlowLabel: craft.Set[uint32](1 << 20)}, "20 bits"},
		{TraceConfig{Proto: craft.ProtoUDP, Dst: hf, Probes: MaxTraceProbes + 1}, "probes 11"},
	} {
		_, err := Trace(c.cfg)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want ErrConfig saying %q", c.cfg, err, c.want)
		}
		if err != nil && c.cfg.Dst.Is6() && strings.Contains(err.Error(), "TTL") {
			t.Errorf("%v: an IPv6 trace speaks of hop limits", err)
		}
	}
}
