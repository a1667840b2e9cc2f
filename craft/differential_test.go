package craft_test

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/pcap"
)

// The differential harness: generated packets (diffgen_test.go) decoded by
// rawcraft — the fields Explain prints, the checksum verdicts, the decode
// verdict, the summary line — and by tshark -T json, compared field by
// field. A disagreement is either fixed in craft or listed, with its
// reason, in tshark_differences_test.go.

var (
	diffN    = flag.Int("diff.n", 0, "packets the differential harness compares against tshark (default 20000; also $RAWCRAFT_DIFF_N)")
	diffSeed = flag.Uint64("diff.seed", 1, "seed of the differential harness's packet generator")
)

const (
	diffDefaultN   = 20000
	diffBatch      = 10000 // packets per capture, so tshark starts a few times only
	diffShowMax    = 40    // disagreements shown in full
	diffShowPerKey = 2     // of them, per field
)

// diffCase is one packet as both decoders read it.
type diffCase struct {
	gp     *genPacket
	d      craft.Decoded
	err    error
	fields []craft.Field
	sums   []craft.ChecksumResult
	ts     *oracle.TsharkPacket
	theirs map[string][]string
	ours   map[string][]string
	// opts holds, per "" or "q.", the bytes of each TCP option behind an
	// entry of ours[…"tcp.option.verdict"].
	opts map[string][][]byte
	// optVerdicts holds, per "" or "q.", rawcraft's verdict on every TCP
	// option, before alignOptions cuts the compared ones at the first
	// option either side finds wrong.
	optVerdicts map[string][]string
}

// cutOption returns the bytes of the last TCP option whose verdict is
// compared (see alignOptions), or nil.
func (c *diffCase) cutOption(quoted bool) []byte {
	q := ""
	if quoted {
		q = "q."
	}
	n := len(c.ours[q+"tcp.option.verdict"])
	if n == 0 || n > len(c.opts[q]) {
		return nil
	}
	return c.opts[q][n-1]
}

// disagreement is one field on which rawcraft and tshark differ.
type disagreement struct {
	c            *diffCase
	key          string
	ours, theirs []string
}

func (x disagreement) String() string {
	if strings.HasSuffix(x.key, "tcp.option.verdict") {
		return fmt.Sprintf("%s (option %x)", x.string(), x.c.cutOption(strings.HasPrefix(x.key, "q.")))
	}
	return x.string()
}

func (x disagreement) string() string {
	return fmt.Sprintf("%s: rawcraft %q, tshark %q | made: %s | mutations: %v | rawcraft: %s | decode error: %v | frame %x",
		x.key, x.ours, x.theirs, x.c.gp.what, x.c.gp.mut, x.c.d.Summary(), x.c.err, x.c.gp.frame)
}

