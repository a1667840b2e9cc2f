package lab

import (
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// firewallTable is the one nftables table rawcraft makes, always inside a
// lab namespace.
const firewallTable = "rawcraft"

// DropPort makes host silently drop incoming packets of protocol (6 TCP, 17
// UDP) to port: a "filtered" port, which answers nothing. The rule is an
// nftables rule in host's own namespace, made over netlink with
// github.com/google/nftables (no nft binary): table inet rawcraft, chain
// input, "meta l4proto P th dport N drop" — over IPv4 and IPv6 alike. It goes when the lab goes, or
// with the returned undo.
func (l *Lab) DropPort(host string, protocol uint8, port uint16) (undo func() error, err error) {
	return l.rule(host, portMatch(protocol, port), &expr.Verdict{Kind: expr.VerdictDrop}, fmt.Sprintf("port %d/%d", port, protocol))
}

// RejectPort makes host refuse packets of protocol (6 TCP, 17 UDP) to port
// with a port unreachable — ICMP type 3 code 3 over IPv4, ICMPv6 type 1
// code 4 over IPv6 — as a firewall's reject rule does ("reject with icmpx
// type port-unreachable"). On R the rule refuses the packets R forwards,
// so a router, not the target, answers for the far host's port; on the
// other hosts it refuses the packets they receive. Like DropPort, it lives
// in table inet rawcraft of host's namespace, goes with the lab or with the
// returned undo (which removes DropPort's rules there too).
func (l *Lab) RejectPort(host string, protocol uint8, port uint16) (undo func() error, err error) {
	return l.rule(host, portMatch(protocol, port), portUnreachable(), fmt.Sprintf("port %d/%d", port, protocol))
}

// RejectEcho makes host refuse ICMP echo requests (type 8) and ICMPv6
// echo requests (type 128) with port unreachable, as iptables' plain
// REJECT does: "meta l4proto icmp icmp type echo-request reject with icmpx
// type port-unreachable", and the same for ICMPv6 — nothing else, so that
// neighbour discovery still works. On R it refuses the echoes it forwards.
func (l *Lab) RejectEcho(host string) (undo func() error, err error) {
	for _, m := range []struct{ proto, typ uint8 }{{1, 8}, {58, 128}} {
		if undo, err = l.rule(host, []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{m.proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{m.typ}},
		}, portUnreachable(), fmt.Sprintf("echo requests (protocol %d)", m.proto)); err != nil {
			return nil, err
		}
	}
	return undo, nil // one table: its undo removes both rules
}

// portMatch is "meta l4proto P th dport N".
func portMatch(protocol uint8, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{protocol}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

// portUnreachable is "reject with icmpx type port-unreachable": ICMP type
// 3 code 3 over IPv4, ICMPv6 type 1 code 4 over IPv6.
func portUnreachable() expr.Any {
	return &expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_PORT_UNREACH}
}

// rule adds match followed by verdict to table inet rawcraft of host: in
// chain forward on R, in chain input elsewhere.
func (l *Lab) rule(host string, match []expr.Any, verdict expr.Any, what string) (undo func() error, err error) {
	f, err := netns.GetFromName(l.NS(host))
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", l.cfg.Name, err)
	}
	defer f.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(f)))
	if err != nil {
		return nil, err
	}
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: firewallTable})
	policy := nftables.ChainPolicyAccept
	name, hook := "input", nftables.ChainHookInput
	if host == R {
		name, hook = "forward", nftables.ChainHookForward
	}
	ch := c.AddChain(&nftables.Chain{Name: name, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: hook, Priority: nftables.ChainPriorityFilter, Policy: &policy})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: append(match, verdict)})
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("nftables rule for %s in %s: %w", what, host, err)
	}
	return func() error {
		f, err := netns.GetFromName(l.NS(host))
		if err != nil {
			return nil // the lab is gone, and the rule with it
		}
		defer f.Close()
		c, err := nftables.New(nftables.WithNetNSFd(int(f)))
		if err != nil {
			return err
		}
		c.DelTable(t)
		return c.Flush()
	}, nil
}

// Tables lists the names of the nftables tables in network namespace ns
// that start with prefix: what a test checks a run left behind.
func Tables(ns, prefix string) ([]string, error) {
	var names []string
	err := DoIn(ns, func() (err error) {
		c, err := nftables.New()
		if err != nil {
			return err
		}
		// The library parses the kernel's reply: a panic inside it is an
		// error of this call, not a crash (see session's sweep fuzzer).
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("listing nftables tables in %s: the nftables library failed to parse the kernel's reply: %v", ns, r)
			}
		}()
		tables, err := c.ListTables()
		for _, tb := range tables {
			if strings.HasPrefix(tb.Name, prefix) {
				names = append(names, tb.Name)
			}
		}
		return err
	})
	return names, err
}
