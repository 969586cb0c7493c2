package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unique"
	"unsafe"

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
	// hostChecked says checkPlan passed on this host (serve's load), so
	// that Router.Load need not walk the plan again.
	hostChecked bool

	Instances  []vrrp.Config
	SyncGroups []SyncGroup
	Services   []VirtualService
	// Scripts says how every script runs (notify, quorum, track and
	// MISC_CHECK): keepalived's script_user and enable_script_security.
	Scripts ScriptPolicy `json:",omitzero"`
	BFD     []BFDSession `json:",omitempty"`
	// Warnings are what keepalived reports but runs anyway (file:line:col
	// first); lvsrouter -t fails on them as keepalived -t does.
	Warnings []string `json:",omitempty"`
	// StartupDelay is vrrp_startup_delay, GroupNotify the sync groups'
	// notify scripts, and Mail smtp_alert (plan_vrrpbeh.go).
	StartupDelay time.Duration `json:",omitempty"`
	// DynamicInterfaces is global_defs dynamic_interfaces: an instance
	// interface the host lacks is not an error, and the instance's unit
	// starts once its interfaces exist (plan_kw2.go).
	DynamicInterfaces bool `json:",omitempty"`
	// NotifyPriority names the instances that report priority changes
	// on the notify FIFOs (notify_priority_changes; plan_kw2.go).
	NotifyPriority []string               `json:",omitempty"`
	GroupNotify    map[string]GroupNotify `json:",omitempty"`
	Mail           MailPlan               `json:",omitzero"`
	// LVS is the IPVS side of global_defs (plan_lvs.go).
	LVS LVSPlan `json:",omitzero"`
	// Static holds static_ipaddress, static_routes and static_rules
	// (plan_vrrpnet.go).
	Static vrrp.Static `json:",omitzero"`
	// FIFOs are the notify FIFOs (fifo.go).
	FIFOs NotifyFIFOs `json:",omitzero"`
	// BGP is the --bgp file's configuration (bgpconf.go), or nil.
	BGP *BGPConfig `json:",omitempty"`
	// Globals are the global_defs values the data dumps print (dump_data.go).
	Globals dumpGlobals `json:"-"`

	// instancePos and ifacePos remember where instances and the
	// interfaces they name are written, for checkPlan's messages.
	instancePos map[string]keepalivedconf.Position
	ifacePos    map[ifaceRef]keepalivedconf.Position
	// garpIfaces are the interfaces garp_group blocks name (plan_kw3.go).
	garpIfaces []garpIface
	// globalDefs is the configuration's global_defs, for the instances'
	// translation.
	globalDefs *keepalivedconf.GlobalDefs
	// delta, set by an incremental reload, names the services that
	// differ from the plan it was spliced from (reload_inc_apply.go).
	delta *planDelta
}

// ScriptPolicy is keepalived's script_user and enable_script_security.
// Scripts run without a shell, in a process group of their own, as User
// (and Group, empty: User's primary group); without User, as lvsrouter
// itself. With Security, a script that would run as root while it or a
// directory on its path is writable by a non-root user is refused
// (logged, never run), as keepalived disables it. A vrrp_script's or
// MISC_CHECK's own `user` takes precedence.
type ScriptPolicy struct {
	User, Group string `json:",omitempty"`
	Security    bool   `json:",omitempty"`
}

// defaultScriptUser is the user keepalived runs scripts as under
// enable_script_security without script_user, when the user exists.
const defaultScriptUser = "keepalived_script"

// SyncGroup names instances that move together.
type SyncGroup struct {
	Name    string
	Members []string
}

// VirtualService is one IPVS service with its real servers and the sorry
// server used when none of them is alive.
type VirtualService struct {
	Service ipvs.ServiceSettings
	Reals   []RealServer
	Sorry   *ipvs.Destination
	// Quorum is the total weight of alive real servers the service needs
	// (keepalived's default 1); Hysteresis widens it against flapping:
	// quorum is gained at Quorum+Hysteresis and lost below
	// Quorum-Hysteresis. While quorum is lost the sorry server (if any)
	// replaces the real servers.
	Quorum     int
	Hysteresis int
	// rare holds what few virtual servers have (quorum scripts,
	// ha_suspend's addresses, a group's name in mails); nil: none of it.
	rare *vsRare
	// The flags last, in one word.
	//
	// SorryInhibit keeps the sorry server in the service with weight 0
	// while quorum holds (sorry_server_inhibit).
	SorryInhibit bool `json:",omitempty"`
	// HASuspend is keepalived's ha_suspend: the checks run only while
	// one of its addresses (the virtual server's or its group's) is
	// local (hasuspend.go).
	HASuspend bool `json:",omitempty"`
	// alert is its smtp_alert as written, omega its omega.
	alert optBool
	omega bool
}

// vsRare is the part of a VirtualService that most virtual servers leave
// empty, behind one pointer: at 10,000 virtual servers, in the plan's
// Services array and the reload's spare one, its 88 bytes inline held
// 1.8 MB of empty slices and strings.
type vsRare struct {
	// quorumUp and quorumDown are run (argv, no shell) when the service
	// gains or loses quorum.
	quorumUp, quorumDown []string
	// haSuspendAddrs are the addresses whose presence resumes the checks
	// of an ha_suspend virtual server (hasuspend.go).
	haSuspendAddrs []netip.Addr
	// alertName is keepalived's name for the virtual server in mails
	// when it is not its service's (plan_kw3.go).
	alertName string
}

