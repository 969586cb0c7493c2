package main

import (
	"fmt"
	"time"

	"github.com/lvskit/lvskit/keepalivedconf"
	"github.com/lvskit/lvskit/vrrp"
)

// keepalived's gratuitous ARP defaults (vrrp.h).
const (
	kaGARPDelay  = 5 * time.Second
	kaGARPRepeat = 5
)

// vrrpBehaviour applies the global_defs and vrrp_instance settings that
// shape how instances behave on the wire, beyond the election itself:
// gratuitous ARP / NA pacing (vrrp_garp_*, vrrp_gna_interval,
// vrrp_min_garp, garp_*), how a master answers other masters
// (vrrp_lower_prio_no_advert, vrrp_higher_prio_send_advert), what
// vrrp_strict implies for them, and vrrp_startup_delay. What keepalived
// reports and then runs anyway goes to p.Warnings, which fail -t as
// keepalived -t fails.
func vrrpBehaviour(cfg *keepalivedconf.Config, p *Plan) []error {
	var errs []error
	g, warns := cfg.GlobalDefs.VRRPGlobals()
	p.noteWarnings(warns)
	strict := cfg.GlobalDefs != nil && cfg.GlobalDefs.VRRPStrict
	p.StartupDelay = g.StartupDelay
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
		b, warns := in.Behaviour()
		p.noteWarnings(warns)
		c.GARP = instanceGARP(g, b.GARP, c.VIPs[0].Prefix.Addr().Is6(), strict)
		c.LowerPrioNoAdvert = pickBool(b.LowerPrioNoAdvert, g.LowerPrioNoAdvert)
		c.HigherPrioSendAdvert = pickBool(b.HigherPrioSendAdvert, g.HigherPrioSendAdvert)
		if strict {
			errs = append(errs, p.strictInstance(in, c, b)...)
		}
	}
	return errs
}

// instanceGARP is keepalived's GARP pacing for one instance: its own
// garp_* settings over the global vrrp_garp_* ones over the defaults. The
// lower-priority bursts default to the global settings (not the
// instance's), and to none under vrrp_strict.
func instanceGARP(g keepalivedconf.VRRPGlobals, in keepalivedconf.GARPSettings, ipv6, strict bool) vrrp.GARP {
	delay := pickDur(in.MasterDelay, pickDur(g.GARP.MasterDelay, kaGARPDelay))
	repeat := pickInt(in.MasterRepeat, pickInt(g.GARP.MasterRepeat, kaGARPRepeat))
	lowRepeat := pickInt(g.GARP.LowerPrioRepeat, pickInt(g.GARP.MasterRepeat, kaGARPRepeat))
	lowDelay := pickDur(g.GARP.LowerPrioDelay, pickDur(g.GARP.MasterDelay, kaGARPDelay))
	if strict {
		lowRepeat, lowDelay = 0, 0
	}
	lowRepeat = pickInt(in.LowerPrioRepeat, lowRepeat)
	lowDelay = pickDur(in.LowerPrioDelay, lowDelay)
	out := vrrp.GARP{
		Repeat:          repeat,
		Delay:           none(delay),
		Refresh:         pickDur(in.MasterRefresh, pickDur(g.GARP.MasterRefresh, 0)),
		RefreshRepeat:   pickInt(in.MasterRefreshRepeat, pickInt(g.GARP.MasterRefreshRepeat, 1)),
		LowerPrioRepeat: int(none(time.Duration(lowRepeat))),
		LowerPrioDelay:  none(lowDelay),
		Interval:        g.GARPInterval,
	}
	if ipv6 {
		out.Interval = g.GNAInterval
	}
	return out
}

// strictInstance applies vrrp_strict to one instance as keepalived does:
// what it refuses outright is an error; what it resets with a report is a
// warning, and the setting is reset.
func (p *Plan) strictInstance(in *keepalivedconf.VRRPInstance, c *vrrp.Config, b keepalivedconf.InstanceBehaviour) []error {
	var errs []error
	warn := func(format string, args ...any) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: (%s) ", in.Stmt.Pos, in.Name)+fmt.Sprintf(format, args...))
	}
	if len(c.Peers) > 0 {
		errs = append(errs, errAt(in.Stmt, "(%s) Unicast peers are not supported in strict mode", in.Name))
	}
	if c.AuthType != vrrp.AuthNone {
		warn("Strict mode does not support authentication. Ignoring.")
		c.AuthType, c.AuthPass = vrrp.AuthNone, ""
	}
	if (in.State == keepalivedconf.StateMaster) != (c.Priority == 255) && in.State != 0 {
		warn("State MASTER must match being address owner")
	}
	if c.PreemptDelay > 0 {
		warn("preempt_delay is incompatible with strict mode - resetting")
		c.PreemptDelay = 0
	}
	if b.LowerPrioNoAdvert != nil && !*b.LowerPrioNoAdvert {
		warn("strict mode requires lower_prio_no_advert to be set - setting")
	}
	if b.HigherPrioSendAdvert != nil && *b.HigherPrioSendAdvert {
		warn("strict mode requires higher_prio_send_advert to be clear - resetting")
	}
	if b.GARP.LowerPrioRepeat != nil && *b.GARP.LowerPrioRepeat != 0 {
		warn("strict mode requires garp_lower_prio_repeat to be 0 - resetting")
	}
	if b.GARP.LowerPrioDelay != nil && *b.GARP.LowerPrioDelay != 0 {
		warn("strict mode requires garp_lower_prio_delay to be 0 - resetting")
	}
	c.LowerPrioNoAdvert, c.HigherPrioSendAdvert = true, false
	c.GARP.LowerPrioRepeat, c.GARP.LowerPrioDelay = -1, -1
	return errs
}

// noteWarnings adds what keepalived reports and runs anyway.
func (p *Plan) noteWarnings(l keepalivedconf.ErrorList) {
	for _, e := range l {
		p.Warnings = append(p.Warnings, e.Error())
	}
}

func pickBool(v *bool, def bool) bool {
	if v != nil {
		return *v
	}
	return def
}

func pickInt(v *int, def int) int {
	if v != nil {
		return *v
	}
	return def
}

func pickDur(v *time.Duration, def time.Duration) time.Duration {
	if v != nil {
		return *v
	}
	return def
}

// none turns keepalived's 0 (none) into vrrp's negative (none): vrrp's
// zero means its default.
func none(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
