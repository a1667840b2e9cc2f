package owner

import (
	"bytes"
	"os"
	"strconv"
)

func self() Owner {
	pid := os.Getpid()
	st, _ := startTime(pid)
	return Owner{PID: pid, Start: st}
}

// startTime reads field 22 (starttime) of /proc/PID/stat. The command name
// (field 2) may hold spaces and parentheses: the fields after it are counted
// from its last ')'.
// A zombie (state Z: exited, not yet reaped) counts as gone.
func startTime(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3 (state)
	if len(f) < 20 || string(f[0]) == "Z" {
		return 0, false
	}
	v, err := strconv.ParseUint(string(f[19]), 10, 64)
	return v, err == nil
}

// Alive says whether o's process still runs: its PID exists and started at
// the same moment (a reused PID started later).
func (o Owner) Alive() bool {
	st, ok := startTime(o.PID)
	return ok && (o.Start == 0 || st == o.Start)
}
