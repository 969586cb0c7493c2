package keepalivedconf

import (
	"math"
	"time"
)

// GARPSettings are keepalived's gratuitous ARP / unsolicited NA pacing
// settings, global (vrrp_garp_master_delay ...) or per instance
// (garp_master_delay ...). A nil field was not written.
type GARPSettings struct {
	// MasterDelay: when the second burst follows the first after a
	// takeover (0: none).
	MasterDelay *time.Duration `json:",omitempty"`
	// MasterRepeat: messages per burst.
	MasterRepeat *int `json:",omitempty"`
	// MasterRefresh: how often a burst is repeated while master (0:
	// never), MasterRefreshRepeat messages each.
	MasterRefresh       *time.Duration `json:",omitempty"`
	MasterRefreshRepeat *int           `json:",omitempty"`
	// LowerPrioDelay and LowerPrioRepeat: the bursts a master sends when
	// it hears a lower-priority advert.
	LowerPrioDelay  *time.Duration `json:",omitempty"`
	LowerPrioRepeat *int           `json:",omitempty"`
}

// VRRPGlobals are the global_defs settings that shape VRRP behaviour and
// mail alerts, beyond those in GlobalDefs itself.
type VRRPGlobals struct {
	GARP GARPSettings
	// GARPInterval and GNAInterval space gratuitous ARPs and unsolicited
	// NAs on an interface (vrrp_garp_interval, vrrp_gna_interval).
	GARPInterval, GNAInterval time.Duration
	// MinGARP is vrrp_min_garp: one message per takeover, no second
	// burst, no refresh, unless set otherwise.
	MinGARP bool
	// StartupDelay is vrrp_startup_delay.
	StartupDelay time.Duration
	// LowerPrioNoAdvert, HigherPrioSendAdvert: vrrp_lower_prio_no_advert
	// and vrrp_higher_prio_send_advert.
	LowerPrioNoAdvert, HigherPrioSendAdvert bool
	// CheckUnicastSrc is vrrp_check_unicast_src.
	CheckUnicastSrc bool
	// NotifyPriorityChanges is vrrp_notify_priority_changes.
	NotifyPriorityChanges bool
	// SMTPHeloName is smtp_helo_name.
	SMTPHeloName string
	// SMTPAlert, SMTPAlertVRRP and SMTPAlertChecker are smtp_alert,
	// smtp_alert_vrrp and smtp_alert_checker (nil: not written).
	SMTPAlert, SMTPAlertVRRP, SMTPAlertChecker *bool
	// NoEmailFaults is no_email_faults.
	NoEmailFaults bool
	// NoCheckerEmails is no_checker_emails.
	NoCheckerEmails bool
}

// VRRPGlobals decodes the VRRP behaviour and mail settings of global_defs.
// The ErrorList holds what keepalived reports and then runs anyway (a
// value out of range is ignored, a repeat of 0 becomes 1), each with its
// place: `keepalived -t` fails on those.
func (g *GlobalDefs) VRRPGlobals() (VRRPGlobals, ErrorList) {
	var v VRRPGlobals
	if g == nil || g.Stmt == nil || g.Stmt.Block == nil {
		return v, nil
	}
	dec := &decoder{cfg: &Config{}}
	for _, s := range g.Stmt.Block.Stmts {
		if !active(s) {
			continue
		}
		kw := s.Keyword()
		if len(kw) > 5 && kw[:5] == "vrrp_" && dec.garp(&v.GARP, s, kw[5:]) {
			continue
		}
		switch kw {
		case "vrrp_garp_interval":
			dec.setSeconds(&v.GARPInterval, s, 1, 0.000001, maxTimer)
		case "vrrp_gna_interval":
			dec.setSeconds(&v.GNAInterval, s, 1, 0.000001, maxTimer)
		case "vrrp_min_garp":
			v.MinGARP = dec.boolArg(s, 1)
		case "vrrp_startup_delay":
			dec.setSeconds(&v.StartupDelay, s, 1, 0.001, maxTimer)
		case "vrrp_lower_prio_no_advert":
			v.LowerPrioNoAdvert = dec.boolArg(s, 1)
		case "vrrp_higher_prio_send_advert":
			v.HigherPrioSendAdvert = dec.boolArg(s, 1)
		case "vrrp_check_unicast_src":
			v.CheckUnicastSrc = true
		case "vrrp_notify_priority_changes":
			v.NotifyPriorityChanges = dec.boolArg(s, 1)
		case "smtp_helo_name":
			dec.str(&v.SMTPHeloName, s, 1)
		case "smtp_alert":
			v.SMTPAlert = ptr(dec.boolArg(s, 1))
		case "smtp_alert_vrrp":
			v.SMTPAlertVRRP = ptr(dec.boolArg(s, 1))
		case "smtp_alert_checker":
			v.SMTPAlertChecker = ptr(dec.boolArg(s, 1))
		case "no_email_faults":
			v.NoEmailFaults = true
		case "no_checker_emails":
			v.NoCheckerEmails = true
		}
	}
	if v.MinGARP {
		// keepalived: one message, no second burst and no refresh,
		// unless written otherwise.
		if v.GARP.MasterRepeat == nil {
			v.GARP.MasterRepeat = ptr(1)
		}
		if v.GARP.MasterDelay == nil {
			v.GARP.MasterDelay = ptr(time.Duration(0))
		}
	}
	dec.d.list.Sort()
	return v, dec.d.list
}

