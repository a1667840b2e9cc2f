package lab

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

const netnsDir = "/var/run/netns"

func existing(prefix string) []string {
	ents, _ := os.ReadDir(netnsDir)
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

func nsExists(name string) bool {
	_, err := os.Stat(filepath.Join(netnsDir, name))
	return err == nil
}

func deleteNS(name string) error {
	err := netns.DeleteNamed(name)
	if err != nil && !os.IsNotExist(err) {
		// A namespace file that is no longer a mount (a crash between create
		// and mount) is removed anyway.
		if rerr := os.Remove(filepath.Join(netnsDir, name)); rerr != nil && !os.IsNotExist(rerr) {
			return fmt.Errorf("removing namespace %s: %w", name, err)
		}
	}
	return nil
}

// newNS creates a named namespace without entering it: the calling thread
// is locked, moved into the new namespace by unshare, and moved back.
func newNS(name string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	ns, err := netns.NewNamed(name)
	if err != nil {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	ns.Close()
	if err := netns.Set(orig); err != nil {
		// The thread is stuck in the new namespace: never unlock it, so the
		// runtime throws it away instead of reusing it.
		runtime.LockOSThread()
		return fmt.Errorf("returning from namespace %s: %w", name, err)
	}
	return nil
}

// Do runs fn with the calling goroutine's thread inside host's namespace.
// Sockets opened by fn stay in that namespace and can be used from anywhere
// afterwards.
func (l *Lab) Do(host string, fn func() error) error { return DoIn(l.NS(host), fn) }

// DoIn runs fn inside the named namespace.
func DoIn(ns string, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	target, err := netns.GetFromName(ns)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		return fmt.Errorf("entering namespace %s: %w", ns, err)
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		runtime.LockOSThread() // never reuse a thread left in the lab
		return fmt.Errorf("leaving namespace %s: %w", ns, err)
	}
	return ferr
}

type handles map[string]*netlink.Handle

func (h handles) close() {
	for _, x := range h {
		x.Close()
	}
}

func (l *Lab) build() error {
	hs := handles{}
	defer hs.close()
	nsFD := map[string]netns.NsHandle{}
	defer func() {
		for _, f := range nsFD {
			f.Close()
		}
	}()
	for _, host := range l.Hosts() {
		if err := newNS(l.NS(host)); err != nil {
			return err
		}
		f, err := netns.GetFromName(l.NS(host))
		if err != nil {
			return err
		}
		nsFD[host] = f
		h, err := netlink.NewHandleAt(f)
		if err != nil {
			return err
		}
		hs[host] = h
		// Before any interface exists, so that each inherits "default": a
		// switch has no IPv6 of its own; a host has IPv6 without the chatter
		// (duplicate address detection, router solicitations) that would
		// make the lab's captures differ from run to run.
		pre := switchConf(host)
		if host != S1 && host != S2 {
			pre = ipv6Conf(host, "all", "default")
		}
		for _, sc := range pre {
			if err := l.sysctl(sc.host, sc.key, sc.value); err != nil {
				return err
			}
		}
		lo, err := h.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := h.LinkSetUp(lo); err != nil {
			return err
		}
	}
	type end struct {
		host, ifc string
		mac       craft.MAC
	}
	veth := func(a, b end, mtu int) error {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: a.ifc, MTU: mtu}, PeerName: b.ifc,
			PeerNamespace: netlink.NsFd(int(nsFD[b.host])), PeerMTU: uint32(mtu)}
		if a.mac != (craft.MAC{}) {
			v.HardwareAddr = net.HardwareAddr(a.mac[:])
		}
		if b.mac != (craft.MAC{}) {
			v.PeerHardwareAddr = net.HardwareAddr(b.mac[:])
		}
		if err := hs[a.host].LinkAdd(v); err != nil {
			return fmt.Errorf("veth %s/%s — %s/%s: %w", a.host, a.ifc, b.host, b.ifc, err)
		}
		return nil
	}
	links := [][2]end{
		{{Hc, HostIfc, MACHc}, {S1, "hc", craft.MAC{}}},
		{{S1, "s2", craft.MAC{}}, {S2, "s1", craft.MAC{}}}, // the cable between the switches
		{{S2, "hs", craft.MAC{}}, {Hs, HostIfc, MACHs}},
	}
	if l.cfg.Routed {
		links = append(links, [2]end{{S1, "r", craft.MAC{}}, {R, "eth0", MACR1}})
	}
	for _, lk := range links {
		if err := veth(lk[0], lk[1], 1500); err != nil {
			return err
		}
	}
	if l.cfg.Routed {
		if err := veth(end{R, "eth1", MACR2}, end{Hf, HostIfc, MACHf}, l.cfg.FarMTU); err != nil {
			return err
		}
	}
	// Switches: a bridge with every port, no STP, forwarding at once.
	for sw, ports := range map[string][]string{S1: {"hc", "s2"}, S2: {"s1", "hs"}} {
		if sw == S1 && l.cfg.Routed {
			ports = append(ports, "r")
		}
		h := hs[sw]
		// No multicast snooping: IPv6 neighbour discovery's multicast is
		// flooded to every port, as an unmanaged switch floods it, whatever
		// listener reports the bridge has or has not seen.
		snoop := false
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}, MulticastSnooping: &snoop}
		if err := h.LinkAdd(br); err != nil {
			return fmt.Errorf("bridge in %s: %w", sw, err)
		}
		for _, p := range ports {
			link, err := h.LinkByName(p)
			if err != nil {
				return err
			}
			if err := h.LinkSetMaster(link, br); err != nil {
				return err
			}
			if err := h.LinkSetUp(link); err != nil {
				return err
			}
		}
		if err := h.LinkSetUp(br); err != nil {
			return err
		}
	}
	// Hosts: addresses, routes, sysctls, as spec says (and Check verifies).
	specLinks, routes, sysctls := l.spec()
	for _, s := range specLinks {
		if len(s.addrs) == 0 {
			continue
		}
		h := hs[s.host]
		link, err := h.LinkByName(s.name)
		if err != nil {
			return err
		}
		for _, a := range s.addrs {
			ip, err := netlink.ParseAddr(a)
			if err != nil {
				return err
			}
			if ip.IP.To4() == nil {
				ip.Flags = unix.IFA_F_NODAD // usable at once, even if accept_dad were on
			}
			if err := h.AddrAdd(link, ip); err != nil {
				return fmt.Errorf("address %s on %s/%s: %w", a, s.host, s.name, err)
			}
		}
		if !l.cfg.Offload {
			if err := l.Do(s.host, func() error { return offloadOff(s.name) }); err != nil {
				return err
			}
		}
		if err := h.LinkSetUp(link); err != nil {
			return err
		}
	}
	for _, r := range routes {
		if err := addRoute(hs[r.host], r.dst, r.via); err != nil {
			return fmt.Errorf("route to %s via %s in %s: %w", r.dst, r.via, r.host, err)
		}
	}
	if err := l.waitUp(hs, linkWait); err != nil {
		return err
	}
	// Every sysctl the lab sets (a switch's bridge-nf-call-*, a host's ICMP
	// limits, ipfrag_time and IPv6 settings, R's forwarding): the same list
	// Check verifies.
	for _, sc := range sysctls {
		if err := l.sysctl(sc.host, sc.key, sc.value); err != nil {
			return err
		}
	}
	if err := l.waitAddrs(hs, specLinks, linkWait); err != nil {
		return err
	}
	l.waitQuiet(hs, 50*time.Millisecond, time.Second)
	return nil
}

