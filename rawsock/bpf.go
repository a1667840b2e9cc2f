package rawsock

// Every BPF program rawcraft runs in the kernel, in one place: each is
// assembled with golang.org/x/net/bpf and attached to an AF_PACKET socket
// before it is bound (Config.Filter), so that nothing slips through. They
// read Ethernet frames: the IPv4 header at 14, ARP's fields at 14 + their
// RFC 826 offsets.

import (
	"net/netip"

	"github.com/rawcraft/rawcraft/craft"
	"golang.org/x/net/bpf"
)

func be32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
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

// HostFilter passes IPv4 frames from or to addr, and ARP frames: what a
// probe from addr sends and receives.
func HostFilter(addr netip.Addr) ([]bpf.RawInstruction, error) {
	ip := be32(addr)
	return bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(craft.EtherTypeARP), SkipTrue: 5},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(craft.EtherTypeIPv4), SkipTrue: 5},
		bpf.LoadAbsolute{Off: 26, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: ip, SkipTrue: 2},
		bpf.LoadAbsolute{Off: 30, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: ip, SkipTrue: 1},
		bpf.RetConstant{Val: 0x40000},
		bpf.RetConstant{Val: 0},
	})
}

// Filter describes which frames a capture keeps, compiled to BPF
// for the kernel. Zero fields match everything.
type Filter struct {
	Proto uint8      // craft.ProtoTCP, ProtoUDP, ProtoICMP; 0 for any
	Host  netip.Addr // source or destination
	Port  uint16     // TCP or UDP source or destination port
}

// Compile turns f into a BPF program over Ethernet frames. With no field
// set it passes IPv4 and ARP; with any field set, IPv4 only. The port test
// reads the transport header after the IPv4 header's own length (the BPF
// "ldx 4*([14]&0xf)" idiom), so options do not fool it.
func (f Filter) Compile() ([]bpf.RawInstruction, error) {
	var prog []bpf.Instruction
	const drop, accept = 0, 0x40000
	prog = append(prog, bpf.LoadAbsolute{Off: 12, Size: 2})
	if f.Proto == 0 && !f.Host.IsValid() && f.Port == 0 {
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(craft.EtherTypeARP), SkipTrue: 1},
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(craft.EtherTypeIPv4), SkipTrue: 1},
			bpf.RetConstant{Val: accept}, bpf.RetConstant{Val: drop})
		return bpf.Assemble(prog)
	}
	// Each test jumps to the drop at the end when it fails; the offsets are
	// patched once the program is complete.
	var fails []int
	jumpFail := func(cond bpf.JumpTest, val uint32) {
		fails = append(fails, len(prog))
		prog = append(prog, bpf.JumpIf{Cond: cond, Val: val})
	}
	jumpFail(bpf.JumpNotEqual, uint32(craft.EtherTypeIPv4))
	if f.Proto != 0 {
		prog = append(prog, bpf.LoadAbsolute{Off: 23, Size: 1})
		jumpFail(bpf.JumpNotEqual, uint32(f.Proto))
	}
	if f.Host.IsValid() {
		ip := be32(f.Host)
		prog = append(prog,
			bpf.LoadAbsolute{Off: 26, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: ip, SkipTrue: 2},
			bpf.LoadAbsolute{Off: 30, Size: 4})
		jumpFail(bpf.JumpNotEqual, ip)
	}
	if f.Port != 0 {
		prog = append(prog, bpf.LoadAbsolute{Off: 20, Size: 2}) // flags + offset: later fragments have no ports
		jumpFail(bpf.JumpBitsSet, 0x1fff)
		prog = append(prog,
			bpf.LoadMemShift{Off: 14},
			bpf.LoadIndirect{Off: 14, Size: 2},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(f.Port), SkipTrue: 2},
			bpf.LoadIndirect{Off: 16, Size: 2})
		jumpFail(bpf.JumpNotEqual, uint32(f.Port))
	}
	prog = append(prog, bpf.RetConstant{Val: accept}, bpf.RetConstant{Val: drop})
	dropAt := len(prog) - 1
	for _, i := range fails {
		j := prog[i].(bpf.JumpIf)
		j.SkipTrue = uint8(dropAt - i - 1)
		prog[i] = j
	}
	return bpf.Assemble(prog)
}
