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

// frag6Case is an IPv6 experiment described as the CLI's flags would
// describe it.
type frag6Case struct {
	name    string
	dst     string // "" for Hs
	icmp    bool   // an ICMPv6 echo request instead of UDP
	tcp     bool   // a TCP SYN (to Hs's closed port) instead of UDP
	payload []byte
	ext     []craft.IPv6Ext
	frag    craft.FragOptions // zero: not fragmented
	sched   craft.Schedule
	via     rawsock.Via
	sender  FragSender
	wait    time.Duration
	onEvent func(time.Duration, string)
}

var frag6ID uint32 = 0x6a000000

// config builds the packet (UDP 41xxx → 9999, or an echo request) and its
// plan, with a fresh Fragment header identification. The lab's
// ip6frag_time is 1 s (the CLI's is 3), so that a case that waits for the
// receiver to give up takes 2.5 s.
func (c frag6Case) config(t *testing.T) FragConfig {
	t.Helper()
	dst := lab.Addr6Hs
	if c.dst == "Hf" {
		dst = lab.Addr6Hf
	}
	frag6ID++
	pk := craft.Packet{IPv6: &craft.IPv6{HopLimit: craft.Set(uint8(64)), Src: lab.Addr6Hc, Dst: dst}, IPv6Ext: c.ext, Payload: c.payload}
	switch {
	case c.icmp:
		e := craft.Echo6(uint16(frag6ID), 1)
		pk.ICMPv6 = &e
	case c.tcp:
		pk.TCP = &craft.TCP{SrcPort: 41000 + uint16(frag6ID%1000), DstPort: 9999, Seq: frag6ID, Flags: craft.TCPSyn, Window: 64240}
	default:
		pk.UDP = &craft.UDP{SrcPort: 41000 + uint16(frag6ID%1000), DstPort: 9999}
	}
	dg, err := pk.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := FragConfig{Packet: pk, Via: c.via, Sender: c.sender, Wait: c.wait, FragTime: 1, OnEvent: c.onEvent}
	if c.frag == (craft.FragOptions{}) {
		cfg.Planned = [][]byte{dg}
		return cfg
	}
	_, frags, err := craft.Fragments6(nil, nil, dg, craft.FragOptions6{FragOptions: c.frag, ID: frag6ID})
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

func frag6Run(t *testing.T, c frag6Case) (*FragReport, string) {
	t.Helper()
	lab.RequireRoot(t)
	cfg := c.config(t)
	rep, err := Frag(cfg)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	var out strings.Builder
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	if _, ok := lab.Labs()[fmt.Sprintf("frag%d", os.Getpid())]; ok {
		t.Errorf("%s: Frag left lab frag%d", c.name, os.Getpid())
	}
	if c.frag != (craft.FragOptions{}) && (!rep.HasFragID || rep.FragID != frag6ID) {
		t.Errorf("%s: report's Fragment header ID %#x (%v), planned %#x", c.name, rep.FragID, rep.HasFragID, frag6ID)
	}
	t.Logf("%s:\n%s", c.name, out.String())
	return rep, out.String()
}

// quotedFrag returns the Fragment header an ICMPv6 error frame quotes.
func quotedFrag(t *testing.T, frame []byte) (off int, id uint32) {
	t.Helper()
	d := craft.Decoded{AcceptIPv6: true}
	_ = d.DecodeFrame(frame)
	f := d.Quoted.FragExt()
	if f == nil {
		t.Fatalf("the ICMPv6 error quotes no Fragment header: %s", d.Summary())
	}
	return int(f.FragOffset()) * 8, f.Ident()
}

func TestFrag6Delivered(t *testing.T) {
	f1448 := craft.FragOptions{DataSize: 1448}
	for _, c := range []struct {
		frag6Case
		n int // fragments sent and arrived
	}{
		{frag6Case{name: "mtu 1500 reverse", payload: payload4000(), frag: craft.FragOptions{MTU: 1500}, sched: craft.Schedule{Reverse: true}}, 3},
		{frag6Case{name: "dup 2 via ip", payload: payload4000(), frag: f1448, sched: craft.Schedule{Dup: []int{2}}, via: rawsock.ViaIP}, 4},
		{frag6Case{name: "Hf, mtu 1280", dst: "Hf", payload: payload4000(), frag: craft.FragOptions{MTU: 1280}}, 4},
	} {
		rep, out := frag6Run(t, c.frag6Case)
		if len(rep.Delivered) != 1 || !bytes.Equal(rep.Delivered[0], payload4000()) {
			t.Errorf("%s: the application got %d datagrams, want the exact 4000 bytes once", c.name, len(rep.Delivered))
		}
		if !rep.Complete || len(rep.Replies) != 0 || rep.ModelTimeExceeded || rep.ModelParamProblem {
			t.Errorf("%s: reassembler complete %v, %d ICMPv6 replies, model expects time exceeded %v, parameter problem %v",
				c.name, rep.Complete, len(rep.Replies), rep.ModelTimeExceeded, rep.ModelParamProblem)
		}
		if len(rep.Left) != c.n || len(rep.Arrived) != c.n || len(rep.Frames) != c.n {
			t.Errorf("%s: %d handed to the socket, %d sent, %d arrived, want %d", c.name, len(rep.Frames), len(rep.Left), len(rep.Arrived), c.n)
		}
		if c.via == rawsock.ViaPacket {
			for i := range min(len(rep.Left), len(rep.Frames)) {
				if !bytes.Equal(rep.Left[i].Frame, rep.Frames[i]) {
					t.Errorf("%s: fragment %d left as %x…, planned %x…", c.name, i+1, rep.Left[i].Frame[:70], rep.Frames[i][:70])
				}
			}
		}
		want := fmt.Sprintf("  craft's reassembler (Linux's IPv6 rules) completed the packet; %s's kernel delivered it — they agree.\n", rep.Host)
		if !strings.Contains(out, "the application received the datagram once, whole.") || !strings.Contains(out, want) ||
			!strings.Contains(out, fmt.Sprintf("Fragment header ID 0x%08x, made into %d fragments", rep.FragID, len(rep.Order)-len(c.sched.Dup))) {
			t.Errorf("%s: story:\n%s", c.name, out)
		}
	}
	// An echo request and a SYN with data in fragments: Hs reassembles
	// each and answers, echo reply and RST.
	for _, c := range []struct {
		frag6Case
		reason listen.Reason
	}{
		{frag6Case{name: "echo", icmp: true, payload: bytes.Repeat([]byte("e"), 3000), frag: f1448, wait: time.Second}, listen.EchoReply},
		{frag6Case{name: "SYN with data", tcp: true, payload: bytes.Repeat([]byte("s"), 3000), frag: f1448, wait: time.Second}, listen.Rst},
	} {
		rep, out := frag6Run(t, c.frag6Case)
		if len(rep.Replies) != 1 || rep.Replies[0].Reason != c.reason || rep.Replies[0].From != lab.Addr6Hs || !rep.Complete {
			t.Errorf("%s: replies %+v, model complete %v; want %v from Hs", c.name, rep.Replies, rep.Complete, c.reason)
		}
		if want := fmt.Sprintf("Hs's kernel answered it (%v), so it reassembled it — they agree.", c.reason); !strings.Contains(out, want) {
			t.Errorf("%s: the story lacks %q:\n%s", c.name, want, out)
		}
	}
}

// A lost middle fragment: after ip6frag_time Hs answers time exceeded code
// 1 quoting the first fragment, as the model expects. A lost first
// fragment: silence, as the model expects.
func TestFrag6Lost(t *testing.T) {
	f1448 := craft.FragOptions{DataSize: 1448}
	var events []string // the live timeline, as frag's terminal shows it
	rep, out := frag6Run(t, frag6Case{name: "drop 2", payload: payload4000(), frag: f1448, sched: craft.Schedule{Drop: []int{2}},
		onEvent: func(_ time.Duration, what string) { events = append(events, what) }})
	wantEvents := []string{
		fmt.Sprintf("Hc → fragment at offset 0, ID 0x%08x, M", rep.FragID),
		fmt.Sprintf("Hs ← fragment at offset 0, ID 0x%08x, M", rep.FragID),
		fmt.Sprintf("Hc → fragment at offset 2896, ID 0x%08x", rep.FragID),
		fmt.Sprintf("Hs ← fragment at offset 2896, ID 0x%08x", rep.FragID),
		"Hc ← 2001:2:0:1::1 → 2001:2:0:1::3 ICMPv6 time exceeded (fragment reassembly time exceeded)",
	}
	if len(events) != len(wantEvents) {
		t.Errorf("drop 2: live events %q, want %q", events, wantEvents)
	} else {
		for i, w := range wantEvents {
			if !strings.HasPrefix(events[i], w) {
				t.Errorf("drop 2: live event %d is %q, want %q…", i, events[i], w)
			}
		}
	}
	if len(rep.Delivered) != 0 || rep.Complete || !rep.ModelTimeExceeded {
		t.Errorf("drop 2: delivered %d, complete %v, model expects time exceeded %v", len(rep.Delivered), rep.Complete, rep.ModelTimeExceeded)
	}
	if len(rep.Replies) != 1 || rep.Replies[0].Reason != listen.ICMPReassemblyExceeded || rep.Replies[0].Code != 1 || rep.Replies[0].From != lab.Addr6Hs {
		t.Fatalf("drop 2: replies %+v, want one time exceeded code 1 from Hs", rep.Replies)
	}
	if off, id := quotedFrag(t, rep.ReplyFrames[0].Frame); off != 0 || id != rep.FragID {
		t.Errorf("the time exceeded quotes the fragment at %d, ID %#x; want the first, ID %#x", off, id, rep.FragID)
	}
	if after := rep.Replies[0].Time.Sub(rep.Arrived[0].Meta.Time); after < 950*time.Millisecond || after > 2*time.Second {
		t.Errorf("time exceeded %v after the first fragment arrived, want ip6frag_time (1 s)", after)
	}
	for _, want := range []string{
		"made into 3 fragments, sent in the order 1,3:",
		"Hc ← ICMPv6 time exceeded, fragment reassembly time exceeded (type 3 code 1) from Hs (2001:2:0:1::1), quoting the fragment at offset 0",
		"craft's model gives the packet up ip6frag_time (1 s) after its first fragment arrived and expects ICMPv6 time exceeded code 1; Hs's kernel sent it 1.",
		" s after the first fragment reached Hs — they agree.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("drop 2: the story lacks %q:\n%s", want, out)
		}
	}
	rep, out = frag6Run(t, frag6Case{name: "drop 1", payload: payload4000(), frag: f1448, sched: craft.Schedule{Drop: []int{1}}})
	if len(rep.Delivered) != 0 || len(rep.Replies) != 0 || rep.ModelTimeExceeded || len(rep.Arrived) != 2 {
		t.Errorf("drop 1: delivered %d, replies %+v, model expects time exceeded %v, %d arrived", len(rep.Delivered), rep.Replies, rep.ModelTimeExceeded, len(rep.Arrived))
	}
	if !strings.Contains(out, "no ICMPv6 came back: the first fragment (offset 0) never arrived") || !strings.Contains(out, "they agree") {
		t.Errorf("drop 1: story:\n%s", out)
	}
}