// waitAddrs waits, at most d, until every address of the lab's hosts is
// usable: each one spec lists, and a link-local address on every host
// interface, none of them tentative. With duplicate address detection off
// an IPv6 address leaves the tentative state as soon as its link has a
// carrier, but on the kernel's work queue, after waitUp may have returned.
func (l *Lab) waitAddrs(hs handles, links []linkSpec, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		var missing []string
		for _, s := range links {
			if len(s.addrs) == 0 {
				continue
			}
			lk, err := hs[s.host].LinkByName(s.name)
			if err != nil {
				return err
			}
			have, err := hs[s.host].AddrList(lk, netlink.FAMILY_ALL)
			if err != nil {
				return err
			}
			usable := map[string]bool{}
			linkLocal := false
			for _, a := range have {
				if a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0 {
					continue
				}
				usable[a.IPNet.String()] = true
				linkLocal = linkLocal || a.IP.IsLinkLocalUnicast()
			}
			for _, want := range s.addrs {
				if w, _ := netlink.ParseAddr(want); !usable[w.IPNet.String()] {
					missing = append(missing, s.host+"/"+s.name+" "+want)
				}
			}
			if !linkLocal {
				missing = append(missing, s.host+"/"+s.name+" fe80::/64")
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lab %s: addresses still not usable after %v: %v", l.cfg.Name, d, missing)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitQuiet waits until no host has sent a frame for quiet, or at most d:
// the multicast listener reports a host sends when its links come up and its
// addresses appear (and R's when it becomes a router) are over before Up
// returns, and no capture of a test sees them. The lab works either way, so
// running out of time is not an error.
func (l *Lab) waitQuiet(hs handles, quiet, d time.Duration) {
	sent := func() uint64 {
		var n uint64
		for host, h := range hs {
			if host == S1 || host == S2 {
				continue // bridges forward, they send nothing of their own
			}
			links, err := h.LinkList()
			if err != nil {
				return 0
			}
			for _, lk := range links {
				if st := lk.Attrs().Statistics; st != nil && lk.Attrs().Name != "lo" {
					n += st.TxPackets
				}
			}
		}
		return n
	}
	deadline := time.Now().Add(d)
	last, since := sent(), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		if n := sent(); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
	}
}

// linkWait bounds the waits for links and addresses to come up. They end
// as soon as everything is up — about a second on an idle machine, most of
// it linkwatch's lag — but CI on a busy 2-core machine once saw the bridges
// still down after 3 s, so the bound is generous: it only says when to give
// up on a lab that will never come up.
const linkWait = 15 * time.Second

// waitUp waits, at most d, until every interface of the lab but lo is
// operationally up. Carrier changes reach bridges through the kernel's
// linkwatch, which may lag by up to a second: packets sent before would be
// dropped at a switch port that is not forwarding yet.
func (l *Lab) waitUp(hs handles, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		var down []string
		for host, h := range hs {
			links, err := h.LinkList()
			if err != nil {
				return err
			}
			for _, lk := range links {
				a := lk.Attrs()
				if a.Name != "lo" && a.OperState != netlink.OperUp {
					down = append(down, host+"/"+a.Name)
				}
			}
		}
		if len(down) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lab %s: links still not up after %v: %v", l.cfg.Name, d, down)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func addRoute(h *netlink.Handle, dst, via string) error {
	_, n, err := net.ParseCIDR(dst)
	if err != nil {
		return err
	}
	return h.RouteAdd(&netlink.Route{Dst: n, Gw: net.ParseIP(via)})
}

// sysctl writes a sysctl inside host's namespace: /proc/sys/net belongs to
// the namespace of the thread that opens it.
func (l *Lab) sysctl(host, key, value string) error {
	return l.Do(host, func() error {
		if err := os.WriteFile("/proc/sys/"+key, []byte(value), 0); err != nil {
			return fmt.Errorf("sysctl %s=%s in %s: %w", strings.ReplaceAll(key, "/", "."), value, host, err)
		}
		return nil
	})
}

// Sysctl sets a sysctl (a dotted key like net.ipv4.ipfrag_time) inside one
// of the lab's namespaces, never outside them.
func (l *Lab) Sysctl(host, key, value string) error {
	if !strings.HasPrefix(key, "net.") {
		return fmt.Errorf("sysctl %s: only net.* keys belong to a network namespace", key)
	}
	return l.sysctl(host, strings.ReplaceAll(key, ".", "/"), value)
}

// Legacy ethtool commands (linux/ethtool.h): set a feature on or off.
const (
	ethtoolSRXCSUM = 0x15
	ethtoolSTXCSUM = 0x17
	ethtoolSSG     = 0x19
	ethtoolSTSO    = 0x1f
	ethtoolSGSO    = 0x24
	ethtoolSGRO    = 0x2c
)

// offloadOff turns off checksum and segmentation offload on an interface of
// the current namespace, with the SIOCETHTOOL ioctl (what `ethtool -K`
// does), so that the kernel fills checksums before a capture sees them and
// sends the segments it captures.
func offloadOff(ifc string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, cmd := range []uint32{ethtoolSTXCSUM, ethtoolSRXCSUM, ethtoolSTSO, ethtoolSGSO, ethtoolSGRO, ethtoolSSG} {
		if err := ethtoolSet(fd, ifc, cmd, 0); err != nil {
			return fmt.Errorf("turning offload off on %s (ethtool command %#x): %w", ifc, cmd, err)
		}
	}
	return nil
}

type ethtoolValue struct{ cmd, data uint32 }

type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data uintptr
	_    [16]byte
}

func ethtoolSet(fd int, ifc string, cmd, v uint32) error {
	ev := ethtoolValue{cmd: cmd, data: v}
	var ifr ifreqData
	copy(ifr.name[:], ifc)
	ifr.data = uintptr(unsafe.Pointer(&ev))
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(&ev)
	if errno != 0 {
		return errno
	}
	return nil
}

// TxChecksumOffload reports whether transmit checksum offload is on for an
// interface of host (ETHTOOL_GTXCSUM).
func (l *Lab) TxChecksumOffload(host, ifc string) (bool, error) {
	var on bool
	err := l.Do(host, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		ev := ethtoolValue{cmd: 0x16} // ETHTOOL_GTXCSUM
		var ifr ifreqData
		copy(ifr.name[:], ifc)
		ifr.data = uintptr(unsafe.Pointer(&ev))
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
		runtime.KeepAlive(&ev)
		if errno != 0 {
			return errno
		}
		on = ev.data != 0
		return nil
	})
	return on, err
}

