package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/keepalivedconf"
	"github.com/lvskit/lvskit/vrrp"
	"golang.org/x/net/dns/dnsmessage"
)

// Plan is what a keepalived.conf asks for, translated into lvskit's
// packages: VRRP instances and sync groups, IPVS virtual services, and the
// health checks that decide which real servers are in them. Translating is
// pure, so a reload can be validated before anything running is touched.
type Plan struct {
	Instances  []vrrp.Config
	SyncGroups []SyncGroup
	Services   []VirtualService
	BFD        []BFDSession `json:",omitempty"`
	// Warnings are what keepalived reports but runs anyway (file:line:col
	// first); lvsrouter -t fails on them as keepalived -t does.
	Warnings []string `json:",omitempty"`
}

// SyncGroup names instances that move together.
type SyncGroup struct {
	Name    string
	Members []string
}

// VirtualService is one IPVS service with its real servers and the sorry
// server used when none of them is alive.
type VirtualService struct {
	Service ipvs.Service // without destinations
	Reals   []RealServer
	Sorry   *ipvs.Destination
	// Quorum is the total weight of alive real servers the service needs
	// (keepalived's default 1); Hysteresis widens it against flapping:
	// quorum is gained at Quorum+Hysteresis and lost below
	// Quorum-Hysteresis. While quorum is lost the sorry server (if any)
	// replaces the real servers.
	Quorum     int
	Hysteresis int
	// QuorumUp and QuorumDown are run (argv, no shell) when the service
	// gains or loses quorum.
	QuorumUp, QuorumDown []string `json:",omitempty"`
	Description          string   // "TCP 10.0.0.1:80" or "FWM 80", for logs
}

// RealServer is a destination with its checks. It is alive when every
// check is up; a dead one is removed from the service, or kept with weight
// 0 when Inhibit is set (keepalived's inhibit_on_failure).
type RealServer struct {
	Dest    ipvs.Destination
	Inhibit bool
	Checks  []check.Target
	// NotifyUp and NotifyDown are run (argv, no shell) when the server
	// comes alive or dies.
	NotifyUp, NotifyDown []string `json:",omitempty"`
}

// MarshalJSON writes the real server with each check's type named, for
// lvsrouter --json.
func (rs RealServer) MarshalJSON() ([]byte, error) {
	type check struct {
		ID      string
		Type    string
		Checker any
		Policy  any
	}
	out := struct {
		Dest                 ipvs.Destination
		Inhibit              bool     `json:",omitempty"`
		Checks               []check  `json:",omitempty"`
		NotifyUp, NotifyDown []string `json:",omitempty"`
	}{Dest: rs.Dest, Inhibit: rs.Inhibit, NotifyUp: rs.NotifyUp, NotifyDown: rs.NotifyDown}
	for _, t := range rs.Checks {
		out.Checks = append(out.Checks, check{ID: t.ID, Type: strings.TrimPrefix(fmt.Sprintf("%T", t.Checker), "*"), Checker: t.Checker, Policy: t.Policy})
	}
	return json.Marshal(out)
}

// checkID names a check target: service, real server and checker index.
func checkID(vs, rs string, i int) string { return vs + " -> " + rs + " #" + strconv.Itoa(i) }

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
	known := map[string]bool{}
	for _, c := range p.Instances {
		known[c.Name] = true
	}
	grouped := map[string]string{}
	for _, g := range cfg.SyncGroups {
		for _, m := range g.Group {
			switch {
			case !known[m]:
				errs = append(errs, errAt(g.Stmt, "vrrp_sync_group %s: vrrp_instance %q is not defined", g.Name, m))
			case grouped[m] != "":
				errs = append(errs, errAt(g.Stmt, "vrrp_sync_group %s: vrrp_instance %q is already in group %s", g.Name, m, grouped[m]))
			default:
				grouped[m] = g.Name
			}
		}
		p.SyncGroups = append(p.SyncGroups, SyncGroup{Name: g.Name, Members: g.Group})
	}
	groups := map[string]*keepalivedconf.VirtualServerGroup{}
	for _, g := range cfg.VirtualServerGroups {
		groups[g.Name] = g
	}
	for _, vs := range cfg.VirtualServers {
		// keepalived 2.2.7 reports these defaults, and -t fails on them.
		if vs.Protocol == "" && vs.FWMark == 0 {
			// The kernel's own default for protocol 0 would be UDP too.
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: virtual_server without protocol: defaulting to UDP, as keepalived does", vs.Stmt.Pos))
		}
		if vs.LBAlgo == "" {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: virtual_server without lb_algo: defaulting to wlc, as keepalived does", vs.Stmt.Pos))
		}
		if vs.LBKind == "" {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: virtual_server without lb_kind: defaulting to NAT, as keepalived does", vs.Stmt.Pos))
		}
		svcs, err := virtualServer(vs, groups)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Services = append(p.Services, svcs...)
	}
	errs = append(errs, bfdPlan(cfg, p))
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
			Name: s.Name, Command: splitArgs(s.Script), Interval: s.Interval,
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
		Master: splitArgs(in.NotifyMaster), Backup: splitArgs(in.NotifyBackup),
		Fault: splitArgs(in.NotifyFault), Stop: splitArgs(in.NotifyStop),
		Notify: splitArgs(in.Notify),
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

