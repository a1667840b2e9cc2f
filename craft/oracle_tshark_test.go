package craft_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/pcap"
)

var (
	oHs = netip.MustParseAddr("198.18.1.1")
	oHc = netip.MustParseAddr("198.18.1.3")
)

// oracleRow is one packet of the dissection matrix.
type oracleRow struct {
	name string
	p    craft.Packet
	pad  int // pad the frame with zeros to this length
}

func eth() *craft.Ethernet {
	return &craft.Ethernet{Dst: craft.MAC{2, 0, 0, 0, 1, 1}, Src: craft.MAC{2, 0, 0, 0, 1, 3}}
}

func ip4() *craft.IPv4 { return &craft.IPv4{Src: oHc, Dst: oHs, ID: 1} }

func synOpts() []byte {
	b := craft.AppendTCPOptMSS(nil, 1460)
	b = craft.AppendTCPOptSACKOK(b)
	b = craft.AppendTCPOptTimestamps(b, 1, 0)
	b = craft.AppendTCPOptNOP(b)
	return craft.AppendTCPOptWScale(b, 7)
}

// negZeroUrgent returns the urgent pointer that makes this SYN's computed
// TCP checksum 0x0000.
func negZeroUrgent(t testing.TB) uint16 {
	b, err := (&craft.Packet{IPv4: ip4(), TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Flags: craft.TCPSyn}}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return uint16(b[36])<<8 | uint16(b[37])
}

func oracleMatrix(t testing.TB) []oracleRow {
	quote := func(p craft.Packet) []byte {
		b, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		return craft.Quote(b)
	}
	udpHello := craft.Packet{IPv4: &craft.IPv4{Src: oHs, Dst: oHc, ID: 7}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello")}
	rows := []oracleRow{
		{name: "TCP SYN with options", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Flags: craft.TCPSyn, Window: 64240, Options: synOpts()}}},
		{name: "TCP data", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Flags: craft.TCPAck | craft.TCPPsh, Seq: 1, Ack: 1, Window: 502}, Payload: []byte("Hello, world")}},
		{name: "TCP wscale 15", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), TCP: &craft.TCP{SrcPort: 1, DstPort: 2, Flags: craft.TCPSyn, Options: craft.AppendTCPOptWScale(craft.AppendTCPOptNOP(nil), 15)}}},
		{name: "UDP Hello", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), UDP: &craft.UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("Hello")}},
		{name: "UDP odd length", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), UDP: &craft.UDP{SrcPort: 40000, DstPort: 8192}, Payload: []byte("llHeo")}},
		{name: "UDP no checksum", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), UDP: &craft.UDP{SrcPort: 1, DstPort: 2, Checksum: craft.Set[uint16](0)}, Payload: []byte("x")}},
		{name: "UDP bad checksum", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), UDP: &craft.UDP{SrcPort: 1, DstPort: 2, Checksum: craft.Set[uint16](0xdead)}, Payload: []byte("Hello")}},
		{name: "TCP bad checksum", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), TCP: &craft.TCP{SrcPort: 1, DstPort: 2, Flags: craft.TCPSyn, Checksum: craft.Set[uint16](0xbeef)}}},
		{name: "TCP checksum -0", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Flags: craft.TCPSyn, Urgent: negZeroUrgent(t), Checksum: craft.Set[uint16](0xffff)}}},
		{name: "IPv4 bad checksum", p: craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHc, Dst: oHs, Checksum: craft.Set[uint16](0xdead)}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}}},
		{name: "IPv4 options", p: craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHc, Dst: oHs, Options: craft.AppendIPOptRecordRoute(nil, 2)}, ICMP: &craft.ICMP{Type: craft.ICMPEcho, Rest: 1<<16 | 1}, Payload: []byte("ping")}},
		{name: "evil DF", p: craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHc, Dst: oHs, Flags: craft.FlagEvil | craft.FlagDF}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}}},
		{name: "ICMP echo", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), ICMP: &craft.ICMP{Type: craft.ICMPEcho, Rest: 0x1234<<16 | 1}, Payload: []byte("abcdefgh")}},
		{name: "ICMP bad checksum", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), ICMP: &craft.ICMP{Type: craft.ICMPEcho, Checksum: craft.Set[uint16](1)}}},
		{name: "ICMP port unreachable quoting UDP", p: craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHs, Dst: oHc}, ICMP: &craft.ICMP{Type: craft.ICMPUnreachable, Code: 3}, Payload: quote(udpHello)}},
		{name: "ICMP quoting a whole UDP datagram", p: craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHs, Dst: oHc}, ICMP: &craft.ICMP{Type: craft.ICMPUnreachable, Code: 3}, Payload: func() []byte { b, _ := udpHello.Append(nil); return b }()}},
		{name: "UDP length lies (100)", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), UDP: &craft.UDP{SrcPort: 40000, DstPort: 9999, Length: craft.Set[uint16](100)}, Payload: []byte("Hello")}},
		{name: "UDP length short (9)", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), UDP: &craft.UDP{SrcPort: 40000, DstPort: 9999, Length: craft.Set[uint16](9)}, Payload: []byte("Hello")}},
		{name: "IPv4 total length short, trailer", p: craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHc, Dst: oHs, TotalLen: craft.Set[uint16](40)}, TCP: &craft.TCP{SrcPort: 1, DstPort: 2, Flags: craft.TCPSyn}, Payload: []byte("Hello")}},
		{name: "Ethernet padding", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), UDP: &craft.UDP{SrcPort: 1, DstPort: 2}, Payload: []byte("Hi")}, pad: 60},
		{name: "TCP data offset lies", p: craft.Packet{Ethernet: eth(), IPv4: ip4(), TCP: &craft.TCP{SrcPort: 1, DstPort: 2, Flags: craft.TCPSyn, DataOffset: craft.Set[uint8](10)}}},
		{name: "fragment MF", p: craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHc, Dst: oHs, ID: 9, Flags: craft.FlagMF}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2, Length: craft.Set[uint16](4008)}, Payload: bytes.Repeat([]byte("F"), 16)}},
		{name: "802.1Q VLAN 5", p: craft.Packet{Ethernet: &craft.Ethernet{VLANs: []craft.VLAN{{TPID: craft.EtherTypeVLAN, ID: 5, PCP: 3}}}, IPv4: ip4(), UDP: &craft.UDP{SrcPort: 1, DstPort: 9999}, Payload: []byte("Hello")}},
		{name: "QinQ 100/5", p: craft.Packet{Ethernet: &craft.Ethernet{VLANs: []craft.VLAN{{TPID: craft.EtherTypeQinQ, ID: 100}, {TPID: craft.EtherTypeVLAN, ID: 5, DEI: true}}}, IPv4: ip4(), TCP: &craft.TCP{SrcPort: 1, DstPort: 2, Flags: craft.TCPSyn}}},
	}
	return rows
}

