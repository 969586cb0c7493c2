package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/lvskit/lvskit/ipvs"
)

// memKernel is an IPVS table in memory, strict as the kernel: adding what
// exists or changing what does not fails. It counts the operations and
// dumps it serves.
type memKernel struct {
	svcs  map[ipvs.ServiceKey]*ipvs.Service
	ops   int
	calls int // of Do
	dumps int
	// fail, when set, makes Do refuse every operation once.
	fail bool
}

func newMemKernel() *memKernel { return &memKernel{svcs: map[ipvs.ServiceKey]*ipvs.Service{}} }

func (k *memKernel) Dump(context.Context) ([]ipvs.Service, error) {
	k.dumps++
	var out []ipvs.Service
	for _, s := range k.svcs {
		c := *s
		c.Destinations = slices.Clone(s.Destinations)
		out = append(out, c)
	}
	return out, nil
}

func (k *memKernel) Do(_ context.Context, ops []ipvs.Op) error {
	k.calls++
	if k.fail {
		k.fail = false
		return syscall.EIO
	}
	var errs []error
	for _, op := range ops {
		k.ops++
		if err := k.do(op); err != nil {
			errs = append(errs, fmt.Errorf("%v: %w", op, err))
		}
	}
	return errors.Join(errs...)
}

func (k *memKernel) do(op ipvs.Op) error {
	key := op.Service.Key()
	s := k.svcs[key]
	if op.Kind != ipvs.OpNewService && s == nil {
		return syscall.ESRCH
	}
	i := -1
	if s != nil {
		i = slices.IndexFunc(s.Destinations, func(d ipvs.Destination) bool { return d.Addr == op.Destination.Addr })
	}
	switch op.Kind {
	case ipvs.OpNewService:
		if s != nil {
			return syscall.EEXIST
		}
		n := op.Service
		n.Destinations = nil
		k.svcs[key] = &n
	case ipvs.OpUpdateService:
		d := s.Destinations
		*s = op.Service
		s.Destinations = d
	case ipvs.OpDeleteService:
		delete(k.svcs, key)
	case ipvs.OpNewDestination:
		if i >= 0 {
			return syscall.EEXIST
		}
		s.Destinations = append(s.Destinations, op.Destination)
	case ipvs.OpUpdateDestination:
		if i < 0 {
			return syscall.ENOENT
		}
		s.Destinations[i] = op.Destination
	case ipvs.OpDeleteDestination:
		if i < 0 {
			return syscall.ENOENT
		}
		s.Destinations = slices.Delete(s.Destinations, i, i+1)
	}
	return nil
}

// state prints the table sorted, one service or destination a line.
func (k *memKernel) state() string {
	var lines []string
	for _, s := range k.svcs {
		lines = append(lines, fmt.Sprintf("%v %s flags=%v timeout=%v", s.Key(), s.Scheduler, s.Flags, s.Timeout))
		for _, d := range s.Destinations {
			lines = append(lines, fmt.Sprintf("%v   -> %v %v w=%d", s.Key(), d.Addr, d.Forward, d.Weight))
		}
	}
	slices.SortFunc(lines, cmp.Compare)
	return strings.Join(lines, "\n")
}

