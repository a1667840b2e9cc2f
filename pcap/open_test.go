package pcap

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// classicFile builds a classic little-endian microsecond pcap file.
func classicFile(linkField, snap uint32, recs ...[]byte) []byte {
	var b bytes.Buffer
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h, magicMicro)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snap)
	binary.LittleEndian.PutUint32(h[20:], linkField)
	b.Write(h)
	for i, r := range recs {
		rh := make([]byte, 16)
		binary.LittleEndian.PutUint32(rh, uint32(i))
		binary.LittleEndian.PutUint32(rh[8:], uint32(len(r)))
		binary.LittleEndian.PutUint32(rh[12:], uint32(len(r)+7))
		b.Write(rh)
		b.Write(r)
	}
	return b.Bytes()
}

// TestClassicLibpcapRules: the three ways the old reader differed from
// libpcap (issue 17).
func TestClassicLibpcapRules(t *testing.T) {
	t.Run("FCS bits of the link-type field are masked", func(t *testing.T) {
		// 0x04000001: Ethernet, with the "FCS length present" bit (as
		// bootp_asan.pcap); 0x24000001: and 2 16-bit words (4 bytes) of FCS.
		for _, field := range []uint32{0x04000001, 0x24000001} {
			r, err := NewReader(bytes.NewReader(classicFile(field, 100)))
			if err != nil || r.LinkType != LinkEthernet {
				t.Errorf("field %#x: link %d, %v; want 1", field, r.LinkType, err)
			}
		}
		r, _ := NewReader(bytes.NewReader(classicFile(0x24000001, 100)))
		if r.FCSLen != 4 {
			t.Errorf("FCS length %d, want 4", r.FCSLen)
		}
	})
	t.Run("records longer than the snapshot length are cut to it", func(t *testing.T) {
		long := bytes.Repeat([]byte{0xab}, 100)
		r, _ := NewReader(bytes.NewReader(classicFile(1, 53, long, []byte{1, 2, 3})))
		rec, err := r.Next()
		if err != nil || len(rec.Data) != 53 || rec.OrigLen != 107 || !rec.Truncated() {
			t.Fatalf("record: %v %d bytes of %d", err, len(rec.Data), rec.OrigLen)
		}
		rec, err = r.Next() // the rest of the long record was skipped
		if err != nil || !bytes.Equal(rec.Data, []byte{1, 2, 3}) {
			t.Fatalf("next record %x, %v", rec.Data, err)
		}
	})
	t.Run("records over 65535 bytes read on; over 262144 stop", func(t *testing.T) {
		big := bytes.Repeat([]byte{7}, 70000)
		r, _ := NewReader(bytes.NewReader(classicFile(1, 262144, big, []byte{9})))
		for i, want := range []int{70000, 1} {
			rec, err := r.Next()
			if err != nil || len(rec.Data) != want {
				t.Fatalf("record %d: %d bytes, %v", i, len(rec.Data), err)
			}
		}
		r, _ = NewReader(bytes.NewReader(classicFile(1, 0, bytes.Repeat([]byte{7}, MaxSnapLen+1))))
		if _, err := r.Next(); err == nil || !strings.Contains(err.Error(), "262144") {
			t.Errorf("a record of %d bytes: %v", MaxSnapLen+1, err)
		}
	})
	dir := corpusDir(t)
	if dir == "" {
		return
	}
	t.Run("corpus", func(t *testing.T) {
		f, _ := os.Open(filepath.Join(dir, "bootp_asan.pcap"))
		defer f.Close()
		r, err := NewReader(f)
		if err != nil || r.LinkType != LinkEthernet {
			t.Errorf("bootp_asan.pcap: link %d, %v", r.LinkType, err)
		}
		g, _ := os.Open(filepath.Join(dir, "pim-packet-assortment.pcap"))
		defer g.Close()
		_, ps, err := ReadAll(g)
		if err != nil || len(ps) != 245 {
			t.Errorf("pim-packet-assortment.pcap: %d records, %v; tcpdump reads 245", len(ps), err)
		}
	})
}

// corpusDir is ../shared/corpus/tcpdump from the module root; "" (after a
// skip of the caller, or a failure under CI) when absent.
func corpusDir(t *testing.T) string {
	t.Helper()
	c := filepath.Join("..", "..", "shared", "corpus", "tcpdump")
	if _, err := os.Stat(c); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no capture corpus at %s (CI has ../shared/corpus)", c)
		}
		t.Logf("no capture corpus at %s", c)
		return ""
	}
	return c
}

// ngFile writes a pcapng file with two interfaces, Ethernet and raw IP,
// and a packet on each, the second with the outbound direction flag.
func ngFile(t testing.TB) ([]byte, [][]byte) {
	t.Helper()
	frame, _ := hex.DecodeString(frameHex)
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 0, TimestampResolution: 9}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw, SnapLength: 30, TimestampResolution: 9})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1700000000, 123456789)
	if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: t0, CaptureLength: len(frame), Length: len(frame)}, frame); err != nil {
		t.Fatal(err)
	}
	ip := frame[14:]
	out := &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlagDirectionOutbound}
	if err := w.WritePacketWithOptions(gopacket.CaptureInfo{Timestamp: t0.Add(time.Millisecond), CaptureLength: len(ip), Length: len(ip), InterfaceIndex: id}, ip, pcapgo.NgPacketOptions{Flags: out}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), [][]byte{frame, ip[:30]}
}

