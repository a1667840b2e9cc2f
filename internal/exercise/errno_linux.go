package exercise

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// errnoName is an errno's C name ("EPIPE"), as the man pages write it.
func errnoName(no syscall.Errno) string { return unix.ErrnoName(no) }
