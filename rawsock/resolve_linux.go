package rawsock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Resolve finds what a frame to dst needs, in the calling thread's network
// namespace: the outgoing interface, source address and next hop (on-link or
// a gateway) from the routing table, and the next hop's MAC from the
// neighbour table or, failing that, from an ARP request (IPv4) or a
// Neighbor Solicitation (IPv6, NDP), built with craft, and a bounded wait
// for the answer.
//
// Links that need no ARP are handled as Linux handles them (net/ipv4/arp.c,
// arp_constructor; net/ipv6/ndisc.c, ndisc_constructor): on loopback (::1,
// 127.0.0.0/8 or an address of this host) both MACs are zero, How is
// "loopback" and Datagrams is set — lo carries a 14-byte Ethernet header
// with zero MACs, and the kernel answers on lo; on an interface marked
// NOARP the destination MAC is the interface's own; a multicast
// destination maps to 01:00:5e plus its low 23 bits (RFC 1112 §6.4), an
// IPv6 one to 33:33 plus its low 32 bits (RFC 2464 §7); a broadcast one to
// ff:ff:ff:ff:ff:ff. An interface with no 6-byte hardware address (a tun,
// a PPP link) carries no Ethernet header: Resolve returns the route with
// NoLink set, and Open refuses ViaPacket on it with an error saying to use
// ViaIP. Every error is one line naming the missing route, interface or
// neighbour.
//
// An IPv6 link-local address (fe80::/10, and the multicast ff01::/16 and
// ff02::/16) exists on every link: its zone names the interface
// (fe80::1%eth0), and overrides the routing table's choice like
// cfg.Iface; without either, Resolve fails saying to add one.
// Route.NextHop and Route.Src carry no zone.
func Resolve(dst netip.Addr, cfg *ResolveConfig) (Route, error) {
	var c ResolveConfig
	if cfg != nil {
		c = *cfg
	}
	dst, iface, err := scope(dst, c.Iface)
	if err != nil {
		return Route{}, err
	}
	c.Iface = iface
	opts := &netlink.RouteGetOptions{}
	if c.Iface != "" {
		if _, err := net.InterfaceByName(c.Iface); err != nil {
			return Route{}, fmt.Errorf("interface %q: %w", c.Iface, ErrNoInterface)
		}
		opts.Oif = c.Iface
	}
	var routes []netlink.Route
	err = contained("route lookup", func() (err error) {
		routes, err = netlink.RouteGetWithOptions(dst.AsSlice(), opts)
		return err
	})
	if err != nil || len(routes) == 0 {
		if err == nil {
			err = errors.New("the routing table has none")
		}
		return Route{}, fmt.Errorf("no route to %v: %v (see ip route)", dst, err)
	}
	rt := routes[0]
	ifi, err := net.InterfaceByIndex(rt.LinkIndex)
	if err != nil {
		return Route{}, fmt.Errorf("interface %d of the route to %v: %w", rt.LinkIndex, dst, err)
	}
	r := Route{Iface: ifi, NextHop: dst}
	if src, ok := netip.AddrFromSlice(rt.Src); ok {
		r.Src = src.Unmap()
	}
	routeSrc := r.Src
	if c.Src.IsValid() {
		r.Src = c.Src
	}
	if gw, ok := netip.AddrFromSlice(rt.Gw); ok && gw.Unmap().IsValid() && !gw.Unmap().IsUnspecified() {
		r.NextHop, r.Gateway = gw.Unmap(), true
	}
	if ifi.Flags&net.FlagUp == 0 {
		return Route{}, fmt.Errorf("interface %s toward %v is down (ip link set %s up)", ifi.Name, dst, ifi.Name)
	}
	if ifi.Flags&net.FlagLoopback != 0 {
		// lo: a 14-byte Ethernet header with zero MACs; no neighbour.
		r.How = "loopback"
		r.Datagrams = true
		if c.SrcMAC != nil {
			r.SrcMAC = *c.SrcMAC
		}
		if c.DstMAC != nil {
			r.DstMAC, r.How = *c.DstMAC, "given"
		}
		return r, nil
	}
	if len(ifi.HardwareAddr) != 6 {
		r.NoLink, r.How = true, "no link-layer header"
		return r, nil
	}
	copy(r.SrcMAC[:], ifi.HardwareAddr)
	if c.SrcMAC != nil {
		r.SrcMAC = *c.SrcMAC
	}
	if c.DstMAC != nil {
		r.DstMAC, r.How = *c.DstMAC, "given"
		return r, nil
	}
	if mac, how, ok := mappedMAC(ifi, r.NextHop, r.SrcMAC); ok {
		r.DstMAC, r.How = mac, how
		return r, nil
	}
	if mac, ok := neighbour(ifi.Index, r.NextHop); ok {
		r.DstMAC, r.How = mac, "neighbour table"
		return r, nil
	}
	if r.NextHop.Is6() {
		// RFC 4861 §7.2.2: the solicitation's source is the prompting
		// packet's when that is an address of the interface, else one of
		// the interface's (the one the routing table chose).
		src := routeSrc
		if c.Src.IsValid() && ownAddr(ifi, c.Src) {
			src = c.Src
		}
		if !src.IsValid() {
			return Route{}, fmt.Errorf("no IPv6 address on %s to ask for %v's MAC with", ifi.Name, r.NextHop)
		}
		mac, err := NDP(ifi, r.SrcMAC, src, r.NextHop, c.ARPWait, c.ARPTries)
		if err != nil {
			return Route{}, err
		}
		r.DstMAC, r.How = mac, "NDP"
		return r, nil
	}
	src := r.Src
	if !src.IsValid() {
		return Route{}, fmt.Errorf("no source address on %s to ask for %v's MAC with", ifi.Name, r.NextHop)
	}
	mac, err := ARP(ifi, r.SrcMAC, src, r.NextHop, c.ARPWait, c.ARPTries)
	if err != nil {
		return Route{}, err
	}
	r.DstMAC, r.How = mac, "ARP"
	return r, nil
}

