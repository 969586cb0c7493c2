package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
	"github.com/lvskit/lvskit/vrrp"
)

// Router runs a Plan: VRRP instances, health checks, and the IPVS services
// they decide. A reload replaces the plan only when the new one translated
// without error; it keeps the health of unchanged checks, changes IPVS
// through a minimal Apply (never a flush), and restarts VRRP only when the
// VRRP part changed.
type Router struct {
	log     *slog.Logger
	ipvs    *ipvs.Client
	applier *ipvs.Applier
	mon     *check.Monitor
	// script runs notify and quorum scripts; tests replace it.
	script func(argv []string)
	// KeepIPVS leaves the IPVS services in place when the router stops
	// (keepalived's --dont-release-ipvs), for the next start to adopt
	// without re-creating them.
	KeepIPVS bool

	mu      sync.Mutex
	plan    *Plan
	down    map[string]bool // check target ID -> down
	weight  map[string]int  // dynamic weight reported by a check
	managed map[ipvs.ServiceKey]bool
	// alive and quorum remember, per real server and per service, the
	// state last applied, so that notify scripts run on changes only.
	alive  map[string]bool
	quorum map[ipvs.ServiceKey]bool
	events [][]string // scripts to run after the next apply
	kick   chan struct{}

	// units are the running VRRP routers, one per sync group or lone
	// instance, by unit name.
	units map[string]*runningUnit
}

// runningUnit is one VRRP unit with the router running it.
type runningUnit struct {
	unit vrrpUnit
	stop context.CancelFunc
	done chan error
}

// NewRouter returns a router for the current network namespace. It
// connects to IPVS when a plan first has virtual services, so a VRRP-only
// configuration (keepalived in front of HAProxy) runs where the kernel has
// no IPVS.
func NewRouter(ctx context.Context, log *slog.Logger) (*Router, error) {
	r := newRouter(log)
	r.mon = check.NewMonitor(check.MonitorConfig{OnTransition: r.onCheck})
	return r, nil
}

func newRouter(log *slog.Logger) *Router {
	r := &Router{
		log:  log,
		down: map[string]bool{}, weight: map[string]int{},
		managed: map[ipvs.ServiceKey]bool{},
		alive:   map[string]bool{}, quorum: map[ipvs.ServiceKey]bool{},
		units: map[string]*runningUnit{},
		kick:  make(chan struct{}, 1),
	}
	r.script = r.runScript
	return r
}

// runScript runs a notify or quorum script without a shell, as keepalived
// does, bounded by scriptTimeout, and waits for it.
func (r *Router) runScript(argv []string) {
	if len(argv) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		r.log.Warn("script", "argv", argv, "err", err, "output", string(out))
	}
}

// scriptTimeout bounds a notify or quorum script.
const scriptTimeout = 10 * time.Second

func (r *Router) onCheck(t check.Transition) {
	r.mu.Lock()
	if t.Kind == check.StateChange || t.Kind == 0 {
		r.down[t.ID] = !t.Up
	}
	if t.Result.Weight.Set && !t.Result.Weight.Percent {
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

// Load installs a plan (the first one, or a reload). VRRP units whose
// configuration did not change keep running untouched (a master stays
// master); changed ones restart; IPVS gets the minimal change.
func (r *Router) Load(ctx context.Context, p *Plan) error {
	r.mu.Lock()
	old := r.plan
	r.plan = p
	r.prune()
	r.mu.Unlock()
	r.syncChecks(old, p)
	if err := r.syncVRRP(ctx, p); err != nil {
		return err
	}
	return r.apply(ctx)
}

// prune forgets the notify state of services and real servers the plan no
// longer has. r.mu is held.
func (r *Router) prune() {
	keys := make(map[ipvs.ServiceKey]bool, len(r.plan.Services))
	ids := map[string]bool{}
	for i := range r.plan.Services {
		vs := &r.plan.Services[i]
		keys[vs.Service.Key()] = true
		for _, rs := range vs.Reals {
			ids[vs.Description+" -> "+rs.Dest.Addr.String()] = true
		}
	}
	for k := range r.quorum {
		if !keys[k] {
			delete(r.quorum, k)
		}
	}
	for id := range r.alive {
		if !ids[id] {
			delete(r.alive, id)
		}
	}
}

// vrrpUnit is what one vrrp.Router runs: a sync group with its member
// instances, or one instance on its own. Units restart independently on a
// reload.
type vrrpUnit struct {
	Name      string // "group NAME" or "instance NAME"
	Group     *SyncGroup
	Instances []vrrp.Config
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
		u := vrrpUnit{Name: "group " + g.Name, Group: g}
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
			out = append(out, vrrpUnit{Name: "instance " + c.Name, Instances: []vrrp.Config{c}})
		}
	}
	return out
}

