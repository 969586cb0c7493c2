package main

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
)

// readHeapPerByte is what the first read may allocate per byte of the main
// configuration file before the collector runs: 10,000 virtual servers × 4
// real servers (4.6 MB) end their read with a 120 MB heap, 30 MB of it
// still live once the syntax tree and typed configuration are dropped.
const readHeapPerByte = 32

// readHeapOn is false only in benchmarks comparing a read with the
// collector at its defaults.
var readHeapOn = true

// readHeap turns the collector off for the router's first configuration
// read, up to a memory limit of readHeapPerByte times the size of the file
// at path (at least 64 MiB above what the process holds). Until the read
// ends its allocations are nearly all live (the syntax tree, the typed
// configuration, the plan), so collecting meanwhile finds next to nothing:
// in the guest at 10,000 × 4 (one vCPU) its collections marked 70-80 MB
// once or twice, and the read took 2.9-3.1 s with them, 2.2-2.4 s
// without; the price is the garbage it no longer reuses, peak RSS 141 MiB
// instead of 135-136. The limit keeps a larger file (or includes) from
// growing the heap without bound: the collector runs again once it is
// reached. The returned func puts the collector back as it was. A GOGC or
// GOMEMLIMIT in the environment is left alone.
func readHeap(path string) (restore func()) {
	if !readHeapOn || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return func() {}
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return func() {}
	}
	limit := s[0].Value.Uint64() + max(64<<20, readHeapPerByte*uint64(fi.Size()))
	pct := debug.SetGCPercent(-1)
	mem := debug.SetMemoryLimit(int64(limit))
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(mem)
	}
}

// reuseHeap lets the router's first load use the memory the configuration's
// parse already took from the system, collecting only if it needs more,
// instead of whenever its heap doubles. At 10,000 virtual servers × 4 real
// servers the parse peaks near 110 MB; once serve has collected its syntax
// tree, the plan is 23 MB, and the load (desired state, 50,000 IPVS
// operations, 40,000 check targets) allocated enough for two or three
// collections, each marking 30 to 70 MB on a core the kernel's IPVS work
// needs too. The limit is what the process holds from the system (never
// less than twice the live heap, the default collector's own goal), so the
// peak RSS does not grow. The returned func puts the collector back as it
// was; call it once the first load is done. A GOGC or GOMEMLIMIT in the
// environment is left alone.
func reuseHeap() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(s)
	for _, v := range s {
		if v.Value.Kind() != metrics.KindUint64 {
			return func() {}
		}
	}
	held := s[0].Value.Uint64() - s[1].Value.Uint64()
	limit := max(held, 2*s[2].Value.Uint64()+4<<20)
	pct := debug.SetGCPercent(-1)
	mem := debug.SetMemoryLimit(int64(limit))
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(mem)
	}
}
