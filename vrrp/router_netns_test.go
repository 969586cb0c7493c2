//go:build netns

package vrrp

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// TestRouterInNamespace runs a Router inside this test process, working in
// another network namespace through RouterConfig.NetNS, with interface
// tracking: when its link goes down it faults, drops the VIP and keepalived
// takes over; when the link returns it preempts again.
func TestRouterInNamespace(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 2)
	vip := scVIP.Addr()
	both := []int{0, 1}
	startKeepalived(t, l.hosts[1], kaConf("ka", scKeepalived(100)))
	cfg := scLvskit(l, 0, 200)
	cfg.TrackInterfaces = []TrackInterface{{Name: "eth0"}}
	var mu sync.Mutex
	var states []State
	cfg.OnTransition = func(_ string, tr Transition) {
		mu.Lock()
		states = append(states, tr.To)
		mu.Unlock()
	}
	r := NewRouter(RouterConfig{NetNS: l.hosts[0].Path(), Logger: slog.New(slog.DiscardHandler)})
	in, err := r.Add(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("router did not stop")
		}
	})
	l.waitMaster(vip, 0, both, scTimeout, scHold)

	h := l.hosts[0].Handle()
	link, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetDown(link); err != nil {
		t.Fatal(err)
	}
	waitFor(t, scTimeout, "FAULT", func() bool { return in.State() == StateFault })
	l.waitMaster(vip, 1, both, scTimeout, scHold)
	if err := h.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	l.waitMaster(vip, 0, both, scTimeout, scHold)

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil // for the cleanup
	if in.State() != StateInit {
		t.Fatalf("state after Run returned: %v", in.State())
	}
	if hasAddr(l.hosts[0], vip) {
		t.Fatal("VIP left behind after shutdown")
	}
	st := in.Stats()
	if st.AdvertsSent == 0 || st.AdvertsReceived == 0 || st.Announcements == 0 {
		t.Fatalf("stats %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("states %v, stats %+v", states, st)
}