// tsharkPackets reads tshark -T json and returns, per packet, every field's
// values in document order (the outer packet's before the quoted one's).
// A streaming walk, since a packet may repeat a layer's key.
func tsharkPackets(r io.Reader) ([]map[string][]string, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // [
		return nil, err
	}
	var out []map[string][]string
	for dec.More() {
		m := map[string][]string{}
		if err := walkJSON(dec, "", m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func walkJSON(dec *json.Decoder, key string, m map[string][]string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			if err := walkJSON(dec, fmt.Sprint(k), m); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		for dec.More() {
			if err := walkJSON(dec, key, m); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	m[key] = append(m[key], fmt.Sprint(tok))
	return nil
}

// runTshark writes frames to a pcap and returns tshark's dissection.
func runTshark(t *testing.T, tshark string, frames [][]byte) []map[string][]string {
	t.Helper()
	return runTsharkOpts(t, tshark, frames)
}

// runTsharkOpts is runTshark with more tshark arguments.
func runTsharkOpts(t *testing.T, tshark string, frames [][]byte, more ...string) []map[string][]string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "matrix.pcap")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcap.NewWriter(f, pcap.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range frames {
		if err := w.Write(time.Unix(int64(1e9+i), 0), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-n", "-r", name, "-T", "json", "-V",
		"-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-o", "tcp.analyze_sequence_numbers:FALSE"}, more...)
	cmd := exec.Command(tshark, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, stderr.String())
	}
	pk, err := tsharkPackets(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("tshark's JSON: %v", err)
	}
	if len(pk) != len(frames) {
		t.Fatalf("tshark dissected %d packets of %d", len(pk), len(frames))
	}
	return pk
}

// tsharkStatus maps rawcraft's checksum status to tshark's
// *.checksum.status values (0 bad, 1 good, 2 unverified, 3 not present).
var tsharkStatus = map[craft.ChecksumStatus]string{
	craft.ChecksumBad: "0", craft.ChecksumGood: "1", craft.ChecksumUnverifiable: "2", craft.ChecksumAbsent: "3",
}

// deliberate names the rows where rawcraft's verdict differs from tshark's
// on purpose, and why; the test checks that tshark still says what the
// reason claims.
var deliberate = map[string]struct{ why, tsharkSays string }{
	"TCP checksum -0": {"Linux accepts 0xffff for a computed 0x0000 (one's complement −0, RFC 1624 §3); tshark marks it bad but says why",
		"instead of 0x0000 (see RFC 1624)"},
}

// TestDissectionAgainstTshark decodes a matrix of built packets with
// rawcraft and with tshark -T json and asserts they agree on checksum
// verdicts (and the right values of bad ones), malformation, lengths,
// VLAN tags, trailers and padding, and the window scale.
func TestDissectionAgainstTshark(t *testing.T) {
	tshark := oracle.Require(t, "tshark")
	rows := oracleMatrix(t)
	frames := make([][]byte, len(rows))
	for i, r := range rows {
		b, err := r.p.Append(nil)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		for len(b) < r.pad {
			b = append(b, 0)
		}
		frames[i] = b
	}
	ts := runTshark(t, tshark, frames)
	for i, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			m := ts[i]
			var d craft.Decoded
			err := d.DecodeFrame(frames[i])
			fields := craft.Explain(&d)
			expert := strings.Join(m["_ws.expert.message"], " | ")
			// Malformation: tshark's "Malformed Packet" where rawcraft
			// finds a field that contradicts the bytes.
			if got, want := errors.Is(err, craft.ErrMalformed), len(m["_ws.malformed"]) > 0; got != want {
				t.Errorf("rawcraft malformed %v (%v), tshark %v (%s)", got, err, want, expert)
			}
			// Checksums, outer first, then the quoted datagram's.
			byLayer := map[string][]craft.ChecksumResult{}
			for _, c := range d.Checksums(nil) {
				k := map[craft.Layer]string{craft.LayerIPv4: "ip", craft.LayerTCP: "tcp", craft.LayerUDP: "udp", craft.LayerICMP: "icmp"}[c.Layer]
				byLayer[k] = append(byLayer[k], c)
			}
			for _, l := range []string{"ip", "tcp", "udp", "icmp"} {
				theirs, ours := m[l+".checksum.status"], byLayer[l]
				for j := 0; j < min(len(theirs), len(ours)); j++ {
					want := tsharkStatus[ours[j].Status]
					if theirs[j] == want {
						continue
					}
					if x, ok := deliberate[r.name]; ok && strings.Contains(expert, x.tsharkSays) {
						t.Logf("%s checksum: rawcraft %v, tshark %s — deliberate: %s", l, ours[j].Status, theirs[j], x.why)
						continue
					}
					t.Errorf("%s checksum %d: rawcraft %v (got 0x%04x want 0x%04x), tshark status %s (%s)", l, j, ours[j].Status, ours[j].Got, ours[j].Want, theirs[j], expert)
				}
				// tshark does not dissect the transport of a fragment: there
				// rawcraft says unverifiable and tshark says nothing.
				if len(theirs) != len(ours) && !(d.Frag != craft.NotFragment && len(theirs) < len(ours)) {
					t.Errorf("%s checksums: rawcraft %d, tshark %d", l, len(ours), len(theirs))
				}
				for _, c := range ours {
					if c.Status == craft.ChecksumBad && !strings.Contains(expert, fmt.Sprintf("should be 0x%04x", c.Want)) {
						t.Errorf("%s bad checksum: rawcraft wants 0x%04x, tshark says %q", l, c.Want, expert)
					}
				}
			}
			// Lengths as found on the wire.
			if v := m["udp.length"]; len(v) > 0 && d.Layers&craft.LayerUDP != 0 && v[0] != fmt.Sprint(d.UDP.Length.Or(0)) {
				t.Errorf("UDP length: rawcraft %d, tshark %s", d.UDP.Length.Or(0), v[0])
			}
			if v := m["ip.len"]; len(v) > 0 && v[0] != fmt.Sprint(d.IPv4.TotalLen.Or(0)) {
				t.Errorf("IPv4 total length: rawcraft %d, tshark %s", d.IPv4.TotalLen.Or(0), v[0])
			}
			// VLAN tags, outermost first: tshark names an 802.1ad tag
			// ieee8021ad and an 802.1Q tag vlan.
			var theirTags []string
			theirTags = append(theirTags, m["ieee8021ad.id"]...)
			theirTags = append(theirTags, m["vlan.id"]...)
			var ourTags []string
			for _, v := range d.Ethernet.VLANs {
				ourTags = append(ourTags, fmt.Sprint(v.ID))
			}
			if strings.Join(ourTags, ",") != strings.Join(theirTags, ",") {
				t.Errorf("VLAN IDs: rawcraft %v, tshark %v", ourTags, theirTags)
			}
			if len(d.Ethernet.VLANs) > 0 {
				p := m["vlan.priority"]
				in := d.Ethernet.VLANs[len(d.Ethernet.VLANs)-1]
				if len(p) == 0 || p[0] != fmt.Sprint(in.PCP) {
					t.Errorf("inner PCP: rawcraft %d, tshark %v", in.PCP, p)
				}
			}
			// Bytes past the total length: tshark's eth.padding (zeros
			// of a short frame) or eth.trailer.
			var pad, trailer string
			for _, f := range fields {
				switch f.Name {
				case "Padding":
					pad = colonHex(d.Trailer)
				case "Trailer":
					trailer = colonHex(d.Trailer)
				}
			}
			if pad != strings.Join(m["eth.padding"], "") || trailer != strings.Join(m["eth.trailer"], "") {
				t.Errorf("padding %q trailer %q, tshark padding %v trailer %v", pad, trailer, m["eth.padding"], m["eth.trailer"])
			}
			// Window scale: the factor a receiver uses, clamped to 2^14.
			if v := m["tcp.options.wscale.multiplier"]; len(v) > 0 {
				found := false
				for _, f := range fields {
					found = found || strings.Contains(f.Meaning, "units of "+v[0]+" byte") // "1 byte", "128 bytes"
				}
				if !found {
					t.Errorf("window scale: tshark multiplier %s, not in rawcraft's explanation", v[0])
				}
			}
		})
	}
}

func colonHex(b []byte) string {
	var s []string
	for _, c := range b {
		s = append(s, fmt.Sprintf("%02x", c))
	}
	return strings.Join(s, ":")
}
