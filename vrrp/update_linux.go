package vrrp

import (
	"fmt"
	"time"
)

// Update applies cfg to the instance without restarting it: priority,
// advert interval, preemption, VIPs, virtual routes and rules, gratuitous
// ARP pacing, tracked interfaces, scripts, files and external objects, and
// notify scripts. The instance keeps its state: a master stays master and
// advertises its new priority at once, so that it loses the election only
// when the new priority makes a peer preempt it through the normal
// protocol. A master adds only the VIPs, routes and rules that are new and
// removes only those gone; a VIP in both configurations never leaves the
// interface. Trackers restart when what is tracked changed (their last
// states count until the new ones report).
//
// cfg is validated as Router.Add would. A field that cannot change in
// place (see Updatable) makes Update return an error wrapping
// ErrNotUpdatable that names it, and nothing changes. Before Run, Update
// replaces the configuration Run will use. Update is safe to call from any
// goroutine; it returns ErrClosed after Close, and an error wrapping
// ErrRunning while Run is starting up or shutting down.
func (in *Instance) Update(cfg Config) error {
	r := in.r
	r.upd.Lock()
	defer r.upd.Unlock()
	r.life.Lock()
	closed, running := r.closed, r.running.Load()
	r.life.Unlock()
	if closed {
		return ErrClosed
	}
	have := make([]*Config, 0, len(r.instances))
	for _, o := range r.instances {
		if o != in {
			have = append(have, &o.want)
		}
	}
	creds, err := admit(&cfg, have)
	if err != nil {
		return err
	}
	if err := updatable(&in.want, &cfg); err != nil {
		return err
	}
	if !running {
		in.cfg, in.want, in.creds = cfg, cfg, creds
		return nil
	}
	if !r.live {
		return fmt.Errorf("vrrp: instance %s: update while the router starts or stops: %w", in.cfg.Name, ErrRunning)
	}
	old := in.want
	retrack := trackChanged(&old, &cfg)

	r.lock()
	now := time.Now()
	in.cfg.Priority, in.cfg.Interval = cfg.Priority, cfg.Interval
	in.cfg.NoPreempt, in.cfg.PreemptDelay = cfg.NoPreempt, cfg.PreemptDelay
	in.cfg.TrackInterfaces, in.cfg.TrackScripts = cfg.TrackInterfaces, cfg.TrackScripts
	in.cfg.TrackFiles, in.cfg.TrackExternal = cfg.TrackFiles, cfg.TrackExternal
	in.expect.Interval = cfg.Interval
	in.expect.Addrs = in.expect.Addrs[:0:0]
	in.pkt.Interval, in.pkt.Addrs = cfg.Interval, nil
	for _, v := range cfg.VIPs {
		in.expect.Addrs = append(in.expect.Addrs, v.Prefix.Addr())
		in.pkt.Addrs = append(in.pkt.Addrs, v.Prefix.Addr())
	}
	in.advPrio = -1 // rebuild the advert: addresses or interval changed
	var gen uint64
	if retrack {
		in.trackGen++
		gen = in.trackGen
		keep := trackKeys(&cfg)
		for k := range in.track {
			if !keep[k] {
				delete(in.track, k)
			}
		}
	}
	p, _ := in.tracked()
	err = in.m.Reconfigure(now, Election{Version: cfg.Version, Priority: cfg.Priority, Interval: cfg.Interval,
		NoPreempt: cfg.NoPreempt, PreemptDelay: cfg.PreemptDelay,
		LowerPrioNoAdvert: cfg.LowerPrioNoAdvert, HigherPrioSendAdvert: cfg.HigherPrioSendAdvert,
		DownTimerAdverts: cfg.DownTimerAdverts}, p)
	if err == nil {
		in.applyTracking(now) // faults from trackers now gone clear
		next := cfg
		in.acts.push(action{upd: &update{cfg: &next, creds: creds}})
		in.resched()
	}
	r.unlock()
	if err != nil { // updatable has ruled these out
		return fmt.Errorf("vrrp: instance %s: %w", in.cfg.Name, err)
	}
	in.want = cfg
	in.r.log.Info("vrrp: updated", "instance", cfg.Name, "priority", cfg.Priority, "interval", cfg.Interval,
		"vips", len(cfg.VIPs), "trackers restarted", retrack)
	if retrack {
		in.creds.track = creds.track
		if in.trackStop != nil {
			in.trackStop()
		}
		in.trackStop = in.startTrackers(r.runCtx, r.runWG, &cfg, creds.track, gen)
	}
	return nil
}

// applyUpdate is Update's side on the action goroutine: a master moves
// only what differs between its addresses, routes and rules and the new
// ones; then the new configuration's VIPs, Routes, Rules, GARP, Notify and
// OnTransition apply to what follows.
func (in *Instance) applyUpdate(u *update) {
	old, next := in.acfg, u.cfg
	if in.holding {
		in.routes(false, diff(old.Routes, next.Routes), diff(old.Rules, next.Rules))
		in.delAddrs(diff(old.VIPs, next.VIPs))
		in.delAddrs(diff(old.ExcludedVIPs, next.ExcludedVIPs))
		added := diff(next.VIPs, old.VIPs)
		in.addAddrs(added)
		addedEx := diff(next.ExcludedVIPs, old.ExcludedVIPs)
		in.addAddrs(addedEx)
		added = append(added, addedEx...)
		in.routes(true, diff(next.Routes, old.Routes), diff(next.Rules, old.Rules))
		in.acfg = next
		if len(added) > 0 && !next.GARP.Disabled {
			in.announce()
		}
	}
	in.acfg = next
	in.creds.notify = u.creds.notify
	if in.notifyQ == nil && hasNotify(&next.Notify) {
		in.notifyQ = make(chan notifyJob, 64)
		in.nwg.Go(in.notifyWorker)
	}
}
