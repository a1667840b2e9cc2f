package session

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/rawcraft/rawcraft/craft"
)

// Guard names a way of keeping this host's kernel out of a connection that
// rawcraft drives by hand (see the top of guard.go for why one is needed).
type Guard string

const (
	// GuardAuto picks GuardGhost when a free address answers no ARP, else
	// GuardFirewall. The zero Guard means GuardAuto.
	GuardAuto Guard = "auto"
	// GuardGhost speaks from an address no interface owns, answering ARP for
	// it (AnswerARP): no firewall change.
	GuardGhost Guard = "ghost"
	// GuardFirewall adds an nftables rule dropping only this connection's
	// outgoing RSTs (FirewallGuard), removed at the end.
	GuardFirewall Guard = "firewall"
	// GuardNone keeps nothing out: the kernel's RST ends the connection.
	GuardNone Guard = "none"
)

// ParseGuard returns the Guard named s: "auto", "ghost", "firewall" or
// "none"; any other s is an error naming it.
func ParseGuard(s string) (Guard, error) {
	switch g := Guard(s); g {
	case GuardAuto, GuardGhost, GuardFirewall, GuardNone:
		return g, nil
	}
	return "", fmt.Errorf("guard %q: auto, ghost, firewall or none", s)
}

// Scope is what a guard may touch on this machine. session imports nothing
// that knows where it runs: the caller, which does, hands it in.
type Scope struct {
	// Namespace names the network namespace the calling thread is in when
	// that namespace was made for rawcraft (the CLI passes lab.Current(): an
	// rc-* lab namespace), or is "" for any other, the machine's own
	// included. It informs; the firewall guard works in either, scoped to
	// one connection and one run's table.
	Namespace string
	// Ghosts bounds the ghost guard's choice: FindGhost picks an address
	// only in a subnet of the interface whose network address Ghosts
	// contains (the CLI passes lab.Net, 198.18.0.0/15). The zero Prefix
	// allows none. An address given in ClientConfig.Ghost is used as given.
	Ghosts netip.Prefix
}

// chooseGuard applies the guard policy: ghost and auto use the given ghost
// address, or the one find returns; when find fails, ghost fails with its
// error and auto falls back to the firewall. Firewall and none are kept.
// It returns the guard to set up and, for a ghost, its address.
func chooseGuard(policy Guard, given netip.Addr, find func() (netip.Addr, error)) (Guard, netip.Addr, error) {
	if policy == "" {
		policy = GuardAuto
	}
	if _, err := ParseGuard(string(policy)); err != nil {
		return "", netip.Addr{}, err
	}
	if policy != GuardAuto && policy != GuardGhost {
		return policy, netip.Addr{}, nil
	}
	if given.IsValid() {
		return GuardGhost, given, nil
	}
	ghost, err := find()
	switch {
	case err == nil:
		return GuardGhost, ghost, nil
	case policy == GuardGhost:
		return "", netip.Addr{}, err
	}
	return GuardFirewall, netip.Addr{}, nil
}

// guardNote is the sentence describing a guard in place.
func guardNote(g Guard, src netip.Addr, srcMAC craft.MAC, sport uint16, dst netip.Addr, dport uint16) string {
	switch g {
	case GuardGhost:
		return fmt.Sprintf("guard: ghost — rawcraft speaks as %v (MAC %v), an address no interface here owns, and answers ARP for it; %s", src, srcMAC, craft.ClaimGhostIgnored.Text())
	case GuardFirewall:
		return fmt.Sprintf("guard: firewall — an nftables rule in this namespace (github.com/google/nftables) drops only the RSTs %v:%d → %v:%d, and is removed at the end (table %s; rawcraft cleanup removes it after a crash)", src, sport, dst, dport, GuardTable())
	}
	return "guard: none — nothing keeps this host's kernel out; watch it answer the SYN-ACK: " + craft.ClaimSYNACKAnsweredRST.Text()
}

// DefaultSYNOptions returns the options Linux puts in a SYN, in its order
// (20 bytes): MSS 1460 (RFC 9293 §3.7.1), SACK permitted (RFC 2018),
// timestamps with TSval tsval and TSecr 0 (RFC 7323 §3), NOP, window scale
// 7 (RFC 7323 §2).
func DefaultSYNOptions(tsval uint32) []byte {
	b := make([]byte, 0, 20)
	return craft.AppendTCPOptWScale(craft.AppendTCPOptNOP(craft.AppendTCPOptTimestamps(craft.AppendTCPOptSACKOK(craft.AppendTCPOptMSS(b, 1460)), tsval, 0)), 7)
}

// random32 returns 32 random bits: initial sequence numbers, ports, IP IDs.
func random32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}
