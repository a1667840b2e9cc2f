package craft_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
)

// diagramCell is one cell read back from a drawn diagram: bits [lo, hi)
// of the layer, and the name written in it.
type diagramCell struct {
	lo, hi int
	label  string
}

// parseDiagram reads a diagram as a student would: rows of 32 bits, cell
// borders every two columns per bit, "+   +" between the rows of one tall
// cell, "~ N × 32 bits ~" closing a cell of N rows. It knows nothing of how
// Diagram lays fields out.
func parseDiagram(s string) ([]diagramCell, error) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[2], "+-") {
		return nil, fmt.Errorf("no header and first rule")
	}
	var cells []diagramCell
	row := 0
	var band []string
	flush := func() error {
		switch {
		case len(band) == 0:
			return fmt.Errorf("two rules in a row")
		case strings.HasPrefix(band[len(band)-1], "~"):
			var n int
			if _, err := fmt.Sscanf(strings.Trim(band[len(band)-1], "~ "), "%d × 32 bits", &n); err != nil || len(band) != 3 {
				return fmt.Errorf("elided band %q", band)
			}
			cells = append(cells, diagramCell{32 * row, 32 * (row + n), strings.TrimSpace(strings.Trim(band[0], "|"))})
			row += n
		case len(band) >= 3 && strings.HasPrefix(band[1], "+ "):
			k := (len(band) + 1) / 2
			for i, l := range band {
				if want := "|+"[i%2]; len(l) != 65 || l[0] != want || l[64] != want {
					return fmt.Errorf("tall band line %q", l)
				}
			}
			cells = append(cells, diagramCell{32 * row, 32 * (row + k), strings.TrimSpace(strings.Trim(band[0], "|"))})
			row += k
		case len(band) == 2:
			a, b := []rune(band[0]), []rune(band[1])
			var borders []int
			for i, c := range a {
				if c == '|' {
					borders = append(borders, i)
				}
			}
			for _, i := range borders {
				if i >= len(b) || b[i] != '|' {
					return fmt.Errorf("name and value lines disagree: %q / %q", band[0], band[1])
				}
			}
			if len(borders) < 2 || borders[0] != 0 {
				return fmt.Errorf("row %q", band[0])
			}
			for j := 1; j < len(borders); j++ {
				p, q := borders[j-1], borders[j]
				if p%2 != 0 || q%2 != 0 {
					return fmt.Errorf("a border off the bit grid in %q", band[0])
				}
				cells = append(cells, diagramCell{32*row + p/2, 32*row + q/2, strings.TrimSpace(string(a[p+1 : q]))})
			}
			row++
		default:
			return fmt.Errorf("band of %d lines: %q", len(band), band)
		}
		band = band[:0]
		return nil
	}
	for _, l := range lines[3:] {
		if strings.HasPrefix(l, "+-") {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		band = append(band, l)
	}
	if len(band) > 0 {
		return nil, fmt.Errorf("no closing rule")
	}
	return cells, nil
}

// abbreviations a narrow cell may show instead of a name, as the RFCs'
// diagrams do.
var abbreviations = map[string]string{
	"Data Offset": "Offset", "Reserved": "Rsrvd", "Version": "Ver", "Hardware length": "HLen",
	"Protocol length": "PLen", "Type of Service": "TOS", "Time to Live": "TTL",
	"Fragment Offset": "Frag Off", "Option Type": "Type", "Option Length": "Len", "Opt Data Len": "Len",
	"Overflow": "Oflw", "Traffic Class": "TC",
}

// labelFits reports whether label is name as a cell of the given bits can
// show it: whole, abbreviated, or cut with "…".
func labelFits(label, name string, bits int) bool {
	w := 2*bits - 1
	if label == name {
		return true
	}
	if len([]rune(name)) <= w {
		return false
	}
	if a, ok := abbreviations[name]; ok && label == a {
		return true
	}
	cut, ok := strings.CutSuffix(label, "…")
	return ok && strings.HasPrefix(name, cut) || w == 1 && strings.HasPrefix(name, label)
}

