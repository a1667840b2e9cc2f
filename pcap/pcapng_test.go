package pcap

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/oracle"
)

// ngBuilder writes pcapng blocks in either byte order, for tests that need
// what no writer library makes: binary timestamp resolutions, offsets,
// obsolete and simple packet blocks, and damage.
type ngBuilder struct {
	order interface {
		binary.ByteOrder
		binary.AppendByteOrder
	}
	b bytes.Buffer
}

func (w *ngBuilder) block(typ uint32, body []byte) {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	total := uint32(12 + len(body))
	w.b.Write(w.order.AppendUint32(w.order.AppendUint32(nil, typ), total))
	w.b.Write(body)
	w.b.Write(w.order.AppendUint32(nil, total))
}

func (w *ngBuilder) option(b []byte, code uint16, v []byte) []byte {
	b = w.order.AppendUint16(w.order.AppendUint16(b, code), uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (w *ngBuilder) shb() {
	b := w.order.AppendUint32(nil, ngByteOrderMagic)
	b = w.order.AppendUint16(w.order.AppendUint16(b, 1), 0)
	b = w.order.AppendUint64(b, ^uint64(0))
	w.block(ngBlockSHB, b)
}

// idb adds an interface; tsresol < 0 leaves the option out.
func (w *ngBuilder) idb(link uint16, snap uint32, tsresol int, tsoffset int64) {
	b := w.order.AppendUint16(nil, link)
	b = w.order.AppendUint16(b, 0)
	b = w.order.AppendUint32(b, snap)
	if tsresol >= 0 {
		b = w.option(b, ngOptTSResol, []byte{byte(tsresol)})
	}
	if tsoffset != 0 {
		b = w.option(b, ngOptTSOffset, w.order.AppendUint64(nil, uint64(tsoffset)))
	}
	b = w.option(b, ngOptEnd, nil)
	w.block(ngBlockIDB, b)
}

// epb adds an Enhanced Packet Block; flags < 0 leaves epb_flags out.
func (w *ngBuilder) epb(iface uint32, ts uint64, data []byte, orig uint32, flags int) {
	b := w.order.AppendUint32(nil, iface)
	b = w.order.AppendUint32(b, uint32(ts>>32))
	b = w.order.AppendUint32(b, uint32(ts))
	b = w.order.AppendUint32(b, uint32(len(data)))
	b = w.order.AppendUint32(b, orig)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	if flags >= 0 {
		b = w.option(b, ngOptFlags, w.order.AppendUint32(nil, uint32(flags)))
		b = w.option(b, ngOptEnd, nil)
	}
	w.block(ngBlockEPB, b)
}

// The 108-byte pcapng of issue 29: gopacket's pcapgo reader divided by
// zero on it (readInterfaceDescriptor), and rawcraft read panicked.
const issue29Crash = "0a0d0d0a440000004d3c2b1a010000003030303030303030303020003030303030303030303030303030303030303030" +
	"303030303030303030303030303000003030303001000000200000003030303030303030303004004130303009000000" +
	"303030303030303030303030"

func TestPcapNGHostileInputIsOneError(t *testing.T) {
	crash, _ := hex.DecodeString(issue29Crash)
	// The same interface block with its lengths made consistent reaches
	// the timestamp-resolution code that divided by zero: if_tsresol
	// 0x30 (10^-48 s), then every other resolution byte.
	var cases [][]byte
	cases = append(cases, crash)
	for _, r := range []int{0, 9, 19, 20, 28, 29, 0x30, 0x7f, 0x80, 0x9e, 0xbf, 0xc0, 0xff} {
		w := &ngBuilder{order: binary.LittleEndian}
		w.shb()
		w.idb(1, 0, r, 0)
		w.epb(0, ^uint64(0), []byte{1, 2, 3}, 3, -1)
		cases = append(cases, w.b.Bytes())
	}
	for i, b := range cases {
		f, ps, err := ReadAll(bytes.NewReader(b))
		if i == 0 {
			if err == nil || !errors.Is(err, ErrPcapNG) || strings.Contains(err.Error(), "\n") {
				t.Errorf("issue 29's file: %v, want one line wrapping ErrPcapNG", err)
			}
			continue
		}
		if err != nil || f.Format != FormatPcapNG || len(ps) != 1 {
			t.Errorf("case %d: %v, %d packets", i, err, len(ps))
		}
	}
}

// Every damaged framing is refused with an error that says what is wrong.
func TestPcapNGDamage(t *testing.T) {
	good := func() *ngBuilder {
		w := &ngBuilder{order: binary.BigEndian}
		w.shb()
		w.idb(101, 0, -1, 0)
		return w
	}
	for _, tc := range []struct {
		name, want string
		file       func() []byte
	}{
		{"trailing length differs", "at its end", func() []byte {
			w := good()
			w.epb(0, 1, []byte{0x45}, 1, -1)
			b := w.b.Bytes()
			b[len(b)-1]++
			return b
		}},
		{"block length not a multiple of 4", "multiple of 4", func() []byte {
			w := good()
			w.b.Write([]byte{0, 0, 0, 6, 0, 0, 0, 13})
			return w.b.Bytes()
		}},
		{"block length below 12", "less than", func() []byte {
			w := good()
			w.b.Write([]byte{0, 0, 0, 6, 0, 0, 0, 8})
			return w.b.Bytes()
		}},
		{"block larger than 16 MiB", "largest block", func() []byte {
			w := good()
			w.b.Write([]byte{0, 0, 0, 6, 0x7f, 0, 0, 0})
			return w.b.Bytes()
		}},
		{"truncated block", "truncated block", func() []byte {
			w := good()
			w.epb(0, 1, []byte{0x45, 0, 0, 20}, 4, -1)
			return w.b.Bytes()[:w.b.Len()-3]
		}},
		{"captured length past the block", "room for", func() []byte {
			w := good()
			w.epb(0, 1, []byte{0x45, 0, 0, 20}, 4, -1)
			b := w.b.Bytes()
			n := len(b) - 4 - 4 - 4 - 4 // orig length, data, trailer: the captured length
			binary.BigEndian.PutUint32(b[n:], 1000)
			return b
		}},
		{"unknown interface", "interface 3", func() []byte {
			w := good()
			w.epb(3, 1, []byte{0x45}, 1, -1)
			return w.b.Bytes()
		}},
		{"option past its block", "runs past", func() []byte {
			w := &ngBuilder{order: binary.BigEndian}
			w.shb()
			b := []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 200}
			w.block(ngBlockIDB, b)
			return w.b.Bytes()
		}},
		{"if_tsresol of two bytes", "if_tsresol", func() []byte {
			w := &ngBuilder{order: binary.BigEndian}
			w.shb()
			b := w.option([]byte{0, 1, 0, 0, 0, 0, 0, 0}, ngOptTSResol, []byte{6, 6})
			w.block(ngBlockIDB, b)
			return w.b.Bytes()
		}},
		{"version 2", "version 2.0", func() []byte {
			w := &ngBuilder{order: binary.LittleEndian}
			b := w.order.AppendUint32(nil, ngByteOrderMagic)
			b = w.order.AppendUint16(w.order.AppendUint16(b, 2), 0)
			w.block(ngBlockSHB, w.order.AppendUint64(b, 0))
			return w.b.Bytes()
		}},
		{"bad byte-order magic", "byte-order magic", func() []byte {
			return []byte{0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4, 1, 0, 0, 0}
		}},
	} {
		_, _, err := ReadAll(bytes.NewReader(tc.file()))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line saying %q", tc.name, err, tc.want)
		}
	}
}

