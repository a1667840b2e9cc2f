package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"golang.org/x/sys/unix"
)

// trace6In runs a trace from Hc of the routed lab.
func trace6In(t *testing.T, l *lab.Lab, cfg TraceConfig) *TraceReport {
	t.Helper()
	var rep *TraceReport
	if err := l.Do(lab.Hc, func() (err error) { rep, err = Trace(cfg); return err }); err != nil {
		t.Fatalf("trace %+v: %v", cfg, err)
	}
	return rep
}

// flowOf is what a load balancer may read of an IPv6 probe leaving: the
// flow label, the next header, and the ports or an echo request's checksum.
type flowOf struct {
	label uint32
	next  uint8
	a, b  uint16
}

// The routed lab over IPv6, Hc — R — Hf: hop 1 is R, whose ICMPv6 time
// exceeded (type 3 code 0) quotes hop limit 1; hop 2 is Hf, whose own
// answer ends the trace — ICMPv6 port unreachable (type 1 code 4) to UDP,
// RST to a SYN to a closed port, echo reply (type 129) to an ICMPv6 echo.
// Paris mode sends one flow (flow label, ports, ICMPv6 checksum) the whole
// trace; classic mode a new one with every probe. Every probe leaves with
// the hop limit of its hop and valid checksums.
func TestTrace6Routed(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Routed: true})
	const probes = 3
	for _, tc := range []struct {
		proto    uint8
		final    listen.Reason
		typ, cod uint8
	}{
		{craft.ProtoUDP, listen.ICMPPortUnreachable, craft.ICMPv6Unreachable, 4},
		{craft.ProtoTCP, listen.Rst, 0, 0},
		{craft.ProtoICMP, listen.EchoReply, craft.ICMPv6EchoReply, 0},
	} {
		for _, paris := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s-paris-%v", protoNames[tc.proto], paris), func(t *testing.T) {
				flows, labels := map[flowOf]int{}, map[uint32]int{}
				var hops []uint8
				cfg := TraceConfig{Proto: tc.proto, Dst: lab.Addr6Hf, Paris: paris, Probes: probes, MaxTTL: 4, OnPacket: func(k listen.Kind, p *listen.Packet) {
					if k != listen.ProbeCopy {
						return
					}
					d := &p.Decoded
					if !d.Has(craft.LayerIPv6) {
						t.Errorf("a probe left without an IPv6 header: %v", d.Layers)
						return
					}
					for _, c := range p.Checksums() {
						if c.Status == craft.ChecksumBad {
							t.Errorf("a probe left with a bad %v checksum", c.Layer)
						}
					}
					hl, _ := d.IPv6.HopLimit.Get()
					hops = append(hops, hl)
					f := flowOf{label: d.IPv6.FlowLabel, next: uint8(d.IPv6.NextHeader.Or(0))}
					switch {
					case d.Has(craft.LayerUDP):
						f.a, f.b = d.UDP.SrcPort, d.UDP.DstPort
					case d.Has(craft.LayerTCP):
						f.a, f.b = d.TCP.SrcPort, d.TCP.DstPort
					case d.Has(craft.LayerICMPv6):
						f.a, _ = d.ICMPv6.Checksum.Get()
						f.b = uint16(d.ICMPv6.Type)
					}
					flows[f]++
					labels[f.label]++
				}}
				rep := trace6In(t, l, cfg)
				if !rep.Reached || len(rep.Hops) != 2 || rep.Sent != 2*probes || rep.Src != lab.Addr6Hc {
					t.Fatalf("reached %v in %d hops with %d probes from %v: %s", rep.Reached, len(rep.Hops), rep.Sent, rep.Src, hopsOf(rep))
				}
				if tc.proto == craft.ProtoICMP && rep.Proto != craft.ProtoICMPv6 {
					t.Errorf("report's protocol %d, want ICMPv6 (58)", rep.Proto)
				}
				want := [][]netip.Addr{{lab.Addr6R1}, {lab.Addr6Hf}}
				tags := map[uint16]bool{}
				for i := range rep.Hops {
					h := &rep.Hops[i]
					if got := h.Responders(); !slices.Equal(got, want[i]) || h.TTL != i+1 {
						t.Errorf("hop %d (hop limit %d) answered from %v, want %v", i+1, h.TTL, got, want[i])
					}
					for _, p := range h.Probes {
						r := p.Reply
						if i == 0 && (r.Reason != listen.ICMPTTLExceeded || p.Type != craft.ICMPv6TimeExceeded || p.Code != 0 || r.QuotedTTL != 1) {
							t.Errorf("hop 1: %v type %d code %d quoting hop limit %d; want time exceeded (type 3 code 0) quoting 1",
								r.Reason, p.Type, p.Code, r.QuotedTTL)
						}
						if i == 1 && (r.Reason != tc.final || p.Type != tc.typ || p.Code != tc.cod) {
							t.Errorf("destination: %v type %d code %d; want %v type %d code %d", r.Reason, p.Type, p.Code, tc.final, tc.typ, tc.cod)
						}
						if p.RTT <= 0 || p.RTT > time.Second {
							t.Errorf("hop %d: RTT %v", i+1, p.RTT)
						}
						size := 80 // traceroute6's: 40 bytes of IPv6, 8 of UDP or ICMPv6, 32 of data
						if tc.proto == craft.ProtoTCP {
							size = 60 // a SYN without data
						}
						if p.IPID != 0 || p.FlowLabel == 0 || p.Size != size {
							t.Errorf("probe: IP ID %d, flow label %#x, %d bytes", p.IPID, p.FlowLabel, p.Size)
						}
						if tc.proto == craft.ProtoUDP && paris {
							tags[p.UDPChecksum] = true
						}
					}
				}
				if tc.proto == craft.ProtoUDP && paris && (len(tags) != 2*probes || tags[0]) {
					t.Errorf("Paris UDP probes' checksums %v: one each, none 0", tags)
				}
				if !slices.Equal(hops, []uint8{1, 1, 1, 2, 2, 2}) {
					t.Errorf("probes left with hop limits %v", hops)
				}
				if n := map[bool]int{true: 1, false: 2 * probes}[paris]; len(flows) != n || len(labels) != n {
					t.Errorf("%d flow identifiers and %d flow labels, want %d: %v", len(flows), len(labels), n, flows)
				}
			})
		}
	}

	// The path MTU: every IPv6 probe is as if DF were set; R answers the
	// 1500-byte probes for hop 2 with Packet Too Big, MTU 1280 (its link
	// to Hf), and hop 2 is asked again with 1280-byte probes.
	for _, proto := range []uint8{craft.ProtoUDP, craft.ProtoTCP, craft.ProtoICMP} {
		t.Run("pmtu-"+protoNames[proto], func(t *testing.T) {
			rep := trace6In(t, l, TraceConfig{Proto: proto, Dst: lab.Addr6Hf, Paris: proto == craft.ProtoUDP, PMTU: true, Probes: 2, MaxTTL: 4})
			checkPMTU6(t, rep)
		})
	}

	t.Run("kernel", func(t *testing.T) { kernelAgrees6(t, l) })
}

