package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/internal/proc"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vrrp"
)

// Router runs a Plan: VRRP instances, health checks, and the IPVS services
// they decide. A reload replaces the plan only when the new one translated
// without error; it keeps the health of unchanged checks, changes IPVS
// through a minimal Apply (never a flush), and restarts VRRP only when the
// VRRP part changed.
type Router struct {
	// born is when the router was made: vrrp_startup_delay counts from it.
	born    time.Time
	keeper  staticKeeper // static.go
	log     *slog.Logger
	ipvs    *ipvs.Client
	applier *ipvs.Applier
	mon     *check.Monitor
	// script runs notify and quorum scripts; tests replace it.
	script func(argv []string)
	// scriptTimeout bounds notify and quorum scripts (tests shorten it).
	scriptTimeout time.Duration
	// hasInterface tells whether the host has an interface
	// (interfaceExists; tests replace it).
	hasInterface func(string) bool
	// KeepIPVS leaves the IPVS services in place when the router stops
	// (keepalived's --dont-release-ipvs), for the next start to adopt
	// without re-creating them.
	KeepIPVS bool
	// release, when set, is given the Services array of a plan Load
	// swapped for one with another array, for the next incremental
	// reload's splice (incReload.release, reload_inc_apply.go). Only a
	// router that is the one reader of the plans it is given may have
	// one: serve's.
	release func(old []VirtualService)

	mu      sync.Mutex
	plan    *Plan
	down    map[string]bool // check target ID -> down (setDown: the down ones only)
	weight  map[string]int  // dynamic weight reported by a check
	managed managedSet      // managed.go
	// alive and quorum remember, per real server and per service, the
	// state last applied, so that notify scripts run on changes only.
	// quorum is by position in plan (upState, read with stateAt),
	// carried over by service key when a reload moves the services
	// (carryQuorum): a map by key held 1 MB at 10,000 services.
	alive  map[realKey]bool
	quorum []uint8
	events [][]string // scripts to run after the next apply
	// sq is the queue of scripts to run, in order, one at a time.
	sq struct {
		mu    sync.Mutex
		idle  sync.Cond // busy became false
		queue [][]string
		busy  bool
	}
	// scriptCred is the plan's script_user, resolved.
	scriptCred *proc.Credential
	// mail sends smtp_alert mail; groups follows the sync groups' states
	// (syncnotify.go).
	mail   *mailer
	groups groupStates
	kick   chan struct{}
	// loop serializes Run's work (health applies, the stop) with
	// Reload, called on another goroutine;
	// stopped is set under it once Run stops. retry asks Run for an
	// apply after applyRetry (a reload whose kernel change failed).
	loop struct {
		sync.Mutex
		stopped bool
	}
	retry chan struct{}

	// units are the running VRRP routers, one per sync group or lone
	// instance.
	units map[unitKey]*runningUnit
	bfd   routerBFD
	bgp   routerBGP
	// lvs is the IPVS global state (timeouts, sync daemon) the router
	// changed (router_lvs.go).
	lvs lvsState
	// hs suspends the checks of ha_suspend services (hasuspend.go).
	hs haSuspender

	// ops is what state dumps, notify FIFOs, metrics and the status
	// socket read (dump.go).
	ops opsState
	// reported is what desired last told ops, by position in the plan.
	reported reported
	// opsLater: desired leaves the first report to opsState, of every
	// real server and service, to reportOps after the kernel change.
	opsLater bool
	// dirty is what changed since the last apply, checks where each
	// check target's service is (reload_inc_apply.go), and nTargets the
	// number of check targets (BFD feeds apart) of the plan loaded.
	dirty    dirtySet
	checks   checkIndex
	nTargets int
	// phase, when set (serve's first load), is called at the end of each
	// of the load's phases: "checks planned", "desired", "kernel
	// applied", "checks registered" (serve logs the process's memory and
	// adjusts the collector there).
	phase func(name string)
}

// reported holds, per real server and per service in plan order, the
// state desired last handed to opsState (0: none yet, 1: down, 2: up), so
// that an apply reports only changes, not 40,000 real servers each time.
// Load clears it when the plan's layout changes.
// start is the position of each service's first real server, and plan
// the plan they are for: an incremental apply uses them only for that
// plan.
type reported struct {
	reals, services []uint8
	start           []int32
	plan            *Plan
}

// upState is up as reported and quorum keep it: 2 up, 1 down (0: none
// yet).
func upState(up bool) uint8 {
	if up {
		return 2
	}
	return 1
}

// stateAt reads the state at position i of states (reported's, or
// Router.quorum): whether it is up, and whether there is one (a position
// past the end has none). up is false where there is none.
func stateAt(states []uint8, i int) (up, seen bool) {
	if i >= len(states) || states[i] == 0 {
		return false, false
	}
	return states[i] == upState(true), true
}

// realKey names a real server of a virtual service.
type realKey struct {
	Service ipvs.ServiceKey
	Dest    netip.AddrPort
}

// unitKey names a VRRP unit: a sync group, or an instance outside any.
type unitKey struct {
	Group bool
	Name  string
}

func (k unitKey) String() string {
	if k.Group {
		return "group " + k.Name
	}
	return "instance " + k.Name
}

// runningUnit is one VRRP unit with the router running it.
type runningUnit struct {
	unit vrrpUnit
	vr   *vrrp.Router
	stop context.CancelFunc
	done chan error
}

// NewRouter returns a router for the current network namespace; it fails
// only when ctx is already done. It starts nothing: Load installs a plan
// and Run runs it. It connects to IPVS when a plan first has virtual
// services, so a VRRP-only configuration (keepalived in front of HAProxy)
// runs where the kernel has no IPVS.
func NewRouter(ctx context.Context, log *slog.Logger) (*Router, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := newRouter(log)
	mon, err := check.NewMonitor(&check.MonitorConfig{OnTransition: r.onCheck})
	if err != nil {
		return nil, err
	}
	r.mon = mon
	return r, nil
}

