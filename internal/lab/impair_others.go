//go:build !linux

package lab

import "time"

// Impair needs Linux: the impairments are nftables rules and qdiscs in the
// lab's namespaces.
func (l *Lab) Impair(Impairment) error { return ErrNotLinux }

// ClearImpair needs Linux.
func (l *Lab) ClearImpair() error { return ErrNotLinux }

// ImpairStatus needs Linux.
func (l *Lab) ImpairStatus() ([]string, error) { return nil, ErrNotLinux }

// Delayer is a delay forwarder (Linux only).
type Delayer struct{}

// StartDelay needs Linux.
func (l *Lab) StartDelay(Dir, time.Duration, time.Duration) (*Delayer, error) {
	return nil, ErrNotLinux
}

// StartForwarder needs Linux.
func (l *Lab) StartForwarder(Dir, Forwarding) (*Delayer, error) { return nil, ErrNotLinux }

// Stats says what the forwarder has done.
func (dl *Delayer) Stats() DelayStats { return DelayStats{} }

// Stop stops the forwarder.
func (dl *Delayer) Stop() error { return nil }
