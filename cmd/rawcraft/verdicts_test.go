package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 14 through the CLI: each input that gave a wrong verdict, and the
// right one.

func TestBuildBadFragOffsetOverflowExits2(t *testing.T) {
	out, errOut, code := runCLI(t, "build", "udp", "--frag-offset", "8190", "--frag", "8", "--size", "24")
	if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "offset 8192") || !strings.Contains(errOut, "13-bit") {
		t.Errorf("exit %d, stdout %q, stderr %q: want exit 2 and one line naming offset 8192 and the 13-bit field", code, out, errOut)
	}
}

func TestBuildLyingUDPLengthBlamed(t *testing.T) {
	out, _, code := runCLI(t, "build", "udp", "--data", "Hello", "--udp-len", "100")
	if code != 0 || !strings.Contains(out, "UDP length at byte 24: malformed: UDP length 100 > IP payload length 13") || strings.Contains(out, "IPv4 total length at") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestBuildVLANTag(t *testing.T) {
	out, _, code := runCLI(t, "build", "udp", "--vlan", "5:3", "--data", "Hi", "--hex")
	// dst, src zero; TPID 0x8100, TCI 0x6005 (PCP 3, VID 5); EtherType 0x0800
	if code != 0 || !strings.HasPrefix(out, "000000000000000000000000"+"81006005"+"0800"+"45") {
		t.Errorf("exit %d: %s", code, out)
	}
	out, _, code = runCLI(t, "build", "udp", "--vlan", "100,5", "--data", "Hi")
	if code != 0 || !strings.Contains(out, "Ethernet/802.1Q/IPv4/UDP") || !strings.Contains(out, "0x88a8") || !strings.Contains(out, "VLAN 100") || !strings.Contains(out, "VLAN 5") {
		t.Errorf("QinQ: exit %d:\n%s", code, out)
	}
	for _, bad := range []string{"4095", "5:8", "1,2,3", "x"} {
		if _, errOut, code := runCLI(t, "build", "udp", "--vlan", bad); code != 2 || !strings.Contains(errOut, `--vlan "`+bad+`"`) {
			t.Errorf("--vlan %s: exit %d, %q", bad, code, errOut)
		}
	}
}

func TestExplainTrailerAndWindowScale(t *testing.T) {
	out, _, code := runCLI(t, "explain", "tcp", "--ip-len", "40", "--data", "Hello")
	if code != 0 || !strings.Contains(out, `5 bytes: "Hello"`) || !strings.Contains(out, "past the IPv4 total length 40") {
		t.Errorf("trailer not shown:\n%s", out)
	}
	out, _, code = runCLI(t, "explain", "tcp", "--tcp-opt", "wscale=15")
	if code != 0 || !strings.Contains(out, "receivers use 14") || strings.Contains(out, "32768") {
		t.Errorf("window scale 15:\n%s", out)
	}
}

func TestChecksumOf65000BytesIsFast(t *testing.T) {
	start := time.Now()
	out, _, code := runCLI(t, "checksum", strings.Repeat("A", 65000))
	if el := time.Since(start); code != 0 || el > 2*time.Second || strings.Count(out, "\n") < 32500 {
		t.Errorf("exit %d after %v, %d lines", code, el, strings.Count(out, "\n"))
	}
}

func TestBadDataFileBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 65536), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"/dev/zero", big} {
		if _, err := os.Stat(name); err != nil {
			continue
		}
		start := time.Now()
		_, errOut, code := runCLI(t, "build", "udp", "--data-file", name)
		if code != 2 || !strings.Contains(errOut, "more than 65535 bytes") || time.Since(start) > time.Second {
			t.Errorf("--data-file %s: exit %d after %v: %q", name, code, time.Since(start), errOut)
		}
	}
}
