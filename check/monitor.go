package check

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
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

// String returns "state" or "weight".
func (k TransitionKind) String() string {
	switch k {
	case StateChange:
		return "state"
	case WeightChange:
		return "weight"
	}
	return fmt.Sprintf("TransitionKind(%d)", uint8(k))
}

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
	// Suspended is set between Suspend and Resume (suspend.go).
	Suspended bool
}

// MonitorConfig configures a Monitor.
type MonitorConfig struct {
	// Concurrency bounds the checks running at once on worker
	// goroutines; zero means 64, negative is an error. On Linux with the
	// system clock, TCP checks and plain HTTP checks run on the Monitor's
	// own loop instead, without a goroutine each: a few thousand can be in
	// flight there, each holding only a socket.
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

// Errors returned by the methods of Monitor (and, for ErrClosed and
// ErrRunning, AgentServer).
var (
	ErrExists   = errors.New("check: target already exists")
	ErrNotFound = errors.New("check: target not found")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("check: closed")
	// ErrRunning is returned by a second call of Run.
	ErrRunning = errors.New("check: already running")
)

// Monitor checks many targets, each on its own schedule, with one timer:
// due times sit in a heap and one goroutine, the scheduler (Run's), takes
// every target due at once as a batch. On Linux with the system clock,
// TCP and plain HTTP checks start right there on a socket the scheduler
// keeps: a check whose outcome is known at once (a loopback handshake, a
// refused port) finishes without any hand-off, and one still in flight
// waits on the scheduler's own epoll set, not on a goroutine. Every other
// check (and every check elsewhere) goes to a fixed pool of workers. Each
// next due time is computed from the previous due time, not from when the
// check ended, so schedules do not drift.
type Monitor struct {
	cfg   MonitorConfig
	clock Clock
	epoch time.Time // the heap's origin of time
	ctx   context.Context
	stop  context.CancelFunc

	mu      sync.Mutex
	targets targetSet
	due     dueHeap
	pols    policies
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
	// running is set by Run.
	running bool

	w    waker
	jobs chan job
	wg   sync.WaitGroup
}

// entry is one target as the Monitor keeps it, laid out to be small (96
// bytes): a Monitor of lvsrouter's scale holds 40,000. Times are offsets
// from the Monitor's epoch, the policy is shared (targetPolicy) with the
// machine's state inline, the counters and short durations are 32 bits
// wide with what does not fit in the entryExt (entry_stats.go), and what
// few targets need sits behind x.
type entry struct {
	id        string
	checker   Checker
	pol       *targetPolicy
	x         *entryExt     // nil until needed
	due       time.Duration // from the epoch
	lastCheck time.Duration // from the epoch; Stats.LastCheck
	gen       uint32        // moves on at Update and removal: a job of an older gen is stale
	st        machState
	// running: a check is in flight; gone: removed, or the Monitor
	// closed; suspended: Suspend was called, pop skips its places in the
	// heap; up is Stats.Up.
	running, gone, suspended, up bool

	// Stats (see statsLocked and entry_stats.go).
	counts [2]count32 // checks, failures
	durs   [2]dur32   // last latency, max lateness
}

// entryExt holds what only some targets need: those that failed a check
// (a passed check reports no reason), run on the workers, report dynamic
// weights or have a policy of their own, and the rare statistics that do
// not fit the entry's 32 bits.
type entryExt struct {
	lastReason string
	mach       Machine            // under a policy of another type
	cancel     context.CancelFunc // of a check on a worker
	last       Result             // last reported dynamic fields
	wide       wideStats
}

func (e *entry) ext() *entryExt {
	if e.x == nil {
		e.x = new(entryExt)
	}
	return e.x
}

// cancelFunc returns the cancel function of e's check on a worker, or nil.
func (e *entry) cancelFunc() context.CancelFunc {
	if e.x == nil {
		return nil
	}
	return e.x.cancel
}

// job is one check on its way: in the loop's batch, on its poller or on
// a worker. Times are offsets from the Monitor's epoch.
type job struct {
	e       *entry
	gen     uint32
	cont    bool // c finishes what a quick check began
	started bool // start is set
	c       Checker
	due     time.Duration
	start   time.Duration // when the check started
	ctx     context.Context
	r       Result // the result of a quick check
}

// NewMonitor returns a Monitor with no targets; cfg nil means the
// defaults. It starts no goroutine: checks run while Run runs. Close
// releases the Monitor.
func NewMonitor(cfg *MonitorConfig) (*Monitor, error) {
	var c MonitorConfig
	if cfg != nil {
		c = *cfg
	}
	if c.Concurrency < 0 {
		return nil, fmt.Errorf("check: MonitorConfig.Concurrency %d: must not be negative", c.Concurrency)
	}
	if c.Concurrency == 0 {
		c.Concurrency = 64
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	seed := c.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	ctx, stop := context.WithCancel(context.Background())
	m := &Monitor{
		cfg:     c,
		clock:   c.Clock,
		epoch:   c.Clock.Now(),
		ctx:     ctx,
		stop:    stop,
		targets: newTargetSet(),
		rnd:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		// A buffer lets the loop hand out a burst of due targets without
		// waiting for each worker to wake.
		jobs: make(chan job, c.Concurrency),
	}
	m.w = newClockWaker(c.Clock, ctx)
	// The event loop sleeps in epoll_wait holding its P, the Go runtime's
	// right to run goroutines, until the runtime takes it back: with one P
	// (GOMAXPROCS=1, a one-CPU container) every other goroutine of the
	// program would wait milliseconds at each of its sleeps. There the
	// loop sleeps on a Go timer instead, and checks in flight wait on the
	// workers.
	if _, ok := c.Clock.(SystemClock); ok && runtime.GOMAXPROCS(0) > 1 {
		if w, err := newEventWaker(); err == nil {
			m.w.close()
			m.w = w
		}
	}
	return m, nil
}

// Run runs the checks until ctx is done or Close is called: the scheduler
// on the calling goroutine, the checks that block on
// MonitorConfig.Concurrency workers. Targets added before Run that fell
// due meanwhile are checked at once. Run returns nil when ctx ends,
// ErrClosed after Close, and ErrRunning if Run was called before.
func (m *Monitor) Run(ctx context.Context) error {
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return ErrClosed
	case m.running:
		m.mu.Unlock()
		return ErrRunning
	}
	m.running = true
	m.wg.Add(1 + m.cfg.Concurrency)
	m.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		m.stop()
		m.wake()
	})
	defer stop()
	for range m.cfg.Concurrency {
		go m.worker()
	}
	m.loop()
	m.wg.Wait()
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return nil
}

