package craft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Multicast Listener Discovery (MLD) message types, carried in ICMPv6.
const (
	ICMPv6MLDQuery    uint8 = 130 // Multicast Listener Query (RFC 2710 §3.6; version 2, RFC 3810 §5.1)
	ICMPv6MLDReport   uint8 = 131 // Multicast Listener Report, version 1 (RFC 2710 §3)
	ICMPv6MLDDone     uint8 = 132 // Multicast Listener Done (RFC 2710 §3)
	ICMPv6MLDv2Report uint8 = 143 // Version 2 Multicast Listener Report (RFC 3810 §5.2)
)

// MLD lengths (RFC 2710 §3, RFC 3810 §5.1.1, §5.2).
const (
	mldV1Body    = 16 // after the 8-byte ICMPv6 header: the multicast address
	mldV2QueryHd = 20 // multicast address, S/QRV, QQIC, number of sources
	mldRecordHd  = 20 // record type, aux data len, number of sources, multicast address
)

// MLD is an MLD message (RFC 2710, RFC 3810) decoded from an ICMPv6 header
// and its body. The slices are views of the body.
//
// Version 1 query, report and done (RFC 2710 §3), and the version 2 query
// (RFC 3810 §5.1), which adds the last row and the sources:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Maximum Response Delay     |          Reserved             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Multicast Address (128 bits)                 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Resv  |S| QRV |     QQIC      |     Number of Sources (N)     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|               Source Address [1..N] (128 bits each)           |
//
// The version 2 report (RFC 3810 §5.2): a reserved word half, the number
// of multicast address records, and the records.
type MLD struct {
	Type    uint8
	Version int    // 1 or 2: a query of 24 bytes is version 1, of 28 or more version 2 (RFC 3810 §8.1)
	MaxResp uint16 // Maximum Response Delay (v1, ms) or Maximum Response Code (v2 query)
	// Reserved is the reserved 16 bits: after MaxResp in a query, report
	// or done; the first half of the word in a version 2 report.
	Reserved  uint16
	Multicast netip.Addr // the group (queries, v1 reports, done)
	// Version 2 query.
	Resv       uint8 // 4 reserved bits
	S          bool  // suppress router-side processing
	QRV        uint8 // querier's robustness variable, 3 bits
	QQIC       uint8 // querier's query interval code
	NumSources uint16
	Sources    []byte // 16 bytes per source present
	// Version 2 report.
	NumRecords uint16
	Records    []byte // the records, read with NextMLDRecord
}

// MLDRecord is one multicast address record of a version 2 report
// (RFC 3810 §5.2.1). Sources and Aux are views.
type MLDRecord struct {
	Type       uint8 // 1 MODE_IS_INCLUDE … 6 BLOCK_OLD_SOURCES (RFC 3810 §5.2.12)
	AuxLen     uint8 // auxiliary data, in 32-bit words
	NumSources uint16
	Multicast  netip.Addr
	Sources    []byte // 16 bytes per source
	Aux        []byte
}

// IsMLD reports whether ICMPv6 type t is an MLD message.
func IsMLD(t uint8) bool {
	return t == ICMPv6MLDQuery || t == ICMPv6MLDReport || t == ICMPv6MLDDone || t == ICMPv6MLDv2Report
}

