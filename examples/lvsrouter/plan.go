package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
	"github.com/lvskit/lvskit/vrrp"
)

// Plan is what a keepalived.conf asks for, translated into lvskit's
// packages: VRRP instances and sync groups, IPVS virtual services, and the
// health checks that decide which real servers are in them. Translating is
// pure, so a reload can be validated before anything running is touched.
type Plan struct {
	Instances  []vrrp.Config
	SyncGroups []SyncGroup
	Services   []VirtualService
}

// SyncGroup names instances that move together.
type SyncGroup struct {
	Name    string
	Members []string
}

// VirtualService is one IPVS service with its real servers and the sorry
// server used when none of them is alive.
type VirtualService struct {
	Service     ipvs.Service // without destinations
	Reals       []RealServer
	Sorry       *ipvs.Destination
	Quorum      int
	Description string // "TCP 10.0.0.1:80" or "FWM 80", for logs
}

// RealServer is a destination with its checks. It is alive when every
// check is up; a dead one is removed from the service, or kept with weight
// 0 when Inhibit is set (keepalived's inhibit_on_failure).
type RealServer struct {
	Dest    ipvs.Destination
	Inhibit bool
	Checks  []check.Target
}

// checkID names a check target: service, real server and checker index.
func checkID(vs, rs string, i int) string { return fmt.Sprintf("%s -> %s #%d", vs, rs, i) }

