package main

import (
	"fmt"
	"strconv"

	"github.com/lvskit/lvskit/keepalivedconf"
)

// instanceTracking applies the vrrp_instance keywords about what an
// instance follows of its own: dont_track_primary (by default an instance
// goes to FAULT while its interface is down; with it, it does not) and
// track_src_ip (FAULT while the configured mcast_src_ip/unicast_src_ip is
// not on the interface; without a configured source, vrrp always follows
// the address it took from the interface, as keepalived does).
func instanceTracking(cfg *keepalivedconf.Config, p *Plan) {
	byName := instancesByName(cfg)
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

// downTimerAdverts applies global_defs vrrp_down_timer_adverts and
// vrrp_instance down_timer_adverts (1..100, default 3): how many advert
// intervals a backup waits for its master. Like keepalived, a value out of
// range is an error, and vrrp_strict resets any other value than 3 with a
// warning (which fails -t, as keepalived's does).
func downTimerAdverts(cfg *keepalivedconf.Config, p *Plan) []error {
	var errs []error
	read := func(s *keepalivedconf.Stmt, what string) (int, bool) {
		n, err := strconv.Atoi(s.Arg(1))
		if err != nil || n < 1 || n > 100 {
			errs = append(errs, fmt.Errorf("%s: %s: invalid %s [1:100] %q", s.ArgPos(1), what, s.Keyword(), s.Arg(1)))
			return 0, false
		}
		return n, true
	}
	global := 0
	strict := false
	if g := cfg.GlobalDefs; g != nil {
		strict = g.VRRPStrict
		if g.Stmt != nil && g.Stmt.Block != nil {
			for _, s := range g.Stmt.Block.Stmts {
				if s.Active() && s.Keyword() == "vrrp_down_timer_adverts" {
					if n, ok := read(s, "global_defs"); ok {
						global = n
					}
				}
			}
		}
	}
	byName := instancesByName(cfg)
	for i := range p.Instances {
		c := &p.Instances[i]
		in := byName[c.Name]
		if in == nil {
			continue
		}
		n := global
		s := last(in, "down_timer_adverts")
		if s != nil {
			if v, ok := read(s, "vrrp_instance "+in.Name); ok {
				n = v
			}
		}
		if n == 3 {
			n = 0 // vrrp's default
		}
		if n != 0 && strict {
			at := in.Stmt.Pos
			if s != nil {
				at = s.Pos
			}
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: (%s) down_timer_adverts is incompatible with strict mode - resetting", at, in.Name))
			n = 0
		}
		c.DownTimerAdverts = n
	}
	return errs
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

// notifyPriorityChanges applies vrrp_instance notify_priority_changes,
// over vrrp_sync_group notify_priority_changes (read here), over
// global_defs vrrp_notify_priority_changes (each an optional boolean,
// true when bare): the instances named in p.NotifyPriority write keepalived's
// "INSTANCE "name" MASTER_PRIORITY|BACKUP_PRIORITY prio" FIFO lines when
// tracking changes their priority.
func notifyPriorityChanges(cfg *keepalivedconf.Config, p *Plan) []error {
	var errs []error
	// find returns the setting of the last active kw statement in b.
	find := func(b *keepalivedconf.Block, kw string) *bool {
		if b == nil {
			return nil
		}
		var v *bool
		for _, s := range b.Stmts {
			if !s.Active() || s.Keyword() != kw {
				continue
			}
			on := true
			switch a := s.Arg(1); a {
			case "", "true", "on", "yes":
			case "false", "off", "no":
				on = false
			default:
				errs = append(errs, fmt.Errorf("%s: invalid value %q for %s", s.ArgPos(1), a, kw))
			}
			v = &on
		}
		return v
	}
	// keepalivedconf decodes the global and instance settings (what it
	// reports, vrrpBehaviour has noted already).
	g, _ := cfg.GlobalDefs.VRRPGlobals()
	global := g.NotifyPriorityChanges
	group := map[string]*bool{}
	for _, g := range cfg.SyncGroups {
		if g.Stmt == nil {
			continue
		}
		if v := find(g.Stmt.Block, "notify_priority_changes"); v != nil {
			for _, m := range g.Group {
				group[m] = v
			}
		}
	}
	for _, in := range cfg.Instances {
		on := global
		if v := group[in.Name]; v != nil {
			on = *v
		}
		if b, _ := in.Behaviour(); b.NotifyPriorityChanges != nil {
			on = *b.NotifyPriorityChanges
		}
		if on {
			p.NotifyPriority = append(p.NotifyPriority, in.Name)
		}
	}
	return errs
}
