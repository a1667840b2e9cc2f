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

// Reader reads a pcap file written by Writer or by libpcap (either byte
// order, micro- or nanosecond timestamps).
type Reader struct {
	r     io.Reader
	order binary.ByteOrder
	nano  bool
	// LinkType of every record in the file.
	LinkType uint32
	snap     uint32
}

// ErrFormat is returned for a file that is not a pcap file.
var ErrFormat = errors.New("pcap: not a pcap file")

// NewReader reads the file header.
func NewReader(r io.Reader) (*Reader, error) {
	var h [24]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	rd := &Reader{r: r}
	switch {
	case binary.LittleEndian.Uint32(h[:]) == magicNano:
		rd.order, rd.nano = binary.LittleEndian, true
	case binary.LittleEndian.Uint32(h[:]) == magicMicro:
		rd.order = binary.LittleEndian
	case binary.BigEndian.Uint32(h[:]) == magicNano:
		rd.order, rd.nano = binary.BigEndian, true
	case binary.BigEndian.Uint32(h[:]) == magicMicro:
		rd.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: magic %x", ErrFormat, h[:4])
	}
	rd.snap = rd.order.Uint32(h[16:])
	rd.LinkType = rd.order.Uint32(h[20:]) & 0x0fffffff
	return rd, nil
}

// Next reads the next record, or returns io.EOF.
func (r *Reader) Next() (Record, error) {
	var h [16]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return Record{}, fmt.Errorf("pcap: truncated record header")
		}
		return Record{}, err
	}
	sec, frac := r.order.Uint32(h[0:]), r.order.Uint32(h[4:])
	incl, orig := r.order.Uint32(h[8:]), r.order.Uint32(h[12:])
	if incl > SnapLen || (r.snap > 0 && incl > r.snap && incl > 65535) {
		return Record{}, fmt.Errorf("pcap: record of %d bytes is larger than the file's snap length %d", incl, r.snap)
	}
	data := make([]byte, incl)
	if _, err := io.ReadFull(r.r, data); err != nil {
		return Record{}, fmt.Errorf("pcap: truncated record: %v", err)
	}
	if !r.nano {
		frac *= 1000
	}
	return Record{Time: time.Unix(int64(sec), int64(frac)), Data: data, OrigLen: int(orig)}, nil
}
