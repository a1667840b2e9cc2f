package listen

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/rawsock"
	"golang.org/x/net/bpf"
)

var (
	hc     = netip.MustParseAddr("198.18.1.3")
	hs     = netip.MustParseAddr("198.18.1.1")
	router = netip.MustParseAddr("198.18.1.254")
)

func frame(t testing.TB, p craft.Packet) []byte {
	t.Helper()
	p.Ethernet = &craft.Ethernet{Dst: craft.MAC{2, 0, 0, 0, 1, 3}, Src: craft.MAC{2, 0, 0, 0, 1, 1}}
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func packet(t testing.TB, b []byte, out bool) *Packet {
	p := &Packet{Frame: b}
	p.Meta.Outgoing = out
	p.Meta.Time = time.Unix(100, 0)
	p.Decoded.AcceptIPv6 = true // as the Listener decodes
	p.Err = p.Decoded.DecodeFrame(b)
	return p
}

func quoteOf(t testing.TB, p craft.Packet) []byte {
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return craft.Quote(b)
}

// quoteOf6 is what Linux quotes of an IPv6 packet: as much as fits in the
// minimum MTU (RFC 4443 §2.4 (c)).
func quoteOf6(t testing.TB, p craft.Packet) []byte {
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return craft.QuoteV6(b)
}

func TestMatcher(t *testing.T) {
	m := NewMatcher(4)
	tcp := Probe{Proto: craft.ProtoTCP, Src: hc, Dst: hs, SrcPort: 40000, DstPort: 9999, Seq: 1000}
	udp := Probe{Proto: craft.ProtoUDP, Src: hc, Dst: hs, SrcPort: 40000, DstPort: 9998, Frag: true}
	echo := Probe{Proto: craft.ProtoICMP, Src: hc, Dst: hs, ICMPID: 77, ICMPSeq: 1}
	for _, p := range []Probe{tcp, udp, echo} {
		if _, err := m.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Add(tcp); err == nil {
		t.Error("a second probe with the same identity was accepted")
	}
	m.SentID(1, 0x1111)
	m.SentID(1, 0x1112) // a retry
	tcpFrom := func(flags uint8, seq, ack uint32, sport, dport uint16) craft.Packet {
		return craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, TCP: &craft.TCP{SrcPort: sport, DstPort: dport, Flags: flags, Seq: seq, Ack: ack}}
	}
	udpProbe := craft.Packet{IPv4: &craft.IPv4{ID: 0x1112, Src: hc, Dst: hs}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 9998}, Payload: make([]byte, 4000)}
	ub, _ := udpProbe.Append(nil)
	_, frags, _ := craft.Fragments(nil, nil, ub, craft.FragOptions{MTU: 1500})
	portUnreach := craft.Unreachable(craft.CodePortUnreachable)
	adminProhib := craft.Unreachable(craft.CodeAdminProhibited)
	fragNeeded := craft.FragNeeded(1280)
	ttl := craft.TimeExceeded(craft.CodeTTLExceeded)
	reasm := craft.TimeExceeded(craft.CodeReassemblyExceeded)
	echoReply := craft.EchoReply(77, 1)
	synQuote := quoteOf(t, craft.Packet{IPv4: &craft.IPv4{ID: 5, Src: hc, Dst: hs}, TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Seq: 1000, Flags: craft.TCPSyn}})
	cases := []struct {
		desc   string
		p      craft.Packet
		out    bool
		kind   Kind
		idx    int
		reason Reason
		from   netip.Addr
	}{
		{"SYN-ACK", tcpFrom(craft.TCPSyn|craft.TCPAck, 5, 1001, 9999, 40000), false, Answer, 0, SynAck, hs},
		{"RST|ACK", tcpFrom(craft.TCPRst|craft.TCPAck, 0, 1001, 9999, 40000), false, Answer, 0, Rst, hs},
		{"RST with ack 0", tcpFrom(craft.TCPRst, 0, 0, 9999, 40000), false, Answer, 0, Rst, hs},
		// nmap's SYN scan: a SYN without ACK from the probed port is a split
		// handshake, open (scan_engine_raw.cc: "A SYN from a TCP Split
		// Handshake ... open port", reason split-handshake-syn).
		{"SYN without ACK: a split handshake", tcpFrom(craft.TCPSyn, 5, 0, 9999, 40000), false, Answer, 0, SplitHandshakeSyn, hs},
		{"SYN|RST: a reset, as nmap reads RST first", tcpFrom(craft.TCPSyn|craft.TCPRst, 0, 0, 9999, 40000), false, Answer, 0, Rst, hs},
		{"SYN without ACK to another port: another run's", tcpFrom(craft.TCPSyn, 5, 0, 9999, 40001), false, Unrelated, -1, 0, hs},
		{"SYN-ACK acking another sequence: another run's", tcpFrom(craft.TCPSyn|craft.TCPAck, 5, 5001, 9999, 40000), false, Unrelated, -1, 0, hs},
		{"RST to another port: another run's", tcpFrom(craft.TCPRst|craft.TCPAck, 0, 1001, 9999, 40001), false, Unrelated, -1, 0, hs},
		{"the SYN itself leaving", craft.Packet{IPv4: &craft.IPv4{Src: hc, Dst: hs}, TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Seq: 1000, Flags: craft.TCPSyn}}, true, ProbeCopy, 0, 0, hc},
		{"our kernel's RST after the SYN-ACK", craft.Packet{IPv4: &craft.IPv4{Src: hc, Dst: hs}, TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Seq: 1001, Flags: craft.TCPRst}}, true, KernelRST, 0, 0, hc},
		{"ICMP port unreachable quoting the retry's ID", craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, ICMP: &portUnreach, Payload: craft.Quote(frags[0].Bytes)}, false, Answer, 1, ICMPPortUnreachable, hs},
		{"reassembly timeout quoting fragment 1", craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, ICMP: &reasm, Payload: craft.Quote(frags[0].Bytes)}, false, Answer, 1, ICMPReassemblyExceeded, hs},
		{"frag-needed from a router", craft.Packet{IPv4: &craft.IPv4{Src: router, Dst: hc}, ICMP: &fragNeeded, Payload: craft.Quote(frags[0].Bytes)}, false, Answer, 1, ICMPFragNeeded, router},
		{"TTL exceeded from a router, quoting the SYN", craft.Packet{IPv4: &craft.IPv4{Src: router, Dst: hc}, ICMP: &ttl, Payload: synQuote}, false, Answer, 0, ICMPTTLExceeded, router},
		{"admin prohibited quoting the SYN", craft.Packet{IPv4: &craft.IPv4{Src: router, Dst: hc}, ICMP: &adminProhib, Payload: synQuote}, false, Answer, 0, ICMPUnreachable, router},
		{"echo reply", craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, ICMP: &echoReply}, false, Answer, 2, EchoReply, hs},
		{"UDP reply", craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, UDP: &craft.UDP{SrcPort: 9998, DstPort: 40000}, Payload: []byte("hi")}, false, Answer, 1, UDPReply, hs},
	}
	// An error quoting an ID this run never sent is another run's.
	other := append([]byte(nil), frags[0].Bytes...)
	other[4], other[5] = 0x22, 0x22
	cases = append(cases, struct {
		desc   string
		p      craft.Packet
		out    bool
		kind   Kind
		idx    int
		reason Reason
		from   netip.Addr
	}{"port unreachable quoting another run's ID", craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, ICMP: &portUnreach, Payload: craft.Quote(other)}, false, Unrelated, -1, 0, hs})
	for _, c := range cases {
		k, i, r := m.Match(packet(t, frame(t, c.p), c.out))
		if k != c.kind || i != c.idx || (k == Answer && (r.Reason != c.reason || r.From != c.from)) {
			t.Errorf("%s: kind %d probe %d reason %v from %v; want kind %d probe %d reason %v from %v", c.desc, k, i, r.Reason, r.From, c.kind, c.idx, c.reason, c.from)
		}
	}
	// Matching allocates nothing.
	p := packet(t, frame(t, cases[10].p), false)
	if n := testing.AllocsPerRun(1000, func() { m.Match(p) }); n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}

