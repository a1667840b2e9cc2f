package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/ladder"
	"github.com/rawcraft/rawcraft/pcap"
)

// readSummary is a packet's line: number, time since the first packet
// shown, direction, rawcraft's summary, the verdicts that are not good.
func readSummary(rp *readPacket, t0 time.Time) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%4d", rp.n)
	if !rp.p.Time.IsZero() {
		fmt.Fprintf(&sb, " %11.6f", rp.p.Time.Sub(t0).Seconds())
	}
	switch rp.dir {
	case pcap.DirOutbound:
		sb.WriteString(" out")
	case pcap.DirInbound:
		sb.WriteString(" in ")
	}
	if len(rp.link.VLANs) > 0 {
		fmt.Fprintf(&sb, " vlan %v", rp.link.VLANs)
	}
	sb.WriteString("  ")
	if !rp.linkOK {
		sb.WriteString(rp.note)
		return sb.String()
	}
	// Lengths are judged against the packet on the wire: what the capture
	// cut is said once, below.
	sb.WriteString(rp.d.SummaryOnWire(len(rp.d.Raw) + max(rp.p.OrigLen-len(rp.p.Data), 0)))
	for _, w := range rp.tcp.Words() {
		sb.WriteString(" [" + w + "]")
	}
	for _, c := range rp.sums {
		if c.Status == craft.ChecksumGood || c.Status == craft.ChecksumUnverifiable || c.Status == craft.ChecksumAbsent {
			continue
		}
		name := c.Layer.String()
		if c.Quoted {
			name = "quoted " + name
		}
		fmt.Fprintf(&sb, " · %s checksum %s", name, c.Verdict())
	}
	if rp.p.Truncated() {
		fmt.Fprintf(&sb, " · truncated: %d of %d bytes captured", len(rp.p.Data), rp.p.OrigLen)
	}
	if rp.derr != nil && !errors.Is(rp.derr, craft.ErrTruncated) {
		fmt.Fprintf(&sb, " · %v", rp.derr)
	}
	if rp.note != "" {
		sb.WriteString(" · " + rp.note)
	}
	return sb.String()
}

// readJSONPacket is build's JSON object with what a capture adds.
type readJSONPacket struct {
	jsonPacket
	Time      string  `json:"time,omitempty"`
	Relative  float64 `json:"relative"`
	Link      string  `json:"link"`
	LinkType  uint32  `json:"link_type"`
	Direction string  `json:"direction,omitempty"`
	OrigLen   int     `json:"orig_len"`
	Truncated bool    `json:"truncated,omitempty"`
	Note      string  `json:"note,omitempty"`
	// Analysis: Wireshark's TCP analysis words for the packet, as its Info
	// column shows them ("TCP Retransmission", "TCP Dup ACK 12#1").
	Analysis []string `json:"analysis,omitempty"`
}

func readJSON(rp *readPacket, t0 time.Time) readJSONPacket {
	var fields []craft.Field
	if rp.linkOK {
		fields = craft.ExplainChecked(&rp.d, rp.sums)
	}
	jp := toJSON(rp.n-1, frame{bytes: rp.p.Data}, &rp.d, rp.derr, fields, rp.sums)
	if !rp.linkOK {
		jp.Layers = "none"
	}
	r := readJSONPacket{jsonPacket: jp, Link: pcap.LinkName(rp.p.LinkType), LinkType: rp.p.LinkType,
		OrigLen: rp.p.OrigLen, Truncated: rp.p.Truncated(), Note: rp.note, Analysis: rp.tcp.Words()}
	if !rp.p.Time.IsZero() {
		r.Time = rp.p.Time.UTC().Format(time.RFC3339Nano)
		r.Relative = rp.p.Time.Sub(t0).Seconds()
	}
	if rp.dir != pcap.DirUnknown {
		r.Direction = rp.dir.String()
	}
	return r
}

// runReadLadder draws the packets the filters keep as a ladder, in the
// terminal (--ladder) and as SVG (--svg FILE), times from the capture's clock.
func runReadLadder(w io.Writer, in io.Reader, name string, o *readOpts) error {
	f, err := createOutput("--svg", o.svg)
	if err != nil {
		return err
	}
	var l ladder.Ladder
	_, err = readAll(name, in, o, func(rp *readPacket) error {
		if rp.linkOK {
			l.Add(rp.p.Time, &rp.d)
		}
		return nil
	})
	if err != nil {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
		return err
	}
	if f != nil {
		if err := l.SVG(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if o.ladder {
		return l.Text(w)
	}
	return nil
}
