package testenv

import (
	"runtime"
	"testing"
)

// TestHeapPeak: a peak taken around an allocation of 64 MiB kept alive
// counts it.
func TestHeapPeak(t *testing.T) {
	stop := HeapPeak()
	b := make([]byte, 64<<20)
	for i := range b {
		b[i] = 1
	}
	peak := stop()
	runtime.KeepAlive(b)
	if peak < 64<<20 {
		t.Errorf("peak %d bytes, want at least 64 MiB", peak)
	}
}
