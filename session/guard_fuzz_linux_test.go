package session

import (
	"encoding/binary"
	"testing"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

// FuzzGuardSweepReplies answers SweepGuards' netlink requests (the table
// dump, then the deletion's batch) with arbitrary messages built from the
// input, through github.com/google/nftables's test dialer: whatever the
// replies hold, the sweep returns (tables, or an error), never a panic.
func FuzzGuardSweepReplies(f *testing.F) {
	table := func(name string) []byte {
		b := []byte{2, 0, 0, 0} // nfgenmsg: AF_INET, version 0, res_id 0
		attr := binary.LittleEndian.AppendUint16(nil, uint16(4+len(name)+1))
		attr = binary.LittleEndian.AppendUint16(attr, 1) // NFTA_TABLE_NAME
		attr = append(append(attr, name...), 0)
		for len(attr)%4 != 0 {
			attr = append(attr, 0)
		}
		return append(b, attr...)
	}
	// type(2) flags(2) then the message's data, for each of two replies.
	seed := func(data []byte) []byte {
		b := binary.LittleEndian.AppendUint16(nil, 0x0a00) // NFT_MSG_NEWTABLE
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = append(b, byte(len(data)))
		return append(b, data...)
	}
	f.Add(seed(table(GuardTable())))
	f.Add(seed(table(GuardTablePrefix + "1-1")))
	f.Add(seed(nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		calls := 0
		dial := func(req []netlink.Message) ([]netlink.Message, error) {
			calls++
			if calls > 8 {
				return nil, nil
			}
			var out []netlink.Message
			b := in
			for len(b) >= 5 && len(out) < 4 {
				n := min(int(b[4]), len(b)-5)
				m := netlink.Message{Data: b[5 : 5+n]}
				m.Header.Type = netlink.HeaderType(binary.LittleEndian.Uint16(b))
				m.Header.Flags = netlink.HeaderFlags(binary.LittleEndian.Uint16(b[2:]))
				if len(req) > 0 {
					m.Header.Sequence, m.Header.PID = req[0].Header.Sequence, req[0].Header.PID
				}
				out = append(out, m)
				b = b[5+n:]
			}
			return out, nil
		}
		c, err := nftables.New(nftables.WithTestDial(nltest.Func(dial)))
		if err != nil {
			t.Skip(err)
		}
		_, _ = sweepGuards(c)
	})
}