// Overlapping fragments: RFC 5722 has the whole packet discarded, and Hs's
// kernel does so, silently, as the model says.
func TestFrag6Overlap(t *testing.T) {
	rep, out := frag6Run(t, frag6Case{name: "overlap 8", payload: payload4000(), frag: craft.FragOptions{DataSize: 1448, Overlap: 8}})
	discarded := false
	for _, e := range rep.Reassembly {
		discarded = discarded || e.Discarded && e.Overlap == 8
	}
	if len(rep.Delivered) != 0 || rep.Complete || !discarded || len(rep.Arrived) != 3 {
		t.Errorf("overlap: delivered %d, complete %v, discarded by the model %v, %d arrived", len(rep.Delivered), rep.Complete, discarded, len(rep.Arrived))
	}
	if len(rep.Replies) != 0 || rep.ModelTimeExceeded {
		t.Errorf("overlap: replies %+v, model expects time exceeded %v; want silence from both", rep.Replies, rep.ModelTimeExceeded)
	}
	for _, want := range []string{
		"the whole packet is discarded, as RFC 5722 requires",
		"craft's reassembler (Linux's IPv6 rules) did not complete the packet; Hs's kernel did not deliver it — they agree.",
		"the fragments overlapped: RFC 5722 has an IPv6 receiver discard the whole packet; Hs's kernel delivered nothing, as it asks.",
		"no ICMPv6 came back within the wait (craft's model expects none).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("overlap: the story lacks %q:\n%s", want, out)
		}
	}
}

