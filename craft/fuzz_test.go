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
	_ = d.Summary()
	fields := Explain(d)
	for _, l := range Layers(fields) {
		_ = Diagram(fields, l)
		end := 0
		for _, f := range fields {
			if f.Layer == l && f.Width > 0 {
				// The diagram draws each field at its bits: none may
				// overlap the one before.
				if f.Bit < end {
					t.Fatalf("%s %s at bit %d overlaps the field before, which ends at %d", l, f.Name, f.Bit, end)
				}
				end = f.Bit + f.Width
			}
		}
	}
	for _, f := range fields {
		if f.Offset < 0 || f.Offset > len(in) {
			t.Fatalf("field %s %s at byte %d of %d", f.Layer, f.Name, f.Offset, len(in))
		}
	}
	// Every view must lie inside the input.
	for _, v := range [][]byte{d.Payload, d.Trailer, d.IPv4.Options, d.TCP.Options, d.Quoted.Payload, d.Quoted.IPv4.Options, d.ARP.Addrs[0], d.ARP.Addrs[1], d.ARP.Addrs[2], d.ARP.Addrs[3]} {
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
	// ARP with 8-byte hardware addresses, once read at the 6/4 offsets.
	f.Add(append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 1, 3, 0x08, 0x06, 0, 1, 8, 0, 8, 4, 0, 1},
		2, 0, 0, 0, 1, 3, 0, 0, 198, 18, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 198, 18, 1, 1))
	// IPv4 total length 0: segmentation offload on the sender.
	tso := mustBuild(f, Packet{Ethernet: &Ethernet{}, IPv4: &IPv4{Src: hc, Dst: hs, TotalLen: Set[uint16](0)}, TCP: &TCP{SrcPort: 1, DstPort: 2}, Payload: []byte("data")})
	f.Add(tso)
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
		lx := NewReassembler(&ReassemblyConfig{MaxDatagrams: 2, Timeout: time.Second, Linux: true})
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
			// Linux's model: bounded, and whatever it completes is the
			// original data (it never mixes in a second copy of a byte).
			if lev, err := lx.Add(time.Unix(int64(i), 0), pkt); err == nil {
				if len(lx.entries) > 2 {
					t.Fatalf("Linux model holds %d datagrams, bound is 2", len(lx.entries))
				}
				if lev.Complete && !bytes.Equal(lev.Datagram[IPv4HeaderLen:], data[:len(lev.Datagram)-IPv4HeaderLen]) {
					t.Fatalf("Linux model reassembled data that differs from the original")
				}
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
		// The pseudo-header's destination is a source route's final one
		// while the route has addresses left (RFC 791 §3.1; the tshark
		// harness holds that rule against tshark and tcpdump).
		dst := finalDst4(ip.Options, as4(ip.Dst))
		pseudo := append(append(append(append([]byte{}, b[12:16]...), dst[:]...), 0, proto), byte(len(seg)>>8), byte(len(seg)))
		if naiveChecksum(append(pseudo, seg...)) != 0 {
			t.Fatalf("transport checksum wrong: %x", b)
		}
	})
}

