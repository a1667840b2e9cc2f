package pcap

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rawcraft/rawcraft/craft"
)

// Direction says which way a packet went through the interface it was
// captured on, when the capture says: pcapng's epb_flags option, or the
// packet type of a Linux cooked header (SLL, SLL2).
type Direction uint8

// Directions.
const (
	DirUnknown  Direction = iota // the capture does not say
	DirInbound                   // received by the capturing host
	DirOutbound                  // sent by the capturing host
)

// String names the direction.
func (d Direction) String() string {
	return [...]string{"unknown", "in", "out"}[d]
}

// Packet is one packet of any capture Open reads.
type Packet struct {
	// Time the packet was captured; zero for a hex dump.
	Time time.Time
	// Data holds the captured bytes, starting with the link-layer header
	// LinkType names.
	Data []byte
	// OrigLen is the packet's length on the wire; more than len(Data) when
	// the capture's snapshot length cut it.
	OrigLen int
	// LinkType of Data (the LINKTYPE_ registry: 1 Ethernet, 101 raw IP,
	// 113 Linux SLL, 276 SLL2, 0 BSD loopback…).
	LinkType uint32
	// Interface is the pcapng interface index (0 for other formats).
	Interface int
	// Direction from the capture's metadata (pcapng only; a cooked header
	// carries its own, see ParseLink).
	Direction Direction
}

// Truncated reports that the capture kept fewer bytes than the packet had.
func (p Packet) Truncated() bool { return p.OrigLen > len(p.Data) }

// Format names a capture format Open recognises.
type Format string

// Formats.
const (
	FormatPcap   Format = "pcap"
	FormatPcapNG Format = "pcapng"
	FormatHex    Format = "hex dump"
)

// File reads packets from any capture Open recognises. It is not safe for
// concurrent use.
type File struct {
	// Format of the file, and whether it was gzip-compressed.
	Format Format
	Gzip   bool
	// LinkType of a classic pcap file or of a hex dump (whose link type is
	// guessed: raw IP when the first byte reads as an IPv4 header, else
	// Ethernet); for pcapng, each Packet carries its interface's.
	LinkType uint32
	// LinkGuess says, for a hex dump, which link type was guessed and why
	// ("raw IP: byte 0x45 reads as IPv4 …"); empty otherwise.
	LinkGuess string
	// Packets is the number of packets Next has returned.
	Packets int

	classic *Reader
	ng      *ngReader
	hex     [][]byte
}

// MaxHexText is the largest hex dump Open reads, in bytes of text.
const MaxHexText = 16 << 20

const pcapngMagic = 0x0a0d0d0a // the section header block type

// Open recognises a capture from its first bytes and returns a File that
// reads its packets: classic pcap (libpcap's rules, see Reader), pcapng
// (every section and interface, mixed link types, binary and decimal
// timestamp resolutions, the direction flag), either of them gzip-compressed, or a hex dump in
// text (see ParseHex). Anything else is ErrFormat, naming its first bytes.
func Open(r io.Reader) (*File, error) {
	br := bufio.NewReader(r)
	f := &File{}
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("pcap: %w", gzipError(err))
		}
		f.Gzip = true
		br = bufio.NewReader(gzipReader{zr})
	}
	m, err := br.Peek(4)
	var gz *GzipError
	if errors.As(err, &gz) {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	if len(m) < 4 {
		return nil, fmt.Errorf("%w: %s, shorter than any capture's 4-byte magic number", ErrFormat, f.sizeWords(len(m)))
	}
	le, be := binary.LittleEndian.Uint32(m), binary.BigEndian.Uint32(m)
	switch {
	case le == magicNano || le == magicMicro || le == magicModified || be == magicNano || be == magicMicro || be == magicModified:
		if h, _ := br.Peek(24); len(h) < 24 {
			return nil, fmt.Errorf("%w: %s, shorter than a pcap file header's 24", ErrFormat, f.sizeWords(len(h)))
		}
		rd, err := NewReader(br)
		if err != nil {
			return nil, err
		}
		f.Format, f.classic, f.LinkType = FormatPcap, rd, rd.LinkType
		return f, nil
	case le == pcapngMagic:
		ng, err := newNgReader(br)
		if err != nil {
			return nil, err
		}
		f.Format, f.ng = FormatPcapNG, ng
		return f, nil
	}
	if !textual(m) {
		if f.Gzip {
			return nil, fmt.Errorf("%w: gzip-compressed, and its decompressed data begin %x: neither pcap, pcapng nor a hex dump", ErrFormat, m)
		}
		return nil, fmt.Errorf("%w: magic %x, neither pcap, pcapng, gzip nor a hex dump", ErrFormat, m)
	}
	text, err := io.ReadAll(io.LimitReader(br, MaxHexText+1))
	if err != nil {
		return nil, err
	}
	if len(text) > MaxHexText {
		return nil, fmt.Errorf("pcap: hex dump of more than %d bytes", MaxHexText)
	}
	pkts, err := ParseHex(text)
	if err != nil {
		return nil, err
	}
	if len(pkts) == 0 {
		return nil, fmt.Errorf("%w: text with no hex bytes", ErrFormat)
	}
	f.Format, f.hex = FormatHex, pkts
	f.LinkType, f.LinkGuess = GuessLinkWhy(pkts[0])
	return f, nil
}

// GzipError is a gzip-compressed capture whose compressed stream is cut
// short or damaged (RFC 1952): what is wrong is the compression, not the
// capture inside it.
type GzipError struct {
	What string // "ends early", "damaged at byte 1234", …
	Err  error  // compress/gzip's or compress/flate's error
}

