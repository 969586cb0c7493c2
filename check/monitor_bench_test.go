package check_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

// BenchmarkMonitorOverhead measures what the Monitor itself costs per
// check (heap, timer, hand-off to a worker, policy) with a checker that
// does nothing: 1,000 targets due every millisecond.
func BenchmarkMonitorOverhead(b *testing.B) {
	b.ReportAllocs()
	var n atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	noop := check.CheckerFunc(func(context.Context) check.Result {
		if n.Add(1) == target {
			close(done)
		}
		return check.Result{Up: true}
	})
	m := check.NewMonitor(check.MonitorConfig{Seed: 1, Concurrency: 4})
	defer m.Close()
	b.ResetTimer()
	for i := range 1000 {
		m.Add(check.Target{ID: strconv.Itoa(i), Checker: noop, Policy: check.HAProxy{Inter: time.Millisecond}})
	}
	<-done
	b.StopTimer()
}
