package main

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
)

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
