package check

import (
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
)

// TestEventWaker: a wake before the sleep is kept, a wake during a long
// sleep ends it, and an armed deadline ends a sleep by itself. Only the
// safety nets look at the wall clock.
func TestEventWaker(t *testing.T) {
	noFDLeak(t)
	w, err := newEventWaker()
	if err != nil {
		testenv.Missing(t, "eventfd: %v", err)
	}
	defer w.close()
	returns := func(what string, f func()) {
		t.Helper()
		done := make(chan struct{})
		go func() { f(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second): // a safety net only
			t.Fatalf("%s: sleep did not return", what)
		}
	}
	w.arm(time.Hour)
	w.wake()
	returns("wake before sleep", w.sleep)

	w.arm(time.Hour)
	returns("wake during sleep", func() {
		go func() {
			time.Sleep(10 * time.Millisecond)
			w.wake()
		}()
		w.sleep()
	})

	w.arm(time.Millisecond)
	returns("deadline", w.sleep)
	w.arm(-time.Second)
	returns("deadline passed", w.sleep)
}

// TestMonitorRealClockNoLeaks: a Monitor on the real clock with TCP
// targets that are up, refused and silent closes every socket it opened.
func TestMonitorRealClockNoLeaks(t *testing.T) {
	noFDLeak(t)
	_, live := listen(t, "tcp4", "127.0.0.1:0")
	silent := silentListener(t)
	// Enough workers for the hung checks where they run on workers (with
	// one P).
	m := startMonitor(t, &MonitorConfig{Seed: 8, Concurrency: 8})
	t.Cleanup(func() { m.Close() })
	pol := HAProxy{Inter: 10 * time.Millisecond}
	mustAdd(t, m, Target{ID: "live", Checker: TCP{Addr: live}, Policy: pol})
	mustAdd(t, m, Target{ID: "silent", Checker: TCP{Addr: silent, Timeout: 20 * time.Millisecond}, Policy: pol})
	mustAdd(t, m, Target{ID: "hung", Checker: TCP{Addr: silent, Timeout: time.Hour}, Policy: pol})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	web := srv.Listener.Addr().(*net.TCPAddr).AddrPort()
	mustAdd(t, m, Target{ID: "web", Checker: &HTTP{Addr: web, Regex: regexp.MustCompile("^ok$")}, Policy: pol})
	mustAdd(t, m, Target{ID: "web silent", Checker: &HTTP{Addr: silent, Timeout: 20 * time.Millisecond}, Policy: pol})
	mustAdd(t, m, Target{ID: "web hung", Checker: &HTTP{Addr: silent, Timeout: time.Hour}, Policy: pol})
	for i := 0; ; i++ {
		a, _ := m.Stats("live")
		s, _ := m.Stats("silent")
		w, _ := m.Stats("web")
		ws, _ := m.Stats("web silent")
		if a.Checks >= 5 && s.Failures >= 2 && w.Checks >= 5 && ws.Failures >= 2 {
			if !a.Up || a.Failures != 0 || !w.Up || w.Failures != 0 {
				t.Errorf("live targets: %+v, %+v", a, w)
			}
			if s.Up || ws.Up || !strings.Contains(ws.LastReason, "timeout") {
				t.Errorf("silent targets: %+v, %+v", s, ws)
			}
			break
		}
		if i == 5000 { // a safety net only
			t.Fatalf("too few checks: %+v %+v %+v %+v", a, s, w, ws)
		}
		time.Sleep(time.Millisecond)
	}
	m.Close()
}

