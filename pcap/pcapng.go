package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"
)

// A pcapng file (draft-ietf-opsawg-pcapng, "PCAP Now Generic") is a run of
// blocks, each framed the same way:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          Block Type                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      Block Total Length                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	/                          Block Body                           /
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      Block Total Length                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A Section Header Block starts each section and fixes its byte order;
// Interface Description Blocks give each interface's link type, snapshot
// length and timestamp resolution; Enhanced, Simple and (obsolete) Packet
// Blocks carry packets. Every other block is skipped.
//
// Every length and index is checked against the bytes in hand before it
// is used, so a hostile file ends in one error, never a panic.

// Block types (section 11.1 of the draft).
const (
	ngBlockSHB = 0x0a0d0d0a // Section Header Block
	ngBlockIDB = 0x00000001 // Interface Description Block
	ngBlockPB  = 0x00000002 // Packet Block (obsolete)
	ngBlockSPB = 0x00000003 // Simple Packet Block
	ngBlockEPB = 0x00000006 // Enhanced Packet Block
)

// Option codes this reader uses (sections 4.2, 4.3).
const (
	ngOptEnd      = 0
	ngOptTSResol  = 9  // if_tsresol: 1 byte
	ngOptTSOffset = 14 // if_tsoffset: 8 bytes, seconds
	ngOptFlags    = 2  // epb_flags (and the obsolete pack_flags): 4 bytes
)

const (
	ngByteOrderMagic = 0x1a2b3c4d
	// ngMaxBlock is the largest block read, as libpcap's MAX_BLOCKSIZE
	// (16 MiB): a longer one is taken for a damaged file, not allocated.
	ngMaxBlock = 16 << 20
	ngMinBlock = 12 // type, length, trailing length
)

// ngInterface is what an Interface Description Block says.
type ngInterface struct {
	linkType uint32
	snapLen  uint32
	// The timestamp unit is 10^-resol seconds, or 2^-resol seconds when
	// binary is set (if_tsresol's most significant bit); the default is
	// 10^-6.
	resol  uint8
	binary bool
	offset int64 // if_tsoffset, seconds added to every timestamp
}

// ngReader reads the blocks of a pcapng file.
type ngReader struct {
	r      io.Reader
	order  binary.ByteOrder
	ifaces []ngInterface
	hdr    [8]byte
	body   []byte // the current block's body and trailer, reused
}

// ErrPcapNG wraps every error of a damaged pcapng file.
var ErrPcapNG = errors.New("pcapng")

func ngErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrPcapNG}, a...)...)
}

// newNgReader reads the first Section Header Block.
func newNgReader(r io.Reader) (*ngReader, error) {
	n := &ngReader{r: r}
	typ, body, err := n.block()
	if err == io.EOF {
		return nil, ngErr("empty file")
	}
	if err != nil {
		return nil, err
	}
	if typ != ngBlockSHB {
		return nil, ngErr("first block is of type 0x%08x, not a section header", typ)
	}
	return n, n.section(body)
}

// block reads the next block and returns its type and body (without the
// trailing length). io.EOF only at a block boundary.
func (n *ngReader) block() (uint32, []byte, error) {
	if _, err := io.ReadFull(n.r, n.hdr[:]); err != nil {
		if err == io.EOF {
			return 0, nil, io.EOF
		}
		return 0, nil, ngErr("truncated block header")
	}
	order := n.order
	if binary.LittleEndian.Uint32(n.hdr[:4]) == ngBlockSHB {
		// A section header's byte order is its own byte-order magic,
		// which follows the length: peek at it before the length is read.
		var m [4]byte
		if _, err := io.ReadFull(n.r, m[:]); err != nil {
			return 0, nil, ngErr("truncated section header")
		}
		switch {
		case binary.LittleEndian.Uint32(m[:]) == ngByteOrderMagic:
			order = binary.LittleEndian
		case binary.BigEndian.Uint32(m[:]) == ngByteOrderMagic:
			order = binary.BigEndian
		default:
			return 0, nil, ngErr("section header with byte-order magic %x, neither 1a2b3c4d nor 4d3c2b1a", m)
		}
		n.order = order
		total := order.Uint32(n.hdr[4:])
		if err := checkBlockLen(total, 28); err != nil {
			return ngBlockSHB, nil, err
		}
		body, err := n.readBody(total, m[:])
		return ngBlockSHB, body, err
	}
	if order == nil {
		return 0, nil, ngErr("block before the first section header")
	}
	typ, total := order.Uint32(n.hdr[:4]), order.Uint32(n.hdr[4:])
	if err := checkBlockLen(total, ngMinBlock); err != nil {
		return typ, nil, err
	}
	body, err := n.readBody(total, nil)
	return typ, body, err
}

