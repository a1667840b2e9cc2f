package session

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/owner"
	"github.com/rawcraft/rawcraft/rawsock"
)

// Why a guard: a SYN-ACK answering a SYN that rawcraft built arrives at this
// host's kernel, which has no socket for it and answers RST (RFC 9293
// §3.10.7.1), killing the connection rawcraft is opening. A guard keeps the
// kernel out of the conversation.

// GhostMAC is the made-up, locally administered MAC of a ghost address:
// 02:72:63 ("rc") followed by the address's last three bytes.
func GhostMAC(a netip.Addr) craft.MAC {
	b := a.As4()
	return craft.MAC{0x02, 0x72, 0x63, b[1], b[2], b[3]}
}

// FindGhost returns an address of one of ifi's IPv4 subnets that no host
// answers ARP for, trying candidates from the top of the subnet down (at most
// 8 per subnet, each asked twice, 150 ms apart): the ghost guard then speaks
// for it. Only subnets of /29 or larger whose network address within
// contains are tried (the CLI passes the lab's 198.18.0.0/15); the zero
// Prefix allows none. The ARP requests go out of ifi from src and srcMAC.
// The error says no free address was found.
func FindGhost(ifi *net.Interface, src netip.Addr, srcMAC craft.MAC, within netip.Prefix) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		pfx, err := netip.ParsePrefix(a.String())
		if err != nil || !pfx.Addr().Is4() || pfx.Bits() > 29 || !within.IsValid() || !within.Contains(pfx.Masked().Addr()) {
			continue // only the subnets the caller allows
		}
		net4 := pfx.Masked().Addr().As4()
		hostBits := 32 - pfx.Bits()
		for i := 0; i < 8; i++ {
			v := uint32(net4[0])<<24 | uint32(net4[1])<<16 | uint32(net4[2])<<8 | uint32(net4[3])
			v += uint32(1)<<hostBits - 2 - uint32(50+i)%(uint32(1)<<hostBits-2)
			cand := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
			if cand == src {
				continue
			}
			if _, err := rawsock.ARP(ifi, srcMAC, src, cand, 150*time.Millisecond, 2); errors.Is(err, rawsock.ErrNoARPReply) {
				return cand, nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("no free address found on %s for a ghost", ifi.Name)
}

// ErrBadGhost is wrapped by CheckGhost's refusals: the address asked for
// cannot be a ghost.
var ErrBadGhost = errors.New("not a ghost address")

// CheckGhost says whether ghost may stand in for this host on ifi: an IPv4
// address of a subnet of ifi that within allows (the lab's, the ghost guard
// being lab-only), neither this host's own address src nor the server's
// dst. It sends nothing; NewClient then asks ARP whether the address is in
// use. The refusals wrap ErrBadGhost.
func CheckGhost(ifi *net.Interface, ghost, src, dst netip.Addr, within netip.Prefix) error {
	switch {
	case !ghost.Is4():
		return fmt.Errorf("%w: %v is not an IPv4 address", ErrBadGhost, ghost)
	case ghost == src:
		return fmt.Errorf("%w: %v is this host's own address", ErrBadGhost, ghost)
	case ghost == dst:
		return fmt.Errorf("%w: %v is the server's own address", ErrBadGhost, ghost)
	case !within.IsValid() || !within.Contains(ghost):
		return fmt.Errorf("%w: %v is outside %v; the ghost guard works only inside the lab, on the lab's subnet (elsewhere the firewall guard)", ErrBadGhost, ghost, within)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if pfx, err := netip.ParsePrefix(a.String()); err == nil && pfx.Masked().Contains(ghost) && ghost != pfx.Masked().Addr() {
			return nil
		}
	}
	return fmt.Errorf("%w: %v is not on any subnet of %s, so the server could not reach it", ErrBadGhost, ghost, ifi.Name)
}

// AnswerARP answers ARP requests for ghost on ifi with mac, until stop is
// called. Hosts then send the ghost's frames to mac; this host's kernel,
// which owns neither, ignores them, and rawcraft's capture sees them.
func AnswerARP(ifi *net.Interface, ghost netip.Addr, mac craft.MAC) (stop func(), err error) {
	filter, err := rawsock.ARPRequestFilter(ghost)
	if err != nil {
		return nil, err
	}
	c, err := rawsock.Listen(ifi, &rawsock.Config{EtherType: craft.EtherTypeARP, Filter: filter})
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1514)
		var d craft.Decoded
		var out []byte
		for {
			n, err := c.Recv(buf)
			if err != nil {
				return // closed by stop
			}
			if d.DecodeFrame(buf[:n]) != nil || !d.Has(craft.LayerARP) || d.ARP.Op != craft.ARPRequest || d.ARP.TargetIP != ghost {
				continue
			}
			reply := craft.Packet{
				Ethernet: &craft.Ethernet{Dst: d.ARP.SenderHW, Src: mac},
				ARP:      &craft.ARP{Op: craft.ARPReply, SenderHW: mac, SenderIP: ghost, TargetHW: d.ARP.SenderHW, TargetIP: d.ARP.SenderIP},
			}
			if out, err = reply.Append(out[:0]); err == nil {
				_, _ = c.Send(out)
			}
		}
	}()
	return func() { c.Close(); <-done }, nil
}

// GuardTablePrefix begins the name of every firewall guard's nftables
// table; the owning run follows, as owner.Owner's PID.START with '.' → '_'
// (nftables names allow no dot).
const GuardTablePrefix = "rawcraft_guard_"

// GuardTable is the name of this run's firewall guard table:
// "rawcraft_guard_PID_START".
func GuardTable() string {
	return GuardTablePrefix + strings.ReplaceAll(owner.Self().String(), ".", "_")
}

// guardOwner reads the owner from a guard table's name.
func guardOwner(name string) (owner.Owner, bool) {
	rest, ok := strings.CutPrefix(name, GuardTablePrefix)
	if !ok {
		return owner.Owner{}, false
	}
	o, err := owner.Parse(strings.Replace(rest, "_", ".", 1))
	return o, err == nil
}

// held is what a Client or Server holds while open: the ARP answerer for a
// ghost address or the firewall rule, whichever guard it took.
type held struct {
	stopARP  func()
	removeFW func() error
}

// release stops the ARP answerer and removes the firewall rule, once each;
// its error is the rule's removal's.
func (h *held) release() error {
	if h.stopARP != nil {
		h.stopARP()
		h.stopARP = nil
	}
	if h.removeFW != nil {
		remove := h.removeFW
		h.removeFW = nil
		if err := remove(); err != nil {
			return fmt.Errorf("removing the firewall guard: %w", err)
		}
	}
	return nil
}
