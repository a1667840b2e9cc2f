package rawsock

// Every BPF program rawcraft runs in the kernel, in one place: each is
// assembled with golang.org/x/net/bpf and attached to an AF_PACKET socket
// before it is bound (Config.Filter), so that nothing slips through. They
// read Ethernet frames: the IPv4 header at 14, ARP's fields at 14 + their
// RFC 826 offsets, the IPv6 header at 14 (next header at 20, hop limit at
// 21, source at 22, destination at 38) and what follows it at 54.

import (
	"fmt"
	"net/netip"

	"github.com/rawcraft/rawcraft/craft"
	"golang.org/x/net/bpf"
)

func be32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// words6 is an IPv6 address as the four 32-bit words BPF loads.
func words6(a netip.Addr) [4]uint32 {
	b := a.As16()
	var w [4]uint32
	for i := range w {
		w[i] = uint32(b[4*i])<<24 | uint32(b[4*i+1])<<16 | uint32(b[4*i+2])<<8 | uint32(b[4*i+3])
	}
	return w
}

// Offsets in an Ethernet frame (no VLAN tag) carrying IPv6.
const (
	offNext6   = 14 + 6  // next header
	offHop6    = 14 + 7  // hop limit
	offSrc6    = 14 + 8  // source address
	offDst6    = 14 + 24 // destination address
	offAfter6  = 14 + 40 // what follows the fixed header
	offTarget6 = offAfter6 + 8
)

// Return values: drop, or keep up to 256 KiB of the frame.
const (
	retDrop   = 0
	retAccept = 0x40000
)

// asm assembles a program whose conditional jumps name labels instead of
// counting instructions by hand.
type asm struct {
	ins    []bpf.Instruction
	jumps  []asmJump
	labels []int // label → index of the instruction it marks
}

type asmJump struct {
	at, yes, no int
	always      bool // bpf.Jump to yes
}

// next is the label of the instruction after a jump.
const next = -1

func (a *asm) label() int { a.labels = append(a.labels, -1); return len(a.labels) - 1 }
func (a *asm) mark(l int) { a.labels[l] = len(a.ins) }
func (a *asm) add(i ...bpf.Instruction) {
	a.ins = append(a.ins, i...)
}

// jump tests the accumulator against val and goes to yes or no.
func (a *asm) jump(cond bpf.JumpTest, val uint32, yes, no int) {
	a.jumps = append(a.jumps, asmJump{at: len(a.ins), yes: yes, no: no})
	a.ins = append(a.ins, bpf.JumpIf{Cond: cond, Val: val})
}

// goTo jumps to l.
func (a *asm) goTo(l int) {
	a.jumps = append(a.jumps, asmJump{at: len(a.ins), yes: l, always: true})
	a.ins = append(a.ins, bpf.Jump{})
}

// load loads size bytes at off of the frame.
func (a *asm) load(off uint32, size int) { a.add(bpf.LoadAbsolute{Off: off, Size: size}) }

// addr6 goes to no unless the 16 bytes at off are w, else on.
func (a *asm) addr6(off uint32, w [4]uint32, no int) {
	for i, x := range w {
		a.load(off+4*uint32(i), 4)
		a.jump(bpf.JumpNotEqual, x, no, next)
	}
}

func (a *asm) assemble() ([]bpf.RawInstruction, error) {
	skip := func(at, l int) (uint8, error) {
		if l == next {
			return 0, nil
		}
		d := a.labels[l] - at - 1
		if a.labels[l] < 0 || d < 0 || d > 255 {
			return 0, fmt.Errorf("BPF jump from %d to label %d (at %d): out of reach", at, l, a.labels[l])
		}
		return uint8(d), nil
	}
	for _, j := range a.jumps {
		if j.always {
			d, err := skip(j.at, j.yes)
			if err != nil {
				return nil, err
			}
			a.ins[j.at] = bpf.Jump{Skip: uint32(d)}
			continue
		}
		ji := a.ins[j.at].(bpf.JumpIf)
		var err error
		if ji.SkipTrue, err = skip(j.at, j.yes); err != nil {
			return nil, err
		}
		if ji.SkipFalse, err = skip(j.at, j.no); err != nil {
			return nil, err
		}
		a.ins[j.at] = ji
	}
	return bpf.Assemble(a.ins)
}

// ARPReplyFilter passes ARP replies whose sender is target, and nothing
// else: what Resolve waits for.
func ARPReplyFilter(target netip.Addr) ([]bpf.RawInstruction, error) {
	return arpFilter(craft.ARPReply, 28, target) // sender protocol address
}

// ARPRequestFilter passes ARP requests that ask for target, and nothing
// else: what a responder for target (the ghost guard) answers.
func ARPRequestFilter(target netip.Addr) ([]bpf.RawInstruction, error) {
	return arpFilter(craft.ARPRequest, 38, target) // target protocol address
}

