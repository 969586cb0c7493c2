package ipvs

import (
	"context"
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"testing"
)

// mhKernel is fakeKernel plus the kernel's last_weight of each
// destination (ip_vs_ctl.c: set on addition, kept by an edit to 0).
type mhKernel struct {
	*fakeKernel
	last map[netip.AddrPort]int
}

func newMHKernel() *mhKernel { return &mhKernel{newFakeKernel(), map[netip.AddrPort]int{}} }

func (k *mhKernel) Do(ctx context.Context, ops []Op) error {
	for _, op := range ops {
		if err := k.fakeKernel.Do(ctx, []Op{op}); err != nil {
			return err
		}
		switch op.Kind {
		case OpNewDestination:
			k.last[op.Destination.Addr] = op.Destination.Weight
		case OpUpdateDestination:
			if op.Destination.Weight != 0 {
				k.last[op.Destination.Addr] = op.Destination.Weight
			}
		}
	}
	return nil
}

// table is what ip_vs_mh.c builds its table from: the destinations with a
// non-zero last_weight, in list order.
func (k *mhKernel) table() string {
	var out string
	for _, key := range k.order {
		for _, d := range k.svcs[key].Destinations {
			if w := k.last[d.Addr]; w > 0 {
				out += fmt.Sprintf("%v*%d ", d.Addr, w)
			}
		}
	}
	return out
}

func mhService(dests ...Destination) []Service {
	s := Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.50:80"), Scheduler: "mh"}
	s.Destinations = dests
	return []Service{s}
}

func rsDest(i, w int) Destination {
	return Destination{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}), 80), Forward: Route, Weight: w}
}

// sortedDests orders destinations by address, as lvsrouter gives them.
func sortedDests(ds []Destination) []Destination {
	ds = slices.Clone(ds)
	slices.SortFunc(ds, func(a, b Destination) int { return a.Addr.Compare(b.Addr) })
	return ds
}

// TestMaglevOrderTablesSameWhateverTheHistory gives three kernels random
// histories (servers added in different orders, removed, quiesced to 0,
// weights changed) that end in the same desired state: with MaglevOrder
// their mh inputs are identical; without it they differ.
func TestMaglevOrderTablesSameWhateverTheHistory(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	final := []Destination{rsDest(1, 1), rsDest(2, 2), rsDest(3, 1), rsDest(4, 0), rsDest(5, 1), rsDest(6, 3)}
	want := ""
	differ := 0
	for round := 0; round < 200; round++ {
		var tables [2][3]string
		for mode, on := range []bool{true, false} {
			for h := 0; h < 3; h++ {
				k := newMHKernel()
				a := NewApplier(k)
				cfg := &ApplyConfig{MaglevOrder: on}
				for step := 0; step < 1+rng.Intn(5); step++ {
					var ds []Destination
					for i := 1; i <= 7; i++ {
						if rng.Intn(3) > 0 {
							ds = append(ds, rsDest(i, rng.Intn(3)))
						}
					}
					rng.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
					if on {
						ds = sortedDests(ds)
					}
					if _, err := a.Apply(t.Context(), mhService(ds...), cfg); err != nil {
						t.Fatal(err)
					}
				}
				ds := slices.Clone(final)
				rng.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
				if on {
					ds = sortedDests(ds)
				}
				if _, err := a.Apply(t.Context(), mhService(ds...), cfg); err != nil {
					t.Fatal(err)
				}
				tables[mode][h] = k.table()
				// A dump and a fresh Applier see the same thing.
				if on {
					cur, _ := k.Dump(t.Context())
					if got := MaglevTableKey(&cur[0]); got != MaglevTableKey(&mhService(sortedDests(final)...)[0]) {
						t.Fatalf("round %d: dump key %s", round, got)
					}
				}
			}
		}
		if want == "" {
			want = tables[0][0]
		}
		for h := range 3 {
			if tables[0][h] != want {
				t.Fatalf("round %d, kernel %d: with MaglevOrder the table is built from %q, want %q", round, h, tables[0][h], want)
			}
		}
		if tables[1][0] != tables[1][1] || tables[1][1] != tables[1][2] {
			differ++
		}
	}
	if want != "10.0.1.1:80*1 10.0.1.2:80*2 10.0.1.3:80*1 10.0.1.5:80*1 10.0.1.6:80*3 " {
		t.Errorf("table built from %q: want the sorted servers with weights, none for the weight-0 one", want)
	}
	if differ == 0 {
		t.Error("without MaglevOrder the histories never gave different tables: the test shows nothing")
	}
	t.Logf("without MaglevOrder, %d of 200 rounds ended with different tables", differ)
}

// TestMaglevOrderCosts pins what each change costs: an unchanged apply
// nothing, a weight change one edit, a server added at the head of the
// order one addition, one added elsewhere one addition and a re-add of
// each server before it, a removal one deletion, a quiesce one re-add.
func TestMaglevOrderCosts(t *testing.T) {
	cfg := &ApplyConfig{MaglevOrder: true}
	base := []Destination{rsDest(2, 1), rsDest(4, 1), rsDest(6, 1)}
	cases := []struct {
		name  string
		dests []Destination
		want  []string
	}{
		{"unchanged", base, nil},
		{"weight", []Destination{rsDest(2, 1), rsDest(4, 5), rsDest(6, 1)}, []string{"edit-server 10.0.1.4:80"}},
		{"new first", []Destination{rsDest(1, 1), rsDest(2, 1), rsDest(4, 1), rsDest(6, 1)}, []string{"add-server 10.0.1.1:80"}},
		{"new last", []Destination{rsDest(2, 1), rsDest(4, 1), rsDest(6, 1), rsDest(7, 1)},
			[]string{"add-server 10.0.1.7:80", "delete-server 10.0.1.6:80", "add-server 10.0.1.6:80",
				"delete-server 10.0.1.4:80", "add-server 10.0.1.4:80", "delete-server 10.0.1.2:80", "add-server 10.0.1.2:80"}},
		{"new middle", []Destination{rsDest(2, 1), rsDest(3, 1), rsDest(4, 1), rsDest(6, 1)},
			[]string{"add-server 10.0.1.3:80", "delete-server 10.0.1.2:80", "add-server 10.0.1.2:80"}},
		{"removed", []Destination{rsDest(2, 1), rsDest(6, 1)}, []string{"delete-server 10.0.1.4:80"}},
		{"quiesced", []Destination{rsDest(2, 1), rsDest(4, 0), rsDest(6, 1)}, []string{"delete-server 10.0.1.4:80", "add-server 10.0.1.4:80"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newMHKernel()
			a := NewApplier(k)
			if _, err := a.Apply(t.Context(), mhService(base...), cfg); err != nil {
				t.Fatal(err)
			}
			ch, err := a.Apply(t.Context(), mhService(c.dests...), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range ch.Ops {
				got = append(got, o.Kind.String()+" "+o.Destination.Addr.String())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("ops %q, want %q", got, c.want)
			}
			var order []Destination
			for _, d := range c.dests {
				if d.Weight > 0 {
					order = append(order, d)
				}
			}
			cur, _ := k.Dump(t.Context())
			if g, w := MaglevTableKey(&cur[0]), MaglevTableKey(&mhService(order...)[0]); g != w {
				t.Errorf("kernel list %s, want %s", g, w)
			}
		})
	}
}
