//go:build !linux

package rawsock_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/rawcraft/rawcraft/rawsock"
)

// Off Linux every socket operation fails at once with ErrNotLinux.
func TestNotLinux(t *testing.T) {
	if _, err := rawsock.Listen(nil, nil); !errors.Is(err, rawsock.ErrNotLinux) {
		t.Errorf("Listen: %v", err)
	}
	if _, err := rawsock.Open(netip.MustParseAddr("198.18.1.1"), rawsock.ViaPacket, nil); !errors.Is(err, rawsock.ErrNotLinux) {
		t.Errorf("Open: %v", err)
	}
	if err := rawsock.CheckPrivilege(); !errors.Is(err, rawsock.ErrNotLinux) {
		t.Errorf("CheckPrivilege: %v", err)
	}
}
