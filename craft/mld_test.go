package craft

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// The RFC 3810 §5.1.3 and §5.1.9 examples of the floating-point codes.
func TestMLDCodes(t *testing.T) {
	for _, c := range []struct {
		code uint16
		want uint32
	}{{0, 0}, {1000, 1000}, {0x7fff, 0x7fff}, {0x8000, 0x1000 << 3}, {0xffff, 0x1fff << 10}} {
		if got := MLDMaxRespDelay(c.code); got != c.want {
			t.Errorf("Maximum Response Code 0x%04x: %d ms, want %d", c.code, got, c.want)
		}
	}
	for _, c := range []struct {
		code uint8
		want uint32
	}{{125, 125}, {0x80, 0x10 << 3}, {0xff, 0x1f << 10}} {
		if got := MLDQueryInterval(c.code); got != c.want {
			t.Errorf("QQIC 0x%02x: %d s, want %d", c.code, got, c.want)
		}
	}
}

func TestParseMLDRefuses(t *testing.T) {
	q := &ICMPv6{Type: ICMPv6MLDQuery}
	if _, err := ParseMLD(q, make([]byte, 10)); !errors.Is(err, ErrTruncated) {
		t.Errorf("short query: %v", err)
	}
	if _, err := ParseMLD(q, make([]byte, 18)); !errors.Is(err, ErrMalformed) {
		t.Errorf("26-byte query (RFC 3810 §8.1 ignores it): %v", err)
	}
	if m, err := ParseMLD(q, make([]byte, 16)); err != nil || m.Version != 1 {
		t.Errorf("24-byte query: version %d, %v", m.Version, err)
	}
	if _, err := ParseMLD(&ICMPv6{Type: ICMPv6EchoRequest}, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("echo request: %v", err)
	}
	rec := binary.BigEndian.AppendUint16([]byte{1, 1}, 2) // two sources and one aux word announced
	rec = append(rec, make([]byte, 16+16)...)
	if r, _, err := NextMLDRecord(rec, 0); !errors.Is(err, ErrTruncated) || len(r.Sources) != 16 {
		t.Errorf("record cut short: %d source bytes, %v", len(r.Sources), err)
	}
}

func FuzzMLD(f *testing.F) {
	f.Add(ICMPv6MLDQuery, uint32(10000<<16), make([]byte, 16))
	f.Add(ICMPv6MLDQuery, uint32(0x8abc<<16), append(make([]byte, 16), 0x0a, 0x95, 0, 1))
	f.Add(ICMPv6MLDQuery, uint32(0), append(append(make([]byte, 16), 0x0a, 0x95, 0, 2), make([]byte, 20)...))
	f.Add(ICMPv6MLDReport, uint32(0), make([]byte, 16))
	f.Add(ICMPv6MLDDone, uint32(0), make([]byte, 15))
	f.Add(ICMPv6MLDv2Report, uint32(2), append([]byte{4, 0, 0, 0}, make([]byte, 16)...))
	f.Add(ICMPv6MLDv2Report, uint32(1), append([]byte{1, 1, 0, 1}, make([]byte, 36)...))
	f.Add(ICMPv6MLDv2Report, uint32(1), []byte{1, 255, 255, 255})
	f.Fuzz(func(t *testing.T, typ uint8, rest uint32, body []byte) {
		h := &ICMPv6{Type: typ, Rest: rest}
		m, err := ParseMLD(h, body)
		if err == nil && (len(m.Sources) > 0 && !inside(m.Sources, body) || len(m.Sources)%16 != 0 || len(m.Sources)/16 > int(m.NumSources)) {
			t.Fatalf("sources %d bytes of %d announced", len(m.Sources), m.NumSources)
		}
		for off := 0; off < len(m.Records); {
			r, next, rerr := NextMLDRecord(m.Records, off)
			if next <= off {
				t.Fatalf("records do not advance at %d", off)
			}
			if len(r.Sources)%16 != 0 || len(r.Sources)/16 > int(r.NumSources) || len(r.Aux) > 4*int(r.AuxLen) {
				t.Fatalf("record %+v", r)
			}
			if rerr != nil {
				break
			}
			off = next
		}
		if len(body) > 1400 {
			return
		}
		b, err := (&Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, ICMPv6: h, Payload: body}).Append(nil)
		if err != nil {
			return
		}
		d := Decoded{AcceptIPv6: true}
		err = d.DecodeIP(b)
		checkDecoded6(t, &d, b, err)
	})
}

