package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/keepalivedconf"
	"github.com/lvskit/lvskit/vrrp"
)

// BFDSession is one bfd_instance: a BFD session and who hears of it.
type BFDSession struct {
	Name   string
	Config check.BFDSessionConfig
	// VRRP and Checker say whether track_bfd and BFD_CHECK may use the
	// session (keepalived's vrrp and checker keywords; neither: both).
	VRRP, Checker bool
}

// bfdCheck is a BFD_CHECK: the real server is down while the session
// named Name is down. It is driven by the session's events, not polled,
// so the router keeps it out of the Monitor.
type bfdCheck struct {
	Name string
	pos  keepalivedconf.Position
}

// Check is never called by the router; it reports that the check is
// event-driven.
func (b bfdCheck) Check(context.Context) check.Result {
	return check.Result{Reason: "BFD_CHECK " + b.Name + " follows its BFD session's events"}
}

// bfdPlan reads the bfd_instance blocks into p.BFD, each vrrp_instance's
// track_bfd into its TrackExternal, and checks that every track_bfd and
// BFD_CHECK names a bfd_instance that may serve it, as keepalived does.
func bfdPlan(cfg *keepalivedconf.Config, p *Plan) error {
	bs, warns, err := cfg.BFDInstances()
	errs := splitWarnings(p, warns, err)
	byName := map[string]*keepalivedconf.BFDInstance{}
	for _, b := range bs {
		byName[b.Name] = b
		c := check.BFDSessionConfig{
			Peer: b.NeighborIP, Local: b.SourceIP,
			DesiredMinTx: b.MinTx, RequiredMinRx: b.MinRx, IdleTx: b.IdleTx,
			DetectMult: uint8(b.Multiplier), Passive: b.Passive, TTL: b.TTL,
		}
		if b.NeighborIP.Is6() {
			c.TTL = b.HopLimit
		}
		// keepalived discards a packet whose TTL plus max_hops is below
		// the TTL it sends with; max_hops 255 (or -1) turns the check off.
		c.MinTTL = max(1, c.TTL-b.MaxHops)
		if b.MaxHops < 0 || b.MaxHops >= 255 {
			c.MinTTL = 1
		}
		p.BFD = append(p.BFD, BFDSession{Name: b.Name, Config: c, VRRP: b.VRRP || !b.Checker, Checker: b.Checker || !b.VRRP})
	}
	seen := map[[2]netip.Addr]bool{}
	for _, s := range p.BFD {
		k := [2]netip.Addr{s.Config.Peer, s.Config.Local}
		if seen[k] {
			errs = append(errs, errAt(byName[s.Name].Stmt, "bfd_instance %s: another bfd_instance already runs to %s from the same source", s.Name, s.Config.Peer))
		}
		seen[k] = true
	}
	instances := instancesByName(cfg)
	for i := range p.Instances {
		c := &p.Instances[i]
		in := instances[c.Name]
		if in == nil {
			continue
		}
		ts, warns, err := in.TrackBFD()
		errs = append(errs, splitWarnings(p, warns, err)...)
		for _, t := range ts {
			b, ok := byName[t.Name]
			switch {
			case !ok:
				errs = append(errs, errAt(t.Stmt, "vrrp_instance %s: track_bfd %s: no such bfd_instance", c.Name, t.Name))
				continue
			case b.Checker && !b.VRRP:
				errs = append(errs, errAt(t.Stmt, "vrrp_instance %s: track_bfd %s: bfd_instance is for the checker only", c.Name, t.Name))
				continue
			}
			w, rev := b.Weight, b.Reverse
			if t.WeightSet {
				w, rev = t.Weight, t.Reverse
			}
			c.TrackExternal = append(c.TrackExternal, vrrp.TrackExternal{Name: "bfd:" + t.Name, Weight: w, Reverse: rev})
		}
	}
	for _, vs := range p.Services {
		for _, rs := range vs.Reals {
			for _, t := range rs.Checks {
				bc, ok := t.Checker.(bfdCheck)
				if !ok {
					continue
				}
				b, ok := byName[bc.Name]
				switch {
				case bc.Name == "":
					errs = append(errs, fmt.Errorf("%s: BFD_CHECK without name (%s)", bc.pos, t.ID))
				case !ok:
					errs = append(errs, fmt.Errorf("%s: BFD_CHECK %s: no such bfd_instance (%s)", bc.pos, bc.Name, t.ID))
				case b.VRRP && !b.Checker:
					errs = append(errs, fmt.Errorf("%s: BFD_CHECK %s: bfd_instance is for VRRP only (%s)", bc.pos, bc.Name, t.ID))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// splitWarnings files keepalivedconf's warnings (unknown keywords, which
// keepalived only reports) in p.Warnings and returns the errors of err.
func splitWarnings(p *Plan, warns keepalivedconf.ErrorList, err error) []error {
	for _, w := range warns {
		p.Warnings = append(p.Warnings, w.Error())
	}
	if err == nil {
		return nil
	}
	var list keepalivedconf.ErrorList
	if !errors.As(err, &list) {
		return []error{err}
	}
	errs := make([]error, len(list))
	for i := range list {
		errs[i] = &list[i]
	}
	return errs
}

// routerBFD is the router's BFD side: one manager for every session, and
// the channels feeding VRRP instances' track_bfd.
type routerBFD struct {
	mgr     *check.BFDManager
	stop    context.CancelFunc
	done    chan error
	running map[string]check.BFDSessionConfig
	up      map[string]bool
	// feeds are the channels of track_bfd, by instance and session; they
	// outlive units so that an unchanged plan compares equal on reload.
	feeds map[[2]string]chan bool
}

// syncBFD adds, updates and removes BFD sessions to match p, starting the
// manager on first use. r.mu is not held.
func (r *Router) syncBFD(ctx context.Context, p *Plan) error {
	b := &r.bfd
	if b.mgr == nil {
		if len(p.BFD) == 0 {
			return nil
		}
		b.mgr = check.NewBFDManager(&check.BFDManagerConfig{Logger: r.log, OnTransition: r.onBFD})
		b.running = map[string]check.BFDSessionConfig{}
		r.mu.Lock()
		b.initMaps()
		r.mu.Unlock()
		bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		b.stop, b.done = cancel, make(chan error, 1)
		go func() { b.done <- b.mgr.Run(bctx) }()
	}
	want := map[string]check.BFDSessionConfig{}
	for _, s := range p.BFD {
		want[s.Name] = s.Config
	}
	var errs []error
	for name, old := range b.running {
		if c, ok := want[name]; !ok || !reflect.DeepEqual(c, old) && b.mgr.Update(name, c) != nil {
			b.mgr.Remove(name)
			delete(b.running, name)
			r.mu.Lock()
			delete(b.up, name)
			r.mu.Unlock()
		} else if ok {
			b.running[name] = c
		}
	}
	for _, s := range p.BFD {
		if _, ok := b.running[s.Name]; ok {
			continue
		}
		if err := b.mgr.Add(s.Name, s.Config); err != nil {
			errs = append(errs, fmt.Errorf("bfd_instance %s: %w", s.Name, err))
			continue
		}
		b.running[s.Name] = s.Config
	}
	return errors.Join(errs...)
}

// bfdTracks gives an instance's track_bfd entries their channels and
// sends each the session's current state.
func (r *Router) bfdTracks(c vrrp.Config) vrrp.Config {
	if len(c.TrackExternal) == 0 {
		return c
	}
	c.TrackExternal = append([]vrrp.TrackExternal(nil), c.TrackExternal...)
	r.mu.Lock()
	defer r.mu.Unlock()
	// Units are built before the BFD sessions are synced (a reload
	// prepares everything before it changes anything), so the feeds may
	// not exist yet; the sessions feed them once they run.
	r.bfd.initMaps()
	for i := range c.TrackExternal {
		t := &c.TrackExternal[i]
		name := t.Name[len("bfd:"):]
		k := [2]string{c.Name, name}
		ch, ok := r.bfd.feeds[k]
		if !ok {
			ch = make(chan bool, 1)
			r.bfd.feeds[k] = ch
		}
		t.C = ch
		feed(ch, r.bfd.up[name])
	}
	return c
}

// initMaps makes the session state maps on first use. r.mu is held.
func (b *routerBFD) initMaps() {
	if b.up == nil {
		b.up, b.feeds = map[string]bool{}, map[[2]string]chan bool{}
	}
}

// feed replaces any unread value in ch with up.
func feed(ch chan bool, up bool) {
	select {
	case <-ch:
	default:
	}
	ch <- up
}

// onBFD applies a session's transition: BFD_CHECK real servers follow it
// (one Apply), and so do the VRRP instances tracking it.
func (r *Router) onBFD(tr check.BFDTransition) {
	up := tr.To == check.BFDUp
	r.mu.Lock()
	was := r.bfd.up[tr.Name]
	r.bfd.up[tr.Name] = up
	changed := false
	if r.plan != nil && was != up {
		for _, vs := range r.plan.Services {
			for _, rs := range vs.Reals {
				for _, t := range rs.Checks {
					if bc, ok := t.Checker.(bfdCheck); ok && bc.Name == tr.Name {
						r.setDown(t.ID, !up)
						r.touch(t.ID) // reload_inc_apply.go
						changed = true
					}
				}
			}
		}
	}
	for k, ch := range r.bfd.feeds {
		if k[1] == tr.Name {
			feed(ch, up)
		}
	}
	r.mu.Unlock()
	r.log.Info("bfd", "instance", tr.Name, "peer", tr.Peer, "from", tr.From, "to", tr.To, "diag", tr.Diag)
	if changed {
		r.poke()
	}
	// A BGP neighbour's BFD session that timed out (the neighbour went
	// silent) resets the BGP session. A Down the neighbour sends is not a
	// failure of its path: FRR's bfdd, for one, restarts its session when
	// bgpd re-registers it as the BGP session comes up.
	if was && !up && tr.Diag == check.BFDDiagControlDetectExpired && strings.HasPrefix(tr.Name, bgpBFDPrefix) {
		r.bgpBFDDown(tr.Peer, tr.Diag)
	}
}

// isBFDCheck reports whether t is a BFD_CHECK, which the Monitor does not
// run.
func isBFDCheck(t check.Target) bool {
	_, ok := t.Checker.(bfdCheck)
	return ok
}

// closeBFD stops the sessions (each sends AdminDown) and the manager.
func (r *Router) closeBFD() {
	b := &r.bfd
	if b.mgr == nil {
		return
	}
	for name := range b.running {
		b.mgr.Remove(name)
	}
	b.stop()
	<-b.done
	b.mgr.Close()
}