// Every reply, from the target and from another host, gets nmap's state
// for it (scan_engine_raw.cc: a port unreachable closes a UDP port only
// "from_target"; get_ping_pcap_result: a port or protocol unreachable from
// the target itself means the host is up).
func TestClassify(t *testing.T) {
	hs, r1 := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.1.254")
	hs6, r6 := netip.MustParseAddr("2001:2:0:1::1"), netip.MustParseAddr("2001:2:0:1::2")
	cases := []struct {
		proto uint8
		dst   netip.Addr
		r     Reason
		code  uint8
		from  netip.Addr
		want  State
	}{
		{craft.ProtoTCP, hs, SynAck, 0, hs, Open}, {craft.ProtoTCP, hs, Rst, 0, hs, Closed},
		{craft.ProtoTCP, hs, ICMPUnreachable, 13, hs, Filtered}, {craft.ProtoTCP, hs, ICMPUnreachable, 1, r1, Filtered},
		{craft.ProtoTCP, hs, ICMPPortUnreachable, 3, hs, Filtered}, {craft.ProtoTCP, hs, ICMPPortUnreachable, 3, r1, Filtered},
		{craft.ProtoTCP, hs6, ICMPPortUnreachable, 4, hs6, Filtered}, {craft.ProtoTCP, hs6, ICMPPortUnreachable, 4, r6, Filtered},
		{craft.ProtoTCP, hs, NoResponse, 0, netip.Addr{}, Filtered},
		{craft.ProtoUDP, hs, UDPReply, 0, hs, Open},
		{craft.ProtoUDP, hs, ICMPPortUnreachable, 3, hs, Closed}, {craft.ProtoUDP, hs, ICMPPortUnreachable, 3, r1, Filtered},
		{craft.ProtoUDP, hs6, ICMPPortUnreachable, 4, hs6, Closed}, {craft.ProtoUDP, hs6, ICMPPortUnreachable, 4, r6, Filtered},
		{craft.ProtoUDP, netip.MustParseAddr("::ffff:198.18.1.1"), ICMPPortUnreachable, 3, hs, Closed},
		{craft.ProtoUDP, hs, ICMPUnreachable, 10, hs, Filtered}, {craft.ProtoUDP, hs, ICMPUnreachable, 1, r1, Filtered},
		{craft.ProtoUDP, hs, NoResponse, 0, netip.Addr{}, OpenFiltered}, {craft.ProtoUDP, hs, ICMPReassemblyExceeded, 1, hs, Filtered},
		{craft.ProtoUDP, hs, ICMPTTLExceeded, 0, r1, Filtered}, {craft.ProtoUDP, hs, ICMPRateLimited, 0, netip.Addr{}, Unresolved},
		{craft.ProtoICMP, hs, EchoReply, 0, hs, Up}, {craft.ProtoICMP, hs, NoResponse, 0, netip.Addr{}, Filtered},
		{craft.ProtoICMP, hs, ICMPUnreachable, 1, r1, Unreachable}, {craft.ProtoICMP, hs, ICMPUnreachable, 13, hs, Unreachable},
		{craft.ProtoICMP, hs, ICMPUnreachable, 2, hs, Up}, {craft.ProtoICMP, hs, ICMPUnreachable, 2, r1, Unreachable},
		{craft.ProtoICMP, hs, ICMPPortUnreachable, 3, hs, Up}, {craft.ProtoICMP, hs, ICMPPortUnreachable, 3, r1, Unreachable},
		{craft.ProtoICMPv6, hs6, ICMPPortUnreachable, 4, hs6, Up}, {craft.ProtoICMPv6, hs6, ICMPPortUnreachable, 4, r6, Unreachable},
		{craft.ProtoICMPv6, hs6, ICMPUnreachable, 2, hs6, Unreachable}, // code 2 is beyond scope over ICMPv6, not protocol unreachable
		{craft.ProtoICMP, hs, ICMPTTLExceeded, 0, r1, Unreachable},
	}
	for _, c := range cases {
		p := Probe{Proto: c.proto, Dst: c.dst}
		r := Reply{Reason: c.r, Code: c.code, From: c.from}
		if got := ClassifyProbe(&p, &r); got != c.want {
			t.Errorf("proto %d to %v, %v code %d from %v: %s, want %s", c.proto, c.dst, c.r, c.code, c.from, got, c.want)
		}
	}
}

