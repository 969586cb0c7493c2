package check

import (
	"strconv"
	"testing"
	"time"
)

// TestMonitorGrowAddAllocatesOnlyEntries: after Grow(n), adding n targets
// of a shared policy allocates one object each, the entry: neither the
// target set nor the due heap is reallocated, and the shared policy is not
// copied per target.
func TestMonitorGrowAddAllocatesOnlyEntries(t *testing.T) {
	m, err := NewMonitor(&MonitorConfig{Clock: newFakeClock(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := &script{clock: newFakeClock(), up: true}
	const n = 1000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "t" + strconv.Itoa(i)
	}
	var pol Policy = Keepalived{DelayLoop: 6 * time.Second}
	// The policy is shared from the first target on.
	if err := m.Add(Target{ID: "first", Checker: c, Policy: pol}); err != nil {
		t.Fatal(err)
	}
	m.Grow(n)
	slots, due := len(m.targets.slots), cap(m.due)
	i := 0
	// AllocsPerRun calls once more than it is asked to: n-1 Adds.
	allocs := testing.AllocsPerRun(n-2, func() {
		if err := m.Add(Target{ID: ids[i], Checker: c, Policy: pol}); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs > 1 {
		t.Errorf("Add after Grow: %.2f allocations a target, want 1 (the entry)", allocs)
	}
	if len(m.targets.slots) != slots || cap(m.due) != due {
		t.Errorf("tables reallocated by Add after Grow: slots %d -> %d, due cap %d -> %d", slots, len(m.targets.slots), due, cap(m.due))
	}
	if got := m.Len(); got != n {
		t.Errorf("Len = %d, want %d", got, n)
	}
	for _, id := range append(ids[:n-1], "first") {
		if _, ok := m.Stats(id); !ok {
			t.Fatalf("target %s not found", id)
		}
	}
	m.Grow(-1) // no-op
	m.Grow(0)
}
