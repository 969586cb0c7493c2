package keepalivedconf

import (
	"fmt"
	"net/netip"
)

// Lint returns findings keepalived does not report but that are very likely
// mistakes: a virtual_router_id used twice on one interface, a BACKUP
// instance with the owner priority 255, sync-group members with different
// advert_int, a unicast_peer that is our own unicast_src_ip, a real server
// listed twice in a virtual server, and virtual servers whose real servers
// all have weight 0. Every finding wraps ErrLint, or ErrInclude for a plain
// include that matches nothing.
func (c *Config) Lint() ErrorList {
	var d diags
	lint := func(p Position, format string, args ...any) { d.add(p, sevLint, ErrLint, format, args...) }

	type vrKey struct {
		ifname string
		vrid   int
		v6     bool
	}
	seen := map[vrKey]*VRRPInstance{}
	byName := map[string]*VRRPInstance{}
	for _, in := range c.Instances {
		byName[in.Name] = in
		if in.VirtualRouterID != 0 && in.Interface != "" {
			k := vrKey{in.Interface, in.VirtualRouterID, in.family6()}
			if prev := seen[k]; prev != nil {
				lint(in.Stmt.Pos, "(%s) virtual_router_id %d is also used on interface %s by %s (%s)", in.Name, in.VirtualRouterID, in.Interface, prev.Name, prev.Stmt.Pos)
			} else {
				seen[k] = in
			}
		}
		if in.State == StateBackup && in.Priority == 255 {
			lint(in.Stmt.Pos, "(%s) state BACKUP with priority 255: 255 means address owner, which is always master", in.Name)
		}
		if in.UnicastSrcIP.IsValid() {
			for _, p := range in.UnicastPeers {
				if p == in.UnicastSrcIP {
					lint(in.Stmt.Pos, "(%s) unicast_peer %s is our own unicast_src_ip", in.Name, p)
				}
			}
		}
	}
	for _, g := range c.SyncGroups {
		var first *VRRPInstance
		for _, n := range g.Group {
			in := byName[n]
			if in == nil {
				continue
			}
			if first == nil {
				first = in
			} else if in.AdvertInt != first.AdvertInt {
				lint(in.Stmt.Pos, "(%s) advert_int %v differs from %v of %s in sync group %s", in.Name, in.AdvertInt, first.AdvertInt, first.Name, g.Name)
			}
		}
	}
	for _, vs := range c.VirtualServers {
		rs := map[netip.AddrPort]*RealServer{}
		zero := 0
		for _, r := range vs.RealServers {
			if prev := rs[r.Addr]; prev != nil {
				lint(r.Stmt.Pos, "real server %s is listed twice in virtual server %s (first at %s)", r.Addr, vs.name(), prev.Stmt.Pos)
			}
			rs[r.Addr] = r
			if r.Weight == 0 {
				zero++
			}
		}
		if len(vs.RealServers) > 0 && zero == len(vs.RealServers) {
			lint(vs.Stmt.Pos, "every real server of virtual server %s has weight 0: it receives no traffic", vs.name())
		}
	}
	d.lints = append(d.lints, c.lints...)
	d.lints.Sort()
	return dedup(d.lints).capped(c.maxErrors)
}

func (in *VRRPInstance) family6() bool {
	switch {
	case in.UnicastSrcIP.IsValid():
		return in.UnicastSrcIP.Is6()
	case len(in.VIPs) > 0:
		return in.VIPs[0].Prefix.Addr().Is6()
	}
	return false
}

func (vs *VirtualServer) name() string {
	switch {
	case vs.FWMark != 0:
		return fmt.Sprintf("fwmark %d", vs.FWMark)
	case vs.Group != "":
		return "group " + vs.Group
	}
	return vs.Addr.String()
}
