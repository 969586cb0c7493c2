package fwmark

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// tableSpec is the complete desired content of one table lvskit owns.
// Every rule carries a comment that identifies it; two specs with the same
// chains and the same comments in the same order install the same rules.
type tableSpec struct {
	family nftables.TableFamily
	name   string
	chains []chainSpec
}

type chainSpec struct {
	name  string
	typ   nftables.ChainType
	hook  *nftables.ChainHook
	prio  *nftables.ChainPriority
	rules []ruleSpec
}

type ruleSpec struct {
	comment string
	exprs   []expr.Any
}

// nftConn holds the netlink side shared by the mark table and the Direct
// Routing tables.
// Its connections dial a new socket for every request, in the namespace
// of ns (nil: the caller's), which stays open until close.
type nftConn struct {
	c  *nftables.Conn
	ns *os.File
}

// newNftConn opens the namespace at path netns ("": the caller's).
func newNftConn(netns string) (*nftConn, error) {
	f, err := openNetNS(netns)
	if err != nil {
		return nil, err
	}
	n := &nftConn{ns: f}
	if n.c, err = dialNft(n.fd(), 0); err != nil {
		n.close()
		return nil, err
	}
	return n, nil
}

// fd is the namespace descriptor nftables dials in, 0 for the caller's.
func (n *nftConn) fd() int {
	if n.ns == nil {
		return 0
	}
	return int(n.ns.Fd())
}

// close releases the namespace file; it is safe to call more than once.
func (n *nftConn) close() error {
	if n.ns == nil {
		return nil
	}
	err := n.ns.Close()
	n.ns = nil
	return err
}

// dialNft returns a connection whose socket buffers fit a batch of rules
// messages: the kernel refuses a batch larger than the send buffer
// (EMSGSIZE) and drops acknowledgements that overflow the receive buffer
// (ENOBUFS). nft(8) sizes its buffers the same way.
func dialNft(netnsFd, rules int) (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if netnsFd > 0 {
		opts = append(opts, nftables.WithNetNSFd(netnsFd))
	}
	if rules > 0 {
		snd, rcv := 256<<10+rules*1024, 256<<10+rules*2048
		opts = append(opts, nftables.WithSockOptions(func(c *netlink.Conn) error {
			return socketBuffers(c, snd, rcv)
		}))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("fwmark: nftables: %w", err)
	}
	return c, nil
}

// socketBuffers raises the buffers past the sysctl maxima when allowed
// (CAP_NET_ADMIN, which changing nftables needs anyway), else as far as
// the maxima let.
func socketBuffers(c *netlink.Conn, snd, rcv int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var forced error
	if err := rc.Control(func(fd uintptr) {
		forced = errors.Join(
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, snd),
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcv))
	}); err != nil {
		return err
	}
	if forced != nil {
		return errors.Join(c.SetWriteBuffer(snd), c.SetReadBuffer(rcv))
	}
	return nil
}

// find returns the table of that family and name, or nil.
func (n *nftConn) find(family nftables.TableFamily, name string) (*nftables.Table, error) {
	ts, err := n.c.ListTablesOfFamily(family)
	if err != nil {
		return nil, fmt.Errorf("fwmark: list tables: %w", err)
	}
	for _, t := range ts {
		if t.Name == name && t.Family == family {
			return t, nil
		}
	}
	return nil, nil
}

// rules returns the chains of t with their rules.
func (n *nftConn) rules(t *nftables.Table) (map[string]*nftables.Chain, map[string][]*nftables.Rule, error) {
	all, err := n.c.ListChainsOfTableFamily(t.Family)
	if err != nil {
		return nil, nil, fmt.Errorf("fwmark: list chains: %w", err)
	}
	chains := map[string]*nftables.Chain{}
	rules := map[string][]*nftables.Rule{}
	for _, ch := range all {
		if ch.Table == nil || ch.Table.Name != t.Name {
			continue
		}
		chains[ch.Name] = ch
		rs, err := n.c.GetRules(t, ch)
		if err != nil {
			return nil, nil, fmt.Errorf("fwmark: list rules of %s: %w", ch.Name, err)
		}
		rules[ch.Name] = rs
	}
	return chains, rules, nil
}

func ruleComment(r *nftables.Rule) string {
	s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
	return s
}

// same reports whether the installed table already matches spec.
func (n *nftConn) same(t *nftables.Table, spec tableSpec) (bool, error) {
	chains, rules, err := n.rules(t)
	if err != nil {
		return false, err
	}
	if len(chains) != len(spec.chains) {
		return false, nil
	}
	for _, cs := range spec.chains {
		ch := chains[cs.name]
		if ch == nil || ch.Type != cs.typ || ch.Hooknum == nil || *ch.Hooknum != *cs.hook ||
			ch.Priority == nil || *ch.Priority != *cs.prio ||
			(ch.Policy != nil && *ch.Policy != nftables.ChainPolicyAccept) {
			return false, nil
		}
		have := rules[cs.name]
		if len(have) != len(cs.rules) {
			return false, nil
		}
		for i, r := range have {
			if ruleComment(r) != cs.rules[i].comment {
				return false, nil
			}
		}
	}
	return true, nil
}

