package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
)

// startReadGC is the collector's percent while the start reads the
// configuration; -1 (the default): off, under a memory limit (see
// startGC). A variable for the VM benchmark's A/B runs.
var startReadGC = -1

// readHeapPerByte and fullReadHeapPerByte bound what the start's read may
// allocate before the collector runs, per byte of the main configuration
// file (at least 64 MiB): a batched read keeps its plan and one batch
// live (23 MB at 10,000 × 4, a 5.8 MB file), a full read the syntax tree
// and typed configuration of all of it (120 MB).
// readHeapMin is the read's least room. Variables for the VM benchmark's
// A/B runs.
var (
	readHeapPerByte int64 = 8
	readHeapMin     int64 = 64 << 20
)

const fullReadHeapPerByte = 32

// loadHeapPerLive bounds the first load's heap, in multiples of the live
// heap it starts from (see startGC); a variable for the VM benchmark's
// A/B runs.
var loadHeapPerLive uint64 = 3

// appliedGC collects once the first load's kernel change is made (see
// startGC); a variable for the VM benchmark's A/B runs.
var appliedGC = true

// startGC is the collector's one policy for the router's start, from the
// first read to the end of the first load. It saves the collector's
// settings once (beginStart) and puts them back once (end).
//
// The read: the start reads a large file in batches (start_read.go), so
// that most of what it allocates, each batch's syntax tree and typed
// configuration, is garbage by the next batch, and what stays live is the
// plan. The collector is off, under a memory limit of readHeapPerByte per
// byte of the file above what the process holds: at 10,000 virtual
// servers × 4 real servers (137 MB allocated in all) it collects 3 times
// on the host, each when little is live yet, the heap peaking at 68 MB.
// At the default percent it collected 7 times, and the guest's batched
// read took 3.02 s against 2.81 s for the full read with the collector off
// (one guest); under the limit the two took 2.94 and 4.64 s, 3.21 and
// 3.07 s (two guests; whichever runs second in a guest is faster), the
// batched read holding 67 MiB at its end and the full one 131 MiB. A read
// that falls back to the full read raises the limit to
// fullReadHeapPerByte (fullRead): its allocations stay live.
//
// The load (loading): the read's garbage is collected and its freed
// memory returned to the system (debug.FreeOSMemory): the read leaves
// 30 MiB free in pieces among the plan's pages, which the load's larger
// arrays did not fit, so that the load grew the process past the read's
// peak all the same. The first Router.Load (desired state, 50,000 IPVS
// operations, 40,000 check targets at 10,000 × 4) then allocates about
// 10 MB before its kernel change is made (30 MB before the first apply
// streamed the desired state a few hundred services at a time,
// apply_stream.go), most of it live (the Applier's known state, the
// states reported), and the guest has one vCPU: a collection meanwhile (0.2-0.9 s there, marking
// the plan) delays the kernel change by as much. So the collector is off
// for it, under a memory limit of loadHeapPerLive times the live heap (or
// what the process holds, if more), and collects once the kernel change
// is made (applied, after the start's wall time as measured), the apply's
// garbage then dead, so that the 40,000 check
// targets' registration reuses their memory; the limit is then 2 live
// heaps. In one guest (2026-12-07, BenchmarkVMRouterStart10k), the
// process's peak RSS went from 113.9 to 85.5 MiB with this and the
// load's own cuts (ipvs.Client.Do's pooled requests, desired's smaller
// arrays), the read's peak (85.5) now the highest and the load's 83.6;
// a load limit of 2 live heaps instead cost 3 collections (the start
// 1.5 s slower) for about the same peak.
//
// A GOGC or GOMEMLIMIT in the environment is left alone throughout.
type startGC struct {
	// set: the policy changed the collector; pct and mem are its
	// settings before.
	set bool
	pct int
	mem int64
	// size is the configuration file's, for the read's limit.
	size int64
}

