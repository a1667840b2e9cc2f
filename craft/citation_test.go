package craft_test

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
)

// citations holds where each field is defined, written from the RFCs (and
// IEEE standards) themselves, not from rawcraft. A key is layer/name; in
// the context of an option or message, layer/ctx/name, where ctx is "kind
// N" (a TCP option kind or IPv4 option type), "type N" (an ICMPv6 type;
// "type 130v2" for a version 2 query) or "other" for kinds the table does
// not list. A name of "*" stands for every field without a key of its own.
var citations = map[string]string{
	"Ethernet/*": "IEEE 802.3 §3.2", "802.1Q/*": "IEEE 802.1Q §9.6", "ARP/*": "RFC 826",
	"Trailer/Trailer": "RFC 791 §3.1", "Trailer/Padding": "IEEE 802.3 §3.2.8",

	"IPv4/*": "RFC 791 §3.1", "IPv4/Type of Service": "RFC 2474 §3, RFC 3168 §5", "IPv4/Flags": "RFC 791 §3.1, RFC 3514",
	"IPv4/kind 0/*": "RFC 791 §3.1", "IPv4/kind 1/*": "RFC 791 §3.1", "IPv4/kind 7/*": "RFC 791 §3.1", "IPv4/kind 68/*": "RFC 791 §3.1",
	"IPv4/kind 131/*": "RFC 791 §3.1", "IPv4/kind 137/*": "RFC 791 §3.1", "IPv4/kind 136/*": "RFC 791 §3.1",
	"IPv4/kind 148/*": "RFC 2113 §2.1", "IPv4/kind 149/*": "RFC 1770", "IPv4/other/*": "RFC 791 §3.1",

	"TCP/*": "RFC 9293 §3.1", "TCP/kind 0/Kind": "RFC 9293 §3.2", "TCP/kind 0/Padding": "RFC 9293 §3.1", "TCP/kind 1/*": "RFC 9293 §3.2",
	"TCP/kind 2/*": "RFC 9293 §3.7.1, RFC 6691", "TCP/kind 3/*": "RFC 7323 §2.2", "TCP/kind 4/*": "RFC 2018 §2", "TCP/kind 5/*": "RFC 2018 §3",
	"TCP/kind 8/*": "RFC 7323 §3.2", "TCP/kind 19/*": "RFC 2385 §3.0", "TCP/kind 28/*": "RFC 5482", "TCP/kind 34/*": "RFC 7413 §4.1.1",
	"TCP/kind 253/*": "RFC 4727, RFC 6994 §3", "TCP/kind 254/*": "RFC 4727, RFC 6994 §3",
	"TCP/kind 254 0xf989/*": "RFC 6994 §3, RFC 7413 §4.1.1", "TCP/other/*": "RFC 9293 §3.1",

	"UDP/*":  "RFC 768",
	"ICMP/*": "RFC 792", "ICMP/Length": "RFC 4884 §4.1", "ICMP/Next-Hop MTU": "RFC 1191 §4",

	"IPv6/*": "RFC 8200 §3", "IPv6/Traffic Class": "RFC 8200 §7, RFC 2474 §3, RFC 3168 §5", "IPv6/Flow Label": "RFC 6437",
	"Hop-by-Hop/*": "RFC 8200 §4.3", "Dest Options/*": "RFC 8200 §4.6", "Routing/*": "RFC 8200 §4.4", "Fragment/*": "RFC 8200 §4.5",
	"Hop-by-Hop/Option Type": "RFC 8200 §4.2", "Hop-by-Hop/Opt Data Len": "RFC 8200 §4.2", "Hop-by-Hop/Option Data": "RFC 8200 §4.2",
	"Dest Options/Option Type": "RFC 8200 §4.2", "Dest Options/Opt Data Len": "RFC 8200 §4.2", "Dest Options/Option Data": "RFC 8200 §4.2",
	"Hop-by-Hop/Router Alert Value": "RFC 2711 §2.1", "Hop-by-Hop/Jumbo Payload Length": "RFC 2675 §2",

	"ICMPv6/Type": "RFC 4443 §2.1", "ICMPv6/Code": "RFC 4443 §2.1", "ICMPv6/Checksum": "RFC 4443 §2.3",
	"ICMPv6/type 1/*": "RFC 4443 §3.1", "ICMPv6/type 1/Length": "RFC 4884 §4.2", "ICMPv6/type 2/*": "RFC 4443 §3.2",
	"ICMPv6/type 3/*": "RFC 4443 §3.3", "ICMPv6/type 3/Length": "RFC 4884 §4.2", "ICMPv6/type 4/*": "RFC 4443 §3.4",
	"ICMPv6/type 128/*": "RFC 4443 §4.1", "ICMPv6/type 129/*": "RFC 4443 §4.2",
	"ICMPv6/type 130/*": "RFC 2710 §3", "ICMPv6/type 131/*": "RFC 2710 §3", "ICMPv6/type 132/*": "RFC 2710 §3",
	"ICMPv6/type 130v2/*": "RFC 3810 §5.1", "ICMPv6/type 143/Reserved": "RFC 3810 §5.2", "ICMPv6/type 143/Nr of Mcast Address Records": "RFC 3810 §5.2",
	"ICMPv6/type 143/*": "RFC 3810 §5.2.4",
	"ICMPv6/type 133/*": "RFC 4861 §4.1", "ICMPv6/type 134/*": "RFC 4861 §4.2", "ICMPv6/type 135/*": "RFC 4861 §4.3",
	"ICMPv6/type 136/*": "RFC 4861 §4.4", "ICMPv6/type 137/*": "RFC 4861 §4.5",
	"ICMPv6/type 133/Option": "RFC 4861 §4.6", "ICMPv6/type 134/Option": "RFC 4861 §4.6", "ICMPv6/type 135/Option": "RFC 4861 §4.6",
	"ICMPv6/type 136/Option": "RFC 4861 §4.6", "ICMPv6/type 137/Option": "RFC 4861 §4.6",
}