// memRouter is a Router on a memKernel, its checks registered but not
// running (so every real server is up).
func memRouter(t *testing.T, k *memKernel) *Router {
	t.Helper()
	r, err := NewRouter(t.Context(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r.applier = ipvs.NewApplier(k)
	t.Cleanup(func() { r.mon.Close() })
	return r
}

func memLoad(t *testing.T, r *Router, conf string) {
	t.Helper()
	p, err := translateText(t, conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Load(t.Context(), p); err != nil {
		t.Fatal(err)
	}
}

// editConf is a configuration of services, each with three
// TCP-checked real servers, with edits (pairs of old and new text)
// applied.
func editConf(services int, edits ...string) string {
	var b strings.Builder
	for i := range services {
		fmt.Fprintf(&b, "virtual_server 10.1.%d.1 80 {\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n", i)
		for j := 1; j <= 3; j++ {
			fmt.Fprintf(&b, "    real_server 10.2.%d.%d 80 {\n        weight %d\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n", i, j, j)
		}
		b.WriteString("}\n")
	}
	s := b.String()
	for i := 0; i+1 < len(edits); i += 2 {
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	return s
}

// TestReloadKernelEqualsFreshStart: a reload diffs the new plan against
// the state the router last applied, without reading the kernel, and
// leaves the kernel exactly as a fresh start on the new configuration
// would, whatever the edit: a weight, a real server gone or added, a
// service's scheduler, services gone and added.
func TestReloadKernelEqualsFreshStart(t *testing.T) {
	edits := map[string][]string{
		"weight":              {"real_server 10.2.3.1 80 {\n        weight 1", "real_server 10.2.3.1 80 {\n        weight 7"},
		"real server removed": {"    real_server 10.2.4.2 80 {\n        weight 2\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n", ""},
		"real server added":   {"    real_server 10.2.5.3 80 {", "    real_server 10.2.5.9 80 {\n        weight 4\n    }\n    real_server 10.2.5.3 80 {"},
		"scheduler":           {"virtual_server 10.1.6.1 80 {\n    lb_algo wrr", "virtual_server 10.1.6.1 80 {\n    lb_algo sh"},
		"persistence":         {"virtual_server 10.1.8.1 80 {\n", "virtual_server 10.1.8.1 80 {\n    persistence_timeout 300\n"},
		"service replaced":    {"virtual_server 10.1.7.1 80", "virtual_server 10.1.77.1 80"},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			before, after := editConf(10), editConf(10, edit...)
			if before == after {
				t.Fatal("the edit changed nothing")
			}
			k := newMemKernel()
			r := memRouter(t, k)
			memLoad(t, r, before)
			ops, dumps := k.ops, k.dumps
			memLoad(t, r, after)
			if k.dumps != dumps {
				t.Errorf("the reload read the kernel (%d dumps)", k.dumps-dumps)
			}
			fresh := newMemKernel()
			memLoad(t, memRouter(t, fresh), after)
			if got, want := k.state(), fresh.state(); got != want {
				t.Errorf("kernel after reload:\n%s\nafter a fresh start:\n%s", got, want)
			}
			t.Logf("%d operations for the reload", k.ops-ops)
		})
	}
}

// TestReloadOneWeightIsOneOp: the benchmark's edit, one weight of 40
// real servers, costs one destination update and no check restart.
func TestReloadOneWeightIsOneOp(t *testing.T) {
	k := newMemKernel()
	r := memRouter(t, k)
	memLoad(t, r, editConf(10))
	ops := k.ops
	memLoad(t, r, editConf(10, "real_server 10.2.3.1 80 {\n        weight 1", "real_server 10.2.3.1 80 {\n        weight 7"))
	if n := k.ops - ops; n != 1 {
		t.Errorf("%d operations, want 1", n)
	}
}

// TestReloadDoesNotRepairHandDeletion: as keepalived 2.2.7, whose reload
// re-adds no real server it already had (init_service_rs skips reloaded
// ones but for a weight change), a reload does not read the kernel, so a
// destination someone deleted by hand stays deleted. An apply that then
// fails on it (here the reload changes its weight: ENOENT) makes the
// Applier read the kernel again, and the next apply (the Run loop retries
// after applyRetry) puts it back.
func TestReloadDoesNotRepairHandDeletion(t *testing.T) {
	k := newMemKernel()
	r := memRouter(t, k)
	conf := editConf(4)
	memLoad(t, r, conf)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.1.2.1:80")}
	gone := ipvs.Destination{Addr: netip.MustParseAddrPort("10.2.2.1:80")}
	if err := k.Do(t.Context(), []ipvs.Op{{Kind: ipvs.OpDeleteDestination, Service: svc, Destination: gone}}); err != nil {
		t.Fatal(err)
	}
	deleted := k.state()
	memLoad(t, r, conf)
	if k.state() != deleted {
		t.Errorf("a reload of the same configuration changed the kernel:\n%s", k.state())
	}
	// A reload that edits the deleted destination fails on it ...
	edited := strings.Replace(conf, "real_server 10.2.2.1 80 {\n        weight 1", "real_server 10.2.2.1 80 {\n        weight 5", 1)
	p, err := translateText(t, edited)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Load(t.Context(), p); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("reload editing a deleted destination: %v, want ENOENT", err)
	}
	// ... and the retry reads the kernel and repairs it.
	if err := r.apply(t.Context()); err != nil {
		t.Fatal(err)
	}
	fresh := newMemKernel()
	memLoad(t, memRouter(t, fresh), edited)
	if k.state() != fresh.state() {
		t.Errorf("after the retry:\n%s\nwant:\n%s", k.state(), fresh.state())
	}
}
