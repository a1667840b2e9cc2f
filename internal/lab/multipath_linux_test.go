package lab

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// linkPackets returns, for every interface of every host of m, the frames
// it has sent and received: "r0/ra" → {tx, rx}.
func linkPackets(t *testing.T, m *Multipath) map[string][2]uint64 {
	t.Helper()
	out := map[string][2]uint64{}
	for _, host := range MultipathHosts() {
		f, err := netns.GetFromName(m.NS(host))
		if err != nil {
			t.Fatal(err)
		}
		h, err := netlink.NewHandleAt(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		links, err := h.LinkList()
		h.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, lk := range links {
			a := lk.Attrs()
			if a.Name == "lo" || a.Statistics == nil {
				continue
			}
			out[host+"/"+a.Name] = [2]uint64{a.Statistics.TxPackets, a.Statistics.RxPackets}
		}
	}
	return out
}

// The links between the topology's routers are silent until something is
// sent: no ARP, no neighbour or router solicitation, no listener report,
// in either family, for longer than MLD's unsolicited report interval
// (1 s) and its robustness retransmission. Then a UDP datagram over IPv4 and one over
// IPv6 cross from the source to the destination, each down one path.
func TestMultipathQuietAndIPv6(t *testing.T) {
	m := MultipathForTest(t)
	time.Sleep(2500 * time.Millisecond)
	before := linkPackets(t, m)
	if len(before) != 12 {
		t.Fatalf("%d interfaces, want 12: %v", len(before), before)
	}
	for ifc, n := range before {
		// The source's and the destination's listener reports reach
		// R0's and RJ's interfaces toward them, and go no further.
		if ifc == MPR0+"/"+MPSrc || ifc == MPRJ+"/"+MPDst || strings.HasPrefix(ifc, MPSrc+"/") || strings.HasPrefix(ifc, MPDst+"/") {
			continue
		}
		if n != [2]uint64{} {
			t.Errorf("%s sent %d frames and received %d with nothing sent: the links are not quiet", ifc, n[0], n[1])
		}
	}
	for _, c := range []struct {
		network  string
		src, dst netip.Addr
	}{{"udp4", MPAddrSrc, MPAddrDst}, {"udp6", MPAddr6Src, MPAddr6Dst}} {
		var u *net.UDPConn
		if err := m.Do(MPDst, func() (err error) {
			u, err = net.ListenUDP(c.network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(c.dst, 9000)))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		if err := m.Do(MPSrc, func() error {
			w, err := net.DialUDP(c.network, nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(c.dst, 9000)))
			if err != nil {
				return err
			}
			defer w.Close()
			_, err = w.Write([]byte("over " + c.network))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		_ = u.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, from, err := u.ReadFromUDPAddrPort(buf)
		if err != nil || string(buf[:n]) != "over "+c.network || from.Addr() != c.src {
			t.Fatalf("read %q from %v, %v; want the datagram from %v", buf[:n], from, err, c.src)
		}
	}
	a, b, err := m.Forwarded()
	if err != nil || a+b != 2 {
		t.Errorf("RA received %d packets and RB %d (%v): want the two datagrams, each down one path", a, b, err)
	}
}