// The kernel filters, run in x/net/bpf's virtual machine on crafted frames.
func TestFilters(t *testing.T) {
	run := func(prog []bpf.RawInstruction, b []byte) bool {
		ins, ok := bpf.Disassemble(prog)
		if !ok {
			t.Fatal("filter does not disassemble")
		}
		vm, err := bpf.NewVM(ins)
		if err != nil {
			t.Fatal(err)
		}
		n, err := vm.Run(b)
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	udp := frame(t, craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, UDP: &craft.UDP{SrcPort: 53, DstPort: 9999}})
	tcpOpts := frame(t, craft.Packet{IPv4: &craft.IPv4{Src: hc, Dst: hs, Options: craft.AppendIPOptRecordRoute(nil, 3)}, TCP: &craft.TCP{SrcPort: 1, DstPort: 9999}})
	other := frame(t, craft.Packet{IPv4: &craft.IPv4{Src: router, Dst: netip.MustParseAddr("198.18.1.9")}, UDP: &craft.UDP{SrcPort: 1, DstPort: 2}})
	arp := frame(t, craft.Packet{ARP: &craft.ARP{Op: craft.ARPRequest, SenderIP: hs, TargetIP: hc}})
	_, frags, _ := craft.Fragments(nil, nil, mustIP(t, craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, UDP: &craft.UDP{SrcPort: 9999, DstPort: 9999}, Payload: make([]byte, 100)}), craft.FragOptions{DataSize: 64})
	later := frame(t, craft.Packet{IPv4: func() *craft.IPv4 {
		var d craft.Decoded
		_ = d.DecodeIP(frags[1].Bytes)
		return &d.IPv4
	}(), Payload: frags[1].Bytes[20:]})
	host, _ := rawsock.HostFilter(hc)
	for _, c := range []struct {
		desc string
		prog func() ([]bpf.RawInstruction, error)
		b    []byte
		want bool
	}{
		{"host: to hc", func() ([]bpf.RawInstruction, error) { return host, nil }, udp, true},
		{"host: from hc", func() ([]bpf.RawInstruction, error) { return host, nil }, tcpOpts, true},
		{"host: neither", func() ([]bpf.RawInstruction, error) { return host, nil }, other, false},
		{"host: ARP", func() ([]bpf.RawInstruction, error) { return host, nil }, arp, true},
		{"empty: ARP", rawsock.Filter{}.Compile, arp, true},
		{"proto udp", rawsock.Filter{Proto: craft.ProtoUDP}.Compile, udp, true},
		{"proto udp vs tcp", rawsock.Filter{Proto: craft.ProtoUDP}.Compile, tcpOpts, false},
		{"port 9999 past IP options", rawsock.Filter{Port: 9999}.Compile, tcpOpts, true},
		{"port 53 as source", rawsock.Filter{Port: 53}.Compile, udp, true},
		{"port 80", rawsock.Filter{Port: 80}.Compile, udp, false},
		{"port on a later fragment", rawsock.Filter{Port: 9999}.Compile, later, false},
		{"host hs and port", rawsock.Filter{Host: hs, Port: 9999, Proto: craft.ProtoTCP}.Compile, tcpOpts, true},
		{"host router", rawsock.Filter{Host: router}.Compile, udp, false},
		{"port filter on ARP", rawsock.Filter{Port: 9999}.Compile, arp, false},
	} {
		prog, err := c.prog()
		if err != nil {
			t.Fatal(err)
		}
		if got := run(prog, c.b); got != c.want {
			t.Errorf("%s: passed %v, want %v", c.desc, got, c.want)
		}
	}
}

