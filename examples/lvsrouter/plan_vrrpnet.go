package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/lvskit/lvskit/keepalivedconf"
	"github.com/lvskit/lvskit/vrrp"
)

// rtprotKeepalived is the protocol number keepalived gives the routes and
// rules it adds (RTPROT_KEEPALIVED; `ip route` prints "proto keepalived"),
// unless the configuration names another.
const rtprotKeepalived = 18

// routeTypes are the kernel's RTN_* numbers of iproute2's route type words.
var routeTypes = map[string]uint8{
	"local": 2, "broadcast": 3, "anycast": 4, "multicast": 5, "blackhole": 6,
	"unreachable": 7, "prohibit": 8, "throw": 9, "nat": 10, "xresolve": 11,
}

// vrrpNet translates what an instance adds to the network besides its
// VIPs, and where its adverts go, with keepalived's defaults:
// use_vmac (its name, the global vmac_prefix, vmac_xmit_base),
// mcast_src_ip and unicast_src_ip, mcast_dst_ip and the global
// vrrp_mcast_group4/6, virtual_ipaddress_excluded, virtual_routes,
// virtual_rules and skip_check_adv_addr (or the global
// vrrp_skip_check_adv_addr). It runs after the VIPs are translated.
func vrrpNet(g *keepalivedconf.GlobalDefs, in *keepalivedconf.VRRPInstance, c *vrrp.Config) error {
	if g == nil {
		g = &keepalivedconf.GlobalDefs{}
	}
	ipv6 := len(c.VIPs) > 0 && c.VIPs[0].Prefix.Addr().Is6()
	var errs []error

	// use_vmac [NAME] [MAC]: keepalived names the interface
	// <vmac_prefix>.<vrid> (prefix "vrrp"), cut to IFNAMSIZ.
	c.VMAC = in.UseVMAC
	if in.UseVMAC {
		if in.VMACAddr != "" {
			errs = append(errs, errAt(find(in, "use_vmac"), "vrrp_instance %s: use_vmac with a MAC address (%s) is not supported by lvsrouter", in.Name, in.VMACAddr))
		}
		c.VMACName = in.VMACName
		if c.VMACName == "" && g.VMACPrefix != "" {
			c.VMACName = vmacName(g.VMACPrefix, c.VRID)
		}
		// keepalived: "unicast with use_vmac requires vmac_xmit_base -
		// setting".
		c.VMACXmitBase = in.VMACXmitBase || len(in.UnicastPeers) > 0
	}

	// mcast_src_ip and unicast_src_ip set the same source; the last one
	// written wins, as in keepalived.
	if s := last(in, "mcast_src_ip", "unicast_src_ip"); s != nil {
		if s.Keyword() == "mcast_src_ip" {
			c.Source = in.McastSrcIP
		} else {
			c.Source = in.UnicastSrcIP
		}
	}

	// The multicast group: the instance's mcast_dst_ip, else the global
	// group of its family. Unicast instances send to their peers.
	if len(c.Peers) == 0 {
		switch {
		case in.McastDstIP.IsValid():
			c.Group = in.McastDstIP
		case ipv6 && g.VRRPMcastGroup6.IsValid():
			c.Group = g.VRRPMcastGroup6
		case !ipv6 && g.VRRPMcastGroup4.IsValid():
			c.Group = g.VRRPMcastGroup4
		}
		if c.Group == vrrp.MulticastIPv4 || c.Group == vrrp.MulticastIPv6 {
			c.Group = netip.Addr{} // the default, spelt out
		}
	}

	for _, v := range in.ExcludedVIPs {
		vv, err := vip(v, "virtual_ipaddress_excluded")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.ExcludedVIPs = append(c.ExcludedVIPs, vv)
	}
	for _, r := range in.VirtualRoutes {
		vr, err := route(r, "virtual_routes")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.Routes = append(c.Routes, vr)
	}
	for _, r := range in.VirtualRules {
		vr, err := rule(r, "virtual_rules")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.Rules = append(c.Rules, vr)
	}

	// keepalived checks every advert's address list unless told to skip
	// it; skipping still checks adverts from a new master.
	c.CheckAddrs = !in.SkipCheckAdvAddr
	c.CheckNewMasterAddrs = in.SkipCheckAdvAddr
	return errors.Join(errs...)
}

// vmacName is keepalived's create_vmac_name: PREFIX.VRID, the prefix cut
// so that the name fits in 15 bytes.
func vmacName(prefix string, vrid uint8) string {
	suffix := "." + strconv.Itoa(int(vrid))
	if len(prefix)+len(suffix) > 15 {
		prefix = prefix[:15-len(suffix)]
	}
	return prefix + suffix
}

