package exercise

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/rawsock"
)

// Each socket kind, against the peer kernel: what arrived equals what was
// handed except exactly the fields the kernel is documented to write, and
// each answer is heard by exactly the sockets raw(7), udp(7), icmp(7) and
// packet(7) say.
func TestSockets(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	rep, err := SocketsOn(l)
	if err != nil {
		t.Fatal(err)
	}
	if d := rep.Diffs(); len(d) > 0 {
		t.Errorf("the kernel did other than the man pages say:\n%s", strings.Join(d, "\n"))
	}
	// Where the datagram was handed whole and the kernel is said to keep
	// it, the bytes after the link header are exactly the handed ones.
	for _, tr := range rep.Tries {
		if (tr.Kind == rawsock.PacketDgram || tr.Kind == rawsock.InetRawProtoHdrIncl) && !bytes.Equal(tr.Wire[craft.EthernetLen:], tr.Handed) {
			t.Errorf("%v/%d: wire % x, handed % x", tr.Kind, tr.Proto, tr.Wire[craft.EthernetLen:], tr.Handed)
		}
	}
	// The expectations themselves, so that a test that cannot fail is seen.
	if len(rep.Tries) != 18 || len(rep.Heard) != 3 {
		t.Fatalf("%d tries, %d answers", len(rep.Tries), len(rep.Heard))
	}
	var out bytes.Buffer
	_ = rep.Write(&out)
	if !strings.Contains(out.String(), "Who hears the answers") {
		t.Errorf("story:\n%s", out.String())
	}
	t.Log("\n" + out.String())
}