func mustIP(t testing.TB, p craft.Packet) []byte {
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzMatch feeds the Matcher whatever the wire may bring.
func FuzzMatch(f *testing.F) {
	f.Add(frame(f, craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, TCP: &craft.TCP{SrcPort: 9999, DstPort: 40000, Flags: craft.TCPRst | craft.TCPAck, Ack: 1001}}))
	un := craft.Unreachable(3)
	f.Add(frame(f, craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, ICMP: &un, Payload: quoteOf(f, craft.Packet{IPv4: &craft.IPv4{Src: hc, Dst: hs}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 9998}})}))
	m := NewMatcher(2)
	_, _ = m.Add(Probe{Proto: craft.ProtoTCP, Src: hc, Dst: hs, SrcPort: 40000, DstPort: 9999, Seq: 1000})
	_, _ = m.Add(Probe{Proto: craft.ProtoUDP, Src: hc, Dst: hs, SrcPort: 40000, DstPort: 9998})
	m.SentID(1, 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		p := packet(t, b, false)
		k, i, _ := m.Match(p)
		if (k == Unrelated) != (i < 0) || i >= m.Len() {
			t.Fatalf("kind %d with probe %d", k, i)
		}
		_ = p.Checksums()
	})
}

// BenchmarkMatch65536 matches a RST among 65 536 outstanding probes.
func BenchmarkMatch65536(b *testing.B) {
	m := NewMatcher(65536)
	for port := 0; port < 65536; port++ {
		if _, err := m.Add(Probe{Proto: craft.ProtoTCP, Src: hc, Dst: hs, SrcPort: 40000, DstPort: uint16(port), Seq: 1000}); err != nil {
			b.Fatal(err)
		}
	}
	p := packet(b, frame(b, craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, TCP: &craft.TCP{SrcPort: 31337, DstPort: 40000, Flags: craft.TCPRst | craft.TCPAck, Ack: 1001}}), false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if k, _, _ := m.Match(p); k != Answer {
			b.Fatal("no match")
		}
	}
}

