package check

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"
)

// Target is one thing a Monitor checks.
type Target struct {
	// ID names the target; unique within a Monitor.
	ID string
	// Checker probes the target.
	Checker Checker
	// Policy turns results into state and schedule; nil means
	// HAProxy{} (inter 2 s, rise 2, fall 3).
	Policy Policy
}

// TransitionKind says what a Transition reports.
type TransitionKind uint8

// Transition kinds.
const (
	// StateChange: the target went up or down.
	StateChange TransitionKind = iota + 1
	// WeightChange: a dynamic check reported a different weight, admin
	// state or maxconn while the target stayed in its state.
	WeightChange
)

// Transition reports a target's change of state, with the result that
// caused it.
type Transition struct {
	ID   string
	Kind TransitionKind
	// Up is the new state.
	Up bool
	// Reason explains the change: the failing check's reason for a down
	// transition, or a Monitor event ("removed", "policy updated").
	Reason string
	// Result is the check result that caused the change (zero for
	// Monitor events).
	Result Result
	// At is when the result was observed.
	At time.Time
}

// Stats are the counters of one target.
type Stats struct {
	Up          bool
	Checks      uint64
	Failures    uint64
	LastLatency time.Duration
	LastReason  string
	LastCheck   time.Time
	// MaxLateness is the worst delay between a check's due time and its
	// start: the Monitor's drift for this target.
	MaxLateness time.Duration
}

// MonitorConfig configures a Monitor.
type MonitorConfig struct {
	// Concurrency bounds the checks running at once on worker
	// goroutines; zero means 64. With the system clock, TCP checks and
	// plain HTTP checks run on the Monitor's own loop instead, without a
	// goroutine each: a few thousand can be in flight there, each holding
	// only a socket.
	Concurrency int
	// OnTransition receives transitions. It is called from the Monitor's
	// goroutines (its loop and its workers), in order for any one target,
	// and should not block for long: while it runs on the loop no check
	// starts. Send to a buffered channel from it to consume transitions
	// elsewhere.
	OnTransition func(Transition)
	// Clock is the time source; nil means SystemClock.
	Clock Clock
	// Seed seeds the start jitter; zero picks a random seed.
	Seed uint64
}

// never is the armed time of a loop with nothing to wait for.
var never = time.Unix(1<<62, 0)

// Errors returned by Monitor methods.
var (
	ErrExists   = errors.New("target already exists")
	ErrNotFound = errors.New("target not found")
	ErrClosed   = errors.New("monitor closed")
)

// Monitor checks many targets, each on its own schedule, with one timer:
// due times sit in a heap and one goroutine, the scheduler, takes every
// target due at once as a batch. Checks that can start without blocking
// (TCP) run right there; a check whose outcome is known at once (a
// loopback handshake, a refused port) finishes without any hand-off, and
// one still in flight, like every other kind of check, goes to a fixed
// pool of workers. Each next due time is computed from the previous due
// time, not from when the check ended, so schedules do not drift.
type Monitor struct {
	cfg   MonitorConfig
	clock Clock
	epoch time.Time // the heap's origin of time
	ctx   context.Context
	stop  context.CancelFunc

	mu      sync.Mutex
	targets map[string]*entry
	due     dueHeap
	rnd     *rand.Rand
	closed  bool
	totals  Totals
	// abandoned lists targets updated or removed while their check ran
	// on the loop: if it is in flight on the poller, the loop ends it.
	abandoned []*entry
	// armed is the due time the loop's timer is set for while it
	// sleeps (never when the heap is empty), and zero while it is awake
	// and will look at the heap again before sleeping: only a target due
	// before armed needs to wake it.
	armed time.Time

	w    waker
	jobs chan job
	wg   sync.WaitGroup
}

type entry struct {
	t       Target
	quick   quickChecker // t.Checker's quick path, or nil
	m       Machine
	gen     uint64
	due     time.Time
	running bool
	gone    bool               // removed, or the Monitor closed
	cancel  context.CancelFunc // of a check on a worker
	stats   Stats
	last    Result // last reported dynamic fields
}

type job struct {
	e     *entry
	gen   uint64
	c     Checker
	q     quickChecker
	due   time.Time
	ctx   context.Context
	start time.Time // when the check started; zero until it has
	cont  bool      // c finishes what a quick check began
	r     Result    // the result of a quick check
}

