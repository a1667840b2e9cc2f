package craft

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
	"unsafe"
)

func seedPackets(f *testing.F, frames bool) {
	for _, g := range goldens(f) {
		b, err := g.p.Append(nil)
		if err != nil {
			f.Fatal(err)
		}
		if (g.p.Ethernet != nil) != frames {
			continue
		}
		f.Add(b)
		for _, n := range []int{1, 14, 20, 27, 28, 33} {
			if n < len(b) {
				f.Add(b[:n])
			}
		}
	}
}

// checkDecoded runs everything a listener runs on a decoded packet.
func checkDecoded(t *testing.T, d *Decoded, in []byte, err error) {
	var sums [8]ChecksumResult
	_ = d.Checksums(sums[:0])
	fields := Explain(d)
	for _, l := range Layers(fields) {
		_ = Diagram(fields, l)
	}
	for _, f := range fields {
		if f.Offset < 0 || f.Offset > len(in) {
			t.Fatalf("field %s %s at byte %d of %d", f.Layer, f.Name, f.Offset, len(in))
		}
	}
	// Every view must lie inside the input.
	for _, v := range [][]byte{d.Payload, d.Trailer, d.IPv4.Options, d.TCP.Options, d.Quoted.Payload, d.Quoted.IPv4.Options} {
		if len(v) > 0 && !inside(v, in) {
			t.Fatalf("a decoded view points outside the input")
		}
	}
	if err == nil && !d.Truncated && len(d.Trailer) == 0 && d.Link&LayerARP == 0 && d.Layers&LayerIPv4 != 0 {
		p := Packet{IPv4: &d.IPv4, Payload: d.Payload}
		if d.Link&LayerEthernet != 0 {
			p.Ethernet = &d.Ethernet
		}
		switch {
		case d.Layers&LayerTCP != 0:
			p.TCP = &d.TCP
		case d.Layers&LayerUDP != 0:
			p.UDP = &d.UDP
		case d.Layers&LayerICMP != 0:
			p.ICMP = &d.ICMP
		}
		b, err := p.Append(nil)
		if err == nil && len(b) == len(in) && !bytes.Equal(b, in) {
			t.Fatalf("decoded and rebuilt:\n in  %x\n out %x", in, b)
		}
	}
}

func inside(v, in []byte) bool {
	if len(in) == 0 {
		return false
	}
	lo, hi := uintptr(unsafe.Pointer(&in[0])), uintptr(unsafe.Pointer(&in[len(in)-1]))
	p, q := uintptr(unsafe.Pointer(&v[0])), uintptr(unsafe.Pointer(&v[len(v)-1]))
	return lo <= p && q <= hi
}

func FuzzDecodeFrame(f *testing.F) {
	seedPackets(f, true)
	// Once explained ARP fields of a frame too short to hold them.
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 1, 3, 0x08, 0x06})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decoded
		in := b[:len(b):len(b)]
		err := d.DecodeFrame(in)
		checkDecoded(t, &d, in, err)
	})
}

func FuzzDecodeIP(f *testing.F) {
	seedPackets(f, false)
	f.Add(mustBuild(f, portUnreachable(f)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decoded
		in := b[:len(b):len(b)]
		err := d.DecodeIP(in)
		checkDecoded(t, &d, in, err)
	})
}

func FuzzOptions(f *testing.F) {
	f.Add(synOptions())
	f.Add([]byte{7, 11, 4, 0, 0})
	f.Add([]byte{2})
	f.Add([]byte{5, 1})
	f.Add([]byte{2, 4}) // once read an MSS from a length byte with no data behind it
	f.Fuzz(func(t *testing.T, b []byte) {
		for off := 0; off < len(b); {
			o, next, err := NextOption(b, off)
			if next <= off {
				t.Fatalf("no progress at %d", off)
			}
			if len(o.Data) > len(b) {
				t.Fatal("option data longer than the options")
			}
			_ = DescribeTCPOption(o)
			_ = DescribeIPOption(o)
			if err != nil {
				break
			}
			off = next
		}
		_ = DescribeOptions(b, true)
		_ = DescribeOptions(b, false)
	})
}