// arpFilter passes ARP frames with operation op whose address at offset
// off is a.
func arpFilter(op uint16, off uint32, a netip.Addr) ([]bpf.RawInstruction, error) {
	if !a.Unmap().Is4() {
		return nil, fmt.Errorf("ARP filter for %v: not an IPv4 address (IPv6 neighbours answer NDP: NeighborAdvertFilter)", a)
	}
	return bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(craft.EtherTypeARP), SkipTrue: 5},
		bpf.LoadAbsolute{Off: 20, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(op), SkipTrue: 3},
		bpf.LoadAbsolute{Off: off, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: be32(a), SkipTrue: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	})
}

// NeighborAdvertFilter passes Neighbor Advertisements (RFC 4861 §4.4)
// for target with hop limit 255, and nothing else: what NDP waits for.
// It reads the fixed header's next header only: an advertisement behind an
// extension header does not pass (a neighbour never sends one).
func NeighborAdvertFilter(target netip.Addr) ([]bpf.RawInstruction, error) {
	return ndpFilter(craft.ICMPv6NeighborAdvert, target)
}

// NeighborSolicitFilter passes Neighbor Solicitations (RFC 4861 §4.3) for
// target with hop limit 255, and nothing else: what a responder for
// target answers.
func NeighborSolicitFilter(target netip.Addr) ([]bpf.RawInstruction, error) {
	return ndpFilter(craft.ICMPv6NeighborSolicit, target)
}

// ndpFilter passes NDP messages of type typ whose target is target. A
// receiver discards NDP with a hop limit other than 255 (RFC 4861 §7.1),
// and so does the filter.
func ndpFilter(typ uint8, target netip.Addr) ([]bpf.RawInstruction, error) {
	if !target.Is6() || target.Is4In6() {
		return nil, fmt.Errorf("NDP filter for %v: not an IPv6 address", target)
	}
	a := &asm{}
	drop := a.label()
	a.load(12, 2)
	a.jump(bpf.JumpNotEqual, uint32(craft.EtherTypeIPv6), drop, next)
	a.load(offNext6, 1)
	a.jump(bpf.JumpNotEqual, uint32(craft.ProtoICMPv6), drop, next)
	a.load(offHop6, 1)
	a.jump(bpf.JumpNotEqual, 255, drop, next)
	a.load(offAfter6, 1)
	a.jump(bpf.JumpNotEqual, uint32(typ), drop, next)
	a.addr6(offTarget6, words6(target), drop)
	a.add(bpf.RetConstant{Val: retAccept})
	a.mark(drop)
	a.add(bpf.RetConstant{Val: retDrop})
	return a.assemble()
}

// HostFilter passes the frames of a probe from addr: for an IPv4 address,
// IPv4 frames from or to addr and every ARP frame; for an IPv6 address,
// IPv6 frames from or to addr and every NDP message (ICMPv6 types 133 to
// 137 right after the fixed header), IPv6's ARP. An ICMP or ICMPv6 error
// from a router about the probe is addressed to addr, and passes.
func HostFilter(addr netip.Addr) ([]bpf.RawInstruction, error) {
	addr = addr.Unmap()
	if !addr.IsValid() {
		return nil, fmt.Errorf("host filter: no address")
	}
	a := &asm{}
	accept, drop := a.label(), a.label()
	a.load(12, 2)
	if addr.Is4() {
		ip := be32(addr)
		a.jump(bpf.JumpEqual, uint32(craft.EtherTypeARP), accept, next)
		a.jump(bpf.JumpNotEqual, uint32(craft.EtherTypeIPv4), drop, next)
		a.load(26, 4)
		a.jump(bpf.JumpEqual, ip, accept, next)
		a.load(30, 4)
		a.jump(bpf.JumpEqual, ip, accept, drop)
	} else {
		a.jump(bpf.JumpNotEqual, uint32(craft.EtherTypeIPv6), drop, next)
		notSrc, notDst := a.label(), a.label()
		w := words6(addr)
		a.addr6(offSrc6, w, notSrc)
		a.add(bpf.RetConstant{Val: retAccept})
		a.mark(notSrc)
		a.addr6(offDst6, w, notDst)
		a.add(bpf.RetConstant{Val: retAccept})
		a.mark(notDst)
		a.load(offNext6, 1)
		a.jump(bpf.JumpNotEqual, uint32(craft.ProtoICMPv6), drop, next)
		a.load(offAfter6, 1)
		a.jump(bpf.JumpLessThan, uint32(craft.ICMPv6RouterSolicit), drop, next)
		a.jump(bpf.JumpGreaterThan, uint32(craft.ICMPv6Redirect), drop, accept)
	}
	a.mark(accept)
	a.add(bpf.RetConstant{Val: retAccept})
	a.mark(drop)
	a.add(bpf.RetConstant{Val: retDrop})
	return a.assemble()
}