func newRouter(log *slog.Logger) *Router {
	r := &Router{
		born: time.Now(),
		log:  log,
		down: map[string]bool{}, weight: map[string]int{},
		alive: map[realKey]bool{},
		units: map[unitKey]*runningUnit{},
		kick:  make(chan struct{}, 1),
		retry: make(chan struct{}, 1),
	}
	r.script = r.runScript
	r.sq.idle.L = &r.sq.mu
	r.scriptTimeout = scriptTimeout
	r.hasInterface = interfaceExists
	return r
}

// runScript runs a notify or quorum script as keepalived does: its argv
// without a shell, as script_user, refused when enable_script_security
// finds it unsafe. It runs through internal/proc, the runner every lvskit
// script shares: a process group of its own, killed whole when
// scriptTimeout ends; output capped (the rest is read and dropped); a
// bounded wait for pipes held by escaped children. Processes the script
// leaves behind when it exits in time stay (a notify script may start a
// daemon), as with keepalived.
func (r *Router) runScript(argv []string) {
	if len(argv) == 0 {
		return
	}
	r.mu.Lock()
	cred, security := r.scriptCred, r.plan != nil && r.plan.Scripts.Security
	r.mu.Unlock()
	res, err := proc.Run(context.Background(), &proc.Cmd{
		Argv: argv, Timeout: r.scriptTimeout, Cred: cred, ScriptSecurity: security, KeepGroup: true,
	})
	switch {
	case errors.Is(err, proc.ErrInsecure):
		r.log.Warn("script refused", "argv", argv, "err", err)
	case err != nil:
		r.log.Warn("script", "argv", argv, "err", err, "output", res.Tail())
	case !res.Success():
		r.log.Warn("script", "argv", argv, "exit", res.ExitCode, "signal", res.Signal, "output", res.Tail())
	}
}

// scriptTimeout bounds a notify or quorum script.
const scriptTimeout = 10 * time.Second

func (r *Router) onCheck(t check.Transition) {
	r.mu.Lock()
	if t.Kind == check.StateChange || t.Kind == 0 {
		was := r.mail.realUp(r.down, t.ID)
		if r.down[t.ID] != !t.Up {
			r.touch(t.ID)
		}
		r.setDown(t.ID, !t.Up)
		if t.Kind == check.StateChange {
			r.mail.checkState(t.ID, t.Up, was, r.mail.realUp(r.down, t.ID))
		}
	}
	if t.Result.Weight.Set && !t.Result.Weight.Percent {
		if w, ok := r.weight[t.ID]; !ok || w != t.Result.Weight.Value {
			r.touch(t.ID)
		}
		r.weight[t.ID] = t.Result.Weight.Value
	}
	r.mu.Unlock()
	r.log.Info("check", "target", t.ID, "up", t.Up, "reason", t.Reason)
	r.poke()
}

// poke asks the Run loop for an apply.
func (r *Router) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Load installs a plan (the first one, or a reload). It first checks the
// plan against the live host and every package's validation (checkPlan)
// and prepares the VRRP units that must start; if anything fails, nothing
// running is touched and the error is returned. Then VRRP units whose
// configuration did not change keep running untouched (a master stays
// master), units whose instances changed only in what vrrp can update in
// place (priority, advert_int, VIPs, routes, track and notify scripts ...)
// are updated without a restart (a master stays master unless it now
// loses the election), other changed ones restart, checks keep their
// state unless they changed, and IPVS gets the minimal change, diffed
// against what the router last applied (no dump of the kernel): the
// kernel then holds what a fresh start on p would program, unless
// someone changed it by hand meanwhile, which a reload does not repair
// (as keepalived's does not) until an apply fails on it. The new and
// changed checks reach the Monitor after the kernel change.
func (r *Router) Load(ctx context.Context, p *Plan) error {
	// A reload runs ahead of the checks until its kernel change is made
	// (reload_inc_boost.go).
	restore := func() {}
	if r.plan != nil {
		restore = boostReload()
		traceMark("load-boosted")
	}
	defer func() { restore() }()
	// serve's load has checked the plan against this host already.
	if !p.hostChecked {
		if err := checkPlan(p, r.hasInterface); err != nil {
			return err
		}
	}
	running := make(map[unitKey]vrrpUnit, len(r.units))
	for k, ru := range r.units {
		running[k] = ru.unit
	}
	keep, update, stop, start := vrrpChanges(running, units(p))
	prepared := make([]*vrrp.Router, len(start))
	for i, u := range start {
		u.StartupDelay = p.StartupDelay - time.Since(r.born)
		u.Instances = slices.Clone(u.Instances)
		for j := range u.Instances {
			u.Instances[j] = r.bfdTracks(u.Instances[j])
			u.Instances[j].OnNotified = r.groupTransition
		}
		vr, err := buildUnit(u, r.onVRRP, r.onPriority)
		if err != nil {
			return p.at(u, err)
		}
		prepared[i] = vr
	}
	// Units updated in place: checkPlan validated their instances and
	// vrrpChanges found every change updatable; the configurations to
	// hand over get their BFD feeds and callback here.
	updated := make([][]vrrp.Config, len(update))
	for i, u := range update {
		updated[i] = make([]vrrp.Config, len(u.Instances))
		for j, c := range u.Instances {
			c = r.bfdTracks(c)
			c.OnTransition = r.onVRRP
			c.OnNotified = r.groupTransition
			updated[i][j] = c
		}
	}
	cred, err := p.Scripts.credential()
	if err != nil {
		return err
	}
	traceMark("vrrp-prepared")
	// From here on the new plan is applied.
	if err := r.ops.setFIFOs(p.FIFOs); err != nil {
		r.log.Warn("notify fifo", "err", err)
	}
	r.mu.Lock()
	old := r.plan
	r.plan, r.scriptCred = p, cred
	r.mail = newMailer(r.log, p, r.mail)
	r.groups.reset(p)
	// A reload the incremental read made names the services it changed:
	// the rest are the running plan's, and neither the layout, the check
	// targets nor the desired state need a look beyond the changed ones
	// (reload_inc_apply.go).
	changed, known := p.changedSince(old)
	var same bool
	if known {
		same = sameLayoutAt(old, p, changed)
	} else {
		same = old != nil && sameLayout(old, p)
	}
	r.ops.setPlan(old, p, same)
	switch {
	case !same:
		r.prune(old)
		r.managed.replaced(old, p)
		r.reported = reported{}
		r.checks = nil
		r.touchAll()
	case known:
		if r.reported.plan == old {
			r.reported.plan = p
		}
		r.noteDelta(old, p, changed)
	default:
		r.checks = nil
		r.touchAll()
	}
	r.mu.Unlock()
	traceMark("plan-set")
	r.syncStatic(old, p) // static.go
	if !known || !same {
		changed = nil
	}
	checks := r.planChecks(old, p, changed)
	r.phaseEnd("checks planned")
	traceMark("checks-planned")
	if err := r.syncBFD(ctx, p); err != nil {
		r.log.Error("bfd", "err", err)
	}
	// A speaker that cannot start (its listening port taken) fails the
	// first start; on a reload it is logged, the rest applied all the same.
	bgpErr := r.syncBGP(ctx, p)
	if bgpErr != nil && old != nil {
		r.log.Error("bgp", "err", bgpErr)
		bgpErr = nil
	}
	for _, k := range stop {
		r.stopUnit(k)
	}
	for i, u := range update {
		if err := r.updateUnit(u, updated[i]); err != nil {
			// Only a unit caught starting or stopping gets here: restart
			// it with the new configuration, as before in-place updates.
			r.log.Warn("vrrp: update in place failed, restarting", "unit", u.Key.String(), "err", err)
			r.stopUnit(u.Key)
			vu := u
			vu.Instances = updated[i]
			vr, err := buildUnit(vu, r.onVRRP, r.onPriority)
			if err != nil {
				r.log.Error("vrrp", "unit", u.Key.String(), "err", err)
				continue
			}
			r.runUnit(ctx, u, vr)
		}
	}
	if len(update)+len(stop)+len(start) > 0 {
		r.log.Info("vrrp", "kept", len(keep), "updated", len(update), "stopped", len(stop), "started", len(start))
	}
	for i, u := range start {
		r.runUnit(ctx, u, prepared[i])
	}
	traceMark("bfd-bgp-vrrp")
	// The kernel gets the new state before the Monitor learns of the
	// new and changed checks: on a start, the destinations are in before
	// 40,000 targets are registered; on a reload, the weight edited is
	// applied first. planChecks has put their initial states in r.down.
	err = r.loadLVS(ctx, p)
	traceMark("lvs-loaded")
	if err == nil {
		err = r.apply(ctx)
	}
	restore()
	restore = func() {}
	traceMark("unboosted")
	r.runChecks(checks)
	r.phaseEnd("checks registered")
	traceMark("checks-registered")
	r.syncHASuspend()
	traceMark("ha-suspend-synced")
	if r.release != nil && old != nil && len(old.Services) > 0 {
		r.mu.Lock()
		if cur := r.plan.Services; len(cur) == 0 || &cur[0] != &old.Services[0] {
			r.release(old.Services)
		}
		r.mu.Unlock()
	}
	traceMark("loaded")
	return errors.Join(err, bgpErr)
}

