package ipvs

import (
	"context"
	"errors"
	"math/rand"
	"net/netip"
	"testing"
)

// TestApplyServicesOneWeightIsOneUpdate: handing the Applier only the
// service that changed costs one operation, leaves the others alone and
// keeps its remembered state equal to the kernel's.
func TestApplyServicesOneWeightIsOneUpdate(t *testing.T) {
	ctx := context.Background()
	k := newFakeKernel()
	a := NewApplier(k)
	want := bigState(1000)
	if _, err := a.Apply(ctx, want, nil); err != nil {
		t.Fatal(err)
	}
	ops := k.ops
	next := cloneState(want)
	next[500].Destinations[2].Weight = 5
	ch, err := a.ApplyServices(ctx, next[500:501], nil)
	if err != nil || ch.Len() != 1 || ch.Ops[0].Kind != OpUpdateDestination {
		t.Fatalf("ApplyServices: %v, %v", ch.Ops, err)
	}
	if k.ops-ops != 1 || k.dumps != 1 {
		t.Errorf("%d operations, %d dumps; want 1, 1", k.ops-ops, k.dumps)
	}
	// Unchanged services cost nothing; nothing is deleted.
	if ch, err := a.ApplyServices(ctx, next[:3], nil); err != nil || ch.Len() != 0 {
		t.Errorf("unchanged services: %v, %v", ch.Ops, err)
	}
	if ch, err := a.Apply(ctx, next, nil); err != nil || ch.Len() != 0 {
		t.Errorf("remembered state diverged: %v, %v", ch.Ops, err)
	}
	if ch, err := ApplyTo(ctx, k, next, nil); err != nil || ch.Len() != 0 {
		t.Errorf("kernel diverged: %v, %v", ch.Ops, err)
	}
}

// TestApplyServicesRejectsDuplicates: a service listed twice is refused
// before anything reaches the kernel.
func TestApplyServicesRejectsDuplicates(t *testing.T) {
	for _, n := range []int{2, 20} {
		k := newFakeKernel()
		a := NewApplier(k)
		svcs := bigState(n)
		svcs[n-1] = svcs[0]
		if _, err := a.ApplyServices(context.Background(), svcs, nil); !errors.Is(err, ErrInvalid) || k.ops != 0 {
			t.Errorf("%d services: %v after %d operations, want ErrInvalid before any", n, err, k.ops)
		}
	}
}

// TestApplyServicesEqualsApply: random changes to random subsets of the
// services, applied through ApplyServices with the changed ones (and some
// unchanged), leave the kernel and the Applier where Apply with the whole
// state would: a full Apply afterwards has nothing to do, with the
// Applier fresh from a dump and after Apply alike.
func TestApplyServicesEqualsApply(t *testing.T) {
	ctx := context.Background()
	for _, dumpFirst := range []bool{false, true} {
		rng := rand.New(rand.NewSource(7))
		k := newFakeKernel()
		state := bigState(40)
		if _, err := ApplyTo(ctx, k, state, nil); err != nil {
			t.Fatal(err)
		}
		a := NewApplier(k)
		if !dumpFirst {
			if _, err := a.Apply(ctx, state, nil); err != nil {
				t.Fatal(err)
			}
		}
		for step := range 300 {
			var subset []Service
			picked := map[int]bool{}
			for range rng.Intn(4) + 1 {
				i := rng.Intn(len(state))
				if picked[i] {
					continue
				}
				picked[i] = true
				s := &state[i]
				switch rng.Intn(5) {
				case 0:
					s.Destinations[rng.Intn(len(s.Destinations))].Weight = rng.Intn(4)
				case 1:
					s.Scheduler = []string{"rr", "wlc", "sh"}[rng.Intn(3)]
				case 2:
					if len(s.Destinations) > 1 {
						s.Destinations = s.Destinations[:len(s.Destinations)-1]
					}
				case 3:
					d := s.Destinations[0]
					d.Addr = netip.AddrPortFrom(d.Addr.Addr(), uint16(9000+rng.Intn(50)))
					if checkDests(&Service{Destinations: append(append([]Destination(nil), s.Destinations...), d)}) == nil {
						s.Destinations = append(append([]Destination(nil), s.Destinations...), d)
					}
				}
				c := *s
				c.Destinations = append([]Destination(nil), s.Destinations...)
				subset = append(subset, c)
			}
			if _, err := a.ApplyServices(ctx, subset, nil); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			if ch, err := ApplyTo(ctx, k, state, nil); err != nil || ch.Len() != 0 {
				t.Fatalf("step %d (dump first %v): kernel differs from the state: %v, %v", step, dumpFirst, ch.Ops, err)
			}
		}
		if ch, err := a.Apply(ctx, state, nil); err != nil || ch.Len() != 0 {
			t.Errorf("dump first %v: remembered state differs: %v, %v", dumpFirst, ch.Ops, err)
		}
	}
}
