package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/rawcraft/rawcraft/internal/owner"
)

// Up builds the lab, or checks the one already there (Up is idempotent).
// The lab belongs to this process: its record (RecordDir) names it before
// the first namespace exists, and it is removed on INT, TERM and HUP, by
// Down, or — after a SIGKILL — by Sweep. Keep hands it over to the user.
//
// A lab already there is verified as Check does (every namespace, link,
// address, route and sysctl as specified); one that is half-built, broken
// or left by a dead process is removed and built again, and Repaired says
// what was wrong. A lab owned by another running process is refused
// (ErrBusy). A lab that does not pass Check after building is removed and
// an error returned: Up never returns a broken lab. On failure, whatever
// was made is removed.
func Up(cfg Config) (*Lab, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	l := &Lab{cfg: cfg}
	if os.Geteuid() != 0 {
		return nil, ErrPermission
	}
	// A signal from here on waits until the lab is whole or gone, then
	// removes it: never a namespace made after the removal.
	armSignals()
	buildMu.Lock()
	defer buildMu.Unlock()
	if own, st := stateOf(cfg.Name); st == Live && !ownedBySelf(own, cfg.Name) {
		return nil, fmt.Errorf("lab %s %w (owner %s): choose another --name", cfg.Name, ErrBusy, own)
	}
	present := l.status().present
	if len(present) > 0 {
		// A lab of another kind is not broken: it is replaced, and
		// Replaced says what it was; Check would list what the other kind
		// lacks as damage.
		if r, ok := readRecord(cfg.Name); ok && (r.cfg.Routed != cfg.Routed || r.cfg.Offload != cfg.Offload ||
			r.cfg.FarMTU != cfg.FarMTU || r.cfg.FragTime != cfg.FragTime) {
			l.replaced = [2]string{r.cfg.kindBeside(cfg), cfg.kindBeside(r.cfg)}
		} else {
			l.repaired = append(l.repaired, l.Check()...)
		}
	}
	// The record, naming this process, comes before any namespace: a run
	// killed from here on leaves an orphan that Sweep recognises.
	register(l)
	if err := writeRecord(cfg, owner.Self().String()); err != nil {
		return nil, errors.Join(err, l.Down())
	}
	if len(present) > 0 && len(l.repaired) == 0 && l.replaced[0] == "" {
		return l, nil
	}
	if len(present) > 0 {
		for _, h := range hostsOf(true) {
			if err := deleteNS(l.NS(h)); err != nil {
				return nil, errors.Join(err, l.Down())
			}
		}
	}
	if err := l.build(); err != nil {
		return nil, errors.Join(fmt.Errorf("lab %s: %w", cfg.Name, err), l.Down())
	}
	if bad := l.Check(); len(bad) > 0 {
		return nil, errors.Join(fmt.Errorf("lab %s: built, but the check failed: %s", cfg.Name, strings.Join(bad, "; ")), l.Down())
	}
	return l, nil
}

// Keep hands the lab over to the user: it outlives this process, and only
// Remove (rawcraft lab down), SweepUser (lab down --all, for the user it
// was built for) or Sweep(true) (lab down --all-users) removes it.
// rawcraft lab up keeps the lab it built.
func (l *Lab) Keep() error {
	buildMu.Lock()
	defer buildMu.Unlock()
	if err := writeRecord(l.cfg, Kept); err != nil {
		return err
	}
	mu.Lock()
	delete(active, l.cfg.Name)
	mu.Unlock()
	return nil
}

// Start starts cmd inside host's namespace: the child is forked from a
// thread that has entered the namespace, so it lives there. The child dies
// with this process (PR_SET_PDEATHSIG, SIGKILL): a killed rawcraft lab exec
// leaves no child running under PID 1.
func (l *Lab) Start(host string, cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return l.Do(host, func() error { return cmd.Start() })
}

func register(l *Lab) {
	mu.Lock()
	active[l.cfg.Name] = l
	mu.Unlock()
	armSignals()
}

// Open returns a lab that Up built earlier, perhaps in another process,
// with the configuration its record holds (routed is used when it has
// none). Open does not take the lab over: its owner stays.
func Open(name string, routed bool) (*Lab, error) {
	cfg := Config{Name: name, Routed: routed}
	if r, ok := readRecord(name); ok && validName(name) == nil {
		cfg = r.cfg
	}
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
	for _, h := range hostsOf(true) {
		if nsExists(l.NS(h)) {
			st.present = append(st.present, h)
		} else if l.cfg.Routed || (h != R && h != Hf) {
			all = false
		}
	}
	st.complete = all
	return st
}

var signalOnce sync.Once

// Signals are the signals on which a process removes its labs before it
// exits: Ctrl-C, kill, and the terminal going away.
var Signals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// armSignals makes SIGINT, SIGTERM and SIGHUP remove the labs of this
// process before it exits, so that an interrupted test or command leaves
// nothing behind (SIGKILL cannot be caught: Sweep removes what it leaves).
func armSignals() {
	signalOnce.Do(func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, Signals...)
		go func() {
			s := <-c
			buildMu.Lock() // held until exit: no lab is built or kept after this
			cleanupAll()
			if n, ok := s.(syscall.Signal); ok {
				os.Exit(128 + int(n))
			}
			os.Exit(1)
		}()
	})
}
