package rawsock

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/rawcraft/rawcraft/craft"
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
	return craft.MAC{}, fmt.Errorf("%w from %v on %s after %d requests %v apart: is it up and on this link?", ErrNoARPReply, target, ifi.Name, tries, wait)
}

// IsDirectedBroadcast says whether a is the broadcast address (all host
// bits set, RFC 919 §7) of a subnet of /30 or larger configured on ifi.
func IsDirectedBroadcast(ifi *net.Interface, a netip.Addr) bool {
	addrs, err := ifi.Addrs()
	if err != nil {
		return false
	}
	for _, x := range addrs {
		p, err := netip.ParsePrefix(x.String())
		if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
			continue
		}
		if p.Contains(a) && lastAddr(p.Masked()) == a {
			return true
		}
	}
	return false
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= uint32(1)<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
