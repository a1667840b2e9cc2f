package craft

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
)

// An RFC 4950 extension as a Juniper router sends it: labels 16001 and
// 299776 (bottom of stack), TTL 1, structure checksum computed.
func TestMPLSExtensionGolden(t *testing.T) {
	stack := []MPLSEntry{{Label: 16001, TC: 0, TTL: 1}, {Label: 299776, TC: 5, S: true, TTL: 1}}
	got := AppendMPLSExtension(nil, stack)
	// 2000 ssss | 000c 01 01 | 03e8 1001 | 4930 0b01
	want, _ := hex.DecodeString("2000" + "0000" + "000c0101" + "03e81001" + "49300b01")
	sum := got[2:4]
	copy(want[2:4], sum)
	if !bytes.Equal(got, want) {
		t.Fatalf("extension:\n got %x\nwant %x", got, want)
	}
	if Checksum(got) != 0 {
		t.Fatalf("structure checksum %x does not verify", sum)
	}
	body := append(make([]byte, ICMPExtMinQuote), got...)
	for _, tc := range []struct {
		name string
		rest uint32
	}{{"length field 32 words", 32 << 16}, {"no length field: byte 128", 0}} {
		objs, err := ICMPExtensions(tc.rest, body)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		entries, err := AppendMPLSEntries(nil, objs)
		if err != nil || !slices.Equal(entries, stack) {
			t.Fatalf("%s: entries %+v, %v; want %+v", tc.name, entries, err, stack)
		}
	}
}

func TestICMPExtensionsRefused(t *testing.T) {
	ext := AppendMPLSExtension(nil, []MPLSEntry{{Label: 42, S: true, TTL: 1}})
	body := append(make([]byte, ICMPExtMinQuote), ext...)
	bad := slices.Clone(body)
	bad[ICMPExtMinQuote+5]++ // the object's length, under the checksum
	for _, tc := range []struct {
		name string
		rest uint32
		body []byte
		want error // nil: no extension, no error
	}{
		{"length below 128 bytes", 8 << 16, body, ErrMalformed},
		{"length past the body", 40 << 16, body, ErrTruncated},
		{"no extension, no length", 0, make([]byte, 28), nil},
		{"bad checksum with a length", 32 << 16, bad, ErrMalformed},
		{"bad checksum without a length", 0, bad, nil},
		{"zero checksum without a length", 0, append(make([]byte, ICMPExtMinQuote), 0x20, 0, 0, 0, 0, 4, 1, 1), nil},
	} {
		objs, err := ICMPExtensions(tc.rest, tc.body)
		if tc.want == nil && (err != nil || objs != nil) || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %x, %v; want %v", tc.name, objs, err, tc.want)
		}
	}
	if _, err := AppendMPLSEntries(nil, []byte{0, 2, 1, 1}); !errors.Is(err, ErrMalformed) {
		t.Errorf("object length 2: %v", err)
	}
	if _, err := AppendMPLSEntries(nil, []byte{0, 12, 1, 1, 0, 0}); !errors.Is(err, ErrTruncated) {
		t.Errorf("object past the end: %v", err)
	}
}

func TestAppendMPLSEntriesAllocs(t *testing.T) {
	objs, _ := ICMPExtensions(32<<16, append(make([]byte, ICMPExtMinQuote), AppendMPLSExtension(nil, []MPLSEntry{{Label: 1}, {Label: 2, S: true}})...))
	dst := make([]MPLSEntry, 0, 4)
	if n := testing.AllocsPerRun(100, func() { dst, _ = AppendMPLSEntries(dst[:0], objs) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// FuzzICMPExtensions feeds extension structures to both finders and
// explains the ICMP and ICMPv6 errors that would carry them.
func FuzzICMPExtensions(f *testing.F) {
	mpls := AppendMPLSExtension(nil, []MPLSEntry{{Label: 7, S: true, TTL: 1}})
	two := AppendMPLSExtension(nil, []MPLSEntry{{Label: 16001, TTL: 1}, {Label: 299776, TC: 5, S: true, TTL: 1}})
	f.Add(uint32(32<<16), append(make([]byte, ICMPExtMinQuote), mpls...))
	f.Add(uint32(0), append(make([]byte, ICMPExtMinQuote), two...))
	f.Add(uint32(0), append(make([]byte, ICMPExtMinQuote), 0x20, 0, 0xdf, 0xfb, 0, 4, 1, 1))
	f.Add(uint32(255<<16), []byte{1, 2, 3})
	f.Add(uint32(16<<24), append(make([]byte, ICMPExtMinQuote), two...))                                      // ICMPv6: 16 × 8 bytes
	f.Add(uint32(32<<16), append(make([]byte, ICMPExtMinQuote), 0x20, 0, 0, 0, 0, 3, 1, 1, 0, 0))             // object length 3
	f.Add(uint32(32<<16), append(make([]byte, ICMPExtMinQuote), 0x20, 0, 0, 0, 0, 7, 1, 1, 0, 0, 1))          // MPLS object with a partial entry
	f.Add(uint32(32<<16), append(make([]byte, ICMPExtMinQuote), 0x20, 0, 0, 0, 0, 8, 2, 1, 0, 0, 0, 7))       // interface information
	f.Add(uint32(32<<16), append(make([]byte, ICMPExtMinQuote), 0x20, 0, 0, 0))                               // a header without objects
	f.Add(uint32(32<<16), append(make([]byte, ICMPExtMinQuote), 0x20, 0, 0x12, 0x34, 0, 8, 1, 1, 0, 0, 1, 1)) // a checksum that fails
	f.Add(uint32(32<<16), append(make([]byte, ICMPExtMinQuote), 0x10, 0, 0, 0, 0, 8, 1, 1, 0, 0, 1, 1))       // version 1
	f.Add(uint32(32<<16), append(make([]byte, ICMPExtMinQuote), 0x20, 0, 0x12, 0x34, 0, 16, 1, 1, 0, 0, 1))   // an object cut short
	f.Fuzz(func(t *testing.T, rest uint32, body []byte) {
		for _, find := range []func(uint32, []byte) ([]byte, error){ICMPExtensions, ICMPv6Extensions} {
			objs, err := find(rest, body)
			if err != nil {
				continue
			}
			if len(objs) > 0 && !inside(objs, body) {
				t.Fatal("objects outside the body")
			}
			entries, _ := AppendMPLSEntries(nil, objs)
			if len(entries) > len(objs)/4 {
				t.Fatalf("%d entries from %d bytes", len(entries), len(objs))
			}
		}
		if len(body) > 1400 {
			return
		}
		for _, p := range []Packet{
			{IPv4: &IPv4{Src: hs, Dst: hc}, ICMP: &ICMP{Type: ICMPTimeExceeded, Rest: rest}, Payload: body},
			{IPv4: &IPv4{Src: hs, Dst: hc}, ICMP: &ICMP{Type: ICMPParamProblem, Rest: rest}, Payload: body},
			{IPv6: &IPv6{Src: hs6, Dst: hc6}, ICMPv6: &ICMPv6{Type: ICMPv6Unreachable, Rest: rest}, Payload: body},
		} {
			b, err := p.Append(nil)
			if err != nil {
				continue
			}
			d := Decoded{AcceptIPv6: true}
			err = d.DecodeIP(b)
			checkDecoded(t, &d, b, err)
		}
	})
}
