package rawsock_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/vishvananda/netlink"
)

// Resolve of an IPv6 neighbour with an empty neighbour table asks with a
// Neighbor Solicitation as RFC 4861 §7.2.2 has it, and the peer's kernel
// answers; once the kernel knows the neighbour, the table answers.
func TestResolve6NDP(t *testing.T) {
	p := newPair6(t)
	at := sniff(t, p.Server, filtered(t, rawsock.NeighborSolicitFilter, v6Server))
	rt, err := resolve6(t, p.Client, v6Server, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rt.How != "NDP" || rt.DstMAC != p.serverMAC || rt.SrcMAC != p.clientMAC || rt.Src != v6Client || rt.NextHop != v6Server || rt.Gateway || rt.Iface.Name != lab.PairIfc || rt.Datagrams {
		t.Fatalf("route %+v: want the server's MAC %v by NDP, from %v", rt, p.serverMAC, v6Client)
	}
	ns := next6(t, at, 2*time.Second, func(d *craft.Decoded) bool {
		return d.Has(craft.LayerICMPv6) && d.Ethernet.Src == p.clientMAC
	})
	var d = craft.Decoded{AcceptIPv6: true}
	if ns == nil || d.DecodeFrame(ns) != nil {
		t.Fatalf("the server saw no solicitation from the client: %x", ns)
	}
	group := netip.MustParseAddr("ff02::1:ff00:1")
	if d.Ethernet.Dst != (craft.MAC{0x33, 0x33, 0xff, 0, 0, 1}) || d.IPv6.Dst != group || d.IPv6.Src != v6Client || d.IPv6.HopLimit.Or(0) != 255 ||
		d.ICMPv6.Type != craft.ICMPv6NeighborSolicit || d.ICMPv6.Code != 0 || d.ICMPv6.Rest != 0 {
		t.Errorf("solicitation %v → %v (%v), hop limit %d, type %d code %d: want to %v at 33:33:ff:00:00:01, hop limit 255",
			d.IPv6.Src, d.IPv6.Dst, d.Ethernet.Dst, d.IPv6.HopLimit.Or(0), d.ICMPv6.Type, d.ICMPv6.Code, group)
	}
	m, err := craft.ParseNDP(&d.ICMPv6, d.Payload)
	want := craft.AppendNDPOptLinkAddr(nil, craft.NDPOptSourceLinkAddr, p.clientMAC)
	if err != nil || m.Target != v6Server || !bytes.Equal(m.Options, want) {
		t.Errorf("solicitation for %v with options %x (%v): want for %v with %x", m.Target, m.Options, err, v6Server, want)
	}
	for _, c := range d.Checksums(nil) {
		if c.Status != craft.ChecksumGood {
			t.Errorf("solicitation %v checksum %v", c.Layer, c.Status)
		}
	}

	// The client's kernel resolves the server by itself (a UDP datagram
	// through an ordinary socket); then Resolve finds it in the table.
	if err := p.Do(p.Client, func() error {
		c, err := net.Dial("udp6", fmt.Sprintf("[%v]:9", v6Server))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("resolve"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		rt, err = resolve6(t, p.Client, v6Server, &rawsock.ResolveConfig{ARPWait: 50 * time.Millisecond, ARPTries: 1})
		if err == nil && rt.How == "neighbour table" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || rt.How != "neighbour table" || rt.DstMAC != p.serverMAC {
		t.Errorf("after the kernel's own resolution: %+v, %v; want the server's MAC from the neighbour table", rt, err)
	}
}

// An address on the link that nobody has: NDP gives up after the bounded
// attempts, with one line that says what happened.
func TestNDPTimesOut(t *testing.T) {
	p := newPair6(t)
	start := time.Now()
	_, err := resolve6(t, p.Client, v6Absent, &rawsock.ResolveConfig{ARPWait: 100 * time.Millisecond, ARPTries: 2})
	if el := time.Since(start); el > time.Second {
		t.Errorf("NDP waited %v, bound is 2 × 100 ms", el)
	}
	if !errors.Is(err, rawsock.ErrNoNDPReply) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), v6Absent.String()) {
		t.Fatalf("resolving an address nobody has: %v; want one line wrapping ErrNoNDPReply", err)
	}
}

// Link-local destinations take their interface from the zone (or from
// ResolveConfig.Iface); without one Resolve says, in one line, to add it.
// Multicast maps to 33:33 and the low 32 bits; ::1 and the host's own
// address are loopback.
func TestResolve6Scopes(t *testing.T) {
	p := newPair6(t)
	_, err := resolve6(t, p.Client, p.serverLL, nil)
	if err == nil || !strings.Contains(err.Error(), "%IFACE") || strings.Contains(err.Error(), "\n") {
		t.Errorf("link-local without a zone: %v; want one line saying to add %%IFACE", err)
	}
	if _, err := resolve6(t, p.Client, p.serverLL.WithZone("lo"), &rawsock.ResolveConfig{Iface: lab.PairIfc}); err == nil {
		t.Error("a zone and an interface that disagree: no error")
	}
	for _, c := range []struct {
		desc string
		dst  netip.Addr
		cfg  *rawsock.ResolveConfig
	}{
		{"zone", p.serverLL.WithZone(lab.PairIfc), nil},
		{"interface", p.serverLL, &rawsock.ResolveConfig{Iface: lab.PairIfc}},
	} {
		rt, err := resolve6(t, p.Client, c.dst, c.cfg)
		if err != nil {
			t.Errorf("link-local by %s: %v", c.desc, err)
			continue
		}
		if rt.How != "NDP" || rt.DstMAC != p.serverMAC || rt.Src != p.clientLL || rt.NextHop != p.serverLL || rt.Iface.Name != lab.PairIfc {
			t.Errorf("link-local by %s: %+v; want the server's MAC by NDP from %v", c.desc, rt, p.clientLL)
		}
	}
	for _, c := range []struct {
		dst string
		mac craft.MAC
	}{
		{"ff02::1%" + lab.PairIfc, craft.MAC{0x33, 0x33, 0, 0, 0, 1}},
		{"ff02::1:ff00:1%" + lab.PairIfc, craft.MAC{0x33, 0x33, 0xff, 0, 0, 1}},
	} {
		rt, err := resolve6(t, p.Client, netip.MustParseAddr(c.dst), nil)
		if err != nil || rt.DstMAC != c.mac || !strings.HasPrefix(rt.How, "multicast") {
			t.Errorf("%s: %+v, %v; want %v", c.dst, rt, err, c.mac)
		}
	}
	for _, dst := range []netip.Addr{netip.IPv6Loopback(), v6Client} {
		rt, err := resolve6(t, p.Client, dst, nil)
		if err != nil || rt.How != "loopback" || !rt.Datagrams || rt.Iface.Flags&net.FlagLoopback == 0 || rt.DstMAC != (craft.MAC{}) || rt.SrcMAC != (craft.MAC{}) {
			t.Errorf("%v: %+v, %v; want loopback, as for IPv4", dst, rt, err)
		}
	}
}

// A destination behind a router: the next hop is the gateway, global or
// link-local (as routers usually announce themselves), resolved by NDP.
func TestResolve6Gateway(t *testing.T) {
	p := newPair6(t)
	if err := p.Do(p.Client, func() error {
		l, err := netlink.LinkByName(lab.PairIfc)
		if err != nil {
			return err
		}
		for _, r := range []struct {
			dst string
			gw  netip.Addr
		}{{"2001:2:0:8::/64", v6Server}, {"2001:2:0:9::/64", p.serverLL}} {
			_, n, _ := net.ParseCIDR(r.dst)
			if err := netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: n, Gw: r.gw.AsSlice()}); err != nil {
				return fmt.Errorf("route %s via %v: %w", r.dst, r.gw, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dst string
		gw  netip.Addr
	}{{"2001:2:0:8::5", v6Server}, {"2001:2:0:9::5", p.serverLL}} {
		rt, err := resolve6(t, p.Client, netip.MustParseAddr(c.dst), nil)
		if err != nil || !rt.Gateway || rt.NextHop != c.gw || rt.DstMAC != p.serverMAC || rt.How != "NDP" || rt.Src != v6Client {
			t.Errorf("%s: %+v, %v; want gateway %v at %v by NDP, from %v", c.dst, rt, err, c.gw, p.serverMAC, v6Client)
		}
	}
}
