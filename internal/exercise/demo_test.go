package exercise

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
)

func TestDemo(t *testing.T) {
	lab.RequireRoot(t)
	var out, errb bytes.Buffer
	start := time.Now()
	if err := Demo(&out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("demo took %v, the budget is 20 s", el)
	}
	s := out.String()
	for _, want := range []string{
		"9997   filtered, no-response", "connect(): timed out", "open|filtered, no-response",
		"9998   closed, rst,", "connect(): ECONNREFUSED", "closed, icmp-port-unreachable,", "sendto() ok; then nothing at all",
		"9999   open, syn-ack,", "connect(): connected", "open, udp-reply,",
		"quoted UDP   Destination Port       9998", "The lab is removed",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// Only this process's lab: another user's demo may be running.
	if _, ok := lab.Labs()[fmt.Sprintf("demo%d", os.Getpid())]; ok {
		t.Errorf("demo left lab demo%d behind", os.Getpid())
	}
}
