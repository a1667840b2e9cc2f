package craft

import (
	"fmt"
	"strings"
)

// Diagram draws the fields of one layer as an RFC 791/793-style bit
// diagram, 32 bits to a row: every field of the layer with a width sits at
// its bit offset and spans its width, whatever its alignment. A cell holds
// the field's name (an RFC abbreviation when the cell is narrow) over its
// value. A field that crosses into the next row goes on there as "(cont.)".
// A field that fills two to four whole rows (an IPv6 address) is drawn over
// those rows, its rows parted by "+   +" as RFC 8200 draws addresses; one
// that fills more (data) keeps its name and value on two lines and says how
// many rows it fills on a third, marked "~" at both ends.
func Diagram(fields []Field, layer string) string {
	var fs []Field
	end := 0
	for _, f := range fields {
		if f.Layer == layer && f.Width > 0 {
			fs = append(fs, f)
			end = max(end, f.Bit+f.Width)
		}
	}
	if len(fs) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(" 0                   1                   2                   3\n")
	sb.WriteString(" 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1\n")
	nrows := (end + 31) / 32
	// extent(r) is how many bits of row r the layer reaches into.
	extent := func(r int) int { return min(32, max(0, end-32*r)) }
	sb.WriteString(dashes(extent(0)))
	fi := 0 // the first field that may reach row r
	for r := 0; r < nrows; {
		lo, hi := 32*r, 32*r+32
		for fi < len(fs) && fs[fi].Bit+fs[fi].Width <= lo {
			fi++
		}
		// A field filling this row and the next whole: a band of rows.
		if fi < len(fs) {
			f := fs[fi]
			if f.Bit <= lo && f.Bit+f.Width >= hi+32 {
				k := (f.Bit + f.Width - lo) / 32
				sb.WriteString(tallBand(f, f.Bit < lo, k))
				r += k
				sb.WriteString(dashes(max(32, extent(r))))
				continue
			}
		}
		var names, texts strings.Builder
		names.WriteByte('|')
		texts.WriteByte('|')
		at := lo
		for j := fi; j < len(fs) && fs[j].Bit < hi; j++ {
			f := fs[j]
			a, b := max(f.Bit, lo), min(f.Bit+f.Width, hi)
			if b <= a || a < at {
				continue // overlaps the field before: the first one drawn wins
			}
			if a > at { // bits no field explains
				names.WriteString(strings.Repeat(" ", 2*(a-at)-1) + "|")
				texts.WriteString(strings.Repeat(" ", 2*(a-at)-1) + "|")
			}
			w := 2*(b-a) - 1
			name, text := cellName(f.Name, w), ""
			if a > f.Bit {
				name = center("(cont.)", w)
			}
			if a == widestPiece(f) {
				text = center(f.Text, w)
			} else {
				text = strings.Repeat(" ", w)
			}
			names.WriteString(name + "|")
			texts.WriteString(text + "|")
			at = b
		}
		if e := lo + extent(r); at < e { // bits no field explains, to the row's end
			names.WriteString(strings.Repeat(" ", 2*(e-at)-1) + "|")
			texts.WriteString(strings.Repeat(" ", 2*(e-at)-1) + "|")
		}
		sb.WriteString(names.String() + "\n" + texts.String() + "\n")
		r++
		sb.WriteString(dashes(max(extent(r-1), extent(r))))
	}
	return sb.String()
}

// tallBand draws k whole rows of one field f: continued when f began in an
// earlier row.
func tallBand(f Field, continued bool, k int) string {
	const w = 63
	name := cellName(f.Name, w)
	if continued {
		name = center(f.Name+" (cont.)", w)
	}
	if k > 4 {
		return "|" + name + "|\n|" + center(f.Text, w) + "|\n~" + center(fmt.Sprintf("%d × 32 bits", k), w) + "~\n"
	}
	lines := make([]string, 2*k-1)
	for i := range lines {
		lines[i] = "|" + strings.Repeat(" ", w) + "|"
		if i%2 == 1 {
			lines[i] = "+" + strings.Repeat(" ", w) + "+"
		}
	}
	lines[0] = "|" + name + "|"
	lines[2] = "|" + center(f.Text, w) + "|"
	return strings.Join(lines, "\n") + "\n"
}

// widestPiece returns the first bit of the row piece of f that has the most
// bits, where its value is written.
func widestPiece(f Field) int {
	best, bestW := f.Bit, 0
	for a := f.Bit; a < f.Bit+f.Width; {
		b := min(f.Bit+f.Width, (a/32+1)*32)
		if b-a > bestW {
			best, bestW = a, b-a
		}
		a = b
	}
	return best
}

func dashes(bits int) string { return strings.Repeat("+-", bits) + "+\n" }

// cellName fits a field's name in w columns: the name, else the RFC's
// abbreviation, else the name cut with "…".
func cellName(name string, w int) string {
	if short, ok := diagramNames[name]; ok && len([]rune(name)) > w {
		name = short
	}
	return center(name, w)
}

// diagramNames are the RFCs' abbreviations for cells too narrow for a name.
var diagramNames = map[string]string{
	"Data Offset": "Offset", "Reserved": "Rsrvd", "Version": "Ver", "Hardware length": "HLen",
	"Protocol length": "PLen", "Type of Service": "TOS", "Time to Live": "TTL",
	"Fragment Offset": "Frag Off", "Option Type": "Type", "Option Length": "Len", "Opt Data Len": "Len",
	"Overflow": "Oflw", "Traffic Class": "TC",
}