// FuzzTemplate builds a packet of the fuzzer's shape — Ethernet or not, TCP,
// UDP, ICMP or bare IPv4, options, data, forced checksums, a forced IHL or
// UDP length, a fragment flag — patches it with the fuzzer's setters and
// values, and requires the bytes of a full rebuild. The same packet parsed
// back (ParseTemplate) and split into fragments must agree too. ParseTemplate
// of the raw input never panics, nor do the setters on what it returns.
func FuzzTemplate(f *testing.F) {
	f.Add(uint16(0x0001), synOptions(), synOptions(), []byte(nil), uint32(0x12345678), uint32(0x0400), uint64(0x0123456789))
	f.Add(uint16(0x0402), AppendIPOptRecordRoute(nil, 1), []byte(nil), bytes.Repeat([]byte("U"), 700), uint32(0xffff), uint32(0), uint64(0x4444))
	f.Add(uint16(0x0024), []byte(nil), []byte(nil), []byte("odd"), uint32(0), uint32(0x1234), uint64(0x5555))
	f.Add(uint16(0x0405), []byte(nil), []byte(nil), make([]byte, 300), uint32(0x0001fffe), uint32(0x00030000), uint64(0x89898989))
	f.Add(uint16(0x0046), []byte{1, 1, 1}, []byte(nil), []byte("x"), uint32(0xc6120101), uint32(0xf0), uint64(0x22))
	f.Add(uint16(0x0208), []byte(nil), []byte(nil), []byte("hello"), uint32(7), uint32(0x0900), uint64(0x7777))
	f.Fuzz(func(t *testing.T, shape uint16, ipopts, topts, data []byte, v1, v2 uint32, plan uint64) {
		// The raw input as a frame or datagram: no panic, whatever it holds.
		if raw, err := ParseTemplate(bytes.Clone(data), shape&1 != 0); err == nil {
			for _, op := range tmplOps {
				op.set(&raw, v1)
			}
		}
		ip := &IPv4{ID: uint16(v2), TOS: uint8(v1), Src: hc, Dst: hs, Options: ipopts[:min(len(ipopts), 40)]}
		p := Packet{IPv4: ip, Payload: data}
		if shape&1 != 0 {
			p.Ethernet = &Ethernet{Dst: mHs, Src: mHc}
		}
		switch shape >> 1 & 3 {
		case 0:
			p.TCP = &TCP{SrcPort: uint16(v1), DstPort: uint16(v1 >> 16), Seq: v1, Ack: v2, Flags: uint8(v2 >> 24), Options: topts[:min(len(topts), 40)]}
		case 1:
			p.UDP = &UDP{SrcPort: uint16(v1), DstPort: uint16(v2)}
			if shape&0x200 != 0 {
				p.UDP.Length = Set(uint16(v2 >> 8))
			}
		case 2:
			p.ICMP = &ICMP{Type: uint8(v2 >> 4 & 1 * 8), Code: uint8(v2 >> 12), Rest: v1}
		case 3:
			ip.Protocol = Set(uint8(v2 >> 16))
		}
		forcedL4 := false
		if shape&8 != 0 {
			ip.Checksum = Set(uint16(v1 >> 3))
		}
		if shape&0x10 != 0 {
			c := uint16(v2 >> 5)
			if shape&0x20 != 0 {
				c = 0
			}
			forcedL4 = c != 0 || p.UDP == nil
			switch {
			case p.TCP != nil:
				p.TCP.Checksum = Set(c)
			case p.UDP != nil:
				p.UDP.Checksum = Set(c)
			case p.ICMP != nil:
				p.ICMP.Checksum = Set(c)
			}
		}
		if shape&0x40 != 0 {
			ip.IHL = Set(uint8(v2>>20) & 0xf)
		}
		if shape&0x80 != 0 {
			ip.Flags |= FlagMF
		}
		if shape&0x100 != 0 {
			ip.Flags |= FlagDF
		}
		tm, err := p.Template(nil)
		if err != nil {
			return
		}
		orig := bytes.Clone(tm.Bytes())
		// Four setters, each with its value from plan and v1.
		ops := [4]int{}
		vals := [4]uint32{}
		x := v1 ^ uint32(plan>>32)
		for i := range ops {
			ops[i] = int(plan>>(8*i)) % len(tmplOps)
			x = x*1664525 + 1013904223 + uint32(plan>>(8*i))
			vals[i] = x
			if plan>>(40+i)&1 != 0 { // corner values
				vals[i] = [2]uint32{0, 0xffffffff}[plan>>(44+i)&1]
			}
		}
		want := p.Clone()
		for i, k := range ops {
			op := tmplOps[k]
			op.set(&tm, vals[i])
			if op.carried(&want) {
				op.field(&want, vals[i])
			}
		}
		rebuilt := mustBuild(t, want)
		if !bytes.Equal(tm.Bytes(), rebuilt) {
			t.Fatalf("ops %v %x:\npatched %x\nrebuilt %x", ops, vals, tm.Bytes(), rebuilt)
		}
		// The same frame parsed: every checksum is updated, so only a
		// packet whose checksums were all computed (or a UDP 0) and whose
		// layout the decoder sees (no forced IHL) must agree.
		if ip.Checksum.IsSet() || forcedL4 || ip.IHL.IsSet() {
			return
		}
		if pr, _ := ip.Protocol.Get(); ip.Protocol.IsSet() && (pr == ProtoTCP || pr == ProtoUDP || pr == ProtoICMP) {
			return // the decoder finds a transport header in what the builder took for data
		}
		pt, err := ParseTemplate(orig, p.Ethernet != nil)
		if err != nil {
			t.Fatalf("ParseTemplate of a built packet: %v", err)
		}
		for i, k := range ops {
			tmplOps[k].set(&pt, vals[i])
		}
		if !bytes.Equal(pt.Bytes(), rebuilt) {
			t.Fatalf("parsed, ops %v %x:\npatched %x\nrebuilt %x", ops, vals, pt.Bytes(), rebuilt)
		}
		// Fragments of the datagram, each parsed and patched, equal the
		// fragments of the rebuilt one. Fragments recompute the IPv4
		// checksum; the data size holds the transport's fixed header.
		if p.Ethernet != nil || len(data) < 64 {
			return
		}
		o := FragOptions{DataSize: 24 + 8*int(v2>>24&31)}
		p.Ethernet, want.Ethernet = nil, nil
		_, frags, err := Fragments(nil, nil, mustBuild(t, p), o)
		if err != nil {
			return
		}
		_, wantFrags, err := Fragments(nil, nil, mustBuild(t, want), o)
		if err != nil || len(wantFrags) != len(frags) {
			t.Fatalf("fragments of the rebuilt datagram: %v, %d of %d", err, len(wantFrags), len(frags))
		}
		for j, fr := range frags {
			ft, err := ParseTemplate(fr.Bytes, false)
			if err != nil {
				t.Fatalf("fragment %d: %v", j+1, err)
			}
			for i, k := range ops {
				tmplOps[k].set(&ft, vals[i])
			}
			if !bytes.Equal(ft.Bytes(), wantFrags[j].Bytes) {
				t.Fatalf("fragment %d, ops %v %x:\npatched %x\nrebuilt %x", j+1, ops, vals, ft.Bytes(), wantFrags[j].Bytes)
			}
		}
	})
}