// setRare returns vs's rare part, adding it if it has none. Only the
// translation calls it: a plan is not written once made.
func (vs *VirtualService) setRare() *vsRare {
	if vs.rare == nil {
		vs.rare = new(vsRare)
	}
	return vs.rare
}

// getRare returns vs's rare part, empty if it has none.
func (vs *VirtualService) getRare() *vsRare {
	if vs.rare == nil {
		return &noRare
	}
	return vs.rare
}

var noRare vsRare

// QuorumUp and QuorumDown are the argvs run (no shell) when the service
// gains or loses quorum (quorum_up, quorum_down).
func (vs *VirtualService) QuorumUp() []string   { return vs.getRare().quorumUp }
func (vs *VirtualService) QuorumDown() []string { return vs.getRare().quorumDown }

// Description names the service for logs and check IDs: "TCP
// 10.0.0.1:80" or "FWM 80". It is made when asked rather than kept (a
// string for each of 10,000 services, in two arrays).
func (vs *VirtualService) Description() string { return describe(vs.Service) }

// MarshalJSON writes the service with its description and quorum
// scripts, for --json and -d.
func (vs VirtualService) MarshalJSON() ([]byte, error) {
	type fields VirtualService // its fields, not this method
	return json.Marshal(struct {
		fields
		QuorumUp, QuorumDown []string `json:",omitempty"`
		Description          string
	}{fields(vs), vs.QuorumUp(), vs.QuorumDown(), vs.Description()})
}

// RealServer is a destination with its checks. It is alive when every
// check is up; a dead one is removed from the service, or kept with weight
// 0 when Inhibit is set (keepalived's inhibit_on_failure).
type RealServer struct {
	// Dest is what the real server's destination is written with
	// (ipvs.DestinationSettings: 64 bytes where an ipvs.Destination
	// takes 160, 3.8 MB less at 40,000 real servers).
	Dest    ipvs.DestinationSettings
	Inhibit bool
	// alert is its smtp_alert as written (mailPlan resolves the
	// default): a byte beside Inhibit where a *bool took 8 more bytes
	// (320 KB at 40,000 real servers).
	alert  optBool
	Checks []check.Target
	// Notify is its notify_up and notify_down, nil without either: 8
	// bytes where the two argvs took 48 in each real server (1.5 MiB at
	// 40,000 real servers).
	Notify *RealNotify `json:",omitempty"`
}

// optBool is a boolean keyword that may be left out: unset, false or
// true.
type optBool uint8

const (
	optUnset optBool = iota
	optFalse
	optTrue
)

// optOf is v as an optBool (nil: unset).
func optOf(v *bool) optBool {
	switch {
	case v == nil:
		return optUnset
	case *v:
		return optTrue
	}
	return optFalse
}

// or is the value set, or def when unset.
func (o optBool) or(def bool) bool {
	if o == optUnset {
		return def
	}
	return o == optTrue
}

// RealNotify is what runs (argv, no shell) when a real server comes
// alive (Up) or dies (Down).
type RealNotify struct {
	Up, Down []string `json:",omitempty"`
}

// notify returns the real server's notify_up and notify_down argvs.
func (rs *RealServer) notify() (up, down []string) {
	if rs.Notify == nil {
		return nil, nil
	}
	return rs.Notify.Up, rs.Notify.Down
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
	}{Dest: rs.Dest.Destination(), Inhibit: rs.Inhibit}
	out.NotifyUp, out.NotifyDown = rs.notify()
	for _, t := range rs.Checks {
		out.Checks = append(out.Checks, check{ID: t.ID, Type: strings.TrimPrefix(fmt.Sprintf("%T", t.Checker), "*"), Checker: t.Checker, Policy: t.Policy})
	}
	return json.Marshal(out)
}

// countChecks returns the numbers of real servers and of check targets
// (BFD feeds included) of p, for what sizes an array or map by them.
func countChecks(p *Plan) (reals, checks int) {
	for i := range p.Services {
		rs := p.Services[i].Reals
		reals += len(rs)
		for j := range rs {
			checks += len(rs[j].Checks)
		}
	}
	return reals, checks
}

// checkID names a check target: service, real server and checker index,
// built in one string.
func checkID(vs string, rs netip.AddrPort, i int) string {
	var buf [96]byte
	return string(appendCheckID(buf[:0], vs, rs, i))
}

// appendCheckID appends checkID(vs, rs, i) to b.
func appendCheckID(b []byte, vs string, rs netip.AddrPort, i int) []byte {
	b = append(b, vs...)
	b = append(b, " -> "...)
	b = rs.AppendTo(b)
	b = append(b, " #"...)
	return strconv.AppendInt(b, int64(i), 10)
}

// idArena cuts check IDs from shared chunks: 40,000 targets made 40,000
// small strings (a tenth of the translation's time in a guest without
// hardware virtualization); a chunk holds a hundred. A chunk's bytes are
// never written again once cut, so the strings stay what they were.
type idArena struct {
	chunk []byte
}