// phaseEnd calls r.phase, if set, at the end of the load's phase name.
func (r *Router) phaseEnd(name string) {
	if r.phase != nil {
		r.phase(name)
	}
}

// prune forgets the notify state of services and real servers the plan no
// longer has, and moves each kept service's quorum state to its place in
// the plan (old is the plan before). r.mu is held. Load skips it when the
// plan keeps every service and real server where it was (the common
// edit: a weight, a timeout): there is nothing to forget or move.
func (r *Router) prune(old *Plan) {
	r.quorum = carryQuorum(old, r.quorum, r.plan)
	if len(r.alive) == 0 {
		return
	}
	ids := map[realKey]bool{}
	for i := range r.plan.Services {
		vs := &r.plan.Services[i]
		k := vs.Service.Key()
		for _, rs := range vs.Reals {
			ids[realKey{k, rs.Dest.Addr}] = true
		}
	}
	for id := range r.alive {
		if !ids[id] {
			delete(r.alive, id)
		}
	}
}

// carryQuorum returns the quorum states q, by position in old, by
// position in p instead: a service of p that old has (by key) keeps its
// state, the others have none yet.
func carryQuorum(old *Plan, q []uint8, p *Plan) []uint8 {
	out := make([]uint8, len(p.Services))
	if old == nil || len(q) != len(old.Services) {
		return out
	}
	was := map[ipvs.ServiceKey]uint8{}
	for i, st := range q {
		if st != 0 {
			was[old.Services[i].Service.Key()] = st
		}
	}
	if len(was) == 0 {
		return out
	}
	for i := range p.Services {
		out[i] = was[p.Services[i].Service.Key()]
	}
	return out
}

// sameLayout reports whether a and b list the same services with the
// same real servers, in the same order.
func sameLayout(a, b *Plan) bool {
	if len(a.Services) != len(b.Services) {
		return false
	}
	for i := range a.Services {
		if !sameServiceLayout(&a.Services[i], &b.Services[i]) {
			return false
		}
	}
	return true
}

// sameLayoutAt is sameLayout for plans of the same length that differ at
// most at the positions changed.
func sameLayoutAt(a, b *Plan, changed []int) bool {
	for _, i := range changed {
		if !sameServiceLayout(&a.Services[i], &b.Services[i]) {
			return false
		}
	}
	return true
}

// sameServiceLayout reports whether x and y are the same service with the
// same real servers, in the same order.
func sameServiceLayout(x, y *VirtualService) bool {
	if x.Service.Key() != y.Service.Key() || len(x.Reals) != len(y.Reals) {
		return false
	}
	for j := range x.Reals {
		if x.Reals[j].Dest.Addr != y.Reals[j].Dest.Addr {
			return false
		}
	}
	return true
}

