package exercise

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
)

// The sockets experiment: the same SYN, UDP datagram and echo request
// handed to every socket kind Linux offers (rawsock.SocketKind), the bytes
// handed beside the bytes that reached Hs, field by field; then the peer's
// answers — RST, port unreachable, echo reply — against which of the
// sockets open on Hc heard them.

// FieldChange is a header field whose value on the wire is not the one
// handed to the kernel, or that the kernel wrote because it was not handed.
type FieldChange struct {
	Layer, Name  string
	Handed, Wire string // Handed "" when the kernel wrote the whole layer
	Why          string // what the kernel does, and the man page that says so
}

// SocketTry is what one socket kind did with one packet.
type SocketTry struct {
	Kind    rawsock.SocketKind
	Proto   uint8
	Handed  []byte // what was handed to the kernel; nil for connect()
	Wire    []byte // the frame that reached Hs; nil when none did
	Changed []FieldChange
	Err     error
}

// SocketHeard is one answer from Hs and which sockets on Hc got a copy.
type SocketHeard struct {
	Answer string
	Heard  []bool // in the order of SocketsReport.Listeners
}

// SocketsReport is the whole experiment.
type SocketsReport struct {
	Tries     []SocketTry
	Listeners []string
	Heard     []SocketHeard
	// Privileges: which kinds a thread without CAP_NET_RAW may open.
	Privileges []SocketPrivilege
}

// SocketPrivilege is whether a socket kind opens without CAP_NET_RAW.
type SocketPrivilege struct {
	Socket string
	Err    error // nil: it opened
	Why    string
}

// The closed port the probes go to, and the first of the source ports
// (and echo identifiers) that tell the tries apart.
const (
	socketsClosedPort = 9998
	socketsFirstPort  = 41000
)

// exSockets is the experiment as an exercise: the prediction is what the
// man pages say, the observation the report.
func exSockets(x *run) error {
	rep, err := SocketsOn(x.lab)
	if err != nil {
		return err
	}
	var b strings.Builder
	_ = rep.Write(&b)
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		x.see("%s", l)
	}
	for _, d := range rep.Diffs() {
		x.differ("%s", d)
	}
	return nil
}

