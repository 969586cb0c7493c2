//go:build netns

package vrrp

import (
	"net/netip"

	"context"
	"github.com/vishvananda/netlink"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	route := Route{Dst: netip.MustParsePrefix("10.99.0.0/24"), Gw: l.v4(1, 24).Addr()}
	rule := Rule{From: scVIP, Table: 100, Priority: 1000}
	cfg.Routes, cfg.Rules = []Route{route}, []Rule{rule}
	// keepalived-style notify scripts, run without a shell.
	dir := t.TempDir()
	log := filepath.Join(dir, "notify.log")
	script := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.Notify = Notify{Notify: []string{script}, Master: []string{script, "to-master"}, Fault: []string{script, "to-fault"}, Stop: []string{script, "stopped"}}
	var logBuf lockedBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("router log:\n%s", logBuf.String())
		}
	})
	var mu sync.Mutex
	var states []State
	cfg.OnTransition = func(_ string, tr Transition) {
		mu.Lock()
		states = append(states, tr.To)
		mu.Unlock()
	}
	r, in, done := runRouter(t, l.hosts[0].Path(), slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelWarn})), cfg)
	l.waitMaster(vip, 0, both, scTimeout, scHold)
	h := l.hosts[0].Handle()
	waitFor(t, scTimeout, "virtual route and rule", func() bool { return hasRoute(h, route) && hasRule(h, rule) })

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

	// Close stops Run as the end of its context would; Run returns.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		// Run's own return is done by the time Close returns; the
		// goroutine that hands its result to done may lag a little.
		t.Fatal("Run did not return after Close")
	}
	done <- nil // for the cleanup
	if in.State() != StateInit {
		t.Fatalf("state after Run returned: %v", in.State())
	}
	if hasAddr(l.hosts[0], vip) || hasRoute(h, route) || hasRule(h, rule) {
		t.Fatal("VIP, route or rule left behind after shutdown")
	}
	st := in.Stats()
	if st.AdvertsSent == 0 || st.AdvertsReceived == 0 || st.Announcements == 0 {
		t.Fatalf("stats %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("states %v, stats %+v", states, st)
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"INSTANCE VI_1 BACKUP 200", "to-master", "INSTANCE VI_1 MASTER 200", "to-fault", "INSTANCE VI_1 FAULT 200",
		"INSTANCE VI_1 BACKUP 200", "to-master", "INSTANCE VI_1 MASTER 200", "stopped", "INSTANCE VI_1 STOP 200"}
	if got := strings.Split(strings.TrimSpace(string(b)), "\n"); !slices.Equal(got, want) {
		t.Fatalf("notify calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// lockedBuffer collects log output from any goroutine, also after the
// test has ended.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func hasRoute(h *netlink.Handle, r Route) bool {
	rs, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, x := range rs {
		if x.Dst != nil && x.Dst.String() == r.Dst.String() && x.Gw.String() == r.Gw.String() {
			return true
		}
	}
	return false
}

func hasRule(h *netlink.Handle, r Rule) bool {
	rs, err := h.RuleList(netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, x := range rs {
		if x.Table == r.Table && x.Priority == r.Priority && x.Src != nil && x.Src.String() == r.From.String() {
			return true
		}
	}
	return false
}

// runRouter runs a Router in the namespace at ns with one instance, cfg,
// until the test ends; done receives Run's result (a test that takes it
// sends one back for the cleanup).
func runRouter(t *testing.T, ns string, log *slog.Logger, cfg Config) (*Router, *Instance, chan error) {
	t.Helper()
	r, err := NewRouter(&RouterConfig{NetNS: ns, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
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
	return r, in, done
}
