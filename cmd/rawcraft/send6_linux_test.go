package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// send over IPv6 from Hc: the SYN arrives at Hs byte for byte via packet
// and via ip (the raw IPv6 socket rewrites nothing), Hs's kernel answers
// RST|ACK; a UDP datagram to a closed port draws ICMPv6 port unreachable
// (type 1 code 4); an echo request draws an echo reply.
func TestSendIPv6(t *testing.T) {
	bin := buildBinary(t)
	l := lab.ForTest(t, lab.Config{})
	atHs, atHc := sniff(t, l, lab.Hs, craft.EtherTypeIPv6), sniff(t, l, lab.Hc, craft.EtherTypeIPv6)
	rc := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("ip", append([]string{"netns", "exec", l.NS(lab.Hc), bin}, args...)...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, e.String())
		}
		return o.String()
	}
	sent := func(out string) []byte {
		t.Helper()
		var js jsonSent
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &js); err != nil {
			t.Fatalf("send --json: %v: %q", err, out)
		}
		b, _ := hex.DecodeString(js.Hex)
		return b
	}
	for i, via := range []string{"packet", "ip"} {
		seq := uint32(700 + i)
		b := sent(rc("send", "tcp", "--dst", lab.Addr6Hs.String(), "--dport", "9999", "--flags", "S", "--seq", strconv.FormatUint(uint64(seq), 10), "--via", via, "--json"))
		syn := waitFor(atHs, 2*time.Second, func(d *craft.Decoded) bool {
			return d.Has(craft.LayerTCP) && d.TCP.Seq == seq && d.IPv6.Src == lab.Addr6Hc
		})
		if syn == nil {
			t.Fatalf("via %s: the SYN never reached Hs", via)
		}
		wire := syn
		if via == "ip" {
			wire = syn[craft.EthernetLen:]
		}
		if !bytes.Equal(wire, b) {
			t.Errorf("via %s: Hs saw\n %x\nrawcraft sent\n %x", via, wire, b)
		}
		if rst := waitFor(atHc, 2*time.Second, func(d *craft.Decoded) bool {
			return d.Has(craft.LayerTCP) && d.IPv6.Src == lab.Addr6Hs && d.TCP.Flags == craft.TCPRst|craft.TCPAck && d.TCP.Ack == seq+1
		}); rst == nil {
			t.Errorf("via %s: no RST|ACK from Hs", via)
		}
	}
	rc("send", "udp", "--dst", lab.Addr6Hs.String(), "--sport", "40006", "--dport", "9996", "--data", "Hello", "--json")
	if unreach := waitFor(atHc, 2*time.Second, func(d *craft.Decoded) bool {
		return d.Has(craft.LayerICMPv6) && d.ICMPv6.Type == craft.ICMPv6Unreachable && d.ICMPv6.Code == 4 &&
			d.Quoted.Layers&craft.LayerUDP != 0 && d.Quoted.UDP.SrcPort == 40006 && d.Quoted.UDP.DstPort == 9996
	}); unreach == nil {
		t.Error("no ICMPv6 port unreachable quoting the datagram")
	}
	rc("send", "icmp", "--dst", lab.Addr6Hs.String(), "--icmp-id", "0x4242", "--count", "2", "--interval", "10ms", "--json")
	for seq := uint16(0); seq < 2; seq++ {
		if reply := waitFor(atHc, 2*time.Second, func(d *craft.Decoded) bool {
			return d.Has(craft.LayerICMPv6) && d.ICMPv6.Type == craft.ICMPv6EchoReply && d.ICMPv6.ID() == 0x4242 && d.ICMPv6.Seq() == seq
		}); reply == nil {
			t.Errorf("no echo reply to sequence %d", seq)
		}
	}
}

// listen at Hs with an IPv6 --host: the datagram Hc sends and Hs's ICMPv6
// answer, decoded as IPv6 with every checksum good (gopacket agrees with
// craft's IPv6 decoding elsewhere; here the peer kernel accepted the bytes).
func TestListenIPv6(t *testing.T) {
	bin := buildBinary(t)
	l := lab.ForTest(t, lab.Config{})
	lst := exec.Command("ip", "netns", "exec", l.NS(lab.Hs), bin, "listen", "--host", lab.Addr6Hc.String(), "--proto", "udp", "--count", "1", "--timeout", "10s", "--json")
	var o bytes.Buffer
	lst.Stdout = &o
	errp, err := lst.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := lst.Start(); err != nil {
		t.Fatal(err)
	}
	// The listener is ready once it says so on stderr; then send.
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(errp).ReadString('\n')
		first <- line
	}()
	var head string
	select {
	case head = <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("listen never said it was listening")
	}
	send := exec.Command("ip", "netns", "exec", l.NS(lab.Hc), bin, "send", "udp", "--dst", lab.Addr6Hs.String(), "--dport", "9996", "--data", "Hello")
	if out, err := send.CombinedOutput(); err != nil {
		t.Fatalf("send: %v: %s", err, out)
	}
	if err := lst.Wait(); err != nil {
		t.Fatalf("listen: %v", err)
	}
	if !strings.Contains(head, "host "+lab.Addr6Hc.String()) {
		t.Errorf("listen's filter line: %q", head)
	}
	var h jsonHeard
	if err := json.Unmarshal(o.Bytes(), &h); err != nil {
		t.Fatalf("%v: %q", err, o.String())
	}
	if h.Layers != "Ethernet/IPv6/UDP" || !strings.Contains(h.Summary, lab.Addr6Hc.String()) || h.Error != "" {
		t.Errorf("heard %+v", h)
	}
	good := 0
	for _, c := range h.Checksums {
		if c.Status != "good" {
			t.Errorf("checksum %+v", c)
		}
		good++
	}
	if good != 1 {
		t.Errorf("%d checksums judged, want the UDP one: %+v", good, h.Checksums)
	}
}

// A link-local target with its zone: probe from Hc to Hs's fe80:: address
// on the lab link; Hs's kernel answers the SYN to a closed port with
// RST|ACK from that link-local address.
func TestProbeLinkLocal(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	var ll netip.Addr
	if err := l.Do(lab.Hs, func() error {
		lk, err := netlink.LinkByName(lab.HostIfc)
		if err != nil {
			return err
		}
		addrs, err := netlink.AddrList(lk, unix.AF_INET6)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.IsLinkLocalUnicast() {
				ll = ip
			}
		}
		return nil
	}); err != nil || !ll.IsValid() {
		t.Fatalf("Hs's link-local address: %v %v", ll, err)
	}
	code, out, errs := inNS(t, l.NS(lab.Hc), "probe", "tcp", "--dst", ll.String()+"%"+lab.HostIfc, "--ports", "9998", "--json", "--timeout", "500ms")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var j jsonProbe
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &j); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	if j.State != "closed" || j.Reason != "rst" || j.From != ll.String() || j.Dst != ll.String() {
		t.Errorf("probe of %v%%%s: %+v", ll, lab.HostIfc, j)
	}
}
