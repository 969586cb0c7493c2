package check_test

import (
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

// step is one observed result and what the policy must answer.
type step struct {
	up      bool          // the check result
	next    time.Duration // delay before the next check
	changed bool
	state   bool // Up() afterwards
}

func runSteps(t *testing.T, m check.Machine, steps []step) {
	t.Helper()
	for i, s := range steps {
		r := check.Result{Up: s.up}
		if !s.up {
			r.Reason = "test failure"
		}
		next, changed := m.Observe(r)
		if next != s.next || changed != s.changed || m.Up() != s.state {
			t.Fatalf("step %d (result up=%v): got next=%v changed=%v up=%v; want next=%v changed=%v up=%v",
				i, s.up, next, changed, m.Up(), s.next, s.changed, s.state)
		}
	}
}

func TestKeepalivedPolicy(t *testing.T) {
	const loop, dbr = 10 * time.Second, time.Second
	p := check.Keepalived{DelayLoop: loop, Retry: 2, DelayBeforeRetry: dbr}
	m := p.NewMachine()
	if !m.Up() {
		t.Fatal("keepalived target must start up without alpha")
	}
	if d := m.Start(0.5); d != loop/2 {
		t.Errorf("Start(0.5) = %v, want %v", d, loop/2)
	}
	runSteps(t, m, []step{
		{true, loop, false, true},
		{false, dbr, false, true},   // retry 1
		{false, dbr, false, true},   // retry 2
		{false, loop, true, false},  // retries used up: down
		{false, loop, false, false}, // no retries while down
		{true, loop, true, true},    // one success brings it up
		{false, dbr, false, true},   // retry 1
		{true, loop, false, true},   // success resets the retry count
		{false, dbr, false, true},
		{false, dbr, false, true},
		{false, loop, true, false},
	})
}

func TestKeepalivedAlphaWarmup(t *testing.T) {
	p := check.Keepalived{DelayLoop: 6 * time.Second, Retry: 1, DelayBeforeRetry: 2 * time.Second, Alpha: true, Warmup: 4 * time.Second}
	m := p.NewMachine()
	if m.Up() {
		t.Fatal("alpha target must start down")
	}
	if d := m.Start(0.25); d != time.Second {
		t.Errorf("Start(0.25) with warmup 4s = %v, want 1s", d)
	}
	runSteps(t, m, []step{
		{false, 2 * time.Second, false, false}, // first run retries even when down
		{false, 6 * time.Second, false, false}, // stays down, no transition
		{true, 6 * time.Second, true, true},
	})
}

func TestKeepalivedDefaults(t *testing.T) {
	m := check.Keepalived{}.NewMachine()
	runSteps(t, m, []step{
		{false, 60 * time.Second, true, false}, // retry 0: first failure is final
		{true, 60 * time.Second, true, true},
	})
}

func TestHAProxyPolicy(t *testing.T) {
	const inter, fast, downi = 2 * time.Second, 500 * time.Millisecond, 5 * time.Second
	m := check.HAProxy{Inter: inter, FastInter: fast, DownInter: downi, Rise: 2, Fall: 3}.NewMachine()
	health := func(want int) {
		t.Helper()
		if h, _ := check.Health(m); h != want {
			t.Fatalf("health %d, want %d", h, want)
		}
	}
	if !m.Up() {
		t.Fatal("HAProxy server must start up")
	}
	health(2)
	if d := m.Start(0.5); d != inter/2 {
		t.Errorf("Start = %v", d)
	}
	runSteps(t, m, []step{
		{false, downi, true, false}, // starting at rise, one failure takes it down
	})
	health(0)
	runSteps(t, m, []step{
		{false, downi, false, false},
		{true, fast, false, false}, // going up
		{true, inter, true, true},  // rise reached: jump to the top
	})
	health(4)
	runSteps(t, m, []step{
		{false, fast, false, true}, // going down
		{false, fast, false, true},
		{true, inter, false, true}, // a success restores full health
		{false, fast, false, true},
		{false, fast, false, true},
		{false, downi, true, false}, // third failure in a row
	})
	health(0)
}

func TestHAProxyDefaults(t *testing.T) {
	m := check.HAProxy{StartDown: true}.NewMachine()
	if m.Up() {
		t.Fatal("StartDown")
	}
	runSteps(t, m, []step{
		{true, 2 * time.Second, false, false}, // fastinter defaults to inter
		{true, 2 * time.Second, true, true},
		{false, 2 * time.Second, false, true},
		{false, 2 * time.Second, false, true},
		{false, 2 * time.Second, true, false},
	})
}
