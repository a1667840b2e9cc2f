package craft_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
)

// A length field of 0 in a capture (the IPv4 total length, or the IPv6
// payload length without a Jumbo Payload option) is what a sender with
// segmentation offload shows: the layers inside are decoded with the bytes
// in hand, as tshark does (ip.tso_support, on by default; ipv6.tso_support,
// which tshark 4.0 leaves off and then still says "maybe because of TSO"),
// the summary and the field say why, and nothing calls it malformed. A
// quoted datagram is not a capture of a sender: 0 there stays an error.
func TestLengthZeroIsOffloadAgainstTshark(t *testing.T) {
	tshark := oracle.Require(t, "tshark")
	data := bytes.Repeat([]byte("segment "), 300) // 2400 bytes: more than one MSS, as TSO hands the NIC
	tcp := &craft.TCP{SrcPort: 40000, DstPort: 9999, Seq: 1000, Ack: 7, Flags: craft.TCPAck | craft.TCPPsh, Window: 502}
	v4 := build(t, craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHc, Dst: oHs, ID: 1, Flags: craft.FlagDF, TotalLen: craft.Set[uint16](0)}, TCP: tcp, Payload: data})
	v6 := build(t, craft.Packet{Ethernet: &craft.Ethernet{Src: eth().Src, Dst: eth().Dst, Type: craft.Set(craft.EtherTypeIPv6)},
		IPv6: &craft.IPv6{Src: o6Hc, Dst: o6Hs, PayloadLen: craft.Set[uint16](0)}, TCP: tcp, Payload: data})
	udp0 := build(t, craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHc, Dst: oHs, ID: 2, TotalLen: craft.Set[uint16](0)},
		UDP: &craft.UDP{SrcPort: 40000, DstPort: 9999}, Payload: []byte("hello")})
	frames := [][]byte{v4, v6, udp0}
	theirs := runTsharkOpts(t, tshark, frames, "-o", "ipv6.tso_support:TRUE")
	for i, f := range frames {
		var d craft.Decoded
		d.AcceptIPv6 = true
		err := d.DecodeFrame(f)
		if err != nil || !d.LenFromCapture {
			t.Errorf("frame %d: error %v, LenFromCapture %v", i+1, err, d.LenFromCapture)
			continue
		}
		th := theirs[i]
		ipLen := len(f) - craft.EthernetLen
		if d.Has(craft.LayerIPv4) {
			if got := first(th["ip.len"]); got != strconv.Itoa(ipLen) {
				t.Errorf("frame %d: tshark ip.len %s, the bytes after Ethernet %d", i+1, got, ipLen)
			}
		}
		switch {
		case d.Has(craft.LayerTCP):
			if got := first(th["tcp.len"]); got != strconv.Itoa(len(d.Payload)) {
				t.Errorf("frame %d: rawcraft TCP data %d bytes, tshark tcp.len %s", i+1, len(d.Payload), got)
			}
		case d.Has(craft.LayerUDP):
			if got := first(th["udp.length"]); got != strconv.Itoa(int(d.UDP.Length.Or(0))) {
				t.Errorf("frame %d: rawcraft UDP length %d, tshark %s", i+1, d.UDP.Length.Or(0), got)
			}
		default:
			t.Errorf("frame %d: no transport decoded: %v", i+1, d.Layers)
		}
		if _, bad := th["_ws.malformed"]; bad {
			t.Errorf("frame %d: tshark calls it malformed: %s", i+1, strings.Join(th["_ws.expert.message"], " | "))
		}
		s := d.Summary()
		if !strings.Contains(s, "segmentation offload (TSO)") || !strings.Contains(s, "decoded with the "+strconv.Itoa(ipLen)+" bytes captured") {
			t.Errorf("frame %d: summary %q does not say why", i+1, s)
		}
		for _, c := range d.Checksums(nil) {
			if c.Layer != craft.LayerIPv4 && c.Status == craft.ChecksumBad {
				t.Errorf("frame %d: %v checksum called bad: it is the NIC's to fill", i+1, c.Layer)
			}
		}
		for _, fl := range craft.Explain(&d) {
			if (fl.Name == "Total Length" || fl.Name == "Payload Length") && !strings.Contains(fl.Meaning, "segmentation offload") {
				t.Errorf("frame %d: %s reads %q", i+1, fl.Name, fl.Meaning)
			}
		}
	}
	// tshark says why for IPv4 and IPv6 alike.
	if v := strings.Join(theirs[0]["ip.len"], " "); v == "0" {
		t.Errorf("tshark no longer presumes TSO for IPv4: ip.len %s", v)
	}
	// The same bytes quoted in an ICMP error: a length of 0 there is the
	// quoted datagram's, not a capture's, and stays malformed.
	q := v4[craft.EthernetLen : craft.EthernetLen+28]
	icmp := build(t, craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHs, Dst: oHc, ID: 3},
		ICMP: &craft.ICMP{Type: craft.ICMPUnreachable, Code: 3}, Payload: q})
	var d craft.Decoded
	if err := d.DecodeFrame(icmp); err == nil || d.Quoted.LenFromCapture {
		t.Errorf("a quoted total length 0: error %v, LenFromCapture %v", err, d.Quoted.LenFromCapture)
	}
	// A jumbogram (RFC 2675) carries its length in the Jumbo Payload
	// option: not offload. (This one is small, so its Jumbo Payload Length
	// is itself malformed, RFC 2675 §3; it is decoded all the same.)
	hbh := craft.HopByHop(craft.AppendIPv6Opt(nil, craft.IPv6OptJumbo, binary.BigEndian.AppendUint32(nil, uint32(8+craft.TCPHeaderLen+len(data)))))
	jumbo := build(t, craft.Packet{Ethernet: &craft.Ethernet{Src: eth().Src, Dst: eth().Dst, Type: craft.Set(craft.EtherTypeIPv6)},
		IPv6: &craft.IPv6{Src: o6Hc, Dst: o6Hs, PayloadLen: craft.Set[uint16](0)}, IPv6Ext: []craft.IPv6Ext{hbh}, TCP: tcp, Payload: data})
	d = craft.Decoded{AcceptIPv6: true}
	if err := d.DecodeFrame(jumbo); err != nil && !strings.Contains(err.Error(), "Jumbo Payload Length") || d.LenFromCapture || !d.Has(craft.LayerTCP) || len(d.Payload) != len(data) {
		t.Errorf("jumbogram: error %v, LenFromCapture %v, layers %v, %d data bytes", err, d.LenFromCapture, d.Layers, len(d.Payload))
	}
}

