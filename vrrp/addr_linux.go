package vrrp

import (
	"errors"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
)

func (in *Instance) vipLink(v VIP) (netlink.Link, error) {
	name := v.Dev
	switch {
	case name != "":
	case in.vmac != nil && v.Prefix.Addr().Is6() == in.cfg.ipv6():
		// An excluded VIP of the other family stays on the interface,
		// as keepalived leaves it.
		name = in.vmac.Name
	default:
		name = in.cfg.Interface
	}
	ifi, err := in.r.link(name)
	if err != nil {
		return nil, err
	}
	// AddrAdd and AddrDel need only the index.
	return &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: ifi.Index, Name: ifi.Name}}, nil
}

func (in *Instance) nlAddr(v VIP) *netlink.Addr { return nlAddr(v) }

// nlAddr is v as netlink's request.
func nlAddr(v VIP) *netlink.Addr {
	a := &netlink.Addr{IPNet: &net.IPNet{IP: v.Prefix.Addr().AsSlice(), Mask: net.CIDRMask(v.Prefix.Bits(), v.Prefix.Addr().BitLen())},
		Label: v.Label, Scope: v.Scope}
	if v.Broadcast.IsValid() {
		a.Broadcast = v.Broadcast.AsSlice()
	}
	if v.Prefix.Addr().Is6() {
		a.Flags = syscall.IFA_F_NODAD // usable at once, as keepalived adds them
	}
	return a
}

// addVIPs adds the VIPs and the excluded VIPs.
func (in *Instance) addVIPs() {
	in.addAddrs(in.acfg.VIPs)
	in.addAddrs(in.acfg.ExcludedVIPs)
}

func (in *Instance) addAddrs(vips []VIP) {
	for _, v := range vips {
		l, err := in.vipLink(v)
		if err == nil {
			err = in.r.netlink(func(h *netlink.Handle) error { return h.AddrAdd(l, in.nlAddr(v)) })
			if err == nil || errors.Is(err, syscall.EEXIST) {
				in.r.own(addrKey(l.Attrs().Index, v.Prefix), in, !v.NoTrack)
			}
		}
		if err != nil && !errors.Is(err, syscall.EEXIST) {
			in.r.log.Error("vrrp: add VIP", "instance", in.cfg.Name, "vip", v.Prefix, "err", err)
		}
	}
}

// delVIPs removes the VIPs and the excluded VIPs.
func (in *Instance) delVIPs() {
	in.delAddrs(in.acfg.VIPs)
	in.delAddrs(in.acfg.ExcludedVIPs)
}

func (in *Instance) delAddrs(vips []VIP) {
	for _, v := range vips {
		l, err := in.vipLink(v)
		if err == nil {
			in.r.own(addrKey(l.Attrs().Index, v.Prefix), in, false) // before: our own deletion is no event
			err = in.r.netlink(func(h *netlink.Handle) error { return h.AddrDel(l, in.nlAddr(v)) })
		}
		if err != nil && !errors.Is(err, syscall.EADDRNOTAVAIL) && !errors.Is(err, syscall.ENOENT) {
			in.r.log.Error("vrrp: delete VIP", "instance", in.cfg.Name, "vip", v.Prefix, "err", err)
		}
	}
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// setRoutes adds (on) or removes the virtual routes and rules.
func (in *Instance) setRoutes(on bool) { in.routes(on, in.acfg.Routes, in.acfg.Rules) }

// routes adds (on) or removes the given routes and rules.
func (in *Instance) routes(on bool, routes []Route, rules []Rule) {
	for _, r := range routes {
		ifindex := 0
		// Without Dev the kernel finds the interface from the gateway, as
		// for keepalived; a route with neither goes out of Interface.
		if dev := r.Dev; dev != "" || (routeNeedsDev(r.Type) && !r.Gw.IsValid()) {
			if dev == "" {
				dev = in.cfg.Interface
			}
			ifi, err := in.r.link(dev)
			if err != nil {
				in.r.log.Error("vrrp: virtual route", "instance", in.cfg.Name, "dst", r.Dst, "err", err)
				continue
			}
			ifindex = ifi.Index
		}
		nr := nlRoute(r, ifindex)
		k := routeKey(r, ifindex)
		if !on {
			in.r.own(k, in, false) // before: our own deletion is no event
		}
		err := in.r.netlink(func(h *netlink.Handle) error { return setRoute(h, nr, on) })
		if on && err == nil {
			in.r.own(k, in, !r.NoTrack)
		}
		if err != nil {
			in.r.log.Error("vrrp: virtual route", "instance", in.cfg.Name, "dst", r.Dst, "add", on, "err", err)
		}
	}
	for _, r := range rules {
		nr := nlRule(r, r.IPv6 || in.cfg.ipv6())
		k := ruleKey(r, r.IPv6 || in.cfg.ipv6())
		if !on {
			in.r.own(k, in, false)
		}
		err := in.r.netlink(func(h *netlink.Handle) error { return setRule(h, nr, on) })
		if on && err == nil {
			in.r.own(k, in, !r.NoTrack)
		}
		if err != nil {
			in.r.log.Error("vrrp: virtual rule", "instance", in.cfg.Name, "rule", r, "add", on, "err", err)
		}
	}
}
