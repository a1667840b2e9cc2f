package craft_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
)

// An ARP address of length 0 (hlen or plen 0) is said in words, without
// nested parentheses ("tell 0.0.0.0 ((none))" it was); the field table
// keeps "(none)".
func TestARPSummaryZeroLengths(t *testing.T) {
	hs, hc := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.1.3")
	mac := craft.MAC{2, 0, 0, 0, 1, 3}
	for _, c := range []struct {
		desc string
		a    craft.ARP
		want string
	}{
		{"hlen 0 request", craft.ARP{HLen: craft.Set[uint8](0), Op: craft.ARPRequest, SenderIP: hc, TargetIP: hs},
			"ARP who has 198.18.1.1? tell 198.18.1.3 [hardware type 1, protocol type 0x0800, hlen 0, plen 4]"},
		{"hlen 0 reply", craft.ARP{HLen: craft.Set[uint8](0), Op: 2, SenderIP: hs, TargetIP: hc},
			"ARP 198.18.1.1 is at (no hardware address) (op 2) [hardware type 1, protocol type 0x0800, hlen 0, plen 4]"},
		{"plen 0 request", craft.ARP{PLen: craft.Set[uint8](0), Op: craft.ARPRequest, SenderHW: mac},
			"ARP who has (no address)? tell (no address) (02:00:00:00:01:03) [hardware type 1, protocol type 0x0800, hlen 6, plen 0]"},
		{"whole request (control)", craft.ARP{Op: craft.ARPRequest, SenderHW: mac, SenderIP: hc, TargetIP: hs},
			"ARP who has 198.18.1.1? tell 198.18.1.3 (02:00:00:00:01:03)"},
	} {
		b, err := (&craft.Packet{Ethernet: &craft.Ethernet{Dst: craft.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, Src: mac}, ARP: &c.a}).Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		var d craft.Decoded
		if err := d.DecodeFrame(b); err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		if got := d.Summary(); got != c.want {
			t.Errorf("%s:\n%q, want\n%q", c.desc, got, c.want)
		}
		for _, f := range craft.Explain(&d) {
			if f.Layer == "ARP" && strings.HasSuffix(f.Name, "address") && (f.Text == "" || strings.Contains(f.Text, "((")) {
				t.Errorf("%s: %s reads %q", c.desc, f.Name, f.Text)
			}
		}
	}
}

// One ordinal for every message: English suffixes to 11th–13th and 21st,
// and no ordinal below 1 ("-3th" was printed for a bad count).
func TestOrdinal(t *testing.T) {
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 22: "22nd", 23: "23rd", 101: "101st", 111: "111th", 112: "112th", 0: "number 0", -3: "number -3"} {
		if got := craft.Ordinal(n); got != want {
			t.Errorf("Ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}
