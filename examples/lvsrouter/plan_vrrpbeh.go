package main

import (
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/lvskit/lvskit/check"

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
	byName := instancesByName(cfg)
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
		for _, ref := range b.TrackProcesses {
			tp, err := trackProcess(cfg, in.Name, ref)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			c.TrackProcesses = append(c.TrackProcesses, tp)
		}
	}
	return errs
}

// trackProcess resolves an instance's track_process reference to the
// vrrp_track_process it names, with the weight the reference overrides.
// The process start/end delays and partial or initial parameter matching
// are refused, not ignored.
func trackProcess(cfg *keepalivedconf.Config, instance string, ref keepalivedconf.TrackRef) (vrrp.TrackProcess, error) {
	var def *keepalivedconf.TrackProcess
	for _, tp := range cfg.TrackProcesses {
		if tp.Name == ref.Name {
			def = tp
		}
	}
	if def == nil {
		return vrrp.TrackProcess{}, errAt(ref.Stmt, "vrrp_instance %s: track_process %q is not defined", instance, ref.Name)
	}
	for _, kw := range []string{"delay", "fork_delay", "terminate_delay"} {
		if s := def.Stmt.Block.Find(kw); s != nil {
			return vrrp.TrackProcess{}, errAt(s, "vrrp_track_process %s: %s is not supported by lvsrouter", def.Name, kw)
		}
	}
	if def.ParamMatch == "partial" || def.ParamMatch == "initial" {
		return vrrp.TrackProcess{}, errAt(def.Stmt.Block.Find("param_match"), "vrrp_track_process %s: param_match %s is not supported by lvsrouter", def.Name, def.ParamMatch)
	}
	tp := vrrp.TrackProcess{Name: def.Name, Process: def.Process, FullCommand: def.FullCommand, Params: def.Params,
		Quorum: def.Quorum, QuorumMax: def.QuorumMax, Weight: def.Weight, Reverse: def.Reverse}
	if ref.Weight != nil {
		tp.Weight, tp.Reverse = *ref.Weight, ref.Reverse
	}
	return tp, nil
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
	if a := c.VIPs[0].Prefix.Addr(); a.Is6() && len(c.Peers) == 0 && !a.IsLinkLocalUnicast() {
		warn("the first IPv6 VIP address must be link local")
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

// GroupNotify holds a sync group's notify scripts (argv, no shell). They
// run when the group's state changes: after every member has reached the
// new state (a member's own scripts come first), and, for STOP, after the
// members have stopped. Notify gets "GROUP", the name, the state and 0
// appended, as keepalived's notify does.
type GroupNotify struct {
	Master, Backup, Fault, Stop, Notify []string `json:",omitempty"`
}

// groupNotify translates the sync groups' notify scripts.
func groupNotify(cfg *keepalivedconf.Config, p *Plan) []error {
	var errs []error
	for _, g := range cfg.SyncGroups {
		b, warns := g.Behaviour()
		p.noteWarnings(warns)
		sc := scripts{at: g.Stmt}
		n := GroupNotify{Master: sc.argv(g.NotifyMaster), Backup: sc.argv(g.NotifyBackup),
			Fault: sc.argv(g.NotifyFault), Stop: sc.argv(b.NotifyStop), Notify: sc.argv(g.Notify)}
		if sc.err != nil {
			errs = append(errs, sc.err)
			continue
		}
		if n.Master == nil && n.Backup == nil && n.Fault == nil && n.Stop == nil && n.Notify == nil {
			continue
		}
		if p.GroupNotify == nil {
			p.GroupNotify = map[string]GroupNotify{}
		}
		p.GroupNotify[g.Name] = n
	}
	return errs
}

// mailPlan translates smtp_alert and the mail settings of global_defs as
// keepalived 2.2.7 reads them: an instance or sync group sends alerts when
// its own smtp_alert, else smtp_alert_vrrp, else smtp_alert says so; a
// real server when its own, else smtp_alert_checker, else smtp_alert, else
// always (keepalived's default for real servers). The host name stands in
// for router_id, notification_email_from (as user@host) and
// smtp_helo_name when they are not written.
func mailPlan(cfg *keepalivedconf.Config, p *Plan) []error {
	errs := groupNotify(cfg, p)
	g := cfg.GlobalDefs
	if g == nil {
		return errs
	}
	glob, _ := g.VRRPGlobals() // warnings noted by vrrpBehaviour
	host, _ := os.Hostname()
	m := MailPlan{Server: g.SMTPServer, Port: g.SMTPPort, From: g.NotificationEmailFrom, To: g.NotificationEmail,
		Helo: glob.SMTPHeloName, Timeout: g.SMTPConnectTimeout, RouterID: g.RouterID,
		NoFaults: glob.NoEmailFaults, NoCheckerEmails: glob.NoCheckerEmails}
	if m.RouterID == "" {
		m.RouterID = host
	}
	if m.Helo == "" {
		m.Helo = host
	}
	if m.From == "" {
		if u, err := user.Current(); err == nil && host != "" {
			m.From = u.Username + "@" + host
		}
	}
	vrrpDefault := pickBool(glob.SMTPAlertVRRP, pickBool(glob.SMTPAlert, false))
	checkerDefault := pickBool(glob.SMTPAlertChecker, pickBool(glob.SMTPAlert, true))
	for _, in := range cfg.Instances {
		b, _ := in.Behaviour()
		if pickBool(b.SMTPAlert, vrrpDefault) {
			if m.Instances == nil {
				m.Instances = map[string]bool{}
			}
			m.Instances[in.Name] = true
		}
	}
	for _, sg := range cfg.SyncGroups {
		b, _ := sg.Behaviour()
		if pickBool(b.SMTPAlert, vrrpDefault) {
			if m.Groups == nil {
				m.Groups = map[string]bool{}
			}
			m.Groups[sg.Name] = true
		}
	}
	m.Checks = realAlerts(p, checkerDefault)
	// Virtual servers' quorum alerts (plan_kw3.go): their own smtp_alert,
	// else smtp_alert_checker, else smtp_alert, else off.
	m.Services = serviceAlerts(p, pickBool(glob.SMTPAlertChecker, pickBool(glob.SMTPAlert, false)))
	p.Mail = m
	return errs
}

// realAlerts maps the check targets of alerting real servers to their
// alert texts, in keepalived's format: "[10.0.0.2]:tcp:80" for a real
// server, "[10.0.0.1]:tcp:80" or "FWM 1" for its virtual server.
func realAlerts(p *Plan, def bool) map[string]RealAlert {
	out := map[string]RealAlert{}
	for _, v := range p.Services {
		key := v.Service.Key()
		proto := key.Protocol
		if key.FWMark != 0 {
			proto = 0 // keepalived prints "none" for a mark's real servers
		}
		for _, rs := range v.Reals {
			if !rs.alert.or(def) {
				continue
			}
			for _, t := range rs.Checks {
				up, down := checkerLines(t.Checker)
				out[t.ID] = RealAlert{RS: trio(rs.Dest.Addr, proto), VS: vsString(key), Up: up, Down: down}
			}
		}
	}
	return out
}

// checkerLines are keepalived's body lines for a check that succeeds and
// fails.
func checkerLines(c check.Checker) (up, down string) {
	switch c.(type) {
	case check.TCP:
		return "=> TCP CHECK succeed on service <=", "=> TCP CHECK failed on service <="
	case check.UDP:
		return "=> UDP CHECK succeed on service <=", "=> UDP CHECK failed on service <="
	case check.ICMP:
		return "=> ICMP CHECK succeed on service <=", "=> ICMP CHECK failed on service <="
	case check.DNS:
		return "=> DNS_CHECK: succeed on service <=", "=> DNS_CHECK: failed on service <="
	case check.Exec:
		return "=> MISC CHECK succeeded on service <=", "=> MISC CHECK failed on service <="
	case check.SMTP:
		return "=> CHECK succeed on service <=", "=> CHECK failed on service <="
	}
	return "=> CHECK succeed on service <=", "=> CHECK failed on service : HTTP request failed <="
}