// BenchmarkDecodeAndMatch is the listener's per-frame work on a reply.
func BenchmarkDecodeAndMatch(b *testing.B) {
	m := NewMatcher(1024)
	for port := 0; port < 1024; port++ {
		_, _ = m.Add(Probe{Proto: craft.ProtoUDP, Src: hc, Dst: hs, SrcPort: 40000, DstPort: uint16(port)})
		m.SentID(port, uint16(port))
	}
	un := craft.Unreachable(craft.CodePortUnreachable)
	f := frame(b, craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, ICMP: &un, Payload: quoteOf(b, craft.Packet{IPv4: &craft.IPv4{ID: 512, Src: hc, Dst: hs}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 512}})})
	var p Packet
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.Frame = f
		p.Err = p.Decoded.DecodeFrame(f)
		if k, _, _ := m.Match(&p); k != Answer {
			b.Fatal("no match")
		}
	}
}

// Every TCP probe is paired with the reset RFC 9293 §3.10.7.1 has a host
// send: to a segment without ACK, RST|ACK acknowledging SEG.SEQ+SEG.LEN (SYN,
// FIN and the data all count); to one with ACK, a RST whose sequence number
// is SEG.ACK. A reply with any other number is someone else's.
func TestMatchResetsToEveryProbe(t *testing.T) {
	const seq, ack = 1000, 77777
	for _, c := range []struct {
		desc     string
		flags    uint8
		data     int
		rst      craft.TCP // the reset, ports filled in below
		want     Kind
		scan     ScanType
		wantSt   State
		synAckOK bool
	}{
		{"SYN", craft.TCPSyn, 0, craft.TCP{Flags: craft.TCPRst | craft.TCPAck, Ack: seq + 1}, Answer, ScanSYN, Closed, true},
		{"SYN with 5 data bytes", craft.TCPSyn, 5, craft.TCP{Flags: craft.TCPRst | craft.TCPAck, Ack: seq + 1 + 5}, Answer, ScanSYN, Closed, true},
		{"SYN with data, reset acking the SYN alone", craft.TCPSyn, 5, craft.TCP{Flags: craft.TCPRst | craft.TCPAck, Ack: seq + 1}, Unrelated, ScanSYN, Closed, true},
		{"FIN", craft.TCPFin, 0, craft.TCP{Flags: craft.TCPRst | craft.TCPAck, Ack: seq + 1}, Answer, ScanFIN, Closed, false},
		{"null", 0, 0, craft.TCP{Flags: craft.TCPRst | craft.TCPAck, Ack: seq}, Answer, ScanFIN, Closed, false},
		{"Xmas", craft.TCPFin | craft.TCPPsh | craft.TCPUrg, 0, craft.TCP{Flags: craft.TCPRst | craft.TCPAck, Ack: seq + 1}, Answer, ScanFIN, Closed, false},
		{"ACK", craft.TCPAck, 0, craft.TCP{Flags: craft.TCPRst, Seq: ack}, Answer, ScanACK, Unfiltered, false},
		{"ACK, reset with another seq", craft.TCPAck, 0, craft.TCP{Flags: craft.TCPRst, Seq: ack + 1}, Unrelated, ScanACK, Unfiltered, false},
		{"SYN|FIN", craft.TCPSyn | craft.TCPFin, 0, craft.TCP{Flags: craft.TCPRst | craft.TCPAck, Ack: seq + 2}, Answer, ScanSYN, Closed, true},
	} {
		p := Probe{Proto: craft.ProtoTCP, Src: hc, Dst: hs, SrcPort: 40000, DstPort: 80, Seq: seq, Ack: ack, Flags: c.flags, Len: c.data, Scan: ScanOf(c.flags, false)}
		if p.Scan != c.scan {
			t.Errorf("%s: scan %v, want %v", c.desc, p.Scan, c.scan)
		}
		m := NewMatcher(1)
		if _, err := m.Add(p); err != nil {
			t.Fatal(err)
		}
		rst := c.rst
		rst.SrcPort, rst.DstPort = 80, 40000
		k, _, r := m.Match(packet(t, frame(t, craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, TCP: &rst}), false))
		if k != c.want {
			t.Errorf("%s: the reset is %v, want %v", c.desc, k, c.want)
			continue
		}
		if k == Answer {
			if st := ClassifyProbe(&p, &r); st != c.wantSt {
				t.Errorf("%s: state %s, want %s", c.desc, st, c.wantSt)
			}
		}
		// The probe leaving is recognised as itself.
		out := craft.TCP{SrcPort: 40000, DstPort: 80, Seq: seq, Ack: ack, Flags: c.flags}
		if k, _, _ := m.Match(packet(t, frame(t, craft.Packet{IPv4: &craft.IPv4{Src: hc, Dst: hs}, TCP: &out, Payload: make([]byte, c.data)}), true)); k != ProbeCopy {
			t.Errorf("%s: the probe's own copy is %v", c.desc, k)
		}
		sa := craft.TCP{SrcPort: 80, DstPort: 40000, Flags: craft.TCPSyn | craft.TCPAck, Ack: seq + 1}
		k, _, r = m.Match(packet(t, frame(t, craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, TCP: &sa}), false))
		if got := k == Answer && r.Reason == SynAck; got != c.synAckOK {
			t.Errorf("%s: a SYN|ACK acking seq+1 matched %v, want %v", c.desc, got, c.synAckOK)
		}
	}
}

