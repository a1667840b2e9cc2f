//go:build !linux

package session

import (
	"fmt"
	"net/netip"

	"github.com/rawcraft/rawcraft/rawsock"
)

// FirewallGuard returns an error wrapping rawsock.ErrNotLinux: the guard is
// an nftables rule of the Linux kernel.
func FirewallGuard(src netip.Addr, sport uint16, dst netip.Addr, dport uint16) (remove func() error, err error) {
	return nil, fmt.Errorf("the firewall guard (nftables): %w", rawsock.ErrNotLinux)
}

// ListenGuard returns an error wrapping rawsock.ErrNotLinux.
func ListenGuard(src netip.Addr, sport uint16) (remove func() error, err error) {
	return nil, fmt.Errorf("the firewall guard (nftables): %w", rawsock.ErrNotLinux)
}

// SweepGuards removes nothing off Linux: there are no guard tables.
func SweepGuards() (removed []string, err error) { return nil, nil }
