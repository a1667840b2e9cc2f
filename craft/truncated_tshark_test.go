package craft_test

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/pcap"
)

// A packet cut inside its IPv4 or IPv6 header still summarises as that
// family, truncated, with the fields in hand; one whose IPv4 total length
// or IPv6 payload length runs past the bytes says so. tshark reads the same
// bytes: it names the same family, and calls the first malformed and the
// second "total length exceeds packet length" ("payload length exceeds
// framing length"); a whole packet is neither, in both readings.
func TestTruncatedIPAgainstTshark(t *testing.T) {
	syn := mustHex(t, "45000028000100004006eca6c6120103c61201019c40005000000000000000005002faf08a380000")
	syn6 := mustHex(t, "6000000000140640"+"20010002000000010000000000000003"+"20010002000000010000000000000001") // + TCP below
	syn6 = append(syn6, syn[20:]...)
	long := append([]byte(nil), syn...)
	long[3] = 100 // total length 100, 40 bytes present
	long6 := append([]byte(nil), syn6...)
	long6[5] = 60 // payload length 60, 20 bytes present
	ihl6 := append([]byte(nil), syn[:22]...)
	ihl6[0] = 0x46 // a 24-byte header, 22 bytes present
	ether := func(t uint16, b []byte) []byte {
		return append([]byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 3, byte(t >> 8), byte(t)}, b...)
	}
	cases := []struct {
		desc    string
		link    uint32
		b       []byte
		summary string // exact
	}{
		{"whole IPv4 (control)", pcap.LinkRaw, syn, "198.18.1.3:40000 → 198.18.1.1:80 TCP SYN seq 0 win 64240 len 0"},
		{"IPv4 cut after 2 bytes", pcap.LinkRaw, syn[:2], "IPv4, truncated: 2 of the header's 20 bytes"},
		{"IPv4 cut after 14 bytes", pcap.LinkRaw, syn[:14], "IPv4, truncated: 14 of the header's 20 bytes; total length 40, protocol 6 (TCP)"},
		{"IPv4 cut after 18 bytes, in Ethernet", pcap.LinkEthernet, ether(0x0800, syn[:18]), "IPv4, truncated: 18 of the header's 20 bytes; total length 40, protocol 6 (TCP), from 198.18.1.3"},
		{"IPv4 options cut", pcap.LinkRaw, ihl6, "IPv4, truncated: 22 of the header's 24 bytes; total length 40, protocol 6 (TCP), from 198.18.1.3 to 198.18.1.1"},
		{"IPv4 total length past the end", pcap.LinkRaw, long, "198.18.1.3:40000 → 198.18.1.1:80 TCP SYN seq 0 win 64240 len 0 · truncated: IPv4 total length 100, 40 bytes present"},
		{"whole IPv6 (control)", pcap.LinkRaw, syn6, "[2001:2:0:1::3]:40000 → [2001:2:0:1::1]:80 TCP SYN seq 0 win 64240 len 0 hlim 64"},
		{"IPv6 cut after 30 bytes", pcap.LinkRaw, syn6[:30], "IPv6, truncated: 30 of the header's 40 bytes; payload length 20, next header 6, from 2001:2:0:1::3"},
		{"IPv6 cut after 5 bytes, in Ethernet", pcap.LinkEthernet, ether(0x86dd, syn6[:5]), "IPv6, truncated: 5 of the header's 40 bytes"},
		{"IPv6 payload length past the end", pcap.LinkRaw, long6, "[2001:2:0:1::3]:40000 → [2001:2:0:1::1]:80 TCP SYN seq 0 win 64240 len 0 hlim 64 · truncated: IPv6 payload length 60, 20 bytes present after the header"},
	}
	for _, c := range cases {
		d := craft.Decoded{AcceptIPv6: true}
		if c.link == pcap.LinkEthernet {
			_ = d.DecodeFrame(c.b)
		} else {
			_ = d.DecodeIP(c.b)
		}
		got := d.Summary()
		if got != c.summary {
			t.Errorf("%s: summary\n%q, want\n%q", c.desc, got, c.summary)
		}
		// tshark's reading of the same bytes.
		name := filepath.Join(t.TempDir(), "p.pcap")
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w, err := pcap.NewWriter(f, c.link)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(time.Unix(1e9, 0), c.b); err != nil {
			t.Fatal(err)
		}
		f.Close()
		oracle.TsharkDissect(t, name, func(p *oracle.TsharkPacket) {
			protos := strings.Join(p.All("frame.protocols"), "")
			if protos == "raw" && len(c.b) < 4 {
				// tshark names no family for 2 bytes of a raw link; rawcraft
				// reads the version field (RFC 791 §3.1).
				protos = map[bool]string{true: "raw:ipv6", false: "raw:ip"}[c.b[0]>>4 == 6]
			}
			v6 := strings.Contains(protos, "ipv6")
			if want := strings.HasPrefix(got, "IPv6") || strings.HasPrefix(got, "["); v6 != want {
				t.Errorf("%s: tshark's protocols %q; rawcraft says %q", c.desc, protos, got)
			}
			if !v6 && !strings.Contains(protos, ":ip") && !strings.HasPrefix(protos, "ip") {
				t.Errorf("%s: tshark does not read IPv4: %q", c.desc, protos)
			}
			malformed := p.Has("_ws.malformed")
			if cut := strings.Contains(got, ", truncated: "); cut != malformed {
				t.Errorf("%s: tshark malformed %v; rawcraft %q", c.desc, malformed, got)
			}
			experts := strings.Join(p.All("_ws.expert.message"), "; ")
			past := strings.Contains(experts, "IPv4 total length exceeds packet length") || strings.Contains(experts, "IPv6 payload length exceeds framing length")
			if says := strings.Contains(got, "· truncated: IP"); says != past && !malformed {
				t.Errorf("%s: tshark's experts %q; rawcraft %q", c.desc, experts, got)
			}
		})
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
