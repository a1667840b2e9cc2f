package rawsock

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/rawcraft/rawcraft/craft"
)

// OpenConfig overrides steps of Open. A nil *OpenConfig takes everything
// from the routing and neighbour tables.
type OpenConfig struct {
	Iface  string     // outgoing interface, instead of the routing table's
	Src    netip.Addr // source address, instead of the route's
	SrcMAC *craft.MAC // ViaPacket: instead of the interface's
	DstMAC *craft.MAC // ViaPacket: instead of the neighbour table or ARP
}

// Tx is an open socket toward one destination, of the kind Via names, with
// the route it found. Send takes what that socket takes: a whole Ethernet
// frame (ViaPacket; IPv4, IPv6, ARP or anything else) or an IP datagram of
// the destination's family (ViaIP).
type Tx struct {
	via   Via
	route Route
	eth   *craft.Ethernet
	pconn *Conn
	iconn *IPConn
}

// Open resolves the route to dst in the calling thread's network namespace
// and opens the socket via names. ViaPacket resolves everything a frame
// needs (interface, source, next hop and its MAC, by ARP if need be) and
// fails when any step does (on loopback the frame's MACs are zero: see
// Resolve); ViaIP needs only a raw socket — IPv4 or IPv6, as dst is — and
// fills the route's interface and source when the routing table knows them
// (the kernel routes each datagram itself). An IPv6 link-local dst needs
// its interface, as its zone (fe80::1%eth0) or cfg.Iface (see Resolve);
// ViaIP binds its socket there.
func Open(dst netip.Addr, via Via, cfg *OpenConfig) (*Tx, error) {
	var c OpenConfig
	if cfg != nil {
		c = *cfg
	}
	if via != ViaIP && via != ViaPacket {
		return nil, fmt.Errorf("open: via %d: %w", via, errVia)
	}
	dst, iface, err := scope(dst, c.Iface)
	if err != nil {
		return nil, err
	}
	c.Iface = iface
	listenIP := ListenIP
	if dst.Is6() {
		listenIP = ListenIP6
	}
	t := &Tx{via: via}
	switch via {
	case ViaIP:
		ic, err := listenIP(c.Iface)
		if err != nil {
			return nil, err
		}
		t.iconn = ic
		// The route only informs (source address, interface name): the
		// kernel routes the datagram. No ARP is needed to learn it.
		if rt, err := Resolve(dst, &ResolveConfig{Iface: c.Iface, Src: c.Src, DstMAC: &craft.MAC{}}); err == nil {
			rt.DstMAC, rt.How = craft.MAC{}, ""
			t.route = rt
		} else {
			t.route.Src = c.Src
		}
		return t, nil
	case ViaPacket:
		rt, err := Resolve(dst, &ResolveConfig{Iface: c.Iface, Src: c.Src, SrcMAC: c.SrcMAC, DstMAC: c.DstMAC})
		if err != nil {
			return nil, err
		}
		if rt.NoLink {
			return nil, fmt.Errorf("interface %s toward %v carries no Ethernet header (no MAC address): send --via ip", rt.Iface.Name, dst)
		}
		t.eth = &craft.Ethernet{Src: rt.SrcMAC, Dst: rt.DstMAC}
		if rt.Datagrams {
			ic, err := listenIP(c.Iface) // bound to lo, a datagram to an address of another interface is lost
			if err != nil {
				return nil, err
			}
			t.route, t.iconn = rt, ic
			return t, nil
		}
		pc, err := Listen(rt.Iface, &Config{SendOnly: true})
		if err != nil {
			return nil, err
		}
		t.route, t.pconn = rt, pc
		return t, nil
	}
	return nil, fmt.Errorf("open: via %d: %w", via, errVia)
}

// Via returns the kind of socket.
func (t *Tx) Via() Via { return t.via }

// Route returns what Open found. Via ViaIP, Iface may be nil and the MACs
// are zero: the kernel chooses them.
func (t *Tx) Route() Route { return t.route }

// Ethernet returns the Ethernet header a frame sent through t should carry
// (the route's MACs), or nil via ViaIP, where the kernel adds the link layer.
func (t *Tx) Ethernet() *craft.Ethernet {
	if t.eth == nil {
		return nil
	}
	e := *t.eth
	return &e
}

// Send sends one frame (ViaPacket; shorter than 60 bytes it is padded) or
// one IP datagram of the destination's family (ViaIP) and returns the
// bytes handed to the kernel.
//
// A ViaPacket Tx whose Route has Datagrams set (loopback) takes
// frames too, and sends the datagram after their 14-byte header through a
// raw IP socket of the destination's family; it returns the frame's
// length.
func (t *Tx) Send(b []byte) (int, error) {
	if t.pconn != nil {
		return t.pconn.Send(b)
	}
	if t.via == ViaPacket {
		if len(b) < craft.EthernetLen {
			return 0, fmt.Errorf("frame of %d bytes: shorter than an Ethernet header", len(b))
		}
		n, err := t.iconn.Send(b[craft.EthernetLen:])
		return n + craft.EthernetLen, err
	}
	return t.iconn.Send(b)
}

// Close closes the socket.
func (t *Tx) Close() error {
	if t.pconn != nil {
		return t.pconn.Close()
	}
	return t.iconn.Close()
}

// ChooseInterface returns the interface named name or, when name is empty,
// the only interface that is up, not loopback and has an Ethernet address.
// The errors name the interface or list the candidates.
func ChooseInterface(name string) (*net.Interface, error) {
	if name != "" {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("interface %q: %w", name, ErrNoInterface)
		}
		return ifi, nil
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var cands []net.Interface
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 && i.Flags&net.FlagUp != 0 && len(i.HardwareAddr) == 6 {
			cands = append(cands, i)
		}
	}
	if len(cands) != 1 {
		var names []string
		for _, c := range cands {
			names = append(names, c.Name)
		}
		return nil, fmt.Errorf("%w: this host has %d candidate interfaces (%s)", ErrAmbiguousInterface, len(cands), strings.Join(names, ", "))
	}
	return &cands[0], nil
}
