package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/pcap"
)

// One verdict per checksum field, the same in every view: the summary line
// ("· UDP checksum V"), the field table (the meaning starts with V), the
// checksums line, and --json (status, and the field's meaning). Issue 24:
// --explain said "BAD … drops the segment" where the summary said "not yet
// filled (offload)", and a zero IPv4 header checksum read "dropped unread"
// in captures whose packets were answered (tcpdump's dns-badcookie.pcap).
func TestChecksumVerdictSameInEveryView(t *testing.T) {
	syn := builtHex(t, "tcp", "--flags", "S")
	var d craft.Decoded
	if err := d.DecodeIP(syn); err != nil {
		t.Fatal(err)
	}
	partial := fmt.Sprint(pcap.PseudoHeaderSum(&d.Datagram))
	unfilled := builtHex(t, "tcp", "--flags", "S", "--csum", partial)
	zeroIP := builtHex(t, "tcp", "--flags", "S", "--csum", partial, "--ip-csum", "0")
	bad := builtHex(t, "tcp", "--flags", "S", "--csum", "0xdead")
	for _, c := range []struct {
		desc   string
		file   string
		layer  string // the checksum looked at
		want   string // its verdict starts so
		noDrop bool   // the meaning may not say a receiver drops it outright
	}{
		{"sent by the capturing host", writeFile(t, pcap.LinkLinuxSLL, sll(4, unfilled)), "TCP", "not yet filled (offload), 0x", true},
		{"sent by the capturing host, IPv4 zero", writeFile(t, pcap.LinkLinuxSLL, sll(4, zeroIP)), "IPv4", "not yet filled (offload), 0x0000 here", true},
		{"direction unknown", writeFile(t, pcap.LinkRaw, unfilled), "TCP", "not yet filled (offload), or BAD (0x", false},
		{"direction unknown, IPv4 zero", writeFile(t, pcap.LinkRaw, zeroIP), "IPv4", "not yet filled (offload), or BAD (0x0000", false},
		{"received", writeFile(t, pcap.LinkLinuxSLL, sll(0, unfilled)), "TCP", "BAD (0x", false},
		{"bad, not what offload leaves", writeFile(t, pcap.LinkRaw, bad), "TCP", "BAD (0xdead, should be 0x", false},
		{"good", writeFile(t, pcap.LinkRaw, syn), "TCP", "good", true},
	} {
		t.Run(c.desc, func(t *testing.T) {
			out, errs, code := runRoot(t, "", "read", "--explain", c.file)
			if code != 0 {
				t.Fatal(errs)
			}
			field := map[string]string{"TCP": "Checksum", "IPv4": "Header Checksum"}[c.layer]
			// The field table: "  TCP          Checksum                 0x8e43                     MEANING  [RFC…]".
			row := regexp.MustCompile(`(?m)^  ` + c.layer + ` +` + field + ` +\S+ +(.*?)  \[`).FindStringSubmatch(out)
			if row == nil {
				t.Fatalf("no %s %s row in\n%s", c.layer, field, out)
			}
			meaning := row[1]
			verdict, _, _ := strings.Cut(meaning, ": ")
			if c.want == "good" {
				verdict = meaning
			}
			if !strings.HasPrefix(verdict, c.want) {
				t.Errorf("field table: %q, want it to start %q", meaning, c.want)
			}
			if c.noDrop && strings.Contains(meaning, "drop") {
				t.Errorf("field table says a receiver drops it: %q", meaning)
			}
			summary, _, _ := strings.Cut(out, "\n")
			if c.want != "good" && !strings.Contains(summary, c.layer+" checksum "+verdict) {
				t.Errorf("summary %q does not say %q", summary, c.layer+" checksum "+verdict)
			}
			if !strings.Contains(out, "checksums: ") || !strings.Contains(out, c.layer+" "+verdict) {
				t.Errorf("checksums line does not say %q:\n%s", c.layer+" "+verdict, out)
			}
			js, errs, code := runRoot(t, "", "read", "--json", c.file)
			if code != 0 {
				t.Fatal(errs)
			}
			var jp readJSONPacket
			if err := json.Unmarshal([]byte(js), &jp); err != nil {
				t.Fatal(err)
			}
			for _, f := range jp.Fields {
				if f.Layer == c.layer && f.Name == field && f.Meaning != meaning {
					t.Errorf("json meaning %q, field table %q", f.Meaning, meaning)
				}
			}
			for _, s := range jp.Checksums {
				if s.Layer == c.layer && !strings.HasPrefix(strings.ToUpper(verdict), strings.ToUpper(s.Status)) {
					t.Errorf("json status %q, verdict %q", s.Status, verdict)
				}
			}
		})
	}
}

// The capture of issue 24: every packet answered, each with IPv4 checksum 0
// and the UDP checksum the pseudo-header sum, no direction recorded.
func TestDNSBadCookieNotDroppedUnread(t *testing.T) {
	file := filepath.Join(corpusRoot(t), "dns-badcookie.pcap")
	out, errs, code := runRoot(t, "", "read", "--explain", file)
	if code != 0 {
		t.Fatal(errs)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "checksum") && strings.Contains(line, "BAD") && !strings.Contains(line, "not yet filled (offload), or BAD") {
			t.Errorf("a plain BAD verdict: %q", line)
		}
	}
	if n := strings.Count(out, "IPv4 checksum not yet filled (offload), or BAD (0x0000"); n != 4 {
		t.Errorf("%d summary lines with the IPv4 verdict, want 4:\n%s", n, out)
	}
}
