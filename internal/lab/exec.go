package lab

import (
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
)

// Start starts cmd inside host's namespace: the child is forked from a
// thread that has entered the namespace, so it lives there.
func (l *Lab) Start(host string, cmd *exec.Cmd) error {
	return l.Do(host, func() error { return cmd.Start() })
}

// Command returns an exec.Cmd for Start.
func (l *Lab) Command(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

var signalOnce sync.Once

// armSignals makes SIGINT and SIGTERM remove the labs of this process before
// it exits, so that an interrupted test or command leaves nothing behind.
func armSignals() {
	signalOnce.Do(func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, os.Interrupt, syscall.SIGTERM)
		go func() {
			s := <-c
			CleanupAll()
			if n, ok := s.(syscall.Signal); ok {
				os.Exit(128 + int(n))
			}
			os.Exit(1)
		}()
	})
}

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
