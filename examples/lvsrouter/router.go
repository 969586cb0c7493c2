package main

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
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
	log  *slog.Logger
	ipvs *ipvs.Client
	mon  *check.Monitor

	mu      sync.Mutex
	plan    *Plan
	down    map[string]bool // check target ID -> down
	weight  map[string]int  // dynamic weight reported by a check
	managed map[ipvs.ServiceKey]bool
	kick    chan struct{}

	vrrpStop context.CancelFunc
	vrrpDone chan error
	vrrp     *vrrp.Router
}

// NewRouter connects to IPVS in the current network namespace.
func NewRouter(ctx context.Context, log *slog.Logger) (*Router, error) {
	c, err := ipvs.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("ipvs: %w", err)
	}
	r := &Router{
		log: log, ipvs: c,
		down: map[string]bool{}, weight: map[string]int{},
		managed: map[ipvs.ServiceKey]bool{},
		kick:    make(chan struct{}, 1),
	}
	r.mon = check.NewMonitor(check.MonitorConfig{OnTransition: r.onCheck})
	return r, nil
}

func (r *Router) onCheck(t check.Transition) {
	r.mu.Lock()
	r.down[t.ID] = !t.Up
	if t.Result.Weight.Set && !t.Result.Weight.Percent {
		r.weight[t.ID] = t.Result.Weight.Value
	}
	r.mu.Unlock()
	r.log.Info("check", "target", t.ID, "up", t.Up, "reason", t.Reason)
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Load installs a plan (the first one, or a reload).
func (r *Router) Load(ctx context.Context, p *Plan) error {
	r.mu.Lock()
	old := r.plan
	r.plan = p
	r.mu.Unlock()
	r.syncChecks(old, p)
	if old == nil || !sameVRRP(old, p) {
		if err := r.restartVRRP(ctx, p); err != nil {
			return err
		}
	}
	return r.apply(ctx)
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
	for _, t := range targets(p) {
		o, ok := prev[t.ID]
		delete(prev, t.ID)
		if ok && reflect.DeepEqual(o, t) {
			continue
		}
		if ok {
			r.mon.Remove(t.ID)
		}
		if err := r.mon.Add(t); err != nil {
			r.log.Error("check", "target", t.ID, "err", err)
		}
	}
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

func sameVRRP(a, b *Plan) bool {
	return reflect.DeepEqual(a.Instances, b.Instances) && reflect.DeepEqual(a.SyncGroups, b.SyncGroups)
}

func (r *Router) restartVRRP(ctx context.Context, p *Plan) error {
	r.stopVRRP()
	if len(p.Instances) == 0 {
		return nil
	}
	vr := vrrp.NewRouter(vrrp.RouterConfig{Logger: r.log})
	byName := map[string]*vrrp.Instance{}
	for _, c := range p.Instances {
		c.OnTransition = func(name string, t vrrp.Transition) {
			r.log.Info("vrrp", "instance", name, "from", t.From, "to", t.To)
		}
		in, err := vr.Add(c)
		if err != nil {
			return fmt.Errorf("vrrp_instance %s: %w", c.Name, err)
		}
		byName[c.Name] = in
	}
	for _, g := range p.SyncGroups {
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
	go func() { done <- vr.Run(vctx) }()
	r.vrrp, r.vrrpStop, r.vrrpDone = vr, cancel, done
	return nil
}

// stopVRRP stops the instances: masters resign with priority 0 and remove
// their addresses.
func (r *Router) stopVRRP() {
	if r.vrrpStop == nil {
		return
	}
	r.vrrpStop()
	if err := <-r.vrrpDone; err != nil {
		r.log.Error("vrrp", "err", err)
	}
	r.vrrp, r.vrrpStop, r.vrrpDone = nil, nil, nil
}

// desired computes the IPVS services from the plan and the health state.
func (r *Router) desired() []ipvs.Service {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []ipvs.Service
	for _, vs := range r.plan.Services {
		s := vs.Service
		s.Destinations = nil
		alive := 0
		for _, rs := range vs.Reals {
			d, up := rs.Dest, true
			for _, c := range rs.Checks {
				if r.down[c.ID] {
					up = false
				}
				if w, ok := r.weight[c.ID]; ok {
					d.Weight = w
				}
			}
			switch {
			case up:
				alive++
				s.Destinations = append(s.Destinations, d)
			case rs.Inhibit:
				d.Weight = 0
				s.Destinations = append(s.Destinations, d)
			}
		}
		if alive == 0 && vs.Sorry != nil {
			s.Destinations = []ipvs.Destination{*vs.Sorry}
		}
		out = append(out, s)
	}
	return out
}

// apply makes the kernel match the plan and health state. Services that
// this router never managed are left alone; ones it managed and no longer
// wants are deleted.
func (r *Router) apply(ctx context.Context) error {
	want := r.desired()
	r.mu.Lock()
	for _, s := range want {
		r.managed[s.Key()] = true
	}
	managed := make(map[ipvs.ServiceKey]bool, len(r.managed))
	for k, v := range r.managed {
		managed[k] = v
	}
	r.mu.Unlock()
	ch, err := r.ipvs.Apply(ctx, want, ipvs.Managed(func(k ipvs.ServiceKey) bool { return managed[k] }))
	if err != nil {
		return fmt.Errorf("ipvs apply: %w", err)
	}
	if ch.Len() > 0 {
		r.log.Info("ipvs", "changes", ch.Len())
	}
	r.mu.Lock()
	for k := range r.managed {
		found := false
		for _, s := range want {
			if s.Key() == k {
				found = true
				break
			}
		}
		if !found {
			delete(r.managed, k)
		}
	}
	r.mu.Unlock()
	return nil
}

// Run applies health changes until ctx ends, then stops VRRP and the
// checks. The IPVS services stay, as keepalived leaves them for a restart
// to pick up without dropping connections.
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
				r.log.Error("apply", "err", err)
			}
		}
	}
}

func (r *Router) close() {
	r.stopVRRP()
	r.mon.Close()
	r.ipvs.Close()
}
