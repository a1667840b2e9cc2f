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
// neighbour table or, failing that, from an ARP request built with craft and
// a bounded wait for the reply.
//
// Links that need no ARP are handled as Linux handles them (net/ipv4/arp.c,
// arp_constructor): on loopback (an address of this host) both MACs are
// zero, How is "loopback" and Datagrams is set — lo carries a 14-byte
// Ethernet header with zero MACs, and the kernel answers on lo; on an interface marked NOARP the
// destination MAC is the interface's own; a multicast destination maps to
// 01:00:5e plus its low 23 bits (RFC 1112 §6.4); a broadcast one to
// ff:ff:ff:ff:ff:ff. An interface with no 6-byte hardware address (a tun,
// a PPP link) carries no Ethernet header: Resolve returns the route with
// NoLink set, and Open refuses ViaPacket on it with an error saying to use
// ViaIP. Every error is one line naming the missing route, interface or
// neighbour.
func Resolve(dst netip.Addr, cfg *ResolveConfig) (Route, error) {
	var c ResolveConfig
	if cfg != nil {
		c = *cfg
	}
	if !dst.Is4() {
		return Route{}, fmt.Errorf("resolve %v: not an IPv4 address", dst)
	}
	opts := &netlink.RouteGetOptions{}
	if c.Iface != "" {
		if _, err := net.InterfaceByName(c.Iface); err != nil {
			return Route{}, fmt.Errorf("interface %q: %w", c.Iface, ErrNoInterface)
		}
		opts.Oif = c.Iface
	}
	routes, err := netlink.RouteGetWithOptions(dst.AsSlice(), opts)
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

// mappedMAC is the destination MAC of a next hop that needs no ARP, as
// arp_constructor decides it: a multicast group's (RFC 1112 §6.4), the
// broadcast MAC for a broadcast address (255.255.255.255 or the directed
// broadcast of one of ifi's subnets), and ifi's own on a NOARP interface.
func mappedMAC(ifi *net.Interface, hop netip.Addr, own craft.MAC) (craft.MAC, string, bool) {
	if hop.IsMulticast() {
		b := hop.As4()
		return craft.MAC{0x01, 0x00, 0x5e, b[1] & 0x7f, b[2], b[3]}, "multicast (RFC 1112 §6.4)", true
	}
	if hop == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || IsDirectedBroadcast(ifi, hop) {
		return craft.Broadcast, "broadcast", true
	}
	if l, err := netlink.LinkByIndex(ifi.Index); err == nil && l.Attrs().RawFlags&unix.IFF_NOARP != 0 {
		return own, "NOARP interface: its own address, as Linux sends", true
	}
	return craft.MAC{}, "", false
}

func neighbour(ifindex int, ip netip.Addr) (craft.MAC, bool) {
	neighs, err := netlink.NeighList(ifindex, unix.AF_INET)
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
