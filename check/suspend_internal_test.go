package check

import (
	"errors"
	"testing"
	"time"
)

// TestSuspendStopsChecksAndKeepsState: a suspended target starts no check
// and reports no transition, keeps its state (down here) and counters
// through Suspend and Update, and checks again within one interval of
// Resume, on a fresh schedule.
func TestSuspendStopsChecksAndKeepsState(t *testing.T) {
	clk := newFakeClock()
	var rec recorder
	m := startMonitor(t, &MonitorConfig{Clock: clk, Seed: 1, Concurrency: 2, OnTransition: rec.add})
	defer m.Close()
	pol := Keepalived{DelayLoop: time.Second, Retry: 1}
	a := &script{clock: clk}
	b := &script{clock: clk, up: true}
	for id, sc := range map[string]*script{"a": a, "b": b} {
		if err := m.Add(Target{ID: id, Checker: sc, Policy: pol}); err != nil {
			t.Fatal(err)
		}
	}
	run(t, m, clk, 10*time.Millisecond, 3*time.Second)
	if st, _ := m.Stats("a"); st.Up || st.Suspended {
		t.Fatalf("a before Suspend: %+v, want down and not suspended", st)
	}
	nTr := len(rec.all())

	if err := m.Suspend("a"); err != nil {
		t.Fatal(err)
	}
	if err := m.Suspend("a"); err != nil { // twice is harmless
		t.Fatal(err)
	}
	at := clk.Now()
	na, nb := len(a.times()), len(b.times())
	a.set(true) // would bring it up if it were checked
	run(t, m, clk, 10*time.Millisecond, 5*time.Second)
	if got := len(a.times()); got != na {
		t.Errorf("a suspended: %d checks after Suspend, want none", got-na)
	}
	if got := len(b.times()) - nb; got < 4 {
		t.Errorf("b (not suspended) checked %d times in 5 s", got)
	}
	st, _ := m.Stats("a")
	if st.Up || !st.Suspended || st.Checks != uint64(na) {
		t.Errorf("a suspended: stats %+v, want down, suspended, %d checks", st, na)
	}
	if trs := rec.all(); len(trs) != nTr {
		t.Errorf("transitions while suspended: %+v", trs[nTr:])
	}

	// Update keeps it suspended.
	if err := m.Update(Target{ID: "a", Checker: a, Policy: pol}); err != nil {
		t.Fatal(err)
	}
	run(t, m, clk, 10*time.Millisecond, 3*time.Second)
	if got := len(a.times()); got != na {
		t.Errorf("a suspended then updated: %d checks", got-na)
	}

	if err := m.Resume("a"); err != nil {
		t.Fatal(err)
	}
	resumed := clk.Now()
	run(t, m, clk, 10*time.Millisecond, 3*time.Second)
	calls := a.times()[na:]
	if len(calls) < 2 {
		t.Fatalf("a resumed: %d checks in 3 s", len(calls))
	}
	if d := calls[0].Sub(resumed); d < 0 || d > time.Second {
		t.Errorf("first check %v after Resume, want within delay_loop", d)
	}
	for i := 1; i < len(calls); i++ {
		if d := calls[i].Sub(calls[i-1]); d != time.Second {
			t.Errorf("resumed checks %d and %d are %v apart, want 1s (one schedule)", i-1, i, d)
		}
	}
	if st, _ := m.Stats("a"); !st.Up || st.Suspended {
		t.Errorf("a resumed: stats %+v, want up", st)
	}
	if trs := rec.all(); len(trs) != nTr+1 || trs[nTr].ID != "a" || !trs[nTr].Up || trs[nTr].At.Before(at) {
		t.Errorf("transitions after Resume: %+v, want a up", trs[nTr:])
	}
	if err := m.Resume("a"); err != nil { // not suspended: nothing
		t.Fatal(err)
	}
}

// TestSuspendUnknownAndClosed: Suspend and Resume name missing targets
// with ErrNotFound and refuse after Close.
func TestSuspendUnknownAndClosed(t *testing.T) {
	m, err := NewMonitor(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Suspend("x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Suspend(missing) = %v", err)
	}
	if err := m.Resume("x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resume(missing) = %v", err)
	}
	m.Close()
	if err := m.Suspend("x"); !errors.Is(err, ErrClosed) {
		t.Errorf("Suspend after Close = %v", err)
	}
	if err := m.Resume("x"); !errors.Is(err, ErrClosed) {
		t.Errorf("Resume after Close = %v", err)
	}
}
