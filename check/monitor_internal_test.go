package check

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeClock is a manual clock: time moves only in Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c        *fakeClock
	ch       chan time.Time
	deadline time.Time
	active   bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		t.fireLocked()
	}
}

func (t *fakeTimer) fireLocked() {
	if t.active && !t.deadline.After(t.c.now) {
		t.active = false
		select {
		case t.ch <- t.c.now:
		default:
		}
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	select { // like Go 1.23 timers: no stale value after Reset
	case <-t.ch:
	default:
	}
	t.deadline, t.active = t.c.now.Add(d), true
	t.fireLocked()
}

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	t.active = false
	t.c.mu.Unlock()
}

// idle reports whether the monitor has nothing to do until the clock
// moves: no check running, nothing due, and the loop's timer armed for the
// earliest due time.
func (m *Monitor) idle() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for e := range m.targets.all() {
		if e.running {
			return false
		}
	}
	if len(m.due) == 0 {
		return true
	}
	first := m.due.first(m.epoch)
	return first.After(m.clock.Now()) && m.armed.Equal(first)
}

func waitIdle(t *testing.T, m *Monitor) {
	t.Helper()
	for i := 0; !m.idle(); i++ {
		if i == 5000 { // 5 s of real time: a safety net only
			t.Fatal("monitor never became idle")
		}
		time.Sleep(time.Millisecond)
	}
}

// run advances the clock in steps, letting the monitor settle after each.
func run(t *testing.T, m *Monitor, c *fakeClock, step, total time.Duration) {
	t.Helper()
	for d := time.Duration(0); d < total; d += step {
		waitIdle(t, m)
		c.Advance(step)
	}
	waitIdle(t, m)
}

// script is a checker whose result the test sets, recording the fake time
// of every call.
type script struct {
	mu    sync.Mutex
	clock *fakeClock
	up    bool
	calls []time.Time
}

func (s *script) Check(ctx context.Context) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, s.clock.Now())
	if s.up {
		return Result{Up: true}
	}
	return Result{Reason: "scripted failure"}
}

func (s *script) set(up bool) { s.mu.Lock(); s.up = up; s.mu.Unlock() }

func (s *script) times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.calls...)
}

type recorder struct {
	mu  sync.Mutex
	trs []Transition
}

func (r *recorder) add(tr Transition) { r.mu.Lock(); r.trs = append(r.trs, tr); r.mu.Unlock() }
func (r *recorder) all() []Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Transition(nil), r.trs...)
}

