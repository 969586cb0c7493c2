package main

import (
	"context"
	"net"
	"slices"
	"time"
)

// dynamic_interfaces: a unit whose interfaces the host lacks does not
// fail; it waits for them and starts when they are there, as keepalived
// brings an instance up when its interface appears. An interface it
// already runs on that goes away puts the instance in FAULT (vrrp tracks
// its own interface).

// dynPoll is how often a waiting unit looks for its interfaces.
const dynPoll = 100 * time.Millisecond

// unitInterfaces are the interfaces a unit's vrrp.Router opens when it
// starts: each instance's interface and its VIPs' devices.
func unitInterfaces(u vrrpUnit) []string {
	var names []string
	for _, c := range u.Instances {
		names = append(names, c.Interface)
		for _, v := range append(slices.Clip(c.VIPs), c.ExcludedVIPs...) {
			if v.Dev != "" {
				names = append(names, v.Dev)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// unitReady tells whether the host has every interface of the unit, and,
// for an instance without a configured source address, an address on its
// interface that vrrp can send from (IPv4, or an IPv6 link-local one).
func (r *Router) unitReady(u vrrpUnit) (missing []string) {
	for _, n := range unitInterfaces(u) {
		if !r.hasInterface(n) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return missing
	}
	for _, c := range u.Instances {
		if c.Source.IsValid() || len(c.VIPs) == 0 {
			continue
		}
		if !hasSourceAddr(c.Interface, c.VIPs[0].Prefix.Addr().Is6()) {
			missing = append(missing, c.Interface+" (no address)")
		}
	}
	return missing
}

// hasSourceAddr tells whether the interface has an address adverts of the
// family can leave from.
func hasSourceAddr(name string, ipv6 bool) bool {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return false
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if v4 := n.IP.To4() != nil; !ipv6 && v4 || ipv6 && !v4 && n.IP.IsLinkLocalUnicast() {
			return true
		}
	}
	return false
}

// waitInterfaces waits until the unit can start; false when ctx ends
// first (the unit is stopped or the router stops).
func (r *Router) waitInterfaces(ctx context.Context, u vrrpUnit) bool {
	missing := r.unitReady(u)
	if len(missing) == 0 {
		return true
	}
	r.log.Warn("vrrp: waiting for interfaces (dynamic_interfaces)", "unit", u.Key.String(), "missing", missing)
	t := time.NewTicker(dynPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		if len(r.unitReady(u)) == 0 {
			r.log.Info("vrrp: interfaces present, starting (dynamic_interfaces)", "unit", u.Key.String())
			return true
		}
	}
}
