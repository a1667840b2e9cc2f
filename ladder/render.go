package ladder

import (
	"fmt"
	"html"
	"io"
	"strings"
	"unicode/utf8"
)

// minGap is the narrowest space between two lanes, in columns.
const minGap = 24

// Text writes the ladder for a terminal: a header naming each lane, then
// for every packet its time in seconds since the first (six decimals), its
// label above an arrow from the sender's lane to the receiver's. Lanes are
// as far apart as the longest label needs.
func (l *Ladder) Text(w io.Writer) error {
	as := l.Arrows()
	gap := minGap
	for _, a := range as {
		gap = max(gap, utf8.RuneCountInString(a.Label)+4)
	}
	lanes := len(l.Lanes)
	width := (lanes-1)*(gap+1) + 1
	if lanes == 0 {
		_, err := io.WriteString(w, "(no IPv4 packet)\n")
		return err
	}
	const timeCol = "%10s  "
	var sb strings.Builder
	// Header: each host's address centred on its lane.
	head := []rune(strings.Repeat(" ", width+gap))
	for i, h := range l.Lanes {
		s := []rune(h.String())
		at := max(0, i*(gap+1)-len(s)/2)
		if i == 0 {
			at = 0
		}
		copy(head[at:], s)
	}
	fmt.Fprintf(&sb, timeCol+"%s\n", "time (s)", strings.TrimRight(string(head), " "))
	for _, a := range as {
		lo, hi := min(a.From, a.To), max(a.From, a.To)
		x0, x1 := lo*(gap+1), hi*(gap+1)
		lab := []rune(lanesRow(lanes, gap))
		text := []rune(a.Label)
		start := x0 + max(1, (x1-x0+1-len(text))/2)
		if a.From == a.To {
			start = x0 + 2
		}
		for i, r := range text {
			if start+i < len(lab) {
				lab[start+i] = r
			} else {
				lab = append(lab, r)
			}
		}
		row := []rune(lanesRow(lanes, gap) + "                ") // room for "<-- (to itself)" after the last lane
		switch {
		case a.From == a.To:
			copy(row[x0+1:], []rune("<-- (to itself)"))
		case a.From < a.To:
			for x := x0 + 1; x < x1-1; x++ {
				row[x] = '-'
			}
			row[x1-1] = '>'
		default:
			row[x0+1] = '<'
			for x := x0 + 2; x < x1; x++ {
				row[x] = '-'
			}
		}
		fmt.Fprintf(&sb, timeCol+"%s\n", "", strings.TrimRight(string(lab), " "))
		fmt.Fprintf(&sb, timeCol+"%s\n", fmt.Sprintf("%.6f", a.At.Seconds()), strings.TrimRight(string(row), " "))
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func lanesRow(lanes, gap int) string {
	row := []byte(strings.Repeat(" ", (lanes-1)*(gap+1)+1))
	for i := 0; i < lanes; i++ {
		row[i*(gap+1)] = '|'
	}
	return string(row)
}

// SVG writes the ladder as a standalone SVG document: lanes as vertical
// lines under each host's address, each packet an arrow with its label above
// and its time at the left. Sizes are in pixels; text is 12px monospace.
func (l *Ladder) SVG(w io.Writer) error {
	as := l.Arrows()
	const charW, rowH, top, left = 7, 36, 50, 90
	gap := minGap
	for _, a := range as {
		gap = max(gap, utf8.RuneCountInString(a.Label)+4)
	}
	laneW := gap * charW
	lanes := max(len(l.Lanes), 1)
	width := left + (lanes-1)*laneW + 80
	height := top + len(as)*rowH + 30
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="monospace" font-size="12">`+"\n", width, height)
	sb.WriteString(`<defs><marker id="head" markerWidth="10" markerHeight="8" refX="10" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z"/></marker></defs>` + "\n")
	sb.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	fmt.Fprintf(&sb, `<text x="10" y="%d">time (s)</text>`+"\n", top-25)
	for i, h := range l.Lanes {
		x := left + i*laneW
		fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="middle" font-weight="bold">%s</text>`+"\n", x, top-25, html.EscapeString(h.String()))
		fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="gray"/>`+"\n", x, top-15, x, height-10)
	}
	for i, a := range as {
		y := top + i*rowH + 20
		x0, x1 := left+a.From*laneW, left+a.To*laneW
		fmt.Fprintf(&sb, `<text x="10" y="%d">%.6f</text>`+"\n", y+4, a.At.Seconds())
		if a.From == a.To {
			x1 = x0 + 40
		}
		fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black" marker-end="url(#head)"/>`+"\n", x0, y, x1, y)
		fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", (x0+x1)/2, y-5, html.EscapeString(a.Label))
	}
	sb.WriteString("</svg>\n")
	_, err := io.WriteString(w, sb.String())
	return err
}
