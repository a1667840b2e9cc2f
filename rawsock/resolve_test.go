package rawsock_test

import (
	"net/netip"
	"testing"

	"github.com/rawcraft/rawcraft/rawsock"
)

// Solicited-node addresses and multicast MACs, from RFC 4291 §2.7.1 and
// RFC 2464 §7 (its example: 33:33:ff:00:00:01 … the low 32 bits), and
// RFC 1112 §6.4 for IPv4.
func TestMulticastMapping(t *testing.T) {
	for _, c := range []struct{ addr, node, mac string }{
		{"2001:2:0:1::1", "ff02::1:ff00:1", "33:33:ff:00:00:01"},
		{"fe80::aabb:ccff:fedd:eeff", "ff02::1:ffdd:eeff", "33:33:ff:dd:ee:ff"},
	} {
		n := rawsock.SolicitedNode(netip.MustParseAddr(c.addr))
		if n.String() != c.node || rawsock.MulticastMAC(n).String() != c.mac {
			t.Errorf("%s: solicited-node %v at %v, want %s at %s", c.addr, n, rawsock.MulticastMAC(n), c.node, c.mac)
		}
	}
	for _, c := range []struct{ group, mac string }{
		{"ff02::1", "33:33:00:00:00:01"},
		{"ff05::1:3", "33:33:00:01:00:03"},
		{"224.0.0.251", "01:00:5e:00:00:fb"},
		{"239.255.128.1", "01:00:5e:7f:80:01"},
	} {
		if got := rawsock.MulticastMAC(netip.MustParseAddr(c.group)).String(); got != c.mac {
			t.Errorf("%s: %s, want %s", c.group, got, c.mac)
		}
	}
}
