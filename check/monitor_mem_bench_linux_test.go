package check_test

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

// BenchmarkMonitorMemory measures what a Monitor keeps per target: 40,000
// TCP targets (LVSKIT_BENCH_TARGETS), four to each of the scale
// benchmark's loopback listeners as four real servers of lvsrouter's
// scale configuration, under keepalived's policy with delay_loop 60 (as
// that configuration) and 1 s, registered and running. It reports
//
//	B/target      the live heap the Monitor adds per target, after GC:
//	              the targets are built and held before the Monitor
//	              sees them, as lvsrouter's plan holds them
//	B/target-all  the same with the Target values themselves (ID
//	              string, boxed checker and policy)
//	rss-MiB       the resident set of the whole test process
//
// LVSKIT_HEAPPROFILE=FILE writes the live heap by allocation site (every
// allocation sampled) to FILE-<delay> once the targets run.
func BenchmarkMonitorMemory(b *testing.B) {
	lns := startListeners(b)
	b.Cleanup(func() {
		if benchStop != nil {
			benchStop()
		}
	})
	n := envInt("LVSKIT_BENCH_TARGETS", 40000)
	profile := os.Getenv("LVSKIT_HEAPPROFILE")
	if profile != "" {
		runtime.MemProfileRate = 1
	}
	for _, delay := range []time.Duration{60 * time.Second, time.Second} {
		b.Run(fmt.Sprintf("tcp-%d-delay%v", n, delay), func(b *testing.B) {
			for range b.N {
				benchMonitorMemory(b, lns.tcp, n, delay, profile)
			}
		})
	}
}

func benchMonitorMemory(b *testing.B, addrs []netip.AddrPort, n int, delay time.Duration, profile string) {
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	h0 := heap()
	targets := make([]check.Target, n)
	for i := range targets {
		a := addrs[i/4%len(addrs)]
		vs := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i / 4 >> 16), byte(i / 4 >> 8), byte(i / 4)}), 80)
		targets[i] = check.Target{
			ID:      vs.String() + " -> " + a.String() + " #" + strconv.Itoa(i%4),
			Checker: check.TCP{Addr: a, Timeout: 5 * time.Second},
			Policy:  check.Keepalived{DelayLoop: delay},
		}
	}
	h1 := heap()
	m := startMonitor(b, &check.MonitorConfig{Seed: 1})
	for _, t := range targets {
		mustAdd(b, m, t)
	}
	// Running: at 1 s every target is checked about three times, at 60 s
	// about one in twenty once.
	time.Sleep(3 * time.Second)
	h2 := heap()
	tot := m.Totals()
	if profile != "" {
		f, err := os.Create(profile + "-" + delay.String())
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	b.ReportMetric(float64(int64(h2-h1))/float64(n), "B/target")
	b.ReportMetric(float64(int64(h2-h0))/float64(n), "B/target-all")
	b.ReportMetric(float64(rssKiB(os.Getpid()))/1024, "rss-MiB")
	b.ReportMetric(float64(tot.Checks), "checks")
	b.ReportMetric(float64(tot.Failures), "fails")
	m.Close()
	runtime.KeepAlive(targets)
}
