package craft_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/pcap"
)

// corpusDir finds ../shared/corpus/tcpdump relative to the module root (the
// path CI has). It skips only when the corpus is absent and CI is unset.
func corpusDir(t *testing.T) string {
	t.Helper()
	c := corpusPath()
	if c == "" {
		if os.Getenv("CI") == "" {
			t.Skip("no capture corpus at ../shared/corpus/tcpdump")
		}
		t.Fatal("no capture corpus at ../shared/corpus/tcpdump from the module root (CI has ../shared/corpus)")
	}
	return c
}

// corpusPath is ../shared/corpus/tcpdump from the module root, or "" when
// it is absent.
func corpusPath() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
		dir = filepath.Dir(dir)
	}
	c := filepath.Join(dir, "..", "shared", "corpus", "tcpdump")
	if _, err := os.Stat(c); err != nil {
		return ""
	}
	return c
}

// Link types whose records rawcraft decodes: Ethernet, and raw IP.
const (
	linkEthernet = 1
	linkRaw      = 101
	linkRawOld   = 12
	linkRawAlt   = 14
	linkIPv4     = 228
)

// TestCorpusAgainstTcpdump decodes, explains and summarizes every packet of
// tcpdump's test captures (many made to crash dissectors), with the
// checksum steps of every TCP and UDP segment, each in bounded time, and
// asserts that checksum verdicts equal tcpdump -nn -vv's wherever both
// verify.
func TestCorpusAgainstTcpdump(t *testing.T) {
	dir := corpusDir(t)
	oracle.Require(t, "tcpdump")
	if testing.Short() {
		t.Skip("the corpus takes a while: run without -short")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no files in %s: %v", dir, err)
	}
	var packets, decoded, compared, bad, refused, unaligned int
	var disagree []string
	var d craft.Decoded
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcap.NewReader(f)
		if err != nil {
			// pcapng and others: refused with one clear error.
			if !errors.Is(err, pcap.ErrFormat) {
				t.Errorf("%s: %v, want pcap.ErrFormat", filepath.Base(name), err)
			}
			refused++
			f.Close()
			continue
		}
		var recs [][]byte
		for {
			rec, err := r.Next()
			if err != nil {
				if err != io.EOF {
					recs = append(recs, nil) // tcpdump prints what it read; stop comparing this file
				}
				break
			}
			recs = append(recs, rec.Data)
		}
		f.Close()
		link := r.LinkType
		var tv []oracle.Verdicts
		if link == linkEthernet || link == linkRaw || link == linkRawOld || link == linkRawAlt || link == linkIPv4 {
			tv = oracle.TcpdumpVerdicts(t, name, len(recs))
			if tv == nil {
				unaligned++
			}
		}
		for i, b := range recs {
			if b == nil {
				tv = nil
				continue
			}
			packets++
			start := time.Now()
			var derr error
			switch {
			case link == linkEthernet:
				derr = d.DecodeFrame(b)
			case link == linkRaw || link == linkRawOld || link == linkRawAlt || link == linkIPv4:
				derr = d.DecodeIP(b)
			default:
				continue
			}
			decoded++
			_ = derr
			fields := craft.Explain(&d)
			// every field of real captures drawn at its offset and width
			checkDiagrams(t, fmt.Sprintf("%s packet %d", filepath.Base(name), i+1), fields)
			_ = d.Summary()
			sums := d.Checksums(nil)
			if d.Layers&(craft.LayerTCP|craft.LayerUDP) != 0 && d.Frag == craft.NotFragment && d.TransportOffset <= len(b) {
				proto := craft.ProtoTCP
				if d.Layers&craft.LayerUDP != 0 {
					proto = craft.ProtoUDP
				}
				end := min(len(b), d.IPOffset+int(d.IPv4.TotalLen.Or(0)))
				if end >= d.TransportOffset {
					_ = craft.TransportSteps(d.IPv4.Src, d.IPv4.Dst, proto, b[d.TransportOffset:end]).String()
				}
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("%s packet %d: %v to decode and explain", filepath.Base(name), i+1, el)
			}
			if tv == nil || d.Layers&craft.LayerIPv4 == 0 || d.Quoted.Layers != 0 {
				continue
			}
			p := d.IPv4.Protocol.Or(0)
			if p != craft.ProtoTCP && p != craft.ProtoUDP && p != craft.ProtoICMP {
				continue // tunnels: tcpdump's verdicts may be the inner packet's
			}
			want := tv[i]
			for _, c := range sums {
				if c.Quoted || (c.Status != craft.ChecksumGood && c.Status != craft.ChecksumBad) {
					continue
				}
				ours := map[craft.ChecksumStatus]string{craft.ChecksumGood: "good", craft.ChecksumBad: "bad"}[c.Status]
				var theirs string
				switch c.Layer {
				case craft.LayerIPv4:
					theirs = want.IP
				case craft.LayerTCP:
					theirs = want.TCP
				case craft.LayerUDP:
					theirs = want.UDP
				case craft.LayerICMP:
					// tcpdump says only when it is wrong
					theirs = map[bool]string{true: "bad", false: "good"}[want.ICMP == "bad"]
				}
				if theirs == "" {
					continue
				}
				compared++
				if ours == "bad" {
					bad++
				}
				if theirs != ours {
					disagree = append(disagree, fmt.Sprintf("%s packet %d: %v checksum 0x%04x: rawcraft %s (want 0x%04x), tcpdump %s",
						filepath.Base(name), i+1, c.Layer, c.Got, ours, c.Want, theirs))
				}
			}
		}
	}
	t.Logf("%d files (%d refused: not classic pcap; %d whose tcpdump output did not split per packet), %d packets, %d decoded, %d checksum verdicts compared (%d of them bad), %d disagreements",
		len(files), refused, unaligned, packets, decoded, compared, bad, len(disagree))
	for _, s := range disagree {
		t.Error(s)
	}
	if compared == 0 {
		t.Error("no checksum verdict compared: the harness is broken")
	}
}