// vrrpUnit is what one vrrp.Router runs: a sync group with its member
// instances, or one instance on its own. Units restart independently on a
// reload.
type vrrpUnit struct {
	Key       unitKey
	Group     *SyncGroup
	Instances []vrrp.Config
	// ScriptSecurity is enable_script_security for its track and notify
	// scripts.
	ScriptSecurity bool
	// StartupDelay is what is left of vrrp_startup_delay when the unit
	// starts (set by Load, counted from the router's start).
	StartupDelay time.Duration `json:"-"`
	// DynamicInterfaces makes the unit wait for its interfaces before it
	// starts (global_defs dynamic_interfaces; dynif.go).
	DynamicInterfaces bool `json:",omitempty"`
	// NotifyPriority names the unit's instances that write priority
	// changes to the notify FIFOs (notify_priority_changes).
	NotifyPriority []string `json:",omitempty"`
}

// units splits a plan's VRRP part into units, in configuration order.
// Translate has checked that sync group members exist.
func units(p *Plan) []vrrpUnit {
	byName := map[string]vrrp.Config{}
	for _, c := range p.Instances {
		byName[c.Name] = c
	}
	inGroup := map[string]bool{}
	var out []vrrpUnit
	for i := range p.SyncGroups {
		g := &p.SyncGroups[i]
		u := vrrpUnit{Key: unitKey{Group: true, Name: g.Name}, Group: g, ScriptSecurity: p.Scripts.Security, DynamicInterfaces: p.DynamicInterfaces}
		for _, m := range g.Members {
			if c, ok := byName[m]; ok && !inGroup[m] {
				u.Instances = append(u.Instances, c)
				inGroup[m] = true
			}
		}
		out = append(out, u)
	}
	for _, c := range p.Instances {
		if !inGroup[c.Name] {
			out = append(out, vrrpUnit{Key: unitKey{Name: c.Name}, Instances: []vrrp.Config{c}, ScriptSecurity: p.Scripts.Security, DynamicInterfaces: p.DynamicInterfaces})
		}
	}
	for i := range out {
		for _, c := range out[i].Instances {
			if slices.Contains(p.NotifyPriority, c.Name) {
				out[i].NotifyPriority = append(out[i].NotifyPriority, c.Name)
			}
		}
	}
	return out
}

// vrrpChanges decides what a reload does to VRRP: units whose
// configuration is identical (sameUnit) keep running; units whose
// instances changed only in fields vrrp updates in place (updatableUnit)
// are updated; the others (new or changed otherwise) start, and running
// units that are gone or changed otherwise stop first. Stopped units come
// sorted, groups first.
func vrrpChanges(running map[unitKey]vrrpUnit, next []vrrpUnit) (keep []unitKey, update []vrrpUnit, stop []unitKey, start []vrrpUnit) {
	seen := map[unitKey]bool{}
	for _, u := range next {
		seen[u.Key] = true
		if old, ok := running[u.Key]; ok {
			if sameUnit(old, u) {
				keep = append(keep, u.Key)
				continue
			}
			if updatableUnit(old, u) == nil {
				update = append(update, u)
				continue
			}
			stop = append(stop, u.Key)
		}
		start = append(start, u)
	}
	for k := range running {
		if !seen[k] {
			stop = append(stop, k)
		}
	}
	slices.SortFunc(stop, func(a, b unitKey) int { return strings.Compare(a.String(), b.String()) })
	return keep, update, stop, start
}

// updatableUnit tells whether a running unit can take next through
// vrrp's Instance.Update: the same sync group with the same members, the
// same script security, the same instances in the same order, each
// changed only in fields vrrp.Updatable accepts. The error names what
// needs a restart.
func updatableUnit(old, next vrrpUnit) error {
	switch {
	case old.Key != next.Key:
		return fmt.Errorf("%s became %s", old.Key, next.Key)
	case old.ScriptSecurity != next.ScriptSecurity:
		return errors.New("enable_script_security changed")
	case (old.Group == nil) != (next.Group == nil),
		old.Group != nil && (old.Group.Name != next.Group.Name || !slices.Equal(old.Group.Members, next.Group.Members)):
		return errors.New("sync group members changed")
	case len(old.Instances) != len(next.Instances):
		return errors.New("instances added or removed")
	}
	for i := range old.Instances {
		if old.Instances[i].Name != next.Instances[i].Name {
			return fmt.Errorf("instance %s became %s", old.Instances[i].Name, next.Instances[i].Name)
		}
		if err := vrrp.Updatable(old.Instances[i], next.Instances[i]); err != nil {
			return err
		}
	}
	return nil
}

// updateUnit hands a running unit its instances' new configurations (cfgs,
// in the unit's order) through vrrp's Instance.Update.
func (r *Router) updateUnit(u vrrpUnit, cfgs []vrrp.Config) error {
	ru, ok := r.units[u.Key]
	if !ok {
		return fmt.Errorf("%s is not running", u.Key)
	}
	byName := map[string]*vrrp.Instance{}
	for _, in := range ru.vr.Instances() {
		byName[in.Name()] = in
	}
	for _, c := range cfgs {
		in, ok := byName[c.Name]
		if !ok {
			return fmt.Errorf("instance %s is not running", c.Name)
		}
		if err := in.Update(c); err != nil {
			return fmt.Errorf("vrrp_instance %s: %w", c.Name, err)
		}
	}
	ru.unit = u
	r.ops.updateUnit(u)
	r.log.Info("vrrp: updated in place", "unit", u.Key.String())
	return nil
}

func (r *Router) onVRRP(name string, t vrrp.Transition) {
	r.log.Info("vrrp", "instance", name, "from", t.From, "to", t.To)
	r.ops.transition(r.log, name, t)
	r.mu.Lock()
	m := r.mail
	r.mu.Unlock()
	m.vrrpState(false, name, stateName(t))
	r.syncFollow(name, t)
}

// onPriority is the instances' OnPriority with notify_priority_changes.
func (r *Router) onPriority(name string, state vrrp.State, prio uint8) {
	r.log.Info(fmt.Sprintf("(%s) Changing effective priority to %d", name, prio))
	r.ops.priority(name, state, prio)
}

