package main

import (
	"errors"
	"net"
	"syscall"
	"testing"
)

// A name that does not resolve says so, naming why in words: never the
// resolver's "dial udp …: connect: …" or a Go error's text.
func TestResolveProblemWords(t *testing.T) {
	for _, c := range []struct {
		desc string
		err  error
		v6   bool
		want string
	}{
		{"no such host", &net.DNSError{Err: "no such host", Name: "x.invalid", Server: "10.0.0.53:53", IsNotFound: true},
			false, "no such host (the DNS answered that the name does not exist)"},
		{"no route to the server", &net.DNSError{Err: "dial udp 10.255.255.53:53: connect: network is unreachable", Name: "x.invalid", Server: "10.255.255.53:53", IsTemporary: true},
			false, "the DNS server 10.255.255.53 cannot be reached (network is unreachable); see /etc/resolv.conf"},
		{"an errno", &net.DNSError{Err: "read: connection refused", Server: "127.0.0.53:53", UnwrapErr: syscall.ECONNREFUSED},
			false, "the DNS server 127.0.0.53 cannot be reached (connection refused); see /etc/resolv.conf"},
		{"timeout", &net.DNSError{Err: "i/o timeout", Server: "10.0.0.53:53", IsTimeout: true},
			false, "no answer from the DNS server 10.0.0.53 within 5 s"},
		{"no IPv4 address", nil, false, "it has no IPv4 address"},
		{"no address", nil, true, "it has no IPv4 or IPv6 address"},
		{"not a DNS error", errors.New("x"), false, "the lookup failed (x)"},
	} {
		if got := resolveProblem(c.err, c.v6); got != c.want {
			t.Errorf("%s: %q, want %q", c.desc, got, c.want)
		}
	}
}