// Timestamps in every resolution pcapng allows, as exact arithmetic says:
// units of 10^-r or 2^-r seconds, plus if_tsoffset.
func TestPcapNGTimestampResolutions(t *testing.T) {
	for _, tc := range []struct {
		resol  int
		offset int64
		ts     uint64
	}{
		{-1, 0, 1700000000_123456},          // default: microseconds
		{6, 0, 1700000000_123456},           // microseconds, said
		{9, 0, 1700000000_123456789},        // nanoseconds
		{3, 0, 1700000000_123},              // milliseconds
		{0, 0, 1700000000},                  // seconds
		{0x80 | 30, 0, 1700000000<<30 | 99}, // 2^-30 s: the +36.9 ms of issue 24
		{0x80 | 20, 0, 1700000000<<20 | 12345},
		{0x80, 0, 1700000000}, // 2^0 s: seconds, binary
		{0x80 | 63, 0, 1<<63 - 1},
		{0x80 | 64, 0, ^uint64(0)},
		{0x80 | 100, 0, ^uint64(0)},
		{19, 0, 17_000000000_000000000},
		{25, 0, ^uint64(0)},
		{9, 3600, 1700000000_000000001},
		{6, -1700000000, 1700000000_000001},
	} {
		w := &ngBuilder{order: binary.LittleEndian}
		w.shb()
		w.idb(101, 0, tc.resol, tc.offset)
		w.epb(0, tc.ts, []byte{0x45}, 1, -1)
		_, ps, err := ReadAll(bytes.NewReader(w.b.Bytes()))
		if err != nil || len(ps) != 1 {
			t.Fatalf("resol %#x: %v", tc.resol, err)
		}
		want := exactTime(tc.ts, tc.resol, tc.offset)
		if !ps[0].Time.Equal(want) {
			t.Errorf("if_tsresol %#x, ts %d: %v, want %v (off by %v)", tc.resol, tc.ts, ps[0].Time.UTC(), want.UTC(), ps[0].Time.Sub(want))
		}
	}
}