func init() {
	for _, l := range []string{"ICMP extension", "ICMPv6 extension"} {
		for _, n := range []string{"Version", "Reserved", "Checksum"} {
			citations[l+"/"+n] = "RFC 4884 §7"
		}
		for _, n := range []string{"Length", "Class-Num", "C-Type", "Object Payload", "Option Data"} {
			citations[l+"/"+n] = "RFC 4884 §8"
		}
		for _, n := range []string{"Label", "S", "TTL"} {
			citations[l+"/"+n] = "RFC 4950 §7, RFC 3032 §2.1"
		}
		citations[l+"/TC"] = "RFC 4950 §7, RFC 5462"
	}
}

var nth = regexp.MustCompile(` \(\d+(st|nd|rd|th)\)$`)

// citationKey names field i of fields as the table knows it.
func citationKey(fields []craft.Field, i int, ctx string) string {
	f := fields[i]
	l := nth.ReplaceAllString(strings.TrimPrefix(f.Layer, "quoted "), "")
	if ctx == "" {
		return l + "/" + f.Name
	}
	return l + "/" + ctx + "/" + f.Name
}

// expectedCitation looks a key up, falling back to its "*".
func expectedCitation(key string) (string, bool) {
	if c, ok := citations[key]; ok {
		return c, true
	}
	c, ok := citations[key[:strings.LastIndex(key, "/")]+"/*"]
	return c, ok
}

// TestEveryFieldCitesItsRFC explains every packet of the corpus (every
// layer, every message rawcraft decodes) and generated TCP and IPv4 option
// lists, and holds each field's citation against the table.
func TestEveryFieldCitesItsRFC(t *testing.T) {
	r := rand.New(rand.NewPCG(24, 3))
	cases := explainCorpus(t)
	for range 300 {
		cases = append(cases, explainCase{name: "generated options", b: build(t, craft.Packet{IPv4: &craft.IPv4{Src: oHc, Dst: oHs, Options: genIPOptions(r)},
			TCP: &craft.TCP{SrcPort: 1, DstPort: 2, Flags: craft.TCPSyn, Options: genTCPOptions(r)}})})
	}
	listed := map[string]bool{"TCP": true, "IPv4": true}
	known := map[string]bool{}
	for k := range citations {
		if f := strings.Split(k, "/"); len(f) == 3 {
			known[f[0]+"/"+f[1]] = true
		}
	}
	checked, seen := 0, map[string]bool{}
	for _, c := range cases {
		fields := c.fields()
		ctx, ctxLayer := "", ""
		v2 := false
		for _, f := range fields {
			v2 = v2 || f.Name == "QQIC"
		}
		for i, f := range fields {
			l := nth.ReplaceAllString(strings.TrimPrefix(f.Layer, "quoted "), "")
			if l != ctxLayer {
				ctx, ctxLayer = "", l
			}
			switch {
			case listed[l] && (f.Name == "Kind" || f.Name == "Option Type"):
				ctx = fmt.Sprintf("kind %d", f.Value)
				if f.Value == 254 && i+3 < len(fields) && fields[i+2].Name == "ExID" && fields[i+2].Value == 0xf989 {
					ctx = "kind 254 0xf989"
				}
				if !known[l+"/"+ctx] {
					ctx = "other"
				}
			case listed[l] && f.Bit < 160, f.Name == "Data" && listed[l]:
				ctx = ""
			case l == "ICMPv6" && f.Name == "Type":
				ctx = fmt.Sprintf("type %d", f.Value)
				if f.Value == 130 && v2 {
					ctx = "type 130v2"
				}
			}
			key := citationKey(fields, i, ctx)
			if ctx != "" && (f.Name == "Type" && l == "ICMPv6" || f.Name == "Code" && l == "ICMPv6" || f.Name == "Checksum" && l == "ICMPv6") {
				key = l + "/" + f.Name
			}
			want, ok := expectedCitation(key)
			seen[key] = true
			switch {
			case !ok:
				t.Errorf("%s: %s cites %q; the table has no entry for it", c.name, key, f.RFC)
			case f.RFC != want:
				t.Errorf("%s: %s cites %q, the table says %q", c.name, key, f.RFC, want)
			}
			checked++
		}
	}
	t.Logf("%d fields (%d kinds of field) checked against the citation table", checked, len(seen))
}
