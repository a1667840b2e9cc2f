package exercise

import (
	"bytes"
	"fmt"
	"sort"
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
	changed := func(tr SocketTry) string {
		var s []string
		seen := map[string]bool{}
		for _, c := range tr.Changed {
			k := c.Layer + " " + c.Name
			if c.Handed == "" {
				k = c.Layer + " (written)"
			}
			if !seen[k] {
				seen[k] = true
				s = append(s, k)
			}
		}
		sort.Strings(s)
		return strings.Join(s, ", ")
	}
	want := map[rawsock.SocketKind]string{
		rawsock.PacketRaw:           "",
		rawsock.PacketDgram:         "Ethernet (written)",
		rawsock.InetRaw:             "Ethernet (written), IPv4 Header Checksum, IPv4 Identification",
		rawsock.InetRawProto:        "Ethernet (written), IPv4 (written)",
		rawsock.InetRawProtoHdrIncl: "Ethernet (written)",
	}
	for _, tr := range rep.Tries {
		name := fmt.Sprintf("%v/%d", tr.Kind, tr.Proto)
		if tr.Err != nil || tr.Wire == nil {
			t.Errorf("%s: error %v, wire %d bytes", name, tr.Err, len(tr.Wire))
			continue
		}
		if w, ok := want[tr.Kind]; ok && changed(tr) != w {
			t.Errorf("%s: the kernel changed %q, want %q", name, changed(tr), w)
		}
		// Where the datagram was handed whole and the kernel said it keeps
		// it, the bytes after the link header are exactly the handed ones.
		if tr.Kind == rawsock.PacketDgram || tr.Kind == rawsock.InetRawProtoHdrIncl {
			if !bytes.Equal(tr.Wire[craft.EthernetLen:], tr.Handed) {
				t.Errorf("%s: wire % x, handed % x", name, tr.Wire[craft.EthernetLen:], tr.Handed)
			}
		}
		if tr.Kind == rawsock.Dgram && tr.Proto == craft.ProtoICMP && changed(tr) != "Ethernet (written), ICMP Checksum, ICMP Identifier, IPv4 (written)" {
			t.Errorf("%s: the ping socket changed %q", name, changed(tr))
		}
	}
	heard := map[string]string{}
	for _, h := range rep.Heard {
		var by []string
		for i, b := range h.Heard {
			if b {
				by = append(by, rep.Listeners[i])
			}
		}
		heard[strings.Fields(h.Answer)[0]+" "+strings.Fields(h.Answer)[1]] = strings.Join(by, "; ")
	}
	for a, w := range map[string]string{
		"RST/ACK from": "AF_PACKET SOCK_RAW; raw IPPROTO_TCP",
		"ICMP port":    "AF_PACKET SOCK_RAW; raw IPPROTO_ICMP",
		"ICMP echo":    "AF_PACKET SOCK_RAW; raw IPPROTO_ICMP; ping socket",
	} {
		if heard[a] != w {
			t.Errorf("%s… heard by %q, want %q", a, heard[a], w)
		}
	}
	var out bytes.Buffer
	_ = rep.Write(&out)
	if !strings.Contains(out.String(), "Who hears the answers") {
		t.Errorf("story:\n%s", out.String())
	}
	t.Log("\n" + out.String())
}
