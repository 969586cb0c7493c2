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
	case in.vmac != nil:
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

func (in *Instance) nlAddr(v VIP) *netlink.Addr {
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

func (in *Instance) addVIPs() { in.addAddrs(in.acfg.VIPs) }

func (in *Instance) addAddrs(vips []VIP) {
	for _, v := range vips {
		l, err := in.vipLink(v)
		if err == nil {
			err = in.r.netlink(func(h *netlink.Handle) error { return h.AddrAdd(l, in.nlAddr(v)) })
		}
		if err != nil && !errors.Is(err, syscall.EEXIST) {
			in.r.log.Error("vrrp: add VIP", "instance", in.cfg.Name, "vip", v.Prefix, "err", err)
		}
	}
}

func (in *Instance) delVIPs() { in.delAddrs(in.acfg.VIPs) }

func (in *Instance) delAddrs(vips []VIP) {
	for _, v := range vips {
		l, err := in.vipLink(v)
		if err == nil {
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
		dev := r.Dev
		if dev == "" {
			dev = in.cfg.Interface
		}
		ifi, err := in.r.link(dev)
		if err != nil {
			in.r.log.Error("vrrp: virtual route", "instance", in.cfg.Name, "dst", r.Dst, "err", err)
			continue
		}
		nr := &netlink.Route{Dst: ipNet(r.Dst), LinkIndex: ifi.Index, Table: r.Table, Priority: r.Metric}
		if r.Gw.IsValid() {
			nr.Gw = r.Gw.AsSlice()
		}
		err = in.r.netlink(func(h *netlink.Handle) error {
			if on {
				return h.RouteReplace(nr)
			}
			return h.RouteDel(nr)
		})
		if err != nil && (on || !errors.Is(err, syscall.ESRCH)) {
			in.r.log.Error("vrrp: virtual route", "instance", in.cfg.Name, "dst", r.Dst, "add", on, "err", err)
		}
	}
	for _, r := range rules {
		nr := netlink.NewRule()
		nr.Table, nr.Priority = r.Table, r.Priority
		if r.From.IsValid() {
			nr.Src = ipNet(r.From)
		}
		if r.To.IsValid() {
			nr.Dst = ipNet(r.To)
		}
		if (r.From.IsValid() && r.From.Addr().Is6()) || (r.To.IsValid() && r.To.Addr().Is6()) {
			nr.Family = netlink.FAMILY_V6
		} else {
			nr.Family = netlink.FAMILY_V4
		}
		err := in.r.netlink(func(h *netlink.Handle) error {
			if on {
				return h.RuleAdd(nr)
			}
			return h.RuleDel(nr)
		})
		if err != nil && !(on && errors.Is(err, syscall.EEXIST)) && !(!on && errors.Is(err, syscall.ENOENT)) {
			in.r.log.Error("vrrp: virtual rule", "instance", in.cfg.Name, "rule", r, "add", on, "err", err)
		}
	}
}
