package lab

import (
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
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
	ch := c.AddChain(&nftables.Chain{Name: "input", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &policy})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{protocol}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}})
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("nftables drop rule for port %d/%d in %s: %w", port, protocol, host, err)
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