// runUnit runs a prepared unit until it is stopped.
func (r *Router) runUnit(ctx context.Context, u vrrpUnit, vr *vrrp.Router) {
	vctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() {
		if u.DynamicInterfaces && !r.waitInterfaces(vctx, u) { // dynif.go
			done <- nil
			return
		}
		err := vr.Run(vctx)
		if err != nil {
			// Logged when it happens: a unit that cannot start (no
			// permission, an interface gone since the check) must not
			// fail silently.
			r.log.Error("vrrp", "unit", u.Key.String(), "err", err)
		}
		done <- err
	}()
	r.units[u.Key] = &runningUnit{unit: u, vr: vr, stop: cancel, done: done}
	r.ops.addUnit(u, vr)
}

// stopUnit stops one unit: its masters resign with priority 0 and remove
// their addresses.
func (r *Router) stopUnit(k unitKey) {
	ru, ok := r.units[k]
	if !ok {
		return
	}
	ru.stop()
	<-ru.done
	delete(r.units, k)
	r.ops.removeUnit(ru.unit)
}

// checkSync is what a load changes in the Monitor: targets to add or
// update (ok: a target of that ID ran before) and IDs to remove.
type checkSync struct {
	change  []check.Target
	existed []bool
	// start, set by a start instead of change, stands for every check
	// target of that plan (BFD feeds apart), all of them new: they are
	// walked in the plan, not copied into change, which held 1.9 MB at
	// 40,000 targets from the plan through the kernel change.
	start         *Plan
	nStart        int
	removed       []string
	kept, updated int
}

// changes yields the targets to add or update, each with whether a
// target of its ID ran before.
func (cs *checkSync) changes() iter.Seq2[check.Target, bool] {
	return func(yield func(check.Target, bool) bool) {
		if cs.start != nil {
			for t := range planTargets(cs.start) {
				if !yield(t, false) {
					return
				}
			}
			return
		}
		for k, t := range cs.change {
			if !yield(t, cs.existed[k]) {
				return
			}
		}
	}
}

// nChanges is the number of targets changes yields.
func (cs *checkSync) nChanges() int {
	if cs.start != nil {
		return cs.nStart
	}
	return len(cs.change)
}

// planChecks compares the check targets of old and p: unchanged targets
// keep their state; new and changed ones get their initial state in
// r.down (down with alpha) and lose any dynamic weight, so that the apply
// that follows sees them as the Monitor will. runChecks then tells the
// Monitor, after the kernel has the new state.
//
// A reload usually lists the same targets in the same order: they are
// compared position by position, and a map of the old targets is built
// only from the first position that differs. When the reload names the
// services it changed (changed, not nil: p has old's layout and differs
// from it only there), only those are compared.
func (r *Router) planChecks(old, p *Plan, changed []int) *checkSync {
	cs := &checkSync{}
	if changed != nil {
		n, ok := r.nTargets, true
		for _, i := range changed {
			for _, rs := range old.Services[i].Reals {
				for _, t := range rs.Checks {
					if !isBFDCheck(t) {
						n--
					}
				}
			}
			if ok = sameServiceChecks(&old.Services[i], &p.Services[i], cs); !ok {
				break
			}
		}
		if ok {
			cs.kept += n
			r.noteChecks(cs)
			return cs
		}
		*cs = checkSync{}
	}
	if old != nil && sameLayout(old, p) && samePositions(old, p, cs) {
		r.noteChecks(cs)
		return cs
	}
	*cs = checkSync{}
	if old == nil {
		// A start: every target is new.
		cs.start = p
		for range planTargets(p) {
			cs.nStart++
		}
		r.noteChecks(cs)
		return cs
	}
	next := targets(p)
	prevList := targets(old)
	i := 0
	for ; i < len(next) && i < len(prevList) && next[i].ID == prevList[i].ID; i++ {
		if sameTarget(prevList[i], next[i]) {
			cs.kept++
			continue
		}
		cs.change, cs.existed = append(cs.change, next[i]), append(cs.existed, true)
	}
	if i < len(next) || i < len(prevList) {
		prev := make(map[string]check.Target, len(prevList)-i)
		for _, t := range prevList[i:] {
			prev[t.ID] = t
		}
		for _, t := range next[i:] {
			o, ok := prev[t.ID]
			delete(prev, t.ID)
			if ok && sameTarget(o, t) {
				cs.kept++
				continue
			}
			cs.change, cs.existed = append(cs.change, t), append(cs.existed, ok)
		}
		for id := range prev {
			cs.removed = append(cs.removed, id)
		}
	}
	r.noteChecks(cs)
	return cs
}

// samePositions compares the check targets of two plans of the same
// layout (sameLayout) position by position, without listing them, and
// records the changed ones in cs. It reports false, leaving cs partly
// filled, when a position holds another target ID: then the targets moved.
func samePositions(old, p *Plan, cs *checkSync) bool {
	for i := range p.Services {
		if !sameServiceChecks(&old.Services[i], &p.Services[i], cs) {
			return false
		}
	}
	return true
}

// sameServiceChecks is samePositions for one service of the same layout
// in both plans (sameServiceLayout).
func sameServiceChecks(old, vs *VirtualService, cs *checkSync) bool {
	for j := range vs.Reals {
		a, b := old.Reals[j].Checks, vs.Reals[j].Checks
		if len(a) != len(b) {
			return false
		}
		for k := range b {
			if a[k].ID != b[k].ID || isBFDCheck(a[k]) != isBFDCheck(b[k]) {
				return false
			}
			if isBFDCheck(b[k]) {
				continue
			}
			if sameTarget(a[k], b[k]) {
				cs.kept++
				continue
			}
			cs.change, cs.existed = append(cs.change, b[k]), append(cs.existed, true)
		}
	}
	return true
}

// noteChecks gives new and changed targets their initial state in r.down
// and drops their dynamic weights, and forgets removed ones. It also
// records the number of targets of the plan loaded (planChecks' next
// comparison starts from it).
func (r *Router) noteChecks(cs *checkSync) {
	r.nTargets = cs.kept + cs.nChanges()
	r.mu.Lock()
	// The initial state of each keepalived policy, asked once: the
	// targets of a configuration share a few (policyBoxes), and asking
	// makes a machine (40,000 of them at a start).
	initial := map[check.Keepalived]bool{}
	for t, existed := range cs.changes() {
		r.touch(t.ID)
		delete(r.weight, t.ID)
		if existed {
			cs.updated++
			continue
		}
		// A new target is in its policy's initial state (down with
		// alpha) until its first transition.
		down := false
		switch pol := t.Policy.(type) {
		case nil:
		case check.Keepalived:
			up, ok := initial[pol]
			if !ok {
				up = pol.NewMachine().Up()
				initial[pol] = up
			}
			down = !up
		default:
			down = !pol.NewMachine().Up()
		}
		r.setDown(t.ID, down)
	}
	for _, id := range cs.removed {
		r.touch(id)
		delete(r.down, id)
		delete(r.weight, id)
	}
	r.mu.Unlock()
}

