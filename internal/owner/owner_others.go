//go:build !linux

package owner

import "os"

func self() Owner { return Owner{PID: os.Getpid()} }

// Alive says true: off Linux rawcraft makes no resource to sweep, and a
// sweep that cannot tell must leave things alone.
func (o Owner) Alive() bool { return true }
