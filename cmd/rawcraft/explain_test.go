package main

import (
	"strings"
	"testing"
)

// The example: after two NOPs the timestamps and the SACK block
// were not drawn, and each NOP took a 32-bit row.
func TestExplainDrawsEveryTCPOption(t *testing.T) {
	out, _, code := runCLI(t, "explain", "tcp", "--tcp-opt", "nop,nop,ts=1:2,nop,nop,sack=5-9")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, row := range []string{
		"|     Kind      |     Kind      |     Kind      |    Length     |\n|       1       |       1       |       8       |      10       |",
		"|                             TSval                             |\n|                               1                               |",
		"|                             TSecr                             |\n|                               2                               |",
		"|     Kind      |     Kind      |     Kind      |    Length     |\n|       1       |       1       |       5       |      10       |",
		"|                    Left Edge of 1st Block                     |",
		"|                    Right Edge of 1st Block                    |",
	} {
		if !strings.Contains(out, row) {
			t.Errorf("the diagram lacks\n%s\nin\n%s", row, out)
		}
	}
	if !strings.Contains(out, "[RFC 7323 §3.2]") || !strings.Contains(out, "[RFC 2018 §3]") {
		t.Errorf("options do not cite RFC 7323 and RFC 2018:\n%s", out)
	}
}