// FuzzReassembler feeds fragments of one datagram cut at places the fuzzer
// chooses, in its order, some of them lying about their offset.
func FuzzReassembler(f *testing.F) {
	f.Add([]byte{0, 10, 1, 10, 10, 0})
	f.Add([]byte{10, 10, 0, 0, 10, 1, 5, 10, 1})
	f.Add([]byte{0, 200, 1, 0, 200, 1, 199, 255, 0})
	data := make([]byte, 255*8+255)
	for i := range data {
		data[i] = byte(i * 7)
	}
	f.Fuzz(func(t *testing.T, plan []byte) {
		r := NewReassembler(&ReassemblyConfig{MaxDatagrams: 2, Timeout: time.Second})
		buf := make([]byte, 0, 2048)
		for i := 0; i+2 < len(plan) && i < 3*64; i += 3 {
			off, n, mf := int(plan[i])*8, int(plan[i+1]), plan[i+2]&1 == 1
			if off+n > len(data) {
				n = len(data) - off
			}
			h := IPv4{ID: uint16(plan[i+2] >> 1 & 1), Src: hc, Dst: hs, Protocol: Set(ProtoUDP), FragOff: uint16(off / 8)}
			if mf {
				h.Flags = FlagMF
			}
			pkt, err := (&Packet{IPv4: &h, Payload: data[off : off+n]}).Append(buf[:0])
			if err != nil {
				t.Fatal(err)
			}
			ev, err := r.Add(time.Unix(int64(i), 0), pkt)
			if err != nil {
				continue
			}
			if len(r.entries) > 2 {
				t.Fatalf("%d datagrams held, bound is 2", len(r.entries))
			}
			for j := 1; j < len(ev.Holes); j++ {
				if ev.Holes[j].First <= ev.Holes[j-1].Last {
					t.Fatalf("holes overlap: %v", ev.Holes)
				}
			}
			if ev.Complete && !ev.Conflict {
				got := ev.Datagram[IPv4HeaderLen:]
				if !bytes.Equal(got, data[:len(got)]) {
					t.Fatalf("reassembled data differs from the original")
				}
				if int(binary.BigEndian.Uint16(ev.Datagram[2:])) != len(ev.Datagram) {
					t.Fatalf("reassembled total length %d for %d bytes", binary.BigEndian.Uint16(ev.Datagram[2:]), len(ev.Datagram))
				}
			}
		}
	})
}

func FuzzParseTCPOptions(f *testing.F) {
	for _, s := range []string{"mss=1460,sackok,ts=1:0,nop,wscale=7", "sack=1-2/3-4", "raw=0204", "mss=0x10000", "ts=1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseTCPOptions(s)
		if err == nil && len(b) > MaxOptionsLen {
			t.Fatalf("%q gave %d bytes", s, len(b))
		}
		_, _ = ParseIPOptions(s)
	})
}

// FuzzBuildChecksums builds TCP and UDP packets from the fuzzer's fields —
// options of any length, any data, a forced IHL or UDP length — and checks
// every computed checksum with the naive RFC 1071 sum over the bytes built.
// The encoders sum their fixed headers from the values they store, not from
// the buffer: this keeps that shortcut honest.
func FuzzBuildChecksums(f *testing.F) {
	f.Add(uint8(0), uint16(40000), uint32(1), synOptions(), []byte(nil), uint8(0), []byte(nil))
	f.Add(uint8(1), uint16(9999), uint32(0xffffffff), []byte(nil), []byte("Hello"), uint8(0), []byte{7, 3, 4})
	f.Add(uint8(5), uint16(0xffff), uint32(3), []byte(nil), bytes.Repeat([]byte{0xff}, 33), uint8(7), []byte{1})
	f.Add(uint8(0), uint16(1), uint32(0x80000000), []byte{1, 1, 1}, []byte{0xff}, uint8(4), []byte(nil))
	f.Fuzz(func(t *testing.T, kind uint8, port uint16, seq uint32, topts, data []byte, ihl uint8, ipopts []byte) {
		ip := &IPv4{ID: uint16(seq >> 3), TOS: kind, Src: hc, Dst: hs, Options: ipopts[:min(len(ipopts), 40)]}
		if ihl != 0 {
			ip.IHL = Set(ihl & 0xf)
		}
		p := Packet{IPv4: ip, Payload: data}
		if kind&1 == 0 {
			p.TCP = &TCP{SrcPort: port, DstPort: ^port, Seq: seq, Ack: ^seq, Flags: uint8(seq >> 24), Window: uint16(seq >> 8),
				Urgent: port ^ 0x5a5a, Options: topts[:min(len(topts), 40)]}
		} else {
			p.UDP = &UDP{SrcPort: port, DstPort: ^port}
			if kind&4 != 0 {
				p.UDP.Length = Set(uint16(seq))
			}
		}
		b, err := p.Append(nil)
		if err != nil {
			return
		}
		if covered := min(int(b[0]&0xf)*4, len(b)); covered >= 12 && naiveChecksum(b[:covered]) != 0 {
			t.Fatalf("IPv4 checksum wrong over %d bytes: %x", covered, b)
		}
		seg := b[ip.Len():]
		proto := ProtoTCP
		if p.UDP != nil {
			proto = ProtoUDP
			if l := int(binary.BigEndian.Uint16(seg[4:])); l >= UDPHeaderLen && l <= len(seg) {
				seg = seg[:l]
			}
		}
		pseudo := append(append(append([]byte{}, b[12:20]...), 0, proto), byte(len(seg)>>8), byte(len(seg)))
		if naiveChecksum(append(pseudo, seg...)) != 0 {
			t.Fatalf("transport checksum wrong: %x", b)
		}
	})
}
