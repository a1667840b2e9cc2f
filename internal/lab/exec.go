package lab

import (
	"os/exec"
	"sync"
)

// Command returns an exec.Cmd for Start.
func (l *Lab) Command(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

// buildMu is held while Up builds a lab, Keep hands it over, and a signal
// removes this process's labs.
var buildMu sync.Mutex

// CleanupAll removes every lab this process made and has not removed or
// kept yet; it waits for a lab being built.
func CleanupAll() {
	buildMu.Lock()
	defer buildMu.Unlock()
	cleanupAll()
}

func cleanupAll() {
	mu.Lock()
	labs := make([]*Lab, 0, len(active))
	for _, l := range active {
		labs = append(labs, l)
	}
	mu.Unlock()
	for _, l := range labs {
		_ = l.Down()
	}
	cleanupMultipaths()
}
