package session

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/owner"
)

// The guard policy, without root: which guard a policy leads to, given
// whether a ghost address was given or found.
func TestGuardPolicy(t *testing.T) {
	given := netip.MustParseAddr("198.18.1.200")
	found := netip.MustParseAddr("198.18.1.204")
	errNone := errors.New("no free address found on eth0 for a ghost")
	finds := func(calls *int, a netip.Addr, err error) func() (netip.Addr, error) {
		return func() (netip.Addr, error) { *calls++; return a, err }
	}
	cases := []struct {
		policy    Guard
		given     netip.Addr
		findAddr  netip.Addr
		findErr   error
		want      Guard
		wantGhost netip.Addr
		wantErr   error
		wantFinds int
	}{
		{GuardAuto, netip.Addr{}, found, nil, GuardGhost, found, nil, 1},
		{"", netip.Addr{}, found, nil, GuardGhost, found, nil, 1}, // the zero Guard is auto
		{GuardAuto, netip.Addr{}, netip.Addr{}, errNone, GuardFirewall, netip.Addr{}, nil, 1},
		{GuardAuto, given, found, nil, GuardGhost, given, nil, 0},
		{GuardGhost, netip.Addr{}, found, nil, GuardGhost, found, nil, 1},
		{GuardGhost, given, netip.Addr{}, errNone, GuardGhost, given, nil, 0},
		{GuardGhost, netip.Addr{}, netip.Addr{}, errNone, "", netip.Addr{}, errNone, 1},
		{GuardFirewall, given, found, nil, GuardFirewall, netip.Addr{}, nil, 0},
		{GuardNone, netip.Addr{}, found, nil, GuardNone, netip.Addr{}, nil, 0},
	}
	for _, c := range cases {
		calls := 0
		g, ghost, err := chooseGuard(c.policy, c.given, finds(&calls, c.findAddr, c.findErr))
		if g != c.want || ghost != c.wantGhost || err != c.wantErr || calls != c.wantFinds {
			t.Errorf("policy %q, given %v, find (%v, %v): got %q %v %v after %d finds; want %q %v %v after %d",
				c.policy, c.given, c.findAddr, c.findErr, g, ghost, err, calls, c.want, c.wantGhost, c.wantErr, c.wantFinds)
		}
	}
	if _, _, err := chooseGuard("maybe", netip.Addr{}, finds(new(int), found, nil)); err == nil || err.Error() != `guard "maybe": auto, ghost, firewall or none` {
		t.Errorf("policy maybe: %v", err)
	}
}

func TestParseGuard(t *testing.T) {
	for _, s := range []string{"auto", "ghost", "firewall", "none"} {
		if g, err := ParseGuard(s); err != nil || string(g) != s {
			t.Errorf("ParseGuard(%q) = %q, %v", s, g, err)
		}
	}
	for _, s := range []string{"", "Ghost", "nftables"} {
		if _, err := ParseGuard(s); err == nil {
			t.Errorf("ParseGuard(%q): no error", s)
		}
	}
}

// A guard table is named for its run, and only such names give an owner.
func TestGuardTableNamedForTheRun(t *testing.T) {
	name := GuardTable()
	o, ok := guardOwner(name)
	if !ok || o != owner.Self() || strings.Contains(name, ".") {
		t.Errorf("GuardTable() = %q: owner %v, %v; want this process, no dot", name, o, ok)
	}
	for _, n := range []string{"rawcraft_guard", "rawcraft_guard_x", "rawcraft", "rawcraft_guard_12"} {
		if _, ok := guardOwner(n); ok {
			t.Errorf("guardOwner(%q) found an owner", n)
		}
	}
}

func TestGuardNotes(t *testing.T) {
	src, dst := netip.MustParseAddr("198.18.1.204"), netip.MustParseAddr("198.18.1.1")
	mac := GhostMAC(src)
	if mac != (craft.MAC{0x02, 0x72, 0x63, 18, 1, 204}) {
		t.Errorf("GhostMAC(%v) = %v", src, mac)
	}
	for g, want := range map[Guard]string{
		GuardGhost:    "guard: ghost — rawcraft speaks as 198.18.1.204 (MAC 02:72:63:12:01:cc), an address no interface here owns",
		GuardFirewall: "guard: firewall — an nftables rule in this namespace (github.com/google/nftables) drops only the RSTs 198.18.1.204:40000 → 198.18.1.1:9999, and is removed at the end",
		GuardNone:     "guard: none — nothing keeps this host's kernel out; watch it answer the SYN-ACK: " + craft.ClaimSYNACKAnsweredRST.Text(),
	} {
		if n := guardNote(g, src, mac, 40000, dst, 9999); !strings.HasPrefix(n, want) {
			t.Errorf("note for %s: %q, want it to start %q", g, n, want)
		}
	}
	if n := guardNote(GuardGhost, src, mac, 40000, dst, 9999); !strings.HasSuffix(n, "; "+craft.ClaimGhostIgnored.Text()) {
		t.Errorf("ghost note %q does not end with claim ghost-ignored", n)
	}
}

// The SYN options are Linux's, byte for byte.
func TestDefaultSYNOptions(t *testing.T) {
	got := DefaultSYNOptions(0x01020304)
	want := []byte{
		2, 4, 0x05, 0xb4, // MSS 1460
		4, 2, // SACK permitted
		8, 10, 1, 2, 3, 4, 0, 0, 0, 0, // timestamps, TSval 0x01020304, TSecr 0
		1,       // NOP
		3, 3, 7, // window scale 7
	}
	if !bytes.Equal(got, want) {
		t.Errorf("DefaultSYNOptions = % x\nwant                % x", got, want)
	}
}
