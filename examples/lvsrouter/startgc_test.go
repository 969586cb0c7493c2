package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

// TestStartGC: the start's one policy. During the read the collector is
// off under a memory limit of readHeapPerByte per byte of the file above
// what the process holds, raised to fullReadHeapPerByte for a full read;
// during the load it is off under a memory limit of at least
// loadHeapPerLive live heaps, and 2 once the first apply is made; end
// puts both back as they were, once; a GOGC or GOMEMLIMIT in the
// environment leaves them alone throughout.
func TestStartGC(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	const size = 16 << 20
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	pct := debug.SetGCPercent(150)
	defer debug.SetGCPercent(pct)
	lim := debug.SetMemoryLimit(1 << 40)
	defer debug.SetMemoryLimit(lim)
	gcPercent := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }
	limit := func() int64 { return debug.SetMemoryLimit(-1) }

	g := beginStart(path)
	if got := gcPercent(); got != -1 {
		t.Errorf("GC percent during the read = %d, want -1 (off)", got)
	}
	read := limit()
	if read < readHeapPerByte*size || read > 1<<40/2 {
		t.Errorf("memory limit during the read = %d, want at least %d", read, readHeapPerByte*size)
	}
	g.fullRead()
	if got := limit(); got < fullReadHeapPerByte*size || got <= read {
		t.Errorf("memory limit during a full read = %d, want at least %d", got, fullReadHeapPerByte*size)
	}
	g.loading()
	if got := gcPercent(); got != -1 {
		t.Errorf("GC percent during the load = %d, want -1 (off)", got)
	}
	if got := limit(); got <= 4<<20 || got == 1<<63-1 {
		t.Errorf("memory limit during the load = %d", got)
	}
	// Once the kernel change is made: 2 live heaps (and 4 MiB), the
	// collector still off.
	g.applied()
	if got := gcPercent(); got != -1 {
		t.Errorf("GC percent once applied = %d, want -1 (off)", got)
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	// Within 1 MiB: a collection another test's goroutine starts may
	// move the live heap between applied and the read above.
	if got, want := limit(), int64(2*s[0].Value.Uint64()+4<<20); got < want-1<<20 || got > want+1<<20 {
		t.Errorf("memory limit once applied = %d, want %d", got, want)
	}
	g.end()
	if got := gcPercent(); got != 150 {
		t.Errorf("GC percent after end = %d, want 150", got)
	}
	if got := limit(); got != 1<<40 {
		t.Errorf("memory limit after end = %d, want %d", got, 1<<40)
	}
	g.end() // a second end changes nothing
	if got := gcPercent(); got != 150 {
		t.Errorf("GC percent after a second end = %d, want 150", got)
	}

	t.Run("percent", func(t *testing.T) {
		defer func(v int) { startReadGC = v }(startReadGC)
		startReadGC = 100
		g := beginStart(path)
		g.fullRead()
		if got := gcPercent(); got != 100 {
			t.Errorf("GC percent during the read = %d, want 100", got)
		}
		if got := limit(); got != 1<<40 {
			t.Errorf("memory limit during the read = %d, want it left", got)
		}
		g.end()
	})
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "200")
			g := beginStart(path)
			g.fullRead()
			g.loading()
			if got := gcPercent(); got != 150 {
				t.Errorf("with %s set: GC percent = %d, want it left at 150", env, got)
			}
			if got := limit(); got != 1<<40 {
				t.Errorf("with %s set: memory limit = %d, want it left", env, got)
			}
			g.end()
		})
	}
	var none *startGC
	none.fullRead() // start's gc may be nil
	none.applied()
}