func TestParseMLDAllocs(t *testing.T) {
	h := &ICMPv6{Type: ICMPv6MLDv2Report, Rest: 1}
	body := append([]byte{1, 0, 0, 1}, make([]byte, 32)...)
	q := &ICMPv6{Type: ICMPv6MLDQuery}
	qb := append(make([]byte, 16), 0x0a, 0x95, 0, 1)
	qb = append(qb, make([]byte, 16)...)
	if n := testing.AllocsPerRun(100, func() {
		m, _ := ParseMLD(h, body)
		_, _, _ = NextMLDRecord(m.Records, 0)
		_, _ = ParseMLD(q, qb)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// A short MLD message is malformed in the decoder's verdict, as tshark says
// (found by the differential harness: a report of 8 bytes, a version 2
// report whose record is cut, were decoded without a word), and a whole one
// is not.
func TestDecodeShortMLD(t *testing.T) {
	frame := func(typ uint8, body []byte) []byte {
		src, dst := [16]byte{0xfe, 0x80, 15: 1}, [16]byte{0xff, 0x02, 15: 0x16}
		icmp := append([]byte{typ, 0, 0, 0, 0, 0, 0, 0}, body...) // checksum 0: not what is tested
		if typ == ICMPv6MLDv2Report {
			icmp[7] = 1 // one record
		}
		ip := append([]byte{0x60, 0, 0, 0, 0, 0, ProtoICMPv6, 1}, src[:]...)
		ip = append(ip, dst[:]...)
		binary.BigEndian.PutUint16(ip[4:], uint16(len(icmp)))
		f := append([]byte{0x33, 0x33, 0, 0, 0, 0x16, 2, 0, 0, 0, 0, 1, 0x86, 0xdd}, ip...)
		return append(f, icmp...)
	}
	rec := append([]byte{4, 0, 0, 1}, make([]byte, 16)...) // CHANGE_TO_EXCLUDE, one source announced
	for _, c := range []struct {
		name string
		typ  uint8
		body []byte
		bad  bool
	}{
		{"report without its multicast address", ICMPv6MLDReport, nil, true},
		{"done of 20 bytes", ICMPv6MLDDone, make([]byte, 12), true},
		{"query of 26 bytes", ICMPv6MLDQuery, make([]byte, 18), true},
		{"version 2 query counting a source it lacks", ICMPv6MLDQuery, append(make([]byte, 18), 0, 1), true},
		{"version 2 report whose record lacks its source", ICMPv6MLDv2Report, rec, true},
		{"whole report", ICMPv6MLDReport, make([]byte, 16), false},
		{"whole version 2 report", ICMPv6MLDv2Report, append(rec, make([]byte, 16)...), false},
	} {
		var d Decoded
		d.AcceptIPv6 = true
		err := d.DecodeFrame(frame(c.typ, c.body))
		var pe *ParseError
		if got := errors.Is(err, ErrMalformed) && errors.As(err, &pe) && pe.Layer == "MLD"; got != c.bad {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestExplainCutMLDRecord: a version 2 report's record whose header is
// whole but whose sources run past the message shows its fields and the
// sources present, then the cut bytes (found by the differential harness:
// tshark shows the record's multicast address, rawcraft showed none).
func TestExplainCutMLDRecord(t *testing.T) {
	group := netip.MustParseAddr("ff02::1:3")
	rec := append([]byte{4, 0, 0, 2}, group.AsSlice()...) // two sources announced
	body := append(append(rec, hs6.AsSlice()...), 1, 2, 3, 4, 5)
	b := mustBuild(t, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, ICMPv6: &ICMPv6{Type: ICMPv6MLDv2Report, Rest: 1}, Payload: body})
	d := Decoded{AcceptIPv6: true}
	if err := d.DecodeIP(b); !errors.Is(err, ErrMalformed) {
		t.Fatalf("error %v, want malformed", err)
	}
	var got []string
	for _, f := range Explain(&d) {
		if f.Layer == "MLD" || f.Layer == "ICMPv6" {
			got = append(got, f.Name+"="+f.Text)
		}
	}
	want := []string{"Multicast Address=" + group.String(), "Source Address=" + hs6.String(), "Data=5 bytes: "}
	s := strings.Join(got, " | ")
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("explanation %q lacks %q", s, w)
		}
	}
}
