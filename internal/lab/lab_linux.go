package lab

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Up builds the lab, or checks that it is already there (Up is idempotent).
// A lab left half-built is removed and built again. On failure, whatever was
// made is removed.
func Up(cfg Config) (*Lab, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	l := &Lab{cfg: cfg}
	if os.Geteuid() != 0 {
		return nil, ErrPermission
	}
	switch st := l.status(); {
	case st.complete:
		register(l)
		return l, nil
	case len(st.present) > 0:
		if err := l.Down(); err != nil {
			return nil, err
		}
	}
	register(l) // cleanup is armed before the first namespace exists
	if err := l.build(); err != nil {
		derr := l.Down()
		return nil, errors.Join(fmt.Errorf("lab %s: %w", cfg.Name, err), derr)
	}
	return l, nil
}

func register(l *Lab) {
	mu.Lock()
	active[l.cfg.Name] = l
	mu.Unlock()
	armSignals()
}

// Open returns a lab that Up built earlier, perhaps in another process.
func Open(name string, routed bool) (*Lab, error) {
	cfg := Config{Name: name, Routed: routed}
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	l := &Lab{cfg: cfg}
	if st := l.status(); !st.complete {
		return nil, fmt.Errorf("lab %q is not up (found %d of %d namespaces): run rawcraft lab up", name, len(st.present), len(l.Hosts()))
	}
	return l, nil
}

type status struct {
	present  []string
	complete bool
}

func (l *Lab) status() status {
	var st status
	all := true
	for _, h := range l.Hosts() {
		if nsExists(l.NS(h)) {
			st.present = append(st.present, h)
		} else {
			all = false
		}
	}
	st.complete = all
	return st
}

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