// checkID is checkID(vs, rs, i) cut from a's chunk.
func (a *idArena) checkID(vs string, rs netip.AddrPort, i int) string {
	const most = 4 + 48 + 2 + 20 // arrow, [addr%zone]:port, " #", index
	if cap(a.chunk)-len(a.chunk) < len(vs)+most {
		if len(vs)+most > 1024 {
			return checkID(vs, rs, i)
		}
		a.chunk = make([]byte, 0, 4096)
	}
	start := len(a.chunk)
	a.chunk = appendCheckID(a.chunk, vs, rs, i)
	return unsafe.String(&a.chunk[start], len(a.chunk)-start)
}

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
	return translate(cfg, nil)
}

// translate is Translate appending the plan's services to services (the
// batched start's window of the whole plan's array).
func translate(cfg *keepalivedconf.Config, services []VirtualService) (*Plan, error) {
	p := &Plan{Services: services}
	// Every keyword lvsrouter refuses fails here, with its place
	// (keywords.go, refuse.go); the rest of the translation reads only
	// implemented ones.
	errs := refuseKeywords(cfg)
	scripts := map[string]*keepalivedconf.VRRPScript{}
	for _, s := range cfg.Scripts {
		scripts[s.Name] = s
	}
	files := map[string]*keepalivedconf.TrackFile{}
	for _, f := range cfg.TrackFiles {
		files[f.Name] = f
	}
	version := 0
	strict := false
	p.Globals = newDumpGlobals(cfg.GlobalDefs)
	p.globalDefs = cfg.GlobalDefs
	errs = append(errs, staticPlan(cfg, p)) // plan_vrrpnet.go
	var serrs []error
	p.Scripts, serrs = scriptPolicy(cfg) // scriptsec.go
	errs = append(errs, serrs...)
	if g := cfg.GlobalDefs; g != nil {
		errs = append(errs, notifyFIFOs(g, p)...)
		strict = g.VRRPStrict
		version = g.VRRPVersion
	}
	lvsGlobals(cfg, p)
	for _, in := range cfg.Instances {
		c, err := instance(p, in, version, p.Scripts, scripts, files)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		instanceFidelity(p, in, &c, strict)
		// vrrp_strict, accept and no_accept: keepalived drops traffic to
		// the VIPs of a master in non-accept mode; vrrp's FilterNonAccept
		// does that.
		acceptMode(p, in, &c, strict)
		p.notePositions(in)
		p.Instances = append(p.Instances, c)
	}
	errs = append(errs, vrrpBehaviour(cfg, p)...)
	instanceTracking(cfg, p) // plan_kw2.go
	errs = append(errs, downTimerAdverts(cfg, p)...)
	errs = append(errs, notifyPriorityChanges(cfg, p)...)
	errs = append(errs, dynamicInterfaces(cfg, p)...)
	errs = append(errs, garpPlan(cfg, p)...) // plan_kw3.go
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
	if len(cfg.VirtualServers) > 0 && p.Services == nil {
		p.Services = make([]VirtualService, 0, len(cfg.VirtualServers))
	}
	errs = append(errs, virtualServers(p, cfg.VirtualServers, groups, files)...)
	errs = append(errs, bfdPlan(cfg, p))
	errs = append(errs, mailPlan(cfg, p)...)
	return p, errors.Join(errs...)
}

// parallelVSMin is the number of virtual servers from which Translate
// spreads them over the processors.
const parallelVSMin = 2048

// virtualServers translates the virtual servers into p.Services, their
// warnings into p.Warnings, and returns their errors, all in configuration
// order. Many virtual servers are cut into runs translated at the same
// time, one per processor (a virtual server's translation writes nothing
// of the plan but its services and warnings), and joined in order: the
// result is the same as translating one after the other.
func virtualServers(p *Plan, vss []*keepalivedconf.VirtualServer, groups map[string]*keepalivedconf.VirtualServerGroup, files map[string]*keepalivedconf.TrackFile) []error {
	// run translates vss into q (Services and Warnings only).
	run := func(q *Plan, vss []*keepalivedconf.VirtualServer) (errs []error) {
		boxes := &policyBoxes{}
		for _, vs := range vss {
			// keepalived 2.2.7 reports these defaults, and -t fails on them.
			if vs.Protocol == 0 && vs.FWMark == 0 {
				// The kernel's own default for protocol 0 would be UDP too.
				q.Warnings = append(q.Warnings, fmt.Sprintf("%s: virtual_server without protocol: defaulting to UDP, as keepalived does", vs.Stmt.Pos))
			}
			if vs.LBAlgo == "" {
				q.Warnings = append(q.Warnings, fmt.Sprintf("%s: virtual_server without lb_algo: defaulting to wlc, as keepalived does", vs.Stmt.Pos))
			}
			if vs.LBKind == 0 {
				q.Warnings = append(q.Warnings, fmt.Sprintf("%s: virtual_server without lb_kind: defaulting to NAT, as keepalived does", vs.Stmt.Pos))
			}
			svcs, err := virtualServer(q, q.Services, vs, groups, p.Scripts, files, boxes)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			q.Services = svcs
		}
		return errs
	}
	n := min(runtime.GOMAXPROCS(0), 8, len(vss)/(parallelVSMin/2))
	if n <= 1 {
		p.Services = slices.Grow(p.Services, len(vss)) // a service each, usually
		return run(p, vss)
	}
	// Run k appends into its own window of one array, room for a service
	// per virtual server; a run that needs more (a group) gets an array
	// of its own from append.
	p.Services = slices.Grow(p.Services, len(vss))
	free := p.Services[len(p.Services):cap(p.Services)]
	parts := make([]Plan, n)
	perrs := make([][]error, n)
	size := (len(vss) + n - 1) / n
	var wg sync.WaitGroup
	for k := range parts {
		lo, hi := min(k*size, len(vss)), min((k+1)*size, len(vss))
		parts[k].Scripts = p.Scripts
		parts[k].Services = free[lo:lo:hi]
		wg.Go(func() { perrs[k] = run(&parts[k], vss[lo:hi]) })
	}
	wg.Wait()
	// Join in order. A run's services move only down the array (every
	// run before it filled at most its window), so copy never overwrites
	// services not yet moved; a run that left the array is copied from
	// its own, which may overwrite later windows, so those are joined
	// from a fresh array.
	into := p.Services
	for k := range parts {
		svcs := parts[k].Services
		if cap(svcs) > 0 && cap(into) > 0 && &svcs[:cap(svcs)][cap(svcs)-1] != &free[min((k+1)*size, len(vss))-1] {
			// left the array: from here on, append into a fresh one
			fresh := make([]VirtualService, len(into), len(into)+len(vss))
			copy(fresh, into)
			into = fresh
			for j := k; j < len(parts); j++ {
				into = append(into, parts[j].Services...)
			}
			break
		}
		into = append(into, svcs...)
	}
	p.Services = into
	var errs []error
	for k := range parts {
		p.Warnings = append(p.Warnings, parts[k].Warnings...)
		errs = append(errs, perrs[k]...)
	}
	return errs
}

