package exercise

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// fragCase is an experiment described as the CLI's flags would describe it.
type fragCase struct {
	name    string
	dst     string // "" for Hs
	payload []byte
	df      bool
	frag    craft.FragOptions // zero: not fragmented
	sched   craft.Schedule
	via     rawsock.Via
	sender  FragSender
	wait    time.Duration
}

var udpID uint16 = 0x4321

// config builds the datagram (UDP 40123 → 9999, IP ID udpID) and its plan.
func (c fragCase) config(t *testing.T) FragConfig {
	t.Helper()
	dst := lab.AddrHs
	if c.dst == "Hf" {
		dst = lab.AddrHf
	}
	udpID++ // a fresh ID each run: no straggler of the last run is ours
	ip := &craft.IPv4{ID: udpID, TTL: craft.Set(uint8(64)), Src: lab.AddrHc, Dst: dst}
	if c.df {
		ip.Flags |= craft.FlagDF
	}
	pk := craft.Packet{IPv4: ip, UDP: &craft.UDP{SrcPort: 40000 + udpID%1000, DstPort: 9999}, Payload: c.payload}
	dg, err := pk.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := FragConfig{Packet: pk, Via: c.via, Sender: c.sender, Wait: c.wait}
	if c.frag == (craft.FragOptions{}) {
		cfg.Planned = [][]byte{dg}
		return cfg
	}
	_, frags, err := craft.Fragments(nil, nil, dg, c.frag)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := c.sched.Plan(nil, len(frags))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Made = len(frags)
	for _, i := range plan {
		cfg.Planned = append(cfg.Planned, frags[i-1].Bytes)
		cfg.Order = append(cfg.Order, i)
	}
	return cfg
}

func fragRun(t *testing.T, c fragCase) (*FragReport, string) {
	t.Helper()
	lab.RequireRoot(t)
	rep, err := Frag(c.config(t))
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	var out strings.Builder
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	// Only this process's lab: other packages' tests run labs of their own.
	if _, ok := lab.Labs()[fmt.Sprintf("frag%d", os.Getpid())]; ok {
		t.Errorf("%s: Frag left lab frag%d", c.name, os.Getpid())
	}
	return rep, out.String()
}

func payload4000() []byte { return bytes.Repeat([]byte("F"), 4000) }

func TestFragDelivered(t *testing.T) {
	f1480 := craft.FragOptions{DataSize: 1480}
	for _, c := range []fragCase{
		{name: "mtu 1500", payload: payload4000(), frag: craft.FragOptions{MTU: 1500}},
		{name: "reverse", payload: payload4000(), frag: f1480, sched: craft.Schedule{Reverse: true}},
		{name: "random", payload: payload4000(), frag: f1480, sched: craft.Schedule{Random: true, Seed: 7}},
		{name: "3,1,2 via ip", payload: payload4000(), frag: f1480, sched: craft.Schedule{Order: []int{3, 1, 2}}, via: rawsock.ViaIP},
		{name: "dup 2", payload: payload4000(), frag: f1480, sched: craft.Schedule{Dup: []int{2}}},
	} {
		rep, out := fragRun(t, c)
		if len(rep.Delivered) != 1 || !bytes.Equal(rep.Delivered[0], payload4000()) {
			t.Errorf("%s: the application got %d datagrams, want the exact 4000 bytes once\n%s", c.name, len(rep.Delivered), out)
		}
		if !rep.Complete || len(rep.Replies) != 0 {
			t.Errorf("%s: reassembler complete %v, %d ICMP replies", c.name, rep.Complete, len(rep.Replies))
		}
		wantArrived := 3
		if len(c.sched.Dup) > 0 {
			wantArrived = 4
		}
		if len(rep.Arrived) != wantArrived || len(rep.Left) != wantArrived {
			t.Errorf("%s: %d sent, %d arrived, want %d", c.name, len(rep.Left), len(rep.Arrived), wantArrived)
		}
		if len(rep.Frames) != wantArrived {
			t.Errorf("%s: %d frames handed to the socket, want %d", c.name, len(rep.Frames), wantArrived)
		}
		// Via packet the fragments leave exactly as planned, in order.
		if c.via == rawsock.ViaPacket {
			for i := range min(len(rep.Left), len(rep.Frames)) {
				if !bytes.Equal(rep.Left[i].Frame, rep.Frames[i]) {
					t.Errorf("%s: fragment %d left as %x…, planned %x…", c.name, i+1, rep.Left[i].Frame[:40], rep.Frames[i][:40])
				}
			}
		}
		if !strings.Contains(out, "the application received the datagram once, whole.") || !strings.Contains(out, "they agree") {
			t.Errorf("%s: story:\n%s", c.name, out)
		}
	}
}

