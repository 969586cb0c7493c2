package check

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// TestMonitorSharesEqualPolicies: targets whose built-in policies are
// equal once defaulted share one, counted, and forgotten with the last.
func TestMonitorSharesEqualPolicies(t *testing.T) {
	m, err := NewMonitor(&MonitorConfig{Clock: newFakeClock(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := &script{clock: newFakeClock(), up: true}
	ka := Keepalived{DelayLoop: 60 * time.Second}
	for i, p := range []Policy{ka, Keepalived{}, &ka, HAProxy{}, HAProxy{Inter: 2 * time.Second, Rise: 2, Fall: 3}} {
		if err := m.Add(Target{ID: string(rune('a' + i)), Checker: c, Policy: p}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Add(Target{ID: "nil", Checker: c}); err != nil { // HAProxy{}
		t.Fatal(err)
	}
	if len(m.pols.ka) != 1 || len(m.pols.hp) != 1 {
		t.Fatalf("%d keepalived and %d haproxy policies, want one each", len(m.pols.ka), len(m.pols.hp))
	}
	for _, p := range m.pols.ka {
		if p.refs != 3 {
			t.Errorf("keepalived policy held %d times, want 3", p.refs)
		}
	}
	if err := m.Update(Target{ID: "a", Checker: c, Policy: Keepalived{Retry: 2}}); err != nil {
		t.Fatal(err)
	}
	if len(m.pols.ka) != 2 {
		t.Fatalf("%d keepalived policies after an update to a new one, want 2", len(m.pols.ka))
	}
	for _, id := range []string{"a", "b", "c", "d", "e", "nil"} {
		if err := m.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.pols.ka)+len(m.pols.hp) != 0 {
		t.Fatalf("policies left after the last target: %d keepalived, %d haproxy", len(m.pols.ka), len(m.pols.hp))
	}
}

// countPolicy is a policy of the caller's own, not comparable (a slice
// field): up after two successes in a row, down at the first failure,
// checks every Every.
type countPolicy struct {
	Every time.Duration
	log   []string
}

func (p countPolicy) NewMachine() Machine { return &countMachine{every: p.Every} }

type countMachine struct {
	every time.Duration
	ok    int
}

func (m *countMachine) Up() bool                    { return m.ok >= 2 }
func (m *countMachine) Start(float64) time.Duration { return m.every }
func (m *countMachine) Observe(r Result) (time.Duration, bool) {
	was := m.Up()
	if r.Up {
		m.ok++
	} else {
		m.ok = 0
	}
	return m.every, m.Up() != was
}

// TestMonitorOwnPolicy: a policy of another type gets a Machine per
// target, which the Monitor follows for state, schedule and transitions.
func TestMonitorOwnPolicy(t *testing.T) {
	clk := newFakeClock()
	var rec recorder
	m := startMonitor(t, &MonitorConfig{Clock: clk, Seed: 1, OnTransition: rec.add})
	s := &script{clock: clk, up: true}
	mustAdd(t, m, Target{ID: "own", Checker: s, Policy: countPolicy{Every: 100 * time.Millisecond, log: []string{"x"}}})
	if st, _ := m.Stats("own"); st.Up {
		t.Fatal("own policy's target starts up, its machine says down")
	}
	run(t, m, clk, 10*time.Millisecond, 250*time.Millisecond)
	if trs := rec.all(); len(trs) != 1 || !trs[0].Up {
		t.Fatalf("transitions %+v, want one up after two successes", trs)
	}
	s.set(false)
	run(t, m, clk, 10*time.Millisecond, 100*time.Millisecond)
	trs := rec.all()
	if len(trs) != 2 || trs[1].Up {
		t.Fatalf("transitions %+v, want down at the first failure", trs)
	}
	calls := s.times()
	for i := 1; i < len(calls); i++ {
		if d := calls[i].Sub(calls[i-1]); d != 100*time.Millisecond {
			t.Errorf("gap %v, want the machine's 100ms", d)
		}
	}
	if st, _ := m.Stats("own"); st.Up || st.Checks != uint64(len(calls)) || st.LastReason == "" {
		t.Errorf("stats %+v after %d checks", st, len(calls))
	}
}

// TestMonitorOverdueTargetsAllChecked: thousands of targets overdue at
// once (the clock jumps half a delay_loop) go out in several batches of
// at most maxBatch, each target checked exactly once.
func TestMonitorOverdueTargetsAllChecked(t *testing.T) {
	clk := newFakeClock()
	m := startMonitor(t, &MonitorConfig{Clock: clk, Seed: 3})
	ok := CheckerFunc(func(context.Context) Result { return Result{Up: true} })
	const n = 3 * maxBatch
	for i := range n {
		mustAdd(t, m, Target{ID: strconv.Itoa(i), Checker: ok, Policy: Keepalived{DelayLoop: time.Minute}})
	}
	waitIdle(t, m)
	clk.Advance(30 * time.Second)
	waitIdle(t, m)
	checked := 0
	for i := range n {
		st, _ := m.Stats(strconv.Itoa(i))
		switch st.Checks {
		case 0:
		case 1:
			checked++
		default:
			t.Fatalf("target %d checked %d times", i, st.Checks)
		}
	}
	// Start times are spread over the minute: about half are due.
	if checked < n*2/5 || checked > n*3/5 || m.Totals().Checks != uint64(checked) {
		t.Fatalf("%d of %d targets checked, totals %d", checked, n, m.Totals().Checks)
	}
}