func instance(p *Plan, in *keepalivedconf.VRRPInstance, version int, sp ScriptPolicy, defined map[string]*keepalivedconf.VRRPScript, files map[string]*keepalivedconf.TrackFile) (vrrp.Config, error) {
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
	// keepalived derives an unset priority from the initial state: the
	// address owner's 255 for state MASTER (vrrp.c, vrrp_complete_instance).
	if in.State == keepalivedconf.StateMaster && in.Stmt != nil && in.Stmt.Block.Find("priority") == nil {
		c.Priority = 255
	}
	switch in.AuthType {
	case 0:
	case keepalivedconf.AuthTypePass:
		c.AuthType = vrrp.AuthSimple
	case keepalivedconf.AuthTypeAH:
		return c, errAt(in.Stmt, "vrrp_instance %s: authentication AH is not supported", in.Name)
	default:
		return c, errAt(in.Stmt, "vrrp_instance %s: unknown auth_type %v", in.Name, in.AuthType)
	}
	for _, v := range in.VIPs {
		vv, err := vip(v, "virtual_ipaddress") // plan_vrrpnet.go
		if err != nil {
			return c, err
		}
		c.VIPs = append(c.VIPs, vv)
	}
	if err := vrrpNet(p.globalDefs, in, &c); err != nil { // plan_vrrpnet.go
		return c, err
	}
	if in.GarpMasterDelay != 0 {
		c.GARP.Delay = in.GarpMasterDelay
	}
	for _, t := range in.TrackInterfaces {
		c.TrackInterfaces = append(c.TrackInterfaces, vrrp.TrackInterface{Name: t.Name, Weight: t.Weight, Reverse: t.Reverse})
	}
	for _, t := range in.TrackScripts {
		s, ok := defined[t.Name]
		if !ok {
			return c, errAt(t.Stmt, "vrrp_instance %s: track_script %q is not defined", in.Name, t.Name)
		}
		w := s.Weight
		if t.Weight != 0 {
			w = t.Weight
		}
		sc := scripts{at: s.Stmt}
		ts := vrrp.TrackScript{
			Name: s.Name, Command: sc.argv(s.Script), Interval: s.Interval,
			Timeout: s.Timeout, Rise: s.Rise, Fall: s.Fall, Weight: w, Reverse: t.Reverse,
			User: sp.User, Group: sp.Group,
		}
		if s.User != "" {
			ts.User, ts.Group = s.User, ""
		}
		if sc.err != nil {
			return c, sc.err
		}
		c.TrackScripts = append(c.TrackScripts, ts)
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
		if t.Reverse {
			return c, errAt(t.Stmt, "vrrp_instance %s: track_file %q: reverse is not supported by lvsrouter", in.Name, t.Name)
		}
		c.TrackFiles = append(c.TrackFiles, vrrp.TrackFile{Path: f.File, Weight: w})
	}
	sc := scripts{at: in.Stmt}
	c.Notify = vrrp.Notify{
		Master: sc.argv(in.NotifyMaster), Backup: sc.argv(in.NotifyBackup),
		Fault: sc.argv(in.NotifyFault), Stop: sc.argv(in.NotifyStop),
		Notify: sc.argv(in.Notify),
		User:   sp.User, Group: sp.Group,
	}
	if sc.err != nil {
		return c, sc.err
	}
	if len(c.VIPs) == 0 {
		return c, errAt(in.Stmt, "vrrp_instance %s: no virtual_ipaddress", in.Name)
	}
	v := c.Version
	if v == 0 {
		// vrrp's default: VRRPv2 for IPv4, VRRPv3 for IPv6.
		v = 2
		if c.VIPs[0].Prefix.Addr().Is6() {
			v = 3
		}
	}
	c.Interval = advertInterval(in.AdvertInt, v)
	return c, nil
}