// ParseMLD decodes the MLD message of header h whose body (the bytes after
// the 8-byte header) is body. A body too short for the fixed fields, or a
// query between 24 and 28 bytes (RFC 3810 §8.1 says to ignore it), is an
// error wrapping ErrTruncated or ErrMalformed; the fields read before it
// are kept. Sources a count announces but the body lacks are not an error
// here: Sources holds what is present, NumSources what was announced.
func ParseMLD(h *ICMPv6, body []byte) (MLD, error) {
	m := MLD{Type: h.Type, Version: 1}
	switch h.Type {
	case ICMPv6MLDv2Report:
		m.Version, m.Reserved, m.NumRecords = 2, uint16(h.Rest>>16), uint16(h.Rest)
		m.Records = body
		return m, nil
	case ICMPv6MLDQuery, ICMPv6MLDReport, ICMPv6MLDDone:
	default:
		return m, &ParseError{Layer: "MLD", Field: "type", Err: ErrMalformed, Detail: fmt.Sprintf("type %d is not an MLD message", h.Type)}
	}
	m.MaxResp, m.Reserved = uint16(h.Rest>>16), uint16(h.Rest)
	if len(body) < mldV1Body {
		return m, &ParseError{Layer: "MLD", Field: "multicast address", Offset: ICMPHeaderLen + len(body), Err: ErrTruncated,
			Detail: fmt.Sprintf("%s after the header, the multicast address takes 16", Units(len(body), "byte"))}
	}
	m.Multicast = netip.AddrFrom16([16]byte(body))
	if h.Type != ICMPv6MLDQuery || len(body) == mldV1Body {
		return m, nil
	}
	if len(body) < mldV2QueryHd {
		return m, &ParseError{Layer: "MLD", Field: "query length", Offset: ICMPHeaderLen + len(body), Err: ErrMalformed,
			Detail: fmt.Sprintf("a query of %d bytes: 24 is version 1, 28 or more version 2; RFC 3810 §8.1 ignores the rest", ICMPHeaderLen+len(body))}
	}
	m.Version = 2
	m.Resv, m.S, m.QRV, m.QQIC = body[16]>>4, body[16]&8 != 0, body[16]&7, body[17]
	m.NumSources = binary.BigEndian.Uint16(body[18:])
	src := body[mldV2QueryHd:]
	m.Sources = src[:min(len(src)/16, int(m.NumSources))*16]
	return m, nil
}

// mldShort returns why an MLD message's body holds less than its fields
// announce, or nil: a body short of the fixed fields, a query length RFC
// 3810 §8.1 has ignored, sources a version 2 query counts but lacks, or a
// report record cut short (RFC 2710 §3, RFC 3810 §5.1 and §5.2).
func mldShort(h *ICMPv6, body []byte) error {
	m, err := ParseMLD(h, body)
	switch {
	case err != nil:
		return err
	case h.Type == ICMPv6MLDv2Report:
		for off := 0; off < len(m.Records); {
			_, next, rerr := NextMLDRecord(m.Records, off)
			if rerr != nil {
				return rerr
			}
			off = next
		}
	case m.Version == 2 && len(m.Sources)/16 < int(m.NumSources):
		return &ParseError{Layer: "MLD", Field: "sources", Err: ErrTruncated,
			Detail: fmt.Sprintf("Number of Sources %d, %d present", m.NumSources, len(m.Sources)/16)}
	}
	return nil
}

// NextMLDRecord reads the record at recs[off:] and returns it with the
// offset of the next. A record whose header, sources or auxiliary data run
// past recs is an error wrapping ErrTruncated, with what was there.
func NextMLDRecord(recs []byte, off int) (MLDRecord, int, error) {
	b := recs[off:]
	if len(b) < mldRecordHd {
		return MLDRecord{}, len(recs), &ParseError{Layer: "MLD", Field: "record", Offset: off, Err: ErrTruncated,
			Detail: fmt.Sprintf("%s, a record header takes 20", Units(len(b), "byte"))}
	}
	r := MLDRecord{Type: b[0], AuxLen: b[1], NumSources: binary.BigEndian.Uint16(b[2:]), Multicast: netip.AddrFrom16([16]byte(b[4:]))}
	n := mldRecordHd + 16*int(r.NumSources) + 4*int(r.AuxLen)
	if len(b) < n {
		s := b[mldRecordHd:]
		r.Sources = s[:min(len(s)/16, int(r.NumSources))*16]
		return r, len(recs), &ParseError{Layer: "MLD", Field: "record", Offset: off, Err: ErrTruncated,
			Detail: fmt.Sprintf("%d sources and %d aux words need %d bytes, %d present", r.NumSources, r.AuxLen, n, len(b))}
	}
	r.Sources = b[mldRecordHd : mldRecordHd+16*int(r.NumSources)]
	r.Aux = b[mldRecordHd+16*int(r.NumSources) : n]
	return r, off + n, nil
}