// vip translates one virtual_ipaddress, virtual_ipaddress_excluded or
// static_ipaddress entry. no_track turns off what keepalived does when
// someone deletes the address (a master leaves MASTER; a static address
// is restored).
func vip(v keepalivedconf.VIP, ctx string) (vrrp.VIP, error) {
	if len(v.Other) > 0 {
		return vrrp.VIP{}, errAt(v.Stmt, "%s: address option %q is not supported by lvsrouter", ctx, v.Other[0])
	}
	return vrrp.VIP{Prefix: v.Prefix, Dev: v.Dev, Label: v.Label, Broadcast: v.Brd, Scope: int(v.Scope), NoTrack: v.NoTrack}, nil
}

// route translates one virtual_routes or static_routes entry.
func route(r keepalivedconf.Route, ctx string) (vrrp.Route, error) {
	if len(r.Other) > 0 {
		return vrrp.Route{}, errAt(r.Stmt, "%s: route option %q is not supported by lvsrouter", ctx, r.Other[0])
	}
	// keepalived tracks a route only with an interface and without
	// no_track; a tracked route always carries its protocol (it resets
	// another one the configuration names).
	vr := vrrp.Route{Dst: r.Dst, Gw: r.Via, Dev: r.Dev, Table: r.Table, Metric: r.Metric, Src: r.Src,
		Protocol: rtprotKeepalived, NoTrack: !r.Tracked}
	if r.HasScope {
		vr.Scope = uint8(r.Scope)
	}
	if r.Protocol != 0 && !r.Tracked {
		vr.Protocol = uint8(r.Protocol)
	}
	if r.Type != "" {
		t, ok := routeTypes[r.Type]
		if !ok {
			return vr, errAt(r.Stmt, "%s: route type %s is not supported by lvsrouter", ctx, r.Type)
		}
		vr.Type = t
	}
	return vr, nil
}

// rule translates one virtual_rules or static_rules entry.
func rule(r keepalivedconf.Rule, ctx string) (vrrp.Rule, error) {
	if len(r.Other) > 0 {
		return vrrp.Rule{}, errAt(r.Stmt, "%s: rule option %q is not supported by lvsrouter", ctx, r.Other[0])
	}
	vr := vrrp.Rule{From: r.From, To: r.To, Table: r.Table, Priority: r.Priority, Protocol: rtprotKeepalived, IPv6: r.IPv6, NoTrack: r.NoTrack}
	if vr.Table == 0 {
		vr.Table = 254 // ip rule's default: lookup main
	}
	return vr, nil
}

// staticPlan translates the top-level static_ipaddress, static_routes and
// static_rules: set at start whatever the VRRP state, kept across reloads
// (only what changed moves) and removed on stop, as keepalived does.
func staticPlan(cfg *keepalivedconf.Config, p *Plan) error {
	var errs []error
	for _, v := range cfg.StaticAddresses {
		if v.Dev == "" {
			errs = append(errs, errAt(v.Stmt, "static_ipaddress %s: no interface (dev)", v.Prefix))
			continue
		}
		vv, err := vip(v, "static_ipaddress")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Static.Addrs = append(p.Static.Addrs, vv)
	}
	for _, r := range cfg.StaticRoutes {
		vr, err := route(r, "static_routes")
		if err == nil && vr.Dev == "" && !vr.Gw.IsValid() && (vr.Type < 6 || vr.Type > 9) {
			err = errAt(r.Stmt, "static_routes: route %s needs dev or via", r.Dst)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Static.Routes = append(p.Static.Routes, vr)
	}
	for _, r := range cfg.StaticRules {
		vr, err := rule(r, "static_rules")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Static.Rules = append(p.Static.Rules, vr)
	}
	return errors.Join(errs...)
}

// checkStatic reports the static entries vrrp refuses and the interfaces
// they name that the host lacks.
func checkStatic(p *Plan, exists func(string) bool) error {
	errs := []error{p.Static.Validate()}
	var names []string
	for _, v := range p.Static.Addrs {
		names = append(names, v.Dev)
	}
	for _, r := range p.Static.Routes {
		names = append(names, r.Dev)
	}
	missing := false
	for _, n := range names {
		if n != "" && !exists(n) {
			errs = append(errs, fmt.Errorf("interface %s for static addresses or routes doesn't exist", n))
			missing = true
		}
	}
	if missing {
		errs = append(errs, errNoInterface)
	}
	return errors.Join(errs...)
}

// find returns the instance's last statement with keyword kw, for error
// places (the instance's own when there is none).
func find(in *keepalivedconf.VRRPInstance, kw string) *keepalivedconf.Stmt {
	if s := last(in, kw); s != nil {
		return s
	}
	return in.Stmt
}

// last returns the last of the instance's statements with one of the
// keywords, nil when there is none.
func last(in *keepalivedconf.VRRPInstance, kws ...string) *keepalivedconf.Stmt {
	if in.Stmt == nil || in.Stmt.Block == nil {
		return nil
	}
	var found *keepalivedconf.Stmt
	for _, s := range in.Stmt.Block.Stmts {
		if !s.Active() {
			continue
		}
		for _, kw := range kws {
			if s.Keyword() == kw {
				found = s
			}
		}
	}
	return found
}