// Break pulls the cable between the switches: S1's end of the S1–S2 link
// goes down. Neither host sees a carrier change, as when the cable between
// two switches is pulled.
func (l *Lab) Break() error { return l.setCable(false) }

// Restore plugs the cable back in.
func (l *Lab) Restore() error { return l.setCable(true) }

func (l *Lab) setCable(up bool) error {
	f, err := netns.GetFromName(l.NS(S1))
	if err != nil {
		return fmt.Errorf("lab %s is not up: %w", l.cfg.Name, err)
	}
	defer f.Close()
	h, err := netlink.NewHandleAt(f)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName("s2")
	if err != nil {
		return err
	}
	if !up {
		return h.LinkSetDown(link)
	}
	if err := h.LinkSetUp(link); err != nil {
		return err
	}
	// Plugged back in: wait until both ends of the cable are up again.
	f2, err := netns.GetFromName(l.NS(S2))
	if err != nil {
		return err
	}
	defer f2.Close()
	h2, err := netlink.NewHandleAt(f2)
	if err != nil {
		return err
	}
	defer h2.Close()
	return l.waitUp(handles{S1: h, S2: h2}, linkWait)
}

// CableUp reports whether the S1–S2 cable is plugged in.
func (l *Lab) CableUp() (bool, error) {
	f, err := netns.GetFromName(l.NS(S1))
	if err != nil {
		return false, err
	}
	defer f.Close()
	h, err := netlink.NewHandleAt(f)
	if err != nil {
		return false, err
	}
	defer h.Close()
	link, err := h.LinkByName("s2")
	if err != nil {
		return false, err
	}
	return link.Attrs().Flags&net.FlagUp != 0, nil
}

