package main

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
	"github.com/lvskit/lvskit/vrrp"
)

// ServiceAlert names a virtual server for its quorum alerts, as keepalived
// prints it ("[10.0.0.1]:tcp:80", "FWM 1", "[group]:0"), with whether it
// also mails at shutdown (omega).
type ServiceAlert struct {
	Name  string
	Omega bool `json:",omitempty"`
}

// serviceAlertOf records on v the virtual server's smtp_alert as written
// and the name keepalived's mails give it (a hook of translateServices).
func serviceAlertOf(vs *keepalivedconf.VirtualServer, v *VirtualService) {
	if hasKeyword(vs.Stmt, "smtp_alert") {
		v.alert = optOf(vs.Alert())
	}
	v.omega = vs.Omega
	switch {
	case vs.Group != "":
		// keepalived's format_vs: the group's name and the (unset) port of
		// the virtual_server block.
		v.setRare().alertName = "[" + vs.Group + "]:" + strconv.Itoa(int(vs.Addr.Port()))
	default:
		// vsString(v.Service.Key()), made when a mail needs it
		// (serviceAlerts): a Sprintf per virtual server costs a large
		// configuration's load 3 %.
	}
}

// hasKeyword reports whether the block of s has a statement with the
// keyword, active or not. Decoding smtp_alert (Alert) costs a decoder per
// call; at 40,000 real servers it is only worth it where the keyword is.
func hasKeyword(s *keepalivedconf.Stmt, keyword string) bool {
	return s != nil && s.Block.Find(keyword) != nil
}

// serviceAlerts maps the services of alerting virtual servers to their
// names: a virtual server alerts when its own smtp_alert, else
// smtp_alert_checker, else smtp_alert says so (default off), as
// keepalived 2.2.7's check_data.c decides.
func serviceAlerts(p *Plan, def bool) map[string]ServiceAlert {
	var out map[string]ServiceAlert
	for _, v := range p.Services {
		if !v.alert.or(def) {
			continue
		}
		if out == nil {
			out = map[string]ServiceAlert{}
		}
		key := vsString(v.Service.Key())
		name := v.getRare().alertName
		if name == "" {
			name = key
		}
		out[key] = ServiceAlert{Name: name, Omega: v.omega}
	}
	return out
}

// quorumMail mails a virtual server's quorum change as keepalived's
// do_vs_notifies does: subject "Virtualserver VS - UP|DOWN", body
// "=> Gained quorum Q+H=T <= W <=" (or Lost, or at start "Starting with
// quorum up|down"), where T is the threshold just crossed and W the alive
// weight. A group's services share one state and send one mail.
func (m *mailer) quorumMail(k ipvs.ServiceKey, init, up bool, quorum, hysteresis, weight int) {
	if !m.enabled() {
		return
	}
	a, ok := m.plan.Services[vsString(k)]
	if !ok {
		return
	}
	st, what, threshold := "DOWN", "Lost quorum", quorum-hysteresis
	if up {
		st, what, threshold = "UP", "Gained quorum", quorum+hysteresis
	}
	if init {
		what = "Starting with quorum " + map[bool]string{true: "up", false: "down"}[up]
		threshold = quorum + hysteresis
	}
	key := "v:" + a.Name
	m.mu.Lock()
	if m.stopping || m.last[key] == st {
		m.mu.Unlock()
		return
	}
	m.last[key] = st
	m.mu.Unlock()
	m.send("Virtualserver "+a.Name+" - "+st, fmt.Sprintf("=> %s %d+%d=%d <= %d <=", what, quorum, hysteresis, threshold, weight))
}

// shutdownMails sends keepalived's "=> Shutting down <=" for every
// alerting virtual server with omega, once, and stops further quorum
// mails: at shutdown keepalived mails the stop, not the quorum loss it
// causes.
func (m *mailer) shutdownMails() {
	if !m.enabled() {
		return
	}
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		return
	}
	m.stopping = true
	m.mu.Unlock()
	seen := map[string]bool{}
	for _, k := range m.vsOrder { // keepalived's order: the config's
		if a, ok := m.plan.Services[k]; ok && a.Omega && !seen[a.Name] {
			seen[a.Name] = true
			m.send("Virtualserver "+a.Name+" - DOWN", "=> Shutting down <=")
		}
	}
}

