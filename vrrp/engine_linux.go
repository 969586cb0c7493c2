package vrrp

import (
	"context"
	"runtime"
	"time"
)

// raisedEvent is an event for another instance raised inside an engine
// step (sync groups); it runs before the step ends.
type raisedEvent struct {
	in *Instance
	ev event
}

// lock starts an engine step.
func (r *Router) lock() { r.mu.Lock() }

// unlock ends an engine step: it runs the events the step raised, sends
// the adverts it queued, and wakes the scheduler if a timer now falls due
// before it meant to wake.
func (r *Router) unlock() {
	for i := 0; i < len(r.raised); i++ { // handlers may raise more
		e := r.raised[i]
		e.in.handle(e.ev)
	}
	clear(r.raised)
	r.raised = r.raised[:0]
	r.flush()
	poke := false
	if w := r.sched.wake(); !w.IsZero() && !r.sleepUntil.IsZero() && w.Before(r.sleepUntil) {
		poke = true
		r.sleepUntil = time.Time{}
	}
	r.mu.Unlock()
	if poke {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// raise queues an event for in, to run within the current engine step.
func (r *Router) raise(in *Instance, ev event) {
	r.raised = append(r.raised, raisedEvent{in, ev})
}

// markDirty notes that c has adverts queued.
func (r *Router) markDirty(c *sendSock) {
	for _, d := range r.dirty {
		if d == c {
			return
		}
	}
	r.dirty = append(r.dirty, c)
}

func (r *Router) flush() {
	for _, c := range r.dirty {
		c.flush()
	}
	clear(r.dirty)
	r.dirty = r.dirty[:0]
}

// tick fires the timer of instance id.
func (r *Router) tick(id int, now time.Time) {
	in := r.instances[id]
	in.m.Tick(now)
	in.resched()
}

// scheduler fires the instances' timers until ctx is done. It sleeps until
// the earliest is due, or, for a backup's Master_Down_Timer, until
// spinWindow before it and then spins, so that takeover does not wait on
// the runtime's timer granularity.
func (r *Router) scheduler(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	tick := r.tick
	var due time.Time // a Master_Down_Timer's deadline, when it is next
	for {
		if !due.IsZero() && !time.Now().Before(due) {
			// An advert that arrived before the deadline may still wait
			// for the reader's next grid tick: hear it first.
			r.drainAll()
		}
		r.lock()
		r.sleepUntil = time.Time{}
		now := time.Now()
		r.sched.fire(now, len(r.instances)+1, tick) // each Tick moves a slot past now
		w := r.sched.wake()
		due = time.Time{}
		if s := r.sched.peek(); s != nil && s.precise {
			due = s.at
		}
		spin := !w.IsZero() && !w.After(now)
		if !spin {
			r.sleepUntil = w
			if w.IsZero() {
				r.sleepUntil = now.Add(time.Hour)
			}
		}
		r.unlock()
		if spin {
			if ctx.Err() != nil {
				return
			}
			runtime.Gosched()
			continue
		}
		if w.IsZero() {
			t.Reset(time.Hour)
		} else {
			t.Reset(w.Sub(now))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
	}
}
