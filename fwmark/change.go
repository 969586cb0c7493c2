package fwmark

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Change is one thing lvskit changed on a host: a sysctl, an address, an
// nftables table. Only real changes are reported; a setting that already
// had the wanted value produces no Change, so undoing never disturbs what
// lvskit did not do.
type Change struct {
	// Kind is "sysctl", "address" or "nft table".
	Kind string
	// Target names what changed: "net.ipv4.ip_forward", "lo 10.0.0.100/32",
	// "arp lvskit_dr".
	Target string
	// Old and New describe the value before and after ("0" and "1"; an
	// empty string is "absent").
	Old, New string

	undo func(context.Context) error
}

// String reads like "sysctl net.ipv4.ip_forward: 0 -> 1".
func (c Change) String() string {
	old, nw := c.Old, c.New
	if old == "" {
		old = "(none)"
	}
	if nw == "" {
		nw = "(none)"
	}
	return fmt.Sprintf("%s %s: %s -> %s", c.Kind, c.Target, old, nw)
}

// Changes lists changes in the order they were made.
type Changes []Change

// Undo reverts the changes in reverse order. It carries on past failures
// and returns them all joined.
func (cs Changes) Undo(ctx context.Context) error {
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].undo == nil {
			continue
		}
		if err := cs[i].undo(ctx); err != nil {
			errs = append(errs, fmt.Errorf("undo %s: %w", cs[i], err))
		}
	}
	return errors.Join(errs...)
}

// String lists the changes one per line.
func (cs Changes) String() string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}
