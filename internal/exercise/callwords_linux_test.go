package exercise

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
)

// Exercise 6 says a failed call by the system call and its errno, as the
// article teaches them, not in Go's words.
func TestCallWords(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Net: "tcp4", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "connect() failed: ECONNREFUSED — connection refused"},
		{&net.OpError{Op: "write", Net: "tcp4", Err: os.NewSyscallError("write", syscall.EPIPE)}, "write() failed: EPIPE — broken pipe"},
		{&net.OpError{Op: "read", Net: "tcp4", Err: syscall.ECONNRESET}, "read() failed: ECONNRESET — connection reset by peer"},
		{errors.New("still running after 5s"), "still running after 5s"},
	} {
		if got := callWords(c.err); got != c.want {
			t.Errorf("callWords(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
