package main

import (
	"context"
	"log/slog"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// A reload's critical path runs from the SIGHUP to the kernel's ack of its
// netlink operation on two goroutines (os/signal's, then serve's reload
// goroutine: the incremental read and Router.Reload's Load). With -D the router logs, once the
// kernel change is made, when each step of it ended, as offsets from the
// signal's wake-up ("reload timeline"), with the collector's cycles and
// CPU meanwhile: where a slow reload lost its time. The marks are a clock
// read each, taken whether or not the line is logged.
type reloadTrace struct {
	mu    sync.Mutex
	woke  time.Time // serve's goroutine received the signal
	n     int
	steps [32]traceStep
	gc    [2]metrics.Sample
	gc0   [2]uint64 // the samples at woke: cycles, GC CPU in ns
	hold  *logHold  // released when the trace ends
}

type traceStep struct {
	name string
	at   time.Time
}

// curTrace is the running reload's trace, nil between reloads. Only one
// reload runs at a time (serve's reload goroutine reads and loads).
var curTrace atomic.Pointer[reloadTrace]

// lastGCCycles is the collector's cycle count when the last trace ended:
// a cycle since then, up to the signal's wake-up, may have delayed it.
var lastGCCycles atomic.Uint64

// startTrace begins the trace of a reload whose signal was received at
// woke, holding hold's records back (when not nil) until it ends.
func startTrace(woke time.Time, hold *logHold) {
	t := &reloadTrace{woke: woke, hold: hold}
	if hold != nil {
		hold.hold()
	}
	t.gc[0].Name = "/gc/cycles/total:gc-cycles"
	t.gc[1].Name = "/cpu/classes/gc/total:cpu-seconds"
	metrics.Read(t.gc[:])
	t.gc0 = [2]uint64{gcSample(t.gc[0]), uint64(gcSeconds(t.gc[1]) * 1e9)}
	curTrace.Store(t)
}

// traceMark records the end of step name of the running reload, if any.
func traceMark(name string) {
	t := curTrace.Load()
	if t == nil {
		return
	}
	now := time.Now()
	t.mu.Lock()
	if t.n < len(t.steps) {
		t.steps[t.n] = traceStep{name, now}
		t.n++
	}
	t.mu.Unlock()
}

// endTrace ends the running reload's trace, writes the log records held
// meanwhile, and logs the trace at debug level.
func endTrace(log *slog.Logger) {
	t := curTrace.Swap(nil)
	if t == nil {
		return
	}
	if t.hold != nil {
		t.hold.release()
	}
	if log == nil || !log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	metrics.Read(t.gc[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	attrs := make([]any, 0, 2*t.n+6)
	attrs = append(attrs, "woke", t.woke.UTC().Format(time.RFC3339Nano))
	for _, s := range t.steps[:t.n] {
		attrs = append(attrs, s.name, s.at.Sub(t.woke).Round(time.Microsecond))
	}
	prev := lastGCCycles.Swap(gcSample(t.gc[0]))
	attrs = append(attrs, "gc_before", t.gc0[0]-min(prev, t.gc0[0]), "gc_cycles", gcSample(t.gc[0])-t.gc0[0],
		"gc_cpu", time.Duration(uint64(gcSeconds(t.gc[1])*1e9)-t.gc0[1]).Round(time.Microsecond))
	log.Debug("reload timeline", attrs...)
}

func gcSample(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}

func gcSeconds(s metrics.Sample) float64 {
	if s.Value.Kind() == metrics.KindFloat64 {
		return s.Value.Float64()
	}
	return 0
}