// A first fragment that does not hold the header chain through the UDP
// header (RFC 7112): Hs's kernel drops it and answers parameter problem
// code 3, pointer 0, and gives the rest up without time exceeded — what the
// model says.
func TestFrag6ChainSplit(t *testing.T) {
	padN := append([]byte{1, 62}, make([]byte, 62)...) // one PadN option: a 72-byte Destination Options header
	for _, c := range []frag6Case{
		{name: "dest, tiny first", payload: bytes.Repeat([]byte("C"), 2000), ext: []craft.IPv6Ext{craft.DestOpts(nil)},
			frag: craft.FragOptions{DataSize: 1448, TinyFirst: 8}},
		{name: "big dest, 16-byte fragments", payload: bytes.Repeat([]byte("C"), 100), ext: []craft.IPv6Ext{craft.DestOpts(padN)},
			frag: craft.FragOptions{DataSize: 16}, wait: time.Second},
	} {
		rep, out := frag6Run(t, c)
		if !craft.ChainSplit(c.config(t).Planned[0]) {
			t.Fatalf("%s: the first fragment holds the whole chain", c.name)
		}
		if len(rep.Delivered) != 0 || rep.Complete || !rep.ModelParamProblem || rep.ModelTimeExceeded {
			t.Errorf("%s: delivered %d, complete %v, model expects parameter problem %v, time exceeded %v",
				c.name, len(rep.Delivered), rep.Complete, rep.ModelParamProblem, rep.ModelTimeExceeded)
		}
		if len(rep.Replies) != 1 || rep.Replies[0].Reason != listen.ICMPParamProblem || rep.Replies[0].Code != 3 ||
			rep.Replies[0].Pointer != 0 || rep.Replies[0].From != lab.Addr6Hs {
			t.Fatalf("%s: replies %+v, want one parameter problem code 3, pointer 0, from Hs", c.name, rep.Replies)
		}
		if off, id := quotedFrag(t, rep.ReplyFrames[0].Frame); off != 0 || id != rep.FragID {
			t.Errorf("%s: the parameter problem quotes the fragment at %d, ID %#x; want the first, ID %#x", c.name, off, id, rep.FragID)
		}
		for _, want := range []string{
			"(type 4 code 3, pointer 0) from Hs (2001:2:0:1::1), quoting the fragment at offset 0",
			"craft's model drops it and expects ICMPv6 parameter problem code 3; Hs's kernel answered parameter problem code 3, pointer 0 — they agree.",
			"no time exceeded followed within the wait",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: the story lacks %q:\n%s", c.name, want, out)
			}
		}
	}
}