func TestOpenPcapNG(t *testing.T) {
	file, want := ngFile(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(file)
	zw.Close()
	for _, tc := range []struct {
		name string
		b    []byte
		gzip bool
	}{{"pcapng", file, false}, {"pcapng.gz", gz.Bytes(), true}} {
		f, ps, err := ReadAll(bytes.NewReader(tc.b))
		if err != nil || f.Format != FormatPcapNG || f.Gzip != tc.gzip || len(ps) != 2 {
			t.Fatalf("%s: %v format %v gzip %v, %d packets", tc.name, err, f.Format, f.Gzip, len(ps))
		}
		if ps[0].LinkType != LinkEthernet || ps[1].LinkType != LinkRaw || ps[1].Interface != 1 {
			t.Errorf("%s: link types %d %d, interface %d", tc.name, ps[0].LinkType, ps[1].LinkType, ps[1].Interface)
		}
		if ps[0].Direction != DirUnknown || ps[1].Direction != DirOutbound {
			t.Errorf("%s: directions %v %v", tc.name, ps[0].Direction, ps[1].Direction)
		}
		// The second interface's snapshot length is 30: its 40-byte
		// packet is cut to 30 and says so.
		for i := range want {
			if !bytes.Equal(ps[i].Data, want[i]) {
				t.Errorf("%s packet %d: %x, want %x", tc.name, i, ps[i].Data, want[i])
			}
		}
		if ps[0].Truncated() || !ps[1].Truncated() || ps[1].OrigLen != 40 {
			t.Errorf("%s: truncated %v %v (orig %d)", tc.name, ps[0].Truncated(), ps[1].Truncated(), ps[1].OrigLen)
		}
		if !ps[1].Time.Equal(time.Unix(1700000000, 124456789)) {
			t.Errorf("%s: time %v", tc.name, ps[1].Time)
		}
	}
}

func TestOpenClassicGzip(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, LinkRaw)
	w.Write(time.Unix(5, 0), []byte{0x45, 0, 0, 20})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(buf.Bytes())
	zw.Close()
	f, ps, err := ReadAll(&gz)
	if err != nil || !f.Gzip || f.Format != FormatPcap || len(ps) != 1 || ps[0].LinkType != LinkRaw {
		t.Fatalf("%v %+v %d", err, f, len(ps))
	}
}

// A cut or damaged gzip stream is said to be one, not taken for a cut
// capture ("truncated record") or not a capture at all ("0 bytes").
func TestOpenGzipDamage(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, LinkRaw)
	w.Write(time.Unix(5, 0), bytes.Repeat([]byte{0x45, 0, 0, 20}, 100))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(buf.Bytes())
	zw.Close()
	whole := gz.Bytes()
	crc := append([]byte(nil), whole...)
	crc[len(crc)-6] ^= 0xff // the CRC-32 in the trailer
	for _, c := range []struct {
		desc string
		b    []byte
		want string
	}{
		{"header only", whole[:10], "gzip-compressed input: the compressed data ends early: the file was cut short"},
		{"cut inside the data", whole[:30], "gzip-compressed input: the compressed data ends early: the file was cut short"},
		{"CRC", crc, "gzip-compressed input: the data does not match its CRC-32: the file is damaged"},
		{"bad header", []byte{0x1f, 0x8b, 9, 0, 0, 0, 0, 0, 0, 0}, "gzip-compressed input: a damaged gzip header"},
	} {
		_, _, err := ReadAll(bytes.NewReader(c.b))
		var ge *GzipError
		if !errors.As(err, &ge) || !strings.HasSuffix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line ending %q", c.desc, err, c.want)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	for _, b := range [][]byte{{0x7f, 'E', 'L', 'F', 2, 1}, {1, 2}, nil} {
		_, err := Open(bytes.NewReader(b))
		if !errors.Is(err, ErrFormat) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%x: %v, want one line wrapping ErrFormat", b, err)
		}
	}
}

