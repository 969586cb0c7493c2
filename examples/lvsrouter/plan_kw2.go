package main

import (
	"fmt"

	"github.com/lvskit/lvskit/keepalivedconf"
)

// instanceTracking applies the vrrp_instance keywords about what an
// instance follows of its own: dont_track_primary (by default an instance
// goes to FAULT while its interface is down; with it, it does not) and
// track_src_ip (FAULT while the configured mcast_src_ip/unicast_src_ip is
// not on the interface; without a configured source, vrrp always follows
// the address it took from the interface, as keepalived does).
func instanceTracking(cfg *keepalivedconf.Config, p *Plan) {
	byName := map[string]*keepalivedconf.VRRPInstance{}
	for _, in := range cfg.Instances {
		byName[in.Name] = in
	}
	for i := range p.Instances {
		c := &p.Instances[i]
		in := byName[c.Name]
		if in == nil {
			continue
		}
		c.DontTrackPrimary = last(in, "dont_track_primary") != nil
		c.TrackSource = last(in, "track_src_ip") != nil
	}
}

// dynamicInterfaces reads global_defs dynamic_interfaces. Its option
// allow_if_changes (keepalived tells interfaces recreated with another
// type or parent apart by it, for duplicate VRIDs) is refused.
func dynamicInterfaces(cfg *keepalivedconf.Config, p *Plan) []error {
	g := cfg.GlobalDefs
	if g == nil || g.Stmt == nil || g.Stmt.Block == nil {
		return nil
	}
	var errs []error
	for _, s := range g.Stmt.Block.Stmts {
		if !s.Active() || s.Keyword() != "dynamic_interfaces" {
			continue
		}
		p.DynamicInterfaces = true
		for i, a := range s.Args() {
			errs = append(errs, fmt.Errorf("%s: global_defs: dynamic_interfaces %s is not supported by lvsrouter", s.ArgPos(i+1), a))
		}
	}
	return errs
}
