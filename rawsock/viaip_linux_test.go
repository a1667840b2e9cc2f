package rawsock_test

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/rawsock"
)

// What Hc's kernel does with datagrams on a raw IPv4 socket (IP_HDRINCL),
// observed at Hs: it refuses exactly what KernelRefuses names (a header
// length past the datagram's end, more than the link's 1500-byte MTU), and
// of what it sends, the bytes that differ from the datagram as built are
// exactly the fields KernelRewrites marks Changed — none for a datagram
// built right, and none for an IHL below 5 (no rewrite at all).
func TestIPConnKernelRefusesAndChanges(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	rx := capture(t, l, lab.Hs, nil)
	var tx *rawsock.IPConn
	if err := l.Do(lab.Hc, func() (err error) { tx, err = rawsock.ListenIP(""); return err }); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	udp := func(id uint16, ip craft.IPv4, n int) []byte {
		ip.ID, ip.Src, ip.Dst = id, lab.AddrHc, lab.AddrHs
		p := craft.Packet{IPv4: &ip, UDP: &craft.UDP{SrcPort: 40000, DstPort: 9}, Payload: bytes.Repeat([]byte("k"), n)}
		b, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Field offsets each Rewrite covers in the IPv4 header.
	span := map[string][2]int{"total length": {2, 4}, "identification": {4, 6}, "header checksum": {10, 12}, "source address": {12, 16}}
	cases := []struct {
		desc string
		dg   []byte
	}{
		{"built right", udp(101, craft.IPv4{}, 5)},
		{"built right, DF, ID 0", udp(0, craft.IPv4{Flags: craft.FlagDF}, 5)},
		{"exactly the MTU", udp(102, craft.IPv4{}, 1500-28)},
		{"one byte over the MTU", udp(103, craft.IPv4{}, 1501-28)},
		{"IHL 15 past the end", udp(104, craft.IPv4{IHL: craft.Set[uint8](15)}, 5)},
		{"IHL 6 without options", udp(105, craft.IPv4{IHL: craft.Set[uint8](6)}, 5)},
		{"IHL 4", udp(106, craft.IPv4{IHL: craft.Set[uint8](4)}, 5)},
		{"bad header checksum", udp(107, craft.IPv4{Checksum: craft.Set[uint16](0xdead)}, 5)},
		{"total length lies", udp(108, craft.IPv4{TotalLen: craft.Set[uint16](1000)}, 5)},
		{"ID 0, DF clear", udp(0, craft.IPv4{TTL: craft.Set[uint8](33)}, 5)},
	}
	for _, c := range cases {
		_, err := tx.Send(c.dg)
		predicted := rawsock.KernelRefuses(c.dg, 1500)
		if (err != nil) != (predicted != nil) {
			t.Errorf("%s: the kernel said %v; KernelRefuses said %v", c.desc, err, predicted)
			continue
		}
		if err != nil {
			continue
		}
		id, ttl := binary.BigEndian.Uint16(c.dg[4:]), c.dg[8]
		frame := next(t, rx, 2*time.Second, func(d *craft.Decoded, f []byte) bool {
			if !fromHc(d, f) || len(f) < craft.EthernetLen+20 {
				return false
			}
			ip := f[craft.EthernetLen:]
			return binary.BigEndian.Uint16(ip[4:]) == id && ip[8] == ttl && ip[9] == craft.ProtoUDP || id == 0 && ip[8] == ttl && ip[9] == craft.ProtoUDP
		})
		if frame == nil {
			t.Errorf("%s: sent, but nothing arrived at Hs", c.desc)
			continue
		}
		got := frame[craft.EthernetLen:]
		if len(got) > len(c.dg) {
			got = got[:len(c.dg)] // Ethernet padding
		}
		changed := map[string]bool{}
		for _, rw := range rawsock.KernelRewrites(c.dg) {
			changed[rw.Field] = rw.Changed
		}
		for field, s := range span {
			differs := !bytes.Equal(got[s[0]:s[1]], c.dg[s[0]:s[1]])
			if differs != changed[field] {
				t.Errorf("%s: %s %x → %x on the wire, but KernelRewrites says changed=%v", c.desc, field, c.dg[s[0]:s[1]], got[s[0]:s[1]], changed[field])
			}
		}
		if !bytes.Equal(got[16:], c.dg[16:]) || !bytes.Equal(got[:2], c.dg[:2]) || !bytes.Equal(got[6:10], c.dg[6:10]) {
			t.Errorf("%s: a field no Rewrite names changed:\n %x\n %x", c.desc, c.dg, got)
		}
	}
	// IPv6: a raw IPv6 socket refuses a packet over the MTU whole.
	var tx6 *rawsock.IPConn
	if err := l.Do(lab.Hc, func() (err error) { tx6, err = rawsock.ListenIP6(""); return err }); err != nil {
		t.Fatal(err)
	}
	defer tx6.Close()
	for _, n := range []int{1500, 1501} {
		p := craft.Packet{IPv6: &craft.IPv6{Src: lab.Addr6Hc, Dst: lab.Addr6Hs}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 9}, Payload: make([]byte, n-48)}
		dg, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tx6.Send(dg)
		if predicted := rawsock.KernelRefuses(dg, 1500); (err != nil) != (predicted != nil) {
			t.Errorf("IPv6, %d bytes: the kernel said %v; KernelRefuses said %v", n, err, predicted)
		}
	}
}