// setDown records whether check target id is down. Only down targets
// have an entry: at 40,000 targets, most of them up, a map of every
// target held 2.6 MB for as long as the router ran. r.mu is held.
func (r *Router) setDown(id string, down bool) {
	if down {
		r.down[id] = true
	} else {
		delete(r.down, id)
	}
}

// syncChecks is planChecks then runChecks, for callers without an apply
// between them.
func (r *Router) syncChecks(old, p *Plan) { r.runChecks(r.planChecks(old, p, nil)) }

// runChecks adds new check targets, removes dropped ones and replaces
// changed ones in the Monitor; unchanged targets keep running untouched.
func (r *Router) runChecks(cs *checkSync) {
	// The Monitor's tables are sized once for the new targets (a start
	// adds 40,000), not grown as they come.
	r.mon.Grow(cs.nChanges() - cs.updated)
	for t, existed := range cs.changes() {
		var err error
		if existed {
			// Update restarts the policy and reports a transition if
			// its initial state differs from the current one.
			err = r.mon.Update(t)
		} else {
			err = r.mon.Add(t)
		}
		if err != nil {
			r.log.Error("check", "target", t.ID, "err", err)
		}
	}
	for _, id := range cs.removed {
		r.mon.Remove(id)
	}
	r.log.Info("checks", "kept", cs.kept, "updated", cs.updated, "added", cs.nChanges()-cs.updated, "removed", len(cs.removed))
}

// targets lists the plan's check targets (BFD feeds apart) in plan order.
func targets(p *Plan) []check.Target {
	_, n := countChecks(p)
	ts := make([]check.Target, 0, n)
	for t := range planTargets(p) {
		ts = append(ts, t)
	}
	return ts
}

// planTargets yields the plan's check targets (BFD feeds apart) in plan
// order, as targets lists them.
func planTargets(p *Plan) iter.Seq[check.Target] {
	return func(yield func(check.Target) bool) {
		for i := range p.Services {
			for _, rs := range p.Services[i].Reals {
				for _, t := range rs.Checks {
					if !isBFDCheck(t) && !yield(t) {
						return
					}
				}
			}
		}
	}
}

// desired computes the IPVS services from the plan and the health state,
// as keepalived's checker does: a real server is alive when all its checks
// are up; a dead one leaves the service, or stays with weight 0 when
// inhibited; a service whose alive weight falls below its quorum (with
// hysteresis) loses its real servers to the sorry server, if it has one.
// Changes of a real server's or service's state queue its notify or quorum
// scripts in r.events.
func (r *Router) desired() []ipvs.Service {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.desiredLocked()
}

// desiredLocked is desired with r.mu held. It computes every service,
// so nothing is left dirty.
func (r *Router) desiredLocked() []ipvs.Service {
	r.desiredBegin()
	out := make([]ipvs.Service, 0, len(r.plan.Services))
	// The services' destinations are cut from arrays of desiredChunk
	// destinations (or one service's, if more), so that an apply at
	// 10,000 services costs 80 allocations, not 10,000, none of them
	// large: a 6.4 MB array needs fresh pages where the start's read left
	// its freed memory in pieces. Each slice is capped at its own length,
	// so that a sorry server appended moves it out rather than overwrite
	// the next service's.
	var all []ipvs.Destination
	k := 0 // the real server's position in the plan
	for i := range r.plan.Services {
		n := len(r.plan.Services[i].Reals)
		size := desiredChunk
		if desiredChunk <= 0 {
			size = len(r.reported.reals) - k
		}
		out = append(out, r.desiredService(i, k, window(&all, n, size))) // plan.go
		k += n
	}
	return out
}

// desiredBegin readies a full recompute of the plan's services: nothing
// is left dirty, and the per-position report state is sized for the plan.
// r.mu is held.
func (r *Router) desiredBegin() {
	r.dirty = dirtySet{}
	if len(r.reported.services) != len(r.plan.Services) {
		n, _ := countChecks(r.plan)
		r.reported = reported{reals: make([]uint8, n), services: make([]uint8, len(r.plan.Services))}
	}
	if r.reported.plan != r.plan || len(r.reported.start) != len(r.plan.Services) {
		r.reported.start = make([]int32, len(r.plan.Services))
		k := 0
		for i := range r.plan.Services {
			r.reported.start[i] = int32(k)
			k += len(r.plan.Services[i].Reals)
		}
		r.reported.plan = r.plan
	}
	if len(r.quorum) != len(r.plan.Services) {
		r.quorum = make([]uint8, len(r.plan.Services))
	}
}

// desiredChunk is how many destinations desiredLocked allocates at once
// (80 KiB); 0: all of them in one array. A variable for the VM
// benchmark's A/B runs.
var desiredChunk = 512

