package session

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/rawcraft/rawcraft/craft"
)

const guardTable = "rawcraft_guard"

// FirewallGuard adds, in the calling thread's network namespace — which
// must be one made for rawcraft, never the machine's own — an nftables rule
// dropping the RSTs this host's kernel would send from src:sport to
// dst:dport — nothing else — and returns the function that removes it.
// session does not know which namespace it runs in: the caller says, with
// namespace (the CLI passes lab.Current(), an rc-* lab namespace, or "" for
// any other); "" is refused with ErrRootNamespace before anything changes. The rule is made over netlink with
// github.com/google/nftables: table ip rawcraft_guard, chain output,
// "ip saddr S ip daddr D tcp sport P tcp dport Q tcp flags & rst != 0 drop".
// A table left by a killed run is replaced; the namespace takes it away
// with it in any case.
func FirewallGuard(namespace string, src netip.Addr, sport uint16, dst netip.Addr, dport uint16) (remove func() error, err error) {
	if namespace == "" {
		return nil, ErrRootNamespace
	}
	c, err := nftables.New()
	if err != nil {
		return nil, err
	}
	t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: guardTable}
	c.DelTable(t)
	_ = c.Flush() // a leftover from a killed run, if any
	t = c.AddTable(t)
	policy := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter, Policy: &policy})
	s, d := src.As4(), dst.As4()
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{craft.ProtoTCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: s[:]},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: d[:]},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(sport)},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(dport)},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{craft.TCPRst}, Xor: []byte{0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0}},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}})
	if err := c.Flush(); err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("the firewall guard needs CAP_NET_ADMIN: %w", err)
		}
		return nil, fmt.Errorf("adding the firewall guard: %w", err)
	}
	return func() error {
		c, err := nftables.New()
		if err != nil {
			return err
		}
		c.DelTable(t)
		return c.Flush()
	}, nil
}
