package oracle

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TCPAnalysis is what tshark's TCP analysis says of one frame: its
// tcp.analysis flags, and the window in bytes (tcp.window_size, the field
// shifted by the scale the handshake agreed on).
type TCPAnalysis struct {
	// Retransmission: tshark's retransmission, fast or spurious — or its
	// out-of-order when an earlier frame of the same flow carried data from
	// the same sequence number. Wireshark calls a segment out of order by timing
	// alone (it came soon after a higher one), even when the capture holds
	// its earlier copies; a sender-side capture proves those are resent.
	Retransmission bool
	// OutOfOrder: tshark's out-of-order, for a segment no earlier frame
	// carried.
	OutOfOrder      bool
	DupAck          int // the duplicate ACK's number; 0 when not one
	ZeroWindow      bool
	ZeroWindowProbe bool
	KeepAlive       bool
	WindowUpdate    bool
	WindowFull      bool
	Window          int
}

// TsharkTCPAnalysis runs tshark's TCP analysis (absolute sequence numbers)
// over every frame of file.
func TsharkTCPAnalysis(t testing.TB, file string) []TCPAnalysis {
	t.Helper()
	tshark := Require(t, "tshark")
	fields := []string{"tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.spurious_retransmission",
		"tcp.analysis.duplicate_ack_num", "tcp.analysis.zero_window", "tcp.analysis.zero_window_probe", "tcp.analysis.keep_alive",
		"tcp.analysis.window_update", "tcp.analysis.window_full", "tcp.window_size", "tcp.analysis.out_of_order",
		"tcp.stream", "tcp.srcport", "tcp.seq", "tcp.len"}
	args := []string{"-r", file, "-n", "-o", "tcp.relative_sequence_numbers:FALSE", "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	type segment struct {
		stream, port, seq string
	}
	sent := map[segment]bool{}
	var fr []TCPAnalysis
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		v := strings.Split(line, "|")
		if len(v) != len(fields) {
			t.Fatalf("tshark line %q: %d fields, want %d", line, len(v), len(fields))
		}
		a := TCPAnalysis{Retransmission: v[0] != "" || v[1] != "" || v[2] != "",
			ZeroWindow: v[4] != "", ZeroWindowProbe: v[5] != "", KeepAlive: v[6] != "", WindowUpdate: v[7] != "", WindowFull: v[8] != ""}
		a.DupAck, _ = strconv.Atoi(v[3])
		a.Window, _ = strconv.Atoi(v[9])
		seg := segment{v[11], v[12], v[13]}
		if v[10] != "" {
			a.Retransmission = a.Retransmission || sent[seg]
			a.OutOfOrder = !sent[seg]
		}
		if v[14] != "" && v[14] != "0" {
			sent[seg] = true
		}
		fr = append(fr, a)
	}
	return fr
}
