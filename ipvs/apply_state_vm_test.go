//go:build vm

package ipvs

import (
	"context"
	"net/netip"
	"testing"
)

// TestVMApplyStreamedThenOneChange: on the real kernel, a streamed first
// apply (ApplyConfig.Stream) of 2,000 services × 4 destinations programs
// what a plain Apply would, sending the same number of requests, and the
// Applier's compact memory of it makes the next weight change one
// request, with the tunnel and threshold fields it remembers intact.
func TestVMApplyStreamedThenOneChange(t *testing.T) {
	c := vmClient(t)
	ctx := context.Background()
	want := bigState(2000)
	want[5].Destinations[1] = Destination{Addr: netip.MustParseAddrPort("172.17.0.5:80"), Forward: Tunnel, Weight: 3,
		TunnelType: TunnelGUE, TunnelPort: 6080, UpperThreshold: 50, LowerThreshold: 5}
	cfg := &ApplyConfig{Stream: true}
	a := NewApplier(c)
	before := c.requestsSent()
	ch, err := a.Apply(ctx, want, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.requestsSent() - before; ch.Len() != 10000 || ch.Ops != nil || n < 10000 {
		t.Errorf("streamed apply: %d operations counted, %d listed, %d requests sent", ch.Len(), len(ch.Ops), n)
	}
	got, err := c.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if x, y := configString(got), configString(want); x != y {
		t.Fatal("kernel state differs from desired after a streamed apply")
	}
	next := cloneState(want)
	next[5].Destinations[1].Weight = 4
	before = c.requestsSent()
	ch, err = a.Apply(ctx, next, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.requestsSent() - before; n != 1 || ch.Len() != 1 || ch.Ops[0].Kind != OpUpdateDestination {
		t.Errorf("one weight change sent %d requests: %v", n, ch.Ops)
	}
	if d := ch.Ops[0].Destination; d.TunnelPort != 6080 || d.UpperThreshold != 50 || d.Weight != 4 {
		t.Errorf("the update wrote %+v", d)
	}
	if ch, err := c.Apply(ctx, next, nil); err != nil || ch.Len() != 0 {
		t.Errorf("full Apply after the Applier: %v, %v", ch.Ops, err)
	}
}
