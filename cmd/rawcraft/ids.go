package main

import (
	"crypto/rand"
	"encoding/binary"
)

// random32 is a random number from the operating system: initial sequence
// numbers, ports and IP IDs that another run cannot guess.
func random32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}
