package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"testing"

	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/lvskit/lvskit/ipvs"
)

// hostRouter is a Router as serve makes it, on a Monitor that does not run
// (no check fires) and an Applier on nullOps (no kernel): what is left is
// the router's own work at start and reload.
func hostRouter(b *testing.B) (*Router, *nullOps) {
	r, err := NewRouter(b.Context(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ops := &nullOps{}
	r.applier = ipvs.NewApplier(ops)
	b.Cleanup(func() { r.mon.Close() })
	return r, ops
}

// hostLoad is serve's first read and Router.Load of the file at path,
// under the start's GC policy (startgc.go).
func hostLoad(b *testing.B, r *Router, path string) {
	hostLoadPeak(b, r, path, false)
}

// hostLoadPeak is hostLoad that, with sample set, also returns the largest
// heap (live objects and garbage not yet collected, as
// /memory/classes/heap/objects:bytes reads it every 100 µs) seen while
// Router.Load ran, and the bytes Load allocated.
func hostLoadPeak(b *testing.B, r *Router, path string, sample bool) (peak, alloc uint64) {
	gc := beginStart(path)
	defer gc.end()
	p, _, _, err := (&incReload{}).start(path, interfaceExists, gc)
	if err != nil {
		b.Fatal(err)
	}
	// As serve does: the read's garbage goes first.
	gc.loading()
	var stop func() uint64
	if sample {
		stop = testenv.HeapPeak()
	}
	a := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(a)
	before := a[0].Value.Uint64()
	if err := r.Load(context.Background(), p); err != nil {
		b.Fatal(err)
	}
	metrics.Read(a)
	if sample {
		peak = stop()
	}
	return peak, a[0].Value.Uint64() - before
}

// BenchmarkRouterStart10k4 is the host half of BenchmarkVMRouterStart10k:
// serve's start on 10,000 virtual servers × 4 TCP-checked real servers
// (load: read, expand, translate, checkPlan; then Router.Load: checks
// registered, desired state, one Apply) without IPVS or checks running.
func BenchmarkRouterStart10k4(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, scaleConf(1), 0o644); err != nil {
		b.Fatal(err)
	}
	if os.Getenv("LVSKIT_HEAPPROFILE") != "" {
		// A finer sample than the default 512 KiB, so that the profile's
		// figures are the heap's within a few percent.
		runtime.MemProfileRate = 4096
	}
	b.ReportAllocs()
	var live, peak, alloc uint64
	for b.Loop() {
		r, ops := hostRouter(b)
		pk, al := hostLoadPeak(b, r, path, live == 0)
		if ops.ops != scaleServices*(scaleReals+1) {
			b.Fatalf("%d ops", ops.ops)
		}
		// What the started router keeps: the heap after a collection,
		// with r still referenced, measured after the first start only
		// (the routers of later iterations live on until the cleanup).
		// LVSKIT_HEAPPROFILE=FILE writes its profile (go tool pprof
		// -sample_index=inuse_space).
		if live == 0 {
			b.StopTimer()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			live, peak, alloc = ms.HeapAlloc, pk, al
			if f := os.Getenv("LVSKIT_HEAPPROFILE"); f != "" {
				writeHeapProfile(b, f)
			}
			runtime.KeepAlive(r)
			b.StartTimer()
		}
		r.mon.Close()
	}
	b.ReportMetric(float64(live)/(1<<20), "live-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "load-peak-MiB")
	b.ReportMetric(float64(alloc)/(1<<20), "load-alloc-MiB")
}

// writeHeapProfile writes the heap profile as of the last collection.
func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRouterReload10k4 is the host half of BenchmarkVMRouterReload10k:
// from a started router, the SIGHUP path (load of the edited file, then
// Router.Load) with one weight changed, which must cost one IPVS operation.
func BenchmarkRouterReload10k4(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, scaleConf(1), 0o644); err != nil {
		b.Fatal(err)
	}
	r, ops := hostRouter(b)
	hostLoad(b, r, path)
	confs := [][]byte{scaleConf(3), scaleConf(1)}
	paths := make([]string, 2)
	for i, c := range confs {
		paths[i] = filepath.Join(dir, []string{"w3.conf", "w1.conf"}[i])
		if err := os.WriteFile(paths[i], c, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		before := ops.ops
		hostLoad(b, r, paths[i%2])
		if n := ops.ops - before; n != 1 {
			b.Fatalf("reload cost %d IPVS operations, want 1", n)
		}
		i++
	}
}
