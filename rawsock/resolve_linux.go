package rawsock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// ResolveConfig overrides steps of Resolve. A nil *ResolveConfig resolves
// everything.
type ResolveConfig struct {
	Iface  string     // outgoing interface, instead of the routing table's
	Src    netip.Addr // source address, instead of the route's
	SrcMAC *craft.MAC // instead of the interface's
	DstMAC *craft.MAC // instead of the neighbour table or ARP
	// ARPWait bounds each ARP attempt (default 300 ms); ARPTries bounds the
	// attempts (default 3).
	ARPWait  time.Duration
	ARPTries int
}

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

// ErrNoARPReply is returned when no host answered the ARP requests.
var ErrNoARPReply = errors.New("no ARP reply")

// ARP asks who has target with a request built with craft (RFC 826),
// broadcast on ifi, and waits at most wait for each of tries attempts
// (defaults 300 ms and 3). A BPF filter in the kernel passes only replies
// from target.
func ARP(ifi *net.Interface, srcMAC craft.MAC, src, target netip.Addr, wait time.Duration, tries int) (craft.MAC, error) {
	if wait <= 0 {
		wait = 300 * time.Millisecond
	}
	if tries <= 0 {
		tries = 3
	}
	filter, err := ARPReplyFilter(target)
	if err != nil {
		return craft.MAC{}, err
	}
	c, err := Listen(ifi, &Config{EtherType: craft.EtherTypeARP, Filter: filter})
	if err != nil {
		return craft.MAC{}, err
	}
	defer c.Close()
	req := craft.Packet{
		Ethernet: &craft.Ethernet{Dst: craft.Broadcast, Src: srcMAC},
		ARP:      &craft.ARP{Op: craft.ARPRequest, SenderHW: srcMAC, SenderIP: src, TargetIP: target},
	}
	frame, err := req.Append(make([]byte, 0, craft.MinFrameLen))
	if err != nil {
		return craft.MAC{}, err
	}
	buf := make([]byte, 1514)
	var d craft.Decoded
	for i := 0; i < tries; i++ {
		if _, err := c.Send(frame); err != nil {
			return craft.MAC{}, fmt.Errorf("sending an ARP request for %v: %w", target, err)
		}
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) {
			_ = c.SetReadDeadline(deadline)
			n, err := c.Recv(buf)
			if err != nil {
				break
			}
			if d.DecodeFrame(buf[:n]) == nil && d.Has(craft.LayerARP) && d.ARP.Op == craft.ARPReply && d.ARP.SenderIP == target {
				return d.ARP.SenderHW, nil
			}
		}
	}
	return craft.MAC{}, fmt.Errorf("%w from %v on %s after %d requests %v apart", ErrNoARPReply, target, ifi.Name, tries, wait)
}

// ARPReplyFilter passes ARP replies whose sender is target, and nothing else.
func ARPReplyFilter(target netip.Addr) ([]bpf.RawInstruction, error) {
	t := target.As4()
	ip := uint32(t[0])<<24 | uint32(t[1])<<16 | uint32(t[2])<<8 | uint32(t[3])
	return bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(craft.EtherTypeARP), SkipTrue: 5},
		bpf.LoadAbsolute{Off: 20, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(craft.ARPReply), SkipTrue: 3},
		bpf.LoadAbsolute{Off: 28, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: ip, SkipTrue: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	})
}
