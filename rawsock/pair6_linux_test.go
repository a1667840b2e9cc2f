package rawsock_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The IPv6 tests run on a plain pair of namespaces of their own
// (lab.PairForTest: one veth, the kernel's defaults), to which they add
// one IPv6 address per end in the benchmarking range 2001:2::/48 (RFC 5180).
var (
	v6Client = netip.MustParseAddr("2001:2:0:7::3")
	v6Server = netip.MustParseAddr("2001:2:0:7::1")
	v6Absent = netip.MustParseAddr("2001:2:0:7::99") // on the link, assigned to nobody
)

// pair6 is a namespace pair with IPv6: addresses, MACs and link-local
// addresses of both ends, every address usable (not tentative) when it
// returns.
type pair6 struct {
	*lab.Pair
	clientMAC, serverMAC craft.MAC
	clientLL, serverLL   netip.Addr
}

func newPair6(t testing.TB) *pair6 {
	t.Helper()
	p := &pair6{Pair: lab.PairForTest(t)}
	for _, end := range []struct {
		ns   string
		addr netip.Addr
		mac  *craft.MAC
		ll   *netip.Addr
	}{{p.Client, v6Client, &p.clientMAC, &p.clientLL}, {p.Server, v6Server, &p.serverMAC, &p.serverLL}} {
		if err := p.Do(end.ns, func() error {
			l, err := netlink.LinkByName(lab.PairIfc)
			if err != nil {
				return err
			}
			copy(end.mac[:], l.Attrs().HardwareAddr)
			a := &netlink.Addr{IPNet: &net.IPNet{IP: end.addr.AsSlice(), Mask: net.CIDRMask(64, 128)}, Flags: unix.IFA_F_NODAD}
			if err := netlink.AddrAdd(l, a); err != nil {
				return err
			}
			// Bounded wait for the link-local address to finish duplicate
			// address detection (one probe, a second by default).
			for i := 0; i < 1000; i++ {
				addrs, err := netlink.AddrList(l, unix.AF_INET6)
				if err != nil {
					return err
				}
				for _, x := range addrs {
					a, _ := netip.AddrFromSlice(x.IP)
					if a.IsLinkLocalUnicast() && x.Flags&unix.IFA_F_TENTATIVE == 0 {
						*end.ll = a
					}
				}
				if end.ll.IsValid() {
					return nil
				}
				time.Sleep(10 * time.Millisecond)
			}
			return errLinkLocal
		}); err != nil {
			t.Fatalf("IPv6 on %s: %v", end.ns, err)
		}
	}
	return p
}

var errLinkLocal = &net.AddrError{Err: "no usable link-local address after 10 s", Addr: lab.PairIfc}

// sniff opens an AF_PACKET socket on the pair's veth end in ns.
func sniff(t *testing.T, ns string, cfg *rawsock.Config) *rawsock.Conn {
	t.Helper()
	var c *rawsock.Conn
	if err := lab.DoIn(ns, func() error {
		ifi, err := net.InterfaceByName(lab.PairIfc)
		if err != nil {
			return err
		}
		c, err = rawsock.Listen(ifi, cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// next6 returns the next frame for which keep is true, decoded with IPv6,
// or nil after wait.
func next6(t *testing.T, c *rawsock.Conn, wait time.Duration, keep func(*craft.Decoded) bool) []byte {
	t.Helper()
	buf := make([]byte, 9000)
	deadline := time.Now().Add(wait)
	d := craft.Decoded{AcceptIPv6: true}
	for time.Now().Before(deadline) {
		_ = c.SetReadDeadline(deadline)
		n, err := c.Recv(buf)
		if err != nil {
			return nil
		}
		_ = d.DecodeFrame(buf[:n])
		if keep(&d) {
			return append([]byte(nil), buf[:n]...)
		}
	}
	return nil
}

// resolve6 runs Resolve in ns.
func resolve6(t *testing.T, ns string, dst netip.Addr, cfg *rawsock.ResolveConfig) (rawsock.Route, error) {
	t.Helper()
	var rt rawsock.Route
	err := lab.DoIn(ns, func() (err error) { rt, err = rawsock.Resolve(dst, cfg); return err })
	return rt, err
}

func filtered(t *testing.T, mk func(netip.Addr) ([]bpf.RawInstruction, error), a netip.Addr) *rawsock.Config {
	t.Helper()
	prog, err := mk(a)
	if err != nil {
		t.Fatal(err)
	}
	return &rawsock.Config{Filter: prog}
}
