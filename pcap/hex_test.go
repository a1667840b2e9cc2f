package pcap

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// frame is one Ethernet frame carrying a UDP datagram of "Hello, wire!",
// 54 bytes (rawcraft build udp --ether --src-mac 02:00:00:00:01:03
// --dst-mac 02:00:00:00:01:01 --data "Hello, wire!" --hex); every form below
// was printed by the tool it names from this frame.
const frameHex = "020000000101020000000103080045000028000100004011ec9bc6120103c61201019c40270f00149b4448656c6c6f2c207769726521"

func TestParseHexForms(t *testing.T) {
	frame, _ := hex.DecodeString(frameHex)
	ip := frame[14:]
	for _, tc := range []struct {
		name, text string
		want       []byte
	}{
		{"hex stream (Wireshark Copy as Hex Stream)", frameHex + "\n", frame},
		{"hex stream without newline, upper case", strings.ToUpper(frameHex), frame},
		{"spaced hex over lines", "02 00 00 00 01 01 02 00 00 00 01 03 08 00 45 00\n00 28 00 01 00 00 40 11 ec 9b c6 12 01 03 c6 12\n01 01 9c 40 27 0f 00 14 9b 44 48 65 6c 6c 6f 2c\n20 77 69 72 65 21\n", frame},
		{"C array", "{0x02, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x03, 0x08, 0x00,\n" + cArray(ip) + "}\n", frame},
		{"escaped", `\x45\x00\x00\x28\x00\x01\x00\x00\x40\x11\xec\x9b\xc6\x12\x01\x03\xc6\x12\x01\x01\x9c\x40\x27\x0f\x00\x14\x9b\x44\x48\x65\x6c\x6c\x6f\x2c\x20\x77\x69\x72\x65\x21`, ip},
		{"tcpdump -xx", `18:07:39.096372 IP 198.18.1.3.40000 > 198.18.1.1.9999: UDP, length 12
	0x0000:  0200 0000 0101 0200 0000 0103 0800 4500
	0x0010:  0028 0001 0000 4011 ec9b c612 0103 c612
	0x0020:  0101 9c40 270f 0014 9b44 4865 6c6c 6f2c
	0x0030:  2077 6972 6521
`, frame},
		{"tcpdump -X (from the IP header)", `18:07:39.096372 IP 198.18.1.3.40000 > 198.18.1.1.9999: UDP, length 12
	0x0000:  4500 0028 0001 0000 4011 ec9b c612 0103  E..(....@.......
	0x0010:  c612 0101 9c40 270f 0014 9b44 4865 6c6c  .....@'....DHell
	0x0020:  6f2c 2077 6972 6521                      o,.wire!
`, ip},
		{"tcpdump -XX", `18:07:39.096372 IP 198.18.1.3.40000 > 198.18.1.1.9999: UDP, length 12
	0x0000:  0200 0000 0101 0200 0000 0103 0800 4500  ..............E.
	0x0010:  0028 0001 0000 4011 ec9b c612 0103 c612  .(....@.........
	0x0020:  0101 9c40 270f 0014 9b44 4865 6c6c 6f2c  ...@'....DHello,
	0x0030:  2077 6972 6521                           .wire!
`, frame},
		{"xxd", `00000000: 0200 0000 0101 0200 0000 0103 0800 4500  ..............E.
00000010: 0028 0001 0000 4011 ec9b c612 0103 c612  .(....@.........
00000020: 0101 9c40 270f 0014 9b44 4865 6c6c 6f2c  ...@'....DHello,
00000030: 2077 6972 6521                            wire!
`, frame},
		{"od -Ax -tx1", `000000 02 00 00 00 01 01 02 00 00 00 01 03 08 00 45 00
000010 00 28 00 01 00 00 40 11 ec 9b c6 12 01 03 c6 12
000020 01 01 9c 40 27 0f 00 14 9b 44 48 65 6c 6c 6f 2c
000030 20 77 69 72 65 21
000036
`, frame},
		{"od -tx1 (octal offsets)", `0000000 02 00 00 00 01 01 02 00 00 00 01 03 08 00 45 00
0000020 00 28 00 01 00 00 40 11 ec 9b c6 12 01 03 c6 12
0000040 01 01 9c 40 27 0f 00 14 9b 44 48 65 6c 6c 6f 2c
0000060 20 77 69 72 65 21
0000066
`, frame},
		{"hexdump -C", `00000000  02 00 00 00 01 01 02 00  00 00 01 03 08 00 45 00  |..............E.|
00000010  00 28 00 01 00 00 40 11  ec 9b c6 12 01 03 c6 12  |.(....@.........|
00000020  01 01 9c 40 27 0f 00 14  9b 44 48 65 6c 6c 6f 2c  |...@'....DHello,|
00000030  20 77 69 72 65 21                                 | wire!|
00000036
`, frame},
		{"tshark -x / Wireshark hex dump", `0000  02 00 00 00 01 01 02 00 00 00 01 03 08 00 45 00   ..............E.
0010  00 28 00 01 00 00 40 11 ec 9b c6 12 01 03 c6 12   .(....@.........
0020  01 01 9c 40 27 0f 00 14 9b 44 48 65 6c 6c 6f 2c   ...@'....DHello,
0030  20 77 69 72 65 21                                  wire!
`, frame},
		{"Wireshark Copy as Hex Dump (3 spaces), CRLF", "0000   02 00 00 00 01 01 02 00 00 00 01 03 08 00 45 00   ..............E.\r\n0010   00 28 00 01 00 00 40 11 ec 9b c6 12 01 03 c6 12   .(....@.........\r\n0020   01 01 9c 40 27 0f 00 14 9b 44 48 65 6c 6c 6f 2c   ...@'....DHello,\r\n0030   20 77 69 72 65 21                                 wire!\r\n", frame},
		{"short last line, ASCII after three spaces", "0000  45 00 00 28 00 01 00 00 40 11 ec 9b c6 12 01 03   E..(....@.......\n0010  c6 12 01 01 9c 40 27 0f 00 14 9b 44 48 65 6c 6c   .....@'....DHell\n0020  6f 2c 20 77 69 72 65 21 ad   o, wire!\n", append(append([]byte{}, ip...), 0xad)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHex([]byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !bytes.Equal(got[0], tc.want) {
				t.Fatalf("got %d packets %x, want one %x", len(got), got, tc.want)
			}
			// Open finds the same bytes in the text and guesses its link.
			f, ps, err := ReadAll(strings.NewReader(tc.text))
			if err != nil || len(ps) != 1 || !bytes.Equal(ps[0].Data, tc.want) || f.Format != FormatHex {
				t.Fatalf("ReadAll: %v %d packets", err, len(ps))
			}
			wantLink := LinkEthernet
			if tc.want[0] == 0x45 {
				wantLink = LinkRaw
			}
			if ps[0].LinkType != wantLink {
				t.Errorf("link %d, want %d", ps[0].LinkType, wantLink)
			}
		})
	}
}