// NewMonitor starts a Monitor with no targets. Close stops it.
func NewMonitor(cfg MonitorConfig) *Monitor {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	ctx, stop := context.WithCancel(context.Background())
	m := &Monitor{
		cfg:     cfg,
		clock:   cfg.Clock,
		epoch:   cfg.Clock.Now(),
		ctx:     ctx,
		stop:    stop,
		targets: make(map[string]*entry),
		rnd:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		// A buffer lets the loop hand out a burst of due targets without
		// waiting for each worker to wake.
		jobs: make(chan job, cfg.Concurrency),
	}
	m.w = newClockWaker(cfg.Clock, ctx)
	// The event loop sleeps in epoll_wait holding its P, the Go runtime's
	// right to run goroutines, until the runtime takes it back: with one P
	// (GOMAXPROCS=1, a one-CPU container) every other goroutine of the
	// program would wait milliseconds at each of its sleeps. There the
	// loop sleeps on a Go timer instead, and checks in flight wait on the
	// workers.
	if _, ok := cfg.Clock.(SystemClock); ok && runtime.GOMAXPROCS(0) > 1 {
		if w, err := newEventWaker(); err == nil {
			m.w = w
		}
	}
	m.wg.Add(1 + cfg.Concurrency)
	go m.loop()
	for range cfg.Concurrency {
		go m.worker()
	}
	return m
}

// Add starts checking t; its first check is jittered by its policy.
func (m *Monitor) Add(t Target) error {
	if t.Checker == nil {
		return fmt.Errorf("target %q: nil Checker", t.ID)
	}
	if t.Policy == nil {
		t.Policy = HAProxy{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.targets[t.ID]; ok {
		return fmt.Errorf("target %q: %w", t.ID, ErrExists)
	}
	e := &entry{t: t, m: t.Policy.NewMachine()}
	e.quick, _ = t.Checker.(quickChecker)
	e.stats.Up = e.m.Up()
	e.due = m.clock.Now().Add(e.m.Start(m.rnd.Float64()))
	m.targets[t.ID] = e
	m.pushLocked(e)
	return nil
}

// Update replaces the checker and policy of a target. The policy's state
// starts afresh; if its initial state differs from the target's current
// one, a StateChange with reason "policy updated" is delivered. A check in
// flight finishes but its result is dropped.
func (m *Monitor) Update(t Target) error {
	if t.Checker == nil {
		return fmt.Errorf("target %q: nil Checker", t.ID)
	}
	if t.Policy == nil {
		t.Policy = HAProxy{}
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	e, ok := m.targets[t.ID]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("target %q: %w", t.ID, ErrNotFound)
	}
	e.t = t
	e.quick, _ = t.Checker.(quickChecker)
	e.gen++
	e.m = t.Policy.NewMachine()
	now := m.clock.Now()
	e.due = now.Add(e.m.Start(m.rnd.Float64()))
	var tr *Transition
	if e.m.Up() != e.stats.Up {
		e.stats.Up = e.m.Up()
		tr = &Transition{ID: t.ID, Kind: StateChange, Up: e.stats.Up, Reason: "policy updated", At: now}
	}
	if e.running {
		// The check's end puts it back in the heap.
		m.cancelLocked(e)
	} else {
		// Its old place in the heap is stale now (gen moved on).
		m.pushLocked(e)
	}
	m.mu.Unlock()
	m.deliver(tr)
	return nil
}

// Remove stops checking the target with the given ID. A check in flight
// is cancelled. Under a Keepalived policy with Omega, an up target
// reports a final down transition.
func (m *Monitor) Remove(id string) error {
	m.mu.Lock()
	e, ok := m.targets[id]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("target %q: %w", id, ErrNotFound)
	}
	tr := m.dropLocked(e)
	m.mu.Unlock()
	m.deliver(tr)
	return nil
}

func (m *Monitor) dropLocked(e *entry) *Transition {
	delete(m.targets, e.t.ID)
	e.gen++
	e.gone = true
	if e.running {
		m.cancelLocked(e)
	}
	// Its place in the heap, if any, is stale now.
	if p, ok := e.t.Policy.(Keepalived); ok && p.Omega && e.stats.Up {
		return &Transition{ID: e.t.ID, Kind: StateChange, Up: false, Reason: "removed", At: m.clock.Now()}
	}
	return nil
}

// Stats returns the counters of one target.
func (m *Monitor) Stats(id string) (Stats, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.targets[id]
	if !ok {
		return Stats{}, false
	}
	return e.stats, true
}

// Len returns the number of targets.
func (m *Monitor) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.targets)
}

