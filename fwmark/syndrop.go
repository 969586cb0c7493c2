package fwmark

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultSYNDropTable names the nftables table of a [SYNDrop] whose Table
// is empty.
const DefaultSYNDropTable = "lvskit_syndrop"

// SYNDrop holds new TCP connections to some addresses off without refusing
// them: it drops every TCP segment to Dsts whose SYN flag is set and ACK
// flag is not (a connection's first segment), in an nftables table of its
// own (an inet table with a prerouting chain at raw priority, one rule with
// a counter per address). Established connections are untouched. The
// client's kernel retransmits a dropped SYN (after 1 s, 3 s, 7 s... on
// Linux), so a node that is about to hand a virtual address over can stop
// taking connections, let the open ones finish, and release the address:
// the retransmitted SYNs reach the new owner, and no client sees a refusal
// or a reset.
type SYNDrop struct {
	// Dsts are the destination addresses whose new connections are held
	// off (a VRRP instance's VIPs), IPv4 or IPv6.
	Dsts []netip.Addr
	// Table names the nft table; DefaultSYNDropTable when empty.
	Table string
}

func (d SYNDrop) table() string {
	if d.Table == "" {
		return DefaultSYNDropTable
	}
	return d.Table
}

// Validate checks the setup, returning a *FieldError.
func (d SYNDrop) Validate() error {
	fe := func(field string, err error) error { return &FieldError{Field: field, Err: err} }
	if len(d.Dsts) == 0 {
		return fe("dsts", ErrNoDestination)
	}
	for i, a := range d.Dsts {
		f := "dsts[" + strconv.Itoa(i) + "]"
		switch {
		case !a.IsValid():
			return fe(f, ErrNoDestination)
		case a.Is4In6() || a.Zone() != "":
			return fe(f, fmt.Errorf("%w: %s; write a plain IPv4 or IPv6 address", ErrFamily, a))
		}
	}
	if d.Table != "" && !validName(d.Table) {
		return fe("table", fmt.Errorf("%w: bad table name %q", ErrSyntax, d.Table))
	}
	return nil
}

// synDropComment identifies the rule for one address.
func synDropComment(a netip.Addr) string { return "syn-drop " + a.String() }

// NftText renders the setup as an nft script that atomically replaces the
// table, exactly what Apply installs; `nft delete table inet NAME` (or
// Remove) undoes it.
func (d SYNDrop) NftText() (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {}\ndelete table inet %s\n", d.table(), d.table())
	fmt.Fprintf(&b, "table inet %s {\n\tchain prerouting {\n\t\ttype filter hook prerouting priority raw; policy accept;\n", d.table())
	for _, a := range d.Dsts {
		ip := "ip"
		if a.Is6() {
			ip = "ip6"
		}
		fmt.Fprintf(&b, "\t\t%s daddr %s tcp flags & (syn | ack) == syn counter drop comment %q\n", ip, a, synDropComment(a))
	}
	b.WriteString("\t}\n}\n")
	return b.String(), nil
}
