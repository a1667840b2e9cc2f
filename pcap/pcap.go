// Package pcap writes and reads capture files in the classic libpcap format
// (draft-ietf-opsawg-pcap), with nanosecond timestamps, so that Wireshark
// and tcpdump open what rawcraft builds, sends and sees.
package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rawcraft/rawcraft/craft"
)

// Link types (the LINKTYPE_ registry).
const (
	LinkEthernet uint32 = 1   // frames starting with an Ethernet II header
	LinkRaw      uint32 = 101 // packets starting with an IPv4 (or IPv6) header
)

const (
	magicNano  = 0xa1b23c4d // nanosecond timestamps
	magicMicro = 0xa1b2c3d4 // microsecond timestamps
	// SnapLen is the largest record the writer announces.
	SnapLen = 262144
)

// Writer writes records to a pcap file. It is not safe for concurrent use.
type Writer struct {
	w    io.Writer
	link uint32
	hdr  [16]byte
}

// NewWriter writes the file header for link type link and returns a Writer.
func NewWriter(w io.Writer, link uint32) (*Writer, error) {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], magicNano)
	binary.LittleEndian.PutUint16(h[4:], 2) // version 2.4
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], SnapLen)
	binary.LittleEndian.PutUint32(h[20:], link)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &Writer{w: w, link: link}, nil
}

// LinkType returns the link type given to NewWriter.
func (w *Writer) LinkType() uint32 { return w.link }

// Write appends one record captured at t. Writing allocates nothing.
func (w *Writer) Write(t time.Time, data []byte) error {
	if len(data) > SnapLen {
		return fmt.Errorf("pcap: record of %d bytes exceeds the snap length %d", len(data), SnapLen)
	}
	ns := t.UnixNano()
	binary.LittleEndian.PutUint32(w.hdr[0:], uint32(ns/1e9))
	binary.LittleEndian.PutUint32(w.hdr[4:], uint32(ns%1e9))
	binary.LittleEndian.PutUint32(w.hdr[8:], uint32(len(data)))
	binary.LittleEndian.PutUint32(w.hdr[12:], uint32(len(data)))
	if _, err := w.w.Write(w.hdr[:]); err != nil {
		return err
	}
	_, err := w.w.Write(data)
	return err
}

// Record is one packet read back from a file.
type Record struct {
	Time    time.Time
	Data    []byte
	OrigLen int // length on the wire; more than len(Data) when the capture cut it
}

// Truncated reports that the capture kept fewer bytes than the packet had
// on the wire (a snapshot length shorter than the packet).
func (r Record) Truncated() bool { return r.OrigLen > len(r.Data) }

// MaxSnapLen is the largest record a reader accepts: libpcap's
// MAXIMUM_SNAPLEN. A file whose header announces a snapshot length of 0
// or more than this is read with this one, as libpcap does.
const MaxSnapLen = 262144

// linkTypeMask keeps the link type of a file header's link-type field. The
// bits above it carry the FCS length (bits 28-31, with bit 26 saying the
// length is present); libpcap masks them off the same way (LT_LINKTYPE).
const linkTypeMask = 0x03ffffff

// Reader reads a pcap file written by Writer or by libpcap (either byte
// order, micro- or nanosecond timestamps, and the "modified" format of
// Alexey Kuznetsov's patches), with libpcap's rules for damaged files.
type Reader struct {
	r     io.Reader
	order binary.ByteOrder
	nano  bool
	// LinkType of every record in the file (the LINKTYPE_ registry), with
	// the FCS bits masked off.
	LinkType uint32
	// FCSLen is the length in bytes of the frame check sequence at the end
	// of every record (0: none, or not said), from the link-type field.
	FCSLen int
	// SnapLen is the snapshot length the file announces (0 when it says
	// none); records longer than it are cut to it on reading, as libpcap
	// does.
	SnapLen uint32
	snap    uint32 // the length records are cut to
	hdrLen  int    // 16, or 24 in the modified format
	swapped bool   // versions before 2.3 wrote caplen and len the other way round
	hdr     [24]byte
}