// advertInterval brings an advert_int into the range and unit of the VRRP
// version as keepalived does (keepalivedconf reports it as a warning, which
// fails -t): VRRPv2 rounds to whole seconds (half up, at least 1 s, at most
// 255 s), VRRPv3 to centiseconds (at most 40.95 s).
func advertInterval(d time.Duration, version uint8) time.Duration {
	if d <= 0 {
		return d // vrrp's default
	}
	unit, most := 10*time.Millisecond, 4095*10*time.Millisecond
	if version == 2 {
		unit, most = time.Second, 255*time.Second
	}
	if d > most {
		return most
	}
	d = (d + unit/2) / unit * unit
	return max(d, unit)
}

// maxGroupKeys bounds the services one virtual_server_group may expand to.
const maxGroupKeys = 1 << 16

// virtualServer appends the services of vs to out (nil on an error).
func virtualServer(p *Plan, out []VirtualService, vs *keepalivedconf.VirtualServer, groups map[string]*keepalivedconf.VirtualServerGroup, sp ScriptPolicy, files map[string]*keepalivedconf.TrackFile, boxes *policyBoxes) ([]VirtualService, error) {
	hs, err := haSuspend(vs, groups) // hasuspend.go
	if err != nil {
		return nil, err
	}
	// unique.Make: the name as parsed is a slice of the whole
	// configuration text, which a plan kept for the router's life would
	// otherwise keep in memory (3.4 MB at 10,000 virtual servers).
	base := ipvs.ServiceSettings{Scheduler: unique.Make(vs.LBAlgo).Value(), Timeout: vs.PersistenceTimeout}
	if base.Scheduler == "" {
		base.Scheduler = "wlc"
	}
	if vs.PersistenceTimeout > 0 {
		base.Flags |= ipvs.FlagPersistent
	}
	lvsService(vs, &base)
	var fwd ipvs.ForwardMethod
	switch vs.LBKind {
	case 0, keepalivedconf.NAT: // keepalived's default, see Translate
		fwd = ipvs.Masquerade
	case keepalivedconf.DR:
		fwd = ipvs.Route
	case keepalivedconf.TUN:
		fwd = ipvs.Tunnel
	default:
		return nil, errAt(vs.Stmt, "virtual_server: unknown lb_kind %v", vs.LBKind)
	}
	proto := ipvs.UDP // keepalived's default, see Translate
	switch vs.Protocol {
	case 0, keepalivedconf.UDP:
	case keepalivedconf.TCP:
		proto = ipvs.TCP
	case keepalivedconf.SCTP:
		proto = ipvs.SCTP
	default:
		return nil, errAt(vs.Stmt, "virtual_server: unknown protocol %v", vs.Protocol)
	}
	// A firewall-mark service has no address of its own: its family is
	// that of its real servers (or sorry server), IPv4 when it has none.
	markFamily := ipvs.IPv4
	if len(vs.RealServers) > 0 && vs.RealServers[0].Addr.Addr().Is6() ||
		len(vs.RealServers) == 0 && vs.SorryServer.Addr().Is6() {
		markFamily = ipvs.IPv6
	}
	// ip_family says it outright.
	if vs.IPFamilySet {
		markFamily = ipvs.IPv4
		if vs.IPv6 {
			markFamily = ipvs.IPv6
		}
	}
	var one [1]ipvs.ServiceSettings // most virtual servers are one service
	keys := one[:0]
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
		groupPorts(p, vs, g, fwd)
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
	var hsAddrs []netip.Addr
	if hs != nil {
		hsAddrs = haSuspendAddrs(keys)
	}
	for _, svc := range keys {
		fam := svc.Family
		if svc.FWMark == 0 {
			fam = ipvs.IPv4
			if svc.Addr.Addr().Is6() {
				fam = ipvs.IPv6
			}
		}
		if n := vs.PersistenceGranularity; n != 0 {
			// IPVS's netmask field: a prefix length for IPv6, a mask for
			// IPv4.
			switch {
			case fam == ipvs.IPv6 && n >= 1 && n <= 128:
				svc.Netmask = uint32(n)
			case fam == ipvs.IPv4 && n >= 1 && n <= 32:
				svc.Netmask = ^uint32(0) << (32 - n)
			default:
				return nil, errAt(vs.Stmt, "virtual_server %s: persistence_granularity /%d does not fit its family", describe(svc), n)
			}
		}
		v := VirtualService{Service: svc, Quorum: quorum, Hysteresis: vs.Hysteresis, HASuspend: hs != nil}
		desc := describe(svc) // its checks' IDs begin with it
		if hs != nil {
			v.setRare().haSuspendAddrs = hsAddrs
		}
		serviceAlertOf(vs, &v) // plan_kw3.go
		sc := scripts{at: vs.Stmt}
		if vs.QuorumUp != "" || vs.QuorumDown != "" {
			r := v.setRare()
			r.quorumUp, r.quorumDown = sc.argv(vs.QuorumUp), sc.argv(vs.QuorumDown)
		}
		if sc.err != nil {
			return nil, sc.err
		}
		if vs.SorryServer.IsValid() {
			v.Sorry = &ipvs.Destination{Addr: withPort(vs.SorryServer, svc), Forward: fwd, Weight: 1}
			lvsSorry(vs, &v)
		}
		v.Reals = boxes.chunks.reals(len(vs.RealServers))
		// the real servers' checks in one array: a window each
		nchecks := 0
		for _, rs := range vs.RealServers {
			nchecks += len(rs.Checkers)
		}
		checks := boxes.chunks.targets(nchecks)
		for _, rs := range vs.RealServers {
			r := RealServer{
				Dest:    ipvs.DestinationSettings{Addr: withPort(rs.Addr, svc), Forward: fwd, Weight: rs.Weight},
				Inhibit: rs.InhibitOnFailure || vs.Inhibit,
			}
			if len(rs.Checkers) > 0 {
				n := len(rs.Checkers)
				r.Checks, checks = checks[:0:n], checks[n:n]
			}
			if hasKeyword(rs.Stmt, "smtp_alert") {
				r.alert = optOf(rs.Alert())
			}
			if vs.Weight != 0 && rs.Stmt.Block.Find("weight") == nil {
				r.Dest.Weight = vs.Weight // the virtual server's weight
			}
			lvsReal(rs, &r.Dest)
			sc := scripts{at: rs.Stmt}
			if up, down := sc.argv(rs.NotifyUp), sc.argv(rs.NotifyDown); len(up)+len(down) > 0 {
				r.Notify = &RealNotify{up, down}
			}
			if sc.err != nil {
				return nil, sc.err
			}
			for i, kc := range rs.Checkers {
				if h, ok := kc.(*keepalivedconf.HTTPCheck); ok && len(h.URLs) == 0 {
					// keepalived drops the checker, and reports it
					p.Warnings = append(p.Warnings, fmt.Sprintf("%s: HTTP/SSL_GET checker has no urls specified - ignoring", h.Stmt.Pos))
					continue
				}
				c, pol, err := checker(p, kc, r.Dest.Addr, rs.CheckDefaults, rs.VirtualHost, vs, sp, files, boxes)
				if err != nil {
					return nil, err
				}
				r.Checks = append(r.Checks, check.Target{ID: boxes.ids.checkID(desc, r.Dest.Addr, i), Checker: c, Policy: pol})
			}
			v.Reals = append(v.Reals, r)
		}
		serviceFidelity(p, vs, &v)
		out = append(out, v)
	}
	return out, nil
}