// desiredService computes service i of the plan, whose first real server
// is the k-th of the plan, into dests (empty, with room for its real
// servers), and queues and reports its changes as desired does. r.mu is
// held.
func (r *Router) desiredService(i, k int, dests []ipvs.Destination) ipvs.Service {
	vs := &r.plan.Services[i]
	s := vs.Service.Service()
	s.Destinations = dests
	sum := 0
	// the real servers' changes, reported together after the loop
	var buf [8]realChange
	changes := buf[:0]
	report := !r.opsLater
	k0 := k
	for j := range vs.Reals {
		rs := &vs.Reals[j]
		d, up := rs.Dest.Destination(), true
		for _, c := range rs.Checks {
			if r.down[c.ID] {
				up = false
			}
			if w, ok := r.weight[c.ID]; ok {
				d.Weight = w
			}
		}
		if st := upState(up); r.reported.reals[k] != st {
			if report {
				changes = append(changes, realChange{int32(j), up})
			}
			r.reported.reals[k] = st
		}
		k++
		if rs.Notify != nil {
			id := realKey{s.Key(), rs.Dest.Addr}
			if was, seen := r.alive[id]; seen && was != up {
				r.events = append(r.events, pick(up, rs.Notify.Up, rs.Notify.Down))
			}
			r.alive[id] = up
		}
		switch {
		case up:
			sum += d.Weight
			s.Destinations = append(s.Destinations, d)
		case rs.Inhibit:
			d.Weight = 0
			s.Destinations = append(s.Destinations, d)
		}
	}
	key := s.Key()
	if len(changes) > 0 {
		r.ops.realStates(r.plan, i, k0, changes)
	}
	was, seen := stateAt(r.quorum, i)
	was = was || !seen // keepalived starts a service with quorum
	up := quorumState(was, sum, vs.Quorum, vs.Hysteresis)
	if seen && was != up {
		r.events = append(r.events, pick(up, vs.QuorumUp(), vs.QuorumDown()))
		r.mail.quorumMail(key, false, up, vs.Quorum, vs.Hysteresis, sum) // plan_kw3.go
	} else if !seen && !up && vs.Sorry != nil {
		// keepalived mails a start without quorum when the sorry
		// server goes in.
		r.mail.quorumMail(key, true, up, vs.Quorum, vs.Hysteresis, sum)
	}
	r.quorum[i] = upState(up)
	if st := upState(up); r.reported.services[i] != st {
		if report {
			r.ops.serviceState(r.plan, i, up)
		}
		r.reported.services[i] = st
	}
	if !up && vs.Sorry != nil {
		s.Destinations = quorumLost(s.Destinations, vs)
	} else if vs.SorryInhibit {
		s.Destinations = withInhibitedSorry(s.Destinations, *vs.Sorry)
	}
	return s
}

// reportOps makes the report to opsState that desired left for after the
// kernel change (opsLater): every real server's and service's state as
// desired last computed it, in plan order.
func (r *Router) reportOps() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.opsLater {
		return
	}
	r.opsLater = false
	if r.reported.plan != r.plan || len(r.reported.services) != len(r.plan.Services) {
		// not the plan desired reported for: the next desired reports
		// all of it again
		r.reported = reported{}
		return
	}
	var buf [8]realChange
	for i := range r.plan.Services {
		changes := buf[:0]
		k := int(r.reported.start[i])
		for j := range r.plan.Services[i].Reals {
			if up, seen := stateAt(r.reported.reals, k+j); seen {
				changes = append(changes, realChange{int32(j), up})
			}
		}
		if len(changes) > 0 {
			r.ops.realStates(r.plan, i, k, changes)
		}
		if up, seen := stateAt(r.reported.services, i); seen {
			r.ops.serviceState(r.plan, i, up)
		}
	}
}

// quorumState is keepalived's quorum with hysteresis: a service with
// quorum keeps it until the alive weight drops below quorum-hysteresis
// (or to zero); one without regains it at quorum+hysteresis.
func quorumState(up bool, weight, quorum, hysteresis int) bool {
	if up {
		return weight > 0 && weight >= quorum-hysteresis
	}
	return weight > 0 && weight >= quorum+hysteresis
}

func pick(up bool, ifUp, ifDown []string) []string {
	if up {
		return ifUp
	}
	return ifDown
}

// runEvents hands the scripts desired queued to the script worker, which
// runs them one after the other in the order of the changes, across
// batches too, as keepalived's checker does: a real server's notify_up or
// notify_down before the quorum_up or quorum_down its change causes. It
// waits for the queue to drain when wait is set.
func (r *Router) runEvents(wait bool) {
	r.mu.Lock()
	events := r.events
	r.events = nil
	r.mu.Unlock()
	r.sq.mu.Lock()
	defer r.sq.mu.Unlock()
	r.sq.queue = append(r.sq.queue, events...)
	if len(r.sq.queue) > 0 && !r.sq.busy {
		r.sq.busy = true
		go r.scriptWorker()
	}
	for wait && r.sq.busy {
		r.sq.idle.Wait()
	}
}

// scriptWorker runs queued scripts until the queue is empty.
func (r *Router) scriptWorker() {
	r.sq.mu.Lock()
	defer r.sq.mu.Unlock()
	for len(r.sq.queue) > 0 {
		argv := r.sq.queue[0]
		r.sq.queue = r.sq.queue[1:]
		r.sq.mu.Unlock()
		r.script(argv)
		r.sq.mu.Lock()
	}
	r.sq.busy = false
	r.sq.idle.Broadcast()
}