// Toward Hf a packet larger than R–Hf's 1280 bytes is not fragmented by R:
// R answers Packet Too Big, MTU 1280, and nothing reaches Hf.
func TestFrag6PacketTooBig(t *testing.T) {
	rep, out := frag6Run(t, frag6Case{name: "1400 bytes toward Hf", dst: "Hf", payload: bytes.Repeat([]byte("B"), 1400), wait: time.Second})
	if len(rep.Replies) != 1 || rep.Replies[0].Reason != listen.ICMPPacketTooBig || rep.Replies[0].MTU != 1280 || rep.Replies[0].From != lab.Addr6R1 {
		t.Errorf("toward Hf: replies %+v, want Packet Too Big with MTU 1280 from R", rep.Replies)
	}
	if len(rep.Arrived) != 0 || len(rep.Delivered) != 0 || rep.HasFragID {
		t.Errorf("toward Hf: %d arrived, %d delivered, Fragment header %v", len(rep.Arrived), len(rep.Delivered), rep.HasFragID)
	}
	for _, want := range []string{
		"from Hc to Hf (2001:2:0:2::1), in one packet without a Fragment header:",
		"Hc ← ICMPv6 packet too big (type 2 code 0) from R (2001:2:0:1::2), MTU 1280, quoting the packet",
		"nothing reached Hf: craft's reassembler had nothing to put together, and Hf's kernel delivered nothing — they agree.",
		"R (2001:2:0:1::2) answered ICMPv6 packet too big with MTU 1280 instead of forwarding: " + craft.ClaimIPv6RoutersNeverFragment.Text() + ", at the path MTU it learns (RFC 8200 §5, RFC 8201)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("toward Hf: the story lacks %q:\n%s", want, out)
		}
	}
}

