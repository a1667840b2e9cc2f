package craft_test

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
)

// tsharkValues returns tshark's value strings of field (tshark -G values).
func tsharkValues(t *testing.T, tshark, field string) map[int]string {
	t.Helper()
	out, err := exec.Command(tshark, "-G", "values").Output()
	if err != nil {
		t.Fatalf("tshark -G values: %v", err)
	}
	m := map[int]string{}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Split(l, "\t")
		if len(f) == 4 && f[0] == "V" && f[1] == field {
			n, _ := strconv.Atoi(f[2])
			m[n] = f[3]
		}
	}
	if len(m) == 0 {
		t.Fatalf("tshark knows no values of %s", field)
	}
	return m
}

// TestTCPOptionNamesAgainstTshark: every TCP option kind tshark names,
// rawcraft names the same way, and rawcraft names no kind tshark does not.
func TestTCPOptionNamesAgainstTshark(t *testing.T) {
	tshark := oracle.Require(t, "tshark")
	theirs := tsharkValues(t, tshark, "tcp.option_kind")
	for k := range 256 {
		ours := craft.TCPOptionName(uint8(k))
		want, ok := theirs[k]
		switch {
		case ok && ours != want:
			t.Errorf("kind %d: rawcraft %q, tshark %q", k, ours, want)
		case !ok && !strings.HasPrefix(ours, "unknown kind"):
			t.Errorf("kind %d: rawcraft names it %q, tshark does not know it", k, ours)
		}
		if rfc := craft.TCPOptionRFC(uint8(k)); ok && (rfc == "" || rfc == "RFC 9293 §3.1" && k > 1) {
			t.Errorf("kind %d (%s) cites %q, not the document that defines it", k, want, rfc)
		}
	}
}

// tcpOptionKeys maps tshark's TCP option fields to rawcraft's field names
// (a name ending in "*" matches by prefix).
var tcpOptionKeys = []struct{ key, name string }{
	{"tcp.option_kind", "Kind"}, {"tcp.option_len", "Length"}, {"tcp.options.mss_val", "MSS Value"},
	{"tcp.options.wscale.shift", "Shift Count"}, {"tcp.options.sack_le", "Left Edge of*"}, {"tcp.options.sack_re", "Right Edge of*"},
	{"tcp.options.timestamp.tsval", "TSval"}, {"tcp.options.timestamp.tsecr", "TSecr"}, {"tcp.options.tfo.cookie", "Cookie"},
	{"tcp.options.experimental.exid", "ExID"}, {"tcp.options.md5.digest", "MD5 Digest"},
}

// rawField is one occurrence of a field in tshark -T json -x: its value
// and where its bytes are in the frame.
type rawField struct {
	key, value  string
	offset, len int
}

// rawFields returns, in document order, the occurrences of keys in one
// packet of tsharkPackets' output (read with -x).
func rawFields(m map[string][]string, keys ...string) map[string][]rawField {
	out := map[string][]rawField{}
	for _, k := range keys {
		vals, raws := m[k], m[k+"_raw"]
		for i := 0; i < len(vals) && 5*i+2 < len(raws); i++ {
			off, _ := strconv.Atoi(raws[5*i+1])
			n, _ := strconv.Atoi(raws[5*i+2])
			out[k] = append(out[k], rawField{k, vals[i], off, n})
		}
	}
	return out
}

// sameValue compares a tshark value ("34", "0xf989", "01:02:…") with a
// rawcraft field.
func sameValue(theirs string, f craft.Field) bool {
	if theirs == f.Text {
		return true
	}
	switch f.Name { // tshark shows what these codes stand for (RFC 3810 §5.1.3, §5.1.9)
	case "Maximum Response Code":
		return theirs == fmt.Sprint(craft.MLDMaxRespDelay(uint16(f.Value)))
	case "QQIC":
		return theirs == fmt.Sprint(craft.MLDQueryInterval(uint8(f.Value)))
	}
	if v, err := strconv.ParseUint(theirs, 0, 64); err == nil && !strings.Contains(theirs, ":") {
		return v == f.Value
	}
	text := f.Text
	if _, hex, ok := strings.Cut(text, " bytes: "); ok {
		text = hex
	}
	return strings.ReplaceAll(theirs, ":", "") == text
}

