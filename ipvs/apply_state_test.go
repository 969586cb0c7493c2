package ipvs

import (
	"context"
	"errors"
	"math/rand"
	"net/netip"
	"reflect"
	"testing"
	"time"
	"unsafe"
)

// TestKnownDestRoundTrip: what an Applier remembers of a destination gives
// back the destination as written, counters aside, for every address kind,
// in 40 bytes (a Destination takes 160).
func TestKnownDestRoundTrip(t *testing.T) {
	for _, d := range []Destination{
		{Addr: netip.MustParseAddrPort("10.1.2.3:80"), Forward: Masquerade, Weight: 7, UpperThreshold: 9, LowerThreshold: 2},
		{Addr: netip.MustParseAddrPort("[2001:db8::1]:443"), Forward: Tunnel, Weight: 0x7fffffff, TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: 3},
		{Addr: netip.MustParseAddrPort("[::ffff:10.0.0.1]:80"), Forward: Route},
		{Addr: netip.MustParseAddrPort("0.0.0.0:0")},
	} {
		if !compactable(&d) {
			t.Errorf("%v: not compactable", d.Addr)
			continue
		}
		k := compactDest(&d)
		if got := k.destination(); got != d {
			t.Errorf("round trip: got %+v, want %+v", got, d)
		}
	}
	if n := unsafe.Sizeof(knownDest{}); n > 40 {
		t.Errorf("a remembered destination takes %d bytes, want at most 40", n)
	}
	if n := unsafe.Sizeof(knownService{}); n > 160 {
		t.Errorf("a remembered service takes %d bytes, want at most 160", n)
	}
	z := Destination{Addr: netip.MustParseAddrPort("[fe80::1%eth0]:80")}
	if compactable(&z) {
		t.Errorf("%v: a zone must keep the full copy", z.Addr)
	}
}

// TestKnownSettingsRoundTrip: what an Applier remembers of a service's
// settings gives the service back without statistics and destinations,
// its family filled in.
func TestKnownSettingsRoundTrip(t *testing.T) {
	for _, s := range []Service{
		{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Scheduler: "sh", Flags: FlagPersistent | FlagHashed,
			Timeout: 300 * time.Second, Netmask: 0xffffff00, PersistenceEngine: "sip", Stats: Stats{Conns: 3},
			Destinations: []Destination{{Addr: netip.MustParseAddrPort("10.1.0.1:80")}}},
		{Family: IPv6, FWMark: 9},
	} {
		k := settingsOf(&s)
		want := bare(&s)
		want.Family = s.Key().Family
		if got := k.service(); !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
		if got := k.service(); got.Key() != s.Key() || configSum(&got) != configSum(&want) {
			t.Errorf("key %v, want %v", got.Key(), s.Key())
		}
	}
}

// randomState is a random desired state over a few keys and destinations,
// with every field a write sets (IPv4, IPv6 and zoned addresses,
// thresholds, tunnels).
func randomState(rng *rand.Rand) []Service {
	var want []Service
	for i := 0; i < rng.Intn(7); i++ {
		s := Service{Protocol: TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(rng.Intn(8))}), 80),
			Scheduler: []string{"rr", "wlc", "sh"}[rng.Intn(3)]}
		dup := false
		for _, w := range want {
			dup = dup || w.Key() == s.Key()
		}
		if dup {
			continue
		}
		for j := 0; j < rng.Intn(6); j++ {
			var a netip.Addr
			switch rng.Intn(3) {
			case 0:
				a = netip.AddrFrom4([4]byte{172, 16, 0, byte(rng.Intn(6))})
			case 1:
				a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(rng.Intn(4))})
			default:
				a = netip.AddrFrom16([16]byte{0xfe, 0x80, 15: byte(rng.Intn(3))}).WithZone("eth0")
			}
			d := Destination{Addr: netip.AddrPortFrom(a, 80), Weight: rng.Intn(3),
				Forward:        ForwardMethod([]uint32{0, 2, 3}[rng.Intn(3)]),
				UpperThreshold: uint32(rng.Intn(2) * 100), LowerThreshold: uint32(rng.Intn(2) * 10)}
			if d.Forward == Tunnel && rng.Intn(2) == 0 {
				d.TunnelType, d.TunnelPort, d.TunnelFlags = TunnelGUE, uint16(6000+rng.Intn(2)), TunnelFlags(rng.Intn(2))
			}
			if checkDests(&Service{Destinations: append(s.Destinations, d)}) == nil {
				s.Destinations = append(s.Destinations, d)
			}
		}
		want = append(want, s)
	}
	return want
}

