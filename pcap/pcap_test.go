package pcap

import (
	"bytes"
	"encoding/hex"
	"io"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, LinkRaw)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1700000000, 123456789)
	pkts := [][]byte{{0x45, 0, 0, 20}, bytes.Repeat([]byte{1}, 1500)}
	for i, p := range pkts {
		if err := w.Write(t0.Add(time.Duration(i)*time.Millisecond), p); err != nil {
			t.Fatal(err)
		}
	}
	// The file header, byte for byte: nanosecond magic, version 2.4, snap
	// length 262144, link type 101.
	want := "4d3cb2a1 0200 0400 00000000 00000000 00000400 65000000"
	if got := hex.EncodeToString(buf.Bytes()[:24]); got != stripSpaces(want) {
		t.Errorf("header %s, want %s", got, want)
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil || r.LinkType != LinkRaw {
		t.Fatalf("reader: %v link %d", err, r.LinkType)
	}
	for i, p := range pkts {
		rec, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.Data, p) || !rec.Time.Equal(t0.Add(time.Duration(i)*time.Millisecond)) || rec.OrigLen != len(p) {
			t.Errorf("record %d: %v %d bytes", i, rec.Time, len(rec.Data))
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last record: %v", err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = w.Write(t0, pkts[0]) }); n != 0 {
		t.Errorf("Write allocates %v times", n)
	}
}

func stripSpaces(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)) }

func FuzzReader(f *testing.F) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, LinkEthernet)
	_ = w.Write(time.Unix(1, 0), []byte{1, 2, 3})
	f.Add(buf.Bytes())
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		for i := 0; i < 100; i++ {
			if _, err := r.Next(); err != nil {
				return
			}
		}
	})
}
