package rawsock_test

import (
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/rawsock"
)

// KernelRewrites reads the version: an IPv6 datagram gets IPv6's answer,
// which is that nothing changes.
func TestKernelRewrites6(t *testing.T) {
	dg, _ := (&craft.Packet{IPv6: &craft.IPv6{PayloadLen: craft.Set[uint16](999), HopLimit: craft.Set[uint8](0), Dst: a6Hs}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2, Checksum: craft.Set[uint16](0)}}).Append(nil)
	if rw := rawsock.KernelRewrites(dg); len(rw) != 0 {
		t.Errorf("IPv6: %+v, want nothing rewritten", rw)
	}
	if rw := rawsock.KernelRewrites6(dg); len(rw) != 0 {
		t.Errorf("KernelRewrites6: %+v", rw)
	}
	dg4, _ := (&craft.Packet{IPv4: &craft.IPv4{Dst: a4Hs}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}}).Append(nil)
	if rw := rawsock.KernelRewrites(dg4); len(rw) == 0 {
		t.Error("IPv4: nothing rewritten")
	}
}
