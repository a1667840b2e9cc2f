package listen_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// A frame tagged for VLAN 5 arrives at Hs as it left Hc, tag included, in
// what listen hands over — through recvmsg and through the ring — though
// the receiving kernel takes the tag out of the frame before any tap sees
// it (VLAN acceleration: it travels beside the frame, in PACKET_AUXDATA).
func TestListenKeepsVLANTag(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var rt rawsock.Route
	var tx *rawsock.Conn
	if err := l.Do(lab.Hc, func() (err error) {
		if rt, err = rawsock.Resolve(lab.AddrHs, nil); err != nil {
			return err
		}
		tx, err = rawsock.Listen(rt.Iface, &rawsock.Config{SendOnly: true})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	frame, err := (&craft.Packet{Ethernet: &craft.Ethernet{Dst: rt.DstMAC, Src: rt.SrcMAC, VLANs: []craft.VLAN{{ID: 5, PCP: 3}}},
		IPv4: &craft.IPv4{ID: 7, Src: lab.AddrHc, Dst: lab.AddrHs}, UDP: &craft.UDP{SrcPort: 4000, DstPort: 4001}, Payload: []byte("tagged")}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	// What is on the wire: the frame, padded to 60 bytes by the sender.
	wire := append(append([]byte(nil), frame...), make([]byte, craft.MinFrameLen-len(frame))...)
	for _, ring := range []bool{false, true} {
		ln := listenOn(t, l, lab.Hs, &listen.Config{Ring: ring})
		if _, err := tx.Send(frame); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for {
			p, err := ln.Next(deadline)
			if err != nil {
				t.Fatalf("ring %v: the tagged frame never came: %v", ring, err)
			}
			d := &p.Decoded
			if !d.Has(craft.LayerUDP) || d.UDP.DstPort != 4001 {
				continue
			}
			if !bytes.Equal(p.Frame, wire) || len(d.Ethernet.VLANs) != 1 || d.Ethernet.VLANs[0].ID != 5 || d.Ethernet.VLANs[0].PCP != 3 || !p.Meta.VLANRestored || p.Meta.Len != len(wire) {
				t.Errorf("ring %v: got % x (tags %+v, restored %v, len %d), on the wire % x", ring, p.Frame, d.Ethernet.VLANs, p.Meta.VLANRestored, p.Meta.Len, wire)
			}
			break
		}
		ln.Close()
	}
}
