package exercise

import (
	"runtime"

	"github.com/rawcraft/rawcraft/internal/lab"
	"golang.org/x/sys/unix"
)

// unprivileged runs fn on an OS thread of its own, inside network namespace
// ns, whose group is gid and whose effective capabilities lack CAP_NET_RAW
// and CAP_NET_ADMIN. Linux keeps credentials per thread (credentials(7)):
// the rest of the process keeps its privileges. The thread is never
// unlocked, so the runtime throws it away when the goroutine ends.
func unprivileged(ns string, gid int, fn func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- lab.DoIn(ns, func() error { return dropPrivileges(gid, fn) })
	}()
	return <-errc
}

// dropPrivileges changes the calling thread's group to gid, drops its
// effective CAP_NET_RAW and CAP_NET_ADMIN, and runs fn.
func dropPrivileges(gid int, fn func()) error {
	// The raw system call changes this thread only; Go's Setresgid would
	// change every thread of the process.
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
		return e
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	for _, c := range []uint{unix.CAP_NET_RAW, unix.CAP_NET_ADMIN} {
		data[c/32].Effective &^= 1 << (c % 32)
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return err
	}
	fn()
	return nil
}
