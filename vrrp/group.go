package vrrp

import (
	"fmt"
	"net/netip"
)

// group returns the multicast group the instance sends to and listens on.
func (c *Config) group() netip.Addr {
	switch {
	case c.Group.IsValid():
		return c.Group
	case c.ipv6():
		return MulticastIPv6
	}
	return MulticastIPv4
}

// normalizeNet checks the fields that say where adverts go and what the
// instance adds besides its VIPs: Group, ExcludedVIPs, Routes and Rules.
func (c *Config) normalizeNet(ipv6 bool, bad func(field, f string, a ...any)) {
	if g := c.Group; g.IsValid() {
		switch {
		case g.Is6() != ipv6:
			bad("Group", "%v: family differs from the VIPs", g)
		case !g.IsMulticast():
			bad("Group", "%v: not a multicast address", g)
		case g.Is6() && !g.IsLinkLocalMulticast():
			bad("Group", "%v: an IPv6 group must be link-local (ff02::/16)", g)
		}
	}
	for i, v := range c.ExcludedVIPs {
		if !v.Prefix.IsValid() {
			bad(fmt.Sprintf("ExcludedVIPs[%d]", i), "invalid address")
		}
	}
	for i, r := range c.Routes {
		if r.Src.IsValid() && r.Dst.IsValid() && r.Src.Is6() != r.Dst.Addr().Is6() {
			bad(fmt.Sprintf("Routes[%d].Src", i), "%v: family differs from %v", r.Src, r.Dst)
		}
	}
}

// routeNeedsDev reports whether a route of type t goes out of an
// interface: blackhole, unreachable, prohibit and throw routes do not.
func routeNeedsDev(t uint8) bool { return t < 6 || t > 9 }

// checkAddrsFrom tells whether an instance with CheckNewMasterAddrs checks
// the address list of an advert from src: keepalived skip_check_adv_addr
// skips it only for a backup hearing the master it last heard.
func checkAddrsFrom(state State, master, src netip.Addr) bool {
	return state != StateBackup || !master.IsValid() || master != src
}
