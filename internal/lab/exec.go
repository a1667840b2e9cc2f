package lab

import (
	"os/exec"
)

// Start starts cmd inside host's namespace: the child is forked from a
// thread that has entered the namespace, so it lives there.
func (l *Lab) Start(host string, cmd *exec.Cmd) error {
	return l.Do(host, func() error { return cmd.Start() })
}

// Command returns an exec.Cmd for Start.
func (l *Lab) Command(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

// CleanupAll removes every lab this process made and has not removed yet.
func CleanupAll() {
	mu.Lock()
	labs := make([]*Lab, 0, len(active))
	for _, l := range active {
		labs = append(labs, l)
	}
	mu.Unlock()
	for _, l := range labs {
		_ = l.Down()
	}
}
