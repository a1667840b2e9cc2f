//go:build !linux

package session

import (
	"fmt"
	"net/netip"

	"github.com/rawcraft/rawcraft/rawsock"
)

// FirewallGuard refuses an empty namespace with ErrRootNamespace, like on
// Linux, and otherwise returns an error wrapping rawsock.ErrNotLinux: the
// guard is an nftables rule of the Linux kernel.
func FirewallGuard(namespace string, src netip.Addr, sport uint16, dst netip.Addr, dport uint16) (remove func() error, err error) {
	if namespace == "" {
		return nil, ErrRootNamespace
	}
	return nil, fmt.Errorf("the firewall guard (nftables): %w", rawsock.ErrNotLinux)
}
