package vrrp

import (
	"time"
)

// runActions is the instance's action goroutine: it applies transitions
// in order and paces gratuitous ARPs / NAs. It returns after the queue is
// closed and drained.
func (in *Instance) runActions() {
	if in.notifyQ != nil {
		in.nwg.Go(in.notifyWorker)
	}
	defer func() {
		if in.notifyQ != nil {
			close(in.notifyQ)
			in.nwg.Wait()
		}
	}()
	var t *time.Timer
	var tc <-chan time.Time
	var batch []action
	for {
		var closed bool
		batch, closed = in.acts.take(batch)
		for _, a := range batch {
			in.apply(a)
		}
		if closed {
			return
		}
		if d := in.garp.deadline(); !d.IsZero() {
			if t == nil {
				t = time.NewTimer(time.Until(d))
				defer t.Stop()
			} else {
				t.Reset(time.Until(d))
			}
			tc = t.C
		} else if t != nil {
			t.Stop()
			tc = nil
		}
		select {
		case <-in.acts.sig:
		case <-tc:
			in.garpTick(time.Now())
		}
	}
}

// apply moves addresses, announces them, runs notify scripts and
// callbacks for one transition.
func (in *Instance) apply(a action) {
	if a.upd != nil {
		in.applyUpdate(a.upd)
		return
	}
	t := a.t
	if a.prioChange {
		if in.acfg.OnPriority != nil {
			in.acfg.OnPriority(in.cfg.Name, t.To, a.prio)
		}
		return
	}
	if a.lowerPrio {
		if in.holding {
			in.garp.lowerPrio(t.At)
			in.garpTick(t.At)
		}
		return
	}
	in.holding = t.To == StateMaster
	if t.To == StateMaster {
		in.addVIPs()
		in.setRoutes(true)
		in.setFilter(true)
		in.garp.start(t.At, &in.acfg.GARP)
		in.garpTick(t.At)
	} else {
		in.garp = garpState{}
		if t.From == StateMaster || t.From == StateInit {
			in.delVIPs()
			in.setRoutes(false)
			in.setFilter(false)
		}
	}
	in.notify(t, a.prio)
	if in.acfg.OnTransition != nil {
		in.acfg.OnTransition(in.cfg.Name, t)
	}
	if in.notifyQ == nil && in.acfg.OnNotified != nil {
		in.acfg.OnNotified(in.cfg.Name, t)
	}
}

// setFilter installs or removes the non-accept filter, if any.
func (in *Instance) setFilter(on bool) {
	if in.filter == nil {
		return
	}
	if err := in.filter.set(on); err != nil {
		in.r.log.Error("vrrp: non-accept filter", "instance", in.cfg.Name, "on", on, "err", err)
	}
}
func (in *Instance) garpTick(now time.Time) {
	for range in.garp.due(now) {
		in.announce()
	}
	if in.garp.dueExtra(now) {
		in.announceExtra()
	}
}
