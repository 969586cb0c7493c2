package check

import (
	"strconv"
	"testing"
	"time"
)

// TestMonitorChecksOnGrid: the first checks of many targets are spread
// over the interval on dueGrid's points, so the loop wakes once per point
// for all the targets due there; a target whose interval is a multiple of
// the grid stays on it, and one whose interval is not keeps its exact
// period (no drift), off the grid. No check is late.
func TestMonitorChecksOnGrid(t *testing.T) {
	clk := newFakeClock()
	epoch := clk.Now()
	m := startMonitor(t, &MonitorConfig{Clock: clk, Seed: 7, Concurrency: 4})
	const n = 200
	var on [n]*script
	for i := range on {
		on[i] = &script{clock: clk, up: true}
		mustAdd(t, m, Target{ID: strconv.Itoa(i), Checker: on[i], Policy: HAProxy{Inter: time.Second}})
	}
	const odd = 1001 * time.Millisecond
	off := &script{clock: clk, up: true}
	mustAdd(t, m, Target{ID: "odd", Checker: off, Policy: HAProxy{Inter: odd}})
	run(t, m, clk, time.Millisecond, 3500*time.Millisecond)

	points := map[time.Duration]bool{}
	for i, s := range on {
		calls := s.times()
		if len(calls) < 3 {
			t.Fatalf("target %d: %d checks in 3.5 s, want 3 or more", i, len(calls))
		}
		for k, c := range calls {
			at := c.Sub(epoch)
			if at%dueGrid != 0 {
				t.Errorf("target %d: check %d at %v, not on the %v grid", i, k, at, dueGrid)
			}
			if k > 0 && c.Sub(calls[k-1]) != time.Second {
				t.Errorf("target %d: checks %v apart, want 1s", i, c.Sub(calls[k-1]))
			}
		}
		points[calls[0].Sub(epoch)] = true
	}
	// 200 first checks over 250 grid points: spread, not bunched.
	if len(points) < n/2 {
		t.Errorf("first checks on %d distinct grid points, want %d or more", len(points), n/2)
	}
	calls := off.times()
	if len(calls) < 3 {
		t.Fatalf("odd target: %d checks, want 3 or more", len(calls))
	}
	for k := 1; k < len(calls); k++ {
		if d := calls[k].Sub(calls[k-1]); d != odd {
			t.Errorf("odd target: checks %v apart, want %v", d, odd)
		}
	}
	if late := m.Totals().MaxLateness; late != 0 {
		t.Errorf("max lateness %v, want 0", late)
	}
}
