package craft_test

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/pcap"
)

// summaryLayer finds the transport layers a summary names, with what
// follows each: the outer packet's and, after "quoting [", the quoted one's.
var summaryLayer = regexp.MustCompile(`(?:^|[ \[])(TCP|UDP|ICMP|ICMPv6)(?: |$)`)

// Summaries never name a layer whose header is not in the bytes: for
// packets of every transport, IPv4 and IPv6 fragments (the first holding
// none, part or all of the transport header), ICMP errors quoting TCP and
// UDP, each cut at every length, every transport the summary names has
// header bytes present in rawcraft's decoding, each field it shows lies
// within them, and tshark (no reassembly) lists that protocol too.
func TestSummaryNamesOnlyLayersPresent(t *testing.T) {
	tshark := oracle.Require(t, "tshark")
	data := []byte("0123456789abcdef")
	tcp := func() *craft.TCP {
		return &craft.TCP{SrcPort: 40000, DstPort: 9999, Seq: 7, Ack: 9, Flags: craft.TCPAck | craft.TCPPsh, Window: 512, Options: craft.AppendTCPOptMSS(nil, 1460)}
	}
	udp := func() *craft.UDP { return &craft.UDP{SrcPort: 40000, DstPort: 9999} }
	quote := func(p craft.Packet) []byte {
		b := build(t, p)
		return b[:min(len(b), 48)]
	}
	v4 := func() *craft.IPv4 { return &craft.IPv4{Src: oHc, Dst: oHs, ID: 1} }
	v6 := func() *craft.IPv6 { return &craft.IPv6{Src: o6Hc, Dst: o6Hs} }
	bases := []craft.Packet{
		{IPv4: v4(), TCP: tcp(), Payload: data},
		{IPv4: v4(), UDP: udp(), Payload: data},
		{IPv4: v4(), ICMP: &craft.ICMP{Type: craft.ICMPEcho, Rest: 0x00070009}, Payload: data},
		{IPv4: &craft.IPv4{Src: oHs, Dst: oHc}, ICMP: &craft.ICMP{Type: craft.ICMPUnreachable, Code: 3}, Payload: quote(craft.Packet{IPv4: v4(), TCP: tcp(), Payload: data})},
		{IPv4: &craft.IPv4{Src: oHs, Dst: oHc}, ICMP: &craft.ICMP{Type: craft.ICMPTimeExceeded}, Payload: quote(craft.Packet{IPv4: v4(), UDP: udp(), Payload: data})},
		{IPv4: &craft.IPv4{Src: oHc, Dst: oHs, ID: 2, Flags: craft.FlagMF}, TCP: tcp(), Payload: data},
		{IPv4: &craft.IPv4{Src: oHc, Dst: oHs, ID: 3, FragOff: 1}, UDP: udp(), Payload: data},
		{IPv6: v6(), TCP: tcp(), Payload: data},
		{IPv6: v6(), UDP: udp(), Payload: data},
		{IPv6: v6(), ICMPv6: &craft.ICMPv6{Type: craft.ICMPv6EchoRequest, Rest: 0x00070009}, Payload: data},
		{IPv6: v6(), IPv6Ext: []craft.IPv6Ext{craft.DestOpts(make([]byte, 14)), craft.FragmentExt(0, true, 0x42)}, UDP: udp(), Payload: data},
		{IPv6: v6(), IPv6Ext: []craft.IPv6Ext{craft.FragmentExt(0, true, 0x43)}, TCP: tcp(), Payload: data},
		{IPv6: v6(), IPv6Ext: []craft.IPv6Ext{craft.FragmentExt(3, false, 0x44)}, UDP: udp(), Payload: data},
		{IPv6: &craft.IPv6{Src: o6Hs, Dst: o6Hc}, ICMPv6: &craft.ICMPv6{Type: craft.ICMPv6Unreachable, Code: 4}, Payload: quote(craft.Packet{IPv6: v6(), TCP: tcp(), Payload: data})},
	}
	rng := rand.New(rand.NewPCG(24, 3))
	var pkts [][]byte
	for _, p := range bases {
		b := build(t, p)
		hdr := craft.IPv4HeaderLen
		if p.IPv6 != nil {
			hdr = craft.IPv6HeaderLen
		}
		// Every cut from the bare IP header to the whole packet, with the
		// length field telling the truth about the cut half of the time
		// (a datagram that is short, not a capture cut short).
		for n := hdr; n <= len(b); n++ {
			c := append([]byte(nil), b[:n]...)
			if rng.IntN(2) == 0 {
				if p.IPv6 != nil {
					c[4], c[5] = byte((n-40)>>8), byte(n-40)
				} else {
					c[2], c[3] = byte(n>>8), byte(n)
				}
			}
			pkts = append(pkts, c)
		}
	}
	file := filepath.Join(t.TempDir(), "cuts.pcap")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := pcap.NewWriter(f, pcap.LinkRaw)
	for i, b := range pkts {
		_ = w.Write(time.Unix(1e9, int64(i)), b)
	}
	f.Close()
	out, err := exec.Command(tshark, "-n", "-r", file, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
		"-T", "fields", "-e", "frame.protocols").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	theirs := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(theirs) != len(pkts) {
		t.Fatalf("tshark read %d packets of %d", len(theirs), len(pkts))
	}
	var d craft.Decoded
	d.AcceptIPv6 = true
	named := 0
	for i, b := range pkts {
		_ = d.DecodeIP(b)
		s := d.Summary()
		outer, quoted, _ := strings.Cut(s, " quoting [")
		for _, part := range []struct {
			text string
			g    *craft.Datagram
		}{{outer, &d.Datagram}, {quoted, &d.Quoted}} {
			for _, m := range summaryLayer.FindAllStringSubmatch(part.text, -1) {
				named++
				l := map[string]craft.Layer{"TCP": craft.LayerTCP, "UDP": craft.LayerUDP, "ICMP": craft.LayerICMP, "ICMPv6": craft.LayerICMPv6}[m[1]]
				g := part.g
				if g.Layers&l == 0 || g.TransportLen == 0 {
					t.Errorf("packet %d (%x): %q names %s, %d of its header bytes present", i+1, b, s, m[1], g.TransportLen)
				}
				// The fields shown lie within the bytes present.
				fields := map[craft.Layer]map[string]int{
					craft.LayerTCP:    {" seq ": 8, " ack ": 12, " win ": 16, " len ": craft.TCPHeaderLen},
					craft.LayerUDP:    {" len ": 6},
					craft.LayerICMP:   {" seq ": 8},
					craft.LayerICMPv6: {" seq ": 8, " mtu ": 8, " pointer ": 8},
				}[l]
				for word, need := range fields {
					if strings.Contains(part.text, word) && g.TransportLen < need {
						t.Errorf("packet %d: %q shows%sfrom %d header bytes", i+1, s, word, g.TransportLen)
					}
				}
				if !strings.Contains(":"+theirs[i]+":", ":"+strings.ToLower(m[1])+":") {
					t.Errorf("packet %d (%x): %q names %s, tshark lists %s", i+1, b, s, m[1], theirs[i])
				}
			}
		}
	}
	t.Logf("%d packets, %d layers named", len(pkts), named)
	if named < len(pkts)/2 {
		t.Errorf("only %d layers named in %d packets: the generator is broken", named, len(pkts))
	}
}
