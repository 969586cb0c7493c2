package check

import (
	"context"
	"runtime"
	"time"
)

// never is the armed time of a loop with nothing to wait for.
var never = time.Unix(1<<62, 0)

// timerSlack is the granularity of the Monitor's timer.
const timerSlack = time.Millisecond

// maxBatch bounds the targets taken from the heap at once; the rest,
// due as well, go in the next batches, at once and in the same order. A
// Monitor that falls behind (40,000 targets at 1 s on a busy machine)
// would otherwise take every target as one batch, and keep arrays of
// jobs for all of them.
const maxBatch = 1024

// yieldEvery is how often the loop passes through the Go scheduler; less
// than the runtime's 10 ms before it preempts a running goroutine.
const yieldEvery = 8 * time.Millisecond

// loop is the scheduler: it sleeps on one timer until the earliest due
// time, then takes every due target as a batch, runs the quick checks
// among them itself and hands the rest to the workers.
func (m *Monitor) loop() {
	defer m.wg.Done()
	defer close(m.jobs) // the loop is the only sender
	q := newQuickState()
	defer q.close()
	// With the system clock the loop also waits on the sockets of quick
	// checks in flight itself (flights).
	var fl *flights
	if ew, ok := m.w.(*eventWaker); ok {
		fl = newFlights(ew)
		defer fl.abort(q, ErrClosed)
	}
	var batch, handoff, done []job
	var shrink shrinker
	var trs []*Transition
	var abandoned []*entry
	var yielded, wakeAt time.Time
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return
		}
		abandoned, m.abandoned = m.abandoned, abandoned[:0]
		now := m.clock.Now()
		for len(m.due) > 0 && len(batch) < maxBatch && !m.due.first(m.epoch).After(now) {
			e, ok := m.due.pop()
			if !ok {
				continue // stale
			}
			e.running = true
			batch = append(batch, job{e: e, gen: e.gen, c: e.checker, due: e.due})
		}
		m.armed = time.Time{}
		if len(batch) == 0 {
			wait := time.Hour
			m.armed = never
			if len(m.due) > 0 {
				first := m.due.first(m.epoch)
				// Wake on a whole millisecond: targets due within the
				// same millisecond go out in one batch, which at
				// thousands of targets a second saves most wake-ups,
				// for at most 1 ms of lateness.
				wait = (first.Sub(now) + timerSlack - 1).Truncate(timerSlack)
				m.armed = first
			}
			if fl != nil {
				if d := fl.next(); !d.IsZero() {
					wait = min(wait, (time.Until(d) + timerSlack - 1).Truncate(timerSlack))
				}
			}
			// Arm under the lock so the timer always matches the heap
			// as seen at now.
			m.w.arm(wait)
			wakeAt = time.Now().Add(wait) // the real clock, as yielded
		}
		m.mu.Unlock()
		if fl != nil {
			for _, e := range abandoned {
				done = fl.cancel(q, e, done)
			}
		}
		clear(abandoned)

		if len(batch) == 0 {
			if len(done) > 0 {
				done = m.fold(done, nil, &trs)
			}
			// Pass through the Go scheduler at least every 8 ms. The
			// eventWaker sleeps in a system call and the quick checks
			// are raw ones, so otherwise the loop would never yield: the
			// runtime's monitor thread would take it for a goroutine
			// running too long, preempt it every 10 ms, and poll every
			// 20 µs after each preemption, at a cost of a tenth of the
			// loop's CPU. Yielding at every wake-up costs nearly as much
			// (each wakes another thread). The pass comes before a sleep
			// that would end more than 8 ms after the last one: checked
			// after the sleep instead, wake-ups dueGrid apart would let
			// up to 8 ms + dueGrid go by, past the 10 ms.
			if wakeAt.Sub(yielded) > yieldEvery {
				runtime.Gosched()
				yielded = time.Now()
			}
			m.w.sleep()
			if m.ctx.Err() != nil {
				return
			}
			if fl != nil {
				if done = fl.collect(q, done); len(done) > 0 {
					done = m.fold(done, nil, &trs)
				}
			}
			continue
		}

		// Quick checks first, in due order; each starts when the one
		// before it ended. Those done are folded at once, those in
		// flight wait on the loop's poller, the rest go to the workers.
		start := m.clock.Now()
		for _, j := range batch {
			qc, isQuick := j.c.(quickChecker)
			if !isQuick {
				handoff = append(handoff, j)
				continue
			}
			q.poll = fl != nil && fl.len() < maxFlights
			r, rest, ok := qc.quickCheck(q)
			end := m.clock.Now()
			j.start, j.started = m.since(start), true
			op, isOp := rest.(pollOp)
			switch {
			case ok:
				r.Latency = end.Sub(start)
				j.r = r
				done = append(done, j)
			case isOp && q.poll:
				if r, added := fl.add(q, op, j); !added {
					j.r = r
					done = append(done, j)
				}
			case rest != nil:
				j.c, j.cont = rest, true
				handoff = append(handoff, j)
			default:
				j.started = false // the worker starts it
				handoff = append(handoff, j)
			}
			start = end
		}
		batch = shrink.reuse(0, batch)
		if fl != nil && fl.len() > 0 {
			// The batch's half-open SYNs go out in one system call;
			// then the answers that came in while the loop was busy.
			q.raw.flush()
			fl.poll()
			done = fl.collect(q, done)
		}
		n := len(done)
		done = m.fold(done, handoff, &trs)
		done = shrink.reuse(1, done[:n])

		for i := range handoff {
			select {
			case m.jobs <- handoff[i]:
			case <-m.ctx.Done():
				// Continuations own what their quick check began.
				for _, j := range handoff[i:] {
					if j.cont {
						j.c.Check(j.ctx)
					}
				}
				return
			}
		}
		handoff = shrink.reuse(2, handoff)
	}
}

