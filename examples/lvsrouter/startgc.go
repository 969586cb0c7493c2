package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// startReadGC is the collector's percent while the start reads the
// configuration (see startGC); a variable for the VM benchmark's A/B runs.
var startReadGC = 100

// loadHeapPerLive bounds the first load's heap, in multiples of the live
// heap it starts from (see startGC); a variable for the VM benchmark's
// A/B runs.
var loadHeapPerLive uint64 = 3

// startGC is the collector's one policy for the router's start, from the
// first read to the end of the first load. It saves the collector's
// settings once (beginStart) and puts them back once (end).
//
// The read: the start reads a large file in batches (start_read.go), so
// that most of what it allocates, each batch's syntax tree and typed
// configuration, is garbage by the next batch, and what stays live is the
// plan. The collector runs at startReadGC percent: at 10,000 virtual
// servers × 4 real servers (137 MB allocated in all, 7 collections) the
// host's heap peaks at 66-67 MB and the process holds 88-90 MB (at 50
// percent: 53-57 MB of heap; at 25: 46, with more collections), where the
// full read with the collector off peaked at 122 MB and held 134 MB, every
// page of it a slow fault in a guest without hardware virtualization; the
// guest holds 70-74 MiB at the read's end. At 200 percent the guest's read
// was no faster (4.05 s against 2.85 s in the same guest).
//
// The load (loading): once the read's garbage is collected, the first
// Router.Load (desired state, 50,000 IPVS operations, 40,000 check
// targets at 10,000 × 4) allocates about three times the plan's live heap
// (72 MB over 23 MB on the host), and collections meanwhile each mark the
// plan on a core the kernel's IPVS work needs too. So the collector is
// off for it, under a memory limit of loadHeapPerLive times the live heap
// (or what the process holds already, if more): the load reuses the
// read's memory and collects only when it needs more. In one guest
// (2026-12-06), 3 started in 5.72 s with a peak RSS of 135.5 MiB, 5 in
// 5.86 s with 150.0 MiB.
//
// A GOGC or GOMEMLIMIT in the environment is left alone throughout.
type startGC struct {
	// set: the policy changed the collector; pct and mem are its
	// settings before.
	set bool
	pct int
	mem int64
}

// beginStart sets the read's policy.
func beginStart() *startGC {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return &startGC{}
	}
	g := &startGC{set: true}
	g.pct = debug.SetGCPercent(startReadGC)
	g.mem = debug.SetMemoryLimit(-1) // reads it
	return g
}

// loading collects the read's garbage and sets the load's policy.
func (g *startGC) loading() {
	runtime.GC()
	if !g.set {
		return
	}
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(s)
	for _, v := range s {
		if v.Value.Kind() != metrics.KindUint64 {
			debug.SetGCPercent(g.pct)
			return
		}
	}
	held := s[0].Value.Uint64() - s[1].Value.Uint64()
	limit := max(held, loadHeapPerLive*s[2].Value.Uint64()+4<<20)
	debug.SetMemoryLimit(int64(limit))
	debug.SetGCPercent(-1)
}

// end puts the collector back as it was before beginStart.
func (g *startGC) end() {
	if !g.set {
		return
	}
	debug.SetGCPercent(g.pct)
	debug.SetMemoryLimit(g.mem)
	g.set = false
}
