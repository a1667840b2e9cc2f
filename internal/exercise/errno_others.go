//go:build !linux

package exercise

import "syscall"

// errnoName is "" off Linux, where the exercises do not run.
func errnoName(syscall.Errno) string { return "" }