func TestFragLost(t *testing.T) {
	f1480 := craft.FragOptions{DataSize: 1480}
	data := bytes.Repeat([]byte("A"), 4000)
	// A lost middle fragment: nothing delivered, ICMP time exceeded code 1
	// quoting fragment 1, matched.
	rep, out := fragRun(t, fragCase{name: "drop 2", payload: data, frag: f1480, sched: craft.Schedule{Drop: []int{2}}})
	if len(rep.Delivered) != 0 || rep.Complete {
		t.Errorf("middle fragment lost: delivered %d, complete %v", len(rep.Delivered), rep.Complete)
	}
	if len(rep.Replies) != 1 || rep.Replies[0].Reason != listen.ICMPReassemblyExceeded || rep.Replies[0].Code != 1 ||
		rep.Replies[0].From != lab.AddrHs || rep.Replies[0].QuotedID != rep.ID {
		t.Errorf("middle fragment lost: replies %+v, want one reassembly time exceeded quoting ID %#x\n%s", rep.Replies, rep.ID, out)
	}
	if !strings.Contains(out, "made into 3 fragments, sent in the order 1,3:") {
		t.Errorf("the story does not name the plan:\n%s", out)
	}
	// A lost fragment zero: nothing delivered and no ICMP at all.
	rep, out = fragRun(t, fragCase{name: "drop 1", payload: data, frag: f1480, sched: craft.Schedule{Drop: []int{1}}})
	if len(rep.Delivered) != 0 || len(rep.Replies) != 0 || !strings.Contains(out, "fragment 1 (offset 0) never arrived") {
		t.Errorf("fragment zero lost: delivered %d, replies %+v\n%s", len(rep.Delivered), rep.Replies, out)
	}
}

// Overlapping fragments, as this Linux receiver treats them: the datagram is
// discarded, and the reassembler with Linux's policy agrees.
func TestFragOverlapObserved(t *testing.T) {
	rep, out := fragRun(t, fragCase{name: "overlap 8", payload: bytes.Repeat([]byte("A"), 4000),
		frag: craft.FragOptions{DataSize: 1480, Overlap: 8}, wait: time.Second})
	if len(rep.Delivered) != 0 || rep.Complete {
		t.Errorf("overlap: delivered %d, reassembler complete %v\n%s", len(rep.Delivered), rep.Complete, out)
	}
	if !strings.Contains(out, "they agree") {
		t.Errorf("reassembler and kernel disagree:\n%s", out)
	}
}

func TestFragNeededTowardHf(t *testing.T) {
	rep, out := fragRun(t, fragCase{name: "DF toward Hf", dst: "Hf", payload: bytes.Repeat([]byte("A"), 1400), df: true})
	if len(rep.Replies) != 1 || rep.Replies[0].Reason != listen.ICMPFragNeeded || rep.Replies[0].MTU != 1280 || rep.Replies[0].From != lab.AddrR1 {
		t.Errorf("DF toward Hf: %+v, want fragmentation needed with MTU 1280 from R\n%s", rep.Replies, out)
	}
	if len(rep.Delivered) != 0 {
		t.Error("the DF datagram was delivered")
	}
}

// An ordinary 4000-byte sendto is fragmented by the kernel as the article
// says: 1480 data bytes per full fragment at MTU 1500, the first carrying
// the 8-byte UDP header, so 1472 bytes of application data.
func TestKernelFragmentsSendto(t *testing.T) {
	rep, out := fragRun(t, fragCase{name: "socket", payload: payload4000(), sender: SendSocket})
	if len(rep.Delivered) != 1 || !bytes.Equal(rep.Delivered[0], payload4000()) {
		t.Fatalf("delivered %d\n%s", len(rep.Delivered), out)
	}
	want := []struct{ off, n int }{{0, 1480}, {1480, 1480}, {2960, 1048}}
	if len(rep.Arrived) != 3 {
		t.Fatalf("%d fragments arrived\n%s", len(rep.Arrived), out)
	}
	for i, s := range rep.Arrived {
		var d craft.Decoded
		_ = d.DecodeFrame(s.Frame)
		n := int(d.IPv4.TotalLen.Or(0)) - 20
		if int(d.IPv4.FragOff)*8 != want[i].off || n != want[i].n {
			t.Errorf("fragment %d: offset %d, %d bytes; want %d, %d", i+1, int(d.IPv4.FragOff)*8, n, want[i].off, want[i].n)
		}
		if i == 0 && (!d.Has(craft.LayerUDP) || len(d.Payload) != 1472) {
			t.Errorf("the first fragment carries %d application bytes after the UDP header, want 1472", len(d.Payload))
		}
	}
	if rep.Frames != nil {
		t.Errorf("an ordinary socket sent, yet %d frames were handed to a raw socket", len(rep.Frames))
	}
}