// replace makes the table equal spec in one netlink batch (one nf_tables
// transaction): create-if-missing, delete, create with the new content. A
// table that already matches is left alone, counters included.
func (n *nftConn) replace(ctx context.Context, spec tableSpec) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	t, err := n.find(spec.family, spec.name)
	if err != nil {
		return false, err
	}
	if t != nil {
		same, err := n.same(t, spec)
		if err != nil || same {
			return false, err
		}
	}
	rules := 0
	for _, cs := range spec.chains {
		rules += len(cs.rules)
	}
	c, err := dialNft(n.fd(), rules+len(spec.chains)+3)
	if err != nil {
		return false, err
	}
	table := &nftables.Table{Family: spec.family, Name: spec.name}
	c.AddTable(table)
	c.DelTable(table)
	c.AddTable(table)
	for _, cs := range spec.chains {
		ch := c.AddChain(&nftables.Chain{
			Name:     cs.name,
			Table:    table,
			Type:     cs.typ,
			Hooknum:  cs.hook,
			Priority: cs.prio,
			Policy:   ptr(nftables.ChainPolicyAccept),
		})
		for _, rs := range cs.rules {
			c.AddRule(&nftables.Rule{
				Table:    table,
				Chain:    ch,
				Exprs:    rs.exprs,
				UserData: userdata.AppendString(nil, userdata.TypeComment, rs.comment),
			})
		}
	}
	if err := c.Flush(); err != nil {
		return false, fmt.Errorf("fwmark: install table %s %s: %w", familyName(spec.family), spec.name, err)
	}
	return true, nil
}

// installTable makes the table in the namespace at netns equal spec and
// reports the change (New: "N rules"), whose undo deletes the table; a
// table that already matches is no change.
func installTable(ctx context.Context, netns string, spec tableSpec, rules int) (Changes, error) {
	n, err := newNftConn(netns)
	if err != nil {
		return nil, err
	}
	defer n.close()
	old, err := n.find(spec.family, spec.name)
	if err != nil {
		return nil, err
	}
	changed, err := n.replace(ctx, spec)
	if err != nil || !changed {
		return nil, err
	}
	c := Change{Kind: "nft table", Target: familyName(spec.family) + " " + spec.name, New: fmt.Sprintf("%d rules", rules)}
	if old != nil {
		c.Old = "other rules"
	}
	c.undo = func(ctx context.Context) error {
		n, err := newNftConn(netns)
		if err != nil {
			return err
		}
		defer n.close()
		_, err = n.remove(ctx, spec.family, spec.name)
		return err
	}
	return Changes{c}, nil
}

// remove deletes the table if it exists.
func (n *nftConn) remove(ctx context.Context, family nftables.TableFamily, name string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	t, err := n.find(family, name)
	if err != nil || t == nil {
		return false, err
	}
	n.c.DelTable(t)
	if err := n.c.Flush(); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil // removed meanwhile by someone else
		}
		return false, fmt.Errorf("fwmark: delete table %s %s: %w", familyName(family), name, err)
	}
	return true, nil
}

func familyName(f nftables.TableFamily) string {
	switch f {
	case nftables.TableFamilyINet:
		return "inet"
	case nftables.TableFamilyIPv4:
		return "ip"
	case nftables.TableFamilyIPv6:
		return "ip6"
	case nftables.TableFamilyARP:
		return "arp"
	}
	return fmt.Sprintf("family(%d)", f)
}

func ptr[T any](v T) *T { return &v }

// Table is the nftables table lvskit owns for firewall marks: an inet table
// (IPv4 and IPv6) with one prerouting chain at mangle priority, as the
// iptables mangle PREROUTING rules of the seed. Nothing outside this table
// is read or changed.
type Table struct {
	name string
	nft  *nftConn
}

// NewTable returns a handle on the lvskit table; cfg may be nil. It opens
// the namespace file named in cfg and does not touch nftables until Apply,
// Remove or Show. Close releases the namespace file.
func NewTable(cfg *TableConfig) (*Table, error) {
	var o TableConfig
	if cfg != nil {
		o = *cfg
	}
	name := o.Name
	if name == "" {
		name = DefaultTable
	}
	if !validName(name) {
		return nil, fmt.Errorf("fwmark: bad table name %q", name)
	}
	n, err := newNftConn(o.NetNS)
	if err != nil {
		return nil, err
	}
	return &Table{name: name, nft: n}, nil
}