// exactTime is the timestamp by big-number arithmetic: floor(ts·10^9 / u)
// nanoseconds, u the number of units per second.
func exactTime(ts uint64, resol int, offset int64) time.Time {
	if resol < 0 {
		resol = 6
	}
	u := new(big.Int)
	if resol&0x80 != 0 {
		u.Lsh(big.NewInt(1), uint(resol&0x7f))
	} else {
		u.Exp(big.NewInt(10), big.NewInt(int64(resol)), nil)
	}
	ns := new(big.Int).Mul(new(big.Int).SetUint64(ts), big.NewInt(1e9))
	ns.Quo(ns, u)
	sec, rem := new(big.Int).QuoRem(ns, big.NewInt(1e9), new(big.Int))
	return time.Unix(sec.Int64()+offset, rem.Int64())
}

// Simple and obsolete packet blocks, a second section in the other byte
// order (whose interfaces replace the first's), directions.
func TestPcapNGBlocks(t *testing.T) {
	w := &ngBuilder{order: binary.LittleEndian}
	w.shb()
	w.idb(1, 4, -1, 0)
	w.block(ngBlockSPB, append(w.order.AppendUint32(nil, 6), 1, 2, 3, 4, 5, 6))
	pb := w.order.AppendUint16(nil, 0)
	pb = w.order.AppendUint16(pb, 7) // drops
	pb = w.order.AppendUint32(pb, 0)
	pb = w.order.AppendUint32(pb, 5)
	pb = w.order.AppendUint32(pb, 2)
	pb = w.order.AppendUint32(pb, 2)
	pb = append(pb, 9, 9, 0, 0)
	pb = w.option(pb, ngOptFlags, w.order.AppendUint32(nil, 1))
	w.block(ngBlockPB, pb)
	w.block(0x00000bad, []byte{1, 2, 3, 4}) // an unknown block is skipped
	w2 := &ngBuilder{order: binary.BigEndian}
	w2.shb()
	w2.idb(101, 0, 9, 0)
	w2.epb(0, 7, []byte{0x45, 0, 0, 20}, 4, 2)
	w.b.Write(w2.b.Bytes())
	_, ps, err := ReadAll(bytes.NewReader(w.b.Bytes()))
	if err != nil || len(ps) != 3 {
		t.Fatalf("%v, %d packets", err, len(ps))
	}
	if !bytes.Equal(ps[0].Data, []byte{1, 2, 3, 4}) || ps[0].OrigLen != 6 || !ps[0].Truncated() || ps[0].LinkType != LinkEthernet {
		t.Errorf("simple block: %+v", ps[0])
	}
	if !bytes.Equal(ps[1].Data, []byte{9, 9}) || ps[1].Direction != DirInbound || !ps[1].Time.Equal(time.Unix(0, 5000)) {
		t.Errorf("packet block: %+v", ps[1])
	}
	if ps[2].LinkType != LinkRaw || ps[2].Direction != DirOutbound || !ps[2].Time.Equal(time.Unix(0, 7)) || ps[2].Interface != 0 {
		t.Errorf("second section: %+v", ps[2])
	}
	// A simple packet block with no interface described is an error.
	w = &ngBuilder{order: binary.LittleEndian}
	w.shb()
	w.block(ngBlockSPB, []byte{1, 0, 0, 0, 1, 0, 0, 0})
	if _, _, err := ReadAll(bytes.NewReader(w.b.Bytes())); err == nil || !strings.Contains(err.Error(), "no interface") {
		t.Errorf("simple block without an interface: %v", err)
	}
}