func checkBlockLen(total, least uint32) error {
	switch {
	case total < least:
		return ngErr("block total length %d is less than the %d bytes it needs", total, least)
	case total%4 != 0:
		return ngErr("block total length %d is not a multiple of 4", total)
	case total > ngMaxBlock:
		return ngErr("block total length %d is more than the largest block read, %d", total, ngMaxBlock)
	}
	return nil
}

// readBody reads the rest of a block of total bytes, of which the 8-byte
// header and the bytes of got were read, and checks the trailing length.
func (n *ngReader) readBody(total uint32, got []byte) ([]byte, error) {
	rest := int(total) - 8
	if cap(n.body) < rest {
		n.body = make([]byte, rest)
	}
	b := n.body[:rest]
	copy(b, got)
	if _, err := io.ReadFull(n.r, b[len(got):]); err != nil {
		return nil, ngErr("truncated block: %d bytes announced", total)
	}
	if t := n.order.Uint32(b[rest-4:]); t != total {
		return nil, ngErr("block total length %d at its start but %d at its end", total, t)
	}
	return b[:rest-4], nil
}

// section starts a section from its header's body: byte-order magic,
// major and minor version, section length, options.
func (n *ngReader) section(body []byte) error {
	major, minor := n.order.Uint16(body[4:]), n.order.Uint16(body[6:])
	if major != 1 {
		return ngErr("section of version %d.%d; this reader knows version 1", major, minor)
	}
	n.ifaces = n.ifaces[:0]
	return eachOption(n.order, body[16:], func(uint16, []byte) error { return nil })
}

// eachOption calls fn with each option's code and value up to opt_endofopt
// or the end of b.
func eachOption(order binary.ByteOrder, b []byte, fn func(code uint16, v []byte) error) error {
	for len(b) >= 4 {
		code, l := order.Uint16(b), int(order.Uint16(b[2:]))
		if code == ngOptEnd {
			return nil
		}
		padded := (l + 3) &^ 3
		if 4+padded > len(b) {
			return ngErr("option %d of %d bytes runs past its block", code, l)
		}
		if err := fn(code, b[4:4+l]); err != nil {
			return err
		}
		b = b[4+padded:]
	}
	return nil
}