func TestParseLink(t *testing.T) {
	ip := []byte{0x45, 0, 0, 20}
	sll := append([]byte{0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 1, 3, 0, 0, 0x08, 0x00}, ip...)
	sllVLAN := append([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 1, 3, 0, 0, 0x81, 0x00, 0x00, 0x0a, 0x08, 0x00}, ip...)
	sll2 := append([]byte{0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 2, 0, 0, 0, 1, 3, 0, 0}, ip...)
	null := append([]byte{2, 0, 0, 0}, ip...)
	nullBE := append([]byte{0, 0, 0, 2}, ip...)
	for _, tc := range []struct {
		name string
		link uint32
		b    []byte
		want Link
	}{
		{"raw", LinkRaw, ip, Link{EtherType: EtherTypeIPv4}},
		{"SLL outgoing", LinkLinuxSLL, sll, Link{Len: 16, EtherType: EtherTypeIPv4, PacketType: 4, Direction: DirOutbound}},
		{"SLL 802.1Q", LinkLinuxSLL, sllVLAN, Link{Len: 20, EtherType: EtherTypeIPv4, Direction: DirInbound, VLANs: []uint16{10}}},
		{"SLL2 outgoing", LinkSLL2, sll2, Link{Len: 20, EtherType: EtherTypeIPv4, PacketType: 4, Direction: DirOutbound}},
		{"null, little-endian host", LinkNull, null, Link{Len: 4, EtherType: EtherTypeIPv4}},
		{"null, big-endian host", LinkNull, nullBE, Link{Len: 4, EtherType: EtherTypeIPv4}},
		{"loop", LinkLoop, nullBE, Link{Len: 4, EtherType: EtherTypeIPv4}},
	} {
		got, err := ParseLink(tc.link, tc.b)
		if err != nil || got.Len != tc.want.Len || got.EtherType != tc.want.EtherType || got.Direction != tc.want.Direction ||
			got.PacketType != tc.want.PacketType || len(got.VLANs) != len(tc.want.VLANs) {
			t.Errorf("%s: %+v %v, want %+v", tc.name, got, err, tc.want)
		}
	}
	if _, err := ParseLink(127, ip); err == nil || !strings.Contains(err.Error(), "IEEE802_11_RADIOTAP (127)") {
		t.Errorf("radiotap: %v", err)
	}
	if _, err := ParseLink(LinkSLL2, ip); err == nil || !strings.Contains(err.Error(), "needs 20 bytes") {
		t.Errorf("short SLL2: %v", err)
	}
}

// TestCorpusOpens reads every file of tcpdump's test captures: each opens
// (classic pcap or pcapng, any link type) or is refused in one line, and no
// record reads past its bytes or panics; ParseLink runs on every record of
// a decodable link type.
func TestCorpusOpens(t *testing.T) {
	dir := corpusDir(t)
	if dir == "" {
		t.Skip("no corpus")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var opened, ng, packets int
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, ps, err := ReadAll(bytes.NewReader(b))
		if f == nil {
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: refused with %q", filepath.Base(name), err)
			}
			continue
		}
		opened++
		if f.Format == FormatPcapNG {
			ng++
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %q", filepath.Base(name), err)
		}
		for _, p := range ps {
			packets++
			if Decodable(p.LinkType) && p.LinkType != LinkEthernet {
				_, _ = ParseLink(p.LinkType, p.Data)
			}
		}
	}
	t.Logf("%d files, %d opened (%d pcapng), %d packets", len(files), opened, ng, packets)
	if ng != 45 || opened != len(files) {
		t.Errorf("%d pcapng opened of 45, %d of %d files", ng, opened, len(files))
	}
}

func FuzzOpen(f *testing.F) {
	file, _ := ngFile(f)
	f.Add(file)
	f.Add(classicFile(0x04000001, 53, bytes.Repeat([]byte{1}, 60)))
	f.Add([]byte(frameHex))
	crash, _ := hex.DecodeString(issue29Crash)
	f.Add(crash)
	for i, name := range corpusFiles(f) {
		if i%8 != 0 {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		f.Add(b[:min(len(b), 4096)])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fl, err := Open(bytes.NewReader(b))
		if err != nil {
			return
		}
		for i := 0; i < 1000; i++ {
			p, err := fl.Next()
			if err != nil {
				if err != io.EOF && strings.Contains(err.Error(), "\n") {
					t.Fatalf("error of more than one line: %q", err)
				}
				return
			}
			if len(p.Data) > MaxSnapLen {
				t.Fatalf("record of %d bytes", len(p.Data))
			}
			_, _ = ParseLink(p.LinkType, p.Data)
		}
	})
}

// GuessLink takes raw IPv4, and raw IPv6 whose payload length fits the
// bytes exactly, for raw IP; anything else for Ethernet.
func TestGuessLink(t *testing.T) {
	v6 := make([]byte, 48)
	v6[0], v6[5] = 0x60, 8 // version 6, payload length 8
	eth := append([]byte{0x60, 0, 0, 0, 0, 1}, make([]byte, 54)...)
	for _, c := range []struct {
		name string
		b    []byte
		want uint32
	}{
		{"IPv4 header", append([]byte{0x45, 0, 0, 28}, make([]byte, 24)...), LinkRaw},
		{"IPv4 header cut at 19 bytes", []byte{0x45, 0, 0, 0x1c, 0, 1, 0, 0, 0x40, 0x11, 0xec, 0xa6, 0xc6, 0x12, 0, 1, 0xc6, 0x12, 0}, LinkRaw},
		{"IPv4 total length below its header", append([]byte{0x45}, make([]byte, 27)...), LinkEthernet},
		{"IPv6 header, payload length exact", v6, LinkRaw},
		{"IPv6 header, payload length off by one", append(append([]byte(nil), v6...), 0), LinkEthernet},
		{"a frame to a MAC starting 60:", eth, LinkEthernet},
		{"short", []byte{0x60}, LinkEthernet},
	} {
		if got := GuessLink(c.b); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
