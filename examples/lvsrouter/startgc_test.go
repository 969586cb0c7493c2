package main

import (
	"os"
	"path/filepath"
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

// TestReadHeap: during the first read the collector is off under a memory
// limit of at least readHeapPerByte per byte of the file above what the
// process holds; restore puts both back; a GOGC in the environment, or a
// file that cannot be stat'ed, leaves them alone.
func TestReadHeap(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	pct := debug.SetGCPercent(100)
	defer debug.SetGCPercent(pct)
	restore := readHeap(path)
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GC percent during the read = %d, want -1 (off)", got)
	}
	if lim := debug.SetMemoryLimit(-1); lim < readHeapPerByte*4<<20 || lim == 1<<63-1 {
		t.Errorf("memory limit during the read = %d, want at least %d", lim, readHeapPerByte*4<<20)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent after restore = %d, want 100", got)
	}
	if lim := debug.SetMemoryLimit(-1); lim != 1<<63-1 {
		t.Errorf("memory limit after restore = %d, want none", lim)
	}
	for name, p := range map[string]string{"missing file": path + ".missing", "GOGC set": path} {
		if name == "GOGC set" {
			t.Setenv("GOGC", "200")
		}
		restore = readHeap(p)
		if got := debug.SetGCPercent(100); got != 100 {
			t.Errorf("%s: GC percent = %d, want it left at 100", name, got)
		}
		restore()
	}
}