// garpPlan translates keepalived's per-interface gratuitous ARP / NA
// settings beyond vrrpBehaviour's: garp_group blocks (garp_interval and
// gna_interval for the instances whose interface is in the group, over
// vrrp_garp_interval / vrrp_gna_interval) and vrrp_garp_extra_if /
// garp_extra_if (and the deprecated vrrp_vmac_garp_intvl), with
// keepalived 2.2.7's checks: what it reports and then ignores goes to
// p.Warnings, which fail -t as keepalived -t fails.
func garpPlan(cfg *keepalivedconf.Config, p *Plan) []error {
	src := cfg.Source()
	if src == nil {
		return nil
	}
	warn := func(s *keepalivedconf.Stmt, format string, args ...any) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: ", s.Pos)+fmt.Sprintf(format, args...))
	}
	groups := garpGroups(src.Stmts, warn, p)
	var glob garpExtra
	for _, s := range src.Stmts {
		if !activeStmt(s) || s.Keyword() != "global_defs" || s.Block == nil {
			continue
		}
		for _, gs := range s.Block.Stmts {
			if kw := gs.Keyword(); activeStmt(gs) && (kw == "vrrp_garp_extra_if" || kw == "vrrp_vmac_garp_intvl") {
				if kw == "vrrp_vmac_garp_intvl" {
					warn(gs, "Keyword \"vrrp_vmac_garp_intvl\" is deprecated - please use \"vrrp_garp_extra_if\"")
				}
				glob.read(gs, 1, warn)
			}
		}
	}
	vmacs := map[string]bool{}
	for _, c := range p.Instances {
		if c.VMAC {
			vmacs[cmp.Or(c.VMACName, vmacName("vrrp", c.VRID))] = true
		}
	}
	byName := instancesByName(cfg)
	for i := range p.Instances {
		c := &p.Instances[i]
		if gg, ok := groups[c.Interface]; ok {
			c.GARP.Interval = gg.garp
			if c.VIPs[0].Prefix.Addr().Is6() {
				c.GARP.Interval = gg.gna
			}
		}
		x := garpExtra{}
		if in := byName[c.Name]; in != nil && in.Stmt.Block != nil {
			for _, s := range in.Stmt.Block.Stmts {
				if activeStmt(s) && s.Keyword() == "garp_extra_if" {
					x.read(s, 0, warn)
				}
			}
		}
		if !x.set {
			// keepalived: an instance without its own takes the global
			// interval, and its "all" with it.
			x.delay, x.set, x.all = glob.delay, glob.set, x.all || glob.all
		}
		if !x.set || x.delay == 0 {
			continue
		}
		if devs := extraDevs(c, vmacs, x.all); len(devs) > 0 {
			c.GARP.ExtraInterval, c.GARP.ExtraDevs = time.Duration(x.delay)*time.Second, devs
		}
	}
	return nil
}

// garpExtra is a (vrrp_)garp_extra_if setting: seconds, and "all".
type garpExtra struct {
	delay uint64
	set   bool
	all   bool
}

// read reads one (vrrp_)garp_extra_if statement as keepalived's handlers
// do: "all" anywhere, one number (from lo to 86400); an invalid word or a
// missing number is reported and the statement ignored, an "all" before
// it kept.
func (x *garpExtra) read(s *keepalivedconf.Stmt, lo uint64, warn func(*keepalivedconf.Stmt, string, ...any)) {
	kw := s.Keyword()
	var delay uint64
	have := false
	for _, a := range s.Args() {
		if a == "all" {
			x.all = true
			continue
		}
		n, err := strconv.ParseUint(a, 10, 32)
		if err != nil || n < lo || n > 86400 {
			warn(s, "%s '%s' invalid - ignoring", kw, a)
			return
		}
		delay, have = n, true
	}
	if !have {
		warn(s, "%s specified without time - ignoring", kw)
		return
	}
	x.delay, x.set = delay, true
}