// TestDueHeap checks the heap against a sorted list through random
// pushes, pops, stale places (some at the very time of a valid one, as
// due times here come from only 100 values) and the ends of checks.
func TestDueHeap(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	t0 := time.Unix(1000, 0)
	var h dueHeap
	var ref []*entry     // live entries, each due once
	var running []*entry // popped, as the loop marks them
	due := func() time.Duration { return time.Duration(rnd.IntN(100)) * time.Millisecond }
	for step := range 20000 {
		switch op := rnd.IntN(5); {
		case op == 0 || len(ref) == 0:
			e := &entry{due: due()}
			h.push(e)
			ref = append(ref, e)
		case op == 1:
			// Update: a new due time.
			e := ref[rnd.IntN(len(ref))]
			e.gen++
			e.due = due()
			h.push(e)
		case op == 2:
			// Remove.
			e := ref[rnd.IntN(len(ref))]
			e.gone = true
			ref = slices.DeleteFunc(ref, func(r *entry) bool { return r == e })
		case op == 3 && len(running) > 0:
			// A check ends: the next due time, pushed again.
			i := rnd.IntN(len(running))
			e := running[i]
			running = slices.Delete(running, i, i+1)
			e.running = false
			e.due = due()
			h.push(e)
			ref = append(ref, e)
		default:
			if len(h) == 0 {
				continue
			}
			first := h.first(t0)
			e, ok := h.pop()
			if !ok {
				continue
			}
			e.running = true
			running = append(running, e)
			if !first.Equal(t0.Add(e.due)) {
				t.Fatalf("step %d: popped a place due %v for an entry due %v", step, first, e.due)
			}
			if !slices.Contains(ref, e) {
				t.Fatalf("step %d: popped an entry not due (twice, or removed)", step)
			}
			for _, r := range ref {
				if r.due < e.due {
					t.Fatalf("step %d: popped %v before %v", step, e.due, r.due)
				}
			}
			ref = slices.DeleteFunc(ref, func(r *entry) bool { return r == e })
		}
	}
	// Drain: every live entry comes out once, in order.
	var got []*entry
	for len(h) > 0 {
		if e, ok := h.pop(); ok {
			e.running = true
			got = append(got, e)
		}
	}
	if len(got) != len(ref) {
		t.Fatalf("drained %d live entries, want %d", len(got), len(ref))
	}
	for i := 1; i < len(got); i++ {
		if got[i].due < got[i-1].due {
			t.Fatalf("drain out of order at %d", i)
		}
	}
}

// TestMonitorRemoveEndsFlight: removing a target whose check waits on the
// loop's poller closes its socket at once, not at its timeout.
func TestMonitorRemoveEndsFlight(t *testing.T) {
	silent := silentListener(t)
	m := startMonitor(t, &MonitorConfig{Seed: 9})
	defer m.Close()
	if _, ok := m.w.(*eventWaker); !ok {
		testenv.Missing(t, "no poller")
	}
	n0 := openFDs(t)
	waitFDs := func(what string, ok func(n int) bool) {
		t.Helper()
		for i := 0; !ok(openFDs(t)); i++ {
			if i == 5000 { // a safety net only
				t.Fatalf("%s: %d file descriptors open, %d at the start", what, openFDs(t), n0)
			}
			time.Sleep(time.Millisecond)
		}
	}
	mustAdd(t, m, Target{ID: "hung", Checker: &HTTP{Addr: silent, Timeout: time.Hour}, Policy: HAProxy{Inter: time.Millisecond}})
	waitFDs("check in flight", func(n int) bool { return n > n0 })
	m.Remove("hung")
	waitFDs("after Remove", func(n int) bool { return n <= n0 })
}

// TestMonitorOneP: with a single P the Monitor does not block it in
// epoll_wait; it sleeps on a Go timer, and its checks still run.
func TestMonitorOneP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	_, live := listen(t, "tcp4", "127.0.0.1:0")
	m := startMonitor(t, &MonitorConfig{Seed: 10})
	defer m.Close()
	if _, ok := m.w.(*clockWaker); !ok {
		t.Fatalf("waker %T with GOMAXPROCS=1, want a clockWaker", m.w)
	}
	mustAdd(t, m, Target{ID: "live", Checker: TCP{Addr: live}, Policy: HAProxy{Inter: time.Millisecond}})
	for i := 0; ; i++ {
		if st, _ := m.Stats("live"); st.Checks >= 3 && st.Up {
			break
		}
		if i == 5000 { // a safety net only
			t.Fatal("no checks")
		}
		time.Sleep(time.Millisecond)
	}
}