// The window scan reads the RST's window; silence means what nmap says for
// each scan type.
func TestClassifyProbe(t *testing.T) {
	for _, c := range []struct {
		scan ScanType
		r    Reply
		want State
	}{
		{ScanWindow, Reply{Reason: Rst, Window: 512}, Open},
		{ScanWindow, Reply{Reason: Rst}, Closed},
		{ScanWindow, Reply{}, Filtered},
		{ScanACK, Reply{}, Filtered},
		{ScanACK, Reply{Reason: ICMPUnreachable}, Filtered},
		{ScanFIN, Reply{}, OpenFiltered},
		{ScanFIN, Reply{Reason: ICMPUnreachable}, Filtered},
		{ScanSYN, Reply{}, Filtered},
		{ScanSYN, Reply{Reason: SynAck}, Open},
		{ScanSYN, Reply{Reason: SplitHandshakeSyn}, Open},
	} {
		p := Probe{Proto: craft.ProtoTCP, Scan: c.scan}
		if got := ClassifyProbe(&p, &c.r); got != c.want {
			t.Errorf("%v scan, %v (window %d): %s, want %s", c.scan, c.r.Reason, c.r.Window, got, c.want)
		}
	}
}

var (
	hc6     = netip.MustParseAddr("2001:2:0:1::3")
	hs6     = netip.MustParseAddr("2001:2:0:1::1")
	router6 = netip.MustParseAddr("2001:2:0:1::2")
)