// checkPMTU6 asserts a PMTU trace from Hc to Hf: hop 1 R with 1500-byte
// probes, hop 2 R's Packet Too Big (MTU 1280) then Hf with 1280 bytes.
func checkPMTU6(t *testing.T, rep *TraceReport) {
	t.Helper()
	if !rep.Reached || len(rep.Hops) != 2 || rep.PMTU != 1280 {
		t.Fatalf("reached %v in %d hops, path MTU %d; want Hf at hop 2, 1280: %s", rep.Reached, len(rep.Hops), rep.PMTU, hopsOf(rep))
	}
	if h := rep.Hops[0]; h.MTU != 1500 || h.Probes[0].Size != 1500 || h.Probes[0].Reply.Reason != listen.ICMPTTLExceeded {
		t.Errorf("hop 1: MTU %d, a %d-byte probe answered %v", h.MTU, h.Probes[0].Size, h.Probes[0].Reply.Reason)
	}
	h := rep.Hops[1]
	if h.MTU != 1280 || len(h.Probes) != 4 {
		t.Fatalf("hop 2: MTU %d, %d probes; want 1280, two too big and two that pass", h.MTU, len(h.Probes))
	}
	for i, p := range h.Probes {
		r := p.Reply
		if i < 2 && (r.Reason != listen.ICMPPacketTooBig || p.Type != craft.ICMPv6PacketTooBig || p.Code != 0 || r.MTU != 1280 || r.From != lab.Addr6R1 || p.Size != 1500) {
			t.Errorf("hop 2 probe %d (%d bytes): %v type %d code %d MTU %d from %v; want Packet Too Big, 1280, from R", i, p.Size, r.Reason, p.Type, p.Code, r.MTU, r.From)
		}
		if i >= 2 && (r.From != lab.Addr6Hf || p.Size != 1280 || !ends(&r)) {
			t.Errorf("hop 2 probe %d (%d bytes): %v from %v; want Hf's answer to 1280 bytes", i, p.Size, r.Reason, r.From)
		}
	}
	if got := h.Responders(); !slices.Equal(got, []netip.Addr{lab.Addr6Hf}) {
		t.Errorf("hop 2's responders %v: Packet Too Big is not the hop's answer", got)
	}
}

// hopsOf sums a trace up in a line: each hop's answers.
func hopsOf(rep *TraceReport) string {
	var b strings.Builder
	for _, h := range rep.Hops {
		fmt.Fprintf(&b, "[%d:", h.TTL)
		for _, p := range h.Probes {
			fmt.Fprintf(&b, " %v/%d/%v", p.Reply.Reason, p.Size, p.Reply.From)
		}
		b.WriteString("] ")
	}
	return b.String()
}

