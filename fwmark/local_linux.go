package fwmark

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Apply installs the rules and routes, in the network namespace whose file
// is at the path netns ("" for the caller's), skipping what is already there, and reports each
// addition; Changes.Undo removes them again.
func (l LocalDelivery) Apply(ctx context.Context, netns string) (Changes, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, err := routeHandle(netns)
	if err != nil {
		return nil, fmt.Errorf("fwmark: netlink: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return nil, fmt.Errorf("fwmark: lo: %w", err)
	}
	var done Changes
	fail := func(err error) (Changes, error) { return nil, joinUndo(ctx, err, done) }
	for _, f := range l.families() {
		nlf, any := netlink.FAMILY_V4, netip.MustParsePrefix("0.0.0.0/0")
		if f == IPv6 {
			nlf, any = netlink.FAMILY_V6, netip.MustParsePrefix("::/0")
		}
		have, err := h.RuleList(nlf)
		if err != nil {
			return fail(fmt.Errorf("fwmark: list rules: %w", err))
		}
		for _, m := range l.Marks {
			if hasRule(have, m, l.Table, l.prio()) {
				continue
			}
			r := netlink.NewRule()
			r.Family, r.Mark, r.Table, r.Priority = nlf, m, l.Table, l.prio()
			if err := h.RuleAdd(r); err != nil {
				return fail(fmt.Errorf("fwmark: add rule fwmark %d lookup %d: %w", m, l.Table, err))
			}
			done = append(done, Change{
				Kind: "rule", Target: fmt.Sprintf("%s fwmark %d lookup %d priority %d", f, m, l.Table, l.prio()), New: "present",
				undo: func(context.Context) error {
					return withRoute(netns, func(h *netlink.Handle) error { return h.RuleDel(r) })
				},
			})
		}
		route := &netlink.Route{LinkIndex: lo.Attrs().Index, Dst: toIPNet(any), Table: l.Table,
			Type: unix.RTN_LOCAL, Scope: netlink.SCOPE_HOST, Family: nlf}
		routes, err := h.RouteListFiltered(nlf, &netlink.Route{Table: l.Table}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return fail(fmt.Errorf("fwmark: list routes of table %d: %w", l.Table, err))
		}
		if hasLocalDefault(routes) {
			continue
		}
		if err := h.RouteAdd(route); err != nil {
			return fail(fmt.Errorf("fwmark: add local %s to table %d: %w", any, l.Table, err))
		}
		done = append(done, Change{
			Kind: "route", Target: fmt.Sprintf("local %s dev lo table %d", any, l.Table), New: "present",
			undo: func(context.Context) error {
				return withRoute(netns, func(h *netlink.Handle) error { return h.RouteDel(route) })
			},
		})
	}
	return done, nil
}

func hasRule(rules []netlink.Rule, mark uint32, table, prio int) bool {
	for _, r := range rules {
		if r.Mark == mark && r.Table == table && r.Priority == prio {
			return true
		}
	}
	return false
}

func hasLocalDefault(routes []netlink.Route) bool {
	for _, r := range routes {
		if r.Type == unix.RTN_LOCAL && (r.Dst == nil || r.Dst.IP.IsUnspecified()) {
			if ones, _ := maskOnes(r); ones == 0 {
				return true
			}
		}
	}
	return false
}

func maskOnes(r netlink.Route) (int, int) {
	if r.Dst == nil {
		return 0, 0
	}
	return r.Dst.Mask.Size()
}
