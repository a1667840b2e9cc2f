package oracle

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
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
	// The retransmission's kind, when Retransmission: fast (it answers
	// duplicate ACKs) or spurious (its bytes were already acknowledged).
	FastRetransmission, SpuriousRetransmission bool
	LostSegment                                bool // "Previous segment not captured"
	AckLostSegment                             bool // "ACKed unseen segment"
	KeepAliveAck, ZeroWindowProbeAck           bool
	DupAckFrame                                int // the frame a duplicate ACK repeats (tcp.analysis.duplicate_ack_frame)
}

// TsharkTCPAnalysis runs tshark's TCP analysis (absolute sequence numbers)
// over every frame of file.
func TsharkTCPAnalysis(t testing.TB, file string) []TCPAnalysis {
	t.Helper()
	tshark := Require(t, "tshark")
	fields := []string{"tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.spurious_retransmission",
		"tcp.analysis.duplicate_ack_num", "tcp.analysis.zero_window", "tcp.analysis.zero_window_probe", "tcp.analysis.keep_alive",
		"tcp.analysis.window_update", "tcp.analysis.window_full", "tcp.window_size", "tcp.analysis.out_of_order",
		"tcp.stream", "tcp.srcport", "tcp.seq", "tcp.len",
		"tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment", "tcp.analysis.keep_alive_ack", "tcp.analysis.zero_window_probe_ack",
		"tcp.analysis.duplicate_ack_frame"}
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
		a.FastRetransmission, a.SpuriousRetransmission = v[1] != "", v[2] != ""
		a.LostSegment, a.AckLostSegment, a.KeepAliveAck, a.ZeroWindowProbeAck = v[15] != "", v[16] != "", v[17] != "", v[18] != ""
		a.DupAckFrame, _ = strconv.Atoi(v[19])
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

// tcpWord is one of Wireshark's TCP analysis names as its Info column
// shows them.
var tcpWord = regexp.MustCompile(`\[(TCP (?:Retransmission|Fast Retransmission|Spurious Retransmission|Out-Of-Order|Dup ACK \d+#\d+|ZeroWindowProbeAck|ZeroWindowProbe|ZeroWindow|Window Update|Window Full|Keep-Alive ACK|Keep-Alive|ACKed unseen segment|Previous segment not captured))\]`)

// TsharkTCPWords returns, for every frame of file, tshark's TCP analysis
// words in its Info column's order ("TCP Dup ACK 12#1", "TCP ZeroWindow"),
// with IP reassembly off, so that a fragment is not analysed as TCP, and
// whether tshark dissected TCP in the frame at all. ok is false when tshark
// cannot read the file.
func TsharkTCPWords(t testing.TB, file string) (words [][]string, tcp []bool, ok bool) {
	t.Helper()
	tshark := Require(t, "tshark")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tshark, "-r", file, "-n", "-o", "tcp.relative_sequence_numbers:FALSE",
		"-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
		"-T", "fields", "-E", "separator=|", "-E", "occurrence=f", "-e", "tcp.srcport", "-e", "_ws.col.Info").Output()
	if err != nil {
		return nil, nil, false
	}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		port, info, _ := strings.Cut(line, "|")
		var w []string
		for _, m := range tcpWord.FindAllStringSubmatch(info, -1) {
			w = append(w, m[1])
		}
		words = append(words, w)
		tcp = append(tcp, port != "")
	}
	return words, tcp, true
}