// MLDMaxRespDelay returns the delay in milliseconds a version 2 query's
// Maximum Response Code stands for (RFC 3810 §5.1.3): the code itself
// below 32768, else a floating-point value, (mant | 0x1000) << (exp + 3).
func MLDMaxRespDelay(code uint16) uint32 {
	if code < 0x8000 {
		return uint32(code)
	}
	return (uint32(code&0xfff) | 0x1000) << ((code>>12)&7 + 3)
}

// MLDQueryInterval returns the seconds a QQIC stands for (RFC 3810
// §5.1.9): the code below 128, else (mant | 0x10) << (exp + 3).
func MLDQueryInterval(qqic uint8) uint32 {
	if qqic < 0x80 {
		return uint32(qqic)
	}
	return (uint32(qqic&0xf) | 0x10) << ((qqic>>4)&7 + 3)
}

var mldRecordTypes = [7]string{"", "MODE_IS_INCLUDE: listens to the listed sources only", "MODE_IS_EXCLUDE: listens to all sources but the listed",
	"CHANGE_TO_INCLUDE_MODE: now listens to the listed sources only", "CHANGE_TO_EXCLUDE_MODE: now listens to all sources but the listed",
	"ALLOW_NEW_SOURCES: also listens to the listed sources", "BLOCK_OLD_SOURCES: stops listening to the listed sources"}