// An ordinary 4000-byte sendto over IPv6: Hc's kernel fragments it at the
// 1500-byte MTU behind 8-byte Fragment headers, 1448 data bytes per full
// fragment (1500 − 40 − 8, rounded down to 8), the first carrying the
// UDP header and 1440 bytes of application data.
func TestFrag6KernelFragmentsSendto(t *testing.T) {
	rep, out := frag6Run(t, frag6Case{name: "socket", payload: payload4000(), sender: SendSocket})
	if len(rep.Delivered) != 1 || !bytes.Equal(rep.Delivered[0], payload4000()) || !rep.Complete {
		t.Fatalf("delivered %d, complete %v", len(rep.Delivered), rep.Complete)
	}
	want := []struct{ off, n int }{{0, 1448}, {1448, 1448}, {2896, 1112}}
	if len(rep.Left) != 3 || len(rep.Arrived) != 3 || !rep.HasFragID {
		t.Fatalf("%d fragments left, %d arrived, Fragment header %v", len(rep.Left), len(rep.Arrived), rep.HasFragID)
	}
	for i, s := range rep.Left {
		d := craft.Decoded{AcceptIPv6: true}
		_ = d.DecodeFrame(s.Frame)
		f := d.FragExt()
		if f == nil || int(f.FragOffset())*8 != want[i].off || fragData6(s) != want[i].n || f.Ident() != rep.FragID {
			t.Errorf("fragment %d: %s; want offset %d, %d bytes, ID %#x", i+1, d.Summary(), want[i].off, want[i].n, rep.FragID)
		}
		if i == 0 && (!d.Has(craft.LayerUDP) || len(d.Payload) != 1440) {
			t.Errorf("the first fragment carries %d application bytes after the UDP header, want 1440", len(d.Payload))
		}
	}
	if rep.Frames != nil {
		t.Errorf("an ordinary socket sent, yet %d frames were handed to a raw socket", len(rep.Frames))
	}
	for _, want := range []string{
		"through an ordinary UDP socket: Hc's kernel fragmented it, Fragment header ID 0x",
		"Hc's kernel fragmented the datagram itself, into 3 fragments of 1448 + 1448 + 1112 data bytes behind Fragment headers: in IPv6 only the source fragments (RFC 8200 §4.5).",
		"Hs's kernel delivered it — they agree.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the story lacks %q:\n%s", want, out)
		}
	}
}

// An IPv6 config Frag cannot run is refused before any lab exists.
func TestFrag6RefusesBadConfig(t *testing.T) {
	good := frag6Case{payload: []byte("x")}.config(t)
	v4 := fragCase{payload: []byte("x")}.config(t)
	for _, c := range []struct {
		desc string
		edit func(*FragConfig)
	}{
		{"destination neither Hs nor Hf", func(c *FragConfig) { ip := *c.Packet.IPv6; ip.Dst = lab.Addr6R1; c.Packet.IPv6 = &ip }},
		{"source not Hc", func(c *FragConfig) { ip := *c.Packet.IPv6; ip.Src = lab.Addr6Hs; c.Packet.IPv6 = &ip }},
		{"ICMP in IPv6", func(c *FragConfig) { c.Packet.UDP, c.Packet.ICMP = nil, &craft.ICMP{Type: 8} }},
		{"no transport", func(c *FragConfig) { c.Packet.UDP = nil }},
		{"both IPv4 and IPv6", func(c *FragConfig) { c.Packet.IPv4 = v4.Packet.IPv4 }},
		{"an IPv4 datagram planned", func(c *FragConfig) { c.Planned = v4.Planned }},
		{"socket without UDP", func(c *FragConfig) {
			c.Sender, c.Packet.UDP, c.Packet.ICMPv6 = SendSocket, nil, &craft.ICMPv6{Type: 128}
		}},
		{"wait over a minute", func(c *FragConfig) { c.Wait = time.Hour }},
		{"negative fragment time", func(c *FragConfig) { c.FragTime = -1 }},
		{"fragment time over 30 s", func(c *FragConfig) { c.FragTime = 31 }},
		{"nothing planned", func(c *FragConfig) { c.Planned = nil }},
	} {
		cfg := good
		c.edit(&cfg)
		if rep, err := Frag(cfg); err == nil || rep != nil {
			t.Errorf("%s: Frag ran (%v)", c.desc, err)
		}
	}
}