// compareRaw checks that the fields of layer named as keys says appear in
// ours in the same order, at the same byte offset and length, with the
// same value.
func compareRaw(t *testing.T, what string, m map[string][]string, fields []craft.Field, layer string, keys []struct{ key, name string }) int {
	t.Helper()
	var names []string
	for _, k := range keys {
		names = append(names, k.key)
	}
	theirs := rawFields(m, names...)
	n := 0
	for _, k := range keys {
		var ours []craft.Field
		for _, f := range fields {
			if (k.key == "icmp.length" || k.key == "icmpv6.length") && f.Value == 0 {
				continue // tshark shows the RFC 4884 length only when it is set
			}
			if f.Layer == layer && (f.Name == k.name || strings.HasSuffix(k.name, "*") && strings.HasPrefix(f.Name, strings.TrimSuffix(k.name, "*"))) {
				ours = append(ours, f)
			}
		}
		var th []rawField
		for _, r := range theirs[k.key] {
			if !inPadding(r, fields, layer) {
				th = append(th, r)
			}
		}
		if len(th) != len(ours) {
			t.Errorf("%s: %d %s fields, tshark %d %s (%v)", what, len(ours), k.name, len(th), k.key, th)
			continue
		}
		for i, f := range ours {
			r := th[i]
			// tshark places a field of a few bits at the bytes holding it
			if f.Offset != r.offset || (f.Bit%8+f.Width+7)/8 != r.len || !sameValue(r.value, f) {
				t.Errorf("%s: %s %s at byte %d, %d bits, value %q (%d); tshark %s at byte %d, %d bytes, %q", what, layer, f.Name, f.Offset, f.Width, f.Text, f.Value, k.key, r.offset, r.len, r.value)
			}
			n++
		}
	}
	return n
}

// inPadding reports whether tshark's field r lies in the padding after
// End of Option List, where tshark reads every zero byte as one more EOL
// option: rawcraft reads them as the header's padding, as RFC 9293 §3.1
// says ("The TCP header padding ... is composed of zeros") and RFC 791
// §3.1 for IPv4 ("The internet header padding ... is zero").
func inPadding(r rawField, fields []craft.Field, layer string) bool {
	for _, f := range fields {
		if f.Layer == layer && f.Name == "Padding" && r.offset >= f.Offset && r.offset < f.Offset+f.Width/8 && r.value == "0" {
			return true
		}
	}
	return false
}

// TestTCPOptionFieldsAgainstTshark: for generated option lists (every kind
// rawcraft decodes, unknown kinds, at every alignment), each option field
// rawcraft explains is one tshark dissects, at the same byte offset and
// length, with the same value; and an option's length is malformed for
// rawcraft exactly when tshark says "Invalid length for option", for
// every kind tshark knows with lengths 2 to 19.
func TestTCPOptionFieldsAgainstTshark(t *testing.T) {
	tshark := oracle.Require(t, "tshark")
	r := rand.New(rand.NewPCG(24, 2))
	var frames [][]byte
	for range 300 {
		p := craft.Packet{Ethernet: eth(), IPv4: ip4(), TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Flags: craft.TCPSyn, Options: genTCPOptions(r)}}
		frames = append(frames, build(t, p))
	}
	gen := len(frames)
	kinds := tsharkValues(t, tshark, "tcp.option_kind")
	type lenCase struct{ kind, len int }
	var lens []lenCase
	for k := range kinds {
		if k <= 1 {
			continue
		}
		for l := 2; l <= 19; l++ {
			opts := make([]byte, l)
			opts[0], opts[1] = byte(k), byte(l)
			if k == 254 || k == 253 {
				opts = append(opts[:2], append([]byte{0xf9, 0x89}, opts[2:]...)[:l-2]...)
			}
			lens = append(lens, lenCase{k, l})
			frames = append(frames, build(t, craft.Packet{Ethernet: eth(), IPv4: ip4(), TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Flags: craft.TCPSyn, Options: opts}}))
		}
	}
	ts := runTsharkOpts(t, tshark, frames, "-x")
	compared := 0
	for i, b := range frames {
		c := explainCase{b: b, frame: true}
		fields := c.fields()
		what := fmt.Sprintf("packet %d (options %x)", i, b[54:14+4*int(b[46]>>4)+20])
		if i < gen {
			compared += compareRaw(t, what, ts[i], fields, "TCP", tcpOptionKeys)
			continue
		}
		lc := lens[i-gen]
		ours := false
		for _, f := range fields {
			ours = ours || f.Layer == "TCP" && (f.Name == "Length" || f.Name == "Kind") && (strings.Contains(f.Meaning, "malformed") || strings.Contains(f.Meaning, "wrong for"))
		}
		theirs := len(ts[i]["tcp.option.len.invalid"]) > 0
		if ours != theirs {
			if why, ok := tcpLengthDifferences[lc.kind]; ok {
				t.Logf("kind %d length %d: rawcraft malformed %v, tshark %v — deliberate: %s", lc.kind, lc.len, ours, theirs, why)
				continue
			}
			t.Errorf("kind %d (%s) length %d: rawcraft malformed %v, tshark invalid length %v", lc.kind, kinds[lc.kind], lc.len, ours, theirs)
		}
	}
	t.Logf("compared %d option fields of %d generated packets with tshark, and %d kind/length pairs", compared, gen, len(lens))
}