func diffCount() int {
	if *diffN > 0 {
		return *diffN
	}
	if s := os.Getenv("RAWCRAFT_DIFF_N"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return diffDefaultN
}

// TestDifferentialTshark generates packets over every layer craft knows,
// valid and mutated, writes them to captures, and compares rawcraft's
// reading of each with tshark's: every field value and every verdict
// (malformed, truncated, checksum good or bad). A disagreement not listed
// in tsharkDifferences fails the test, showing the packet's bytes.
func TestDifferentialTshark(t *testing.T) {
	oracle.Require(t, "tshark")
	n, seed := diffCount(), *diffSeed
	gen := newDiffGen(seed)
	dir := t.TempDir()
	var stats diffStats
	stats.justified = map[*tsharkDifference]int{}
	start := time.Now()
	for done := 0; done < n; {
		k := min(diffBatch, n-done)
		batch := make([]genPacket, k)
		for i := range batch {
			batch[i] = gen.next()
		}
		name := filepath.Join(dir, fmt.Sprintf("diff-%d.pcap", done))
		writeDiffCapture(t, name, batch)
		i := 0
		got := oracle.TsharkDissect(t, name, func(tp *oracle.TsharkPacket) {
			if i < len(batch) {
				stats.compare(t, &batch[i], tp)
			}
			i++
		})
		if got != k {
			t.Fatalf("tshark dissected %d packets of %d", got, k)
		}
		_ = os.Remove(name)
		done += k
	}
	line := fmt.Sprintf("compared %d packets, %d field values: %d disagreements (seed %d)", stats.packets, stats.values, len(stats.unexplained), seed)
	fmt.Println(line)
	t.Logf("%s (%v); %d justified differences", line, time.Since(start).Round(time.Millisecond), stats.justifiedTotal())
	stats.report(t)
}

func writeDiffCapture(t *testing.T, name string, batch []genPacket) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcap.NewWriter(f, pcap.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for i := range batch {
		if err := w.Write(time.Unix(1e9+int64(i), 0), batch[i].frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

type diffStats struct {
	packets, values int
	unexplained     []disagreement
	byKey           map[string]int
	justified       map[*tsharkDifference]int
}

func (s *diffStats) justifiedTotal() int {
	n := 0
	for _, v := range s.justified {
		n += v
	}
	return n
}

func (s *diffStats) report(t *testing.T) {
	if testing.Verbose() || len(s.unexplained) > 0 {
		var ds []string
		for d, n := range s.justified {
			ds = append(ds, fmt.Sprintf("%6d  %s", n, d.when))
		}
		sort.Strings(ds)
		t.Logf("justified differences seen:\n%s", strings.Join(ds, "\n"))
	}
	if len(s.unexplained) == 0 {
		return
	}
	var keys []string
	for k, n := range s.byKey {
		keys = append(keys, fmt.Sprintf("%6d  %s", n, k))
	}
	sort.Strings(keys)
	t.Errorf("%d disagreements not in tsharkDifferences, by field:\n%s", len(s.unexplained), strings.Join(keys, "\n"))
	// The first few of each field.
	shown, perKey := 0, map[string]int{}
	for _, x := range s.unexplained {
		if perKey[x.key] == diffShowPerKey && os.Getenv("RAWCRAFT_DIFF_SHOWALL") == "" {
			continue
		}
		perKey[x.key]++
		if shown++; shown > diffShowMax {
			t.Errorf("… and more")
			break
		}
		t.Error(x)
	}
}

// compare reads one packet with rawcraft and checks every field against
// tshark's reading.
func (s *diffStats) compare(t *testing.T, gp *genPacket, tp *oracle.TsharkPacket) {
	c := &diffCase{gp: gp, ts: tp}
	c.d.AcceptIPv6 = true
	c.err = c.d.DecodeFrame(gp.frame)
	c.sums = c.d.Checksums(nil)
	c.fields = craft.Explain(&c.d)
	c.theirs = tsharkView(tp)
	c.opts = map[string][][]byte{}
	c.ours = rawcraftView(c)
	s.packets++
	if s.byKey == nil {
		s.byKey = map[string]int{}
	}
	stopped := tsharkStopped(c.theirs)
	for _, q := range []string{"", "q."} {
		alignOptions(c, q)
	}
	for _, k := range diffKeys {
		o, th := c.ours[k], c.theirs[k]
		if stopped && !strings.HasPrefix(k, "verdict.") && len(th) < len(o) && equalStrings(o[:len(th)], th) {
			// tshark gave up on the packet (a dissector's exception: it
			// says malformed): rawcraft's fields past that point have
			// nothing to be compared with, and the verdicts are compared.
			o = o[:len(th)]
		}
		s.values += max(len(o), len(th))
		if equalStrings(o, th) {
			continue
		}
		x := disagreement{c: c, key: k, ours: o, theirs: th}
		if d := justify(&x); d != nil {
			s.justified[d]++
			continue
		}
		s.unexplained = append(s.unexplained, x)
		s.byKey[k]++
	}
}

// alignOptions makes the two readings of the TCP options comparable.
// rawcraft's "unknown or malformed" is tshark's unknown or bad. After the
// first option either side finds wrong the two read the rest differently
// (tshark goes on, with more experts; Linux stops there, as
// tcp_parse_options does at a bad length): the verdicts are compared up to
// that option, and kinds and values only when every option is right.
func alignOptions(c *diffCase, q string) {
	o, th := c.ours[q+"tcp.option.verdict"], c.theirs[q+"tcp.option.verdict"]
	if c.optVerdicts == nil {
		c.optVerdicts = map[string][]string{}
	}
	c.optVerdicts[q] = append([]string(nil), o...)
	cut := -1
	for i := range max(len(o), len(th)) {
		if i < len(o) && i < len(th) && o[i] == "unknown|bad" && (th[i] == "unknown" || th[i] == "bad") {
			o[i] = th[i]
		}
		if i >= len(o) || i >= len(th) || o[i] != "ok" || th[i] != "ok" {
			cut = i
			break
		}
	}
	if cut < 0 {
		return
	}
	c.ours[q+"tcp.option.verdict"] = o[:min(cut+1, len(o))]
	c.theirs[q+"tcp.option.verdict"] = th[:min(cut+1, len(th))]
	for _, k := range []string{"tcp.option_kind", "tcp.option_len", "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.wscale.multiplier",
		"tcp.options.sack_le", "tcp.options.sack_re", "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr", "tcp.options.tfo.cookie"} {
		delete(c.ours, q+k)
		delete(c.theirs, q+k)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// diffKeys are the values compared, named as tshark names them; the
// "verdict." and "tag." keys are the harness's own, built from both.
var diffKeys = []string{
	"verdict.bad", "verdict.cut",
	"eth.dst", "eth.src", "eth.types", "tag.id", "tag.pcp", "tag.dei", "eth.padding", "eth.trailer",
	"arp.hw.type", "arp.proto.type", "arp.hw.size", "arp.proto.size", "arp.opcode",
	"arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4",
	"ip.version", "ip.hdr_len", "ip.dsfield", "ip.len", "ip.id", "ip.flags.rb", "ip.flags.df", "ip.flags.mf",
	"ip.frag_offset", "ip.ttl", "ip.proto", "ip.checksum", "ip.checksum.status", "ip.src", "ip.dst",
	"ip.opt.type", "ip.opt.len", "ip.opt.ptr", "ip.opt.flag", "ip.opt.overflow", "ip.rec_rt.count", "ip.opt.ts.slots",
	"ipv6.version", "ipv6.tclass", "ipv6.flow", "ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.src", "ipv6.dst",
	"ipv6.hopopts.nxt", "ipv6.hopopts.len", "ipv6.dstopts.nxt", "ipv6.dstopts.len",
	"ipv6.routing.nxt", "ipv6.routing.len", "ipv6.routing.type", "ipv6.routing.segleft",
	"ipv6.fraghdr.nxt", "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident",
	"ipv6.opt.type", "ipv6.opt.length", "ipv6.opt.jumbo",
	"tcp.srcport", "tcp.dstport", "tcp.seq", "tcp.ack", "tcp.hdr_len", "tcp.flags", "tcp.window_size_value",
	"tcp.checksum", "tcp.checksum.status", "tcp.urgent_pointer", "tcp.len",
	"tcp.option_kind", "tcp.option_len", "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.wscale.multiplier",
	"tcp.options.sack_le", "tcp.options.sack_re", "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr",
	"tcp.options.tfo.cookie", "tcp.option.verdict", "ip.opt.invalid",
	"udp.srcport", "udp.dstport", "udp.length", "udp.checksum", "udp.checksum.status",
	"icmp.type", "icmp.code", "icmp.checksum", "icmp.checksum.status", "icmp.ident", "icmp.seq", "icmp.mtu",
	"icmp.pointer", "icmp.redir_gw", "icmp.length", "icmp.mpls.label", "icmp.mpls.exp", "icmp.mpls.s", "icmp.mpls.ttl",
	"icmpv6.type", "icmpv6.code", "icmpv6.checksum", "icmpv6.checksum.status", "icmpv6.echo.identifier",
	"icmpv6.echo.sequence_number", "icmpv6.mtu", "icmpv6.pointer", "icmpv6.length",
	"icmpv6.nd.ra.cur_hop_limit", "icmpv6.nd.ra.router_lifetime", "icmpv6.nd.ra.reachable_time", "icmpv6.nd.ra.retrans_timer",
	"icmpv6.nd.target_address", "icmpv6.rd.na.destination_address", "icmpv6.opt.type", "icmpv6.opt.length",
	"icmpv6.mld.multicast_address", "icmpv6.mldr.mar.multicast_address",
	"summary.transport",
}

// protoLayers are tshark's protocol objects whose fields the harness
// compares; one of them inside an ICMP or ICMPv6 object is the quoted
// datagram's.
var protoLayers = map[string]bool{"ip": true, "ipv6": true, "tcp": true, "udp": true, "icmp": true, "icmpv6": true}

// quotedField reports whether field i belongs to a datagram an ICMP error
// quotes: its nearest protocol object lies inside an icmp or icmpv6 one.
func quotedField(tp *oracle.TsharkPacket, i int) bool {
	j := tp.Fields[i].Parent
	for j >= 0 && !protoLayers[tp.Fields[j].Key] {
		j = tp.Fields[j].Parent
	}
	if j < 0 {
		return false
	}
	for j = tp.Fields[j].Parent; j >= 0; j = tp.Fields[j].Parent {
		if k := tp.Fields[j].Key; k == "icmp" || k == "icmpv6" {
			return true
		}
	}
	return false
}

func init() {
	// The quoted datagram's fields, under "q.".
	for _, k := range diffKeys {
		for _, p := range []string{"ip.", "ipv6.", "tcp.", "udp.", "icmp.", "icmpv6."} {
			if strings.HasPrefix(k, p) && !strings.HasPrefix(k, "icmp.mpls") {
				diffKeys = append(diffKeys, "q."+k)
				break
			}
		}
	}
}

// tsharkView flattens tshark's fields into key → values in document order,
// with the harness's keys built from tshark's. Fields of a quoted datagram
// get the prefix "q.".
func tsharkView(tp *oracle.TsharkPacket) map[string][]string {
	m := map[string][]string{}
	add := func(k, v string) { m[k] = append(m[k], v) }
	optVerdict := map[int]int{} // option object → index of its verdict in m[...]
	lastTS, lastRR := -1, -1    // the Timestamp and Record Route options whose entries are being counted
	for i, f := range tp.Fields {
		k, v := f.Key, f.Value
		if k == "_ws.malformed" {
			// A malformed option makes tshark call the packet malformed
			// and go on: options are compared option by option instead.
			if tp.Within(i, "tcp.options_tree") || tp.Within(i, "ip") && strings.Contains(parentKey(tp, i), "Options") {
				add("ws.malformed.option", "")
			} else {
				add("ws.malformed", "")
			}
		}
		if k == "_ws.unreassembled" {
			// The exception of a dissector that reads past a
			// fragment's bytes: tshark stops there, as for malformed.
			add("ws.unreassembled", "")
		}
		if f.Object {
			continue
		}
		if strings.HasPrefix(k, "ip.") && tp.Within(i, "ipv6") {
			continue // tshark's IPv6 layer repeats ip.version, ip.src…
		}
		q := ""
		if quotedField(tp, i) {
			q = "q."
		}
		add(q+k, v)
		switch k {
		case "vlan.trailer", "vlan.padding": // a tagged frame's, under the tag
			add("eth."+strings.TrimPrefix(k, "vlan."), v)
		case "eth.type", "vlan.etype", "ieee8021ah.etype", "ieee8021ad.etype":
			add("eth.types", v)
		case "vlan.id", "ieee8021ad.id":
			add("tag.id", v)
		case "vlan.priority", "ieee8021ad.priority":
			add("tag.pcp", v)
		case "vlan.dei", "ieee8021ad.dei":
			add("tag.dei", v)
		case "icmpv6.nd.ns.target_address", "icmpv6.nd.na.target_address", "icmpv6.nd.rd.target_address":
			add(q+"icmpv6.nd.target_address", v)
		case "ip.rec_rt":
			// One count per Record Route option.
			if p := f.Parent; tp.Fields[p].Key == "ip.options.record_route_tree" {
				if p != lastRR {
					add(q+"ip.rec_rt.count", "0")
					lastRR = p
				}
				l := m[q+"ip.rec_rt.count"]
				n, _ := strconv.Atoi(l[len(l)-1])
				l[len(l)-1] = strconv.Itoa(n + 1)
			}
		case "tcp.option_kind":
			// tshark's verdict on one option: named (its own subtree),
			// unknown, or bad (an expert on its length, added below).
			verdict := "ok"
			if p := f.Parent; p >= 0 && strings.Contains(tp.Fields[p].Key, "unknown") {
				verdict = "unknown"
			}
			add(q+"tcp.option.verdict", verdict)
			optVerdict[f.Parent] = len(m[q+"tcp.option.verdict"]) - 1
		case "tcp.option.len.invalid", "tcp.suboption_malformed":
			// An expert inside an option's subtree marks that option bad;
			// one outside any (a length past the options) adds a bad one.
			at, found := 0, false
			for p := f.Parent; p >= 0 && tp.Fields[p].Key != "tcp.options_tree"; p = tp.Fields[p].Parent {
				if at, found = optVerdict[p]; found {
					break
				}
			}
			if found {
				m[q+"tcp.option.verdict"][at] = "bad"
			} else {
				add(q+"tcp.option.verdict", "bad")
			}
		case "ip.opt.len.invalid":
			add(q+"ip.opt.invalid", "")
		case "ip.opt.time_stamp":
			// One count per Timestamp option.
			p := f.Parent
			if p != lastTS {
				add(q+"ip.opt.ts.slots", "0")
				lastTS = p
			}
			l := m[q+"ip.opt.ts.slots"]
			n, _ := strconv.Atoi(l[len(l)-1])
			l[len(l)-1] = strconv.Itoa(n + 1)
		}
	}
	// An ARP address tshark does not read as a MAC or an IPv4 address (a
	// length other than 6 or 4, or another protocol type) it shows as
	// bytes; rawcraft shows those in hex: compare them as hex.
	// Hardware addresses are compared as bare hex either way: tshark
	// writes 6 bytes as a MAC only for the hardware types it knows.
	for _, c := range [][2]string{{"arp.src.hw_mac", "arp.src.hw"}, {"arp.dst.hw_mac", "arp.dst.hw"},
		{"arp.src.proto_ipv4", "arp.src.proto"}, {"arp.dst.proto_ipv4", "arp.dst.proto"}} {
		if len(m[c[0]]) == 0 && len(m[c[1]]) > 0 {
			m[c[0]] = append([]string(nil), m[c[1]]...)
		}
		if strings.HasSuffix(c[0], "hw_mac") || len(m[c[1]]) > 0 {
			for i, v := range m[c[0]] {
				m[c[0]][i] = strings.ReplaceAll(v, ":", "")
			}
		}
	}
	for _, k := range []string{"ip.opt.invalid", "q.ip.opt.invalid"} {
		if n := len(m[k]); n > 0 {
			m[k] = []string{"true"}
		}
	}
	// Verdicts.
	yes := func(b bool) []string { return []string{strconv.FormatBool(b)} }
	// tshark's "malformed" (an exception: bytes ended before a field) is
	// rawcraft's truncated or malformed: both say the packet is not what
	// its fields claim. Its expert errors on lengths say the same.
	m["verdict.bad"] = yes(len(m["ws.malformed"]) > 0 || hasAny(m, "ip.bogus_ip_length", "ip.bogus_header_length", "ip.bogus_ip_version",
		"udp.length.bad", "udp.length.bad_zero", "tcp.bogus_header_length", "ipv6.plen_exceeds_framing", "ipv6.bogus_ipv6_version",
		"ip.opt.len.invalid", "icmpv6.invalid_option_length"))
	m["verdict.cut"] = yes(hasAny(m, "_ws.short"))
	// Which transport tshark found, outer packet only.
	var tr []string
	for _, l := range strings.Split(strings.Join(m["frame.protocols"], ""), ":") {
		switch l {
		case "tcp", "udp", "icmp", "icmpv6":
			tr = append(tr, l)
		}
	}
	if len(tr) > 0 {
		m["summary.transport"] = tr[:1]
	}
	return m
}

func parentKey(tp *oracle.TsharkPacket, i int) string {
	if p := tp.Fields[i].Parent; p >= 0 {
		return tp.Fields[p].Key
	}
	return ""
}

// tsharkStopped reports that tshark stopped dissecting the packet part
// way: a dissector's exception (malformed, or unreassembled in a
// fragment), or an IP version it does not
// read further, in the packet or in the datagram an ICMP error quotes (the
// quote is the packet's last part, so nothing of the outer packet follows).
func tsharkStopped(m map[string][]string) bool {
	for _, k := range []string{"ip.bogus_ip_version", "ipv6.bogus_ipv6_version", "ip.bogus_header_length", "ip.bogus_ip_length",
		"tcp.bogus_header_length"} {
		if hasAny(m, k, "q."+k) {
			return true
		}
	}
	return hasAny(m, "ws.malformed", "ws.unreassembled")
}

func hasAny(m map[string][]string, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// checksumStatus turns the meaning Explain gives a checksum into tshark's
// checksum.status: 0 bad, 1 good, 2 unverified, 3 not present, 4 illegal.
func checksumStatus(meaning string) string {
	switch {
	case strings.HasPrefix(meaning, "good"):
		return "1"
	case strings.HasPrefix(meaning, "BAD"):
		return "0"
	case strings.HasPrefix(meaning, "ZERO"):
		return "4"
	case strings.HasPrefix(meaning, "absent"):
		return "3"
	case strings.HasPrefix(meaning, "unverifiable"), meaning == "":
		return "2" // rawcraft claims nothing
	}
	return "?" + meaning
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// rawcraftView is what rawcraft prints of the packet — Explain's fields,
// its checksum verdicts, the decoder's verdict, the summary line — under
// tshark's names.
func rawcraftView(c *diffCase) map[string][]string {
	m := map[string][]string{}
	pre := "" // "q." for the quoted datagram's fields
	add := func(k, v string) {
		if pre != "" && !strings.HasPrefix(k, "eth.") && !strings.HasPrefix(k, "tag.") {
			k = pre + k
		}
		m[k] = append(m[k], v)
	}
	hexv := func(f craft.Field) []byte {
		b, _ := hex.DecodeString(f.Text)
		return b
	}
	var tcpRes uint64
	var ext string // the IPv6 extension header being read
	// An IPv4 or TCP option's fields, from its type or kind on, are read
	// together when the option ends: at the next option, the next field
	// of the header, or another layer.
	var opt []craft.Field
	optPre := ""
	flush := func() {
		if len(opt) == 0 {
			return
		}
		pre = optPre
		if opt[0].Name == "Kind" {
			b := fieldBytes(c.d.Raw, opt)
			n := len(m[pre+"tcp.option.verdict"])
			tcpOptionView(add, opt, b)
			for range len(m[pre+"tcp.option.verdict"]) - n {
				c.opts[pre] = append(c.opts[pre], b)
			}
		} else {
			ipOptionView(add, opt)
		}
		opt = opt[:0]
	}
	for _, f := range c.fields {
		layer := strings.TrimPrefix(f.Layer, "quoted ")
		q := ""
		if layer != f.Layer {
			q = "q."
		}
		// A repeated extension header's layer is "Routing (2nd)".
		if i := strings.LastIndex(layer, " ("); i > 0 && strings.HasSuffix(layer, ")") {
			layer = layer[:i]
		}
		if (layer == "TCP" || layer == "IPv4") && tcpIPOptionField[f.Name] {
			if f.Name == "Kind" || f.Name == "Option Type" || len(opt) == 0 || opt[0].Layer != f.Layer {
				flush()
				optPre = q
			}
			opt = append(opt, f)
			continue
		}
		flush()
		pre = q
		v := strconv.FormatUint(f.Value, 10)
		switch layer {
		case "Ethernet":
			switch f.Name {
			case "Destination":
				add("eth.dst", f.Text)
			case "Source":
				add("eth.src", f.Text)
			case "EtherType":
				add("eth.types", fmt.Sprintf("0x%04x", f.Value))
			}
		case "802.1Q":
			switch f.Name {
			case "TPID":
				add("eth.types", fmt.Sprintf("0x%04x", f.Value))
			case "PCP":
				add("tag.pcp", v)
			case "DEI":
				add("tag.dei", v)
			case "VLAN ID":
				add("tag.id", v)
			}
		case "ARP":
			k := map[string]string{"Hardware type": "arp.hw.type", "Hardware length": "arp.hw.size", "Protocol length": "arp.proto.size",
				"Operation": "arp.opcode", "Sender hardware address": "arp.src.hw_mac", "Sender protocol address": "arp.src.proto_ipv4",
				"Target hardware address": "arp.dst.hw_mac", "Target protocol address": "arp.dst.proto_ipv4"}[f.Name]
			switch {
			case f.Name == "Protocol type":
				add("arp.proto.type", fmt.Sprintf("0x%04x", f.Value))
			case strings.HasSuffix(f.Name, "address"):
				if f.Text != "(none)" { // a length of 0 holds no address
					if strings.Contains(f.Name, "hardware") {
						add(k, strings.ReplaceAll(f.Text, ":", "")) // bare hex, as tshark's view is made
					} else {
						add(k, f.Text)
					}
				}
			case k != "":
				add(k, v)
			}
		case "IPv4":
			switch f.Name {
			case "Version":
				add("ip.version", v)
			case "IHL":
				add("ip.hdr_len", strconv.Itoa(int(f.Value)*4))
			case "Type of Service":
				add("ip.dsfield", fmt.Sprintf("0x%02x", f.Value))
			case "Total Length":
				add("ip.len", v)
			case "Identification":
				add("ip.id", fmt.Sprintf("0x%04x", f.Value))
			case "Flags":
				add("ip.flags.rb", b01(f.Value&4 != 0))
				add("ip.flags.df", b01(f.Value&2 != 0))
				add("ip.flags.mf", b01(f.Value&1 != 0))
			case "Fragment Offset":
				add("ip.frag_offset", v) // tshark counts 8-byte units
			case "Time to Live":
				add("ip.ttl", v)
			case "Protocol":
				add("ip.proto", v)
			case "Header Checksum":
				add("ip.checksum", fmt.Sprintf("0x%04x", f.Value))
				add("ip.checksum.status", checksumStatus(f.Meaning))
			case "Source Address":
				add("ip.src", f.Text)
			case "Destination Address":
				add("ip.dst", f.Text)
			}
		case "TCP":
			switch f.Name {
			case "Source Port":
				add("tcp.srcport", v)
			case "Destination Port":
				add("tcp.dstport", v)
			case "Sequence Number":
				add("tcp.seq", v)
			case "Acknowledgment Number":
				add("tcp.ack", v)
			case "Data Offset":
				add("tcp.hdr_len", strconv.Itoa(int(f.Value)*4))
			case "Reserved":
				tcpRes = f.Value
			case "Control Bits":
				add("tcp.flags", fmt.Sprintf("0x%04x", tcpRes<<8|f.Value))
			case "Window":
				add("tcp.window_size_value", v)
			case "Checksum":
				add("tcp.checksum", fmt.Sprintf("0x%04x", f.Value))
				add("tcp.checksum.status", checksumStatus(f.Meaning))
			case "Urgent Pointer":
				add("tcp.urgent_pointer", v)
			case "Data":
				if f.Layer == "TCP" {
					add("tcp.len", strings.Fields(f.Text)[0])
				}
			}
		case "UDP":
			switch f.Name {
			case "Source Port":
				add("udp.srcport", v)
			case "Destination Port":
				add("udp.dstport", v)
			case "Length":
				add("udp.length", v)
			case "Checksum":
				add("udp.checksum", fmt.Sprintf("0x%04x", f.Value))
				add("udp.checksum.status", checksumStatus(f.Meaning))
			}
		case "ICMP":
			switch f.Name {
			case "Type":
				add("icmp.type", v)
			case "Code":
				add("icmp.code", v)
			case "Checksum":
				add("icmp.checksum", fmt.Sprintf("0x%04x", f.Value))
				add("icmp.checksum.status", checksumStatus(f.Meaning))
			case "Identifier":
				add("icmp.ident", v)
			case "Sequence Number":
				add("icmp.seq", v)
			case "Next-Hop MTU":
				add("icmp.mtu", v)
			case "Pointer":
				add("icmp.pointer", v)
			case "Gateway Address":
				add("icmp.redir_gw", f.Text)
			case "Length":
				// RFC 4884's length: tshark shows it when it is set.
				if f.Value != 0 {
					add("icmp.length", v)
				}
			}
		case "IPv6":
			switch f.Name {
			case "Version":
				add("ipv6.version", v)
			case "Traffic Class":
				add("ipv6.tclass", fmt.Sprintf("0x%08x", f.Value))
			case "Flow Label":
				add("ipv6.flow", fmt.Sprintf("0x%06x", f.Value))
			case "Payload Length":
				add("ipv6.plen", v)
			case "Next Header":
				add("ipv6.nxt", v)
			case "Hop Limit":
				add("ipv6.hlim", v)
			case "Source Address":
				add("ipv6.src", f.Text)
			case "Destination Address":
				add("ipv6.dst", f.Text)
			}
		case "Hop-by-Hop", "Dest Options", "Routing", "Fragment":
			ext = map[string]string{"Hop-by-Hop": "ipv6.hopopts", "Dest Options": "ipv6.dstopts", "Routing": "ipv6.routing", "Fragment": "ipv6.fraghdr"}[layer]
			switch f.Name {
			case "Next Header":
				add(ext+".nxt", v)
			case "Hdr Ext Len":
				add(ext+".len", v)
			case "Routing Type":
				add("ipv6.routing.type", v)
			case "Segments Left":
				add("ipv6.routing.segleft", v)
			case "Fragment Offset":
				add("ipv6.fraghdr.offset", v) // tshark counts 8-byte units
			case "M":
				add("ipv6.fraghdr.more", v)
			case "Identification":
				add("ipv6.fraghdr.ident", fmt.Sprintf("0x%08x", f.Value))
			case "Option Type":
				add("ipv6.opt.type", fmt.Sprintf("0x%02x", f.Value))
			case "Opt Data Len":
				add("ipv6.opt.length", v)
			case "Jumbo Payload Length":
				add("ipv6.opt.jumbo", v)
			}
		case "ICMPv6":
			switch f.Name {
			case "Type":
				add("icmpv6.type", v)
			case "Code":
				add("icmpv6.code", v)
			case "Checksum":
				add("icmpv6.checksum", fmt.Sprintf("0x%04x", f.Value))
				add("icmpv6.checksum.status", checksumStatus(f.Meaning))
			case "Identifier":
				add("icmpv6.echo.identifier", fmt.Sprintf("0x%04x", f.Value)) // tshark shows it in hex
			case "Sequence Number":
				add("icmpv6.echo.sequence_number", v)
			case "MTU":
				add("icmpv6.mtu", v)
			case "Pointer":
				add("icmpv6.pointer", v)
			case "Length":
				if f.Value != 0 {
					add("icmpv6.length", v)
				}
			case "Cur Hop Limit":
				add("icmpv6.nd.ra.cur_hop_limit", v)
			case "Router Lifetime":
				add("icmpv6.nd.ra.router_lifetime", v)
			case "Reachable Time":
				add("icmpv6.nd.ra.reachable_time", v)
			case "Retrans Timer":
				add("icmpv6.nd.ra.retrans_timer", v)
			case "Target Address":
				add("icmpv6.nd.target_address", f.Text)
			case "Destination Address":
				add("icmpv6.rd.na.destination_address", f.Text)
			case "Multicast Address":
				if c.d.ICMPv6.Type == craft.ICMPv6MLDv2Report {
					add("icmpv6.mldr.mar.multicast_address", f.Text) // a record's
				} else {
					add("icmpv6.mld.multicast_address", f.Text)
				}
			case "Option":
				b := hexv(f)
				add("icmpv6.opt.type", v)
				if len(b) >= 2 {
					add("icmpv6.opt.length", strconv.Itoa(int(b[1])))
				}
			}
		case "ICMP extension", "ICMPv6 extension":
			// RFC 4884's structure; an MPLS label stack entry by entry
			// (RFC 4950), which tshark names icmp.mpls.* in both.
			switch f.Name {
			case "Label":
				add("icmp.mpls.label", v)
			case "TC":
				add("icmp.mpls.exp", v)
			case "S":
				add("icmp.mpls.s", v)
			case "TTL":
				add("icmp.mpls.ttl", v)
			}
		case "Trailer":
			t := c.d.Trailer
			if c.d.Link&craft.LayerARP != 0 {
				t = c.d.Raw[c.d.Ethernet.Len()+c.d.ARP.Len():]
			}
			switch f.Name {
			case "Padding":
				add("eth.padding", colonHex(t))
			case "Trailer":
				add("eth.trailer", colonHex(t))
			}
		}
	}
	flush()
	pre = ""
	// An ARP address tshark does not read as a MAC or an IPv4 address (a
	// length other than 6 or 4, or another protocol type) it shows as
	// bytes; rawcraft shows those in hex: compare them as hex.
	// Hardware addresses are compared as bare hex either way: tshark
	// writes 6 bytes as a MAC only for the hardware types it knows.
	for _, c := range [][2]string{{"arp.src.hw_mac", "arp.src.hw"}, {"arp.dst.hw_mac", "arp.dst.hw"},
		{"arp.src.proto_ipv4", "arp.src.proto"}, {"arp.dst.proto_ipv4", "arp.dst.proto"}} {
		if len(m[c[0]]) == 0 && len(m[c[1]]) > 0 {
			m[c[0]] = append([]string(nil), m[c[1]]...)
		}
		if strings.HasSuffix(c[0], "hw_mac") || len(m[c[1]]) > 0 {
			for i, v := range m[c[0]] {
				m[c[0]][i] = strings.ReplaceAll(v, ":", "")
			}
		}
	}
	for _, k := range []string{"ip.opt.invalid", "q.ip.opt.invalid"} {
		if len(m[k]) > 0 {
			m[k] = []string{"true"} // one verdict per header, as tshark's is read
		}
	}
	var pe *craft.ParseError
	if errors.As(c.err, &pe) && pe.Layer == "IPv4" && (pe.Field == "option length" || pe.Field == "options") {
		m["ip.opt.invalid"] = []string{"true"} // the decoder's verdict on an option
	}
	// Verdicts: the decoder's error on the outer packet.
	m["verdict.bad"] = []string{strconv.FormatBool(c.err != nil)}
	m["verdict.cut"] = []string{"false"} // the captures cut nothing (caplen = len)
	// The transport the summary line names.
	s, _, _ := strings.Cut(c.d.Summary(), " quoting [")
	for _, w := range []struct{ word, name string }{{" TCP ", "tcp"}, {" UDP ", "udp"}, {" ICMPv6 ", "icmpv6"}, {" ICMP ", "icmp"}} {
		if strings.Contains(s, w.word) {
			m["summary.transport"] = []string{w.name}
			break
		}
	}
	return m
}

// tcpIPOptionField names the fields Explain gives an IPv4 or TCP option,
// from its type (IPv4's "Option Type", TCP's "Kind") to its last byte.
var tcpIPOptionField = map[string]bool{
	"Kind": true, "Option Type": true, "Length": true, "Option Length": true, "Option Data": true, "Padding": true,
	// TCP (RFC 9293, 2018, 7323, 2385, 7413, 6994)
	"MSS Value": true, "Shift Count": true, "TSval": true, "TSecr": true, "MD5 Digest": true, "Cookie": true, "ExID": true,
	// IPv4 (RFC 791 §3.1)
	"Pointer": true, "Overflow": true, "Flag": true, "Recorded Route": true, "Source Route": true, "Empty Route": true, "Address": true,
	"Internet Address": true, "Timestamp": true,
}

func init() {
	for _, n := range []string{"1st", "2nd", "3rd", "4th"} {
		tcpIPOptionField["Left Edge of "+n+" Block"] = true
		tcpIPOptionField["Right Edge of "+n+" Block"] = true
	}
}

// fieldBytes returns the bytes of raw that fields span, in order.
func fieldBytes(raw []byte, fs []craft.Field) []byte {
	start, end := fs[0].Offset, fs[0].Offset
	for _, f := range fs {
		end = max(end, f.Offset+(f.Bit%8+f.Width+7)/8)
	}
	if start < 0 || end > len(raw) || start > end {
		return nil
	}
	return raw[start:end]
}

// ipOptionView reads one IPv4 option as Explain shows it: its fields,
// from the Option Type on.
func ipOptionView(add func(k, v string), fs []craft.Field) {
	typ := uint8(fs[0].Value)
	if strings.HasPrefix(fs[0].Meaning, "unknown type") {
		return // tshark shows a type it does not know as bytes, with no ip.opt field
	}
	records, stamps := 0, 0
	for _, f := range fs {
		v := strconv.FormatUint(f.Value, 10)
		switch f.Name {
		case "Option Type":
			add("ip.opt.type", v)
		case "Option Length":
			if strings.Contains(f.Meaning, "runs past") || strings.Contains(f.Meaning, "below 2") {
				// A length that breaks RFC 791's form: tshark says the
				// option is invalid, and shows none of its fields.
				add("ip.opt.invalid", "true")
				return
			}
			add("ip.opt.len", v)
		case "Pointer":
			add("ip.opt.ptr", v)
		case "Overflow":
			add("ip.opt.overflow", v)
		case "Flag":
			add("ip.opt.flag", fmt.Sprintf("0x%02x", f.Value))
		case "Recorded Route":
			records++
		case "Timestamp":
			stamps++
		}
	}
	// tshark lists the recorded addresses of a Record Route option, and
	// every timestamp entry of a Time Stamp option: their numbers.
	if typ == craft.IPOptRR && records > 0 {
		add("ip.rec_rt.count", strconv.Itoa(records))
	}
	if typ == craft.IPOptTimestamp && stamps > 0 {
		add("ip.opt.ts.slots", strconv.Itoa(stamps))
	}
}

// tcpOptionVerdict is rawcraft's verdict on one TCP option, as its Kind
// and Length fields say it: "bad" (malformed, or a length wrong for its
// kind), "cut" (the bytes present end inside it: a first fragment, a cut
// frame), "unknown" (a kind the registry does not name), or "ok".
func tcpOptionVerdict(fs []craft.Field) string {
	for _, f := range fs {
		switch {
		case f.Name == "Kind" && strings.Contains(f.Meaning, "cut where the bytes present end"):
			return "cut"
		case f.Name == "Kind" && (strings.Contains(f.Meaning, "malformed") || strings.Contains(f.Meaning, "missing")),
			f.Name == "Length" && (strings.Contains(f.Meaning, "wrong for") || strings.Contains(f.Meaning, "runs past") || strings.Contains(f.Meaning, "below 2")):
			return "bad"
		}
	}
	if strings.HasPrefix(fs[0].Meaning, "unknown kind") {
		return "unknown"
	}
	return "ok"
}

// tcpOptionView reads one TCP option as Explain shows it: its fields, from
// the Kind on; b holds the bytes they span.
func tcpOptionView(add func(k, v string), fs []craft.Field, b []byte) {
	verdict := tcpOptionVerdict(fs)
	if fs[0].Value == uint64(craft.TCPOptEOL) {
		// tshark reads each zero byte after an EOL as another EOL, and
		// stops at the first other byte (its "non-zero header padding").
		for _, z := range b {
			if z != 0 {
				break
			}
			add("tcp.option_kind", "0")
			add("tcp.option.verdict", "ok")
		}
		return
	}
	add("tcp.option.verdict", verdict)
	for _, f := range fs {
		v := strconv.FormatUint(f.Value, 10)
		switch {
		case f.Name == "Kind":
			add("tcp.option_kind", v)
		case f.Name == "Length":
			add("tcp.option_len", v)
		case f.Name == "MSS Value":
			add("tcp.options.mss_val", v)
		case f.Name == "Shift Count":
			add("tcp.options.wscale.shift", v)
			add("tcp.options.wscale.multiplier", strconv.Itoa(1<<min(f.Value, uint64(craft.MaxWindowScale))))
		case strings.HasPrefix(f.Name, "Left Edge"):
			add("tcp.options.sack_le", v)
		case strings.HasPrefix(f.Name, "Right Edge"):
			add("tcp.options.sack_re", v)
		case f.Name == "TSval":
			add("tcp.options.timestamp.tsval", v)
		case f.Name == "TSecr":
			add("tcp.options.timestamp.tsecr", v)
		case f.Name == "Cookie":
			c, _ := hex.DecodeString(f.Text)
			add("tcp.options.tfo.cookie", colonHex(c))
		}
	}
}
