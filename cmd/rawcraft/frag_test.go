package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/spf13/pflag"
)

func fragRun(t *testing.T, args ...string) (*fragReport, string) {
	t.Helper()
	lab.RequireRoot(t)
	fs := pflag.NewFlagSet("frag", pflag.ContinueOnError)
	pf := newPacketFlags(fs)
	o := &fragOpts{}
	fs.StringVar(&o.sender, "sender", "craft", "")
	fs.StringVar(&o.via, "via", "packet", "")
	fs.DurationVar(&o.wait, "wait", 0, "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep, err := runFrag(&out, io.Discard, "udp", pf, o)
	if err != nil {
		t.Fatalf("frag %v: %v", args, err)
	}
	if left := lab.Labs(); len(left) > 0 {
		for name := range left {
			if strings.HasPrefix(name, "frag") {
				t.Errorf("frag left lab %s", name)
			}
		}
	}
	return rep, out.String()
}

func payload4000() []byte { return bytes.Repeat([]byte("F"), 4000) }

func TestFragDelivered(t *testing.T) {
	for _, c := range [][]string{
		{"--size", "4000", "--fill", "F", "--mtu", "1500"},
		{"--size", "4000", "--fill", "F", "--frag", "1480", "--frag-order", "reverse"},
		{"--size", "4000", "--fill", "F", "--frag", "1480", "--frag-order", "random", "--frag-seed", "7"},
		{"--size", "4000", "--fill", "F", "--frag", "1480", "--frag-order", "3,1,2", "--via", "ip"},
		{"--size", "4000", "--fill", "F", "--frag", "1480", "--frag-dup", "2"},
	} {
		rep, out := fragRun(t, c...)
		if len(rep.appGot) != 1 || !bytes.Equal(rep.appGot[0], payload4000()) {
			t.Errorf("%v: the application got %d datagrams, want the exact 4000 bytes once\n%s", c, len(rep.appGot), out)
		}
		if !rep.complete || len(rep.replies) != 0 {
			t.Errorf("%v: reassembler complete %v, %d ICMP replies", c, rep.complete, len(rep.replies))
		}
		wantArrived := 3
		if strings.Contains(strings.Join(c, " "), "frag-dup") {
			wantArrived = 4
		}
		if len(rep.arrived) != wantArrived || len(rep.sent) != wantArrived {
			t.Errorf("%v: %d sent, %d arrived, want %d", c, len(rep.sent), len(rep.arrived), wantArrived)
		}
		// Via packet the fragments leave exactly as planned, in order.
		if !strings.Contains(strings.Join(c, " "), "--via ip") {
			for i := range min(len(rep.sent), len(rep.planned)) {
				if !bytes.Equal(rep.sent[i].Frame, rep.planned[i]) {
					t.Errorf("%v: fragment %d left as %x…, planned %x…", c, i+1, rep.sent[i].Frame[:40], rep.planned[i][:40])
				}
			}
		}
	}
}

func TestFragLost(t *testing.T) {
	// A lost middle fragment: nothing delivered, ICMP time exceeded code 1
	// quoting fragment 1, matched.
	rep, out := fragRun(t, "--size", "4000", "--frag", "1480", "--frag-drop", "2")
	if len(rep.appGot) != 0 || rep.complete {
		t.Errorf("middle fragment lost: delivered %d, complete %v", len(rep.appGot), rep.complete)
	}
	if len(rep.replies) != 1 || rep.replies[0].Reason != listen.ICMPReassemblyExceeded || rep.replies[0].Code != 1 ||
		rep.replies[0].From != lab.AddrHs || rep.replies[0].QuotedID != rep.id {
		t.Errorf("middle fragment lost: replies %+v, want one reassembly time exceeded quoting ID %#x\n%s", rep.replies, rep.id, out)
	}
	// A lost fragment zero: nothing delivered and no ICMP at all.
	rep, out = fragRun(t, "--size", "4000", "--frag", "1480", "--frag-drop", "1")
	if len(rep.appGot) != 0 || len(rep.replies) != 0 || !strings.Contains(out, "fragment 1 (offset 0) never arrived") {
		t.Errorf("fragment zero lost: delivered %d, replies %+v\n%s", len(rep.appGot), rep.replies, out)
	}
}

// Overlapping fragments, as this Linux receiver treats them: the datagram is
// discarded, and the reassembler with Linux's policy agrees.
func TestFragOverlapObserved(t *testing.T) {
	rep, out := fragRun(t, "--size", "4000", "--frag", "1480", "--frag-overlap", "8", "--wait", "1s")
	if len(rep.appGot) != 0 || rep.complete {
		t.Errorf("overlap: delivered %d, reassembler complete %v\n%s", len(rep.appGot), rep.complete, out)
	}
	if !strings.Contains(out, "they agree") {
		t.Errorf("reassembler and kernel disagree:\n%s", out)
	}
}

func TestFragNeededTowardHf(t *testing.T) {
	rep, out := fragRun(t, "--dst", "198.18.2.2", "--size", "1400", "--df")
	if len(rep.replies) != 1 || rep.replies[0].Reason != listen.ICMPFragNeeded || rep.replies[0].MTU != 1280 || rep.replies[0].From != lab.AddrR1 {
		t.Errorf("DF toward Hf: %+v, want fragmentation needed with MTU 1280 from R\n%s", rep.replies, out)
	}
	if len(rep.appGot) != 0 {
		t.Error("the DF datagram was delivered")
	}
}

// An ordinary 4000-byte sendto is fragmented by the kernel as the article
// says: 1480 data bytes per full fragment at MTU 1500, the first carrying
// the 8-byte UDP header, so 1472 bytes of application data.
func TestKernelFragmentsSendto(t *testing.T) {
	rep, out := fragRun(t, "--size", "4000", "--fill", "F", "--sender", "socket")
	if len(rep.appGot) != 1 || !bytes.Equal(rep.appGot[0], payload4000()) {
		t.Fatalf("delivered %d\n%s", len(rep.appGot), out)
	}
	want := []struct{ off, n int }{{0, 1480}, {1480, 1480}, {2960, 1048}}
	if len(rep.arrived) != 3 {
		t.Fatalf("%d fragments arrived\n%s", len(rep.arrived), out)
	}
	for i, s := range rep.arrived {
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
}

func TestSendUnfragmentedTooBigViaIP(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var errb bytes.Buffer
	err := l.Do(lab.Hc, func() error {
		cmd := newSendCmd()
		cmd.SetOut(io.Discard)
		cmd.SetErr(&errb)
		cmd.SetArgs([]string{"udp", "--dst", "198.18.1.1", "--size", "4000", "--via", "ip"})
		return cmd.Execute()
	})
	if err == nil || !strings.Contains(err.Error(), "message too long") || !strings.Contains(err.Error(), "never fragments") {
		t.Errorf("4000 unfragmented bytes via ip: %v", err)
	}
}