// Add schedules t, checked while Run runs; its first check is jittered by
// its policy, then rounded up to the Monitor's 4 ms grid (see dueGrid).
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
	if m.targets.get(t.ID) != nil {
		return fmt.Errorf("target %q: %w", t.ID, ErrExists)
	}
	e := &entry{id: t.ID, checker: t.Checker, pol: m.pols.get(t.Policy)}
	e.newMachine()
	e.up = e.st.up
	e.due = m.firstDue(e, m.clock.Now())
	m.targets.add(e)
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
	e := m.targets.get(t.ID)
	if e == nil {
		m.mu.Unlock()
		return fmt.Errorf("target %q: %w", t.ID, ErrNotFound)
	}
	e.checker = t.Checker
	old := e.pol
	e.pol = m.pols.get(t.Policy)
	m.pols.put(old)
	e.gen++
	e.newMachine()
	now := m.clock.Now()
	e.due = m.firstDue(e, now)
	var tr *Transition
	if e.st.up != e.up {
		e.up = e.st.up
		tr = &Transition{ID: t.ID, Kind: StateChange, Up: e.up, Reason: "policy updated", At: now}
	}
	if e.running {
		// The check's end puts it back in the heap.
		m.cancelLocked(e)
	} else {
		// Its old place in the heap is stale now (see dueHeap).
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
	e := m.targets.get(id)
	if e == nil {
		m.mu.Unlock()
		return fmt.Errorf("target %q: %w", id, ErrNotFound)
	}
	tr := m.dropLocked(e)
	m.mu.Unlock()
	m.deliver(tr)
	return nil
}

