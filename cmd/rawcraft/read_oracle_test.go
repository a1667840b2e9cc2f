package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/pcap"
)

// TestReadCorpusVerdictsAgainstTcpdump extends craft's corpus oracle
// (classic Ethernet and raw IP files) to everything read decodes: pcapng,
// Linux cooked, loopback, and IPv6. Where tcpdump -nn -vv and rawcraft both
// verify a checksum of an outer TCP, UDP, ICMP, ICMPv6 or IPv4 header, they
// agree.
func TestReadCorpusVerdictsAgainstTcpdump(t *testing.T) {
	dir := corpusRoot(t)
	oracle.Require(t, "tcpdump")
	if testing.Short() {
		t.Skip("the corpus takes a while: run without -short")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var compared, ngCompared, cookedCompared, v6Compared int
	var disagree []string
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		pf, ps, err := pcap.ReadAll(f)
		f.Close()
		if pf == nil || err != nil {
			continue
		}
		decodable := false
		for _, p := range ps {
			decodable = decodable || pcap.Decodable(p.LinkType)
		}
		if !decodable {
			continue
		}
		tv := oracle.TcpdumpVerdicts(t, name, len(ps))
		if tv == nil {
			continue
		}
		rp := new(readPacket)
		for i, p := range ps {
			*rp = readPacket{n: i + 1, p: p}
			decodeCaptured(rp)
			d := &rp.d
			if !rp.linkOK || d.Layers&(craft.LayerIPv4|craft.LayerIPv6) == 0 || d.Quoted.Layers != 0 {
				continue
			}
			if pr := d.IPv4.Protocol.Or(0); d.Layers&craft.LayerIPv4 != 0 && pr != craft.ProtoTCP && pr != craft.ProtoUDP && pr != craft.ProtoICMP {
				continue // tunnels: tcpdump's verdicts may be the inner packet's
			}
			if d.Layers&craft.LayerIPv6 != 0 && d.Layers&(craft.LayerTCP|craft.LayerUDP|craft.LayerICMPv6) == 0 {
				continue // a tunnel or another next header: tcpdump's verdicts are the inner packet's
			}
			for _, c := range rp.sums {
				if c.Quoted || (c.Status != craft.ChecksumGood && c.Status != craft.ChecksumBad) {
					continue
				}
				ours := map[craft.ChecksumStatus]string{craft.ChecksumGood: "good", craft.ChecksumBad: "bad"}[c.Status]
				var theirs string
				switch c.Layer {
				case craft.LayerIPv4:
					theirs = tv[i].IP
				case craft.LayerTCP:
					theirs = tv[i].TCP
				case craft.LayerUDP:
					theirs = tv[i].UDP
				case craft.LayerICMP:
					theirs = map[bool]string{true: "bad", false: "good"}[tv[i].ICMP == "bad"]
				case craft.LayerICMPv6:
					theirs = tv[i].ICMPv6
				}
				if theirs == "" {
					continue
				}
				compared++
				if d.Layers&craft.LayerIPv6 != 0 {
					v6Compared++
				}
				if pf.Format == pcap.FormatPcapNG {
					ngCompared++
				}
				if p.LinkType != pcap.LinkEthernet && p.LinkType != pcap.LinkRaw {
					cookedCompared++
				}
				if theirs != ours {
					disagree = append(disagree, fmt.Sprintf("%s packet %d: %v checksum 0x%04x: rawcraft %s (want 0x%04x), tcpdump %s",
						filepath.Base(name), i+1, c.Layer, c.Got, ours, c.Want, theirs))
				}
			}
		}
	}
	t.Logf("%d verdicts compared (%d in pcapng files, %d on links other than Ethernet and raw IP, %d of IPv6 packets), %d disagree", compared, ngCompared, cookedCompared, v6Compared, len(disagree))
	for _, s := range disagree {
		t.Error(s)
	}
	if ngCompared == 0 || cookedCompared == 0 || v6Compared == 0 {
		t.Error("no verdict compared in a pcapng file, on a cooked/loopback link or of an IPv6 packet: the harness is broken")
	}
}