// tcpLengthDifferences lists the kinds whose length rules rawcraft holds
// where tshark checks none, and the RFC sentence that sets the length.
var tcpLengthDifferences = map[int]string{
	5:   `RFC 2018 §3: "A SACK option that specifies n blocks will have a length of 8*n+2 bytes"`,
	9:   `RFC 1693 §3: the Partial Order Connection Permitted option is "Kind: 9 Length: 2"`,
	10:  `RFC 1693 §3: the Partial Order Service Profile option is "Kind: 10 Length: 3"`,
	14:  `RFC 1146 §2: the Alternate Checksum Request option is "Kind: 14 Length: 3"`,
	18:  `IANA tcp-parameters gives the Trailer Checksum Option length 3`,
	30:  `RFC 8684 §3: every MPTCP option carries a subtype in the byte after the length, so it has at least 3 bytes`,
	34:  `RFC 7413 §4.1.1: "Length ... range 6 to 18 (bytes) ... The number MUST be even", or 2 for a cookie request`,
	254: `RFC 7413 §4.1.1 (via ExID 0xf989, IANA TCP ExIDs): a TCP Fast Open cookie makes the length 4, or even from 8 to 20`,
}

// genIPv6Options returns options for a Hop-by-Hop or Destination Options
// header, filled to a multiple of 8 bytes with Pad1 and PadN.
func genIPv6Options(r *rand.Rand) []byte {
	var b []byte
	for len(b) < 30 {
		switch r.IntN(6) {
		case 0:
			b = append(b, craft.IPv6OptPad1)
		case 1:
			b = craft.AppendIPv6OptPadN(b, 2+r.IntN(4))
		case 2:
			b = craft.AppendIPv6OptRouterAlert(b, uint16(r.IntN(3)))
		case 3:
			b = craft.AppendIPv6Opt(b, craft.IPv6OptJumbo, []byte{0, 1, 0, byte(r.IntN(256))})
		default:
			d := make([]byte, r.IntN(6))
			for i := range d {
				d[i] = byte(r.IntN(256))
			}
			b = craft.AppendIPv6Opt(b, byte(0x1e|r.IntN(4)<<6|r.IntN(2)<<5), d)
		}
	}
	for (len(b)+2)%8 != 0 {
		if n := 8 - (len(b)+2)%8; n >= 2 {
			b = craft.AppendIPv6OptPadN(b, n)
		} else {
			b = append(b, craft.IPv6OptPad1)
		}
	}
	return b
}

// TestIPv6OptionFieldsAgainstTshark: the option fields of generated
// Hop-by-Hop and Destination Options headers are where tshark finds them,
// with its values; and every one is drawn in the header's diagram.
func TestIPv6OptionFieldsAgainstTshark(t *testing.T) {
	tshark := oracle.Require(t, "tshark")
	r := rand.New(rand.NewPCG(24, 4))
	var frames [][]byte
	for range 200 {
		p := craft.Packet{Ethernet: eth(), IPv6: &craft.IPv6{Src: oHc6, Dst: oHs6},
			IPv6Ext: []craft.IPv6Ext{craft.HopByHop(genIPv6Options(r)), craft.DestOpts(genIPv6Options(r))},
			UDP:     &craft.UDP{SrcPort: 1, DstPort: 2}}
		frames = append(frames, build(t, p))
	}
	ts := runTsharkOpts(t, tshark, frames, "-x")
	keys := []keyName{{"ipv6.opt.type", "Option Type"}, {"ipv6.opt.length", "Opt Data Len"},
		{"ipv6.opt.router_alert", "Router Alert Value"}, {"ipv6.opt.jumbo", "Jumbo Payload Length"}}
	n := 0
	for i, b := range frames {
		fields := explainCase{b: b, frame: true}.fields()
		// tshark's fields of both headers, in order, against ours merged
		var merged []craft.Field
		for _, f := range fields {
			if f.Layer == "Hop-by-Hop" || f.Layer == "Dest Options" {
				f.Layer = "options"
				merged = append(merged, f)
			}
		}
		n += compareRaw(t, fmt.Sprintf("packet %d", i), ts[i], merged, "options", keys)
		checkDiagrams(t, fmt.Sprintf("packet %d", i), fields)
		if t.Failed() {
			return
		}
	}
	t.Logf("compared %d IPv6 option fields with tshark", n)
}