// LatenessBuckets are the upper bounds of the buckets of
// Totals.Lateness; the last bucket holds everything above the last bound.
var LatenessBuckets = [...]time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second,
}

// Totals are counters over all targets of a Monitor.
type Totals struct {
	// Checks and Failures count check results.
	Checks, Failures uint64
	// MaxLateness is the worst delay between a check's due time and its
	// start.
	MaxLateness time.Duration
	// Lateness counts checks by lateness: Lateness[i] those up to
	// LatenessBuckets[i], the last those above every bound.
	Lateness [len(LatenessBuckets) + 1]uint64
}

// LatenessQuantile returns the bucket bound below which the fraction q of
// checks started (the bound above the last bucket is MaxLateness).
func (t Totals) LatenessQuantile(q float64) time.Duration {
	want := uint64(math.Ceil(q * float64(t.Checks)))
	var n uint64
	for i, c := range t.Lateness {
		n += c
		if n >= want && c > 0 || n >= t.Checks {
			if i < len(LatenessBuckets) {
				return LatenessBuckets[i]
			}
			break
		}
	}
	return t.MaxLateness
}

// Totals returns the counters over all targets.
func (m *Monitor) Totals() Totals {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.totals
}

// Close stops all checks and waits for the Monitor's goroutines. Omega
// targets that are up report a final down transition.
func (m *Monitor) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	var trs []*Transition
	for _, e := range m.targets {
		if tr := m.dropLocked(e); tr != nil {
			trs = append(trs, tr)
		}
	}
	m.mu.Unlock()
	m.stop()
	m.wake()
	m.wg.Wait()
	m.w.close()
	for _, tr := range trs {
		m.deliver(tr)
	}
	return nil
}

func (m *Monitor) wake() { m.w.wake() }

// pushLocked schedules e at e.due, waking the loop only if it sleeps past
// that time.
func (m *Monitor) pushLocked(e *entry) {
	m.due.push(e, m.epoch)
	if !m.armed.IsZero() && e.due.Before(m.armed) {
		m.armed = time.Time{} // one kick is enough
		m.wake()
	}
}

// cancelLocked cancels the check of e in flight: through its context on
// a worker, or by asking the loop to drop it from its poller.
func (m *Monitor) cancelLocked(e *entry) {
	switch {
	case e.cancel != nil:
		e.cancel()
	case !m.closed: // closing, the loop ends all flights
		m.abandoned = append(m.abandoned, e)
		m.wake()
	}
}

func (m *Monitor) deliver(tr *Transition) {
	if tr != nil && m.cfg.OnTransition != nil {
		m.cfg.OnTransition(*tr)
	}
}