// errAt wraps an error with the place of the statement it comes from.
func errAt(s *keepalivedconf.Stmt, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if s == nil {
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %s", s.Pos, msg)
}

// Translate turns a typed keepalived configuration into a Plan. Every error
// names the file:line:col of the statement it concerns.
func Translate(cfg *keepalivedconf.Config) (*Plan, error) {
	p := &Plan{}
	var errs []error
	scripts := map[string]*keepalivedconf.VRRPScript{}
	for _, s := range cfg.Scripts {
		scripts[s.Name] = s
	}
	files := map[string]*keepalivedconf.TrackFile{}
	for _, f := range cfg.TrackFiles {
		files[f.Name] = f
	}
	version := 0
	if cfg.GlobalDefs != nil {
		version = cfg.GlobalDefs.VRRPVersion
	}
	for _, in := range cfg.Instances {
		c, err := instance(in, version, scripts, files)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Instances = append(p.Instances, c)
	}
	for _, g := range cfg.SyncGroups {
		p.SyncGroups = append(p.SyncGroups, SyncGroup{Name: g.Name, Members: g.Group})
	}
	groups := map[string]*keepalivedconf.VirtualServerGroup{}
	for _, g := range cfg.VirtualServerGroups {
		groups[g.Name] = g
	}
	for _, vs := range cfg.VirtualServers {
		svcs, err := virtualServer(vs, groups)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Services = append(p.Services, svcs...)
	}
	return p, errors.Join(errs...)
}

func instance(in *keepalivedconf.VRRPInstance, version int, scripts map[string]*keepalivedconf.VRRPScript, files map[string]*keepalivedconf.TrackFile) (vrrp.Config, error) {
	c := vrrp.Config{
		Name:         in.Name,
		Interface:    in.Interface,
		VRID:         uint8(in.VirtualRouterID),
		Priority:     uint8(in.Priority),
		Interval:     in.AdvertInt,
		NoPreempt:    in.Nopreempt,
		PreemptDelay: in.PreemptDelay,
		AuthPass:     in.AuthPass,
		Source:       in.UnicastSrcIP,
		Peers:        in.UnicastPeers,
	}
	if in.Version != 0 {
		version = in.Version
	}
	c.Version = uint8(version)
	if in.State == "MASTER" && in.Priority == 0 {
		c.Priority = 100
	}
	switch strings.ToUpper(in.AuthType) {
	case "":
	case "PASS":
		c.AuthType = vrrp.AuthSimple
	case "AH":
		return c, errAt(in.Stmt, "vrrp_instance %s: authentication AH is not supported", in.Name)
	default:
		return c, errAt(in.Stmt, "vrrp_instance %s: unknown auth_type %q", in.Name, in.AuthType)
	}
	for _, v := range in.VIPs {
		c.VIPs = append(c.VIPs, vrrp.VIP{Prefix: v.Prefix, Dev: v.Dev, Label: v.Label, Broadcast: v.Brd, Scope: scope(v.Scope)})
	}
	if in.GarpMasterDelay != 0 {
		c.GARP.Delay = in.GarpMasterDelay
	}
	for _, t := range in.TrackInterfaces {
		c.TrackInterfaces = append(c.TrackInterfaces, vrrp.TrackInterface{Name: t.Name, Weight: t.Weight})
	}
	for _, t := range in.TrackScripts {
		s, ok := scripts[t.Name]
		if !ok {
			return c, errAt(t.Stmt, "vrrp_instance %s: track_script %q is not defined", in.Name, t.Name)
		}
		w := s.Weight
		if t.Weight != 0 {
			w = t.Weight
		}
		c.TrackScripts = append(c.TrackScripts, vrrp.TrackScript{
			Name: s.Name, Command: strings.Fields(s.Script), Interval: s.Interval,
			Timeout: s.Timeout, Rise: s.Rise, Fall: s.Fall, Weight: w,
		})
	}
	for _, t := range in.TrackFiles {
		f, ok := files[t.Name]
		if !ok {
			return c, errAt(t.Stmt, "vrrp_instance %s: track_file %q is not defined", in.Name, t.Name)
		}
		w := f.Weight
		if t.Weight != 0 {
			w = t.Weight
		}
		c.TrackFiles = append(c.TrackFiles, vrrp.TrackFile{Path: f.File, Weight: w})
	}
	c.Notify = vrrp.Notify{
		Master: strings.Fields(in.NotifyMaster), Backup: strings.Fields(in.NotifyBackup),
		Fault: strings.Fields(in.NotifyFault), Stop: strings.Fields(in.NotifyStop),
		Notify: strings.Fields(in.Notify),
	}
	if len(c.VIPs) == 0 {
		return c, errAt(in.Stmt, "vrrp_instance %s: no virtual_ipaddress", in.Name)
	}
	return c, nil
}

func scope(s string) int {
	switch s {
	case "host":
		return 254
	case "link":
		return 253
	case "site":
		return 200
	}
	return 0
}

var lbKinds = map[string]ipvs.ForwardMethod{"NAT": ipvs.Masquerade, "DR": ipvs.Route, "TUN": ipvs.Tunnel}

func virtualServer(vs *keepalivedconf.VirtualServer, groups map[string]*keepalivedconf.VirtualServerGroup) ([]VirtualService, error) {
	base := ipvs.Service{Scheduler: vs.LBAlgo, Timeout: vs.PersistenceTimeout}
	if base.Scheduler == "" {
		base.Scheduler = "wlc"
	}
	if vs.PersistenceTimeout > 0 {
		base.Flags |= ipvs.FlagPersistent
	}
	fwd, ok := lbKinds[strings.ToUpper(vs.LBKind)]
	if vs.LBKind == "" {
		fwd, ok = ipvs.Masquerade, true
	}
	if !ok {
		return nil, errAt(vs.Stmt, "virtual_server: unknown lb_kind %q", vs.LBKind)
	}
	proto := ipvs.TCP
	switch strings.ToUpper(vs.Protocol) {
	case "", "TCP":
	case "UDP":
		proto = ipvs.UDP
	case "SCTP":
		proto = ipvs.SCTP
	default:
		return nil, errAt(vs.Stmt, "virtual_server: unknown protocol %q", vs.Protocol)
	}
	var keys []ipvs.Service
	switch {
	case vs.FWMark != 0:
		s := base
		s.FWMark = vs.FWMark
		s.Family = ipvs.IPv4
		if len(vs.RealServers) > 0 && vs.RealServers[0].Addr.Addr().Is6() {
			s.Family = ipvs.IPv6
		}
		keys = append(keys, s)
	case vs.Group != "":
		g, ok := groups[vs.Group]
		if !ok {
			return nil, errAt(vs.Stmt, "virtual_server group %q is not defined", vs.Group)
		}
		for _, m := range g.Members {
			s := base
			switch {
			case m.FWMark != 0:
				s.FWMark, s.Family = m.FWMark, ipvs.IPv4
			case m.RangeEnd.IsValid():
				for a := m.Addr; ; a = a.Next() {
					s.Protocol, s.Addr = proto, netip.AddrPortFrom(a, m.Port)
					keys = append(keys, s)
					if a == m.RangeEnd || !a.IsValid() {
						break
					}
				}
				continue
			default:
				s.Protocol, s.Addr = proto, netip.AddrPortFrom(m.Addr, m.Port)
			}
			keys = append(keys, s)
		}
	default:
		s := base
		s.Protocol, s.Addr = proto, vs.Addr
		keys = append(keys, s)
	}
	var out []VirtualService
	for _, svc := range keys {
		v := VirtualService{Service: svc, Quorum: vs.Quorum, Description: describe(svc)}
		if vs.SorryServer.IsValid() {
			v.Sorry = &ipvs.Destination{Addr: vs.SorryServer, Forward: fwd, Weight: 1}
		}
		for _, rs := range vs.RealServers {
			r := RealServer{
				Dest:    ipvs.Destination{Addr: rs.Addr, Forward: fwd, Weight: rs.Weight},
				Inhibit: rs.InhibitOnFailure,
			}
			if rs.Addr.Port() == 0 && svc.FWMark == 0 {
				r.Dest.Addr = netip.AddrPortFrom(rs.Addr.Addr(), svc.Addr.Port())
			}
			for i, kc := range rs.Checkers {
				c, pol, err := checker(kc, r.Dest.Addr, vs)
				if err != nil {
					return nil, err
				}
				r.Checks = append(r.Checks, check.Target{ID: checkID(v.Description, r.Dest.Addr.String(), i), Checker: c, Policy: pol})
			}
			v.Reals = append(v.Reals, r)
		}
		out = append(out, v)
	}
	return out, nil
}

func describe(s ipvs.Service) string {
	if s.FWMark != 0 {
		return fmt.Sprintf("FWM %d", s.FWMark)
	}
	return fmt.Sprintf("%s %s", s.Protocol, s.Addr)
}

// checker translates one keepalived checker block for the real server at
// rs into a check.Checker and keepalived's retry policy.
func checker(kc keepalivedconf.Checker, rs netip.AddrPort, vs *keepalivedconf.VirtualServer) (check.Checker, check.Policy, error) {
	pol := check.Keepalived{DelayLoop: vs.DelayLoop, Alpha: vs.Alpha, Omega: vs.Omega}
	target := func(c *keepalivedconf.CheckCommon) (netip.AddrPort, netip.AddrPort, time.Duration) {
		if c.DelayLoop > 0 {
			pol.DelayLoop = c.DelayLoop
		}
		pol.Retry, pol.DelayBeforeRetry, pol.Warmup = c.Retry, c.DelayBeforeRetry, c.Warmup
		if c.Alpha {
			pol.Alpha = true
		}
		addr, port := rs.Addr(), rs.Port()
		if c.ConnectIP.IsValid() {
			addr = c.ConnectIP
		}
		if c.ConnectPort != 0 {
			port = c.ConnectPort
		}
		var bind netip.AddrPort
		if c.BindTo.IsValid() {
			bind = netip.AddrPortFrom(c.BindTo, c.BindPort)
		}
		timeout := c.ConnectTimeout
		if timeout == 0 {
			timeout = 5 * time.Second
		}
		return netip.AddrPortFrom(addr, port), bind, timeout
	}
	switch k := kc.(type) {
	case *keepalivedconf.TCPCheck:
		a, b, t := target(&k.CheckCommon)
		return check.TCP{Addr: a, Bind: b, Timeout: t}, pol, nil
	case *keepalivedconf.HTTPCheck:
		a, b, t := target(&k.CheckCommon)
		h := &check.HTTP{Addr: a, Bind: b, Timeout: t, TLS: k.TLS, Host: k.Virtualhost}
		if h.Host == "" {
			h.Host = vs.VirtualHost
		}
		if len(k.URLs) > 0 {
			u := k.URLs[0]
			h.Path, h.Digest = u.Path, u.Digest
			if u.Virtualhost != "" {
				h.Host = u.Virtualhost
			}
			if u.StatusCode != "" {
				sc, err := check.ParseStatusCodes(u.StatusCode)
				if err != nil {
					return nil, nil, errAt(u.Stmt, "%v", err)
				}
				h.Status = sc
			}
		}
		return h, pol, nil
	case *keepalivedconf.SMTPCheck:
		a, b, t := target(&k.CheckCommon)
		return check.SMTP{Addr: a, Bind: b, HeloName: k.Helo, Timeout: t}, pol, nil
	case *keepalivedconf.UDPCheck:
		a, b, t := target(&k.CheckCommon)
		return check.UDP{Addr: a, Bind: b, Payload: []byte(k.Payload), RequireReply: k.RequireReply != "", Timeout: t}, pol, nil
	case *keepalivedconf.PingCheck:
		a, _, t := target(&k.CheckCommon)
		return check.ICMP{Addr: a.Addr(), Timeout: t}, pol, nil
	case *keepalivedconf.MiscCheck:
		if k.DelayLoop > 0 {
			pol.DelayLoop = k.DelayLoop
		}
		pol.Retry, pol.DelayBeforeRetry, pol.Warmup = k.Retry, k.DelayBefore, k.Warmup
		// keepalived runs misc_path through a shell-like split, not a shell.
		args := strings.Fields(k.Path)
		if len(args) == 0 {
			return nil, nil, errAt(k.Stmt, "MISC_CHECK without misc_path")
		}
		return check.Exec{Path: args[0], Args: args[1:], Dynamic: k.Dynamic, User: k.User, Timeout: k.Timeout}, pol, nil
	case *keepalivedconf.FileCheck:
		return check.File{Path: k.TrackFile, Weight: k.Weight, Reverse: k.Reverse}, pol, nil
	}
	return nil, nil, errAt(kc.Syntax(), "%s is not supported by lvsrouter", kc.Type())
}
