package fwmark

import (
	"context"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// TCP header flags as the SYN drop rule matches them.
const (
	tcpFlagsOffset = 13
	tcpSYN         = 0x02
	tcpACK         = 0x10
)

func (d SYNDrop) tableSpec() tableSpec {
	cs := chainSpec{name: "prerouting", typ: nftables.ChainTypeFilter,
		hook: nftables.ChainHookPrerouting, prio: nftables.ChainPriorityRaw}
	for _, a := range d.Dsts {
		proto, off := byte(unix.NFPROTO_IPV4), uint32(16)
		if a.Is6() {
			proto, off = unix.NFPROTO_IPV6, 24
		}
		e := []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		}
		e = append(e, prefixMatch(hostPrefix(a), expr.PayloadBaseNetworkHeader, off)...)
		e = append(e,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
			// tcp flags & (syn | ack) == syn
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: tcpFlagsOffset, Len: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{tcpSYN | tcpACK}, Xor: []byte{0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{tcpSYN}},
			&expr.Counter{},
			&expr.Verdict{Kind: expr.VerdictDrop},
		)
		cs.rules = append(cs.rules, ruleSpec{synDropComment(a), e})
	}
	return tableSpec{family: nftables.TableFamilyINet, name: d.table(), chains: []chainSpec{cs}}
}

// Apply installs the table in the network namespace whose file is at the
// path netns ("" for the caller's), replacing one of the same name in one
// transaction, and reports the change; Changes.Undo deletes the table. A
// table that already holds the same rules is left alone and reported as
// no change.
func (d SYNDrop) Apply(ctx context.Context, netns string) (Changes, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return installTable(ctx, netns, d.tableSpec(), len(d.Dsts))
}

// Remove deletes the table if there is one, reporting whether it existed;
// use it at start-up to clear what a crashed run left behind.
func (d SYNDrop) Remove(ctx context.Context, netns string) (bool, error) {
	if d.Table != "" && !validName(d.Table) {
		return false, &FieldError{Field: "table", Err: fmt.Errorf("%w: bad table name %q", ErrSyntax, d.Table)}
	}
	n, err := newNftConn(netns)
	if err != nil {
		return false, err
	}
	defer n.close()
	return n.remove(ctx, nftables.TableFamilyINet, d.table())
}
