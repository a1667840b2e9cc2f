package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/internal/oracle"
	"github.com/rawcraft/rawcraft/pcap"
)

// TestReadSnapLenCutIsTheCapture: a packet a capture cut short by its
// snapshot length (record length below the original length), cut at every
// byte, is said to be the capture's cut, never a receiver's verdict or a
// wrong length: where tshark says "[Packet size limited during capture]"
// (_ws.short), read --explain says the capture kept n of the packet's bytes,
// and it calls nothing malformed that tshark does not.
func TestReadSnapLenCutIsTheCapture(t *testing.T) {
	for _, c := range []struct {
		link uint32
		args []string
	}{
		{pcap.LinkRaw, []string{"tcp", "--tcp-opt", "nop,nop,ts=1:2", "--data", "hello"}},
		{pcap.LinkRaw, []string{"tcp", "--flags", "S", "--tcp-opt", "mss=1460,sackok,ts=5:0,nop,wscale=7"}},
		{pcap.LinkRaw, []string{"udp", "--data", "hello"}},
		{pcap.LinkRaw, []string{"icmp"}},
		{pcap.LinkRaw, []string{"tcp", "--dst", "2001:2::1", "--src", "2001:2::2", "--tcp-opt", "nop,nop,ts=1:2"}},
		{pcap.LinkEthernet, []string{"tcp", "--ether", "--tcp-opt", "nop,nop,ts=1:2", "--data", "hi"}},
	} {
		b := builtHex(t, c.args...)
		name := filepath.Join(t.TempDir(), "cut.pcap")
		file := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
		file = binary.LittleEndian.AppendUint16(file, 2)
		file = binary.LittleEndian.AppendUint16(file, 4)
		file = append(file, make([]byte, 8)...)
		file = binary.LittleEndian.AppendUint32(file, 65535)
		file = binary.LittleEndian.AppendUint32(file, c.link)
		for n := 1; n < len(b); n++ {
			file = binary.LittleEndian.AppendUint32(file, uint32(n))
			file = binary.LittleEndian.AppendUint32(file, 0)
			file = binary.LittleEndian.AppendUint32(file, uint32(n))
			file = binary.LittleEndian.AppendUint32(file, uint32(len(b)))
			file = append(file, b[:n]...)
		}
		if err := os.WriteFile(name, file, 0o644); err != nil {
			t.Fatal(err)
		}
		out, errs, code := runRoot(t, "", "read", "--explain", name)
		if code != exitOK {
			t.Fatalf("build %v: read exit %d: %s", c.args, code, errs)
		}
		packets := strings.Split(strings.TrimSuffix(out, "\n"), "\n\n")
		if len(packets) != len(b)-1 {
			t.Fatalf("build %v: %d packets read, want %d", c.args, len(packets), len(b)-1)
		}
		n, shorts := 0, 0
		oracle.TsharkDissect(t, name, func(tp *oracle.TsharkPacket) {
			n++
			got := packets[n-1]
			short, malformed := tp.Has("_ws.short"), tp.Has("_ws.malformed")
			want := fmt.Sprintf("(the capture kept %d of the packet's %d bytes, its snapshot length; the rest was not recorded)", n, len(b))
			if short {
				shorts++
			}
			if short && !strings.Contains(got, want) {
				t.Errorf("build %v cut at %d (tshark: packet size limited during capture): no %q:\n%s", c.args, n, want, got)
			}
			for _, lie := range []string{"a receiver reads it as", "wrong length", "runs past the header", "past the end of the packet"} {
				if strings.Contains(got, lie) && !malformed {
					t.Errorf("build %v cut at %d: says %q, tshark calls nothing malformed:\n%s", c.args, n, lie, got)
				}
			}
			if strings.Contains(got, "malformed") && !malformed {
				t.Errorf("build %v cut at %d: says malformed, tshark does not:\n%s", c.args, n, got)
			}
		})
		if shorts == 0 {
			t.Errorf("build %v: tshark never said packet size limited during capture", c.args)
		}
		if n != len(b)-1 {
			t.Fatalf("tshark read %d packets, want %d", n, len(b)-1)
		}
	}
}