// TestLengthZeroCutInTransportHeader: a total length of 0 (offload) gives
// no length to hold the transport header against, so a capture that ends
// inside it is cut (truncated), and no sentence names a total length the
// header does not hold (found by the tshark differential harness, seeds 19
// and 23: "IPv4 total length 28 leaves 0 bytes" for a field of 0).
func TestLengthZeroCutInTransportHeader(t *testing.T) {
	for _, c := range []struct {
		name string
		p    craft.Packet
		keep int // bytes of the transport header captured
	}{
		{"UDP, no byte", craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHc, Dst: oHs, TotalLen: craft.Set[uint16](0)}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}}, 0},
		{"UDP, 5 bytes", craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHc, Dst: oHs, TotalLen: craft.Set[uint16](0)}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}}, 5},
		{"TCP, 2 bytes", craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHc, Dst: oHs, TotalLen: craft.Set[uint16](0)}, TCP: &craft.TCP{SrcPort: 1, DstPort: 2}}, 2},
		{"TCP, 16 bytes", craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHc, Dst: oHs, TotalLen: craft.Set[uint16](0)}, TCP: &craft.TCP{SrcPort: 1, DstPort: 2}}, 16},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := build(t, c.p)[:craft.EthernetLen+craft.IPv4HeaderLen+c.keep]
			var d craft.Decoded
			err := d.DecodeFrame(b)
			if !errors.Is(err, craft.ErrTruncated) || errors.Is(err, craft.ErrMalformed) || strings.Contains(err.Error(), "total length") || !d.LenFromCapture {
				t.Errorf("error %v (LenFromCapture %v), want the transport header truncated", err, d.LenFromCapture)
			}
		})
	}
	// A total length that is there and leaves too few bytes stays a lie.
	b := build(t, craft.Packet{Ethernet: eth(), IPv4: &craft.IPv4{Src: oHc, Dst: oHs, TotalLen: craft.Set[uint16](craft.IPv4HeaderLen + 3)}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}})
	var d craft.Decoded
	if err := d.DecodeFrame(b); !errors.Is(err, craft.ErrMalformed) || !strings.Contains(err.Error(), "IPv4 total length 23 leaves 3 bytes") {
		t.Errorf("total length 23: error %v", err)
	}
}

var (
	o6Hs = netip.MustParseAddr("2001:2:0:1::1")
	o6Hc = netip.MustParseAddr("2001:2:0:1::3")
)

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