// checkDiagrams asserts, for every layer, that each field with a width
// appears in the layer's diagram at its bit offset, under its name, and
// spans exactly its width (continuation cells marked "(cont.)"), and that
// the diagram shows nothing else.
func checkDiagrams(t *testing.T, what string, fields []craft.Field) {
	t.Helper()
	for _, l := range craft.Layers(fields) {
		d := craft.Diagram(fields, l)
		var fs []craft.Field
		for _, f := range fields {
			if f.Layer == l && f.Width > 0 {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			continue
		}
		cells, err := parseDiagram(d)
		if err != nil {
			t.Errorf("%s: %s diagram: %v\n%s", what, l, err, d)
			continue
		}
		i := 0
		for _, f := range fs {
			if i >= len(cells) {
				t.Errorf("%s: %s %s (bit %d) is not in the diagram\n%s", what, l, f.Name, f.Bit, d)
				break
			}
			for i+1 < len(cells) && cells[i].label == "" && cells[i].hi <= f.Bit {
				i++ // bits of the layer no field explains (where another layer sits)
			}
			c := cells[i]
			if c.lo != f.Bit || !labelFits(c.label, f.Name, c.hi-c.lo) {
				t.Errorf("%s: %s %s at bit %d: the diagram has %q at bits %d-%d\n%s", what, l, f.Name, f.Bit, c.label, c.lo, c.hi, d)
				break
			}
			end := c.hi
			for i++; end < f.Bit+f.Width && i < len(cells) && cells[i].lo == end &&
				(labelFits(cells[i].label, "(cont.)", cells[i].hi-cells[i].lo) || cells[i].label == f.Name+" (cont.)"); i++ {
				end = cells[i].hi
			}
			if end != f.Bit+f.Width {
				t.Errorf("%s: %s %s spans bits %d-%d, the diagram %d-%d\n%s", what, l, f.Name, f.Bit, f.Bit+f.Width, f.Bit, end, d)
				break
			}
		}
		for i < len(cells) && cells[i].label == "" {
			i++
		}
		if i < len(cells) && !t.Failed() {
			t.Errorf("%s: %s diagram shows %q at bit %d, no field is there\n%s", what, l, cells[i].label, cells[i].lo, d)
		}
	}
}

// genTCPOptions returns a random option list of at most 40 bytes: every
// kind rawcraft names, at any alignment, and unknown kinds.
func genTCPOptions(r *rand.Rand) []byte {
	var b []byte
	rnd := func(n int) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(r.IntN(256))
		}
		return p
	}
	for {
		var o []byte
		switch r.IntN(15) {
		case 0, 1:
			o = craft.AppendTCPOptNOP(nil)
		case 2:
			o = craft.AppendTCPOptMSS(nil, uint16(r.IntN(65536)))
		case 3:
			o = craft.AppendTCPOptWScale(nil, uint8(r.IntN(16)))
		case 4:
			o = craft.AppendTCPOptSACKOK(nil)
		case 5:
			var blocks []craft.SACKBlock
			for range 1 + r.IntN(3) {
				blocks = append(blocks, craft.SACKBlock{Left: r.Uint32(), Right: r.Uint32()})
			}
			o = craft.AppendTCPOptSACK(nil, blocks...)
		case 6:
			o = craft.AppendTCPOptTimestamps(nil, r.Uint32(), r.Uint32())
		case 7:
			n := 4 + 2*r.IntN(7)
			o = append([]byte{craft.TCPOptFastOpen, byte(2 + n)}, rnd(n)...)
		case 8:
			o = []byte{craft.TCPOptFastOpen, 2}
		case 9:
			n := []int{0, 4, 8, 16}[r.IntN(4)]
			o = append([]byte{craft.TCPOptExp2, byte(4 + n), 0xf9, 0x89}, rnd(n)...)
		case 10:
			o = append([]byte{[]byte{craft.TCPOptExp1, craft.TCPOptExp2}[r.IntN(2)], 0, 0x45, 0x67}, rnd(r.IntN(4))...)
			o[1] = byte(len(o))
		case 11:
			o = append([]byte{craft.TCPOptMD5, 18}, rnd(16)...)
		case 12:
			o = append([]byte{byte(100 + r.IntN(50)), 0}, rnd(r.IntN(5))...)
			o[1] = byte(len(o))
		case 13:
			o = []byte{28, 4, byte(r.IntN(256)), byte(r.IntN(256))}
		case 14:
			if len(b) < craft.MaxOptionsLen {
				b = append(b, craft.TCPOptEOL)
			}
			return b
		}
		if len(b)+len(o) > craft.MaxOptionsLen {
			return b
		}
		b = append(b, o...)
	}
}