func TestMonitorScheduleAndTransitions(t *testing.T) {
	clk := newFakeClock()
	t0 := clk.Now()
	var rec recorder
	m := startMonitor(t, &MonitorConfig{Clock: clk, Seed: 1, Concurrency: 2, OnTransition: rec.add})
	defer m.Close()
	pol := HAProxy{Inter: time.Second, FastInter: 250 * time.Millisecond, Rise: 2, Fall: 3}
	ids := []string{"a", "b", "c"}
	sc := map[string]*script{}
	for _, id := range ids {
		sc[id] = &script{clock: clk, up: true}
		if err := m.Add(Target{ID: id, Checker: sc[id], Policy: pol}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Add(Target{ID: "a", Checker: sc["a"]}); err == nil {
		t.Fatal("duplicate Add succeeded")
	}
	run(t, m, clk, 10*time.Millisecond, 5*time.Second)

	// Jittered starts within the first interval, then exactly 1 s apart.
	starts := map[time.Time]bool{}
	for _, id := range ids {
		calls := sc[id].times()
		if len(calls) < 4 {
			t.Fatalf("%s: %d checks in 5 s", id, len(calls))
		}
		if off := calls[0].Sub(t0); off < 0 || off > time.Second {
			t.Errorf("%s: first check at +%v, want within the first interval", id, off)
		}
		starts[calls[0]] = true
		for i := 1; i < len(calls); i++ {
			if d := calls[i].Sub(calls[i-1]); d != time.Second {
				t.Errorf("%s: checks %d and %d are %v apart, want 1s", id, i-1, i, d)
			}
		}
	}
	if len(starts) != len(ids) {
		t.Errorf("targets started together: %v", starts)
	}

	// b fails: fastinter while going down, down after the third failure.
	sc["b"].set(false)
	n0 := len(sc["b"].times())
	run(t, m, clk, 10*time.Millisecond, 3*time.Second)
	calls := sc["b"].times()[n0:]
	if len(calls) < 4 {
		t.Fatalf("b: %d checks after failing", len(calls))
	}
	want := []time.Duration{250 * time.Millisecond, 250 * time.Millisecond, time.Second}
	for i, w := range want {
		if d := calls[i+1].Sub(calls[i]); d != w {
			t.Errorf("b failing: gap %d = %v, want %v", i, d, w)
		}
	}
	trs := rec.all()
	if len(trs) != 1 || trs[0].ID != "b" || trs[0].Up || trs[0].Reason != "scripted failure" || !trs[0].At.Equal(calls[2]) {
		t.Fatalf("transitions %+v, want b down at the third failure (%v)", trs, calls[2])
	}
	st, _ := m.Stats("b")
	if st.Up || st.Failures < 3 || st.LastReason != "scripted failure" {
		t.Errorf("b stats %+v", st)
	}

	sc["b"].set(true)
	run(t, m, clk, 10*time.Millisecond, 3*time.Second)
	trs = rec.all()
	if len(trs) != 2 || trs[1].ID != "b" || !trs[1].Up {
		t.Fatalf("transitions %+v, want b back up", trs)
	}
	tot := m.Totals()
	if tot.Checks == 0 || tot.MaxLateness > 10*time.Millisecond || tot.Failures == 0 {
		t.Errorf("totals %+v (clock steps are 10ms)", tot)
	}
	if q := tot.LatenessQuantile(0.99); q > 10*time.Millisecond {
		t.Errorf("p99 lateness %v", q)
	}
}

func TestMonitorUpdateRemove(t *testing.T) {
	clk := newFakeClock()
	var rec recorder
	m := startMonitor(t, &MonitorConfig{Clock: clk, Seed: 2, OnTransition: rec.add})
	defer m.Close()
	a := &script{clock: clk, up: true}
	if err := m.Add(Target{ID: "a", Checker: a, Policy: Keepalived{DelayLoop: time.Second, Omega: true}}); err != nil {
		t.Fatal(err)
	}
	run(t, m, clk, 10*time.Millisecond, 3*time.Second)
	n := len(a.times())

	// Update: a new checker and a faster loop.
	b := &script{clock: clk, up: true}
	if err := m.Update(Target{ID: "a", Checker: b, Policy: Keepalived{DelayLoop: 200 * time.Millisecond, Omega: true}}); err != nil {
		t.Fatal(err)
	}
	run(t, m, clk, 10*time.Millisecond, 2*time.Second)
	if len(a.times()) != n {
		t.Errorf("old checker still called after Update")
	}
	calls := b.times()
	if len(calls) < 8 {
		t.Fatalf("new checker: %d calls in 2 s at 200ms", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if d := calls[i].Sub(calls[i-1]); d != 200*time.Millisecond {
			t.Errorf("gap %v after update, want 200ms", d)
		}
	}

	// Alpha policy starts down: a StateChange "policy updated".
	if err := m.Update(Target{ID: "a", Checker: b, Policy: Keepalived{DelayLoop: time.Second, Alpha: true, Omega: true}}); err != nil {
		t.Fatal(err)
	}
	trs := rec.all()
	if len(trs) != 1 || trs[0].Up || trs[0].Reason != "policy updated" {
		t.Fatalf("transitions %+v", trs)
	}
	run(t, m, clk, 10*time.Millisecond, 2*time.Second)
	if trs = rec.all(); len(trs) != 2 || !trs[1].Up {
		t.Fatalf("transitions %+v, want up again", trs)
	}

	// Remove with Omega: a final down, then no more checks.
	if err := m.Remove("a"); err != nil {
		t.Fatal(err)
	}
	if trs = rec.all(); len(trs) != 3 || trs[2].Up || trs[2].Reason != "removed" {
		t.Fatalf("transitions %+v, want removed", trs)
	}
	n = len(b.times())
	run(t, m, clk, 100*time.Millisecond, 3*time.Second)
	if len(b.times()) != n {
		t.Errorf("removed target still checked")
	}
	if m.Remove("a") == nil || m.Update(Target{ID: "a", Checker: b}) == nil {
		t.Errorf("Remove/Update of a missing target succeeded")
	}
}

// TestMonitorUpdateWhileRunning: a result from the checker replaced while
// it ran is dropped.
func TestMonitorUpdateWhileRunning(t *testing.T) {
	clk := newFakeClock()
	m := startMonitor(t, &MonitorConfig{Clock: clk, Seed: 3})
	defer m.Close()
	started, release := make(chan struct{}), make(chan struct{})
	slow := CheckerFunc(func(ctx context.Context) Result {
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return Result{Reason: "old checker"}
	})
	mustAdd(t, m, Target{ID: "x", Checker: slow, Policy: HAProxy{Inter: time.Second}})
	clk.Advance(time.Second)
	<-started
	fresh := &script{clock: clk, up: true}
	m.Update(Target{ID: "x", Checker: fresh, Policy: HAProxy{Inter: time.Second}})
	close(release)
	run(t, m, clk, 10*time.Millisecond, 3*time.Second)
	st, _ := m.Stats("x")
	if st.Failures != 0 || !st.Up || st.Checks == 0 {
		t.Fatalf("stats %+v: old result not dropped", st)
	}
}

func TestMonitorWeightChange(t *testing.T) {
	clk := newFakeClock()
	var rec recorder
	m := startMonitor(t, &MonitorConfig{Clock: clk, Seed: 4, OnTransition: rec.add})
	defer m.Close()
	var mu sync.Mutex
	w := 10
	mustAdd(t, m, Target{ID: "d", Policy: HAProxy{Inter: time.Second}, Checker: CheckerFunc(func(context.Context) Result {
		mu.Lock()
		defer mu.Unlock()
		return Result{Up: true, Weight: Weight{Set: true, Value: w}}
	})})
	run(t, m, clk, 10*time.Millisecond, 3*time.Second)
	mu.Lock()
	w = 20
	mu.Unlock()
	run(t, m, clk, 10*time.Millisecond, 3*time.Second)
	trs := rec.all()
	if len(trs) != 2 || trs[0].Kind != WeightChange || trs[0].Result.Weight.Value != 10 || trs[1].Result.Weight.Value != 20 {
		t.Fatalf("transitions %+v, want weight 10 then 20", trs)
	}
}

func TestMonitorClose(t *testing.T) {
	clk := newFakeClock()
	var rec recorder
	m := startMonitor(t, &MonitorConfig{Clock: clk, Seed: 5, OnTransition: rec.add})
	blocked := make(chan struct{})
	mustAdd(t, m, Target{ID: "hang", Policy: Keepalived{DelayLoop: time.Second, Omega: true}, Checker: CheckerFunc(func(ctx context.Context) Result {
		close(blocked)
		<-ctx.Done() // only Close ends it
		return Result{Reason: "cancelled"}
	})})
	clk.Advance(time.Second)
	<-blocked
	m.Close()
	m.Close()
	if trs := rec.all(); len(trs) != 1 || trs[0].Reason != "removed" {
		t.Fatalf("transitions %+v", trs)
	}
	if err := m.Add(Target{ID: "late", Checker: CheckerFunc(func(context.Context) Result { return Result{} })}); err == nil {
		t.Fatal("Add after Close succeeded")
	}
}

// quickScript is a checker with a quick path whose outcome the test sets:
// "done" finishes in quickCheck, "rest" hands a continuation over, "none"
// leaves the check to Check. It records the fake time of every call.
type quickScript struct {
	mu    sync.Mutex
	clock *fakeClock
	mode  string
	up    bool
	// hold, when set, makes continuations wait for it or their context.
	hold                chan struct{}
	quick, rests, calls []time.Time
	cancelled           int
}

func (s *quickScript) result() Result {
	if s.up {
		return Result{Up: true}
	}
	return Result{Reason: "scripted " + s.mode}
}

func (s *quickScript) quickCheck(*quickState) (Result, Checker, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quick = append(s.quick, s.clock.Now())
	switch s.mode {
	case "done":
		return s.result(), nil, true
	case "rest":
		return Result{}, CheckerFunc(func(ctx context.Context) Result {
			s.mu.Lock()
			s.rests = append(s.rests, s.clock.Now())
			hold := s.hold
			s.mu.Unlock()
			if hold != nil {
				select {
				case <-hold:
				case <-ctx.Done():
					s.mu.Lock()
					s.cancelled++
					s.mu.Unlock()
					return Result{Reason: "cancelled"}
				}
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.result()
		}), false
	}
	return Result{}, nil, false
}

func (s *quickScript) Check(context.Context) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, s.clock.Now())
	return s.result()
}

func (s *quickScript) counts() (quick, rests, calls, cancelled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.quick), len(s.rests), len(s.calls), s.cancelled
}

func (s *quickScript) set(up bool) { s.mu.Lock(); s.up = up; s.mu.Unlock() }

// TestMonitorQuickPaths: a quick check that finishes at once, one that
// hands a continuation to a worker and one that declines all keep their
// schedules, and their results count and change state like any other.
func TestMonitorQuickPaths(t *testing.T) {
	clk := newFakeClock()
	var rec recorder
	m := startMonitor(t, &MonitorConfig{Clock: clk, Seed: 6, Concurrency: 2, OnTransition: rec.add})
	defer m.Close()
	pol := HAProxy{Inter: time.Second, Rise: 1, Fall: 1}
	sc := map[string]*quickScript{}
	for _, mode := range []string{"done", "rest", "none"} {
		sc[mode] = &quickScript{clock: clk, mode: mode, up: true}
		if err := m.Add(Target{ID: mode, Checker: sc[mode], Policy: pol}); err != nil {
			t.Fatal(err)
		}
	}
	run(t, m, clk, 10*time.Millisecond, 5*time.Second)
	for mode, s := range sc {
		quick, rests, calls, _ := s.counts()
		st, _ := m.Stats(mode)
		if quick < 4 || st.Checks != uint64(quick) || !st.Up || st.MaxLateness > 10*time.Millisecond {
			t.Errorf("%s: %d quick checks, stats %+v", mode, quick, st)
		}
		switch mode {
		case "done":
			if rests != 0 || calls != 0 {
				t.Errorf("done: %d continuations and %d Check calls, want none", rests, calls)
			}
		case "rest":
			if rests != quick || calls != 0 {
				t.Errorf("rest: %d continuations for %d quick checks, %d Check calls", rests, quick, calls)
			}
		case "none":
			if calls != quick || rests != 0 {
				t.Errorf("none: %d Check calls for %d quick checks", calls, quick)
			}
		}
		s.mu.Lock()
		for i := 1; i < len(s.quick); i++ {
			if d := s.quick[i].Sub(s.quick[i-1]); d != time.Second {
				t.Errorf("%s: quick checks %d and %d are %v apart, want 1s", mode, i-1, i, d)
			}
		}
		s.mu.Unlock()
	}

	for _, s := range sc {
		s.set(false)
	}
	run(t, m, clk, 10*time.Millisecond, 2*time.Second)
	got := map[string]string{}
	for _, tr := range rec.all() {
		if tr.Kind != StateChange || tr.Up {
			t.Errorf("transition %+v", tr)
		}
		got[tr.ID] = tr.Reason
	}
	want := map[string]string{"done": "scripted done", "rest": "scripted rest", "none": "scripted none"}
	if len(got) != len(want) {
		t.Fatalf("transitions %+v", rec.all())
	}
	for id, r := range want {
		if got[id] != r {
			t.Errorf("%s went down with reason %q, want %q", id, got[id], r)
		}
	}
}

// TestMonitorQuickRestCancelled: a continuation in flight ends with its
// target's removal, or the Monitor's close, and its result is dropped.
func TestMonitorQuickRestCancelled(t *testing.T) {
	for _, end := range []string{"remove", "close"} {
		t.Run(end, func(t *testing.T) {
			clk := newFakeClock()
			var rec recorder
			m := startMonitor(t, &MonitorConfig{Clock: clk, Seed: 7, OnTransition: rec.add})
			defer m.Close()
			s := &quickScript{clock: clk, mode: "rest", hold: make(chan struct{})}
			mustAdd(t, m, Target{ID: "x", Checker: s, Policy: HAProxy{Inter: time.Second, Rise: 1, Fall: 1}})
			clk.Advance(time.Second)
			for i := 0; ; i++ {
				if _, rests, _, _ := s.counts(); rests == 1 {
					break
				}
				if i == 5000 { // a safety net only
					t.Fatal("the continuation never ran")
				}
				time.Sleep(time.Millisecond)
			}
			if end == "remove" {
				m.Remove("x")
			} else {
				m.Close()
			}
			for i := 0; ; i++ {
				if _, _, _, c := s.counts(); c == 1 {
					break
				}
				if i == 5000 {
					t.Fatal("the continuation was not cancelled")
				}
				time.Sleep(time.Millisecond)
			}
			m.Close()
			if trs := rec.all(); len(trs) != 0 {
				t.Errorf("transitions %+v from a dropped result", trs)
			}
		})
	}
}

// startMonitor returns a Monitor running on a goroutine of its own, closed
// (and its Run waited for) when the test ends.
func startMonitor(tb testing.TB, cfg *MonitorConfig) *Monitor {
	tb.Helper()
	m, err := NewMonitor(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background()) }()
	tb.Cleanup(func() {
		m.Close()
		if err := <-done; err != nil && !errors.Is(err, ErrClosed) {
			tb.Errorf("Monitor.Run: %v", err)
		}
	})
	return m
}

// mustAdd adds t to m, failing the test on an error.
func mustAdd(tb testing.TB, m *Monitor, t Target) {
	tb.Helper()
	if err := m.Add(t); err != nil {
		tb.Fatal(err)
	}
}
