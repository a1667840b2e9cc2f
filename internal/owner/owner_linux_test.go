package owner

import (
	"os/exec"
	"testing"
)

func TestSelfAliveAndParse(t *testing.T) {
	me := Self()
	if me.Start == 0 || !me.Alive() {
		t.Fatalf("Self %v: start time %d, alive %v", me, me.Start, me.Alive())
	}
	got, err := Parse(me.String())
	if err != nil || got != me {
		t.Fatalf("Parse(%q) = %v, %v", me.String(), got, err)
	}
	// The same PID with another start time is someone else.
	if (Owner{PID: me.PID, Start: me.Start + 1}).Alive() {
		t.Error("a reused PID counted as the owner")
	}
	for _, bad := range []string{"", "12", "x.1", "1.x", "-1.5", "0.5"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// A process that has exited is not alive.
func TestExitedNotAlive(t *testing.T) {
	c := exec.Command("true")
	if err := c.Start(); err != nil {
		t.Skip(err)
	}
	pid := c.Process.Pid
	st, ok := startTime(pid)
	_ = c.Wait()
	if !ok {
		t.Skip("exited before its start time was read")
	}
	if (Owner{PID: pid, Start: st}).Alive() {
		t.Errorf("pid %d alive after it exited", pid)
	}
}
