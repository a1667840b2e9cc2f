package oracle

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
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

// TsharkDissectArgs are the tshark arguments of a per-packet comparison:
// JSON output; checksum validation on for IPv4, TCP and UDP (ICMP and
// ICMPv6 are always checked); no reassembly of IPv4 or IPv6 fragments or
// TCP streams, so that each frame is dissected alone; absolute sequence
// numbers and no sequence analysis, whose words depend on earlier frames;
// every TCP and UDP port decoded as plain data, so that a payload is
// never taken for an application protocol whose own faults would show;
// and no vendor Ethernet trailer heuristics (VSS-Monitoring, Ixia,
// Gigamon, F5): a capture rawcraft writes carries none, yet VSS-Monitoring's
// takes any trailer whose first 4 bytes read as a time near the packet's
// pcap timestamp for its time stamp, and hides the trailer.
var TsharkDissectArgs = []string{"-n", "-T", "json",
	"-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
	"-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-o", "tcp.desegment_tcp_streams:FALSE",
	"-o", "tcp.relative_sequence_numbers:FALSE", "-o", "tcp.analyze_sequence_numbers:FALSE",
	"-d", "tcp.port==0-65535,data", "-d", "udp.port==0-65535,data",
	"--disable-heuristic", "vssmonitoring_eth", "--disable-heuristic", "ixiatrailer_eth",
	"--disable-heuristic", "gmtrailer_eth", "--disable-heuristic", "gmhdr_eth", "--disable-heuristic", "f5ethtrailer"}

// TsharkField is one line of tshark's JSON: a field's key and value, or
// (Object) a subtree such as a protocol layer, an option or an expert
// item, whose fields name it as their Parent.
type TsharkField struct {
	Key, Value string
	Object     bool
	Parent     int // index of the enclosing object in Fields; -1 at the top
}

// TsharkPacket is one packet of tshark's JSON, its fields in document
// order: a packet that repeats a layer (an ICMP error's quoted IPv4
// header) repeats its keys, outer first.
type TsharkPacket struct {
	Fields []TsharkField
}

// All returns every value of key, in document order.
func (p *TsharkPacket) All(key string) []string {
	var v []string
	for _, f := range p.Fields {
		if f.Key == key && !f.Object {
			v = append(v, f.Value)
		}
	}
	return v
}

// Has reports whether a field or object named key is present.
func (p *TsharkPacket) Has(key string) bool {
	for _, f := range p.Fields {
		if f.Key == key {
			return true
		}
	}
	return false
}

// Within reports whether field i lies inside an object named key.
func (p *TsharkPacket) Within(i int, key string) bool {
	for j := p.Fields[i].Parent; j >= 0; j = p.Fields[j].Parent {
		if p.Fields[j].Key == key {
			return true
		}
	}
	return false
}

// TsharkDissect runs tshark over file with TsharkDissectArgs and more, and
// calls each with every packet as it is read (tshark's output is streamed,
// not held: a run may dissect millions of packets). It returns the number
// of packets read. Each packet's Fields are reused for the next one.
func TsharkDissect(t testing.TB, file string, each func(*TsharkPacket), more ...string) int {
	t.Helper()
	tshark := Require(t, "tshark")
	args := append(append([]string{"-r", file}, TsharkDissectArgs...), more...)
	cmd := exec.Command(tshark, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("tshark: %v", err)
	}
	n, perr := parseTsharkJSON(out, each)
	if perr != nil {
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	if perr != nil {
		t.Fatalf("tshark's JSON: %v", perr)
	}
	if werr != nil {
		t.Fatalf("tshark: %v: %s", werr, stderr.String())
	}
	return n
}

// parseTsharkJSON reads tshark -T json's output, which it prints one
// member to a line, without a general JSON decoder: a million packets'
// output is gigabytes.
func parseTsharkJSON(r io.Reader, each func(*TsharkPacket)) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<26)
	var p TsharkPacket
	var stack []int // open objects' indexes; -2 for objects outside a packet
	depth, n, line := 0, 0, 0
	parent := func() int {
		if len(stack) == 0 {
			return -1
		}
		return stack[len(stack)-1]
	}
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		s = strings.TrimSuffix(s, ",")
		switch {
		case s == "":
			continue
		case s == "[" && depth == 0:
			depth = 1
			continue
		case s == "]" && depth == 1:
			depth = 0
			continue
		case s == "{" && depth == 1: // a packet
			depth = 2
			p.Fields = p.Fields[:0]
			stack = stack[:0]
			continue
		case s == "}" && depth == 2 && len(stack) == 0:
			depth = 1
			n++
			each(&p)
			continue
		case s == "{" || s == "[": // an array's element that is an object
			if len(stack) == 0 {
				return n, fmt.Errorf("line %d: %q outside an object", line, s)
			}
			p.Fields = append(p.Fields, TsharkField{Key: p.Fields[parent()].Key, Object: true, Parent: parent()})
			stack = append(stack, len(p.Fields)-1)
			continue
		case s == "}" || s == "]":
			if len(stack) == 0 {
				return n, fmt.Errorf("line %d: %q closes nothing", line, s)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if depth < 2 {
			return n, fmt.Errorf("line %d: %q outside a packet", line, s)
		}
		key, rest, err := jsonString(s)
		if err != nil {
			return n, fmt.Errorf("line %d: %v", line, err)
		}
		if !strings.HasPrefix(rest, ":") { // an array element
			p.Fields = append(p.Fields, TsharkField{Key: p.Fields[parent()].Key, Value: key, Parent: parent()})
			continue
		}
		rest = strings.TrimSpace(rest[1:])
		switch {
		case rest == "{" || rest == "[":
			p.Fields = append(p.Fields, TsharkField{Key: key, Object: true, Parent: parent()})
			stack = append(stack, len(p.Fields)-1)
		case rest == "{}" || rest == "[]" || rest == "null":
			p.Fields = append(p.Fields, TsharkField{Key: key, Object: true, Parent: parent()})
		case strings.HasPrefix(rest, `"`):
			v, _, err := jsonString(rest)
			if err != nil {
				return n, fmt.Errorf("line %d: %v", line, err)
			}
			p.Fields = append(p.Fields, TsharkField{Key: key, Value: v, Parent: parent()})
		default: // a number
			p.Fields = append(p.Fields, TsharkField{Key: key, Value: rest, Parent: parent()})
		}
	}
	if err := sc.Err(); err != nil {
		return n, err
	}
	if depth != 0 {
		return n, fmt.Errorf("output ends inside a packet (line %d)", line)
	}
	return n, nil
}

// jsonString reads the JSON string s starts with and returns it and what
// follows it.
func jsonString(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", fmt.Errorf("%q: want a string", s)
	}
	esc := false
	for i := 1; i < len(s); i++ {
		switch {
		case esc:
			esc = false
		case s[i] == '\\':
			esc = true
		case s[i] == '"':
			if !strings.Contains(s[:i], `\`) {
				return s[1:i], s[i+1:], nil
			}
			v, err := strconv.Unquote(s[:i+1])
			if err != nil {
				var u string
				if jerr := json.Unmarshal([]byte(s[:i+1]), &u); jerr != nil {
					return "", "", jerr
				}
				v = u
			}
			return v, s[i+1:], nil
		}
	}
	return "", "", fmt.Errorf("%q: unterminated string", s)
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
