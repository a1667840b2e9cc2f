package rawsock

import (
	"errors"
	"fmt"
)

// Via is the kind of socket a packet leaves through.
type Via uint8

const (
	// ViaPacket: AF_PACKET, SOCK_RAW (packet(7)). The whole Ethernet frame
	// goes out byte for byte: bad checksums and lying lengths included.
	ViaPacket Via = iota
	// ViaIP: AF_INET, SOCK_RAW, IPPROTO_RAW, which implies IP_HDRINCL
	// (raw(7)), or AF_INET6, SOCK_RAW, IPPROTO_RAW for an IPv6
	// destination. The kernel adds the link layer and fills some IPv4
	// fields, and no IPv6 ones (see KernelRewrites).
	ViaIP
)

var viaNames = [...]string{ViaPacket: "packet", ViaIP: "ip"}

func (v Via) String() string {
	if int(v) < len(viaNames) {
		return viaNames[v]
	}
	return fmt.Sprintf("via(%d)", uint8(v))
}

// ParseVia reads "packet" or "ip".
func ParseVia(s string) (Via, error) {
	for v, n := range viaNames {
		if s == n {
			return Via(v), nil
		}
	}
	return 0, fmt.Errorf("%q: %w", s, errVia)
}

var errVia = errors.New("packet (AF_PACKET, the exact frame) or ip (raw IPv4 or IPv6 socket)")

// Errors of ChooseInterface.
var (
	ErrNoInterface        = errors.New("no such interface here")
	ErrAmbiguousInterface = errors.New("give an interface")
)