// beginStart sets the read's policy for the file at path.
func beginStart(path string) *startGC {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return &startGC{}
	}
	g := &startGC{set: true, pct: debug.SetGCPercent(-1), mem: debug.SetMemoryLimit(-1)}
	if fi, err := os.Stat(path); err == nil {
		g.size = fi.Size()
	}
	if startReadGC >= 0 {
		debug.SetGCPercent(startReadGC)
		return g
	}
	g.readLimit(readHeapPerByte)
	return g
}

// readLimit sets the read's memory limit: perByte bytes per byte of the
// file (at least 64 MiB) above what the process holds.
func (g *startGC) readLimit(perByte int64) {
	held := heldBytes()
	if held == 0 {
		debug.SetGCPercent(g.pct) // no figures: the collector as it was
		return
	}
	debug.SetMemoryLimit(int64(held) + max(readHeapMin, perByte*g.size))
}

// fullRead is called when the start reads the file in full after all:
// the read's allocations then stay live until its end, and the limit
// grows to fullReadHeapPerByte.
func (g *startGC) fullRead() {
	if g == nil || !g.set || startReadGC >= 0 {
		return
	}
	g.readLimit(fullReadHeapPerByte)
}

// heldBytes is the memory the process holds from the system (0: unknown).
func heldBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

// loadingFree returns the read's freed memory to the system once it is
// collected (see startGC); a variable for the VM benchmark's A/B runs.
var loadingFree = true

// loading collects the read's garbage and sets the load's policy.
func (g *startGC) loading() {
	if !g.set || !loadingFree {
		runtime.GC()
	}
	if !g.set {
		return
	}
	if loadingFree {
		debug.FreeOSMemory()
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

// applied is called once the first load's kernel change is made, before
// its check targets are registered: it collects the apply's garbage (the
// desired state's pieces and scratch) so that the registration
// reuses that memory instead of growing the heap, and sets the limit to
// 2 live heaps for the rest of the load.
func (g *startGC) applied() {
	if g == nil || !g.set || !appliedGC {
		return
	}
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	debug.SetMemoryLimit(int64(2*s[0].Value.Uint64() + 4<<20))
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

// memAttrs describes the process's memory for the start's log lines, in
// MiB: its resident set now and at its peak (VmRSS, VmHWM), the file
// pages in the resident set (the binary's text and data), the heap's
// live bytes as of the last collection, its objects (live or not yet
// swept), its free spans still held and those returned, the goroutine
// stacks, and the rest of what the runtime holds (metadata, buffers).
// Where the guest's peak RSS comes from is read off these.
func memAttrs() []any {
	names := []string{
		"/gc/heap/live:bytes",
		"/memory/classes/heap/objects:bytes",
		"/memory/classes/heap/free:bytes",
		"/memory/classes/heap/unused:bytes",
		"/memory/classes/heap/released:bytes",
		"/memory/classes/heap/stacks:bytes",
		"/memory/classes/total:bytes",
	}
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	v := make([]float64, len(s))
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = float64(s[i].Value.Uint64()) / (1 << 20)
		}
	}
	other := v[6] - v[1] - v[2] - v[3] - v[4] - v[5]
	rss, hwm, file := procStatusMiB()
	mib := func(f float64) string { return fmt.Sprintf("%.1f", f) }
	return []any{"rss_mib", mib(rss), "hwm_mib", mib(hwm), "file_mib", mib(file), "live_mib", mib(v[0]),
		"objects_mib", mib(v[1]), "free_mib", mib(v[2] + v[3]), "released_mib", mib(v[4]),
		"stacks_mib", mib(v[5]), "runtime_mib", mib(other)}
}

// procStatusMiB reads VmRSS, VmHWM and RssFile (the binary's pages, in
// the main) from /proc/self/status (zeros where there is none).
func procStatusMiB() (rss, hwm, file float64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		switch k {
		case "VmRSS":
			rss = n / 1024
		case "VmHWM":
			hwm = n / 1024
		case "RssFile":
			file = n / 1024
		}
	}
	return rss, hwm, file
}