// mld explains an MLD message.
func (x *explainer) mld(g *Datagram, h *ICMPv6) {
	m, err := ParseMLD(h, g.Payload)
	body := g.Payload
	if h.Type == ICMPv6MLDv2Report {
		x.rfc = "RFC 3810 §5.2"
		x.add("Reserved", 32, 16, uint64(m.Reserved), "", map[bool]string{true: "zero", false: ClaimReservedIgnored.Text()}[m.Reserved == 0])
		x.add("Nr of Mcast Address Records", 48, 16, uint64(m.NumRecords), "", "multicast address records that follow")
		bit, n := 64, 0
		for off := 0; off < len(m.Records); n++ {
			r, next, rerr := NextMLDRecord(m.Records, off)
			if rerr != nil && len(m.Records)-off < mldRecordHd {
				x.payload(m.Records[off:], ICMPHeaderLen+off, "truncated record: "+rerr.Error())
				return
			}
			rb := bit + 8*off
			rm := "unknown record type"
			if int(r.Type) < len(mldRecordTypes) && r.Type > 0 {
				rm = mldRecordTypes[r.Type]
			}
			x.rfc = "RFC 3810 §5.2.4"
			if n >= int(m.NumRecords) {
				rm += fmt.Sprintf(" (beyond the %d records announced)", m.NumRecords)
			}
			x.add("Record Type", rb, 8, uint64(r.Type), "", rm)
			x.add("Aux Data Len", rb+8, 8, uint64(r.AuxLen), "", fmt.Sprintf("%d × 4 bytes of auxiliary data (none defined: should be 0)", r.AuxLen))
			x.add("Number of Sources", rb+16, 16, uint64(r.NumSources), "", "source addresses in this record")
			x.addAddr("Multicast Address", rb+32, 128, r.Multicast.String(), "the group this record is about")
			x.sources(r.Sources, rb+160, "RFC 3810 §5.2.4")
			if rerr != nil {
				// The record's header is whole: its fields and the
				// sources present are shown, the rest is what is cut.
				rest := off + mldRecordHd + len(r.Sources)
				if rest < len(m.Records) {
					x.payload(m.Records[rest:], ICMPHeaderLen+rest, "truncated record: "+rerr.Error())
				} else {
					x.out[len(x.out)-1].Meaning += "; truncated record: " + rerr.Error()
				}
				return
			}
			if len(r.Aux) > 0 {
				x.add("Auxiliary Data", rb+160+8*len(r.Sources), 8*len(r.Aux), 0, fmt.Sprintf("%s: %x", Units(len(r.Aux), "byte"), r.Aux), "")
			}
			off = next
		}
		return
	}
	v2 := m.Version == 2
	x.rfc = "RFC 2710 §3"
	if v2 {
		x.rfc = "RFC 3810 §5.1"
	}
	switch {
	case v2:
		d := MLDMaxRespDelay(m.MaxResp)
		x.add("Maximum Response Code", 32, 16, uint64(m.MaxResp), "", fmt.Sprintf("listeners answer within %d ms (RFC 3810 §5.1.3)", d))
	case h.Type == ICMPv6MLDQuery:
		x.add("Maximum Response Delay", 32, 16, uint64(m.MaxResp), "", fmt.Sprintf("listeners answer within %d ms", m.MaxResp))
	default:
		x.add("Maximum Response Delay", 32, 16, uint64(m.MaxResp), "", map[bool]string{true: "zero: meaningful only in a query", false: "meaningful only in a query: set to zero by the sender, ignored by receivers"}[m.MaxResp == 0])
	}
	x.add("Reserved", 48, 16, uint64(m.Reserved), "", map[bool]string{true: "zero", false: ClaimReservedIgnored.Text()}[m.Reserved == 0])
	if errorsIsTruncated(err) {
		x.payload(body, ICMPHeaderLen, "truncated MLD message: "+err.Error())
		return
	}
	am := map[uint8]string{ICMPv6MLDReport: "the group the sender listens to", ICMPv6MLDDone: "the group the sender stops listening to"}[h.Type]
	if h.Type == ICMPv6MLDQuery {
		am = "the group asked about: a multicast-address-specific query"
		if m.Multicast.IsUnspecified() {
			am = "unspecified (::): a general query, about every group"
		}
	}
	x.addAddr("Multicast Address", 64, 128, m.Multicast.String(), am)
	if err != nil {
		x.payload(body[mldV1Body:], ICMPHeaderLen+mldV1Body, err.Error())
		return
	}
	if !v2 {
		if len(body) > mldV1Body {
			x.payload(body[mldV1Body:], ICMPHeaderLen+mldV1Body, "bytes past the 24-byte message")
		}
		return
	}
	x.add("Resv", 192, 4, uint64(m.Resv), "", map[bool]string{true: "zero", false: ClaimReservedIgnored.Text()}[m.Resv == 0])
	s := uint64(0)
	if m.S {
		s = 1
	}
	x.add("S", 196, 1, s, "", map[bool]string{true: "suppress router-side processing: routers do not update their timers", false: "routers update their timers"}[m.S])
	x.add("QRV", 197, 3, uint64(m.QRV), "", fmt.Sprintf("querier's robustness variable: %d", m.QRV))
	x.add("QQIC", 200, 8, uint64(m.QQIC), "", fmt.Sprintf("querier's query interval: %d s (RFC 3810 §5.1.9)", MLDQueryInterval(m.QQIC)))
	x.add("Number of Sources", 208, 16, uint64(m.NumSources), "", "source addresses that follow: a source-specific query when not zero")
	x.sources(m.Sources, 224, "RFC 3810 §5.1")
	if rest := body[mldV2QueryHd+len(m.Sources):]; len(rest) > 0 {
		what := "bytes past the sources"
		if len(m.Sources)/16 < int(m.NumSources) {
			what = fmt.Sprintf("%d sources announced, %d whole ones present", m.NumSources, len(m.Sources)/16)
		}
		x.payload(rest, ICMPHeaderLen+mldV2QueryHd+len(m.Sources), what)
	}
}

func (x *explainer) sources(s []byte, bit int, rfc string) {
	for i := 0; i+16 <= len(s); i += 16 {
		x.addRFC("Source Address", bit+8*i, 128, 0, netip.AddrFrom16([16]byte(s[i:])).String(), "", rfc)
		x.out[len(x.out)-1].Address = true
	}
}

func errorsIsTruncated(err error) bool { return err != nil && errors.Is(err, ErrTruncated) }