// ErrFormat is returned for a file that is not a pcap file.
var ErrFormat = errors.New("pcap: not a pcap file")

const (
	magicModified = 0xa1b2cd34 // Kuznetsov's patched libpcap: 24-byte record headers
)

// NewReader reads the file header.
func NewReader(r io.Reader) (*Reader, error) {
	var h [24]byte
	if n, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: the file is %s, shorter than a pcap file header's 24", ErrFormat, craft.Units(n, "byte"))
		}
		return nil, fmt.Errorf("pcap: reading the file header: %w", err)
	}
	rd := &Reader{r: r, hdrLen: 16}
	le, be := binary.LittleEndian.Uint32(h[:]), binary.BigEndian.Uint32(h[:])
	switch {
	case le == magicNano:
		rd.order, rd.nano = binary.LittleEndian, true
	case le == magicMicro:
		rd.order = binary.LittleEndian
	case le == magicModified:
		rd.order, rd.hdrLen = binary.LittleEndian, 24
	case be == magicNano:
		rd.order, rd.nano = binary.BigEndian, true
	case be == magicMicro:
		rd.order = binary.BigEndian
	case be == magicModified:
		rd.order, rd.hdrLen = binary.BigEndian, 24
	default:
		return nil, fmt.Errorf("%w: magic %x", ErrFormat, h[:4])
	}
	major, minor := rd.order.Uint16(h[4:]), rd.order.Uint16(h[6:])
	rd.swapped = major < 2 || (major == 2 && minor < 3)
	rd.SnapLen = rd.order.Uint32(h[16:])
	rd.snap = rd.SnapLen
	if rd.snap == 0 || rd.snap > MaxSnapLen {
		rd.snap = MaxSnapLen
	}
	field := rd.order.Uint32(h[20:])
	rd.LinkType = field & linkTypeMask
	if field&0x04000000 != 0 {
		rd.FCSLen = int(field>>28) * 2 // in 16-bit units
	}
	return rd, nil
}

// Next reads the next record, or returns io.EOF. A record longer than the
// file's snapshot length is cut to it (Truncated then says so); one longer
// than MaxSnapLen is an error, after which the file cannot be read on.
func (r *Reader) Next() (Record, error) {
	h := r.hdr[:r.hdrLen]
	if _, err := io.ReadFull(r.r, h); err != nil {
		if err == io.ErrUnexpectedEOF {
			return Record{}, fmt.Errorf("pcap: truncated record header")
		}
		return Record{}, err
	}
	sec, frac := r.order.Uint32(h[0:]), r.order.Uint32(h[4:])
	incl, orig := r.order.Uint32(h[8:]), r.order.Uint32(h[12:])
	if r.swapped && incl > orig {
		incl, orig = orig, incl
	}
	if incl > MaxSnapLen {
		return Record{}, fmt.Errorf("pcap: record of %d bytes is larger than the largest snapshot length %d", incl, MaxSnapLen)
	}
	keep := min(incl, r.snap)
	data := make([]byte, keep)
	if n, err := io.ReadFull(r.r, data); err != nil {
		return Record{}, truncatedRecord(n, incl, err)
	}
	if keep < incl {
		if n, err := io.CopyN(io.Discard, r.r, int64(incl-keep)); err != nil {
			return Record{}, truncatedRecord(int(keep)+int(n), incl, err)
		}
	}
	if !r.nano {
		frac *= 1000
	}
	return Record{Time: time.Unix(int64(sec), int64(frac)), Data: data, OrigLen: int(orig)}, nil
}

// truncatedRecord says that the file ends inside a record: n of its incl
// bytes are there. A read error other than the file's end is passed on.
func truncatedRecord(n int, incl uint32, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("pcap: truncated record: the file ends after %d of its %d bytes", n, incl)
	}
	return fmt.Errorf("pcap: reading a record: %w", err)
}