// Status describes what exists of the lab, one line per host.
func (l *Lab) Status() []string {
	var out []string
	for _, host := range l.Hosts() {
		ns := l.NS(host)
		if !nsExists(ns) {
			out = append(out, fmt.Sprintf("%-3s %-20s missing", host, ns))
			continue
		}
		var desc []string
		_ = l.Do(host, func() error {
			ifs, _ := net.Interfaces()
			for _, i := range ifs {
				if i.Name == "lo" {
					continue
				}
				s := i.Name
				if i.Flags&net.FlagUp == 0 {
					s += " DOWN"
				}
				addrs, _ := i.Addrs()
				for _, a := range addrs {
					s += " " + a.String()
				}
				desc = append(desc, s)
			}
			return nil
		})
		out = append(out, fmt.Sprintf("%-3s %-20s %s", host, ns, strings.Join(desc, ", ")))
	}
	return out
}

// Current returns the name of the lab namespace the calling thread is in,
// or "" when it is in any other namespace (the machine's own included): the
// namespace's inode is compared with each rc-* namespace's.
func Current() string {
	var self unix.Stat_t
	if unix.Stat("/proc/thread-self/ns/net", &self) != nil {
		return ""
	}
	for _, ns := range existing(Prefix) {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(netnsDir, ns), &st) == nil && st.Ino == self.Ino && st.Dev == self.Dev {
			return ns
		}
	}
	return ""
}