// TestApplierRandomSequencesMatchKernel applies random states through one
// Applier, whole (Apply) or service by service (ApplyServices): after
// each, the kernel holds the desired state, and neither the Applier nor
// a fresh diff against the kernel finds anything left to do. The Applier
// diffs against what it remembers, so a field it lost would show here.
func TestApplierRandomSequencesMatchKernel(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(2))
	k := newFakeKernel()
	a := NewApplier(k)
	cfg := &ApplyConfig{MaglevOrder: true}
	mine := 0 // the test's own dumps
	for step := range 400 {
		want := randomState(rng)
		if step%3 == 2 {
			// The same keys, a field changed here and there, applied
			// service by service.
			got, _ := k.Dump(ctx)
			mine++
			for i := range got {
				got[i].Stats = Stats{}
				for j := range got[i].Destinations {
					if rng.Intn(3) == 0 {
						got[i].Destinations[j].Weight = rng.Intn(4)
						got[i].Destinations[j].UpperThreshold = uint32(rng.Intn(3))
					}
				}
			}
			want = got
			if _, err := a.ApplyServices(ctx, want, cfg); err != nil {
				t.Fatalf("step %d: ApplyServices: %v", step, err)
			}
		} else if _, err := a.Apply(ctx, want, cfg); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		got, err := k.Dump(ctx)
		mine++
		if err != nil {
			t.Fatal(err)
		}
		if x, y := stateString(got), stateString(want); x != y {
			t.Fatalf("step %d: kernel\n%s\nwant\n%s", step, x, y)
		}
		if ch, err := a.Apply(ctx, want, cfg); err != nil || ch.Len() != 0 {
			t.Fatalf("step %d: the Applier finds more to do: %v %v", step, ch.Ops, err)
		}
		if ops, err := Diff(got, want, cfg); err != nil || len(ops) != 0 {
			t.Fatalf("step %d: a diff against the kernel finds more to do: %v %v", step, ops, err)
		}
	}
	if k.dumps-mine != 1 {
		t.Errorf("the Applier dumped %d times, want 1", k.dumps-mine)
	}
}

// countingKernel is a fakeKernel that records the size of each Do.
type countingKernel struct {
	*fakeKernel
	batches []int
}

func (c *countingKernel) Do(ctx context.Context, ops []Op) error {
	c.batches = append(c.batches, len(ops))
	return c.fakeKernel.Do(ctx, ops)
}