// A config Frag cannot run is refused before any lab exists.
func TestFragRefusesBadConfig(t *testing.T) {
	good := fragCase{payload: []byte("x")}.config(t)
	for _, c := range []struct {
		desc string
		edit func(*FragConfig)
	}{
		{"destination neither Hs nor Hf", func(c *FragConfig) { ip := *c.Packet.IPv4; ip.Dst = lab.AddrHc; c.Packet.IPv4 = &ip }},
		{"no IPv4 header", func(c *FragConfig) { c.Packet.IPv4 = nil }},
		{"socket without UDP", func(c *FragConfig) { c.Sender, c.Packet.UDP, c.Packet.ICMP = SendSocket, nil, &craft.ICMP{Type: 8} }},
		{"unknown sender", func(c *FragConfig) { c.Sender = 7 }},
		{"unknown via", func(c *FragConfig) { c.Via = 9 }},
		{"negative wait", func(c *FragConfig) { c.Wait = -time.Second }},
		{"wait over a minute", func(c *FragConfig) { c.Wait = 99999 * time.Hour }},
		{"nothing planned", func(c *FragConfig) { c.Planned = nil }},
	} {
		cfg := good
		c.edit(&cfg)
		if rep, err := Frag(cfg); err == nil || rep != nil {
			t.Errorf("%s: Frag ran (%v)", c.desc, err)
		}
	}
}

// The story's text, pinned on a report made by hand.
func TestFragStory(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	mk := func(off, n int, mf bool, at time.Duration) listen.Captured {
		ip := &craft.IPv4{ID: 0xbeef, TTL: craft.Set(uint8(64)), Protocol: craft.Set(craft.ProtoUDP), Src: lab.AddrHc, Dst: lab.AddrHs, FragOff: uint16(off / 8)}
		if mf {
			ip.Flags = craft.FlagMF
		}
		pk := craft.Packet{Ethernet: &craft.Ethernet{}, IPv4: ip, Payload: make([]byte, n)}
		b, err := pk.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		var c listen.Captured
		c.Frame, c.Meta.Time = b, t0.Add(at)
		return c
	}
	rep := &FragReport{Proto: craft.ProtoUDP, Dst: lab.AddrHs, Host: "Hs", Payload: make([]byte, 2000), ID: 0xbeef, Made: 2, Order: []int{2, 1},
		Left:    []listen.Captured{mk(1480, 528, false, 0), mk(0, 1480, true, 100*time.Microsecond)},
		Arrived: []listen.Captured{mk(1480, 528, false, 300*time.Microsecond), mk(0, 1480, true, 400*time.Microsecond)},
		Reassembly: []craft.ReassemblyEvent{
			{Holes: []craft.Hole{{First: 0, Last: 1479}}},
			{Complete: true},
		},
		Complete: true, Delivered: [][]byte{make([]byte, 2000)}, DeliveredAt: []time.Time{t0.Add(time.Millisecond)},
	}
	var b strings.Builder
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := `One UDP datagram of 2000 data bytes from Hc to Hs (198.18.1.1), IP ID 0xbeef, made into 2 fragments, sent in the order 2,1:
      +0.000 ms  Hc → fragment: offset 1480, 528 data bytes
      +0.100 ms  Hc → fragment: offset 0, 1480 data bytes, MF
      +0.300 ms  Hs ← fragment: offset 1480, 528 data bytes   reassembly: holes 0–1479
      +0.400 ms  Hs ← fragment: offset 0, 1480 data bytes, MF   reassembly: complete
      +1.000 ms  Hs's application received 2000 bytes in one read: exactly the bytes sent
Outcome:
  the application received the datagram once, whole.
  craft's reassembler completed the datagram; the kernel delivered it — they agree.
`
	if b.String() != want {
		t.Errorf("story:\n%s\nwant:\n%s", b.String(), want)
	}
}

// A SYN with data in fragments to Hs's closed TCP port: Hs reassembles it
// and its kernel answers RST|ACK, acknowledging SYN and data (RFC 9293
// §3.10.7.1): the story shows that answer, matched to the datagram.
func TestFragSYNWithDataAnswered(t *testing.T) {
	lab.RequireRoot(t)
	udpID++
	pk := craft.Packet{IPv4: &craft.IPv4{ID: udpID, TTL: craft.Set(uint8(64)), Src: lab.AddrHc, Dst: lab.AddrHs},
		TCP: &craft.TCP{SrcPort: 41000, DstPort: 9998, Seq: 7000, Flags: craft.TCPSyn, Window: 1024}, Payload: bytes.Repeat([]byte("s"), 3000)}
	dg, err := pk.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, frags, err := craft.Fragments(nil, nil, dg, craft.FragOptions{DataSize: 1480})
	if err != nil {
		t.Fatal(err)
	}
	cfg := FragConfig{Packet: pk, Made: len(frags), Wait: time.Second}
	for i, f := range frags {
		cfg.Planned, cfg.Order = append(cfg.Planned, f.Bytes), append(cfg.Order, i+1)
	}
	rep, err := Frag(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	_ = rep.Write(&out)
	if len(rep.Replies) != 1 || rep.Replies[0].Reason != listen.Rst || !rep.Complete {
		t.Fatalf("replies %+v, complete %v\n%s", rep.Replies, rep.Complete, out.String())
	}
}