// interfaceBlock reads an Interface Description Block's body.
func (n *ngReader) interfaceBlock(body []byte) error {
	if len(body) < 8 {
		return ngErr("interface description block of %d bytes", len(body)+12)
	}
	in := ngInterface{linkType: uint32(n.order.Uint16(body)), snapLen: n.order.Uint32(body[4:]), resol: 6}
	err := eachOption(n.order, body[8:], func(code uint16, v []byte) error {
		switch code {
		case ngOptTSResol:
			if len(v) != 1 {
				return ngErr("if_tsresol of %d bytes, not 1", len(v))
			}
			in.binary, in.resol = v[0]&0x80 != 0, v[0]&0x7f
		case ngOptTSOffset:
			if len(v) != 8 {
				return ngErr("if_tsoffset of %d bytes, not 8", len(v))
			}
			in.offset = int64(n.order.Uint64(v))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(n.ifaces) >= 1<<16 {
		return ngErr("more than %d interfaces", 1<<16)
	}
	n.ifaces = append(n.ifaces, in)
	return nil
}

// next returns the next packet of the file, or io.EOF.
func (n *ngReader) next() (Packet, error) {
	for {
		typ, body, err := n.block()
		if err != nil {
			return Packet{}, err
		}
		switch typ {
		case ngBlockSHB:
			if err := n.section(body); err != nil {
				return Packet{}, err
			}
		case ngBlockIDB:
			if err := n.interfaceBlock(body); err != nil {
				return Packet{}, err
			}
		case ngBlockEPB, ngBlockPB:
			return n.packetBlock(typ, body)
		case ngBlockSPB:
			return n.simpleBlock(body)
		}
	}
}

// packetBlock reads an Enhanced Packet Block (section 4.3) or an obsolete
// Packet Block (appendix A), which differ only in the width of the
// interface ID: 32 bits, or 16 bits and a drops count.
func (n *ngReader) packetBlock(typ uint32, body []byte) (Packet, error) {
	if len(body) < 20 {
		return Packet{}, ngErr("packet block of %d bytes", len(body)+12)
	}
	id := n.order.Uint32(body)
	if typ == ngBlockPB {
		id = uint32(n.order.Uint16(body))
	}
	if id >= uint32(len(n.ifaces)) {
		return Packet{}, ngErr("packet on interface %d, but the section describes %d", id, len(n.ifaces))
	}
	in := n.ifaces[id]
	ts := uint64(n.order.Uint32(body[4:]))<<32 | uint64(n.order.Uint32(body[8:]))
	capLen, origLen := n.order.Uint32(body[12:]), n.order.Uint32(body[16:])
	data := body[20:]
	if uint64(capLen) > uint64(len(data)) {
		return Packet{}, ngErr("packet of %d captured bytes in a block with room for %d", capLen, len(data))
	}
	p := n.packet(in, data[:capLen], origLen)
	p.Interface, p.Time = int(id), in.time(ts)
	opts := data[min(len(data), int(capLen+3)&^3):]
	err := eachOption(n.order, opts, func(code uint16, v []byte) error {
		if code == ngOptFlags && len(v) == 4 {
			switch n.order.Uint32(v) & 3 {
			case 1:
				p.Direction = DirInbound
			case 2:
				p.Direction = DirOutbound
			}
		}
		return nil
	})
	return p, err
}

// simpleBlock reads a Simple Packet Block (section 4.4): the packet of
// interface 0, without a timestamp, captured up to that interface's
// snapshot length.
func (n *ngReader) simpleBlock(body []byte) (Packet, error) {
	if len(body) < 4 {
		return Packet{}, ngErr("simple packet block of %d bytes", len(body)+12)
	}
	if len(n.ifaces) == 0 {
		return Packet{}, ngErr("simple packet block in a section that describes no interface")
	}
	origLen := n.order.Uint32(body)
	data := body[4:]
	if uint64(origLen) < uint64(len(data)) {
		data = data[:origLen] // the rest is padding
	}
	return n.packet(n.ifaces[0], data, origLen), nil
}

// packet copies data into a Packet of interface in, cut to the interface's
// snapshot length (as libpcap does) and to MaxSnapLen.
func (n *ngReader) packet(in ngInterface, data []byte, origLen uint32) Packet {
	if in.snapLen != 0 && uint64(len(data)) > uint64(in.snapLen) {
		data = data[:in.snapLen]
	}
	if len(data) > MaxSnapLen {
		data = data[:MaxSnapLen]
	}
	p := Packet{Data: append([]byte(nil), data...), OrigLen: int(min(origLen, 1<<31-1)), LinkType: in.linkType}
	if p.OrigLen < len(p.Data) {
		p.OrigLen = len(p.Data)
	}
	return p
}

// time turns a 64-bit timestamp in the interface's units into a time:
// units of 10^-resol or 2^-resol seconds since 1970, plus if_tsoffset.
// The fraction is converted exactly (a 128-bit product), so a binary
// resolution such as 2^-30 is not rounded to a decimal one.
func (in ngInterface) time(ts uint64) time.Time {
	var sec, ns uint64
	switch {
	case in.binary && in.resol < 64:
		sec = ts >> in.resol
		frac := ts & (1<<in.resol - 1)
		hi, lo := bits.Mul64(frac, 1e9)
		ns = shiftRight128(hi, lo, uint(in.resol))
	case in.binary: // 2^-64 s to 2^-127 s: every timestamp is below a second
		hi, lo := bits.Mul64(ts, 1e9)
		ns = shiftRight128(hi, lo, uint(in.resol))
	case in.resol <= 19:
		per := pow10(in.resol)
		sec = ts / per
		hi, lo := bits.Mul64(ts%per, 1e9)
		ns, _ = bits.Div64(hi, lo, per) // hi < per: the quotient is below 1e9
	case in.resol-9 <= 19:
		ns = ts / pow10(in.resol-9)
	}
	return time.Unix(int64(sec)+in.offset, int64(ns))
}

func shiftRight128(hi, lo uint64, s uint) uint64 {
	switch {
	case s == 0:
		return lo
	case s < 64:
		return lo>>s | hi<<(64-s)
	default:
		return hi >> (s - 64)
	}
}

func pow10(n uint8) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}