// TestApplyStreamEqualsApply: a streamed first apply leaves the kernel as
// a plain one does, counts the same operations, hands them over in
// batches, and leaves the Applier remembering the same state (the next
// change costs one operation).
func TestApplyStreamEqualsApply(t *testing.T) {
	ctx := context.Background()
	want := bigState(1000)
	want[3].Scheduler = "mh"
	plain, streamed := newFakeKernel(), &countingKernel{fakeKernel: newFakeKernel()}
	cfg := &ApplyConfig{MaglevOrder: true}
	chp, err := NewApplier(plain).Apply(ctx, want, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := NewApplier(streamed)
	chs, err := a.Apply(ctx, want, &ApplyConfig{MaglevOrder: true, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	if chs.Ops != nil {
		t.Errorf("a streamed apply listed %d operations", len(chs.Ops))
	}
	if chs.Len() != chp.Len() || chs.Len() != 5000 {
		t.Errorf("streamed %d operations, plain %d, want 5000", chs.Len(), chp.Len())
	}
	for kind := OpNewService; kind <= OpDeleteDestination; kind++ {
		if chs.Count(kind) != chp.Count(kind) {
			t.Errorf("%v: streamed %d, plain %d", kind, chs.Count(kind), chp.Count(kind))
		}
	}
	if len(streamed.batches) < 5 {
		t.Errorf("batches %v, want the operations in batches of at most %d", streamed.batches, streamBatch)
	}
	for _, n := range streamed.batches {
		if n > streamBatch+len(want[0].Destinations) {
			t.Errorf("a batch of %d operations", n)
		}
	}
	sameAfterStream(t, plain, streamed.fakeKernel, a, want)
}

// sameAfterStream checks that kernel k, fed by a's streamed first
// apply of want, holds what plain does, and that one weight changed then
// costs one operation.
func sameAfterStream(t *testing.T, plain, k *fakeKernel, a *Applier, want []Service) {
	t.Helper()
	ctx := context.Background()
	x, _ := plain.Dump(ctx)
	y, _ := k.Dump(ctx)
	if stateString(x) != stateString(y) {
		t.Fatal("the streamed kernel differs from the plain one")
	}
	next := cloneState(want)
	next[567].Destinations[2].Weight = 9
	if ch, err := a.Apply(ctx, next, &ApplyConfig{MaglevOrder: true, Stream: true}); err != nil || ch.Len() != 1 || ch.Ops[0].Kind != OpUpdateDestination {
		t.Errorf("after the stream, one weight cost %v (%v)", ch.Ops, err)
	}
}

// TestApplyStreamRefusesBeforeWriting: a streamed apply refuses what a
// plain one refuses (a service listed twice, an invalid destination at
// the end) before its first batch.
func TestApplyStreamRefusesBeforeWriting(t *testing.T) {
	ctx := context.Background()
	for name, spoil := range map[string]func([]Service){
		"twice":   func(s []Service) { s[len(s)-1] = s[0] },
		"invalid": func(s []Service) { s[len(s)-1].Destinations[0].Weight = -1 },
		"repeat":  func(s []Service) { s[len(s)-1].Destinations[1] = s[len(s)-1].Destinations[0] },
	} {
		want := bigState(2000)
		spoil(want)
		k := newFakeKernel()
		_, err := NewApplier(k).Apply(ctx, want, &ApplyConfig{Stream: true})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
		if k.ops != 0 {
			t.Errorf("%s: %d operations written before the refusal", name, k.ops)
		}
	}
}

// TestStreamPiecesEqualsApply: a first apply handed over in pieces
// (Applier.Stream), each piece computed into the memory of the one
// before, leaves the kernel as one Apply does, and the Applier
// remembering the same state (the next change costs one operation).
func TestStreamPiecesEqualsApply(t *testing.T) {
	ctx := context.Background()
	want := bigState(1000)
	want[3].Scheduler = "mh"
	cfg := &ApplyConfig{MaglevOrder: true, Stream: true}
	plain := newFakeKernel()
	chp, err := NewApplier(plain).Apply(ctx, want, cfg)
	if err != nil {
		t.Fatal(err)
	}
	k := newFakeKernel()
	a := NewApplier(k)
	st, ok, err := a.Stream(ctx, len(want), cfg)
	if err != nil || !ok {
		t.Fatalf("Stream: %v %v", ok, err)
	}
	var piece []Service
	for i := 0; i < len(want); i += 97 {
		// The piece reuses the last one's memory, spoiled first: Add
		// must have kept nothing of it.
		for j := range piece {
			for d := range piece[j].Destinations {
				piece[j].Destinations[d].Weight = 77
			}
		}
		piece = append(piece[:0], cloneState(want[i:min(i+97, len(want))])...)
		if err := st.Add(ctx, piece); err != nil {
			t.Fatal(err)
		}
	}
	chs, err := st.End()
	if err != nil {
		t.Fatal(err)
	}
	if chs.Len() != chp.Len() || chs.Count(OpNewDestination) != chp.Count(OpNewDestination) {
		t.Errorf("pieces: %d operations, one Apply %d", chs.Len(), chp.Len())
	}
	sameAfterStream(t, plain, k, a, want)
}

// TestStreamRefusesPieces: a service listed in two pieces is refused,
// the refused piece is not written, and the Applier then reads the
// kernel again; a kernel with services is not streamed to.
func TestStreamRefusesPieces(t *testing.T) {
	ctx := context.Background()
	want := bigState(20)
	k := newFakeKernel()
	a := NewApplier(k)
	st, ok, err := a.Stream(ctx, len(want), nil)
	if err != nil || !ok {
		t.Fatalf("Stream: %v %v", ok, err)
	}
	if err := st.Add(ctx, want[:10]); err != nil {
		t.Fatal(err)
	}
	written := k.ops
	bad := cloneState(want[10:])
	bad[9] = want[0]
	if err := st.Add(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a service in two pieces: %v, want ErrInvalid", err)
	}
	if k.ops != written {
		t.Errorf("%d operations of the refused piece written", k.ops-written)
	}
	if _, err := st.End(); !errors.Is(err, ErrInvalid) {
		t.Errorf("End after a refusal: %v", err)
	}
	// The Applier reads the kernel again: the 10 services are known, and
	// the rest costs their operations only.
	ch, err := a.Apply(ctx, want, nil)
	if err != nil || ch.Count(OpNewService) != 10 {
		t.Errorf("after the refusal: %d services added (%v), want 10", ch.Count(OpNewService), err)
	}
	if _, ok, err := a.Stream(ctx, 1, nil); ok || err != nil {
		t.Errorf("Stream onto a kernel with services: ok %v, err %v", ok, err)
	}
}
