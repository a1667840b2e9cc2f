package craft

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func frags6(t *testing.T, packet []byte, o FragOptions6) [][]byte {
	t.Helper()
	_, fs, err := Fragments6(nil, nil, packet, o)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(fs))
	for i, f := range fs {
		out[i] = f.Bytes
	}
	return out
}

func TestReassembleIPv6(t *testing.T) {
	now := time.Unix(1e9, 0)
	packet := mustBuild(t, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{HopByHop(AppendIPv6OptRouterAlert(nil, 0)), DestOpts(nil)},
		UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: bytes.Repeat([]byte("0123456789"), 300)})
	fs := frags6(t, packet, FragOptions6{FragOptions: FragOptions{MTU: 1280}, ID: 0xabcdef})
	for _, linux := range []bool{false, true} {
		r := NewReassembler(&ReassemblyConfig{Linux: linux})
		for i := len(fs) - 1; i >= 0; i-- { // reverse order
			ev, err := r.Add(now, fs[i])
			if err != nil {
				t.Fatal(err)
			}
			if ev.Key.ID != 0xabcdef || ev.Key.Proto != 0 || ev.Key.Src != hc6 {
				t.Fatalf("key %v", ev.Key)
			}
			if done := i == 0; ev.Complete != done {
				t.Fatalf("linux %v, fragment %d: complete %v (%s)", linux, i+1, ev.Complete, ev.Reason)
			}
			if ev.Complete && !bytes.Equal(ev.Datagram, packet) {
				t.Fatalf("linux %v: reassembled\n %x\nwant\n %x", linux, ev.Datagram[:120], packet[:120])
			}
		}
		// A duplicate inside what arrived is dropped alone; the packet completes.
		r = NewReassembler(&ReassemblyConfig{Linux: linux})
		seq := [][]byte{fs[0], fs[1], fs[1], fs[2]}
		var ev ReassemblyEvent
		for _, f := range seq {
			ev, _ = r.Add(now, f)
		}
		if !ev.Complete || !bytes.Equal(ev.Datagram, packet) {
			t.Fatalf("linux %v: with a duplicate: %+v", linux, ev.Reason)
		}
	}
	// Overlap: the whole packet is discarded (RFC 5722).
	over := frags6(t, packet, FragOptions6{FragOptions: FragOptions{DataSize: 1024, Overlap: 8}, ID: 1})
	for _, cfg := range []ReassemblyConfig{{Linux: true}, {DiscardOverlaps: true}} {
		r := NewReassembler(&cfg)
		_, _ = r.Add(now, over[0])
		ev, _ := r.Add(now, over[1])
		if !ev.Discarded || ev.Overlap != 8 || (cfg.Linux && !strings.Contains(ev.Reason, "RFC 5722")) || len(r.Pending()) != 0 {
			t.Fatalf("%+v: overlap: %+v", cfg, ev)
		}
	}
	// Atomic fragment: delivered at once (RFC 6946).
	atomic := frags6(t, packet, FragOptions6{Atomic: true, ID: 5})[0]
	r := NewReassembler(&ReassemblyConfig{Linux: true})
	if ev, err := r.Add(now, atomic); err != nil || !ev.Complete || !bytes.Equal(ev.Datagram, atomic) || len(r.Pending()) != 0 {
		t.Fatalf("atomic: %v %+v", err, ev)
	}
	// Not a fragment at all.
	if ev, err := r.Add(now, packet); err != nil || !ev.Complete || ev.Fragments != 1 {
		t.Fatalf("whole packet: %v %+v", err, ev)
	}
}

func TestReassembleIPv6LinuxRules(t *testing.T) {
	now := time.Unix(1e9, 0)
	mk := func(ext []IPv6Ext, payload []byte) []byte {
		return mustBuild(t, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6, NextHeader: Set(ProtoFragment)}, IPv6Ext: ext, Payload: payload})
	}
	r := NewReassembler(&ReassemblyConfig{Linux: true})
	// M set with 12 data bytes: dropped with parameter problem, not trimmed.
	odd := FragmentExt(0, true, 3)
	odd.NextHeader = Set(ProtoUDP)
	ev, err := r.Add(now, mk([]IPv6Ext{odd}, make([]byte, 12)))
	if err != nil || !ev.Dropped || ev.Trimmed != 0 || !strings.Contains(ev.Reason, "parameter problem") {
		t.Fatalf("odd length: %v %+v", err, ev)
	}
	// A first fragment whose chain is split (RFC 7112): dropped, code 3.
	packet := mustBuild(t, Packet{IPv6: &IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []IPv6Ext{DestOpts(AppendIPv6OptPadN(nil, 14))},
		UDP: &UDP{SrcPort: 1, DstPort: 2}, Payload: make([]byte, 64)})
	fs := frags6(t, packet, FragOptions6{FragOptions: FragOptions{DataSize: 32, TinyFirst: 16}, ID: 4})
	ev, _ = r.Add(now, fs[0])
	if !ev.Dropped || !strings.Contains(ev.Reason, "code 3") {
		t.Fatalf("split chain: %+v", ev)
	}
	// The rest never completes without it; at expiry no ICMP (no fragment zero).
	for _, f := range fs[1:] {
		if ev, _ = r.Add(now, f); ev.Complete {
			t.Fatalf("completed without fragment zero")
		}
	}
	exp := r.Expire(now.Add(time.Hour))
	found := false
	for _, x := range exp {
		if x.Key.ID == 4 {
			found = !x.HadFirst
		}
	}
	if !found {
		t.Errorf("expired %+v", exp)
	}
}
