package lab

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/rawcraft/rawcraft/internal/owner"
)

// RecordDir holds one record per lab, /run/rawcraft/lab-NAME: who owns the
// lab and how it was configured. Up writes it before the first namespace
// exists; Down removes it after the last namespace is gone. /run is a tmpfs,
// like /run/netns: both vanish at reboot.
var RecordDir = "/run/rawcraft"

// Kept is the owner recorded for a lab that outlives the process that built
// it (rawcraft lab up): only lab down removes it.
const Kept = "kept"

// record is a lab's record file.
type record struct {
	owner string // owner.Owner.String(), or Kept
	user  int    // owner.Caller() of the run that wrote it; -1 in an older record
	cfg   Config
}

func recordPath(name string) string { return filepath.Join(RecordDir, "lab-"+name) }

func (r record) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "owner %s\nrouted %t\noffload %t\nfarmtu %d\nfragtime %d\n",
		r.owner, r.cfg.Routed, r.cfg.Offload, r.cfg.FarMTU, r.cfg.FragTime)
	if r.user >= 0 {
		fmt.Fprintf(&b, "user %d\n", r.user)
	}
	return b.Bytes()
}

// writeRecord replaces the record of cfg.Name atomically (a new file renamed
// over the old one), so that a reader never sees half a record.
func writeRecord(cfg Config, own string) error {
	if err := os.MkdirAll(RecordDir, 0o755); err != nil {
		return fmt.Errorf("lab record: %w", err)
	}
	tmp := recordPath(cfg.Name) + ".new" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, record{owner: own, user: owner.Caller(), cfg: cfg}.encode(), 0o644); err != nil {
		return fmt.Errorf("lab record: %w", err)
	}
	if err := os.Rename(tmp, recordPath(cfg.Name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("lab record: %w", err)
	}
	return nil
}

// readRecord reads the record of lab name; ok is false when there is none.
func readRecord(name string) (r record, ok bool) {
	b, err := os.ReadFile(recordPath(name))
	if err != nil {
		return r, false
	}
	r.cfg.Name = name
	r.user = -1
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		switch k {
		case "owner":
			r.owner = v
		case "routed":
			r.cfg.Routed = v == "true"
		case "offload":
			r.cfg.Offload = v == "true"
		case "farmtu":
			r.cfg.FarMTU, _ = strconv.Atoi(v)
		case "fragtime":
			r.cfg.FragTime, _ = strconv.Atoi(v)
		case "user":
			if u, err := strconv.Atoi(v); err == nil && u >= 0 {
				r.user = u
			}
		}
	}
	return r, r.owner != ""
}