// TestReadJSONAgainstTshark: read --json's fields equal tshark -T json's on
// the same file, packet by packet, for a file of several link-layer cases
// (a pcapng of two interfaces is read by both through the same container).
func TestReadJSONAgainstTshark(t *testing.T) {
	tshark := oracle.Require(t, "tshark")
	pkts := [][]byte{
		builtHex(t, "tcp", "--flags", "S", "--tcp-opt", "mss=1460,sackok,ts=1:0,nop,wscale=7"),
		builtHex(t, "udp", "--dport", "53", "--data", "hello"),
		builtHex(t, "icmp", "--type", "8", "--ttl", "3"),
		builtHex(t, "tcp", "--flags", "PA", "--seq", "1000", "--ack", "77", "--data", "x", "--csum", "0xdead"),
		builtHex(t, "udp", "--ip-csum", "0xbeef", "--id", "4321", "--df"),
		builtHex(t, "udp", "--dst", "2001:2:0:1::1", "--dport", "53", "--data", "hello", "--flow-label", "0x12345", "--tclass", "0x2e"),
		builtHex(t, "tcp", "--dst", "2001:2:0:1::1", "--flags", "S", "--csum", "0xdead", "--hop-limit", "1"),
		builtHex(t, "icmp", "--dst", "2001:2:0:1::1", "--icmp-id", "7", "--icmp-seq", "9"),
	}
	var cooked [][]byte
	for _, p := range pkts {
		cooked = append(cooked, sll(0, p))
	}
	for _, file := range []string{writeFile(t, pcap.LinkRaw, pkts...), writeFile(t, pcap.LinkLinuxSLL, cooked...)} {
		out, errs, code := runRoot(t, "", "read", "--json", file)
		if code != 0 {
			t.Fatal(errs)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		tj, err := exec.CommandContext(ctx, tshark, "-r", file, "-T", "json", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE").Output()
		cancel()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		var theirs []struct {
			Source struct {
				Layers map[string]json.RawMessage `json:"layers"`
			} `json:"_source"`
		}
		if err := json.Unmarshal(tj, &theirs); err != nil || len(theirs) != len(pkts) {
			t.Fatalf("tshark json: %v, %d packets", err, len(theirs))
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for i, line := range lines {
			var ours readJSONPacket
			if err := json.Unmarshal([]byte(line), &ours); err != nil {
				t.Fatal(err)
			}
			tl := map[string]any{}
			for _, proto := range []string{"ip", "ipv6", "tcp", "udp", "icmp", "icmpv6"} {
				if raw, ok := theirs[i].Source.Layers[proto]; ok {
					var m map[string]any
					json.Unmarshal(raw, &m)
					flatten(tl, m)
				}
			}
			compareFields(t, fmt.Sprintf("%s packet %d", filepath.Base(file), i+1), ours, tl)
		}
	}
}

// flatten copies the leaves of tshark's nested JSON into dst by field name.
func flatten(dst map[string]any, m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			flatten(dst, sub)
			continue
		}
		if _, seen := dst[k]; !seen {
			dst[k] = v
		}
	}
}

// tsharkNames maps rawcraft's layer and field names to tshark's.
var tsharkNames = map[string]string{
	"IPv4/Version": "ip.version", "IPv4/Total Length": "ip.len", "IPv4/Identification": "ip.id",
	"IPv4/Time to Live": "ip.ttl", "IPv4/Protocol": "ip.proto", "IPv4/Header Checksum": "ip.checksum",
	"IPv4/Source Address": "ip.src", "IPv4/Destination Address": "ip.dst",
	"TCP/Source Port": "tcp.srcport", "TCP/Destination Port": "tcp.dstport", "TCP/Sequence Number": "tcp.seq_raw",
	"TCP/Acknowledgment Number": "tcp.ack_raw", "TCP/Window": "tcp.window_size_value", "TCP/Checksum": "tcp.checksum",
	"UDP/Source Port": "udp.srcport", "UDP/Destination Port": "udp.dstport", "UDP/Length": "udp.length", "UDP/Checksum": "udp.checksum",
	"ICMP/Type": "icmp.type", "ICMP/Code": "icmp.code", "ICMP/Checksum": "icmp.checksum",
	"IPv6/Version": "ipv6.version", "IPv6/Traffic Class": "ipv6.tclass", "IPv6/Flow Label": "ipv6.flow",
	"IPv6/Payload Length": "ipv6.plen", "IPv6/Next Header": "ipv6.nxt", "IPv6/Hop Limit": "ipv6.hlim",
	"IPv6/Source Address": "ipv6.src", "IPv6/Destination Address": "ipv6.dst",
	"ICMPv6/Type": "icmpv6.type", "ICMPv6/Code": "icmpv6.code", "ICMPv6/Checksum": "icmpv6.checksum",
	"ICMPv6/Identifier": "icmpv6.echo.identifier", "ICMPv6/Sequence Number": "icmpv6.echo.sequence_number",
}

func compareFields(t *testing.T, what string, ours readJSONPacket, theirs map[string]any) {
	t.Helper()
	n := 0
	for _, f := range ours.Fields {
		key, ok := tsharkNames[f.Layer+"/"+f.Name]
		if !ok {
			continue
		}
		tv, ok := theirs[key].(string)
		if !ok {
			t.Errorf("%s: tshark has no %s", what, key)
			continue
		}
		n++
		ov := f.Text
		if strings.HasPrefix(tv, "0x") {
			v, _ := strconv.ParseUint(tv[2:], 16, 64)
			tv = strconv.FormatUint(v, 10)
			ov = jsonNumber(f.Value)
		} else if _, err := strconv.ParseUint(tv, 10, 64); err == nil {
			ov = jsonNumber(f.Value)
		}
		if ov != tv {
			t.Errorf("%s: %s/%s = %s, tshark %s = %s", what, f.Layer, f.Name, ov, key, tv)
		}
	}
	// Checksum verdicts: tshark's status fields say good (2) or bad (0).
	for _, c := range ours.Checksums {
		key := map[string]string{"IPv4": "ip.checksum.status", "TCP": "tcp.checksum.status", "UDP": "udp.checksum.status", "ICMP": "icmp.checksum.status", "ICMPv6": "icmpv6.checksum.status"}[c.Layer]
		tv, _ := theirs[key].(string)
		want := map[string]string{"1": "good", "0": "bad"}[tv]
		if want != "" && want != c.Status {
			t.Errorf("%s: %s checksum %s, tshark %s = %s", what, c.Layer, c.Status, key, tv)
		}
	}
	if n < 6 {
		t.Errorf("%s: only %d fields compared", what, n)
	}
}

// jsonNumber is a field's "value" as read back from JSON (a float64, or a
// string for an address), in decimal.
func jsonNumber(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
