package testenv

import (
	"runtime/metrics"
	"time"
)

// HeapPeak polls the heap's objects (live and not yet collected, from
// runtime/metrics, without stopping the world) every 100 µs until the
// returned func is called, which returns the largest value seen: the peak
// heap of what ran meanwhile, for benchmarks that report one.
func HeapPeak() (stop func() uint64) {
	quit, done := make(chan struct{}), make(chan uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-quit:
				metrics.Read(s)
				done <- max(peak, s[0].Value.Uint64())
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(quit)
		return <-done
	}
}