// timerSlack is the granularity of the Monitor's timer.
const timerSlack = time.Millisecond

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
	var trs []*Transition
	var abandoned []*entry
	var yielded time.Time
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return
		}
		abandoned, m.abandoned = m.abandoned, abandoned[:0]
		now := m.clock.Now()
		for len(m.due) > 0 && !m.due.first(m.epoch).After(now) {
			e, ok := m.due.pop()
			if !ok {
				continue // stale
			}
			e.running = true
			batch = append(batch, job{e: e, gen: e.gen, c: e.t.Checker, q: e.quick, due: e.due})
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
			m.w.sleep()
			if m.ctx.Err() != nil {
				return
			}
			if fl != nil {
				if done = fl.collect(q, done); len(done) > 0 {
					done = m.fold(done, nil, &trs)
				}
			}
			// Pass through the Go scheduler every 8 ms. The
			// eventWaker sleeps in a system call and the quick checks
			// are raw ones, so otherwise the loop would never yield: the
			// runtime's monitor thread would take it for a goroutine
			// running too long, preempt it every 10 ms, and poll every
			// 20 µs after each preemption, at a cost of a tenth of the
			// loop's CPU. Yielding at every wake-up costs nearly as much
			// (each wakes another thread).
			if t := time.Now(); t.Sub(yielded) > yieldEvery {
				runtime.Gosched()
				yielded = t
			}
			continue
		}

		// Quick checks first, in due order; each starts when the one
		// before it ended. Those done are folded at once, those in
		// flight wait on the loop's poller, the rest go to the workers.
		start := m.clock.Now()
		for _, j := range batch {
			if j.q == nil {
				handoff = append(handoff, j)
				continue
			}
			q.poll = fl != nil && fl.len() < maxFlights
			r, rest, ok := j.q.quickCheck(q)
			end := m.clock.Now()
			j.start = start
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
				j.start = time.Time{} // the worker starts it
				handoff = append(handoff, j)
			}
			start = end
		}
		clear(batch)
		batch = batch[:0]
		if fl != nil && fl.len() > 0 {
			// Answers that came in while the loop was busy.
			fl.w.poll()
			done = fl.collect(q, done)
		}
		done = m.fold(done, handoff, &trs)

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
		clear(handoff)
		handoff = handoff[:0]
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
		j.ctx, j.e.cancel = context.WithCancel(m.ctx)
		if j.gen != j.e.gen {
			j.e.cancel() // updated or removed meanwhile
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
		if j.start.IsZero() {
			j.start = m.clock.Now()
		}
		j.r = j.c.Check(j.ctx)
		if j.cont {
			// The check began in the loop: its latency counts from there.
			j.r.Latency = m.clock.Now().Sub(j.start)
		}
		m.mu.Lock()
		j.e.cancel()
		j.e.cancel = nil
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
	late := j.start.Sub(j.due)
	t := &m.totals
	t.Checks++
	if !r.Up {
		t.Failures++
	}
	t.MaxLateness = max(t.MaxLateness, late)
	b := 0
	for b < len(LatenessBuckets) && late > LatenessBuckets[b] {
		b++
	}
	t.Lateness[b]++
	st := &e.stats
	st.Checks++
	if !r.Up {
		st.Failures++
	}
	st.LastLatency, st.LastReason, st.LastCheck = r.Latency, r.Reason, now
	if late > st.MaxLateness {
		st.MaxLateness = late
	}
	next, changed := e.m.Observe(r)
	// Keep to the schedule: the next check is due one interval after this
	// one was due. A check that overran its interval starts the next at
	// once rather than queueing a burst.
	e.due = j.due.Add(next)
	if e.due.Before(now) {
		e.due = now
	}
	m.pushLocked(e)

	var tr *Transition
	switch {
	case changed:
		st.Up = e.m.Up()
		reason := r.Reason
		if st.Up {
			reason = "check passed"
		}
		tr = &Transition{ID: e.t.ID, Kind: StateChange, Up: st.Up, Reason: reason, Result: r, At: now}
	case dynamicChanged(e.last, r):
		tr = &Transition{ID: e.t.ID, Kind: WeightChange, Up: st.Up, Reason: "weight " + r.Weight.String(), Result: r, At: now}
	}
	if r.Weight.Set || r.Admin != AdminNone || r.MaxConn != 0 {
		e.last = r
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

// dueHeap is a 4-ary min-heap of due times. A target leaves it lazily:
// an Update pushes the target again under a new generation and a Remove
// marks it gone, and pop drops the stale places as they come up. So the
// heap never needs an index into itself, and sifting touches nothing but
// its own array: at 10,000 targets the entries are scattered over
// megabytes, and visiting them cost more than the comparisons.
type dueHeap []dueItem

type dueItem struct {
	at  time.Duration // due time, from the Monitor's epoch
	gen uint64        // the entry's gen when pushed
	e   *entry
}

// first returns the earliest due time; the heap must not be empty.
func (h dueHeap) first(epoch time.Time) time.Time { return epoch.Add(h[0].at) }

func (h *dueHeap) push(e *entry, epoch time.Time) {
	*h = append(*h, dueItem{e.due.Sub(epoch), e.gen, e})
	h.up(len(*h) - 1)
}

// pop removes the earliest place and returns its entry; ok is false if
// the place was stale.
func (h *dueHeap) pop() (e *entry, ok bool) {
	old := *h
	it := old[0]
	n := len(old) - 1
	old[0] = old[n]
	old[n] = dueItem{}
	*h = old[:n]
	h.down(0)
	return it.e, it.gen == it.e.gen && !it.e.gone && !it.e.running
}

func (h dueHeap) up(j int) {
	it := h[j]
	for j > 0 {
		i := (j - 1) / 4
		if h[i].at <= it.at {
			break
		}
		h[j] = h[i]
		j = i
	}
	h[j] = it
}

func (h dueHeap) down(i int) {
	n := len(h)
	if n == 0 {
		return
	}
	it := h[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		min := c
		for k := c + 1; k < c+4 && k < n; k++ {
			if h[k].at < h[min].at {
				min = k
			}
		}
		if h[min].at >= it.at {
			break
		}
		h[i] = h[min]
		i = min
	}
	h[i] = it
}
