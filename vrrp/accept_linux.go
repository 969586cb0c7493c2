package vrrp

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// acceptFilter is the nftables table a master in non-accept mode uses to
// drop packets addressed to its virtual addresses (RFC 9568 Accept_Mode
// false; keepalived does the same with vrrp_strict). VRRP itself and, for
// IPv6, neighbour solicitations and advertisements still pass, so that
// neighbours can reach the virtual MAC and unicast peers the router.
//
// The table belongs to the instance alone (its name carries the interface
// and VRID) and exists only while the instance is master.
type acceptFilter struct {
	ns    int // network namespace fd, -1 for the process's own
	table *nftables.Table
	vips  []netip.Addr
	on    bool
}

func newAcceptFilter(nsfd int, c *Config) *acceptFilter {
	f := &acceptFilter{ns: nsfd, table: &nftables.Table{Name: fmt.Sprintf("lvskit_vrrp_%s_%d", c.Interface, c.VRID),
		Family: nftables.TableFamilyIPv4}}
	if c.ipv6() {
		f.table.Family = nftables.TableFamilyIPv6
	}
	for _, v := range c.VIPs {
		f.vips = append(f.vips, v.Prefix.Addr())
	}
	return f
}

func (f *acceptFilter) conn() (*nftables.Conn, error) {
	if f.ns >= 0 {
		return nftables.New(nftables.WithNetNSFd(f.ns))
	}
	return nftables.New()
}

// clear removes a table left behind by a crashed run.
func (f *acceptFilter) clear() error {
	c, err := f.conn()
	if err != nil {
		return err
	}
	if _, err := c.ListTableOfFamily(f.table.Name, f.table.Family); err != nil {
		return nil // not there (or unreadable, which install will report)
	}
	c.DelTable(f.table)
	return c.Flush()
}

// set installs (on) or removes the table.
func (f *acceptFilter) set(on bool) error {
	if on == f.on {
		return nil
	}
	c, err := f.conn()
	if err != nil {
		return fmt.Errorf("vrrp: nftables: %w", err)
	}
	if !on {
		c.DelTable(f.table)
		if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("vrrp: nftables: delete table %s: %w", f.table.Name, err)
		}
		f.on = false
		return nil
	}
	c.AddTable(f.table)
	policy := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Name: "input", Table: f.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &policy})
	for _, ip := range f.vips {
		daddr := &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4}
		if ip.Is6() {
			daddr.Offset, daddr.Len = 24, 16
		}
		toVIP := []expr.Any{daddr, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ip.AsSlice()}}
		proto := func(op expr.CmpOp, p byte) []expr.Any {
			return []expr.Any{&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: []byte{p}}}
		}
		if ip.Is6() { // neighbour solicitation (135) and advertisement (136)
			nd := append(append(append([]expr.Any{}, toVIP...), proto(expr.CmpOpEq, unix.IPPROTO_ICMPV6)...),
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
				&expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: []byte{135}, ToData: []byte{136}},
				&expr.Verdict{Kind: expr.VerdictAccept})
			c.AddRule(&nftables.Rule{Table: f.table, Chain: ch, Exprs: nd})
		}
		drop := append(append(append([]expr.Any{}, toVIP...), proto(expr.CmpOpNeq, Protocol)...),
			&expr.Verdict{Kind: expr.VerdictDrop})
		c.AddRule(&nftables.Rule{Table: f.table, Chain: ch, Exprs: drop})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("vrrp: nftables: add table %s: %w", f.table.Name, err)
	}
	f.on = true
	return nil
}
