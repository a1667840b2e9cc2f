// Package owner names the process that owns a resource — a lab, a firewall
// table, a sysctl change — so that a sweep after a crash removes exactly the
// resources whose owner is gone, and nothing a live run still uses. A process
// ID alone is not enough: the kernel reuses them; with the process's start
// time (field 22 of /proc/PID/stat, clock ticks since boot) the pair names
// one process for as long as the machine runs.
package owner

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Owner is one process.
type Owner struct {
	PID   int
	Start uint64 // clock ticks after boot; 0 where the system does not say
}

// String is "PID.START", the form Parse reads and resource names carry.
func (o Owner) String() string { return fmt.Sprintf("%d.%d", o.PID, o.Start) }

// ErrSyntax is returned by Parse for anything but "PID.START".
var ErrSyntax = errors.New(`an owner is written PID.START, like 4242.1234567`)

// Parse reads "PID.START".
func Parse(s string) (Owner, error) {
	p, st, ok := strings.Cut(s, ".")
	pid, err1 := strconv.Atoi(p)
	start, err2 := strconv.ParseUint(st, 10, 64)
	if !ok || err1 != nil || err2 != nil || pid <= 0 {
		return Owner{}, fmt.Errorf("owner %q: %w", s, ErrSyntax)
	}
	return Owner{PID: pid, Start: start}, nil
}

// Self is the calling process.
func Self() Owner { return selfOwner }

var selfOwner = self()

// Caller is the user a command acts for: the user who ran sudo (SUDO_UID)
// when it runs as root through sudo, else the real user ID. A resource kept
// past its process (a lab from lab up) records it, so that one user's
// sweep leaves another user's resources alone. Root may always claim any
// user; the record keeps honest people from removing each other's work,
// it is no security boundary.
func Caller() int {
	if os.Geteuid() == 0 {
		if u, err := strconv.Atoi(os.Getenv("SUDO_UID")); err == nil && u >= 0 {
			return u
		}
	}
	return os.Getuid()
}