// Name returns the table's name.
func (t *Table) Name() string { return t.name }

// Close releases the namespace file. The table stays installed; Close is
// safe to call more than once.
func (t *Table) Close() error { return t.nft.close() }

func (t *Table) spec(rs Rules) tableSpec {
	cs := chainSpec{
		name: "prerouting",
		typ:  nftables.ChainTypeFilter,
		hook: nftables.ChainHookPrerouting,
		prio: nftables.ChainPriorityMangle,
	}
	for _, r := range rs {
		for _, p := range r.elements() {
			cs.rules = append(cs.rules, ruleSpec{comment(r, p), markExprs(r, p)})
		}
	}
	return tableSpec{family: nftables.TableFamilyINet, name: t.name, chains: []chainSpec{cs}}
}

// Apply makes the table hold exactly rs, replacing what lvskit set before
// in one transaction; packets never see a half-built table. It reports
// whether anything changed: applying the same rules again changes nothing
// and keeps the counters. Invalid rules are rejected before the kernel is
// touched. Applying empty Rules leaves an empty table; use Remove to drop
// it.
func (t *Table) Apply(ctx context.Context, rs Rules) (changed bool, err error) {
	if err := rs.Validate(); err != nil {
		return false, err
	}
	return t.nft.replace(ctx, t.spec(rs))
}

// Remove deletes the table, reporting whether it existed. Call it on
// shutdown; other tables are untouched.
func (t *Table) Remove(ctx context.Context) (changed bool, err error) {
	return t.nft.remove(ctx, nftables.TableFamilyINet, t.name)
}

// Show reads the installed table back. It returns nil and no error when the
// table does not exist.
func (t *Table) Show(ctx context.Context) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tab, err := t.nft.find(nftables.TableFamilyINet, t.name)
	if err != nil || tab == nil {
		return nil, err
	}
	_, rules, err := t.nft.rules(tab)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, r := range rules["prerouting"] {
		c := ruleComment(r)
		cfg, err := Parse("rule comment", []byte(c))
		if err != nil || len(cfg.Rules) != 1 {
			return out, fmt.Errorf("fwmark: table %s holds a rule lvskit did not write (comment %q)", t.name, c)
		}
		e := Entry{Rule: cfg.Rules[0]}
		for _, x := range r.Exprs {
			if cnt, ok := x.(*expr.Counter); ok {
				e.Packets, e.Bytes = cnt.Packets, cnt.Bytes
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// markExprs builds the expressions nft itself generates for
// "ip daddr A tcp dport P counter meta mark set M" in an inet table, so that
// `nft list` prints them back in that form.
func markExprs(r Rule, p PortRange) []expr.Any {
	proto, off := byte(unix.NFPROTO_IPV4), uint32(16)
	if r.AddrFamily() == IPv6 {
		proto, off = unix.NFPROTO_IPV6, 24
	}
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
	e = append(e, prefixMatch(r.Dst, expr.PayloadBaseNetworkHeader, off)...)
	e = append(e,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(r.Protocol)}},
	)
	e = append(e, portMatch(p)...)
	return append(e,
		&expr.Counter{},
		&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(r.Mark)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	)
}

// prefixMatch compares the address at off with a prefix: whole bytes are
// loaded and compared, a partial last byte is masked first. /0 matches
// everything and needs no expression.
func prefixMatch(pfx netip.Prefix, base expr.PayloadBase, off uint32) []expr.Any {
	bits := pfx.Bits()
	if bits <= 0 {
		return nil
	}
	n := (bits + 7) / 8
	addr := pfx.Addr().AsSlice()[:n]
	e := []expr.Any{&expr.Payload{DestRegister: 1, Base: base, Offset: off, Len: uint32(n)}}
	if bits%8 != 0 {
		mask := make([]byte, n)
		for i := range mask {
			mask[i] = 0xff
		}
		mask[n-1] = byte(0xff << (8 - bits%8))
		e = append(e, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: uint32(n), Mask: mask, Xor: make([]byte, n)})
	}
	return append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: slices.Clone(addr)})
}

// portMatch compares the transport destination port with one port or an
// inclusive range (nft's "dport 10000-20000" is a gte/lte pair).
func portMatch(p PortRange) []expr.Any {
	if p.From == 0 {
		return nil
	}
	be := func(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
	e := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}}
	if p.Single() {
		return append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be(p.From)})
	}
	return append(e,
		&expr.Cmp{Op: expr.CmpOpGte, Register: 1, Data: be(p.From)},
		&expr.Cmp{Op: expr.CmpOpLte, Register: 1, Data: be(p.To)},
	)
}
