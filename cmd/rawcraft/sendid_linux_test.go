package main

import (
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
)

// send picks a fresh identification each run unless --id gives one, so
// that two runs within the receiver's ipfrag_time never join. The oracle
// is Hs's kernel: run 1 loses fragment 2 of a datagram to the closed port
// 9998, run 2 sends only fragment 2. Had they shared an ID (send used 1
// every run), Hs would reassemble the two halves and answer port
// unreachable; apart, run 1's datagram times out (time exceeded, code 1,
// after the lab's 1 s ipfrag_time) and nothing is reassembled.
func TestSendFreshIDPerRun(t *testing.T) {
	l := lab.ForTest(t, lab.Config{FragTime: 1})
	atHs, atHc := sniff(t, l, lab.Hs, craft.EtherTypeIPv4), sniff(t, l, lab.Hc, craft.EtherTypeIPv4)
	// send runs send with args and returns the IP ID of what reached Hs
	// (every frame of the run carries one).
	send := func(args ...string) uint16 {
		t.Helper()
		base := []string{"send", "udp", "--dst", lab.AddrHs.String(), "--sport", "40100", "--dport", "9998", "-q"}
		if code, _, errs := inHc(t, l, append(base, args...)...); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		ids := map[uint16]bool{}
		for {
			f := waitFor(atHs, 300*time.Millisecond, func(d *craft.Decoded) bool {
				return d.Has(craft.LayerIPv4) && d.IPv4.Src == lab.AddrHc && d.IPv4.Protocol.Or(0) == craft.ProtoUDP
			})
			if f == nil {
				break
			}
			var d craft.Decoded
			_ = d.DecodeFrame(f)
			ids[d.IPv4.ID] = true
		}
		if len(ids) != 1 {
			t.Fatalf("%v: Hs saw IDs %v, want one", args, ids)
		}
		for id := range ids {
			return id
		}
		return 0
	}
	a, b := send("--data", "one"), send("--data", "two")
	if a == b {
		t.Errorf("two runs sent IP ID %d both", a)
	}
	if c := send("--data", "three", "--id", "77"); c != 77 {
		t.Errorf("--id 77 sent ID %d", c)
	}
	first := send("--size", "3000", "--frag", "1480", "--frag-drop", "2")
	second := send("--size", "3000", "--frag", "1480", "--frag-drop", "1,3")
	if first == second {
		t.Fatalf("both fragmented runs used ID %d", first)
	}
	// Hs's answers about these two datagrams, until well past its 1 s
	// ipfrag_time.
	var answers []craft.Decoded
	deadline := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(deadline) {
		f := waitFor(atHc, time.Until(deadline), func(d *craft.Decoded) bool {
			return d.Has(craft.LayerICMP) && d.IPv4.Src == lab.AddrHs && d.ICMP.IsError() && d.Quoted.Layers&craft.LayerIPv4 != 0 &&
				(d.Quoted.IPv4.ID == first || d.Quoted.IPv4.ID == second)
		})
		if f == nil {
			break
		}
		var d craft.Decoded
		_ = d.DecodeFrame(f)
		answers = append(answers, d)
	}
	if len(answers) != 1 || answers[0].ICMP.Type != craft.ICMPTimeExceeded || answers[0].ICMP.Code != craft.CodeReassemblyExceeded || answers[0].Quoted.IPv4.ID != first {
		for _, d := range answers {
			t.Logf("Hs: ICMP type %d code %d quoting ID %d", d.ICMP.Type, d.ICMP.Code, d.Quoted.IPv4.ID)
		}
		t.Errorf("%d answers from Hs; want one: reassembly time exceeded for run 1's datagram (ID %d), and no port unreachable (which would mean the runs joined)", len(answers), first)
	}
}

// Over IPv6 each run, and each packet of a run, gets its own Fragment
// identification (RFC 8200 §4.5): --count 2 of a fragmented packet sends
// two IDs, and a second run two more.
func TestSendFreshFragID6(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	atHs := sniff(t, l, lab.Hs, craft.EtherTypeIPv6)
	ids := map[uint32]int{}
	for run := 0; run < 2; run++ {
		if code, _, errs := inHc(t, l, "send", "udp", "--dst", lab.Addr6Hs.String(), "--dport", "9998", "--size", "2000", "--mtu", "1280", "--count", "2", "--interval", "10ms", "-q"); code != exitOK {
			t.Fatalf("exit %d: %s", code, errs)
		}
		for i := 0; i < 4; i++ { // two packets of two fragments
			f := waitFor(atHs, 2*time.Second, func(d *craft.Decoded) bool { return d.FragExt() != nil && d.IPv6.Src == lab.Addr6Hc })
			var d craft.Decoded
			d.AcceptIPv6 = true
			if f == nil {
				t.Fatalf("run %d: fragment %d never reached Hs", run+1, i+1)
			}
			_ = d.DecodeFrame(f)
			ids[d.FragExt().Ident()]++
		}
	}
	if len(ids) != 4 {
		t.Errorf("Fragment identifications %v: want 4 IDs, 2 fragments each", ids)
	}
	for id, n := range ids {
		if n != 2 {
			t.Errorf("ID %#x on %d fragments, want 2", id, n)
		}
	}
}
