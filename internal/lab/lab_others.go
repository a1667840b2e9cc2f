//go:build !linux

package lab

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// Off Linux no lab can exist: Up, Open and everything that enters a
// namespace return an error wrapping ErrNotLinux, and Down, DownAll and
// Labs find nothing.

func notLinux(op string) error { return fmt.Errorf("%s: %w", op, ErrNotLinux) }

func existing(prefix string) []string { return nil }

func nsExists(name string) bool { return false }

func deleteNS(name string) error { return notLinux("removing namespace " + name) }

// Start returns an error wrapping ErrNotLinux; cmd does not start.
func (l *Lab) Start(host string, cmd *exec.Cmd) error { return notLinux("lab exec " + host) }

// Keep returns an error wrapping ErrNotLinux.
func (l *Lab) Keep() error { return notLinux("lab " + l.cfg.Name) }

// Check says that the lab cannot exist here.
func (l *Lab) Check() []string { return []string{notLinux("lab " + l.cfg.Name).Error()} }

// Up returns an error wrapping ErrNotLinux.
func Up(cfg Config) (*Lab, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return nil, notLinux("lab " + cfg.Name)
}

// Open returns an error wrapping ErrNotLinux.
func Open(name string, routed bool) (*Lab, error) { return nil, notLinux("lab " + name) }

// Do returns an error wrapping ErrNotLinux; fn does not run.
func (l *Lab) Do(host string, fn func() error) error { return DoIn(l.NS(host), fn) }

// DoIn returns an error wrapping ErrNotLinux; fn does not run.
func DoIn(ns string, fn func() error) error { return notLinux("entering namespace " + ns) }

// Sysctl returns an error wrapping ErrNotLinux.
func (l *Lab) Sysctl(host, key, value string) error { return notLinux("sysctl " + key) }

// TxChecksumOffload returns an error wrapping ErrNotLinux.
func (l *Lab) TxChecksumOffload(host, ifc string) (bool, error) {
	return false, notLinux("ethtool " + ifc)
}

// Break returns an error wrapping ErrNotLinux.
func (l *Lab) Break() error { return notLinux("pulling the S1–S2 cable") }

// Restore returns an error wrapping ErrNotLinux.
func (l *Lab) Restore() error { return notLinux("restoring the S1–S2 cable") }

// CableUp returns an error wrapping ErrNotLinux.
func (l *Lab) CableUp() (bool, error) { return false, notLinux("the S1–S2 cable") }

// Status says that every host is missing.
func (l *Lab) Status() []string {
	var out []string
	for _, host := range l.Hosts() {
		out = append(out, fmt.Sprintf("%-3s %-20s missing (needs Linux)", host, l.NS(host)))
	}
	return out
}

// Current returns "": off Linux there is no lab namespace.
func Current() string { return "" }

// DropPort returns an error wrapping ErrNotLinux.
func (l *Lab) DropPort(host string, protocol uint8, port uint16) (undo func() error, err error) {
	return nil, notLinux("nftables")
}

// RejectEcho returns an error wrapping ErrNotLinux.
func (l *Lab) RejectEcho(host string) (undo func() error, err error) {
	return nil, notLinux("nftables")
}

// RejectPort returns an error wrapping ErrNotLinux.
func (l *Lab) RejectPort(host string, protocol uint8, port uint16) (undo func() error, err error) {
	return nil, notLinux("nftables")
}

// RequireRoot skips the test: the lab needs Linux, whatever the privilege.
func RequireRoot(t TB) {
	t.Helper()
	t.Skip("needs Linux: the lab is built from Linux network namespaces")
}

// SweepStale finds nothing to remove.
func SweepStale() []string { return nil }

// Signals is empty: off Linux no lab needs removing on a signal.
var Signals []os.Signal

// Tables returns an error wrapping ErrNotLinux.
func Tables(ns, prefix string) ([]string, error) { return nil, notLinux("list nftables tables") }

func rcvBufControl(int) func(network, address string, rc syscall.RawConn) error { return nil }