func cArray(b []byte) string {
	var s []string
	for _, c := range b {
		s = append(s, "0x"+hex.EncodeToString([]byte{c}))
	}
	return strings.Join(s, ", ")
}

func TestParseHexPackets(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"two tcpdump -xx packets", "12:00:00.000001 IP a > b\n\t0x0000:  4500 0014\n12:00:00.000002 IP b > a\n\t0x0000:  4500\n\t0x0002:  0015\n", []string{"45000014", "45000015"}},
		{"offset back to 0 without a break", "0000  01 02\n0002  03\n0000  04 05\n", []string{"010203", "0405"}},
		{"paragraphs of plain hex", "0102\n0304\n\n0506\n", []string{"01020304", "0506"}},
		{"od repeats with *", "000000 41 41 41 41 41 41 41 41 41 41 41 41 41 41 41 41\n*\n000020 41 41 41 41 41 41 41 41\n000028\n", []string{strings.Repeat("41", 40)}},
		{"text only", "hello world\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHex([]byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			var gs []string
			for _, g := range got {
				gs = append(gs, hex.EncodeToString(g))
			}
			if strings.Join(gs, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %v, want %v", gs, tc.want)
			}
		})
	}
}

func TestParseHexErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"0000  01 02\n0010  03\n", "line 2: offset 0x10, but the lines before hold 2 bytes"},
		{"01 02 0\n", "line 1: 5 hex digits, an odd number"},
		// A typo among bytes names the character, its line and column.
		{"4500 0028 zz01\n", `pcap: hex dump line 1, column 11: "z" is not a hex digit (in "zz01")`},
		{"450000280001\n0000 40g6\n", `pcap: hex dump line 2, column 8: "g" is not a hex digit (in "40g6")`},
		{"0x45, 0x00, 0xo0\n", `pcap: hex dump line 1, column 15: "o" is not a hex digit (in "0xo0")`},
		{"0000   45 00 00 28 00 01 00 00 40 06 ec a6 c6 12 01 03\n0010   c6 12 5q 00\n", `pcap: hex dump line 2, column 15: "q" is not a hex digit (in "5q")`},
	} {
		_, err := ParseHex([]byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line with %q", tc.text, err, tc.want)
		}
	}
	// Lines of words stay text around the bytes, as before.
	for _, text := range []string{"Frame 1: 4 bytes\n45000014\n", "add 4 bytes\n01 02\n", "12:34:56.789 IP 1.2.3.4 > 5.6.7.8\n0x0000:  4500 0014\n"} {
		if _, err := ParseHex([]byte(text)); err != nil {
			t.Errorf("%q: %v", text, err)
		}
	}
}

