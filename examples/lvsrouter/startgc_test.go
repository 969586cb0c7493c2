package main

import (
	"runtime/debug"
	"testing"
)

// TestStartGC: the start's one policy. During the read the collector runs
// at startReadGC percent, the memory limit as it was; during the load it is off
// under a memory limit of at least twice the live heap; end puts both
// back as they were, once; a GOGC or GOMEMLIMIT in the environment leaves
// them alone throughout.
func TestStartGC(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	pct := debug.SetGCPercent(150)
	defer debug.SetGCPercent(pct)
	lim := debug.SetMemoryLimit(1 << 40)
	defer debug.SetMemoryLimit(lim)
	g := beginStart()
	if got := debug.SetGCPercent(-1); got != startReadGC {
		t.Errorf("GC percent during the read = %d, want %d", got, startReadGC)
	}
	debug.SetGCPercent(startReadGC)
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("memory limit during the read = %d, want it left at %d", got, 1<<40)
	}
	g.loading()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GC percent during the load = %d, want -1 (off)", got)
	}
	if got := debug.SetMemoryLimit(-1); got <= 4<<20 || got == 1<<63-1 {
		t.Errorf("memory limit during the load = %d", got)
	}
	g.end()
	if got := debug.SetGCPercent(-1); got != 150 {
		t.Errorf("GC percent after end = %d, want 150", got)
	}
	debug.SetGCPercent(150)
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("memory limit after end = %d, want %d", got, 1<<40)
	}
	g.end() // a second end changes nothing
	if got := debug.SetGCPercent(-1); got != 150 {
		t.Errorf("GC percent after a second end = %d, want 150", got)
	}
	debug.SetGCPercent(150)
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "200")
			g := beginStart()
			g.loading()
			if got := debug.SetGCPercent(150); got != 150 {
				t.Errorf("with %s set: GC percent = %d, want it left at 150", env, got)
			}
			if got := debug.SetMemoryLimit(-1); got != 1<<40 {
				t.Errorf("with %s set: memory limit = %d, want it left", env, got)
			}
			g.end()
		})
	}
}