// kernelAgrees6 is the oracle: what Hc's own kernel learns from the same
// path through an ordinary UDP socket, as tracepath -6 reads it — the
// error queue (IPV6_RECVERR) names the offender, ICMPv6 type and code of
// a datagram with hop limit 1, 2 and 3, and the MTU of a Packet Too Big.
// A trace's hops, answers and path MTU must be the same.
func kernelAgrees6(t *testing.T, l *lab.Lab) {
	var fd int
	if err := l.Do(lab.Hc, func() (err error) {
		fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, o := range [][2]int{{unix.IPV6_RECVERR, 1}, {unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_PROBE}, {unix.IPV6_DONTFRAG, 1}} {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, o[0], o[1]); err != nil {
			t.Fatal(err)
		}
	}
	hf := &unix.SockaddrInet6{Addr: lab.Addr6Hf.As16(), Port: TraceUDPPort + 100}
	ask := func(hops, size int) kernErr {
		t.Helper()
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, hops); err != nil {
			t.Fatal(err)
		}
		if err := unix.Sendto(fd, make([]byte, size-48), 0, hf); err != nil {
			t.Fatal(err)
		}
		e, err := readErrQueue6(fd, 2*time.Second)
		if err != nil {
			t.Fatalf("hop limit %d, %d bytes: %v", hops, size, err)
		}
		return e
	}
	rep := trace6In(t, l, TraceConfig{Proto: craft.ProtoUDP, Dst: lab.Addr6Hf, MaxTTL: 3, Probes: 1})
	for hl := 1; hl <= 3; hl++ {
		e := ask(hl, 80)
		t.Logf("kernel, hop limit %d: ICMPv6 type %d code %d from %v (errno %v)", hl, e.typ, e.cod, e.from, e.errno)
		if hl > len(rep.Hops) {
			if e.from != rep.Dst || !rep.Reached {
				t.Errorf("hop limit %d: the kernel heard from %v; the trace ended at hop %d", hl, e.from, len(rep.Hops))
			}
			continue
		}
		p := rep.Hops[hl-1].Probes[0]
		if e.origin != unix.SO_EE_ORIGIN_ICMP6 || e.from != p.Reply.From || e.typ != p.Type || e.cod != p.Code {
			t.Errorf("hop %d: the kernel heard ICMPv6 type %d code %d from %v; the trace type %d code %d from %v",
				hl, e.typ, e.cod, e.from, p.Type, p.Code, p.Reply.From)
		}
	}
	e := ask(64, 1500)
	t.Logf("kernel, 1500 bytes: ICMPv6 type %d code %d from %v, MTU %d (errno %v)", e.typ, e.cod, e.from, e.info, e.errno)
	rep = trace6In(t, l, TraceConfig{Proto: craft.ProtoUDP, Dst: lab.Addr6Hf, PMTU: true, Probes: 1})
	ptb := rep.Hops[len(rep.Hops)-1].Probes[0].Reply
	if e.typ != craft.ICMPv6PacketTooBig || e.errno != unix.EMSGSIZE || int(e.info) != rep.PMTU || e.from != ptb.From || ptb.Reason != listen.ICMPPacketTooBig {
		t.Errorf("the kernel's Packet Too Big: MTU %d from %v; the trace's path MTU %d, %v from %v", e.info, e.from, rep.PMTU, ptb.Reason, ptb.From)
	}
}

// kernErr is an ICMPv6 error Hc's kernel queued on an ordinary socket.
type kernErr struct {
	errno            unix.Errno
	origin, typ, cod uint8
	info             uint32
	from             netip.Addr
}

// readErrQueue6 waits, at most d, for the first error on fd's error queue:
// struct sock_extended_err, then the offender's sockaddr_in6.
func readErrQueue6(fd int, d time.Duration) (kernErr, error) {
	buf, oob := make([]byte, 2048), make([]byte, 512)
	deadline := time.Now().Add(d)
	for {
		_, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if err == nil {
			msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err != nil {
				return kernErr{}, err
			}
			for _, m := range msgs {
				if m.Header.Level != unix.IPPROTO_IPV6 || m.Header.Type != unix.IPV6_RECVERR || len(m.Data) < 16+24 {
					continue
				}
				return kernErr{errno: unix.Errno(binary.NativeEndian.Uint32(m.Data[0:])), origin: m.Data[4], typ: m.Data[5], cod: m.Data[6],
					info: binary.NativeEndian.Uint32(m.Data[8:]), from: netip.AddrFrom16([16]byte(m.Data[16+8 : 16+24]))}, nil
			}
			return kernErr{}, errors.New("an error queue message without IPV6_RECVERR")
		}
		if !errors.Is(err, unix.EAGAIN) {
			return kernErr{}, err
		}
		if time.Now().After(deadline) {
			return kernErr{}, errors.New("nothing on the error queue")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
