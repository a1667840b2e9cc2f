package craft_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/oracle"
)

// TestVLANTagWordsAgainstTshark: what the explanation says of each tag's
// TPID — the kind of tag its value names, and whether it is the frame's
// only tag, the outer or an inner one — holds for every stacking, with
// tshark counting and ordering the tags. A lone 802.1ad S-tag is not "of a
// QinQ frame"; 0x9100 is not IEEE 802.1ad's (tshark: "old non-standard");
// two 0x8100 tags are a double-tagged frame whose first is the outer
// (zeek #1012 and libpcap #451 concern the same TPIDs).
func TestVLANTagWordsAgainstTshark(t *testing.T) {
	tshark := oracle.Require(t, "tshark")
	stacks := [][]uint16{
		{craft.EtherTypeVLAN},
		{craft.EtherTypeQinQ},
		{craft.EtherTypeQinQOld},
		{craft.EtherTypeQinQ, craft.EtherTypeVLAN},
		{craft.EtherTypeQinQOld, craft.EtherTypeVLAN},
		{craft.EtherTypeVLAN, craft.EtherTypeVLAN},
	}
	kind := map[uint16]string{
		craft.EtherTypeVLAN:    "802.1Q customer tag (C-tag)",
		craft.EtherTypeQinQ:    "802.1ad service tag (S-tag)",
		craft.EtherTypeQinQOld: "pre-standard QinQ tag",
	}
	frames := make([][]byte, len(stacks))
	for i, s := range stacks {
		e := eth()
		for j, tpid := range s {
			e.VLANs = append(e.VLANs, craft.VLAN{TPID: tpid, ID: uint16(100 + j)})
		}
		frames[i] = build(t, craft.Packet{Ethernet: e, IPv4: ip4(), UDP: &craft.UDP{SrcPort: 1, DstPort: 2}, Payload: []byte("tag")})
	}
	ts := runTshark(t, tshark, frames)
	for i, s := range stacks {
		name := fmt.Sprintf("%04x", s)
		// tshark dissects a 0x88a8 tag as ieee8021ad, the others as vlan.
		sTags := ts[i]["ieee8021ad.id"]
		ids := append(append([]string(nil), ts[i]["vlan.id"]...), sTags...)
		if len(ids) != len(s) {
			t.Fatalf("%s: tshark reads %d tags %v, built %d", name, len(ids), ids, len(s))
		}
		if n := strings.Count(name, "88a8"); len(sTags) != n {
			t.Errorf("%s: tshark reads %d 802.1ad tags, built %d", name, len(sTags), n)
		}
		var tpids []craft.Field
		for _, f := range (explainCase{name, frames[i], true}).fields() {
			if f.Layer == "802.1Q" && f.Name == "TPID" {
				tpids = append(tpids, f)
			}
		}
		if len(tpids) != len(s) {
			t.Fatalf("%s: %d TPID fields, tshark %d tags", name, len(tpids), len(ids))
		}
		for j, f := range tpids {
			where := "an inner tag of a QinQ frame"
			switch {
			case len(ids) == 1:
				where = "the frame's only tag"
			case j == 0:
				where = "the outer tag of a QinQ frame"
			}
			if !strings.HasPrefix(f.Meaning, kind[s[j]]) || !strings.HasSuffix(f.Meaning, where) {
				t.Errorf("%s tag %d: %q, want %q … %q", name, j+1, f.Meaning, kind[s[j]], where)
			}
			if s[j] == craft.EtherTypeQinQOld && strings.Contains(f.Meaning, "802.1ad service tag") {
				t.Errorf("%s: 0x9100 called IEEE 802.1ad's: %q", name, f.Meaning)
			}
		}
	}
}