// maxGroupKeys bounds the services one virtual_server_group may expand to.
const maxGroupKeys = 1 << 16

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
	proto := ipvs.UDP // keepalived's default, see Translate
	switch strings.ToUpper(vs.Protocol) {
	case "TCP":
		proto = ipvs.TCP
	case "", "UDP":
	case "SCTP":
		proto = ipvs.SCTP
	default:
		return nil, errAt(vs.Stmt, "virtual_server: unknown protocol %q", vs.Protocol)
	}
	// A firewall-mark service has no address of its own: its family is
	// that of its real servers (or sorry server), IPv4 when it has none.
	markFamily := ipvs.IPv4
	if len(vs.RealServers) > 0 && vs.RealServers[0].Addr.Addr().Is6() ||
		len(vs.RealServers) == 0 && vs.SorryServer.Addr().Is6() {
		markFamily = ipvs.IPv6
	}
	var keys []ipvs.Service
	switch {
	case vs.FWMark != 0:
		s := base
		s.FWMark, s.Family = vs.FWMark, markFamily
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
				s.FWMark, s.Family = m.FWMark, markFamily
				keys = append(keys, s)
			case m.RangeEnd.IsValid():
				if m.RangeEnd.Less(m.Addr) {
					return nil, errAt(m.Stmt, "virtual_server_group %s: range ends before it starts", g.Name)
				}
				for a := m.Addr; a.IsValid() && !m.RangeEnd.Less(a); a = a.Next() {
					if len(keys) >= maxGroupKeys {
						return nil, errAt(m.Stmt, "virtual_server_group %s: more than %d services", g.Name, maxGroupKeys)
					}
					s.Protocol, s.Addr = proto, netip.AddrPortFrom(a, m.Port)
					keys = append(keys, s)
				}
			default:
				s.Protocol, s.Addr = proto, netip.AddrPortFrom(m.Addr, m.Port)
				keys = append(keys, s)
			}
		}
	default:
		s := base
		s.Protocol, s.Addr = proto, vs.Addr
		keys = append(keys, s)
	}
	quorum := vs.Quorum
	if quorum == 0 {
		quorum = 1
	}
	var out []VirtualService
	for _, svc := range keys {
		fam := svc.Family
		if svc.FWMark == 0 {
			fam = ipvs.IPv4
			if svc.Addr.Addr().Is6() {
				fam = ipvs.IPv6
			}
		}
		if vs.PersistenceGranularity != "" {
			mask, err := granularity(vs.PersistenceGranularity, fam)
			if err != nil {
				return nil, errAt(vs.Stmt, "virtual_server %s: persistence_granularity: %v", describe(svc), err)
			}
			svc.Netmask = mask
		}
		v := VirtualService{
			Service: svc, Quorum: quorum, Hysteresis: vs.Hysteresis, Description: describe(svc),
			QuorumUp: splitArgs(vs.QuorumUp), QuorumDown: splitArgs(vs.QuorumDown),
		}
		if vs.SorryServer.IsValid() {
			v.Sorry = &ipvs.Destination{Addr: withPort(vs.SorryServer, svc), Forward: fwd, Weight: 1}
		}
		for _, rs := range vs.RealServers {
			r := RealServer{
				Dest:     ipvs.Destination{Addr: withPort(rs.Addr, svc), Forward: fwd, Weight: rs.Weight},
				Inhibit:  rs.InhibitOnFailure || vs.Inhibit,
				NotifyUp: splitArgs(rs.NotifyUp), NotifyDown: splitArgs(rs.NotifyDown),
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

// withPort gives a real or sorry server written without a port the
// service's port, as keepalived does.
func withPort(a netip.AddrPort, svc ipvs.Service) netip.AddrPort {
	if a.Port() == 0 && svc.FWMark == 0 {
		return netip.AddrPortFrom(a.Addr(), svc.Addr.Port())
	}
	return a
}

// granularity reads persistence_granularity: a dotted netmask for IPv4
// services, a prefix length (or "/len") for IPv6 ones, into IPVS's
// netmask field.
func granularity(s string, fam ipvs.Family) (uint32, error) {
	if fam == ipvs.IPv6 {
		n, err := strconv.Atoi(strings.TrimPrefix(s, "/"))
		if err != nil || n < 1 || n > 128 {
			return 0, fmt.Errorf("%q is not an IPv6 prefix length (1-128)", s)
		}
		return uint32(n), nil
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(s, "/")); err == nil {
		if n < 1 || n > 32 {
			return 0, fmt.Errorf("%q is not an IPv4 prefix length (1-32)", s)
		}
		return ^uint32(0) << (32 - n), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, fmt.Errorf("%q is not an IPv4 netmask", s)
	}
	b := a.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if inv := ^m; m == 0 || inv&(inv+1) != 0 {
		return 0, fmt.Errorf("%q is not a contiguous netmask", s)
	}
	return m, nil
}

// splitArgs splits a keepalived script line into argv the way keepalived
// does: words separated by blanks, with single or double quotes grouping
// words. keepalived does not run a shell either.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

func describe(s ipvs.Service) string {
	if s.FWMark != 0 {
		return "FWM " + strconv.FormatUint(uint64(s.FWMark), 10)
	}
	return s.Protocol.String() + " " + s.Addr.String()
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
		host := k.Virtualhost
		if host == "" {
			host = vs.VirtualHost
		}
		urls := k.URLs
		if len(urls) == 0 {
			urls = []keepalivedconf.URL{{Path: "/", Stmt: k.Stmt}}
		}
		var all allOf
		for _, u := range urls {
			h := &check.HTTP{Addr: a, Bind: b, Timeout: t, TLS: k.TLS, Host: host, Path: u.Path, Digest: u.Digest}
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
			all = append(all, h)
		}
		if len(all) == 1 {
			return all[0], pol, nil
		}
		return all, pol, nil
	case *keepalivedconf.DNSCheck:
		a, _, t := target(&k.CheckCommon)
		if k.ConnectPort == 0 && a.Port() == 0 {
			a = netip.AddrPortFrom(a.Addr(), 53)
		}
		d := check.DNS{Addr: a, Name: k.Name, Timeout: t}
		if k.QueryType != "" {
			qt, ok := dnsTypes[strings.ToUpper(k.QueryType)]
			if !ok {
				return nil, nil, errAt(k.Stmt, "DNS_CHECK: unknown type %q", k.QueryType)
			}
			d.Type = qt
		}
		return d, pol, nil
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
		args := splitArgs(k.Path)
		if len(args) == 0 {
			return nil, nil, errAt(k.Stmt, "MISC_CHECK without misc_path")
		}
		return check.Exec{Path: args[0], Args: args[1:], Dynamic: k.Dynamic, User: k.User, Timeout: k.Timeout}, pol, nil
	case *keepalivedconf.FileCheck:
		return check.File{Path: k.TrackFile, Weight: k.Weight, Reverse: k.Reverse}, pol, nil
	case *keepalivedconf.BFDCheck:
		return bfdCheck{Name: k.Name, pos: k.Stmt.Pos}, nil, nil
	}
	return nil, nil, errAt(kc.Syntax(), "%s is not supported by lvsrouter", kc.Type())
}

// dnsTypes are the query types keepalived's DNS_CHECK accepts.
var dnsTypes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "NS": dnsmessage.TypeNS, "CNAME": dnsmessage.TypeCNAME,
	"SOA": dnsmessage.TypeSOA, "MX": dnsmessage.TypeMX, "TXT": dnsmessage.TypeTXT,
	"AAAA": dnsmessage.TypeAAAA,
}

// allOf is a checker that passes when every one of its checkers passes, in
// order: keepalived's HTTP_GET with several url blocks.
type allOf []check.Checker

// Check runs the checkers in turn and stops at the first failure.
func (a allOf) Check(ctx context.Context) check.Result {
	var r check.Result
	var lat time.Duration
	for i, c := range a {
		r = c.Check(ctx)
		lat += r.Latency
		if !r.Up {
			r.Reason = fmt.Sprintf("url %d: %s", i+1, r.Reason)
			break
		}
	}
	r.Latency = lat
	return r
}