// InstanceBehaviour holds a vrrp_instance's settings that shape its
// behaviour beyond VRRPInstance: GARP pacing and how it answers other
// masters. A nil field was not written.
type InstanceBehaviour struct {
	GARP                                    GARPSettings
	LowerPrioNoAdvert, HigherPrioSendAdvert *bool
	// NotifyPriorityChanges is notify_priority_changes.
	NotifyPriorityChanges *bool
	// SMTPAlert is smtp_alert as written (VRRPInstance.SMTPAlert cannot
	// tell "smtp_alert off" from nothing written).
	SMTPAlert *bool
	// TrackProcesses are the track_process references.
	TrackProcesses []TrackRef
}

// Behaviour decodes the instance's GARP settings (garp_master_delay ...)
// and lower_prio_no_advert / higher_prio_send_advert. The ErrorList holds
// what keepalived reports and then runs anyway, as for VRRPGlobals.
func (in *VRRPInstance) Behaviour() (InstanceBehaviour, ErrorList) {
	var b InstanceBehaviour
	if in == nil || in.Stmt == nil || in.Stmt.Block == nil {
		return b, nil
	}
	dec := &decoder{cfg: &Config{}}
	for _, s := range in.Stmt.Block.Stmts {
		if !active(s) {
			continue
		}
		kw := s.Keyword()
		if dec.garp(&b.GARP, s, kw) {
			continue
		}
		switch kw {
		case "lower_prio_no_advert":
			b.LowerPrioNoAdvert = ptr(dec.boolArg(s, 1))
		case "higher_prio_send_advert":
			b.HigherPrioSendAdvert = ptr(dec.boolArg(s, 1))
		case "notify_priority_changes":
			b.NotifyPriorityChanges = ptr(dec.boolArg(s, 1))
		case "smtp_alert":
			b.SMTPAlert = ptr(dec.boolArg(s, 1))
		case "track_process":
			b.TrackProcesses = append(b.TrackProcesses, dec.trackRefs(s)...)
		}
	}
	dec.d.list.Sort()
	return b, dec.d.list
}

// SyncGroupBehaviour holds a vrrp_sync_group's settings beyond SyncGroup:
// notify_stop and smtp_alert as written (nil: not written).
type SyncGroupBehaviour struct {
	NotifyStop string
	SMTPAlert  *bool
}

// Behaviour decodes the group's notify_stop and smtp_alert.
func (g *SyncGroup) Behaviour() (SyncGroupBehaviour, ErrorList) {
	var b SyncGroupBehaviour
	dec := &decoder{cfg: &Config{}}
	for _, s := range stmtsOf(g.stmt()) {
		switch s.Keyword() {
		case "notify_stop":
			dec.script(&b.NotifyStop, s)
		case "smtp_alert":
			b.SMTPAlert = ptr(dec.boolArg(s, 1))
		}
	}
	dec.d.list.Sort()
	return b, dec.d.list
}

// Alert is the virtual server's smtp_alert as written (nil: not written;
// keepalived then takes smtp_alert_checker, then smtp_alert, then off).
func (vs *VirtualServer) Alert() *bool { return alertOf(vs.Stmt) }

// Alert is the real server's smtp_alert as written (nil: not written;
// keepalived then takes smtp_alert_checker, then smtp_alert, then on).
func (rs *RealServer) Alert() *bool { return alertOf(rs.Stmt) }

func alertOf(st *Stmt) *bool {
	var v *bool
	dec := &decoder{cfg: &Config{}}
	for _, s := range stmtsOf(st) {
		if s.Keyword() == "smtp_alert" {
			v = ptr(dec.boolArg(s, 1))
		}
	}
	return v
}

func (g *SyncGroup) stmt() *Stmt {
	if g == nil {
		return nil
	}
	return g.Stmt
}

// stmtsOf returns the statements keepalived reads in st's block.
func stmtsOf(st *Stmt) []*Stmt {
	if st == nil || st.Block == nil {
		return nil
	}
	out := make([]*Stmt, 0, len(st.Block.Stmts))
	for _, s := range st.Block.Stmts {
		if active(s) {
			out = append(out, s)
		}
	}
	return out
}

// garp decodes one garp_* keyword (without the vrrp_ prefix of the global
// form) into g, reporting whether kw was one.
func (dec *decoder) garp(g *GARPSettings, s *Stmt, kw string) bool {
	seconds := func(dst **time.Duration) {
		// keepalived reads whole seconds.
		if n, ok := dec.integer(s, 1, 0, math.MaxUint32/1000000); ok {
			*dst = ptr(time.Duration(n) * time.Second)
		}
	}
	repeat := func(dst **int, zeroIsOne bool) {
		n, ok := dec.integer(s, 1, 0, math.MaxInt32)
		if !ok {
			return
		}
		if n == 0 && zeroIsOne {
			dec.d.errorf(s.ArgPos(1), ErrInvalid, "%s must be greater than 0, setting to 1", s.Keyword())
			n = 1
		}
		*dst = ptr(int(n))
	}
	switch kw {
	case "garp_master_delay":
		seconds(&g.MasterDelay)
	case "garp_master_repeat":
		repeat(&g.MasterRepeat, true)
	case "garp_master_refresh":
		if n, ok := dec.integer(s, 1, 0, math.MaxUint32); ok {
			g.MasterRefresh = ptr(time.Duration(n) * time.Second)
		}
	case "garp_master_refresh_repeat":
		repeat(&g.MasterRefreshRepeat, true)
	case "garp_lower_prio_delay":
		seconds(&g.LowerPrioDelay)
	case "garp_lower_prio_repeat":
		repeat(&g.LowerPrioRepeat, false)
	default:
		return false
	}
	return true
}

func ptr[T any](v T) *T { return &v }