// tsharkFrame is what tshark says of one frame.
type tsharkFrame struct {
	epoch         string
	len, capLen   int
	interfaceID   int
	direction     string
	haveInterface bool
}

func tsharkFrames(t *testing.T, tshark, file string) ([]tsharkFrame, error) {
	cmd := exec.Command(tshark, "-n", "-r", file, "-T", "fields", "-E", "separator=|",
		"-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.interface_id", "-e", "frame.packet_flags_direction")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	var fs []tsharkFrame
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		c := strings.Split(line, "|")
		if len(c) < 5 {
			t.Fatalf("tshark line %q", line)
		}
		var f tsharkFrame
		f.epoch = c[0]
		f.len, _ = strconv.Atoi(c[1])
		f.capLen, _ = strconv.Atoi(c[2])
		f.interfaceID, _ = strconv.Atoi(c[3])
		f.haveInterface = c[3] != ""
		f.direction = c[4]
		fs = append(fs, f)
	}
	if err != nil {
		err = fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return fs, err
}

// epochNanos reads tshark's frame.time_epoch ("1700000000.123456789").
func epochNanos(s string) (int64, bool) {
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, false
	}
	frac = (frac + "000000000")[:9]
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, false
	}
	if strings.HasPrefix(sec, "-") {
		f = -f
	}
	return n*1e9 + f, true
}

// The reader against tshark (Wireshark's wiretap), packet by packet, on
// every pcapng file of the tcpdump corpus and on files in every timestamp
// resolution: the same packets, lengths, interfaces, directions and times
// to the nanosecond. Where tshark stops at damage, the packets before it
// must agree and the reader must stop too.
func TestPcapNGAgreesWithTshark(t *testing.T) {
	tshark := oracle.Require(t, "tshark")
	var files []string
	if c := corpusDir(t); c != "" {
		ng, _ := filepath.Glob(filepath.Join(c, "*.pcapng"))
		files = append(files, ng...)
	}
	dir := t.TempDir()
	for _, r := range []int{-1, 0, 3, 6, 9, 0x80 | 10, 0x80 | 20, 0x80 | 30} {
		w := &ngBuilder{order: binary.LittleEndian}
		w.shb()
		w.idb(101, 0, r, 0)
		for i, ts := range []uint64{1700000000 << 30, 1700000000<<30 | 99, 1 << 50, 123456789} {
			w.epb(0, ts+uint64(i), []byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 198, 18, 1, 3, 198, 18, 1, 1}, 20, i%3)
		}
		name := filepath.Join(dir, fmt.Sprintf("resol-%02x.pcapng", r&0xff))
		if err := os.WriteFile(name, w.b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	compared := 0
	for _, name := range files {
		want, terr := tsharkFrames(t, tshark, name)
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		_, got, rerr := ReadAll(bytes.NewReader(raw))
		base := filepath.Base(name)
		if terr == nil && rerr != nil {
			t.Errorf("%s: tshark reads it all, we stop after %d packets: %v", base, len(got), rerr)
		}
		if terr == nil && len(got) != len(want) {
			t.Errorf("%s: %d packets, tshark %d", base, len(got), len(want))
		}
		for i := range min(len(got), len(want)) {
			g, w := got[i], want[i]
			ns, ok := epochNanos(w.epoch)
			if g.OrigLen != w.len || len(g.Data) != w.capLen || (w.haveInterface && g.Interface != w.interfaceID) {
				t.Errorf("%s #%d: len %d caplen %d interface %d; tshark %d %d %d", base, i+1, g.OrigLen, len(g.Data), g.Interface, w.len, w.capLen, w.interfaceID)
			}
			if ok && g.Time.UnixNano() != ns {
				t.Errorf("%s #%d: time %d ns, tshark %s", base, i+1, g.Time.UnixNano(), w.epoch)
			}
			d, _ := strconv.ParseUint(w.direction, 0, 32) // "0x00000001"
			dir := [...]Direction{DirUnknown, DirInbound, DirOutbound, DirUnknown}[d&3]
			if g.Direction != dir {
				t.Errorf("%s #%d: direction %v, tshark %q", base, i+1, g.Direction, w.direction)
			}
			compared++
		}
	}
	t.Logf("%d files, %d packets compared with tshark", len(files), compared)
	if compared == 0 {
		t.Fatal("nothing compared")
	}
}
