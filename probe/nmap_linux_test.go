package probe

import (
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/internal/oracle"
)

// Every TCP scan type nmap has, rawcraft's state for an open, a closed and
// a dropped port equals nmap's on the same ports of the same host, in the
// same test: -sS (also with data in the SYN), -sA, -sW, -sF, -sX, -sN.
func TestScanTypesAgreeWithNmap(t *testing.T) {
	oracle.Require(t, "nmap")
	l := lab.ForTest(t, lab.Config{})
	stop, err := l.Servers(lab.Hs, "198.18.1.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if _, err := l.DropPort(lab.Hs, craft.ProtoTCP, 9997); err != nil {
		t.Fatal(err)
	}
	F, S, A, P, U := craft.TCPFin, craft.TCPSyn, craft.TCPAck, craft.TCPPsh, craft.TCPUrg
	for _, c := range []struct {
		nmap   []string
		flags  uint8
		data   int
		window bool
	}{
		{[]string{"-sS"}, S, 0, false},
		{[]string{"-sS", "--data-length", "5"}, S, 5, false},
		{[]string{"-sA"}, A, 0, false},
		{[]string{"-sW"}, A, 0, true},
		{[]string{"-sF"}, F, 0, false},
		{[]string{"-sX"}, F | P | U, 0, false},
		{[]string{"-sN"}, 0, 0, false},
	} {
		cfg := Config{Proto: craft.ProtoTCP, Dst: lab.AddrHs, Ports: []uint16{9997, 9998, 9999}, Timeout: 300 * time.Millisecond, Retries: 1, WindowScan: c.window,
			Packet: craft.Packet{IPv4: &craft.IPv4{}, TCP: &craft.TCP{Flags: c.flags, Ack: 0x12345678, Window: 1024}, Payload: make([]byte, c.data)}}
		rep := runIn(t, l, lab.Hc, cfg)
		theirs := oracle.NmapStates(t, l.NS(lab.Hc), "198.18.1.1", "9997-9999", c.nmap...)
		for _, r := range rep.Results {
			if ours := string(r.State); ours != theirs[r.Probe.DstPort] {
				t.Errorf("nmap %v, port %d: rawcraft %q (%s), nmap %q", c.nmap, r.Probe.DstPort, ours, r.Reply.Reason, theirs[r.Probe.DstPort])
			}
		}
	}
}
