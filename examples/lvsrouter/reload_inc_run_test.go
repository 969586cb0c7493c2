package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lvskit/lvskit/check"
	"github.com/lvskit/lvskit/ipvs"
)

// TestReloadBesideRun installs plans with Router.Reload from another
// goroutine while Run applies check transitions (a MISC_CHECK that
// flips every run): each reload's destinations reach the desired state,
// the race detector sees Reload and Run's applies serialized, and once
// Run has stopped Reload changes nothing and says so.
func TestReloadBesideRun(t *testing.T) {
	dir := t.TempDir()
	flip := filepath.Join(dir, "flip")
	conf := func(weight int) string {
		return fmt.Sprintf(`virtual_server 10.0.0.1 80 {
    protocol TCP
    delay_loop 0.01
    real_server 10.1.0.1 80 {
        weight %d
    }
    real_server 10.1.0.2 80 {
        MISC_CHECK {
            misc_path "/bin/sh -c 'if test -e %[2]s; then rm %[2]s; else touch %[2]s; exit 1; fi'"
        }
    }
}
`, weight, flip)
	}
	plan := func(weight int) *Plan { return loadText(t, filepath.Join(dir, "k.conf"), conf(weight)) }
	ops := &weightOps{addr: "10.1.0.1:80"}
	r := checkedRouter(t, ops)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.Load(ctx, plan(1)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for i := range 20 {
		w := 2 + i%3
		if err := r.Reload(ctx, plan(w)); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		// Reload returns after its kernel change.
		if got := ops.last(); got != w {
			t.Fatalf("reload %d: weight %d in the kernel, want %d", i, got, w)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	last := r.plan
	if err := r.Reload(context.Background(), plan(9)); !errors.Is(err, errStopped) {
		t.Fatalf("Reload after Run stopped: %v, want errStopped", err)
	}
	if r.plan != last {
		t.Fatal("Reload after Run stopped changed the plan")
	}
}

// weightOps is a kernel that keeps the last weight it was given for one
// destination address.
type weightOps struct {
	addr string
	mu   sync.Mutex
	w    int
}

func (o *weightOps) Dump(context.Context) ([]ipvs.Service, error) { return nil, nil }

func (o *weightOps) Do(_ context.Context, ops []ipvs.Op) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, op := range ops {
		if op.Kind >= ipvs.OpNewDestination && op.Destination.Addr.String() == o.addr {
			o.w = op.Destination.Weight
		}
	}
	return nil
}

func (o *weightOps) last() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.w
}

// loadText writes text to path and loads it.
func loadText(t *testing.T, path, text string) *Plan {
	t.Helper()
	mustWrite(t, path, []byte(text))
	p, _, err := load(path, anyInterface)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkedRouter is a Router with a Monitor running its checks (once Run
// runs) and an Applier on kernel.
func checkedRouter(t *testing.T, kernel ipvs.Ops) *Router {
	t.Helper()
	r := newRouter(slog.New(slog.DiscardHandler))
	mon, err := check.NewMonitor(&check.MonitorConfig{OnTransition: r.onCheck, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	r.mon = mon
	r.applier = ipvs.NewApplier(kernel)
	return r
}
