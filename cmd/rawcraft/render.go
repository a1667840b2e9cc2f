package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/pcap"
)

// decode decodes one frame or IP packet for display.
func decode(b []byte, eth bool) (*craft.Decoded, error) {
	d := &craft.Decoded{AcceptIPv6: true} // build and explain speak IPv6
	var err error
	if eth {
		err = d.DecodeFrame(b)
	} else {
		err = d.DecodeIP(b)
	}
	return d, err
}

func title(i, n int, f frame, d *craft.Decoded, total int) string {
	s := fmt.Sprintf("packet %d of %d", i+1, n)
	if f.frag > 0 {
		off, mf := int(d.IPv4.FragOff)*8, d.IPv4.Flags&craft.FlagMF != 0
		n := len(d.Payload) + d.TransportLen
		if fe := d.FragExt(); fe != nil {
			// The fragment's data is all that follows its Fragment header,
			// extension headers of the fragmentable part included (RFC
			// 8200 §4.5).
			off, mf = int(fe.FragOffset())*8, fe.More()
			per := 0
			for i := range d.NExt {
				per += d.Ext[i].Len()
				if d.Ext[i].Kind == craft.ProtoFragment {
					break
				}
			}
			n = int(d.IPv6.PayloadLen.Or(0)) - per
		}
		s += fmt.Sprintf(" — fragment %d of %d (data bytes %d…%d", f.frag, total, off, off+n-1)
		if mf {
			s += ", more follow)"
		} else {
			s += ", the last)"
		}
	}
	return s + fmt.Sprintf(" — %d bytes: %v", len(f.bytes), layerNames(d))
}

func layerNames(d *craft.Decoded) string {
	s := (d.Link | d.Layers).String()
	if d.Quoted.Layers != 0 {
		s += " quoting " + d.Quoted.Layers.String()
	}
	return s
}

// dissect writes a readable table of every field.
func dissect(w io.Writer, fields []craft.Field, sums []craft.ChecksumResult) {
	for _, f := range fields {
		val := f.Text
		if utf8.RuneCountInString(val) > 26 {
			val = string([]rune(val)[:25]) + "…"
		}
		m := f.Meaning
		if f.RFC != "" {
			if m != "" {
				m += "  "
			}
			m += "[" + f.RFC + "]"
		}
		fmt.Fprintf(w, "  %-12s %-24s %-26s %s\n", f.Layer, f.Name, val, m)
	}
	if len(sums) > 0 {
		var parts []string
		for _, c := range sums {
			name := c.Layer.String()
			if c.Quoted {
				name = "quoted " + name
			}
			parts = append(parts, name+" "+c.Verdict())
		}
		fmt.Fprintf(w, "  checksums: %s\n", strings.Join(parts, " · "))
	}
}

type jsonField struct {
	Layer  string `json:"layer"`
	Name   string `json:"name"`
	Offset int    `json:"offset"`
	Bit    int    `json:"bit"`
	Width  int    `json:"width"`
	// Value is a number (uint64), or for an address field its text: an
	// address is not a number anyone reads ("198.18.1.3", not 3323068675).
	Value   any    `json:"value"`
	Text    string `json:"text"`
	Meaning string `json:"meaning,omitempty"`
	RFC     string `json:"rfc,omitempty"`
}

func newJSONField(f craft.Field) jsonField {
	j := jsonField{Layer: f.Layer, Name: f.Name, Offset: f.Offset, Bit: f.Bit, Width: f.Width, Value: f.Value, Text: f.Text, Meaning: f.Meaning, RFC: f.RFC}
	if f.Address {
		j.Value = f.Text
	}
	return j
}

type jsonChecksum struct {
	Layer  string `json:"layer"`
	Quoted bool   `json:"quoted,omitempty"`
	Got    uint16 `json:"got"`
	Want   uint16 `json:"want"`
	Status string `json:"status"`
	// NegZero: good, though got and want are 0xffff and 0x0000 (RFC 1624 §3).
	NegZero bool `json:"neg_zero,omitempty"`
}

type jsonPacket struct {
	Index     int            `json:"index"`
	Fragment  int            `json:"fragment,omitempty"`
	Length    int            `json:"length"`
	Layers    string         `json:"layers"`
	Hex       string         `json:"hex"`
	Error     string         `json:"error,omitempty"`
	Fields    []jsonField    `json:"fields"`
	Checksums []jsonChecksum `json:"checksums"`
}

func toJSON(i int, f frame, d *craft.Decoded, derr error, fields []craft.Field, sums []craft.ChecksumResult) jsonPacket {
	jp := jsonPacket{Index: i + 1, Fragment: f.frag, Length: len(f.bytes), Layers: layerNames(d), Hex: hex.EncodeToString(f.bytes),
		Fields: []jsonField{}, Checksums: []jsonChecksum{}}
	if derr != nil {
		jp.Error = derr.Error()
	}
	for _, x := range fields {
		jp.Fields = append(jp.Fields, newJSONField(x))
	}
	for _, c := range sums {
		jp.Checksums = append(jp.Checksums, jsonChecksum{Layer: c.Layer.String(), Quoted: c.Quoted, Got: c.Got, Want: c.Want, Status: c.Status.String(), NegZero: c.NegZero})
	}
	return jp
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// createPcap creates the --pcap file name with a header of link type link.
// close flushes and closes it; a file that cannot be made is bad input.
func createPcap(name string, link uint32) (w *pcap.Writer, close func() error, err error) {
	f, err := createOutput("--pcap", name)
	if err != nil {
		return nil, nil, err
	}
	if w, err = pcap.NewWriter(f, link); err != nil {
		f.Close()
		return nil, nil, err
	}
	return w, f.Close, nil
}

// protoNumbers are the protocols a --proto or PROTO argument names.
var protoNumbers = map[string]uint8{"tcp": craft.ProtoTCP, "udp": craft.ProtoUDP, "icmp": craft.ProtoICMP}
