package craft_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
)

// asFrame puts an IP packet in an Ethernet frame, as tshark reads captures.
func asFrame(ip []byte) []byte {
	f := []byte{2, 0, 0, 0, 1, 1, 2, 0, 0, 0, 1, 3, 0x08, 0x00}
	if ip[0]>>4 == 6 {
		f[12], f[13] = 0x86, 0xdd
	}
	return append(f, ip...)
}

type keyName = struct{ key, name string }

// TestICMPExtensionsAndMLDAgainstTshark: the RFC 4884 length field of ICMP
// and ICMPv6 errors, the extension structure and its MPLS label stack
// entries, and every field of MLD queries, reports and done messages
// (versions 1 and 2) are where tshark finds them, with tshark's values.
func TestICMPExtensionsAndMLDAgainstTshark(t *testing.T) {
	tshark := oracle.Require(t, "tshark")
	var cases []explainCase
	for _, c := range explainCorpus(t) {
		if c.frame || !(strings.Contains(c.name, "MLD") || strings.Contains(c.name, "extension") || strings.Contains(c.name, "unreachable") || strings.Contains(c.name, "exceeded") || strings.Contains(c.name, "problem")) {
			continue
		}
		cases = append(cases, explainCase{c.name, asFrame(c.b), true})
	}
	frames := make([][]byte, len(cases))
	for i, c := range cases {
		frames[i] = c.b
	}
	ts := runTsharkOpts(t, tshark, frames, "-x")
	names := map[string]string{}
	for k, v := range tsharkValues(t, tshark, "icmpv6.type") {
		names[fmt.Sprint(k)] = v
	}
	ext := []keyName{{"icmp.ext.version", "Version"}, {"icmp.ext.res", "Reserved"}, {"icmp.ext.checksum", "Checksum"},
		{"icmp.ext.length", "Length"}, {"icmp.ext.class", "Class-Num"}, {"icmp.ext.ctype", "C-Type"},
		{"icmp.mpls.label", "Label"}, {"icmp.mpls.exp", "TC"}, {"icmp.mpls.s", "S"}, {"icmp.mpls.ttl", "TTL"}}
	mld := []keyName{{"icmpv6.mld.maximum_response_delay", "Maximum Response Delay"}, {"icmpv6.mld.maximum_response_code", "Maximum Response Code"},
		{"icmpv6.mld.flag.s", "S"}, {"icmpv6.mld.flag.qrv", "QRV"}, {"icmpv6.mld.qqi", "QQIC"},
		{"icmpv6.mld.nb_sources", "Number of Sources"}, {"icmpv6.mld.source_address", "Source Address"},
		{"icmpv6.mldr.nb_mcast_records", "Nr of Mcast Address Records"}, {"icmpv6.mldr.mar.record_type", "Record Type"},
		{"icmpv6.mldr.mar.aux_data_len", "Aux Data Len"}, {"icmpv6.mldr.mar.nb_sources", "Number of Sources"},
		{"icmpv6.mldr.mar.source_address", "Source Address"}, {"icmpv6.mldr.mar.auxiliary_data", "Auxiliary Data"}}
	n := 0
	for i, c := range cases {
		m := ts[i]
		fields := c.fields()
		what := c.name
		switch {
		case strings.Contains(c.name, "MLD"):
			// multicast addresses: a query's and v1's, then the records'
			var keys []keyName
			for _, k := range mld {
				if len(m[k.key]) > 0 {
					keys = append(keys, k)
				}
			}
			if strings.Contains(c.name, "v2 report") {
				keys = append(keys, keyName{"icmpv6.mldr.mar.multicast_address", "Multicast Address"})
			} else {
				keys = append(keys, keyName{"icmpv6.mld.multicast_address", "Multicast Address"})
			}
			n += compareRaw(t, what, m, fields, "ICMPv6", keys)
			typ := m["icmpv6.type"]
			if len(typ) != 1 {
				t.Fatalf("%s: tshark type %v", what, typ)
			}
			// The type's name: tshark's, or RFC 3810's for version 2's
			// report ("Version 2 Multicast Listener Report").
			got, want := typeNameOf(fields, "ICMPv6"), strings.ToLower(names[typ[0]])
			if got != want && !(typ[0] == "143" && got == "version 2 multicast listener report" && want == "multicast listener report message v2") {
				t.Errorf("%s: type %s %q, tshark %q", what, typ[0], got, want)
			}
		case strings.HasPrefix(c.name, "ICMPv6"):
			n += compareRaw(t, what, m, fields, "ICMPv6", []keyName{{"icmpv6.length", "Length"}})
			n += compareRaw(t, what, m, fields, "ICMPv6 extension", ext)
		default:
			n += compareRaw(t, what, m, fields, "ICMP", []keyName{{"icmp.length", "Length"}})
			n += compareRaw(t, what, m, fields, "ICMP extension", ext)
		}
		// The extension checksum's verdict: tshark's status 0 is bad, 1 good.
		if st := m["icmp.ext.checksum.status"]; len(st) == 1 {
			got := ""
			for _, f := range fields {
				if strings.HasSuffix(f.Layer, "extension") && f.Name == "Checksum" {
					got = f.Meaning
				}
			}
			if bad := strings.HasPrefix(got, "BAD"); bad != (st[0] == "0") {
				t.Errorf("%s: extension checksum %q, tshark's status %s", what, got, st[0])
			}
			n++
		}
		if t.Failed() {
			t.Logf("%s: tshark says %v", what, m)
		}
	}
	t.Logf("compared %d fields of %d ICMP, ICMPv6 and MLD messages with tshark", n, len(cases))
	if n < 60 {
		t.Errorf("only %d fields compared", n)
	}
}

func typeNameOf(fields []craft.Field, layer string) string {
	for _, f := range fields {
		if f.Layer == layer && f.Name == "Type" {
			return f.Meaning
		}
	}
	return fmt.Sprint(nil)
}
