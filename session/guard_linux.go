package session

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/rawcraft/rawcraft/craft"
)

// FirewallGuard adds, in the calling thread's network namespace — a lab
// namespace or the machine's own, on a real network — an nftables rule
// dropping the RSTs this host's kernel would send from src:sport to
// dst:dport — nothing else: one connection's 4-tuple, outgoing RSTs only —
// and returns the function that removes it. The rule is made over netlink
// with github.com/google/nftables: table ip GuardTable() (named for this
// run), chain output, "ip saddr S ip daddr D tcp sport P tcp dport Q tcp
// flags & rst != 0 drop". Removing it is the caller's duty on exit and on a
// signal; SweepGuards removes the tables of runs that died.
func FirewallGuard(src netip.Addr, sport uint16, dst netip.Addr, dport uint16) (remove func() error, err error) {
	return firewallGuard(src, sport, dst, dport)
}

// ListenGuard is FirewallGuard for a connection rawcraft accepts by hand
// (Server): it drops the RSTs this host's kernel would send from src:sport
// to any client — its answer to a SYN for a port nothing listens on, and to
// every later segment — and returns the function that removes the rule:
// "ip saddr S tcp sport P tcp flags & rst != 0 drop", in the same table.
func ListenGuard(src netip.Addr, sport uint16) (remove func() error, err error) {
	return firewallGuard(src, sport, netip.Addr{}, 0)
}

// firewallGuard adds the rule; an invalid dst matches any client.
func firewallGuard(src netip.Addr, sport uint16, dst netip.Addr, dport uint16) (remove func() error, err error) {
	// The namespace is held open, so that the rule is removed from where it
	// was added, whichever thread removes it.
	ns, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, err
	}
	fd := int(ns.Fd())
	c, err := nftables.New(nftables.WithNetNSFd(fd))
	if err != nil {
		ns.Close()
		return nil, err
	}
	t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: GuardTable()}
	c.DelTable(t)
	_ = c.Flush() // this run's own, if a guard was set before
	t = c.AddTable(t)
	policy := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter, Policy: &policy})
	s := src.As4()
	exprs := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{craft.ProtoTCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: s[:]},
	}
	if dst.IsValid() {
		d := dst.As4()
		exprs = append(exprs,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: d[:]})
	}
	exprs = append(exprs,
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(sport)})
	if dst.IsValid() {
		exprs = append(exprs,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(dport)})
	}
	exprs = append(exprs,
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{craft.TCPRst}, Xor: []byte{0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0}},
		&expr.Verdict{Kind: expr.VerdictDrop})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: exprs})
	if err := c.Flush(); err != nil {
		ns.Close()
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("the firewall guard needs CAP_NET_ADMIN: %w", err)
		}
		return nil, fmt.Errorf("adding the firewall guard: %w", err)
	}
	var once sync.Once
	var rerr error
	return func() error {
		once.Do(func() {
			defer ns.Close()
			c, err := nftables.New(nftables.WithNetNSFd(fd))
			if err != nil {
				rerr = err
				return
			}
			c.DelTable(t)
			rerr = c.Flush()
		})
		return rerr
	}, nil
}

// SweepGuards deletes, in the calling thread's network namespace, the guard
// tables (GuardTablePrefix + owner) whose owning process no longer runs —
// what a run killed with SIGKILL left — and returns their names. A table of
// a live run, or one whose name carries no owner, is left alone.
func SweepGuards() (removed []string, err error) {
	c, err := nftables.New()
	if err != nil {
		return nil, err
	}
	return sweepGuards(c)
}

// sweepGuards is SweepGuards over the connection c. The nftables library
// parses the kernel's replies; a panic inside it ends the sweep with an
// error (FuzzGuardSweepReplies feeds it arbitrary replies).
func sweepGuards(c *nftables.Conn) (removed []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sweeping guard tables: the nftables library failed to parse the kernel's reply: %v", r)
		}
	}()
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("listing nftables tables needs CAP_NET_ADMIN: %w", err)
		}
		return nil, err
	}
	for _, t := range tables {
		o, ok := guardOwner(t.Name)
		if !ok || o.Alive() {
			continue
		}
		c.DelTable(t)
		if err := c.Flush(); err != nil {
			return removed, fmt.Errorf("deleting table %s: %w", t.Name, err)
		}
		removed = append(removed, t.Name)
	}
	return removed, nil
}