// apply makes the kernel match the plan and health state through an
// Applier that remembers what it last applied, so a health change or a
// reload costs the operations it needs and no dump. Services that this
// router never managed are left alone; ones it managed and no longer wants
// are deleted. When it knows which services changed since the last apply
// (a health change, a reload of one block), it recomputes and diffs only
// those (reload_inc_apply.go).
func (r *Router) apply(ctx context.Context) error {
	t0 := time.Now()
	// A first report to opsState changes nothing anyone sees yet (no
	// FIFO line: no state was reported before), and at 40,000 real
	// servers it is 50,000 updates under 10,000 holds of opsState's
	// lock: it is made once the kernel has
	// the destinations (reportOps, at the end of apply: after the log
	// line that times the kernel change).
	later := r.ops.noReals()
	r.mu.Lock()
	r.opsLater = later
	r.mu.Unlock()
	defer r.reportOps()
	if done, err := r.applyStreamed(ctx, t0); done {
		return err
	}
	want, full := r.desiredChanged()
	if !full && r.applier == nil {
		// Nothing applied yet: everything goes.
		want, full = r.desired(), true
	}
	t1 := time.Now()
	r.phaseEnd("desired")
	traceMark("desired")
	u1, s1 := cpuTimes()
	r.runEvents(false)
	// BGP withdraws go out before the IPVS change, announcements after
	// it succeeded (bgp_router.go).
	r.mu.Lock()
	bgpWant := r.bgpWant()
	r.mu.Unlock()
	r.bgpBefore(ctx, bgpWant)
	if r.applier == nil {
		if len(want) == 0 && r.managed.none(r.plan) {
			r.bgpAfter(ctx, bgpWant)
			return nil
		}
		c, err := ipvs.Dial(ctx, nil)
		if err != nil {
			return fmt.Errorf("ipvs: %w", err)
		}
		r.ipvs, r.applier = c, ipvs.NewApplier(c)
	}
	// The plan's services are managed from the apply that wants them
	// on; the kernel's services the plan does not want are managed when
	// an earlier plan had them.
	r.managed.plan = true
	maglevOrder(want)
	traceMark("sending")
	cfg := &ipvs.ApplyConfig{Managed: r.managed.beyond, MaglevOrder: true, Stream: true}
	var ch ipvs.Changes
	var err error
	if full {
		ch, err = r.applier.Apply(ctx, want, cfg)
	} else {
		ch, err = r.applier.ApplyServices(ctx, want, cfg)
	}
	if err != nil {
		return r.applyFailed(err)
	}
	r.phaseEnd("kernel applied")
	traceMark("acked")
	r.logChanges(ch, t1.Sub(t0), time.Since(t1), u1, s1)
	if full {
		// every service managed and not wanted is deleted
		r.managed.gone = nil
	}
	r.bgpAfter(ctx, bgpWant)
	return nil
}

// coalesce is how long Run lets check transitions gather before one
// Apply; applyRetry is how soon a failed Apply is tried again.
const (
	coalesce   = 10 * time.Millisecond
	applyRetry = time.Second
)

// Run applies health changes until ctx ends, then stops VRRP and the
// checks, and removes the IPVS services it manages unless KeepIPVS is
// set, as keepalived does. Reload installs a new plan meanwhile, from
// another goroutine; one that fails leaves the running configuration as
// it was.
func (r *Router) Run(ctx context.Context) error {
	defer func() {
		r.loop.Lock()
		defer r.loop.Unlock()
		r.loop.stopped = true
		r.close()
	}()
	// The checks run until close closes the Monitor.
	go func() {
		err := r.mon.Run(context.WithoutCancel(ctx))
		if ctx.Err() == nil {
			r.checkersStopped(err)
		}
	}()
	// due fires when an apply is owed: coalesce after the first of a
	// burst of transitions, or applyRetry after a failed apply. Nil while
	// none is owed; the loop never sleeps, so a reload or ctx's end is
	// handled at once.
	var due <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.retry:
			due = time.After(applyRetry)
		case <-r.kick:
			if due == nil {
				due = time.After(coalesce)
			}
		case <-due:
			due = nil
			r.loop.Lock()
			err := r.apply(ctx)
			r.loop.Unlock()
			if err != nil {
				// The Applier re-reads the kernel next time; try again
				// shortly rather than wait for the next transition.
				r.log.Error("apply", "err", err)
				due = time.After(applyRetry)
			}
		}
	}
}

// errStopped is Reload's error once Run has stopped.
var errStopped = errors.New("lvsrouter: the router has stopped")

// Reload installs p with Load while Run runs, on the calling goroutine:
// serve's reload goroutine, boosted from the signal
// (reload_inc_boost.go), makes the kernel change itself instead of
// waiting for Run's goroutine to be scheduled (up to 15 ms on a busy
// one-CPU guest, 2026-12-07). It waits for Run's work in progress (a
// health apply) and never runs beside it; after Run has stopped it
// changes nothing and returns errStopped. Its other errors are logged;
// a plan installed whose kernel change failed (someone changed the
// kernel by hand) is applied again by Run after applyRetry.
func (r *Router) Reload(ctx context.Context, p *Plan) error {
	r.loop.Lock()
	defer r.loop.Unlock()
	traceMark("locked")
	defer endTrace(r.log) // reload_trace.go
	if r.loop.stopped {
		return errStopped
	}
	t0 := time.Now()
	err := r.Load(ctx, p)
	switch {
	case err != nil && r.plan == p:
		// The Applier reads the kernel again on the retry.
		r.log.Error("reload: apply failed; retrying", "err", err)
		select {
		case r.retry <- struct{}{}:
		default:
		}
	case err != nil:
		r.log.Error("reload rejected; keeping the running configuration", "err", err)
	default:
		r.log.Info("reloaded", "took", time.Since(t0).Round(time.Microsecond))
	}
	return nil
}

func (r *Router) close() {
	// BGP withdraws first and waits for the upstream to move the flows,
	// before any VRRP address or IPVS state goes.
	r.drainBGP(context.Background())
	for _, k := range slices.Collect(maps.Keys(r.units)) {
		r.stopUnit(k)
	}
	r.closeBFD()
	r.syncStatic(r.plan, nil) // static.go
	r.closeHASuspend()
	// Omega targets report a final down as the Monitor closes; their
	// notify_down and quorum_down scripts run before we exit, as with
	// keepalived's omega.
	r.mail.shutdownMails() // plan_kw3.go: omega's "Shutting down"
	r.mon.Close()
	if r.plan != nil {
		r.desired()
		r.runEvents(true)
	}
	r.mail.wait() // the STOP alerts
	r.closeLVS()
	if r.applier != nil && !r.KeepIPVS && !r.managed.none(r.plan) {
		// keepalived removes its IPVS topology on stop unless told not to.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ch, err := r.applier.Apply(ctx, nil, &ipvs.ApplyConfig{Managed: r.managed.all(r.plan)})
		cancel()
		if err != nil {
			r.log.Error("ipvs release", "err", err)
		} else {
			r.log.Info("ipvs released", "services", ch.Count(ipvs.OpDeleteService))
		}
	}
	if r.ipvs != nil {
		r.ipvs.Close()
	}
	r.closeBGP()
	// The FIFOs close last: the stop's own lines (instances leaving
	// MASTER, real servers going down) go through them.
	r.ops.mu.Lock()
	fifo := r.ops.fifo
	r.ops.mu.Unlock()
	fifo.close()
}
