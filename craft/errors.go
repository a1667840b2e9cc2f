package craft

import (
	"errors"
	"fmt"
)

// Sentinel errors. A decoder or encoder wraps one of them in a [*ParseError]
// or [*FieldError]; test for them with errors.Is.
var (
	// ErrTruncated: the bytes end before a header or a length says they
	// should. A truncated packet still decodes as far as it goes.
	ErrTruncated = errors.New("truncated")
	// ErrMalformed: a field contradicts the rest of the packet (an IHL below
	// 5, a data offset below 5, an option whose length runs past its header).
	ErrMalformed = errors.New("malformed")
	// ErrRange: a field was given a value that does not fit its width.
	ErrRange = errors.New("value out of range")
	// ErrTooLong: the packet would not fit a 16-bit length field.
	ErrTooLong = errors.New("too long")
	// ErrLayers: the layers of a [Packet] do not stack (a TCP header with no
	// IPv4 header to carry it, two transports, ARP inside IPv4).
	ErrLayers = errors.New("layers do not stack")
)

// ParseError says where decoding stopped: which layer, which field and at
// which byte offset of the input handed to the decoder.
type ParseError struct {
	Layer  string // "Ethernet", "IPv4", "TCP", "UDP", "ICMP", "ARP", or "quoted IPv4" …
	Field  string // the field whose value stopped decoding
	Offset int    // byte offset of that field in the decoder's input
	Err    error  // ErrTruncated or ErrMalformed
	Detail string // what was found, in words
}

func (e *ParseError) Error() string {
	s := fmt.Sprintf("%s %s at byte %d: %v", e.Layer, e.Field, e.Offset, e.Err)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns ErrTruncated or ErrMalformed.
func (e *ParseError) Unwrap() error { return e.Err }

// FieldError says which field of which layer cannot be encoded, and why.
type FieldError struct {
	Layer string
	Field string
	Value uint64
	Max   uint64
	Err   error
}

func (e *FieldError) Error() string {
	if errors.Is(e.Err, ErrRange) {
		return fmt.Sprintf("%s %s %d does not fit: the field holds 0..%d", e.Layer, e.Field, e.Value, e.Max)
	}
	return fmt.Sprintf("%s %s %d: %v (at most %d)", e.Layer, e.Field, e.Value, e.Err, e.Max)
}

// Unwrap returns the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

func rangeErr(layer, field string, v, max uint64) error {
	return &FieldError{Layer: layer, Field: field, Value: v, Max: max, Err: ErrRange}
}
