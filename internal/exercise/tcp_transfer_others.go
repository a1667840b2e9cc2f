//go:build !linux

package exercise

import "github.com/rawcraft/rawcraft/internal/lab"

// transfer needs Linux: the lab's hosts are network namespaces.
func (x *run) transfer(transfer) (*transferred, error) { return nil, lab.ErrNotLinux }
