package pcap

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"strings"
	"testing"
)

// The words of Open's errors: sizes said in bytes of the file (or of its
// decompressed data), no Go reader words, no prefix said twice.
func TestOpenErrorWords(t *testing.T) {
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	head := binary.LittleEndian.AppendUint32(nil, magicMicro)
	ten := append(append([]byte{}, head...), 2, 0, 4, 0, 0, 0)
	ng := binary.LittleEndian.AppendUint32(nil, pcapngMagic)
	ng = binary.LittleEndian.AppendUint32(ng, 7)
	ng = binary.LittleEndian.AppendUint32(ng, 0x1a2b3c4d)
	ng = append(ng, make([]byte, 20)...)
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{ten, "pcap: not a pcap file: the file is 10 bytes, shorter than a pcap file header's 24"},
		{gz(ten), "pcap: not a pcap file: its decompressed data are 10 bytes, shorter than a pcap file header's 24"},
		{[]byte{0xd4}, "pcap: not a pcap file: the file is 1 byte, shorter than any capture's 4-byte magic number"},
		{gz([]byte{0xdc, 0x61, 0x53, 0xff, 0, 0}), "pcap: not a pcap file: gzip-compressed, and its decompressed data begin dc6153ff: neither pcap, pcapng nor a hex dump"},
		{ng, "pcapng: block total length 7"},
	} {
		_, err := Open(bytes.NewReader(c.in))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Open(% x): %v, want %q", c.in, err, c.want)
		}
	}
	if got := LinkTypeWords(258); got != "link type 258" {
		t.Errorf("LinkTypeWords(258) = %q", got)
	}
	if got := LinkTypeWords(1); got != "link type ETHERNET (1)" {
		t.Errorf("LinkTypeWords(1) = %q", got)
	}
}
