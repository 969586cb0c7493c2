package check_test

import (
	"context"
	"net"
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
	m := startMonitor(b, &check.MonitorConfig{Seed: 1, Concurrency: 4})
	defer m.Close()
	b.ResetTimer()
	for i := range 1000 {
		mustAdd(b, m, check.Target{ID: strconv.Itoa(i), Checker: noop, Policy: check.HAProxy{Inter: time.Millisecond}})
	}
	<-done
	b.StopTimer()
}

// BenchmarkMonitorNeighbour measures what a busy Monitor costs the rest
// of its program: the lateness of a goroutine sleeping 2 ms at a time
// while 2,000 TCP targets are checked at 1 s on loopback. Run it with
// -cpu 1,2: with a single P the Monitor must not hold it while it sleeps.
func BenchmarkMonitorNeighbour(b *testing.B) {
	for range b.N {
		m := startMonitor(b, &check.MonitorConfig{Seed: 1})
		for i := range 2000 {
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			mustAdd(b, m, check.Target{ID: strconv.Itoa(i), Checker: check.TCP{Addr: ln.Addr().(*net.TCPAddr).AddrPort()}, Policy: check.HAProxy{Inter: time.Second}})
		}
		time.Sleep(time.Second)
		var worst, sum time.Duration
		n := 0
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); n++ {
			t0 := time.Now()
			time.Sleep(2 * time.Millisecond)
			late := time.Since(t0) - 2*time.Millisecond
			worst, sum = max(worst, late), sum+late
		}
		m.Close()
		b.ReportMetric(float64(sum)/float64(n)/1e3, "sleep-late-mean-us")
		b.ReportMetric(float64(worst)/1e3, "sleep-late-max-us")
	}
}
