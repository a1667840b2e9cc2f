package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/exercise"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/spf13/pflag"
)

// fragConfigOf parses frag's flags as the command does and returns the
// experiment they make.
func fragConfigOf(t *testing.T, args ...string) exercise.FragConfig {
	t.Helper()
	fs := pflag.NewFlagSet("frag", pflag.ContinueOnError)
	pf, o := fragFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	proto := "udp"
	if a := fs.Args(); len(a) == 1 {
		proto = a[0]
	}
	cfg, err := fragConfig(proto, pf, o)
	if err != nil {
		t.Fatalf("frag %v: %v", args, err)
	}
	return cfg
}

// planned6 decodes the Fragment headers of a config's planned packets.
func planned6(t *testing.T, cfg exercise.FragConfig) (ids []uint32, offs []int) {
	t.Helper()
	for _, b := range cfg.Planned {
		d := craft.Decoded{AcceptIPv6: true}
		if err := d.DecodeIP(b); err != nil && d.Layers&craft.LayerIPv6 == 0 {
			t.Fatalf("planned %x…: %v", b[:min(len(b), 48)], err)
		}
		f := d.FragExt()
		if f == nil {
			t.Fatalf("planned packet without a Fragment header: %s", d.Summary())
		}
		ids, offs = append(ids, f.Ident()), append(offs, int(f.FragOffset())*8)
	}
	return ids, offs
}

// The flags of an IPv6 experiment: fragments behind Fragment headers, a
// random 32-bit identification unless --id gives one, the plan's order.
func TestFrag6Config(t *testing.T) {
	a := fragConfigOf(t, "--dst", "2001:2:0:1::1", "--size", "4000", "--frag", "1448", "--frag-order", "reverse")
	b := fragConfigOf(t, "--dst", "2001:2:0:1::1", "--size", "4000", "--frag", "1448", "--frag-order", "reverse")
	idsA, offs := planned6(t, a)
	idsB, _ := planned6(t, b)
	if a.Packet.IPv6 == nil || a.Packet.IPv6.Src != lab.Addr6Hc || a.Packet.IPv6.Dst != lab.Addr6Hs || a.Made != 3 || fmt.Sprint(a.Order) != "[3 2 1]" {
		t.Fatalf("config: %+v", a)
	}
	if fmt.Sprint(offs) != "[2896 1448 0]" || idsA[0] != idsA[1] || idsA[1] != idsA[2] || idsA[0] == idsB[0] || idsA[0] == 1 {
		t.Errorf("fragments at %v with IDs %x; another run's IDs %x: want one random ID per run", offs, idsA, idsB)
	}
	c := fragConfigOf(t, "--dst", "2001:2:0:2::1", "--size", "4000", "--mtu", "1280", "--id", "0x1234")
	if ids, _ := planned6(t, c); len(ids) != 4 || ids[0] != 0x1234 {
		t.Errorf("--id 0x1234 --mtu 1280 toward Hf: IDs %x, want four of 0x1234", ids)
	}
	// A chain split by the flags, as the help describes it.
	s := fragConfigOf(t, "--dst", "2001:2:0:1::1", "--ext", "dest", "--size", "2000", "--frag", "1448", "--frag-tiny", "8")
	if !craft.ChainSplit(s.Planned[0]) {
		t.Errorf("--ext dest --frag-tiny 8: the first fragment holds the whole header chain")
	}
	// The kernel's socket: one UDP payload, nothing planned by hand.
	k := fragConfigOf(t, "--dst", "2001:2:0:1::1", "--size", "4000", "--sender", "socket")
	if k.Sender != exercise.SendSocket || k.Packet.UDP == nil || len(k.Packet.Payload) != 4000 {
		t.Errorf("--sender socket: %+v", k)
	}
}

// The command over IPv6 in the lab: its story, as the engine tells it.
func TestFrag6Command(t *testing.T) {
	lab.RequireRoot(t)
	out, errs, code := runCLI(t, "frag", "--dst", "2001:2:0:1::1", "--size", "4000", "--fill", "F", "--frag", "1448", "--frag-order", "reverse", "--id", "0x1234")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"One UDP datagram of 4000 data bytes from Hc to Hs (2001:2:0:1::1), Fragment header ID 0x00001234, made into 3 fragments, sent in the order 3,2,1:\n",
		"Hc → fragment: offset 2896, 1112 data bytes\n",
		"Hs ← fragment: offset 0, 1448 data bytes, M   reassembly: complete\n",
		"Hs's application received 4000 bytes in one read: exactly the bytes sent\n",
		"Outcome:\n  the application received the datagram once, whole.\n  craft's reassembler (Linux's IPv6 rules) completed the packet; Hs's kernel delivered it — they agree.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the story lacks %q:\n%s", want, out)
		}
	}
	// RFC 7112 by the flags: the lab's kernel answers parameter problem
	// code 3, pointer 0.
	out, errs, code = runCLI(t, "frag", "--dst", "2001:2:0:1::1", "--ext", "dest", "--size", "2000", "--frag", "1448", "--frag-tiny", "8", "--wait", "1s")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"Hc ← ICMPv6 parameter problem, IPv6 first fragment has incomplete IPv6 header chain (type 4 code 3, pointer 0) from Hs (2001:2:0:1::1), quoting the fragment at offset 0",
		"craft's model drops it and expects ICMPv6 parameter problem code 3; Hs's kernel answered parameter problem code 3, pointer 0 — they agree.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the chain-split story lacks %q:\n%s", want, out)
		}
	}
	if _, ok := lab.Labs()[fmt.Sprintf("frag%d", os.Getpid())]; ok {
		t.Errorf("frag left lab frag%d", os.Getpid())
	}
}