// policyBoxes holds one check.Policy per distinct keepalived policy, so
// that the targets sharing a policy (usually every one of a
// configuration) share its box: at 40,000 targets, a box each held
// 1.9 MB. It also holds the check IDs of the virtual servers translated
// with it.
type policyBoxes struct {
	m map[check.Keepalived]check.Policy
	// last is the policy asked for last, and lastBox its box: the next
	// target's is usually the same, found without hashing it.
	last    check.Keepalived
	lastBox check.Policy
	// ids holds the run's check IDs, chunks its real servers and check
	// targets.
	ids    idArena
	chunks planChunks
}

// planChunks cuts the services' real servers and check targets from
// shared arrays: a virtual server's two small arrays each were 20,000
// allocations at 10,000 virtual servers. Each slice is capped at its
// length, so that an append moves it out rather than into its
// neighbour's.
type planChunks struct {
	rs []RealServer
	ts []check.Target
}

// chunkOf is how many real servers or targets a chunk holds.
const chunkOf = 256

// reals returns an empty slice with room for n real servers.
func (c *planChunks) reals(n int) []RealServer { return planWindow(&c.rs, n) }

// targets returns an empty slice with room for n check targets.
func (c *planChunks) targets(n int) []check.Target { return planWindow(&c.ts, n) }

// planWindow is window with chunks of chunkOf elements; more than a
// quarter of one gets an array of its own.
func planWindow[T any](chunk *[]T, n int) []T {
	if n == 0 || n > chunkOf/4 {
		return make([]T, 0, n)
	}
	return window(chunk, n, chunkOf)
}

// window returns an empty slice with room for n elements cut from
// *chunk, which is replaced by a new chunk of size elements (n, if more)
// when it has less room. The slice is capped at n, so that an append
// moves it out rather than into the next window.
func window[T any](chunk *[]T, n, size int) []T {
	if cap(*chunk)-len(*chunk) < n {
		*chunk = make([]T, 0, max(n, size))
	}
	c := *chunk
	at := len(c)
	*chunk = c[:at+n]
	return c[at : at : at+n]
}

// box returns the shared box of pol (made on its first use).
func (b *policyBoxes) box(pol check.Keepalived) check.Policy {
	if b.lastBox != nil && pol == b.last {
		return b.lastBox
	}
	q, ok := b.m[pol]
	if !ok {
		if b.m == nil {
			b.m = map[check.Keepalived]check.Policy{}
		}
		q = check.Policy(pol)
		b.m[pol] = q
	}
	b.last, b.lastBox = pol, q
	return q
}