// genIPOptions returns a random IPv4 option list: route options and
// timestamps of every flag with any pointer and overflow, NOPs, others.
func genIPOptions(r *rand.Rand) []byte {
	var b []byte
	for {
		var o []byte
		switch r.IntN(6) {
		case 0:
			o = []byte{craft.IPOptNOP}
		case 1, 2:
			n := 1 + r.IntN(4)
			o = []byte{[]byte{craft.IPOptRR, craft.IPOptLSRR, craft.IPOptSSRR}[r.IntN(3)], byte(3 + 4*n), byte(r.IntN(256))}
			for range 4 * n {
				o = append(o, byte(r.IntN(256)))
			}
		case 3, 4:
			flag := []byte{0, 1, 3, byte(r.IntN(16))}[r.IntN(4)]
			n := 4 + 4*r.IntN(5)
			o = []byte{craft.IPOptTimestamp, byte(4 + n), byte(r.IntN(256)), byte(r.IntN(16))<<4 | flag}
			for range n {
				o = append(o, byte(r.IntN(256)))
			}
		case 5:
			o = []byte{148, 4, 0, 0} // router alert
		}
		if len(b)+len(o) > craft.MaxOptionsLen {
			return b
		}
		b = append(b, o...)
	}
}

// explained decodes b (an IP packet) and returns its explanation.
func explained(t *testing.T, b []byte) []craft.Field {
	t.Helper()
	d := craft.Decoded{AcceptIPv6: true}
	_ = d.DecodeIP(b)
	return craft.Explain(&d)
}

// TestDiagramDrawsEveryField: for generated TCP and IPv4 option lists (any
// alignment), for the golden packets of every layer, and for MLD and ICMP
// extension messages, every explained field appears in its layer's
// diagram at its bit offset and width.
func TestDiagramDrawsEveryField(t *testing.T) {
	r := rand.New(rand.NewPCG(24, 1))
	for i := range 400 {
		opts := genTCPOptions(r)
		p := craft.Packet{IPv4: &craft.IPv4{Src: oHc, Dst: oHs, Options: genIPOptions(r)},
			TCP: &craft.TCP{SrcPort: 1, DstPort: 2, Flags: craft.TCPSyn, Options: opts}, Payload: make([]byte, r.IntN(300))}
		b, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		checkDiagrams(t, fmt.Sprintf("packet %d (TCP options %x, IP options %x)", i, opts, p.IPv4.Options), explained(t, b))
		if t.Failed() {
			return
		}
	}
	for _, c := range explainCorpus(t) {
		checkDiagrams(t, c.name, c.fields())
	}
}

// TestDiagramGolden holds the diagram of the example, whose
// options after the NOPs were not drawn.
func TestDiagramGolden(t *testing.T) {
	opts, err := craft.ParseTCPOptions("nop,nop,ts=1:2,nop,nop,sack=5-9")
	if err != nil {
		t.Fatal(err)
	}
	b, err := (&craft.Packet{IPv4: &craft.IPv4{Src: oHc, Dst: oHs, ID: 1},
		TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Flags: craft.TCPSyn, Window: 64240, Options: opts}}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := craft.Diagram(explained(t, b), "TCP")
	name := filepath.Join("testdata", "diagram-tcp-options.txt")
	if os.Getenv("RAWCRAFT_UPDATE_GOLDEN") != "" {
		os.WriteFile(name, []byte(got), 0o644)
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("diagram:\n%s\nwant:\n%s", got, want)
	}
	// Each option field at its place: row 5 holds NOP, NOP, Kind 8, Length
	// 10; TSval and TSecr fill rows 6 and 7; row 8 NOP, NOP, Kind 5,
	// Length 10; the SACK edges rows 9 and 10.
	cells, err := parseDiagram(got)
	if err != nil {
		t.Fatal(err)
	}
	var at []string
	for _, c := range cells {
		if c.lo >= 160 {
			at = append(at, c.label+"@"+strconv.Itoa(c.lo)+"/"+strconv.Itoa(c.hi-c.lo))
		}
	}
	if w := "Kind@160/8 Kind@168/8 Kind@176/8 Length@184/8 TSval@192/32 TSecr@224/32 Kind@256/8 Kind@264/8 Kind@272/8 Length@280/8 " +
		"Left Edge of 1st Block@288/32 Right Edge of 1st Block@320/32"; strings.Join(at, " ") != w {
		t.Errorf("option cells %s\nwant %s", strings.Join(at, " "), w)
	}
}