// Filter describes which frames a capture keeps, compiled to BPF
// for the kernel. Zero fields match everything.
type Filter struct {
	// Proto is the transport: craft.ProtoTCP, ProtoUDP, ProtoICMP; 0 for
	// any. ProtoICMP means ICMP in IPv4 and ICMPv6 in IPv6 (each family's
	// own); craft.ProtoICMPv6 means ICMPv6 alone. Other values are
	// compared as they are with IPv4's protocol and IPv6's next header.
	Proto uint8
	// Host is the source or destination, IPv4 or IPv6; a filter with a
	// Host keeps that family only. Only the outer addresses are compared,
	// in both families: an ICMP or ICMPv6 error from a router about a
	// probe to Host carries the router's and the prober's addresses, so it
	// passes a filter on the prober's own address (HostFilter), not one on
	// the probe's target.
	Host netip.Addr
	Port uint16 // TCP or UDP source or destination port
}

// Compile turns f into a BPF program over Ethernet frames. With no field
// set it passes IPv4, IPv6 and ARP; with any field set, IPv4 and IPv6 only
// (one of them when Host says which, IPv6 alone for craft.ProtoICMPv6).
//
// In IPv4 the port test reads the transport header after the IPv4
// header's own length (the BPF "ldx 4*([14]&0xf)" idiom), so options do
// not fool it, and later fragments, which carry no ports, fail it. In IPv6
// the protocol and port tests read the fixed header's next header and the
// bytes right after the 40-byte header: a packet with extension headers (a
// Fragment header included) fails them, and so does a port test on
// anything but TCP or UDP. Walking the extension header chain would need
// a loop, which BPF does not have.
func (f Filter) Compile() ([]bpf.RawInstruction, error) {
	a := &asm{}
	drop := a.label()
	a.load(12, 2)
	host := f.Host.Unmap()
	if f.Proto == 0 && !host.IsValid() && f.Port == 0 {
		accept := a.label()
		a.jump(bpf.JumpEqual, uint32(craft.EtherTypeARP), accept, next)
		a.jump(bpf.JumpEqual, uint32(craft.EtherTypeIPv4), accept, next)
		a.jump(bpf.JumpEqual, uint32(craft.EtherTypeIPv6), accept, drop)
		a.mark(accept)
		a.add(bpf.RetConstant{Val: retAccept})
		a.mark(drop)
		a.add(bpf.RetConstant{Val: retDrop})
		return a.assemble()
	}
	v4 := (!host.IsValid() || host.Is4()) && f.Proto != craft.ProtoICMPv6
	v6 := !host.IsValid() || host.Is6()
	at4, at6 := a.label(), a.label()
	if v4 {
		a.jump(bpf.JumpEqual, uint32(craft.EtherTypeIPv4), at4, next)
	}
	if v6 {
		a.jump(bpf.JumpEqual, uint32(craft.EtherTypeIPv6), at6, next)
	}
	a.add(bpf.RetConstant{Val: retDrop})
	if v4 {
		a.mark(at4)
		if f.Proto != 0 {
			a.load(23, 1)
			a.jump(bpf.JumpNotEqual, uint32(f.Proto), drop, next)
		}
		if host.IsValid() {
			ip, ok := be32(host), a.label()
			a.load(26, 4)
			a.jump(bpf.JumpEqual, ip, ok, next)
			a.load(30, 4)
			a.jump(bpf.JumpNotEqual, ip, drop, next)
			a.mark(ok)
		}
		if f.Port != 0 {
			a.load(20, 2) // flags + offset: later fragments have no ports
			a.jump(bpf.JumpBitsSet, 0x1fff, drop, next)
			ok := a.label()
			a.add(bpf.LoadMemShift{Off: 14}, bpf.LoadIndirect{Off: 14, Size: 2})
			a.jump(bpf.JumpEqual, uint32(f.Port), ok, next)
			a.add(bpf.LoadIndirect{Off: 16, Size: 2})
			a.jump(bpf.JumpNotEqual, uint32(f.Port), drop, next)
			a.mark(ok)
		}
		a.add(bpf.RetConstant{Val: retAccept})
	}
	if v6 {
		a.mark(at6)
		if f.Proto != 0 {
			p := f.Proto
			if p == craft.ProtoICMP {
				p = craft.ProtoICMPv6
			}
			a.load(offNext6, 1)
			a.jump(bpf.JumpNotEqual, uint32(p), drop, next)
		}
		if host.IsValid() {
			notSrc, ok := a.label(), a.label()
			w := words6(host)
			a.addr6(offSrc6, w, notSrc)
			a.goTo(ok)
			a.mark(notSrc)
			a.addr6(offDst6, w, drop)
			a.mark(ok)
		}
		if f.Port != 0 {
			transport, ok := a.label(), a.label()
			a.load(offNext6, 1)
			a.jump(bpf.JumpEqual, uint32(craft.ProtoTCP), transport, next)
			a.jump(bpf.JumpNotEqual, uint32(craft.ProtoUDP), drop, next)
			a.mark(transport)
			a.load(offAfter6, 2)
			a.jump(bpf.JumpEqual, uint32(f.Port), ok, next)
			a.load(offAfter6+2, 2)
			a.jump(bpf.JumpNotEqual, uint32(f.Port), drop, next)
			a.mark(ok)
		}
		a.add(bpf.RetConstant{Val: retAccept})
	}
	a.mark(drop)
	a.add(bpf.RetConstant{Val: retDrop})
	return a.assemble()
}
