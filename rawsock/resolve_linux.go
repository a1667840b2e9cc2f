package rawsock

import (
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
		opts.Oif = c.Iface
	}
	routes, err := netlink.RouteGetWithOptions(dst.AsSlice(), opts)
	if err != nil || len(routes) == 0 {
		return Route{}, fmt.Errorf("no route to %v: %v", dst, err)
	}
	rt := routes[0]
	ifi, err := net.InterfaceByIndex(rt.LinkIndex)
	if err != nil {
		return Route{}, fmt.Errorf("interface %d of the route to %v: %w", rt.LinkIndex, dst, err)
	}
	if ifi.Flags&net.FlagLoopback != 0 {
		return Route{}, fmt.Errorf("%v is this host's own address: AF_PACKET frames on lo never reach the stack as sent; send to another host", dst)
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
	if len(ifi.HardwareAddr) != 6 {
		return Route{}, fmt.Errorf("interface %s has no Ethernet address: AF_PACKET with an Ethernet header needs one", ifi.Name)
	}
	copy(r.SrcMAC[:], ifi.HardwareAddr)
	if c.SrcMAC != nil {
		r.SrcMAC = *c.SrcMAC
	}
	if c.DstMAC != nil {
		r.DstMAC, r.How = *c.DstMAC, "given"
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
