//go:build !linux

package exercise

import "github.com/rawcraft/rawcraft/rawsock"

func unprivileged(ns string, gid int, fn func()) error { return rawsock.ErrNotLinux }