func (e *GzipError) Error() string { return "gzip-compressed input: " + e.What }
func (e *GzipError) Unwrap() error { return e.Err }

// gzipError says in words what a gzip reader's error means.
func gzipError(err error) *GzipError {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &GzipError{"the compressed data ends early: the file was cut short", err}
	case errors.Is(err, gzip.ErrChecksum):
		return &GzipError{"the data does not match its CRC-32: the file is damaged", err}
	case errors.Is(err, gzip.ErrHeader):
		return &GzipError{"a damaged gzip header", err}
	case errors.As(err, &corrupt):
		return &GzipError{fmt.Sprintf("the compressed data is damaged at byte %d", int64(corrupt)), err}
	}
	return &GzipError{err.Error(), err}
}

// gzipReader reads a gzip stream, its errors as GzipError: without it, a
// cut .gz file would read as a cut capture.
type gzipReader struct{ r *gzip.Reader }

func (g gzipReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		return n, gzipError(err)
	}
	return n, err
}

// sizeWords says how long the (decompressed) input is: "the file is 3
// bytes", "its decompressed data are 3 bytes".
func (f *File) sizeWords(n int) string {
	if f.Gzip {
		return "its decompressed data are " + craft.Units(n, "byte")
	}
	return "the file is " + craft.Units(n, "byte")
}

func textual(b []byte) bool {
	for _, c := range b {
		if c != '\t' && c != '\n' && c != '\r' && (c < ' ' || c > '~') {
			return false
		}
	}
	return true
}

// GuessLink returns the link type of bytes of unknown origin (see
// GuessLinkWhy).
func GuessLink(b []byte) uint32 { t, _ := GuessLinkWhy(b); return t }

// GuessLinkWhy returns the link type of bytes of unknown origin and why, in
// words: LinkRaw when they start as an IPv4 header (version 4, header length
// 20 to 60 bytes) whose total length covers its header and is no more than
// the bytes in hand when those hold a frame's 14-byte header and a known
// EtherType, or as an IPv6 header whose payload length accounts for exactly
// the bytes after it (version 6 alone would take an Ethernet frame to a MAC
// beginning 6x: for one); LinkEthernet when bytes 12-13 hold a known
// EtherType (IPv4, IPv6, ARP, 802.1Q, 802.1ad), and by default.
func GuessLinkWhy(b []byte) (uint32, string) {
	ethType := -1
	if len(b) >= 14 {
		switch et := binary.BigEndian.Uint16(b[12:]); et {
		case EtherTypeIPv4, EtherTypeIPv6, EtherTypeARP, EtherTypeVLAN, EtherTypeQinQ:
			ethType = int(et)
		}
	}
	if len(b) >= 4 && b[0]>>4 == 4 && b[0]&0xf >= 5 {
		hl, tl := int(b[0]&0xf)*4, int(binary.BigEndian.Uint16(b[2:]))
		switch {
		case tl == len(b):
			return LinkRaw, fmt.Sprintf("raw IP: byte 0x%02x reads as IPv4 (version 4, a %d-byte header) and its total length %d is the dump's length", b[0], hl, tl)
		case tl >= hl && ethType < 0:
			return LinkRaw, fmt.Sprintf("raw IP: byte 0x%02x reads as IPv4 (version 4, a %d-byte header) with total length %d, the dump holds %s, and bytes 12-13 name no known EtherType", b[0], hl, tl, craft.Units(len(b), "byte"))
		}
	}
	if len(b) >= 40 && b[0]>>4 == 6 && 40+int(binary.BigEndian.Uint16(b[4:6])) == len(b) {
		return LinkRaw, fmt.Sprintf("raw IP: byte 0x%02x reads as IPv6 and its payload length %d accounts for the %d bytes after its header", b[0], len(b)-40, len(b)-40)
	}
	if ethType >= 0 {
		return LinkEthernet, fmt.Sprintf("Ethernet: bytes 12-13 hold EtherType 0x%04x", ethType)
	}
	return LinkEthernet, "Ethernet: the bytes read as neither an IPv4 or IPv6 header nor a frame with a known EtherType; Ethernet is the default (--link raw to read them as IP)"
}

// Next returns the next packet, or io.EOF after the last one. An error
// other than io.EOF ends the file: the packets before it stand.
func (f *File) Next() (Packet, error) {
	p, err := f.next()
	if err == nil {
		f.Packets++
	}
	return p, err
}

func (f *File) next() (Packet, error) {
	switch {
	case f.classic != nil:
		rec, err := f.classic.Next()
		if err != nil {
			return Packet{}, err
		}
		return Packet{Time: rec.Time, Data: rec.Data, OrigLen: rec.OrigLen, LinkType: f.LinkType}, nil
	case f.ng != nil:
		return f.ng.next()
	default:
		if len(f.hex) == 0 {
			return Packet{}, io.EOF
		}
		b := f.hex[0]
		f.hex = f.hex[1:]
		return Packet{Data: b, OrigLen: len(b), LinkType: f.LinkType}, nil
	}
}

// ReadAll reads every packet of r (see Open). It returns the packets read
// before an error together with the error.
func ReadAll(r io.Reader) (*File, []Packet, error) {
	f, err := Open(r)
	if err != nil {
		return nil, nil, err
	}
	var ps []Packet
	for {
		p, err := f.Next()
		if err == io.EOF {
			return f, ps, nil
		}
		if err != nil {
			return f, ps, err
		}
		ps = append(ps, p)
	}
}