// corpusFiles lists the tcpdump corpus (../shared/corpus/tcpdump from the
// module root) for fuzz seeds and tests; nil when it is absent.
func corpusFiles(tb testing.TB) []string {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "tcpdump", "*"))
	return files
}

func FuzzParseHex(f *testing.F) {
	frame, _ := hex.DecodeString(frameHex)
	f.Add([]byte(frameHex))
	f.Add([]byte("\t0x0000:  4500 0014  E...\n\t0x0010:  01\n"))
	f.Add([]byte("000000 41 41\n*\n000020 41\n000028\n"))
	f.Add([]byte("0000000 41 41\n0000002 41\n"))
	f.Add([]byte("00000000  45 00  |E.|\n"))
	f.Add([]byte(cArray(frame)))
	// Hex forms of the first bytes of corpus captures.
	for i, name := range corpusFiles(f) {
		if i%40 != 0 {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil || len(b) < 64 {
			continue
		}
		f.Add([]byte(hex.Dump(b[24:64])))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		pkts, err := ParseHex(text)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		for _, p := range pkts {
			if len(p) == 0 || len(p) > MaxSnapLen {
				t.Fatalf("packet of %d bytes", len(p))
			}
		}
		// Hex stream of what was read reads back the same.
		var sb strings.Builder
		for _, p := range pkts {
			sb.WriteString(hex.EncodeToString(p) + "\n\n")
		}
		again, err := ParseHex([]byte(sb.String()))
		if err != nil || len(again) != len(pkts) {
			t.Fatalf("hex stream of the result: %v, %d packets of %d", err, len(again), len(pkts))
		}
	})
}

// od's "*" lets three short lines stand for a 256 KiB packet; a dump of
// such lines once made ParseHex expand megabytes per line of text (and
// FuzzParseHex time out). Expansion stops at MaxHexBytes with one error.
func TestParseHexRepeatsAreBounded(t *testing.T) {
	bomb := strings.Repeat("0000 41\n*\n40000\n", 1000)
	pkts, err := ParseHex([]byte(bomb))
	if err == nil || !strings.Contains(err.Error(), "bytes of packets") || pkts != nil {
		t.Fatalf("%d packets, %v; want the MaxHexBytes error", len(pkts), err)
	}
	// Within the bound the repeat is expanded exactly.
	pkts, err = ParseHex([]byte("0000 41 42\n*\n0007\n"))
	if err != nil || len(pkts) != 1 || string(pkts[0]) != "ABABABA" {
		t.Fatalf("%q, %v", pkts, err)
	}
	if _, err := ParseHex([]byte("0000 41\n*\n50000\n")); err == nil || !strings.Contains(err.Error(), "more than 262144") {
		t.Fatalf("a repeat past the largest packet: %v", err)
	}
}

// build --hex prints one packet a line (three fragments: three lines); each
// line that holds a whole packet is one. A dump wrapped at 30 bytes (xxd -p)
// is joined into one packet. (A newcomer's trial read the three fragments
// as one packet with a trailer.)
func TestParseHexOnePacketPerLine(t *testing.T) {
	frag := func(n int, tl int) string {
		b := make([]byte, tl)
		b[0], b[2], b[3], b[9] = 0x45, byte(tl>>8), byte(tl), 17
		b[7] = byte(n)
		return hex.EncodeToString(b)
	}
	lines := frag(1, 1500) + "\n" + frag(2, 1500) + "\n" + frag(3, 1048) + "\n"
	pkts, err := ParseHex([]byte(lines))
	if err != nil || len(pkts) != 3 || len(pkts[0]) != 1500 || len(pkts[2]) != 1048 {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
	frame, _ := hex.DecodeString(frameHex)
	eth := frameHex + "\n" + frameHex + "\n"
	if pkts, err := ParseHex([]byte(eth)); err != nil || len(pkts) != 2 || !bytes.Equal(pkts[1], frame) {
		t.Fatalf("two frames a line: %d packets, %v", len(pkts), err)
	}
	long := frag(1, 100)
	var wrapped strings.Builder
	for i := 0; i < len(long); i += 60 {
		wrapped.WriteString(long[i:min(i+60, len(long))] + "\n")
	}
	if pkts, err := ParseHex([]byte(wrapped.String())); err != nil || len(pkts) != 1 || len(pkts[0]) != 100 {
		t.Fatalf("xxd -p of one 100-byte packet: %d packets, %v", len(pkts), err)
	}
}