// withPort gives a real or sorry server written without a port the
// service's port, as keepalived does.
func withPort(a netip.AddrPort, svc ipvs.ServiceSettings) netip.AddrPort {
	if a.Port() == 0 && svc.FWMark == 0 {
		return netip.AddrPortFrom(a.Addr(), svc.Addr.Port())
	}
	return a
}

// scripts turns script lines into the argv keepalived executes, as
// keepalivedconf.ScriptArgv splits them (the argv keepalivedconf checks);
// the first line that does not split is remembered in err with the place
// of at.
type scripts struct {
	at  *keepalivedconf.Stmt
	err error
}

func (sc *scripts) argv(line string) []string {
	if line == "" {
		return nil
	}
	argv, err := keepalivedconf.ScriptArgv(line)
	if err != nil && sc.err == nil {
		sc.err = errAt(sc.at, "%v", err)
	}
	return argv
}

func describe(s ipvs.ServiceSettings) string {
	if s.FWMark != 0 {
		return "FWM " + strconv.FormatUint(uint64(s.FWMark), 10)
	}
	return s.Protocol.String() + " " + s.Addr.String()
}

// checker translates one keepalived checker block for the real server at
// rs into a check.Checker and keepalived's retry policy.
//
// A setting the checker does not write is its real server's, else its
// virtual server's (rsd and vs.CheckDefaults), as keepalived hands them
// down (check_data.c).
func checker(p *Plan, kc keepalivedconf.Checker, rs netip.AddrPort, rsd keepalivedconf.CheckDefaults, rsHost string, vs *keepalivedconf.VirtualServer, sp ScriptPolicy, files map[string]*keepalivedconf.TrackFile, boxes *policyBoxes) (check.Checker, check.Policy, error) {
	vsd := vs.CheckDefaults
	pol := check.Keepalived{
		DelayLoop:        cmp.Or(rsd.DelayLoop, vs.DelayLoop),
		Alpha:            rsd.Alpha || vs.Alpha,
		Omega:            vs.Omega,
		Retry:            cmp.Or(rsd.Retry, vsd.Retry),
		DelayBeforeRetry: cmp.Or(rsd.DelayBeforeRetry, vsd.DelayBeforeRetry),
		Warmup:           cmp.Or(rsd.Warmup, vsd.Warmup),
	}
	// own applies what the checker itself writes over the inherited.
	own := func(delayLoop, delayBeforeRetry, warmup time.Duration, retry int, alpha bool) {
		pol.DelayLoop = cmp.Or(delayLoop, pol.DelayLoop)
		pol.Retry = cmp.Or(retry, pol.Retry)
		pol.DelayBeforeRetry = cmp.Or(delayBeforeRetry, pol.DelayBeforeRetry)
		pol.Warmup = cmp.Or(warmup, pol.Warmup)
		pol.Alpha = pol.Alpha || alpha
	}
	target := func(c *keepalivedconf.CheckCommon) (netip.AddrPort, netip.AddrPort, time.Duration) {
		own(c.DelayLoop, c.DelayBeforeRetry, c.Warmup, c.Retry, c.Alpha)
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
		timeout := cmp.Or(c.ConnectTimeout, rsd.ConnectTimeout, vsd.ConnectTimeout, 5*time.Second)
		return netip.AddrPortFrom(addr, port), bind, timeout
	}
	switch k := kc.(type) {
	case *keepalivedconf.TCPCheck:
		a, b, t := target(&k.CheckCommon)
		return check.TCP{Addr: a, Bind: b, Timeout: t}, boxes.box(pol), nil
	case *keepalivedconf.HTTPCheck:
		a, b, t := target(&k.CheckCommon)
		host := cmp.Or(k.Virtualhost, rsHost, vs.VirtualHost)
		var all allOf
		for _, u := range k.URLs {
			h := &check.HTTP{Addr: a, Bind: b, Timeout: t, TLS: k.TLS, Host: host, Path: u.Path, Digest: u.Digest, NoSNI: k.TLS && !enableSNI(k)}
			if u.Virtualhost != "" {
				h.Host = u.Virtualhost
			}
			re, err := urlRegex(u)
			if err != nil {
				return nil, nil, err
			}
			h.BodyRegex = re
			if codes := statusCodes(p, u); codes != "" {
				sc, err := check.ParseStatusCodes(codes)
				if err != nil {
					return nil, nil, errAt(u.Stmt, "%v", err)
				}
				h.Status = sc
			}
			all = append(all, h)
		}
		if len(all) == 1 {
			return all[0], boxes.box(pol), nil
		}
		return all, boxes.box(pol), nil
	case *keepalivedconf.DNSCheck:
		a, _, t := target(&k.CheckCommon)
		if k.ConnectPort == 0 && a.Port() == 0 {
			a = netip.AddrPortFrom(a.Addr(), 53)
		}
		d := check.DNS{Addr: a, Name: k.Name, Timeout: t}
		if k.QueryType != 0 {
			d.Type = dnsmessage.Type(k.QueryType) // both are RFC 1035 numbers
		}
		return d, boxes.box(pol), nil
	case *keepalivedconf.SMTPCheck:
		a, b, t := target(&k.CheckCommon)
		hosts := smtpHosts(k, rs, check.SMTP{Addr: a, Bind: b, HeloName: k.Helo, Timeout: t}, cmp.Or(rsd.ConnectTimeout, vsd.ConnectTimeout, 5*time.Second))
		if len(hosts) == 1 {
			return hosts[0], boxes.box(pol), nil
		}
		return allOf(hosts), boxes.box(pol), nil
	case *keepalivedconf.UDPCheck:
		a, b, t := target(&k.CheckCommon)
		// keepalivedconf keeps require_reply's data; a bare require_reply
		// leaves it empty.
		u := check.UDP{Addr: a, Bind: b, RequireReply: k.Stmt.Block != nil && k.Stmt.Block.Find("require_reply") != nil, Timeout: t,
			MinReply: k.MinReply, MaxReply: k.MaxReply}
		// keepalived's replies are at most 255 bytes unless
		// max_reply_length says otherwise.
		if !k.MaxReplySet {
			u.MaxReply = 255
		}
		if k.MaxReplySet && k.MaxReply == 0 {
			return nil, nil, errAt(k.Stmt, "UDP_CHECK: max_reply_length 0 is not supported by lvsrouter (check.UDP reads 0 as no limit)")
		}
		if k.MinReply > u.MaxReply {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: UDP_CHECK min_reply length %d > max_reply_length %d - will always fail", k.Stmt.Pos, k.MinReply, u.MaxReply))
		}
		if k.Payload != "" {
			// keepalived reads the payload as hex octets (read_hex_str).
			p, ok := hexOctets(k.Payload)
			if !ok {
				return nil, nil, errAt(k.Stmt, "Invalid hex string for UDP_CHECK payload")
			}
			u.Payload = p
		}
		if k.RequireReply != "" {
			return nil, nil, errAt(k.Stmt, "UDP_CHECK: require_reply with reply data is not supported by lvsrouter (any reply is accepted)")
		}
		return u, boxes.box(pol), nil
	case *keepalivedconf.PingCheck:
		a, _, t := target(&k.CheckCommon)
		return check.ICMP{Addr: a.Addr(), Timeout: t}, boxes.box(pol), nil
	case *keepalivedconf.MiscCheck:
		own(k.DelayLoop, k.DelayBefore, k.Warmup, k.Retry, k.Alpha)
		// keepalived splits misc_path into argv; it runs no shell.
		sc := scripts{at: k.Stmt}
		args := sc.argv(k.Path)
		if sc.err != nil {
			return nil, nil, sc.err
		}
		if len(args) == 0 {
			return nil, nil, errAt(k.Stmt, "MISC_CHECK without misc_path")
		}
		e := check.Exec{Path: args[0], Args: args[1:], Dynamic: k.Dynamic, User: sp.User, Group: sp.Group,
			ScriptSecurity: sp.Security, Timeout: k.Timeout}
		if k.User != "" {
			e.User, e.Group = k.User, ""
		}
		return e, boxes.box(pol), nil
	case *keepalivedconf.FileCheck:
		// track_file names a track_file block, whose file is read; the
		// checker's weight, when written, replaces the block's.
		f, ok := files[k.TrackFile]
		if !ok {
			return nil, nil, errAt(k.Stmt, "FILE_CHECK: track_file %q is not defined", k.TrackFile)
		}
		w := f.Weight
		if k.Stmt.Block.Find("weight") != nil {
			w = k.Weight
		}
		return check.File{Path: f.File, Weight: w, Reverse: k.Reverse}, boxes.box(pol), nil
	case *keepalivedconf.BFDCheck:
		return bfdCheck{Name: k.Name, pos: k.Stmt.Pos}, nil, nil
	}
	return nil, nil, errAt(kc.Syntax(), "%s is not supported by lvsrouter", kc.Type())
}

