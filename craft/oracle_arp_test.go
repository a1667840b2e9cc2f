package craft_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
)

// ARP is read by its HLEN and PLEN (RFC 826: every address is as long as
// its length field says), built the same way, and shown as tshark shows it:
// a MAC for 6-byte hardware addresses, an IPv4 address for 4-byte IPv4
// protocol addresses, hex otherwise. Each packet is built, decoded and
// compared field by field with tshark, and the summary carries the same
// addresses; a packet shorter than its lengths announce is truncated, as
// tshark calls it malformed.
func TestARPLengthsAgainstTshark(t *testing.T) {
	tshark := oracle.Require(t, "tshark")
	mac := craft.MAC{2, 0, 0, 0, 1, 3}
	v6s, v6t := netip.MustParseAddr("2001:2:0:1::3"), netip.MustParseAddr("2001:2:0:1::1")
	rows := []struct {
		name string
		a    craft.ARP
	}{
		{"Ethernet/IPv4", craft.ARP{Op: craft.ARPRequest, SenderHW: mac, SenderIP: oHc, TargetIP: oHs}},
		{"hlen 8", craft.ARP{HLen: craft.Set[uint8](8), Op: craft.ARPRequest, SenderHW: mac, SenderIP: oHc, TargetIP: oHs}},
		{"hlen 4", craft.ARP{HLen: craft.Set[uint8](4), Op: craft.ARPReply, SenderHW: mac, SenderIP: oHc, TargetHW: mac, TargetIP: oHs}},
		{"plen 16 IPv6", craft.ARP{PType: craft.Set(craft.EtherTypeIPv6), PLen: craft.Set[uint8](16), Op: craft.ARPRequest, SenderHW: mac, SenderIP: v6s, TargetIP: v6t}},
		{"plen 6", craft.ARP{PLen: craft.Set[uint8](6), Op: craft.ARPRequest, SenderHW: mac, SenderIP: oHc, TargetIP: oHs}},
		{"hlen 0", craft.ARP{HLen: craft.Set[uint8](0), Op: craft.ARPRequest, SenderIP: oHc, TargetIP: oHs}},
		{"hlen 16", craft.ARP{HLen: craft.Set[uint8](16), Op: craft.ARPRequest, SenderHW: mac, SenderIP: oHc, TargetIP: oHs}},
		{"IEEE 802 hardware", craft.ARP{HType: craft.Set[uint16](6), Op: craft.ARPReply, SenderHW: mac, SenderIP: oHc, TargetHW: mac, TargetIP: oHs}},
	}
	var frames [][]byte
	for _, r := range rows {
		a := r.a
		frames = append(frames, build(t, craft.Packet{Ethernet: &craft.Ethernet{Src: mac, Dst: craft.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, ARP: &a}))
	}
	theirs := runTsharkOpts(t, tshark, frames)
	for i, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var d craft.Decoded
			if err := d.DecodeFrame(frames[i]); err != nil || !d.Has(craft.LayerARP) {
				t.Fatalf("decode: %v, link %v", err, d.Link)
			}
			a, th := &d.ARP, theirs[i]
			if want := craft.ARPFixedLen + 2*int(a.HLen.Or(0)) + 2*int(a.PLen.Or(0)); len(frames[i]) != craft.EthernetLen+want {
				t.Errorf("%d bytes, RFC 826 lengths make %d", len(frames[i])-craft.EthernetLen, want)
			}
			if first(th["arp.hw.size"]) != strconv.Itoa(int(a.HLen.Or(0))) || first(th["arp.proto.size"]) != strconv.Itoa(int(a.PLen.Or(0))) {
				t.Errorf("tshark sizes %v/%v", th["arp.hw.size"], th["arp.proto.size"])
			}
			if _, bad := th["_ws.malformed"]; bad {
				t.Errorf("tshark calls it malformed")
			}
			fields := map[string]string{}
			for _, f := range craft.Explain(&d) {
				if f.Layer == "ARP" {
					fields[f.Name] = f.Text
				}
			}
			// tshark's address fields: hw_mac / proto_ipv4 when it reads
			// them as such, else the bytes (hw, proto) in hex.
			for _, c := range []struct{ ours, mac, raw string }{
				{"Sender hardware address", "arp.src.hw_mac", "arp.src.hw"},
				{"Target hardware address", "arp.dst.hw_mac", "arp.dst.hw"},
				{"Sender protocol address", "arp.src.proto_ipv4", "arp.src.proto"},
				{"Target protocol address", "arp.dst.proto_ipv4", "arp.dst.proto"},
			} {
				want := first(th[c.mac])
				if want == "" {
					want = strings.ReplaceAll(first(th[c.raw]), ":", "")
				}
				got := fields[c.ours]
				if got == "(none)" {
					got = ""
				}
				if got != want {
					t.Errorf("%s: rawcraft %q, tshark %q", c.ours, got, want)
				}
				shown := strings.HasPrefix(c.ours, "Sender") || c.ours == "Target protocol address" && a.Op == craft.ARPRequest
				if got != "" && shown && !strings.Contains(d.Summary(), got) {
					t.Errorf("summary %q lacks %s %s", d.Summary(), c.ours, got)
				}
			}
			// The bytes after the packet — Ethernet padding to 60 bytes,
			// or a trailer — start where HLEN and PLEN end it, not at
			// byte 28 (the hunt found "past the 28-byte ARP packet" for
			// the last address bytes of an hlen 16 packet).
			var after []byte
			for _, f := range craft.Explain(&d) {
				if f.Layer == "Trailer" {
					after = frames[i][craft.EthernetLen+a.Len():]
					if !strings.Contains(f.Meaning, strconv.Itoa(len(after))+" ") {
						t.Errorf("%s %q: %d bytes follow the %d-byte packet", f.Name, f.Meaning, len(after), a.Len())
					}
				}
			}
			if want := strings.ReplaceAll(first(append(th["eth.padding"], th["eth.trailer"]...)), ":", ""); fmt.Sprintf("%x", after) != want {
				t.Errorf("bytes after the packet %x, tshark's padding or trailer %q", after, want)
			}
			if !a.IsEthernetIPv4() && !strings.Contains(d.Summary(), "hlen "+strconv.Itoa(int(a.HLen.Or(0)))) {
				t.Errorf("summary %q does not say the lengths", d.Summary())
			}
		})
	}
	// Cut short of the addresses its lengths announce: truncated, not
	// decoded as ARP, and said so.
	var d craft.Decoded
	short := frames[1][:len(frames[1])-3]
	if err := d.DecodeFrame(short); !errors.Is(err, craft.ErrTruncated) || d.Has(craft.LayerARP) || !strings.Contains(d.Summary(), "ARP, shorter than") {
		t.Errorf("cut ARP: %v, link %v, %q", err, d.Link, d.Summary())
	}
}
