package ipvs

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net/netip"
	"sort"
	"syscall"
	"testing"
	"time"
)

// fakeKernel is an in-memory IPVS that applies Ops like the kernel does
// (EEXIST, ESRCH, ENOENT) and counts what it is asked to do.
type fakeKernel struct {
	svcs  map[ServiceKey]*Service
	order []ServiceKey
	ops   int
	dumps int
}

func newFakeKernel() *fakeKernel { return &fakeKernel{svcs: map[ServiceKey]*Service{}} }

func (k *fakeKernel) Dump(context.Context) ([]Service, error) {
	k.dumps++
	out := make([]Service, 0, len(k.order))
	for _, key := range k.order {
		s := *k.svcs[key]
		s.Destinations = append([]Destination(nil), s.Destinations...)
		out = append(out, s)
	}
	return out, nil
}

func (k *fakeKernel) Do(_ context.Context, ops []Op) error {
	var errs []error
	for _, op := range ops {
		k.ops++
		if err := k.do(op); err != nil {
			errs = append(errs, &OpError{Op: op.Kind.String(), Err: err})
		}
	}
	return errors.Join(errs...)
}

func (k *fakeKernel) do(op Op) error {
	key := op.Service.Key()
	s := k.svcs[key]
	if op.Kind != OpNewService && s == nil {
		return syscall.ESRCH
	}
	find := func() int {
		for i := range s.Destinations {
			if s.Destinations[i].Addr == op.Destination.Addr {
				return i
			}
		}
		return -1
	}
	switch op.Kind {
	case OpNewService:
		if s != nil {
			return syscall.EEXIST
		}
		n := bare(&op.Service)
		n.Family = key.Family
		n.Scheduler = n.scheduler()
		n.Netmask = n.netmask()
		n.Flags |= FlagHashed
		k.svcs[key] = &n
		k.order = append(k.order, key)
	case OpUpdateService:
		d := s.Destinations
		*s = bare(&op.Service)
		s.Family, s.Scheduler, s.Netmask, s.Destinations = key.Family, s.scheduler(), s.netmask(), d
		s.Flags |= FlagHashed
	case OpDeleteService:
		delete(k.svcs, key)
		for i, o := range k.order {
			if o == key {
				k.order = append(k.order[:i], k.order[i+1:]...)
				break
			}
		}
	case OpNewDestination:
		if find() >= 0 {
			return syscall.EEXIST
		}
		// The kernel lists destinations newest first.
		s.Destinations = append([]Destination{op.Destination}, s.Destinations...)
	case OpUpdateDestination:
		i := find()
		if i < 0 {
			return syscall.ENOENT
		}
		s.Destinations[i] = op.Destination
	case OpDeleteDestination:
		i := find()
		if i < 0 {
			return syscall.ENOENT
		}
		s.Destinations = append(s.Destinations[:i], s.Destinations[i+1:]...)
	}
	return nil
}

// bigState returns n services with four destinations each.
func bigState(n int) []Service {
	out := make([]Service, n)
	for i := range out {
		out[i] = Service{
			Protocol:  TCP,
			Addr:      netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 80),
			Scheduler: "wlc",
		}
		for j := 0; j < 4; j++ {
			out[i].Destinations = append(out[i].Destinations, Destination{
				Addr:    netip.AddrPortFrom(netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(j)}), 8080),
				Forward: Masquerade, Weight: 1,
			})
		}
	}
	return out
}

func cloneState(s []Service) []Service {
	out := make([]Service, len(s))
	for i := range s {
		out[i] = s[i]
		out[i].Destinations = append([]Destination(nil), s[i].Destinations...)
	}
	return out
}