func removeRecord(name string) error {
	if err := os.Remove(recordPath(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("lab record: %w", err)
	}
	return nil
}

// OwnerState says who holds a lab.
type OwnerState int

const (
	// Live: the owning process runs; nothing but that process removes the lab.
	Live OwnerState = iota
	// KeptByUser: built by rawcraft lab up to stay; lab down removes it.
	KeptByUser
	// Orphan: the owning process is gone (killed); rawcraft cleanup removes it.
	Orphan
	// Unrecorded: namespaces without a record and without a process ID in
	// their name (made by an older rawcraft): lab down --all-users removes them,
	// rawcraft cleanup leaves them, since it cannot tell.
	Unrecorded
)

func (s OwnerState) String() string {
	return [...]string{"live", "kept", "orphan", "unrecorded"}[s]
}

// Owned is a lab found on the machine: its namespaces' hosts, its record's
// owner and what that makes of it.
type Owned struct {
	Name  string
	Hosts []string // sorted
	Owner string   // "PID.START", Kept, "PID" read from a name without a record, or ""
	State OwnerState
	User  int // the user the lab was built for (owner.Caller()); -1 when no record says
}

// legacyPID reads the process ID that labs made before records carried
// their owner put in their name: t<pid>-<n> (tests), demo<pid>, ex<pid>,
// frag<pid>.
var legacyPID = regexp.MustCompile(`^(?:t([0-9]+)-[0-9a-z-]+|(?:demo|ex|frag)([0-9]+))$`)

func stateOf(name string) (string, OwnerState) {
	if r, ok := readRecord(name); ok {
		if r.owner == Kept {
			return Kept, KeptByUser
		}
		o, err := owner.Parse(r.owner)
		if err != nil {
			return r.owner, Orphan // a record nobody can own
		}
		if o == owner.Self() || o.Alive() {
			return r.owner, Live
		}
		return r.owner, Orphan
	}
	if m := legacyPID.FindStringSubmatch(name); m != nil && len(presentHosts(name)) > 0 {
		pid, _ := strconv.Atoi(m[1] + m[2])
		if pid == os.Getpid() || (owner.Owner{PID: pid}).Alive() {
			return m[1] + m[2], Live
		}
		return m[1] + m[2], Orphan
	}
	return "", Unrecorded
}

// splitNS reads a namespace name rc-LAB-HOST; ok is false for a name that is
// not one of a lab's namespaces. Host names hold no '-', so the lab's name
// is everything before the last one: rc-relp-a-hc is host hc of lab relp-a,
// never of lab relp.
func splitNS(ns string) (name, host string, ok bool) {
	rest, ok := strings.CutPrefix(ns, Prefix)
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 {
		return "", "", false
	}
	name, host = rest[:i], rest[i+1:]
	for _, h := range hostsOf(true) {
		if h == host {
			return name, host, true
		}
	}
	return "", "", false
}

// Inventory lists every lab on the machine — by its namespaces, and by
// records whose namespaces are gone — with its owner, sorted by name.
func Inventory() []Owned {
	byName := map[string]*Owned{}
	get := func(n string) *Owned {
		if o := byName[n]; o != nil {
			return o
		}
		o := &Owned{Name: n}
		byName[n] = o
		return o
	}
	for _, ns := range existing(Prefix) {
		if n, h, ok := splitNS(ns); ok {
			o := get(n)
			o.Hosts = append(o.Hosts, h)
		}
	}
	ents, _ := os.ReadDir(RecordDir)
	for _, e := range ents {
		if n, ok := strings.CutPrefix(e.Name(), "lab-"); ok && !strings.Contains(n, ".new") && validName(n) == nil {
			get(n)
		}
	}
	out := make([]Owned, 0, len(byName))
	for _, o := range byName {
		sort.Strings(o.Hosts)
		o.Owner, o.State = stateOf(o.Name)
		o.User = -1
		if r, ok := readRecord(o.Name); ok {
			o.User = r.user
		}
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ErrBusy is returned, wrapped, when a lab belongs to another process that
// still runs: nothing but that process may remove or rebuild it.
var ErrBusy = errors.New("belongs to a running process")

// Remove removes exactly the lab called name — its namespaces rc-NAME-HOST
// for every host, and its record — and returns the namespaces removed. A
// lab whose name merely starts with name is another lab and stays. A lab
// owned by another running process is not removed (ErrBusy).
func Remove(name string) ([]string, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if own, st := stateOf(name); st == Live && !ownedBySelf(own, name) {
		return nil, fmt.Errorf("lab %s %w (owner %s): it removes the lab when it ends", name, ErrBusy, own)
	}
	return removeLab(name)
}

func ownedBySelf(own, name string) bool {
	if own == owner.Self().String() {
		return true
	}
	_, hasRecord := readRecord(name)
	return !hasRecord && own == strconv.Itoa(os.Getpid())
}

// presentHosts lists the hosts of lab name whose namespaces exist.
func presentHosts(name string) []string {
	var out []string
	for _, h := range hostsOf(true) {
		if nsExists(nsName(name, h)) {
			out = append(out, h)
		}
	}
	return out
}

func removeLab(name string) ([]string, error) {
	var errs []error
	var removed []string
	for _, h := range hostsOf(true) {
		ns := nsName(name, h)
		if !nsExists(ns) {
			continue
		}
		if err := deleteNS(ns); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, ns)
	}
	if len(errs) == 0 { // the record goes last: a lab is never without its owner
		errs = append(errs, removeRecord(name))
	}
	return removed, errors.Join(errs...)
}

// SweepUser removes what rawcraft lab down --all removes: the labs whose
// owner is gone (Orphan), whoever built them, and the labs user kept with
// lab up. Other users' kept labs and unrecorded ones (made by an older
// rawcraft: nobody can say whose) stay; lab down --all-users (Sweep(true))
// removes them. Never a lab whose owner runs.
func SweepUser(user int) ([]string, error) { return sweepUser(user, nil) }

// sweepUser is SweepUser over the labs whose name only accepts (all when nil).
func sweepUser(user int, only func(name string) bool) ([]string, error) {
	return sweepIf(func(o Owned) bool {
		return (o.State == Orphan || o.State == KeptByUser && o.User == user) && (only == nil || only(o.Name))
	})
}

// Sweep removes the labs whose owner is gone (Orphan) — with all, also the
// kept and unrecorded ones — and never a lab whose owner runs. It returns
// the namespaces and records removed. rawcraft cleanup is Sweep(false);
// rawcraft lab down --all-users is Sweep(true); lab down --all is SweepUser.
func Sweep(all bool) ([]string, error) { return sweep(all, nil) }

// sweep is Sweep over the labs whose name only accepts (all when nil).
func sweep(all bool, only func(name string) bool) ([]string, error) {
	return sweepIf(func(o Owned) bool {
		return (all || o.State == Orphan) && (only == nil || only(o.Name))
	})
}

// sweepIf removes the labs take accepts, never one whose owner runs.
func sweepIf(take func(Owned) bool) ([]string, error) {
	var removed []string
	var errs []error
	for _, o := range Inventory() {
		if o.State == Live || !take(o) {
			continue
		}
		ns, err := removeLab(o.Name)
		removed = append(removed, ns...)
		if len(ns) == 0 && err == nil {
			removed = append(removed, recordPath(o.Name))
		}
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}
