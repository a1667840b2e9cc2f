package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
)

// undoOnSignal catches Ctrl-C, TERM and HUP from before a command makes
// anything that must be undone (a guard's firewall table, a forwarder's
// rule on a lab cable) until the command ends. A signal undoes what was
// made, in reverse order, then exits with exitInterrupted; one that
// arrives while something is being made waits until it is made, then
// undoes it. Asking for the signals only after making the thing left a
// moment in which TERM ended the process and left the thing behind.
type undoOnSignal struct {
	errw     io.Writer
	sig      chan os.Signal
	done     chan struct{}
	mu       sync.Mutex // held while something is made, and by the signal until exit
	undo     []func() error
	stopping atomic.Bool
}

// trapSignals starts catching the signals; end stops it.
func trapSignals(errw io.Writer) *undoOnSignal {
	u := &undoOnSignal{errw: errw, sig: make(chan os.Signal, 1), done: make(chan struct{})}
	signal.Notify(u.sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case s := <-u.sig:
			u.stopping.Store(true)
			u.mu.Lock() // never unlocked: the process ends here
			for i := len(u.undo) - 1; i >= 0; i-- {
				if err := u.undo[i](); err != nil {
					fmt.Fprintf(u.errw, "rawcraft: %v: %v\n", s, err)
				}
			}
			os.Exit(exitInterrupted)
		case <-u.done:
		}
	}()
	return u
}

// make runs build, which makes something and returns how to undo it (nil
// if it made nothing), so that a signal from then on undoes it.
func (u *undoOnSignal) make(build func() (undo func() error, err error)) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	undo, err := build()
	if undo != nil {
		u.undo = append(u.undo, undo)
	}
	return err
}

// interrupted reports whether a signal is ending the process: whatever
// failed meanwhile failed because its sockets were closed under it.
func (u *undoOnSignal) interrupted() bool { return u.stopping.Load() }

// end stops catching the signals; what was made is the command's to undo.
func (u *undoOnSignal) end() {
	signal.Stop(u.sig)
	close(u.done)
}
