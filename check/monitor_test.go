package check_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
)

// TestMonitorRealTCP runs a Monitor on the real clock against loopback
// listeners: a listener that goes away is reported down, and pointing the
// target at a live listener brings it back.
func TestMonitorRealTCP(t *testing.T) {
	noLeaks(t)
	const n = 20
	trs := make(chan check.Transition, 100)
	m := startMonitor(t, &check.MonitorConfig{Concurrency: 4, OnTransition: func(tr check.Transition) { trs <- tr }})
	t.Cleanup(func() { m.Close() })
	var lns []net.Listener
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		lns = append(lns, ln)
		err = m.Add(check.Target{
			ID:      ln.Addr().String(),
			Checker: check.TCP{Addr: ln.Addr().(*net.TCPAddr).AddrPort(), Timeout: time.Second},
			Policy:  check.HAProxy{Inter: 20 * time.Millisecond, Rise: 1, Fall: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		_ = i
	}
	victim := lns[7]
	id := victim.Addr().String()
	victim.Close()
	waitTransition(t, trs, id, false)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if err := m.Update(check.Target{ID: id, Checker: check.TCP{Addr: ln.Addr().(*net.TCPAddr).AddrPort()}, Policy: check.HAProxy{Inter: 20 * time.Millisecond, Rise: 1, Fall: 1, StartDown: true}}); err != nil {
		t.Fatal(err)
	}
	waitTransition(t, trs, id, true)
	st, ok := m.Stats(id)
	if !ok || !st.Up || st.Checks == 0 {
		t.Fatalf("stats %+v", st)
	}
}

func waitTransition(t *testing.T, trs <-chan check.Transition, id string, up bool) {
	t.Helper()
	timeout := time.After(10 * time.Second) // safety net only
	for {
		select {
		case tr := <-trs:
			if tr.ID == id && tr.Kind == check.StateChange && tr.Up == up {
				return
			}
			if tr.ID != id {
				t.Fatalf("unexpected transition %+v", tr)
			}
		case <-timeout:
			t.Fatalf("no transition of %s to up=%v", id, up)
		}
	}
}

// TestMonitorBoundedConcurrency: many targets, few workers: never more
// checks at once than Concurrency, and goroutines do not grow with the
// number of targets.
func TestMonitorBoundedConcurrency(t *testing.T) {
	noLeaks(t)
	before := runtime.NumGoroutine()
	const workers = 3
	m := startMonitor(t, &check.MonitorConfig{Concurrency: workers})
	t.Cleanup(func() { m.Close() })
	var running, peak, total atomic.Int64
	c := check.CheckerFunc(func(ctx context.Context) check.Result {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		select {
		case <-time.After(time.Millisecond):
		case <-ctx.Done():
		}
		running.Add(-1)
		total.Add(1)
		return check.Result{Up: true}
	})
	for i := range 2000 {
		mustAdd(t, m, check.Target{ID: strconv.Itoa(i), Checker: c, Policy: check.HAProxy{Inter: 50 * time.Millisecond}})
	}
	if g := runtime.NumGoroutine(); g > before+workers+5 {
		t.Errorf("%d goroutines for 2000 targets and %d workers (before: %d)", g, workers, before)
	}
	for i := 0; total.Load() < 200; i++ {
		if i == 1000 {
			t.Fatalf("only %d checks ran", total.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p := peak.Load(); p > workers {
		t.Errorf("%d checks ran at once, Concurrency is %d", p, workers)
	}
	if m.Len() != 2000 {
		t.Errorf("Len = %d", m.Len())
	}
}

// TestMonitorTransitionsToChannel shows the channel pattern: the callback
// hands transitions to a buffered channel read elsewhere.
func TestMonitorTransitionsToChannel(t *testing.T) {
	noLeaks(t)
	ch := make(chan check.Transition, 8)
	var mu sync.Mutex
	healthy := true
	m := startMonitor(t, &check.MonitorConfig{OnTransition: func(tr check.Transition) { ch <- tr }})
	t.Cleanup(func() { m.Close() })
	mustAdd(t, m, check.Target{ID: "svc", Policy: check.HAProxy{Inter: 10 * time.Millisecond, Rise: 2, Fall: 2}, Checker: check.CheckerFunc(func(context.Context) check.Result {
		mu.Lock()
		defer mu.Unlock()
		if healthy {
			return check.Result{Up: true}
		}
		return check.Result{Reason: "unhealthy"}
	})})
	mu.Lock()
	healthy = false
	mu.Unlock()
	waitTransition(t, ch, "svc", false)
}

func TestLatenessQuantile(t *testing.T) {
	var tot check.Totals
	tot.Checks, tot.MaxLateness = 100, 3*time.Second
	tot.Lateness[0], tot.Lateness[3], tot.Lateness[len(tot.Lateness)-1] = 90, 9, 1
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, time.Millisecond}, {0.9, time.Millisecond}, {0.95, 10 * time.Millisecond}, {0.99, 10 * time.Millisecond}, {0.999, 3 * time.Second}} {
		if got := tot.LatenessQuantile(tc.q); got != tc.want {
			t.Errorf("q%v = %v, want %v", tc.q, got, tc.want)
		}
	}
}

// TestMonitorLifecycle: NewMonitor starts no goroutine and checks nothing
// until Run; Run returns when its context ends; a second Run is refused;
// Close is idempotent and ends a running Run.
func TestMonitorLifecycle(t *testing.T) {
	noLeaks(t)
	if _, err := check.NewMonitor(&check.MonitorConfig{Concurrency: -1}); err == nil {
		t.Fatal("negative Concurrency accepted")
	}
	before := runtime.NumGoroutine()
	var checks atomic.Int32
	m, err := check.NewMonitor(nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("NewMonitor started %d goroutines", n-before)
	}
	err = m.Add(check.Target{ID: "a", Checker: check.CheckerFunc(func(context.Context) check.Result {
		checks.Add(1)
		return check.Result{Up: true}
	}), Policy: check.HAProxy{Inter: time.Millisecond, Rise: 1, Fall: 1}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if n := checks.Load(); n != 0 {
		t.Fatalf("%d checks ran before Run", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	for i := 0; i < 500 && checks.Load() < 3; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if checks.Load() < 3 {
		t.Fatal("Run ran no checks")
	}
	if err := m.Run(context.Background()); !errors.Is(err, check.ErrRunning) {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v after its context ended, want nil", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := m.Add(check.Target{ID: "b", Checker: check.TCP{}}); !errors.Is(err, check.ErrClosed) {
		t.Fatalf("Add after Close = %v, want ErrClosed", err)
	}

	// Close ends a running Run, which reports ErrClosed.
	m2, err := check.NewMonitor(&check.MonitorConfig{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- m2.Run(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	m2.Close()
	if err := <-done; !errors.Is(err, check.ErrClosed) {
		t.Fatalf("Run after Close = %v, want ErrClosed", err)
	}
	if err := m2.Run(context.Background()); err == nil {
		t.Fatal("Run after Close succeeded")
	}
}
