package vrrp

import (
	"errors"
	"syscall"

	"github.com/vishvananda/netlink"
)

// nlRoute is r as netlink's request, out of the interface with index
// ifindex (0: none, for blackhole and the like).
func nlRoute(r Route, ifindex int) *netlink.Route {
	nr := &netlink.Route{Dst: ipNet(r.Dst), LinkIndex: ifindex, Table: r.Table, Priority: r.Metric,
		Scope: netlink.Scope(r.Scope), Protocol: netlink.RouteProtocol(r.Protocol), Type: int(r.Type)}
	if r.Gw.IsValid() {
		nr.Gw = r.Gw.AsSlice()
	}
	if r.Src.IsValid() {
		nr.Src = r.Src.AsSlice()
	}
	if r.Type == 0 {
		nr.Type = syscall.RTN_UNICAST
	}
	if nr.Table == 0 {
		nr.Table = syscall.RT_TABLE_MAIN
	}
	return nr
}

// nlRule is r as netlink's request; a rule with neither From nor To is of
// the family ipv6 says.
func nlRule(r Rule, ipv6 bool) *netlink.Rule {
	nr := netlink.NewRule()
	nr.Table, nr.Priority, nr.Protocol = r.Table, r.Priority, r.Protocol
	if r.From.IsValid() {
		nr.Src = ipNet(r.From)
		ipv6 = r.From.Addr().Is6()
	}
	if r.To.IsValid() {
		nr.Dst = ipNet(r.To)
		ipv6 = r.To.Addr().Is6()
	}
	nr.Family = netlink.FAMILY_V4
	if ipv6 {
		nr.Family = netlink.FAMILY_V6
	}
	return nr
}

// setRoute adds (replacing a route with the same key) or deletes nr; a
// route already gone is no error.
func setRoute(h *netlink.Handle, nr *netlink.Route, on bool) error {
	if on {
		return h.RouteReplace(nr)
	}
	err := h.RouteDel(nr)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// setRule adds or deletes nr; a rule already there (on adding) or already
// gone (on deleting) is no error.
func setRule(h *netlink.Handle, nr *netlink.Rule, on bool) error {
	var err error
	if on {
		err = h.RuleAdd(nr)
		if errors.Is(err, syscall.EEXIST) {
			return nil
		}
		return err
	}
	err = h.RuleDel(nr)
	if errors.Is(err, syscall.ENOENT) {
		return nil
	}
	return err
}
