package main

import (
	"runtime/debug"
	"testing"
)

// TestReuseHeap: during the first load the collector is off under a
// memory limit of at least twice the live heap; restore puts both back;
// a GOGC in the environment leaves them alone.
func TestReuseHeap(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	pct := debug.SetGCPercent(100)
	defer debug.SetGCPercent(pct)
	restore := reuseHeap()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GC percent during the load = %d, want -1 (off)", got)
	}
	if lim := debug.SetMemoryLimit(-1); lim <= 4<<20 || lim == 1<<63-1 {
		t.Errorf("memory limit during the load = %d", lim)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent after restore = %d, want 100", got)
	}
	if lim := debug.SetMemoryLimit(-1); lim != 1<<63-1 {
		t.Errorf("memory limit after restore = %d, want none", lim)
	}
	t.Setenv("GOGC", "200")
	restore = reuseHeap()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set: GC percent = %d, want it left at 100", got)
	}
	restore()
}