// ownAddr says whether a is an address of ifi.
func ownAddr(ifi *net.Interface, a netip.Addr) bool {
	addrs, err := ifi.Addrs()
	if err != nil {
		return false
	}
	for _, x := range addrs {
		if p, err := netip.ParsePrefix(x.String()); err == nil && p.Addr() == a.WithZone("") {
			return true
		}
	}
	return false
}

// mappedMAC is the destination MAC of a next hop that needs no ARP or NDP,
// as arp_constructor and ndisc_constructor decide it: a multicast group's
// (MulticastMAC), the broadcast MAC for an IPv4 broadcast address
// (255.255.255.255 or the directed broadcast of one of ifi's subnets), and
// ifi's own on a NOARP interface, unless the neighbour table holds another
// for hop (an entry set by hand), which Linux then uses.
func mappedMAC(ifi *net.Interface, hop netip.Addr, own craft.MAC) (craft.MAC, string, bool) {
	if hop.IsMulticast() {
		if hop.Is6() {
			return MulticastMAC(hop), "multicast (RFC 2464 §7)", true
		}
		return MulticastMAC(hop), "multicast (RFC 1112 §6.4)", true
	}
	if hop.Is4() && (hop == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || IsDirectedBroadcast(ifi, hop)) {
		return craft.Broadcast, "broadcast", true
	}
	var l netlink.Link
	err := contained("link lookup", func() (err error) {
		l, err = netlink.LinkByIndex(ifi.Index)
		return err
	})
	if err == nil && l.Attrs().RawFlags&unix.IFF_NOARP != 0 {
		// arp_constructor gives a new neighbour the interface's own
		// address; an entry the administrator set (ip neigh … nud
		// permanent) replaces it, and Linux sends to that.
		if mac, ok := neighbour(ifi.Index, hop); ok && mac != own {
			return mac, "NOARP interface: the neighbour table's entry, as Linux sends", true
		}
		return own, "NOARP interface: its own address, as Linux sends", true
	}
	return craft.MAC{}, "", false
}

// neighbour looks ip up in the neighbour table of ifindex: ARP's for IPv4,
// NDP's for IPv6 (ip neigh).
func neighbour(ifindex int, ip netip.Addr) (craft.MAC, bool) {
	family := unix.AF_INET
	if ip.Is6() {
		family = unix.AF_INET6
	}
	var neighs []netlink.Neigh
	err := contained("neighbour table", func() (err error) {
		neighs, err = netlink.NeighList(ifindex, family)
		return err
	})
	if err != nil {
		return craft.MAC{}, false
	}
	usable := netlink.NUD_REACHABLE | netlink.NUD_STALE | netlink.NUD_DELAY | netlink.NUD_PROBE | netlink.NUD_PERMANENT | netlink.NUD_NOARP
	for _, n := range neighs {
		a, ok := netip.AddrFromSlice(n.IP)
		if ok && a.Unmap() == ip && n.State&usable != 0 && len(n.HardwareAddr) == 6 {
			var m craft.MAC
			copy(m[:], n.HardwareAddr)
			return m, m != craft.MAC{}
		}
	}
	return craft.MAC{}, false
}

// contained runs fn, a call into the netlink library that parses the
// kernel's reply, and turns a panic inside the library into an error naming
// the call. The library's parsers are fuzzed (FuzzNetlinkReplies); this is
// the last line, so that a bug there ends one command with a message, not
// rawcraft with a stack trace.
func contained(call string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: the netlink library failed to parse the kernel's reply: %v", call, r)
		}
	}()
	return fn()
}