func TestApplyCreatesThenIsIdempotent(t *testing.T) {
	ctx := context.Background()
	k := newFakeKernel()
	want := bigState(50)
	ch, err := ApplyTo(ctx, k, want, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ch.Count(OpNewService); got != 50 {
		t.Errorf("new services = %d, want 50", got)
	}
	if got := ch.Count(OpNewDestination); got != 200 {
		t.Errorf("new destinations = %d, want 200", got)
	}
	if ch.Len() != 250 {
		t.Errorf("ops = %d, want 250", ch.Len())
	}
	before := k.ops
	ch, err = ApplyTo(ctx, k, want, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Len() != 0 || k.ops != before {
		t.Errorf("second Apply issued %d ops (%v)", k.ops-before, ch.Ops)
	}
}

func TestApplyOneWeightChangeIn1000IsOneUpdate(t *testing.T) {
	ctx := context.Background()
	k := newFakeKernel()
	want := bigState(1000)
	if _, err := ApplyTo(ctx, k, want, nil); err != nil {
		t.Fatal(err)
	}
	next := cloneState(want)
	next[567].Destinations[2].Weight = 7
	before := k.ops
	ch, err := ApplyTo(ctx, k, next, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k.ops-before != 1 || ch.Len() != 1 || ch.Ops[0].Kind != OpUpdateDestination {
		t.Fatalf("weight change issued %d ops: %v", k.ops-before, ch.Ops)
	}
	if got := ch.Ops[0].Destination; got.Weight != 7 || got.Addr != next[567].Destinations[2].Addr {
		t.Errorf("update = %+v", got)
	}
	if ch, err := ApplyTo(ctx, k, next, nil); err != nil || ch.Len() != 0 {
		t.Errorf("not idempotent after update: %v", ch.Ops)
	}
}

func TestApplyEveryKindOfChange(t *testing.T) {
	ctx := context.Background()
	k := newFakeKernel()
	base := bigState(3)
	if _, err := ApplyTo(ctx, k, base, nil); err != nil {
		t.Fatal(err)
	}
	next := cloneState(base[1:]) // service 0 goes away
	next[0].Scheduler = "rr"     // service 1: scheduler change
	next[0].Flags = FlagPersistent
	next[0].Timeout = 300 * time.Second
	next[1].Destinations = next[1].Destinations[1:]                  // one server removed
	next[1].Destinations[0].Forward = Route                          // one server's method changed
	next[1].Destinations = append(next[1].Destinations, Destination{ // one added
		Addr: netip.MustParseAddrPort("172.16.9.9:8080"), Weight: 5})
	next = append(next, Service{Family: IPv6, FWMark: 9, Scheduler: "sh", Flags: FlagSHPort,
		Destinations: []Destination{{Addr: netip.MustParseAddrPort("[2001:db8::9]:0"), Forward: Route, Weight: 1}}})
	ch, err := ApplyTo(ctx, k, next, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range ch.Ops {
		got = append(got, o.String())
	}
	want := []string{
		"delete-service TCP 10.0.0.0:80",
		"edit-service TCP 10.0.0.1:80",
		"delete-server TCP 10.0.0.2:80 -> 172.16.0.0:8080",
		"edit-server TCP 10.0.0.2:80 -> 172.16.0.1:8080",
		"add-server TCP 10.0.0.2:80 -> 172.16.9.9:8080",
		"add-service FWM 9 IPv6",
		"add-server FWM 9 IPv6 -> [2001:db8::9]:0",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ops:\n got %q\nwant %q", got, want)
	}
	if ch, err := ApplyTo(ctx, k, next, nil); err != nil || ch.Len() != 0 {
		t.Errorf("not idempotent: %v", ch.Ops)
	}
}

func TestApplyLeavesUnmanagedServices(t *testing.T) {
	ctx := context.Background()
	k := newFakeKernel()
	if _, err := ApplyTo(ctx, k, bigState(4), nil); err != nil {
		t.Fatal(err)
	}
	keep := bigState(4)[:1]
	ch, err := ApplyTo(ctx, k, keep, &ApplyConfig{Managed: func(ServiceKey) bool { return false }})
	if err != nil || ch.Len() != 0 {
		t.Fatalf("keep unlisted: %v, %v", ch.Ops, err)
	}
	only2 := bigState(4)[2].Key()
	ch, err = ApplyTo(ctx, k, keep, &ApplyConfig{Managed: func(k ServiceKey) bool { return k == only2 }})
	if err != nil || ch.Len() != 1 || ch.Ops[0].Kind != OpDeleteService || ch.Ops[0].Service.Key() != only2 {
		t.Fatalf("Managed: %v, %v", ch.Ops, err)
	}
	if len(k.svcs) != 3 {
		t.Errorf("kernel has %d services, want 3", len(k.svcs))
	}
}

func TestDiffRejectsDuplicates(t *testing.T) {
	s := bigState(1)
	if _, err := Diff(nil, append(s, s[0]), nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("duplicate service: %v", err)
	}
	s[0].Destinations = append(s[0].Destinations, s[0].Destinations[0])
	if _, err := Diff(nil, s, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("duplicate destination: %v", err)
	}
}

func TestApplierRemembersState(t *testing.T) {
	ctx := context.Background()
	k := newFakeKernel()
	a := NewApplier(k)
	want := bigState(100)
	if _, err := a.Apply(ctx, want, nil); err != nil {
		t.Fatal(err)
	}
	next := cloneState(want)
	next[10].Destinations[0].Weight = 3
	ch, err := a.Apply(ctx, next, nil)
	if err != nil || ch.Len() != 1 {
		t.Fatalf("Apply: %v, %v", ch.Ops, err)
	}
	if k.dumps != 1 {
		t.Errorf("Applier dumped %d times, want 1", k.dumps)
	}
	// What it remembers equals what the kernel has.
	if ch, err := ApplyTo(ctx, k, next, nil); err != nil || ch.Len() != 0 {
		t.Errorf("remembered state diverged: %v", ch.Ops)
	}
}

// TestApplyRandomSequences applies random desired states in a row; after
// each, the fake kernel must equal the desired state and a second Apply must
// do nothing.
func TestApplyRandomSequences(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(1))
	k := newFakeKernel()
	for step := 0; step < 200; step++ {
		want := randomState(rng) // apply_state_test.go
		if _, err := ApplyTo(ctx, k, want, nil); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		got, err := k.Dump(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := stateString(got), stateString(want); a != b {
			t.Fatalf("step %d: kernel\n%s\nwant\n%s", step, a, b)
		}
		if ch, err := ApplyTo(ctx, k, want, nil); err != nil || ch.Len() != 0 {
			t.Fatalf("step %d: not idempotent: %v", step, ch.Ops)
		}
	}
}

// stateString renders services, with every field a write sets, in a
// canonical order for comparison.
func stateString(svcs []Service) string {
	var lines []string
	for _, s := range svcs {
		lines = append(lines, fmt.Sprintf("%v %s", s.Key(), s.scheduler()))
		for _, d := range s.Destinations {
			lines = append(lines, fmt.Sprintf("%v -> %+v", s.Key(), destConfig(&d)))
		}
	}
	sort.Strings(lines)
	return fmt.Sprint(lines)
}

func BenchmarkDiffOneChangeOf10000(b *testing.B) {
	cur := bigState(10000)
	next := cloneState(cur)
	next[5000].Destinations[1].Weight = 9
	b.ReportAllocs()
	for b.Loop() {
		ops, err := Diff(cur, next, nil)
		if err != nil || len(ops) != 1 {
			b.Fatal(ops, err)
		}
	}
}

// nopOps is a kernel that already has a state and accepts every op.
type nopOps struct{ state []Service }

func (n nopOps) Dump(context.Context) ([]Service, error) { return cloneState(n.state), nil }
func (nopOps) Do(context.Context, []Op) error            { return nil }

func BenchmarkApplierOneChangeOf10000(b *testing.B) {
	ctx := context.Background()
	states := [2][]Service{bigState(10000), bigState(10000)}
	states[1][5000].Destinations[1].Weight = 9
	a := NewApplier(nopOps{state: states[0]})
	if ch, err := a.Apply(ctx, states[0], nil); err != nil || ch.Len() != 0 {
		b.Fatal(ch, err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i ^= 1
		ch, err := a.Apply(ctx, states[i], nil)
		if err != nil || ch.Len() != 1 {
			b.Fatal(ch.Ops, err)
		}
	}
}