// IPv6 probes beside IPv4 ones in one Matcher: answers and ICMPv6 errors
// matched through the quoted packet, past its extension headers, with the
// reason each means (RFC 4443 §3); an IPv4 reply never matches an IPv6
// probe with the same ports.
func TestMatcherIPv6(t *testing.T) {
	m := NewMatcher(8)
	tcp := Probe{Proto: craft.ProtoTCP, Src: hc6, Dst: hs6, SrcPort: 40000, DstPort: 9999, Seq: 1000}
	udp := Probe{Proto: craft.ProtoUDP, Src: hc6, Dst: hs6, SrcPort: 40000, DstPort: 9998}
	echo := Probe{Proto: craft.ProtoICMPv6, Src: hc6, Dst: hs6, ICMPID: 77, ICMPSeq: 1}
	tcp4 := Probe{Proto: craft.ProtoTCP, Src: hc, Dst: hs, SrcPort: 40000, DstPort: 9999, Seq: 1000}
	for _, p := range []Probe{tcp, udp, echo, tcp4} {
		if _, err := m.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	hbh := []craft.IPv6Ext{craft.HopByHop(craft.AppendIPv6OptPadN(nil, 4)), craft.DestOpts(nil)}
	synQuote := quoteOf6(t, craft.Packet{IPv6: &craft.IPv6{Src: hc6, Dst: hs6, HopLimit: craft.Set[uint8](1)}, IPv6Ext: hbh, TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Seq: 1000, Flags: craft.TCPSyn}})
	udpQuote := quoteOf6(t, craft.Packet{IPv6: &craft.IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []craft.IPv6Ext{craft.FragmentExt(0, true, 0x12345678)}, UDP: &craft.UDP{SrcPort: 40000, DstPort: 9998, Length: craft.Set[uint16](3000)}, Payload: make([]byte, 1200)})
	echoQuote := quoteOf6(t, craft.Packet{IPv6: &craft.IPv6{Src: hc6, Dst: hs6}, ICMPv6: &craft.ICMPv6{Type: craft.ICMPv6EchoRequest, Rest: 77<<16 | 1}})
	icmp := func(from netip.Addr, typ, code uint8, rest uint32, quote []byte) craft.Packet {
		return craft.Packet{IPv6: &craft.IPv6{Src: from, Dst: hc6}, ICMPv6: &craft.ICMPv6{Type: typ, Code: code, Rest: rest}, Payload: quote}
	}
	tcpFrom := func(flags uint8, ack uint32) craft.Packet {
		return craft.Packet{IPv6: &craft.IPv6{Src: hs6, Dst: hc6}, TCP: &craft.TCP{SrcPort: 9999, DstPort: 40000, Flags: flags, Ack: ack}}
	}
	cases := []struct {
		desc   string
		p      craft.Packet
		out    bool
		kind   Kind
		idx    int
		reason Reason
		from   netip.Addr
		mtu    uint32
	}{
		{"SYN-ACK", tcpFrom(craft.TCPSyn|craft.TCPAck, 1001), false, Answer, 0, SynAck, hs6, 0},
		{"RST|ACK", tcpFrom(craft.TCPRst|craft.TCPAck, 1001), false, Answer, 0, Rst, hs6, 0},
		{"IPv4 RST|ACK to the IPv4 twin", craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, TCP: &craft.TCP{SrcPort: 9999, DstPort: 40000, Flags: craft.TCPRst | craft.TCPAck, Ack: 1001}}, false, Answer, 3, Rst, hs, 0},
		{"the SYN leaving", craft.Packet{IPv6: &craft.IPv6{Src: hc6, Dst: hs6}, TCP: &craft.TCP{SrcPort: 40000, DstPort: 9999, Seq: 1000, Flags: craft.TCPSyn}}, true, ProbeCopy, 0, 0, hc6, 0},
		{"port unreachable (1/4) quoting the first fragment", icmp(hs6, craft.ICMPv6Unreachable, 4, 0, udpQuote), false, Answer, 1, ICMPPortUnreachable, hs6, 0},
		{"administratively prohibited (1/1)", icmp(router6, craft.ICMPv6Unreachable, 1, 0, synQuote), false, Answer, 0, ICMPUnreachable, router6, 0},
		{"Packet Too Big from a router", icmp(router6, craft.ICMPv6PacketTooBig, 0, 1280, udpQuote), false, Answer, 1, ICMPPacketTooBig, router6, 1280},
		{"hop limit exceeded past extension headers", icmp(router6, craft.ICMPv6TimeExceeded, 0, 0, synQuote), false, Answer, 0, ICMPTTLExceeded, router6, 0},
		{"reassembly time exceeded (3/1)", icmp(hs6, craft.ICMPv6TimeExceeded, 1, 0, udpQuote), false, Answer, 1, ICMPReassemblyExceeded, hs6, 0},
		{"parameter problem", icmp(hs6, craft.ICMPv6ParamProblem, 1, 40, synQuote), false, Answer, 0, ICMPParamProblem, hs6, 0},
		{"echo reply", craft.Packet{IPv6: &craft.IPv6{Src: hs6, Dst: hc6}, ICMPv6: &craft.ICMPv6{Type: craft.ICMPv6EchoReply, Rest: 77<<16 | 1}}, false, Answer, 2, EchoReply, hs6, 0},
		{"unreachable quoting the echo", icmp(router6, craft.ICMPv6Unreachable, 3, 0, echoQuote), false, Answer, 2, ICMPUnreachable, router6, 0},
		{"UDP reply", craft.Packet{IPv6: &craft.IPv6{Src: hs6, Dst: hc6}, UDP: &craft.UDP{SrcPort: 9998, DstPort: 40000}, Payload: []byte("hi")}, false, Answer, 1, UDPReply, hs6, 0},
		{"echo reply with another identifier", craft.Packet{IPv6: &craft.IPv6{Src: hs6, Dst: hc6}, ICMPv6: &craft.ICMPv6{Type: craft.ICMPv6EchoReply, Rest: 78<<16 | 1}}, false, Unrelated, -1, 0, hs6, 0},
		{"a neighbour solicitation", craft.Packet{IPv6: &craft.IPv6{Src: hs6, Dst: hc6}, ICMPv6: &craft.ICMPv6{Type: craft.ICMPv6NeighborSolicit}, Payload: hc6.AsSlice()}, false, Unrelated, -1, 0, hs6, 0},
		{"port unreachable from the IPv4 twin's address family", craft.Packet{IPv4: &craft.IPv4{Src: hs, Dst: hc}, ICMP: func() *craft.ICMP { u := craft.Unreachable(craft.CodePortUnreachable); return &u }(), Payload: udpQuote}, false, Unrelated, -1, 0, hs, 0},
	}
	for _, c := range cases {
		k, i, r := m.Match(packet(t, frame(t, c.p), c.out))
		if k != c.kind || i != c.idx || (k == Answer && (r.Reason != c.reason || r.From != c.from || r.MTU != c.mtu)) {
			t.Errorf("%s: kind %d probe %d reason %v from %v mtu %d; want kind %d probe %d reason %v from %v mtu %d", c.desc, k, i, r.Reason, r.From, r.MTU, c.kind, c.idx, c.reason, c.from, c.mtu)
		}
		if c.reason == ICMPParamProblem && r.Pointer != 40 {
			t.Errorf("%s: pointer %d, want 40", c.desc, r.Pointer)
		}
	}
	p := packet(t, frame(t, cases[4].p), false)
	if n := testing.AllocsPerRun(1000, func() { m.Match(p) }); n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
	// A first fragment cut before the UDP header, and the parameter
	// problem (code 3, RFC 7112) quoting it: known by the Fragment
	// identification alone, once the probe's was recorded.
	cut := craft.Packet{IPv6: &craft.IPv6{Src: hc6, Dst: hs6}, IPv6Ext: []craft.IPv6Ext{craft.FragmentExt(0, true, 0xabcd0001), craft.DestOpts(nil)}}
	pp := craft.Packet{IPv6: &craft.IPv6{Src: hs6, Dst: hc6}, ICMPv6: &craft.ICMPv6{Type: craft.ICMPv6ParamProblem, Code: 3}, Payload: quoteOf6(t, cut)}
	if k, _, _ := m.Match(packet(t, frame(t, pp), false)); k != Unrelated {
		t.Errorf("before SentFragID: kind %d", k)
	}
	m.SentFragID(1, 0xabcd0001)
	if k, i, r := m.Match(packet(t, frame(t, pp), false)); k != Answer || i != 1 || r.Reason != ICMPParamProblem || r.Code != 3 {
		t.Errorf("parameter problem quoting the cut fragment: kind %d probe %d %v code %d", k, i, r.Reason, r.Code)
	}
	if k, i, _ := m.Match(packet(t, frame(t, cut), true)); k != ProbeFragment || i != 1 {
		t.Errorf("the cut fragment leaving: kind %d probe %d", k, i)
	}
	other := cut
	other.IPv6 = &craft.IPv6{Src: hc6, Dst: router6}
	if k, _, _ := m.Match(packet(t, frame(t, other), true)); k != Unrelated {
		t.Errorf("the same identification toward another host: kind %d", k)
	}
}