// FuzzParseTemplate: arbitrary bytes, read as a frame and as a datagram,
// never panic ParseTemplate nor the setters, and a setter never writes
// outside the frame.
func FuzzParseTemplate(f *testing.F) {
	seedPackets(f, true)
	seedPackets(f, false)
	for _, sh := range tmplShapes6() {
		p := sh.p()
		b, err := p.Append(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v := uint32(len(b)) * 0x9e3779b9
		if len(b) >= 4 {
			v ^= binary.BigEndian.Uint32(b[len(b)-4:])
		}
		for _, eth := range []bool{false, true} {
			in := append(bytes.Clone(b), 0xee, 0xee)[:len(b)] // a guard past the end
			tm, err := ParseTemplate(in, eth)
			if err != nil {
				if tm.Bytes() != nil {
					t.Fatal("a failed ParseTemplate holds bytes")
				}
				continue
			}
			for _, op := range tmplOps {
				op.set(&tm, v)
			}
			for _, op := range tmplOps6 {
				op.set(&tm, v)
			}
			c := tm.Clone(nil)
			c.SetSeq(v)
			if g := in[:len(b)+2]; g[len(b)] != 0xee || g[len(b)+1] != 0xee {
				t.Fatal("a setter wrote past the frame")
			}
		}
	})
}

// FuzzDecodeVLAN decodes frames with 802.1Q and QinQ tags, cut anywhere and
// with any TPIDs, and checks they rebuild to the same bytes.
func FuzzDecodeVLAN(f *testing.F) {
	for _, tags := range [][]VLAN{{{ID: 5}}, {{TPID: EtherTypeQinQ, ID: 100, PCP: 7}, {ID: 5, DEI: true}},
		{{TPID: EtherTypeQinQOld, ID: 1}, {TPID: EtherTypeQinQ, ID: 2}}} {
		b, err := (&Packet{Ethernet: &Ethernet{Dst: Broadcast, VLANs: tags}, IPv4: &IPv4{Src: hc, Dst: hs},
			UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: []byte("Hello")}).Append(nil)
		if err != nil {
			f.Fatal(err)
		}
		for _, n := range []int{13, 15, 17, 18, 20, 22, 40, len(b)} {
			f.Add(b[:min(n, len(b))])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decoded
		in := b[:len(b):len(b)]
		err := d.DecodeFrame(in)
		if len(d.Ethernet.VLANs) > MaxVLANTags {
			t.Fatalf("%d tags decoded", len(d.Ethernet.VLANs))
		}
		if d.Link&LayerVLAN != 0 && d.IPOffset != 0 && d.IPOffset != EthernetLen+VLANTagLen*len(d.Ethernet.VLANs) {
			t.Fatalf("IPv4 at %d after %d tags", d.IPOffset, len(d.Ethernet.VLANs))
		}
		checkDecoded(t, &d, in, err)
	})
}
