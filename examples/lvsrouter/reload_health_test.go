package main

import (
	"path/filepath"
	"testing"

	"github.com/lvskit/lvskit/check"
)

// BenchmarkRouterHealthChange10k4 is one check going down (then up again)
// on a started router at 10,000 virtual servers × 4 TCP-checked real
// servers: the Monitor's transition (onCheck), then the Run loop's apply
// (desired state, diff, one IPVS operation), on the host without a kernel.
func BenchmarkRouterHealthChange10k4(b *testing.B) {
	path := filepath.Join(b.TempDir(), "keepalived.conf")
	mustWriteB(b, path, scaleConf(1))
	r, ops := hostRouter(b)
	hostLoad(b, r, path)
	id := r.plan.Services[scaleEdited].Reals[0].Checks[0].ID
	up := false
	b.ReportAllocs()
	for b.Loop() {
		before := ops.ops
		r.onCheck(check.Transition{ID: id, Kind: check.StateChange, Up: up})
		if err := r.apply(b.Context()); err != nil {
			b.Fatal(err)
		}
		if n := ops.ops - before; n != 1 {
			b.Fatalf("health change cost %d IPVS operations, want 1", n)
		}
		up = !up
	}
}