// extraDevs is keepalived's choice of interfaces for garp_extra_if: those
// carrying the instance's VIPs (and excluded VIPs) other than its own
// interface, the VMAC interfaces lvsrouter creates always, the others
// only with "all"; none when no VMAC interface is among them and "all"
// is not given.
func extraDevs(c *vrrp.Config, vmacs map[string]bool, all bool) []string {
	own := c.Interface
	if c.VMAC {
		own = cmp.Or(c.VMACName, vmacName("vrrp", c.VRID))
	}
	var out []string
	seen := map[string]bool{}
	for _, v := range append(slices.Clip(c.VIPs), c.ExcludedVIPs...) {
		if v.Dev == "" || v.Dev == own || seen[v.Dev] || (!vmacs[v.Dev] && !all) {
			continue
		}
		seen[v.Dev] = true
		out = append(out, v.Dev)
	}
	return out
}

// garpGroupDelay is one garp_group block's spacing.
type garpGroupDelay struct {
	garp, gna         time.Duration
	haveGARP, haveGNA bool
}

// garpGroups reads the garp_group blocks into the spacing of each named
// interface, with keepalived's reports: an interface already in a group,
// a group with no delay (removed), an invalid interval.
func garpGroups(stmts []*keepalivedconf.Stmt, warn func(*keepalivedconf.Stmt, string, ...any), p *Plan) map[string]*garpGroupDelay {
	out := map[string]*garpGroupDelay{}
	for _, s := range stmts {
		if !activeStmt(s) || s.Keyword() != "garp_group" || s.Block == nil {
			continue
		}
		d := &garpGroupDelay{}
		type named struct {
			st   *keepalivedconf.Stmt
			name string
		}
		var ifs []named
		for _, gs := range s.Block.Stmts {
			if !activeStmt(gs) {
				continue
			}
			switch kw := gs.Keyword(); kw {
			case "garp_interval", "gna_interval":
				v, err := strconv.ParseFloat(gs.Arg(1), 64)
				if err != nil || v < 0 || v*1e6 > math.MaxInt32 || math.IsNaN(v) {
					warn(gs, "garp_group %s '%s' invalid", kw, gs.Arg(1))
					continue
				}
				dur := time.Duration(math.Round(v*1e6)) * time.Microsecond
				if kw == "garp_interval" {
					d.garp, d.haveGARP = dur, true
				} else {
					d.gna, d.haveGNA = dur, true
				}
			case "interface":
				ifs = append(ifs, named{gs, gs.Arg(1)})
				p.garpIfaces = append(p.garpIfaces, garpIface{gs.Arg(1), gs.ArgPos(1)})
			case "interfaces":
				if gs.Block == nil || len(gs.Block.Stmts) == 0 {
					warn(gs, "Warning - empty garp_group interfaces block")
				}
				if gs.Block != nil {
					for _, n := range gs.Block.Stmts {
						if activeStmt(n) {
							ifs = append(ifs, named{n, n.Arg(0)})
							p.garpIfaces = append(p.garpIfaces, garpIface{n.Tokens[0].Text, n.Pos})
						}
					}
				}
			}
		}
		if !d.haveGARP && !d.haveGNA {
			warn(s, "garp group does not have any delay set - removing")
			continue
		}
		for _, is := range ifs {
			name := is.name
			if _, dup := out[name]; dup {
				warn(is.st, "garp_group already specified for %s - ignoring", name)
				continue
			}
			out[name] = d
		}
	}
	return out
}

// sameGARP compares two GARP settings (compare.go).
func sameGARP(a, b vrrp.GARP) bool {
	return reflect.DeepEqual(a, b)
}

// garpIface is an interface a garp_group names, with its place.
type garpIface struct {
	name string
	pos  keepalivedconf.Position
}

// checkGARPGroups reports the garp_group interfaces the host lacks, as
// keepalived -t does (validate.go).
func checkGARPGroups(p *Plan, exists func(string) bool) error {
	var errs []error
	for _, g := range p.garpIfaces {
		if g.name != "" && !exists(g.name) {
			errs = append(errs, fmt.Errorf("%s: WARNING - interface %s specified for garp_group doesn't exist", g.pos, g.name))
		}
	}
	if len(errs) > 0 {
		errs = append(errs, errNoInterface)
	}
	return errors.Join(errs...)
}