func (m *Monitor) dropLocked(e *entry) *Transition {
	m.targets.del(e)
	e.gen++
	e.gone = true
	if e.running {
		m.cancelLocked(e)
	}
	m.pols.put(e.pol)
	// Its place in the heap, if any, is stale now.
	if e.pol.omega() && e.up {
		return &Transition{ID: e.id, Kind: StateChange, Up: false, Reason: "removed", At: m.clock.Now()}
	}
	return nil
}

// Stats returns the counters of one target.
func (m *Monitor) Stats(id string) (Stats, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.targets.get(id)
	if e == nil {
		return Stats{}, false
	}
	return m.statsLocked(e), true
}

// statsLocked returns the counters of e.
func (m *Monitor) statsLocked(e *entry) Stats {
	st := Stats{
		Up:          e.up,
		Checks:      e.total(checksAt),
		Failures:    e.total(failuresAt),
		LastLatency: e.dur(lastLatencyAt),
		MaxLateness: e.dur(maxLatenessAt),
		Suspended:   e.suspended,
	}
	if e.x != nil {
		st.LastReason = e.x.lastReason
	}
	if st.Checks > 0 {
		st.LastCheck = m.epoch.Add(e.lastCheck)
	}
	return st
}

// since returns t as an offset from the epoch.
func (m *Monitor) since(t time.Time) time.Duration { return t.Sub(m.epoch) }

// dueGrid is the grid, from the epoch, that a target's first due time is
// put on. A target keeps its phase from then on (each check is due one
// interval after the last was due), so targets whose intervals are
// multiples of dueGrid (whole seconds, hundreds of milliseconds) stay on
// it, and at thousands of targets a second the loop wakes once per grid
// point for all the targets due there, without lateness: at most 250
// wake-ups a second, each of which costs as much CPU as a dozen
// loopback probes. Other intervals leave the grid and are checked on
// time all the same. A first check comes later by less than dueGrid.
const dueGrid = 4 * time.Millisecond

// onGrid returns d, an offset from the epoch, rounded up to dueGrid.
func onGrid(d time.Duration) time.Duration {
	if r := d % dueGrid; r > 0 {
		d += dueGrid - r
	}
	return d
}

// firstDue returns when e's first check is due, as an offset from the
// epoch, its policy's jitter from now on, on the grid.
func (m *Monitor) firstDue(e *entry, now time.Time) time.Duration {
	return onGrid(m.since(now) + e.start(m.rnd.Float64()))
}

// Grow makes room for n more targets, as slices.Grow does: Adding them
// then allocates only their own entries, not ever larger tables whose
// earlier copies are garbage (a third of what registering 40,000 targets
// allocated otherwise). A negative n is taken as zero.
func (m *Monitor) Grow(n int) {
	if n <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.targets.grow(n)
	m.due = slices.Grow(m.due, n)
}

// Len returns the number of targets.
func (m *Monitor) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.targets.len()
}

// Close stops all checks, waits for Run's goroutines and releases the
// Monitor. Omega targets that are up report a final down transition. It
// is safe to call more than once, and without Run.
func (m *Monitor) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	var trs []*Transition
	for _, e := range slices.Collect(m.targets.all()) {
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
	m.due.push(e)
	if !m.armed.IsZero() && m.epoch.Add(e.due).Before(m.armed) {
		m.armed = time.Time{} // one kick is enough
		m.wake()
	}
}

// cancelLocked cancels the check of e in flight: through its context on
// a worker, or by asking the loop to drop it from its poller.
func (m *Monitor) cancelLocked(e *entry) {
	switch {
	case e.cancelFunc() != nil:
		e.x.cancel()
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