// The IPv6 story's text, pinned on a report made by hand: a lost middle
// fragment and the time exceeded that followed.
func TestFrag6Story(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	const id = 0xbeef1234
	frag := func(off, n int, m bool) []byte {
		pk := craft.Packet{Ethernet: &craft.Ethernet{}, IPv6: &craft.IPv6{HopLimit: craft.Set(uint8(64)), Src: lab.Addr6Hc, Dst: lab.Addr6Hs},
			IPv6Ext: []craft.IPv6Ext{craft.FragmentExt(uint16(off/8), m, id)}, Payload: make([]byte, n)}
		pk.IPv6Ext[0].NextHeader = craft.Set(craft.ProtoUDP)
		b, err := pk.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	at := func(b []byte, d time.Duration) listen.Captured {
		var c listen.Captured
		c.Frame, c.Meta.Time = b, t0.Add(d)
		return c
	}
	first, last := frag(0, 1448, true), frag(2896, 1112, false)
	te := craft.Packet{Ethernet: &craft.Ethernet{}, IPv6: &craft.IPv6{HopLimit: craft.Set(uint8(64)), Src: lab.Addr6Hs, Dst: lab.Addr6Hc},
		ICMPv6: &craft.ICMPv6{Type: craft.ICMPv6TimeExceeded, Code: 1}, Payload: first[craft.EthernetLen : craft.EthernetLen+1232]}
	teFrame, err := te.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := &FragReport{Proto: craft.ProtoUDP, Dst: lab.Addr6Hs, Host: "Hs", Payload: make([]byte, 4000), FragID: id, HasFragID: true,
		Made: 3, Order: []int{1, 3},
		Left:    []listen.Captured{at(first, 0), at(last, 100*time.Microsecond)},
		Arrived: []listen.Captured{at(first, 20*time.Microsecond), at(last, 120*time.Microsecond)},
		Reassembly: []craft.ReassemblyEvent{
			{Holes: []craft.Hole{{First: 1448, Last: craft.Infinity}}},
			{Holes: []craft.Hole{{First: 1448, Last: 2895}}},
		},
		Replies:           []listen.Reply{{Reason: listen.ICMPReassemblyExceeded, Code: 1, From: lab.Addr6Hs, Time: t0.Add(3*time.Second + 20*time.Millisecond)}},
		ReplyFrames:       []listen.Captured{at(teFrame, 3*time.Second+20*time.Millisecond)},
		ModelTimeExceeded: true, FragTime: 3 * time.Second,
	}
	var b strings.Builder
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := `One UDP datagram of 4000 data bytes from Hc to Hs (2001:2:0:1::1), Fragment header ID 0xbeef1234, made into 3 fragments, sent in the order 1,3:
      +0.000 ms  Hc → fragment: offset 0, 1448 data bytes, M
      +0.020 ms  Hs ← fragment: offset 0, 1448 data bytes, M   reassembly: holes 1448–end
      +0.100 ms  Hc → fragment: offset 2896, 1112 data bytes
      +0.120 ms  Hs ← fragment: offset 2896, 1112 data bytes   reassembly: holes 1448–2895
   +3020.000 ms  Hc ← ICMPv6 time exceeded, fragment reassembly time exceeded (type 3 code 1) from Hs (2001:2:0:1::1), quoting the fragment at offset 0 (ID 0xbeef1234)
Outcome:
  the application received nothing: UDP delivers a datagram whole or not at all.
  craft's reassembler (Linux's IPv6 rules) did not complete the packet; Hs's kernel did not deliver it — they agree.
  craft's model gives the packet up ip6frag_time (3 s) after its first fragment arrived and expects ICMPv6 time exceeded code 1; Hs's kernel sent it 3.0 s after the first fragment reached Hs — they agree.
`
	if b.String() != want {
		t.Errorf("story:\n%s\nwant:\n%s", b.String(), want)
	}
}