// fold folds the results of finished jobs into their targets, gives the
// jobs about to go to the workers their contexts, and delivers the
// transitions. It returns done emptied, for reuse.
func (m *Monitor) fold(done, handoff []job, trs *[]*Transition) []job {
	m.mu.Lock()
	for i := range done {
		if tr := m.finishLocked(&done[i]); tr != nil {
			*trs = append(*trs, tr)
		}
	}
	for i := range handoff {
		j := &handoff[i]
		x := j.e.ext()
		j.ctx, x.cancel = context.WithCancel(m.ctx)
		if j.gen != j.e.gen {
			x.cancel() // updated or removed meanwhile
		}
	}
	m.mu.Unlock()
	for i, tr := range *trs {
		m.deliver(tr)
		(*trs)[i] = nil
	}
	*trs = (*trs)[:0]
	clear(done)
	return done[:0]
}

// worker runs checks handed out by loop and folds each result into its
// target's policy.
func (m *Monitor) worker() {
	defer m.wg.Done()
	for j := range m.jobs {
		if !j.started {
			j.start, j.started = m.since(m.clock.Now()), true
		}
		j.r = j.c.Check(j.ctx)
		if j.cont {
			// The check began in the loop: its latency counts from there.
			j.r.Latency = m.since(m.clock.Now()) - j.start
		}
		m.mu.Lock()
		j.e.x.cancel()
		j.e.x.cancel = nil
		tr := m.finishLocked(&j)
		m.mu.Unlock()
		m.deliver(tr)
	}
}

// finishLocked folds the result of job j into its target and schedules
// the target's next check, returning the transition to deliver, if any.
func (m *Monitor) finishLocked(j *job) *Transition {
	e := j.e
	e.running = false
	if e.gone {
		// Removed while running.
		return nil
	}
	if j.gen != e.gen {
		// Updated while running: the result belongs to the old checker;
		// the new schedule is already in e.due.
		m.pushLocked(e)
		return nil
	}
	r := j.r
	now := m.clock.Now()
	late := j.start - j.due
	t := &m.totals
	t.Checks++
	if !r.Up {
		t.Failures++
	}
	t.MaxLateness = max(t.MaxLateness, late)
	b := 0
	for b < len(latenessBuckets) && late > latenessBuckets[b] {
		b++
	}
	t.Lateness[b]++
	e.count(r.Up)
	e.setDur(lastLatencyAt, r.Latency)
	e.lastCheck = m.since(now)
	if r.Reason != "" || e.x != nil {
		e.ext().lastReason = r.Reason
	}
	e.noteLateness(late)
	next, changed := e.observe(r)
	// Keep to the schedule: the next check is due one interval after this
	// one was due. A check that overran its interval starts the next at
	// once rather than queueing a burst (on the grid, so that it
	// rejoins the others: see dueGrid).
	e.due = max(j.due+next, onGrid(m.since(now)))
	m.pushLocked(e)

	var tr *Transition
	var last Result
	if e.x != nil {
		last = e.x.last
	}
	switch {
	case changed:
		e.up = e.st.up
		reason := r.Reason
		if e.up {
			reason = "check passed"
		}
		tr = &Transition{ID: e.id, Kind: StateChange, Up: e.up, Reason: reason, Result: r, At: now}
	case dynamicChanged(last, r):
		tr = &Transition{ID: e.id, Kind: WeightChange, Up: e.up, Reason: "weight " + r.Weight.String(), Result: r, At: now}
	}
	if r.Weight.Set || r.Admin != AdminNone || r.MaxConn != 0 {
		e.ext().last = r
	}
	return tr
}

// dynamicChanged reports whether r carries dynamic fields that differ from
// the last ones reported.
func dynamicChanged(last, r Result) bool {
	if !r.Weight.Set && r.Admin == AdminNone && r.MaxConn == 0 {
		return false
	}
	return last.Weight != r.Weight || last.Admin != r.Admin || last.MaxConn != r.MaxConn
}

// shrinker lets the loop's scratch slices of jobs give their arrays back
// once a burst has passed: a start of tens of thousands of targets, or a
// stall, makes batches of thousands of jobs (144 bytes each), arrays of
// hundreds of
// kilobytes that the usual batch of a few dozen would otherwise keep for
// good.
type shrinker struct {
	small [3]int // consecutive uses of each slice below a quarter of its capacity
}

// shrinkAfter is how many consecutive small uses of a large scratch
// slice drop its array: a second or so of the loop's wake-ups.
const shrinkAfter = 1024

// reuse returns s, the scratch slice number i just used, emptied for the
// next use; after shrinkAfter small uses in a row, a slice of more than
// 256 jobs is dropped instead.
func (sh *shrinker) reuse(i int, s []job) []job {
	clear(s)
	if cap(s) <= 256 || len(s) >= cap(s)/4 {
		sh.small[i] = 0
		return s[:0]
	}
	if sh.small[i]++; sh.small[i] < shrinkAfter {
		return s[:0]
	}
	sh.small[i] = 0
	return nil
}