// vrrpChanges decides what a reload does to VRRP: units whose
// configuration is identical keep running, the others (new or changed)
// start, and running units that are gone or changed stop first.
func vrrpChanges(running map[string]vrrpUnit, next []vrrpUnit) (keep, stop []string, start []vrrpUnit) {
	seen := map[string]bool{}
	for _, u := range next {
		seen[u.Name] = true
		if old, ok := running[u.Name]; ok {
			if reflect.DeepEqual(old, u) {
				keep = append(keep, u.Name)
				continue
			}
			stop = append(stop, u.Name)
		}
		start = append(start, u)
	}
	for name := range running {
		if !seen[name] {
			stop = append(stop, name)
		}
	}
	slices.Sort(stop)
	return keep, stop, start
}

func (r *Router) syncVRRP(ctx context.Context, p *Plan) error {
	running := make(map[string]vrrpUnit, len(r.units))
	for name, ru := range r.units {
		running[name] = ru.unit
	}
	keep, stop, start := vrrpChanges(running, units(p))
	for _, name := range stop {
		r.stopUnit(name)
	}
	if len(stop)+len(start) > 0 {
		r.log.Info("vrrp", "kept", len(keep), "stopped", len(stop), "started", len(start))
	}
	var errs []error
	for _, u := range start {
		if err := r.startUnit(ctx, u); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *Router) startUnit(ctx context.Context, u vrrpUnit) error {
	vr := vrrp.NewRouter(vrrp.RouterConfig{Logger: r.log})
	byName := map[string]*vrrp.Instance{}
	for _, c := range u.Instances {
		c.OnTransition = func(name string, t vrrp.Transition) {
			r.log.Info("vrrp", "instance", name, "from", t.From, "to", t.To)
		}
		in, err := vr.Add(c)
		if err != nil {
			return fmt.Errorf("vrrp_instance %s: %w", c.Name, err)
		}
		byName[c.Name] = in
	}
	if g := u.Group; g != nil {
		var members []*vrrp.Instance
		for _, m := range g.Members {
			in, ok := byName[m]
			if !ok {
				return fmt.Errorf("vrrp_sync_group %s: unknown instance %q", g.Name, m)
			}
			members = append(members, in)
		}
		if err := vr.SyncGroup(g.Name, members...); err != nil {
			return fmt.Errorf("vrrp_sync_group %s: %w", g.Name, err)
		}
	}
	vctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() {
		err := vr.Run(vctx)
		if err != nil {
			// Logged when it happens: a unit that cannot start (no such
			// interface, no permission) must not fail silently.
			r.log.Error("vrrp", "unit", u.Name, "err", err)
		}
		done <- err
	}()
	r.units[u.Name] = &runningUnit{unit: u, stop: cancel, done: done}
	return nil
}

// stopUnit stops one unit: its masters resign with priority 0 and remove
// their addresses.
func (r *Router) stopUnit(name string) {
	ru, ok := r.units[name]
	if !ok {
		return
	}
	ru.stop()
	<-ru.done
	delete(r.units, name)
}

// syncChecks adds new check targets, removes dropped ones and replaces
// changed ones; unchanged targets keep their state.
func (r *Router) syncChecks(old, p *Plan) {
	prev := map[string]check.Target{}
	if old != nil {
		for _, t := range targets(old) {
			prev[t.ID] = t
		}
	}
	var kept, updated, added int
	for _, t := range targets(p) {
		o, ok := prev[t.ID]
		delete(prev, t.ID)
		if ok && reflect.DeepEqual(o, t) {
			kept++
			continue
		}
		if ok {
			updated++
		} else {
			added++
		}
		var err error
		r.mu.Lock()
		delete(r.weight, t.ID)
		if !ok {
			// A new target is in its policy's initial state (down with
			// alpha) until its first transition.
			r.down[t.ID] = t.Policy != nil && !t.Policy.NewMachine().Up()
		}
		r.mu.Unlock()
		if ok {
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
	r.log.Info("checks", "kept", kept, "updated", updated, "added", added, "removed", len(prev))
	for id := range prev {
		r.mon.Remove(id)
		r.mu.Lock()
		delete(r.down, id)
		delete(r.weight, id)
		r.mu.Unlock()
	}
}

func targets(p *Plan) []check.Target {
	var ts []check.Target
	for _, vs := range p.Services {
		for _, rs := range vs.Reals {
			ts = append(ts, rs.Checks...)
		}
	}
	return ts
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
	out := make([]ipvs.Service, 0, len(r.plan.Services))
	for i := range r.plan.Services {
		vs := &r.plan.Services[i]
		s := vs.Service
		s.Destinations = make([]ipvs.Destination, 0, len(vs.Reals))
		sum := 0
		for j := range vs.Reals {
			rs := &vs.Reals[j]
			d, up := rs.Dest, true
			for _, c := range rs.Checks {
				if r.down[c.ID] {
					up = false
				}
				if w, ok := r.weight[c.ID]; ok {
					d.Weight = w
				}
			}
			if len(rs.NotifyUp)+len(rs.NotifyDown) > 0 {
				id := vs.Description + " -> " + rs.Dest.Addr.String()
				if was, seen := r.alive[id]; seen && was != up {
					r.events = append(r.events, pick(up, rs.NotifyUp, rs.NotifyDown))
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
		was, seen := r.quorum[key]
		if !seen {
			was = true // keepalived starts a service with quorum
		}
		up := quorumState(was, sum, vs.Quorum, vs.Hysteresis)
		if seen && was != up {
			r.events = append(r.events, pick(up, vs.QuorumUp, vs.QuorumDown))
		}
		r.quorum[key] = up
		if !up && vs.Sorry != nil {
			s.Destinations = append(s.Destinations[:0], *vs.Sorry)
		}
		out = append(out, s)
	}
	return out
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

// runEvents runs the scripts desired queued, one after the other in the
// order of the changes, in the background unless wait is set.
func (r *Router) runEvents(wait bool) {
	r.mu.Lock()
	events := r.events
	r.events = nil
	r.mu.Unlock()
	if len(events) == 0 {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, argv := range events {
			r.script(argv)
		}
	}()
	if wait {
		<-done
	}
}

// apply makes the kernel match the plan and health state through an
// Applier that remembers what it last applied, so a health change or a
// reload costs the operations it needs and no dump. Services that this
// router never managed are left alone; ones it managed and no longer wants
// are deleted.
func (r *Router) apply(ctx context.Context) error {
	want := r.desired()
	r.runEvents(false)
	if r.applier == nil {
		if len(want) == 0 && len(r.managed) == 0 {
			return nil
		}
		c, err := ipvs.Dial(ctx)
		if err != nil {
			return fmt.Errorf("ipvs: %w", err)
		}
		r.ipvs, r.applier = c, ipvs.NewApplier(c)
	}
	wanted := make(map[ipvs.ServiceKey]bool, len(want))
	for _, s := range want {
		k := s.Key()
		wanted[k] = true
		r.managed[k] = true
	}
	ch, err := r.applier.Apply(ctx, want, ipvs.Managed(func(k ipvs.ServiceKey) bool { return r.managed[k] }))
	if err != nil {
		return fmt.Errorf("ipvs apply: %w", err)
	}
	if ch.Len() > 0 {
		r.log.Info("ipvs", "changes", ch.Len(), "add-service", ch.Count(ipvs.OpNewService),
			"del-service", ch.Count(ipvs.OpDeleteService), "edit-service", ch.Count(ipvs.OpUpdateService),
			"add-server", ch.Count(ipvs.OpNewDestination), "del-server", ch.Count(ipvs.OpDeleteDestination),
			"edit-server", ch.Count(ipvs.OpUpdateDestination))
	}
	for k := range r.managed {
		if !wanted[k] {
			delete(r.managed, k)
		}
	}
	return nil
}

// Run applies health changes until ctx ends, then stops VRRP and the
// checks, and removes the IPVS services it manages unless KeepIPVS is
// set, as keepalived does.
func (r *Router) Run(ctx context.Context, reload <-chan *Plan) error {
	defer r.close()
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-reload:
			if err := r.Load(ctx, p); err != nil {
				r.log.Error("reload", "err", err)
			} else {
				r.log.Info("reloaded")
			}
		case <-r.kick:
			// Coalesce bursts of transitions into one Apply.
			time.Sleep(10 * time.Millisecond)
			if err := r.apply(ctx); err != nil {
				// The Applier re-reads the kernel next time; try again
				// shortly rather than wait for the next transition.
				r.log.Error("apply", "err", err)
				time.AfterFunc(time.Second, r.poke)
			}
		}
	}
}

func (r *Router) close() {
	names := make([]string, 0, len(r.units))
	for name := range r.units {
		names = append(names, name)
	}
	for _, name := range names {
		r.stopUnit(name)
	}
	// Omega targets report a final down as the Monitor closes; their
	// notify_down and quorum_down scripts run before we exit, as with
	// keepalived's omega.
	r.mon.Close()
	if r.plan != nil {
		r.desired()
		r.runEvents(true)
	}
	if r.applier != nil && !r.KeepIPVS && len(r.managed) > 0 {
		// keepalived removes its IPVS topology on stop unless told not to.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ch, err := r.applier.Apply(ctx, nil, ipvs.Managed(func(k ipvs.ServiceKey) bool { return r.managed[k] }))
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
}
