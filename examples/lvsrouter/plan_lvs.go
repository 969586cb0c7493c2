package main

import (
	"fmt"
	"net/netip"
	"time"
	"unique"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
)

// LVSPlan is the IPVS side of global_defs, as keepalived drives it.
type LVSPlan struct {
	// Timeouts are lvs_timeouts: set at start (zero fields unchanged),
	// and the kernel's previous values put back at stop.
	Timeouts ipvs.Timeouts `json:",omitzero"`
	// SyncDaemon is lvs_sync_daemon; nil without one.
	SyncDaemon *SyncDaemonPlan `json:",omitempty"`
	// Flush is lvs_flush: the whole IPVS table is flushed at start.
	Flush bool `json:",omitempty"`
	// FlushOnStop is lvs_flush_onstop: FlushFull flushes the whole table
	// at stop instead of removing only lvsrouter's services.
	FlushOnStop keepalivedconf.FlushOnStop `json:",omitempty"`
}

// SyncDaemonPlan is the connection-sync daemon. With Instance set, it
// follows that VRRP instance as keepalived's VRRP process does: a backup
// daemon from start and whenever the instance is not MASTER, a master
// daemon while it is; without Instance both run for as long as lvsrouter
// does (keepalived's checker process).
type SyncDaemonPlan struct {
	Daemon   ipvs.Daemon // State is set when started
	Instance string      `json:",omitempty"`
}

// lvsGlobals translates lvs_timeouts, lvs_sync_daemon, lvs_flush and
// lvs_flush_onstop.
func lvsGlobals(cfg *keepalivedconf.Config, p *Plan) {
	var l keepalivedconf.LVSGlobals
	if g := cfg.GlobalDefs; g != nil {
		l = g.LVS
	}
	p.LVS = LVSPlan{
		Timeouts: ipvs.Timeouts{TCP: l.TimeoutTCP, TCPFin: l.TimeoutTCPFin, UDP: l.TimeoutUDP},
		Flush:    l.Flush, FlushOnStop: l.FlushOnStop,
	}
	sd := l.SyncDaemon
	if sd == nil {
		sd = instanceSyncDaemon(cfg, p)
	}
	if sd == nil {
		return
	}
	d := ipvs.Daemon{Interface: sd.Interface, MaxLen: sd.MaxLen, Group: sd.Group, Port: sd.Port, TTL: sd.TTL}
	if sd.SyncID >= 0 {
		d.SyncID = uint32(sd.SyncID)
	}
	if sd.Instance != "" {
		var in *keepalivedconf.VRRPInstance
		for _, i := range cfg.Instances {
			if i.Name == sd.Instance {
				in = i
				break
			}
		}
		if in == nil {
			// keepalived reports it (failing -t) and runs no daemon.
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: Unable to find vrrp instance %s for lvs_syncd - clearing lvs_syncd config", sd.Stmt.Pos, sd.Instance))
			return
		}
		if sd.SyncID < 0 {
			d.SyncID = uint32(in.VirtualRouterID) // keepalived's default: the VRID
		}
	}
	p.LVS.SyncDaemon = &SyncDaemonPlan{Daemon: d, Instance: sd.Instance}
}

// lvsService applies a virtual_server's IPVS flags and persistence engine.
func lvsService(vs *keepalivedconf.VirtualServer, s *ipvs.ServiceSettings) {
	s.Flags |= ipvs.ServiceFlags(vs.LVS.Flags)                          // both are IP_VS_SVC_F_* bits
	s.PersistenceEngine = unique.Make(vs.LVS.PersistenceEngine).Value() // as Scheduler
}

// forward maps a keepalived forwarding method to IPVS's; def for unset.
func forward(k keepalivedconf.LBKind, def ipvs.ForwardMethod) ipvs.ForwardMethod {
	switch k {
	case keepalivedconf.NAT:
		return ipvs.Masquerade
	case keepalivedconf.DR:
		return ipvs.Route
	case keepalivedconf.TUN:
		return ipvs.Tunnel
	}
	return def
}

// lvsReal applies a real server's lvs_method and thresholds.
func lvsReal(rs *keepalivedconf.RealServer, d *ipvs.DestinationSettings) {
	d.Forward = forward(rs.LVS.Forward, d.Forward)
	d.UpperThreshold, d.LowerThreshold = rs.LVS.UThreshold, rs.LVS.LThreshold
}

// lvsSorry applies sorry_server_lvs_method and sorry_server_inhibit.
func lvsSorry(vs *keepalivedconf.VirtualServer, v *VirtualService) {
	if v.Sorry == nil {
		return
	}
	v.Sorry.Forward = forward(vs.LVS.SorryForward, v.Sorry.Forward)
	v.SorryInhibit = vs.LVS.SorryInhibit
}

// urlRegex compiles a url block's regex for check.HTTP.
func urlRegex(u keepalivedconf.URL) (*check.BodyRegex, error) {
	r := u.Regex
	if r == nil {
		return nil, nil
	}
	br, err := check.CompileBodyRegex(r.Pattern, r.Options)
	if err != nil {
		return nil, errAt(r.Stmt, "url regex: %v", err)
	}
	br.NoMatch, br.MinOffset, br.MaxOffset = r.NoMatch, r.MinOffset, r.MaxOffset
	return br, nil
}

