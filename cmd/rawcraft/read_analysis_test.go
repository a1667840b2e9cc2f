package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/pcap"
)

// analysisVsTshark reads file as read does — every packet decoded and
// analysed in order — and compares each TCP frame's analysis words with
// tshark's Info column, frame by frame. It returns how many frames and
// words were compared and the disagreements, one line each; frames
// rawcraft does not decode as one outer TCP segment (tunnels, fragments,
// links it does not read, malformed headers) are not compared.
func analysisVsTshark(t *testing.T, file string) (frames, words int, bad []string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	pf, ps, err := pcap.ReadAll(f)
	f.Close()
	if pf == nil || err != nil {
		return 0, 0, nil
	}
	an := listen.NewTCPAnalyzer()
	rps := make([]readPacket, len(ps))
	any := false
	for i, p := range ps {
		rp := &rps[i]
		*rp = readPacket{n: i + 1, p: p}
		decodeCaptured(rp)
		analyze(an, rp)
		any = any || rp.linkOK && rp.d.Has(craft.LayerTCP)
	}
	if !any {
		return 0, 0, nil // no TCP: tshark need not run
	}
	theirs, tcp, ok := oracle.TsharkTCPWords(t, file)
	if !ok || len(theirs) != len(ps) {
		return 0, 0, nil
	}
	for i := range rps {
		rp := &rps[i]
		d := &rp.d
		if !rp.linkOK || rp.derr != nil || !d.Has(craft.LayerTCP) || d.TransportLen < craft.TCPHeaderLen || d.Frag != craft.NotFragment || !tcp[i] {
			continue
		}
		frames++
		ours := rp.tcp.Words()
		words += len(theirs[i])
		if !slices.Equal(ours, theirs[i]) {
			bad = append(bad, fmt.Sprintf("%s frame %d: rawcraft %q, tshark %q", filepath.Base(file), i+1, ours, theirs[i]))
		}
	}
	return frames, words, bad
}

// tolerated says whether a disagreement is one the analyzer makes on
// purpose (listen.TCPAnalyzer's doc): a segment whose earlier copy the
// capture holds is a retransmission, where Wireshark, judging by timing
// alone, calls it out-of-order.
func tolerated(line string) bool {
	ours, theirs, _ := strings.Cut(line, ", tshark ")
	return strings.Contains(theirs, `"TCP Out-Of-Order"`) && strings.Contains(ours, `"TCP Retransmission"`) &&
		strings.Count(ours, `"`) == strings.Count(theirs, `"`)
}

// The same over every capture of tcpdump's test corpus that holds TCP.
func TestReadAnalysisCorpusAgainstTshark(t *testing.T) {
	dir := corpusRoot(t)
	oracle.Require(t, "tshark")
	if testing.Short() {
		t.Skip("the corpus takes a while: run without -short")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var frames, words, tol int
	var bad []string
	for _, name := range files {
		fr, w, b := analysisVsTshark(t, name)
		frames += fr
		words += w
		for _, l := range b {
			if tolerated(l) {
				tol++
				continue
			}
			bad = append(bad, l)
		}
	}
	t.Logf("%d TCP frames, %d analysis words compared; %d disagreements, %d tolerated (out-of-order vs a retransmission of a copy the capture holds)", frames, words, len(bad), tol)
	for _, b := range bad {
		t.Error(b)
	}
	if words < 50 {
		t.Errorf("only %d analysis words in the corpus: the harness is broken", words)
	}
}