// statusCodes keeps the status_code words keepalived accepts (codes and
// ranges within 100-599) and reports the others, as keepalived does.
func statusCodes(p *Plan, u keepalivedconf.URL) string {
	var keep []string
	for _, w := range strings.Fields(u.StatusCode) {
		lo, hi, isRange := strings.Cut(w, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 100 || b > 599 || a > b {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s: Invalid HTTP_GET status code '%s'", u.Stmt.Pos, w))
			continue
		}
		keep = append(keep, w)
	}
	return strings.Join(keep, " ")
}

// hexOctets reads keepalived's hex strings (read_hex_str): pairs of hex
// digits, blanks between groups, a lone digit before a blank or the end
// being one octet.
func hexOctets(str string) ([]byte, bool) {
	var out []byte
	for _, f := range strings.Fields(str) {
		for len(f) > 0 {
			n := min(2, len(f))
			v, err := strconv.ParseUint(f[:n], 16, 8)
			if err != nil {
				return nil, false
			}
			out = append(out, byte(v))
			f = f[n:]
		}
	}
	// keepalived 2.2.7 takes a last octet of 0xff for its own "invalid"
	// marker and rejects the string: so does lvsrouter -t.
	return out, len(out) > 0 && out[len(out)-1] != 0xff
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

// instancesByName maps the configuration's vrrp_instance blocks by name,
// for the translators that read keywords of the instances in p.Instances.
func instancesByName(cfg *keepalivedconf.Config) map[string]*keepalivedconf.VRRPInstance {
	m := make(map[string]*keepalivedconf.VRRPInstance, len(cfg.Instances))
	for _, in := range cfg.Instances {
		m[in.Name] = in
	}
	return m
}
