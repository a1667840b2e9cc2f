package craft_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/pcap"
)

// FuzzDecodeCorpus seeds the decoders with real packets — the first records
// of every capture in tcpdump's test corpus (many made to crash
// dissectors), Ethernet frames and raw IP datagrams alike, the link type
// carried in the input's first byte — and with 2 000 packets of the tshark
// differential harness's generator. Each input runs everything read runs:
// decode, checksums, the field table, every layer's bit diagram, the
// summary line.
func FuzzDecodeCorpus(f *testing.F) {
	if dir := corpusPath(); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, name := range files {
			raw, err := os.ReadFile(name)
			if err != nil {
				continue
			}
			pf, err := pcap.Open(bytes.NewReader(raw))
			if err != nil {
				continue
			}
			for range 3 {
				p, err := pf.Next()
				if err == io.EOF || err != nil {
					break
				}
				switch p.LinkType {
				case pcap.LinkEthernet:
					f.Add(append([]byte{0}, p.Data...))
				case pcap.LinkRaw:
					f.Add(append([]byte{1}, p.Data...))
				}
			}
		}
	}
	// And the differential harness's generated packets (every layer craft
	// knows, valid and mutated), all Ethernet frames.
	g := newDiffGen(29)
	for range 2000 {
		f.Add(append([]byte{0}, g.next().frame...))
	}
	f.Add([]byte{1, 0x45, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		b := in[1:len(in):len(in)]
		var d craft.Decoded
		d.AcceptIPv6 = true
		if in[0]&1 == 0 {
			_ = d.DecodeFrame(b)
		} else {
			_ = d.DecodeIP(b)
		}
		var sums [8]craft.ChecksumResult
		_ = d.Checksums(sums[:0])
		fields := craft.Explain(&d)
		for _, l := range craft.Layers(fields) {
			_ = craft.Diagram(fields, l)
		}
		for _, fl := range fields {
			if fl.Offset < 0 || fl.Offset > len(b) {
				t.Fatalf("field %s %s at byte %d of %d", fl.Layer, fl.Name, fl.Offset, len(b))
			}
		}
		_ = d.Summary()
	})
}
