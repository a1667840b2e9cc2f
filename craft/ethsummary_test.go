package craft_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/pcap"
)

// TestSummaryEthernetCut: a frame shorter than Ethernet II's 14-byte
// header is said to be one, cut ("Ethernet, truncated: 5 of the header's
// 14 bytes"), exactly when tshark calls its Ethernet layer malformed.
func TestSummaryEthernetCut(t *testing.T) {
	name := filepath.Join(t.TempDir(), "eth.pcap")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := pcap.NewWriter(f, pcap.LinkEthernet)
	frame := []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5, 0xaa, 0xbb}
	for n := 1; n <= len(frame); n++ {
		if err := w.Write(time.Unix(0, 0), frame[:n]); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	n := 0
	oracle.TsharkDissect(t, name, func(tp *oracle.TsharkPacket) {
		n++
		var d craft.Decoded
		_ = d.DecodeFrame(frame[:n])
		got := d.Summary()
		want := fmt.Sprintf("Ethernet, truncated: %d of the header's 14 bytes", n)
		if cut := tp.Has("_ws.malformed") && !tp.Has("eth.type"); cut != (got == want) {
			t.Errorf("%d-byte frame: summary %q; tshark malformed without an EtherType: %v", n, got, cut)
		}
	})
	if n != len(frame) {
		t.Fatalf("tshark read %d frames of %d", n, len(frame))
	}
}