// Changes says, in one line, which fields of the try the kernel wrote or
// changed: "Layer Name" for a changed field, "Layer (written)" for a layer
// the kernel wrote whole, sorted.
func (t *SocketTry) Changes() string {
	var s []string
	seen := map[string]bool{}
	for _, c := range t.Changed {
		k := c.Layer + " " + c.Name
		if c.Handed == "" {
			k = c.Layer + " (written)"
		}
		if !seen[k] {
			seen[k] = true
			s = append(s, k)
		}
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// What raw(7), packet(7) and icmp(7) say the kernel writes, for the kinds
// whose handed bytes are compared field by field.
var socketsExpected = map[rawsock.SocketKind]string{
	rawsock.PacketRaw:           "",
	rawsock.PacketDgram:         "Ethernet (written)",
	rawsock.InetRaw:             "Ethernet (written), IPv4 Header Checksum, IPv4 Identification",
	rawsock.InetRawProto:        "Ethernet (written), IPv4 (written)",
	rawsock.InetRawProtoHdrIncl: "Ethernet (written)",
}

// Who the man pages say hears each answer (SocketsReport.Listeners order).
var socketsHeardExpected = [][]bool{
	{true, true, false, false, false, false}, // RST: packet socket, raw TCP
	{true, false, false, true, false, false}, // port unreachable: packet socket, raw ICMP
	{true, false, false, true, false, true},  // echo reply: packet socket, raw ICMP, the ping socket
}

// Diffs lists where the kernel did other than the man pages say.
func (rep *SocketsReport) Diffs() []string {
	var out []string
	for _, t := range rep.Tries {
		name := fmt.Sprintf("%v (%s)", t.Kind, ProtoLabel(t.Proto))
		switch {
		case t.Err != nil:
			out = append(out, fmt.Sprintf("%s: %v", name, t.Err))
			continue
		case t.Wire == nil:
			out = append(out, name+": nothing reached Hs")
			continue
		}
		if w, ok := socketsExpected[t.Kind]; ok && t.Changes() != w {
			out = append(out, fmt.Sprintf("%s: the kernel changed %q, the man pages say %q", name, t.Changes(), w))
		}
		if t.Kind == rawsock.Dgram && t.Proto == craft.ProtoICMP {
			if w := "Ethernet (written), ICMP Checksum, ICMP Identifier, IPv4 (written)"; t.Changes() != w {
				out = append(out, fmt.Sprintf("%s: the ping socket changed %q, icmp(7) says %q", name, t.Changes(), w))
			}
		}
	}
	for _, p := range rep.Privileges {
		// Only the ordinary socket and the ping socket with its group in
		// the range open without the capability.
		want := strings.HasPrefix(p.Socket, "AF_INET SOCK_DGRAM IPPROTO_UDP") || strings.HasSuffix(p.Socket, "(group in ping_group_range)")
		if (p.Err == nil) != want {
			out = append(out, fmt.Sprintf("without CAP_NET_RAW, %s: opened %v, the man pages say %v", p.Socket, p.Err == nil, want))
		}
	}
	for i, h := range rep.Heard {
		if i < len(socketsHeardExpected) && !slices.Equal(h.Heard, socketsHeardExpected[i]) {
			out = append(out, fmt.Sprintf("%s: heard by %v, expected %v", h.Answer, h.Heard, socketsHeardExpected[i]))
		}
	}
	return out
}

// ProtoLabel names an IP protocol for the story.
func ProtoLabel(p uint8) string {
	return map[uint8]string{craft.ProtoTCP: "TCP", craft.ProtoUDP: "UDP", craft.ProtoICMP: "ICMP"}[p]
}

// Sockets runs the experiment on a lab of its own, removed at the end.
func Sockets() (*SocketsReport, error) {
	if os.Geteuid() != 0 {
		return nil, lab.ErrPermission
	}
	l, err := lab.Up(lab.Config{Name: fmt.Sprintf("sk%d", os.Getpid())})
	if err != nil {
		return nil, err
	}
	defer l.Down()
	return SocketsOn(l)
}

// SocketsOn runs the experiment on l, from Hc to Hs.
func SocketsOn(l *lab.Lab) (*SocketsReport, error) {
	// A ping socket needs the caller's group in ping_group_range (icmp(7));
	// the lab lets every group in, inside Hc only.
	if err := l.Sysctl(lab.Hc, "net.ipv4.ping_group_range", "0 2147483647"); err != nil {
		return nil, err
	}
	var ifi *net.Interface
	if err := l.Do(lab.Hs, func() (err error) { ifi, err = net.InterfaceByName(lab.HostIfc); return err }); err != nil {
		return nil, err
	}
	var ln *listen.Listener
	if err := l.Do(lab.Hs, func() error {
		prog, err := rawsock.HostFilter(lab.AddrHc)
		if err != nil {
			return err
		}
		ln, err = listen.Listen(ifi, &listen.Config{Filter: prog})
		return err
	}); err != nil {
		return nil, err
	}
	defer ln.Close()
	rec := listen.Record(ln, 0)
	rep := &SocketsReport{}
	port := uint16(socketsFirstPort)
	err := l.Do(lab.Hc, func() error {
		hcIfi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		for _, proto := range []uint8{craft.ProtoTCP, craft.ProtoUDP, craft.ProtoICMP} {
			for _, k := range []rawsock.SocketKind{rawsock.PacketRaw, rawsock.PacketDgram, rawsock.InetRaw, rawsock.InetRawProto, rawsock.InetRawProtoHdrIncl, rawsock.Stream, rawsock.Dgram} {
				if k == rawsock.Stream && proto != craft.ProtoTCP || k == rawsock.Dgram && proto == craft.ProtoTCP {
					continue
				}
				port++
				rep.Tries = append(rep.Tries, tryKind(hcIfi, k, proto, port))
			}
		}
		return nil
	})
	time.Sleep(100 * time.Millisecond)
	got := rec.Stop()
	if err != nil {
		return nil, err
	}
	for i := range rep.Tries {
		t := &rep.Tries[i]
		if t.Err == nil {
			t.Wire = findWire(got, t.Proto, socketsFirstPort+uint16(i)+1, t)
			t.Changed = compare(t)
		}
	}
	if err := l.Do(lab.Hc, func() error { return heard(rep) }); err != nil {
		return nil, err
	}
	if err := privileges(l, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// packetFor builds the probe of one try: from Hc's port (or echo
// identifier) id to Hs's closed port, "Hello" as data.
func packetFor(proto uint8, id uint16) craft.Packet {
	p := craft.Packet{Ethernet: &craft.Ethernet{Src: lab.MACHc, Dst: lab.MACHs},
		IPv4: &craft.IPv4{ID: id, Src: lab.AddrHc, Dst: lab.AddrHs}, Payload: []byte("Hello")}
	switch proto {
	case craft.ProtoTCP:
		p.TCP, p.Payload = &craft.TCP{SrcPort: id, DstPort: socketsClosedPort, Seq: uint32(id) << 16, Flags: craft.TCPSyn, Window: 64240}, nil
	case craft.ProtoUDP:
		p.UDP = &craft.UDP{SrcPort: id, DstPort: socketsClosedPort}
	default:
		e := craft.Echo(id, 1)
		p.ICMP = &e
	}
	return p
}

func tryKind(ifi *net.Interface, k rawsock.SocketKind, proto uint8, id uint16) SocketTry {
	t := SocketTry{Kind: k, Proto: proto}
	p := packetFor(proto, id)
	frame, err := p.Append(nil)
	if err != nil {
		t.Err = err
		return t
	}
	dg := frame[craft.EthernetLen:]
	switch k {
	case rawsock.Stream:
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: lab.AddrHc.AsSlice(), Port: int(id)}, Timeout: 300 * time.Millisecond}
		if c, err := d.Dial("tcp4", fmt.Sprintf("%v:%d", lab.AddrHs, socketsClosedPort)); err == nil {
			c.Close()
		}
		return t
	case rawsock.PacketRaw:
		t.Handed = frame
	case rawsock.PacketDgram, rawsock.InetRawProtoHdrIncl:
		t.Handed = dg
	case rawsock.InetRaw:
		// Identification and header checksum left zero: the kernel fills
		// them (raw(7)).
		q := p
		ip := *p.IPv4
		ip.ID, ip.Checksum = 0, craft.Set[uint16](0)
		q.IPv4, q.Ethernet = &ip, nil
		t.Handed, err = q.Append(nil)
	case rawsock.InetRawProto:
		t.Handed = dg[craft.IPv4HeaderLen:]
	case rawsock.Dgram:
		if proto == craft.ProtoUDP {
			t.Handed = []byte("Hello")
		} else {
			e := craft.Echo(0, 1) // the identifier and checksum are the kernel's
			e.Checksum = craft.Set[uint16](0)
			q := craft.Packet{IPv4: &craft.IPv4{Src: lab.AddrHc, Dst: lab.AddrHs}, ICMP: &e, Payload: []byte("Hello")}
			var b []byte
			b, err = q.Append(nil)
			t.Handed = b[craft.IPv4HeaderLen:]
		}
	}
	if err != nil {
		t.Err = err
		return t
	}
	c, err := rawsock.OpenKind(k, proto, ifi)
	if err != nil {
		t.Err = err
		return t
	}
	defer c.Close()
	if k == rawsock.Dgram {
		if err := c.Bind(lab.AddrHc, id); err != nil { // a ping socket's port is its echo identifier
			t.Err = err
			return t
		}
	}
	t.Err = c.Send(t.Handed, lab.AddrHs, socketsClosedPort, lab.MACHs)
	return t
}

// findWire finds, among the frames Hs captured, the one try i sent: by its
// source port, or echo identifier.
func findWire(got []listen.Captured, proto uint8, id uint16, t *SocketTry) []byte {
	var d craft.Decoded
	for _, c := range got {
		if d.DecodeFrame(c.Frame) != nil || d.IPv4.Protocol.Or(0) != proto {
			continue
		}
		switch {
		case d.Has(craft.LayerTCP) && d.TCP.SrcPort == id && d.TCP.Flags&craft.TCPSyn != 0,
			d.Has(craft.LayerUDP) && d.UDP.SrcPort == id,
			d.Has(craft.LayerICMP) && d.ICMP.Type == craft.ICMPEcho && d.ICMP.ID() == id:
			return c.Frame
		}
	}
	return nil
}

// compare lists the fields the kernel wrote or changed. The layers handed
// are compared field by field; the layers not handed are the kernel's.
func compare(t *SocketTry) []FieldChange {
	if t.Wire == nil {
		return nil
	}
	var w craft.Decoded
	_ = w.DecodeFrame(t.Wire)
	wire := craft.Explain(&w)
	handedLayers := map[string]bool{}
	var handed []craft.Field
	if t.Handed != nil {
		var h craft.Decoded
		switch t.Kind {
		case rawsock.PacketRaw:
			_ = h.DecodeFrame(t.Handed)
		case rawsock.InetRawProto, rawsock.Dgram:
			// The handed bytes sit behind the header the kernel wrote.
			ihl := int(w.IPv4.IHL.Or(5)) * 4
			b := append(append([]byte(nil), t.Wire[craft.EthernetLen:craft.EthernetLen+ihl]...), t.Handed...)
			_ = h.DecodeIP(b)
		default:
			_ = h.DecodeIP(t.Handed)
		}
		handed = craft.Explain(&h)
		switch t.Kind {
		case rawsock.PacketRaw:
			handedLayers["Ethernet"], handedLayers["IPv4"] = true, true
		case rawsock.PacketDgram, rawsock.InetRaw, rawsock.InetRawProtoHdrIncl:
			handedLayers["IPv4"] = true
		}
		if t.Kind != rawsock.Dgram || t.Proto == craft.ProtoICMP {
			handedLayers["TCP"], handedLayers["UDP"], handedLayers["ICMP"] = true, true, true
		}
	}
	var out []FieldChange
	for _, f := range wire {
		if f.Layer == "Data" || f.Name == "Data" {
			continue
		}
		if !handedLayers[f.Layer] {
			out = append(out, FieldChange{Layer: f.Layer, Name: f.Name, Wire: f.Text, Why: why(t, f.Layer, f.Name)})
			continue
		}
		for _, h := range handed {
			if h.Layer == f.Layer && h.Name == f.Name && h.Text != f.Text {
				out = append(out, FieldChange{Layer: f.Layer, Name: f.Name, Handed: h.Text, Wire: f.Text, Why: why(t, f.Layer, f.Name)})
			}
		}
	}
	return out
}

// why says what the kernel did to a field and where that is written.
func why(t *SocketTry, layer, name string) string {
	switch {
	case t.Kind == rawsock.PacketDgram && layer == "Ethernet":
		return "SOCK_DGRAM packet sockets take the datagram; the kernel adds the link header from sockaddr_ll (packet(7))"
	case layer == "IPv4" && (t.Kind == rawsock.InetRawProto || t.Kind == rawsock.Stream || t.Kind == rawsock.Dgram):
		return "without IP_HDRINCL the kernel builds the IP header (raw(7), ip(7))"
	case layer == "IPv4" && name == "Identification":
		return "with IP_HDRINCL a zero identification is filled in by the kernel (raw(7))"
	case layer == "IPv4" && (name == "Header Checksum" || name == "Total Length"):
		return "with IP_HDRINCL the kernel always fills the header checksum and total length (raw(7))"
	case layer == "Ethernet":
		return "an AF_INET socket hands the datagram to the routing and neighbour code, which adds the link header (ip(7))"
	case t.Kind == rawsock.Stream:
		return "a stream socket's segments are the kernel's: options, window, sequence number (tcp(7))"
	case t.Kind == rawsock.Dgram && t.Proto == craft.ProtoUDP:
		return "a datagram socket's UDP header is the kernel's: ports from the socket, length, checksum (udp(7))"
	case t.Kind == rawsock.Dgram && t.Proto == craft.ProtoICMP:
		return "a ping socket writes its own identifier (the socket's port) and computes the checksum (icmp(7), ICMP sockets)"
	}
	return "changed by the kernel"
}

// listenerKinds are the sockets open on Hc while Hs answers.
var listenerNames = []string{"AF_PACKET SOCK_RAW", "raw IPPROTO_TCP", "raw IPPROTO_UDP", "raw IPPROTO_ICMP", "UDP socket (unconnected)", "ping socket"}

// heard sends a SYN, a UDP datagram and an echo request to Hs's closed port
// with every listener open, and records which listener got each answer.
func heard(rep *SocketsReport) error {
	ifi, err := net.InterfaceByName(lab.HostIfc)
	if err != nil {
		return err
	}
	var ls []*rawsock.KindConn
	defer func() {
		for _, c := range ls {
			c.Close()
		}
	}()
	for _, o := range []struct {
		k     rawsock.SocketKind
		proto uint8
	}{{rawsock.PacketRaw, 0}, {rawsock.InetRawProto, craft.ProtoTCP}, {rawsock.InetRawProto, craft.ProtoUDP}, {rawsock.InetRawProto, craft.ProtoICMP}, {rawsock.Dgram, craft.ProtoUDP}, {rawsock.Dgram, craft.ProtoICMP}} {
		c, err := rawsock.OpenKind(o.k, o.proto, ifi)
		if err != nil {
			return err
		}
		ls = append(ls, c)
	}
	const udpPort = 42001
	if err := ls[4].Bind(lab.AddrHc, udpPort); err != nil {
		return err
	}
	if err := ls[5].Bind(lab.AddrHc, 0); err != nil {
		return err
	}
	pingID, err := ls[5].LocalPort()
	if err != nil {
		return err
	}
	rep.Listeners = listenerNames
	tx, err := rawsock.OpenKind(rawsock.PacketRaw, 0, ifi)
	if err != nil {
		return err
	}
	defer tx.Close()
	syn := packetFor(craft.ProtoTCP, 42000)
	udp := packetFor(craft.ProtoUDP, udpPort)
	for _, p := range []craft.Packet{syn, udp} {
		b, err := p.Append(nil)
		if err != nil {
			return err
		}
		if err := tx.Send(b, lab.AddrHs, 0, lab.MACHs); err != nil {
			return err
		}
	}
	e := craft.Echo(0, 7)
	e.Checksum = craft.Set[uint16](0)
	q := craft.Packet{IPv4: &craft.IPv4{Src: lab.AddrHc, Dst: lab.AddrHs}, ICMP: &e, Payload: []byte("Hello")}
	b, err := q.Append(nil)
	if err != nil {
		return err
	}
	if err := ls[5].Send(b[craft.IPv4HeaderLen:], lab.AddrHs, 0, craft.MAC{}); err != nil {
		return err
	}
	answers := []string{
		fmt.Sprintf("RST|ACK from Hs:%d to Hc:42000", socketsClosedPort),
		fmt.Sprintf("ICMP port unreachable from Hs, quoting Hc:%d → Hs:%d", udpPort, socketsClosedPort),
		fmt.Sprintf("ICMP echo reply from Hs, identifier %d", pingID),
	}
	heardBy := make([][]bool, len(answers))
	for i := range heardBy {
		heardBy[i] = make([]bool, len(ls))
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	buf := make([]byte, 65536)
	var d craft.Decoded
	for j, c := range ls {
		for {
			n, err := c.Recv(buf, deadline)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return err
			}
			var a int
			switch {
			case j == 0:
				a = classifyHeard(&d, d.DecodeFrame(buf[:n]), pingID, udpPort)
			case j == 4 || j == 5:
				// Datagram sockets return the data alone: the UDP socket
				// would get a reply's data, the ping socket the echo header.
				if j == 5 && n >= craft.ICMPHeaderLen && buf[0] == craft.ICMPEchoReply {
					a = 2
				} else {
					a = -1
				}
			default:
				a = classifyHeard(&d, d.DecodeIP(buf[:n]), pingID, udpPort)
			}
			if a >= 0 {
				heardBy[a][j] = true
			}
		}
	}
	for i, a := range answers {
		rep.Heard = append(rep.Heard, SocketHeard{Answer: a, Heard: heardBy[i]})
	}
	return nil
}

// nobodyGID is the group an unprivileged user is in here (nogroup).
const nobodyGID = 65534

// privileges opens each kind on a thread of Hc without CAP_NET_RAW, in
// group nogroup: first with ping_group_range letting every group make ping
// sockets, then with it at the kernel's default, which lets none.
func privileges(l *lab.Lab, rep *SocketsReport) error {
	try := func(name, why string, open func() error) {
		var err error
		if e := unprivileged(l.NS(lab.Hc), nobodyGID, func() { err = open() }); e != nil {
			err = e
		}
		rep.Privileges = append(rep.Privileges, SocketPrivilege{Socket: name, Err: err, Why: why})
	}
	var ifi *net.Interface
	if err := l.Do(lab.Hc, func() (err error) { ifi, err = net.InterfaceByName(lab.HostIfc); return err }); err != nil {
		return err
	}
	kind := func(k rawsock.SocketKind, proto uint8) func() error {
		return func() error {
			c, err := rawsock.OpenKind(k, proto, ifi)
			if err == nil {
				c.Close()
			}
			return err
		}
	}
	try("AF_PACKET SOCK_RAW", "packet(7): only processes with CAP_NET_RAW may open packet sockets", kind(rawsock.PacketRaw, 0))
	try("AF_PACKET SOCK_DGRAM", "packet(7): the same for cooked packet sockets", kind(rawsock.PacketDgram, 0))
	try("AF_INET SOCK_RAW IPPROTO_RAW", "raw(7) says an effective user ID of 0 or CAP_NET_RAW; the kernel checks the capability alone — this thread is still user 0", kind(rawsock.InetRaw, 0))
	try("AF_INET SOCK_RAW IPPROTO_TCP", "raw(7): the same for every protocol", kind(rawsock.InetRawProto, craft.ProtoTCP))
	try("AF_INET SOCK_DGRAM IPPROTO_UDP", "udp(7): an ordinary socket needs nothing", kind(rawsock.Dgram, craft.ProtoUDP))
	try("AF_INET SOCK_DGRAM IPPROTO_ICMP (group in ping_group_range)", "icmp(7): a ping socket needs only the caller's group in net.ipv4.ping_group_range", kind(rawsock.Dgram, craft.ProtoICMP))
	if err := l.Sysctl(lab.Hc, "net.ipv4.ping_group_range", "1 0"); err != nil {
		return err
	}
	try("AF_INET SOCK_DGRAM IPPROTO_ICMP (ping_group_range 1 0)", "icmp(7): the kernel's default range, 1 0, lets no group in", kind(rawsock.Dgram, craft.ProtoICMP))
	return l.Sysctl(lab.Hc, "net.ipv4.ping_group_range", "0 2147483647")
}

// classifyHeard says which of the three answers d is, or -1.
func classifyHeard(d *craft.Decoded, err error, pingID, udpPort uint16) int {
	if d.Layers&craft.LayerIPv4 == 0 || d.IPv4.Src != lab.AddrHs {
		return -1
	}
	switch {
	case d.Has(craft.LayerTCP) && d.TCP.Flags&craft.TCPRst != 0 && d.TCP.DstPort == 42000:
		return 0
	case d.Has(craft.LayerICMP) && d.ICMP.Type == craft.ICMPUnreachable && d.ICMP.Code == craft.CodePortUnreachable &&
		d.Quoted.Layers&craft.LayerUDP != 0 && d.Quoted.UDP.SrcPort == udpPort:
		return 1
	case d.Has(craft.LayerICMP) && d.ICMP.Type == craft.ICMPEchoReply && d.ICMP.ID() == pingID:
		return 2
	}
	return -1
}

// Write tells the experiment's story.
func (rep *SocketsReport) Write(w io.Writer) error {
	names := map[uint8]string{craft.ProtoTCP: "TCP SYN", craft.ProtoUDP: "UDP datagram", craft.ProtoICMP: "ICMP echo request"}
	fmt.Fprintln(w, "What each socket kind is handed, and what the kernel makes of it (Hc → Hs):")
	for _, t := range rep.Tries {
		kind := strings.Replace(t.Kind.String(), "<proto>", strings.ToUpper(map[uint8]string{craft.ProtoTCP: "tcp", craft.ProtoUDP: "udp", craft.ProtoICMP: "icmp"}[t.Proto]), 1)
		fmt.Fprintf(w, "\n  %s — %s, handed %s", names[t.Proto], kind, t.Kind.Hands())
		if t.Handed != nil {
			fmt.Fprintf(w, " (%d bytes)", len(t.Handed))
		}
		fmt.Fprintln(w)
		switch {
		case t.Err != nil:
			fmt.Fprintf(w, "    refused: %v\n", t.Err)
			continue
		case t.Wire == nil:
			fmt.Fprintln(w, "    nothing reached Hs")
			continue
		}
		var d craft.Decoded
		_ = d.DecodeFrame(t.Wire)
		fmt.Fprintf(w, "    on the wire: %d bytes, %s\n", len(t.Wire), d.Summary())
		if len(t.Changed) == 0 {
			fmt.Fprintln(w, "    every byte as handed")
		}
		last := ""
		for _, c := range t.Changed {
			if c.Handed == "" {
				if c.Layer != last {
					fmt.Fprintf(w, "    %s header written by the kernel — %s\n", c.Layer, c.Why)
					last = c.Layer
				}
				continue
			}
			fmt.Fprintf(w, "    %s %s: handed %s, sent %s — %s\n", c.Layer, c.Name, c.Handed, c.Wire, c.Why)
		}
	}
	fmt.Fprintln(w, "\nWho hears the answers (sockets open on Hc at the same time):")
	for i, n := range rep.Listeners {
		fmt.Fprintf(w, "  [%d] %s\n", i+1, n)
	}
	for _, h := range rep.Heard {
		var got []string
		for i, b := range h.Heard {
			if b {
				got = append(got, fmt.Sprintf("[%d]", i+1))
			}
		}
		fmt.Fprintf(w, "  %-62s heard by %s\n", h.Answer, strings.Join(got, " "))
	}
	fmt.Fprintln(w, "\nWithout CAP_NET_RAW (a thread of Hc, user 0 in group nogroup, its effective CAP_NET_RAW and CAP_NET_ADMIN dropped):")
	for _, p := range rep.Privileges {
		verdict := "opens"
		if p.Err != nil {
			verdict = "refused: " + errors.Unwrap(p.Err).Error()
			if errors.Unwrap(p.Err) == nil {
				verdict = "refused: " + p.Err.Error()
			}
		}
		fmt.Fprintf(w, "  %-62s %s — %s\n", p.Socket, verdict, p.Why)
	}
	fmt.Fprintln(w, "  rawcraft build, explain, checksum and read need no privilege; sudo setcap cap_net_raw,cap_net_admin+ep on the binary gives it the capability without root.")
	fmt.Fprintln(w, "\nA raw socket gets a copy of every incoming packet of its protocol (raw(7)): the RST reaches the raw TCP socket though no TCP socket asked;")
	fmt.Fprintf(w, "the port unreachable is ICMP, so the raw ICMP socket gets it, and %s (udp(7), IP_RECVERR);\n", craft.ClaimUnconnectedUDPNeverTold.Text())
	fmt.Fprintln(w, "the ping socket gets only the reply that carries its own identifier; a packet socket sees every frame on the interface (packet(7)).")
	return nil
}