// smtpHosts turns an SMTP_CHECK into the checkers keepalived makes of it:
// one per host block, plus the checker's own connection unless host blocks
// replace it (when it sets none of connect_ip, connect_port, bindto,
// bind_port, connect_timeout). A host block defaults to the real server's
// address and port, and to the inherited connect_timeout.
func smtpHosts(k *keepalivedconf.SMTPCheck, rs netip.AddrPort, own check.SMTP, def time.Duration) []check.Checker {
	var out []check.Checker
	c := k.CheckCommon
	if len(k.Hosts) == 0 || c.ConnectIP.IsValid() || c.ConnectPort != 0 || c.BindTo.IsValid() || c.BindPort != 0 || c.ConnectTimeout != 0 {
		out = append(out, own)
	}
	for _, h := range k.Hosts {
		s := own
		a := rs
		if h.ConnectIP.IsValid() {
			a = netip.AddrPortFrom(h.ConnectIP, a.Port())
		}
		if h.ConnectPort != 0 {
			a = netip.AddrPortFrom(a.Addr(), h.ConnectPort)
		}
		s.Addr, s.Bind, s.Timeout = a, netip.AddrPort{}, def
		if h.BindTo.IsValid() {
			s.Bind = netip.AddrPortFrom(h.BindTo, h.BindPort)
		}
		if h.ConnectTimeout != 0 {
			s.Timeout = h.ConnectTimeout
		}
		out = append(out, s)
	}
	return out
}

// withInhibitedSorry adds the sorry server with weight 0 while quorum
// holds (sorry_server_inhibit), unless it is one of the real servers.
func withInhibitedSorry(dests []ipvs.Destination, sorry ipvs.Destination) []ipvs.Destination {
	for _, d := range dests {
		if d.Addr == sorry.Addr {
			return dests
		}
	}
	sorry.Weight = 0
	return append(dests, sorry)
}

// instanceSyncDaemon reads the deprecated vrrp_instance form,
// lvs_sync_daemon_interface IFNAME: the daemon follows that instance.
// keepalived reports the deprecation (failing -t) and runs it.
func instanceSyncDaemon(cfg *keepalivedconf.Config, p *Plan) *keepalivedconf.SyncDaemon {
	var sd *keepalivedconf.SyncDaemon
	for _, in := range cfg.Instances {
		if in.Stmt == nil || in.Stmt.Block == nil {
			continue
		}
		s := in.Stmt.Block.Find("lvs_sync_daemon_interface")
		if s == nil || len(s.Tokens) < 2 {
			continue
		}
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: (%s) Specifying lvs_sync_daemon_interface against a vrrp is deprecated. Please use global lvs_sync_daemon", s.Pos, in.Name))
		if sd != nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: (%s) lvs_sync_daemon_interface has already been specified as %s - ignoring", s.Pos, in.Name, sd.Interface))
			continue
		}
		sd = &keepalivedconf.SyncDaemon{Interface: s.Arg(1), Instance: in.Name, SyncID: -1, Stmt: s}
	}
	return sd
}

// enableSNI tells whether an SSL_GET asks for SNI (enable_sni, on unless
// followed by a false word); keepalived sends none without it.
func enableSNI(k *keepalivedconf.HTTPCheck) bool {
	if k.Stmt == nil || k.Stmt.Block == nil {
		return false
	}
	s := k.Stmt.Block.Find("enable_sni")
	if s == nil {
		return false
	}
	if len(s.Tokens) < 2 {
		return true
	}
	switch s.Arg(1) {
	case "off", "false", "no":
		return false
	}
	return true
}

// quorumLost is a service's destinations once it lost quorum and has a
// sorry server: keepalived "removes" every real server, which leaves the
// inhibited ones (inhibit_on_failure) in the table at weight 0, and adds
// the sorry server.
func quorumLost(dests []ipvs.Destination, vs *VirtualService) []ipvs.Destination {
	inhibited := map[netip.AddrPort]bool{}
	for _, rs := range vs.Reals {
		if rs.Inhibit {
			inhibited[rs.Dest.Addr] = true
		}
	}
	out := dests[:0]
	for _, d := range dests {
		if inhibited[d.Addr] && d.Addr != vs.Sorry.Addr {
			d.Weight = 0
			out = append(out, d)
		}
	}
	return append(out, *vs.Sorry)
}

// forMode keeps what each of keepalived's processes does: the checker
// process (-C) sets the timeouts, flushes, and runs both sync daemons when
// no instance is named; the VRRP process (-P) runs the daemon that follows
// an instance, and nothing else of IPVS.
func (l LVSPlan) forMode(m Mode) LVSPlan {
	switch m {
	case ModeVRRP:
		if l.SyncDaemon == nil || l.SyncDaemon.Instance == "" {
			return LVSPlan{}
		}
		return LVSPlan{SyncDaemon: l.SyncDaemon}
	case ModeCheck:
		if l.SyncDaemon != nil && l.SyncDaemon.Instance != "" {
			l.SyncDaemon = nil
		}
	}
	return l
}
