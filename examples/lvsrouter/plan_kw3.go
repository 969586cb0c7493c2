package main

import (
	"fmt"
	"strconv"

	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
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
	v.alert = vs.Alert()
	v.omega = vs.Omega
	switch {
	case vs.Group != "":
		// keepalived's format_vs: the group's name and the (unset) port of
		// the virtual_server block.
		v.alertName = "[" + vs.Group + "]:" + strconv.Itoa(int(vs.Addr.Port()))
	default:
		v.alertName = vsString(v.Service.Key())
	}
}

// serviceAlerts maps the services of alerting virtual servers to their
// names: a virtual server alerts when its own smtp_alert, else
// smtp_alert_checker, else smtp_alert says so (default off), as
// keepalived 2.2.7's check_data.c decides.
func serviceAlerts(p *Plan, def bool) map[string]ServiceAlert {
	var out map[string]ServiceAlert
	for _, v := range p.Services {
		if !pickBool(v.alert, def) {
			continue
		}
		if out == nil {
			out = map[string]ServiceAlert{}
		}
		out[vsString(v.Service.Key())] = ServiceAlert{Name: v.alertName, Omega: v.omega}
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
