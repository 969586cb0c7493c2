package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/lvskit/lvskit/check"
)

// TestFirstApplyStreamedEqualsWhole: the first apply computed and
// streamed a few services at a time (applyStreamed) leaves the kernel,
// the scripts, mails, reported states and notify memory where the whole
// desired state at once does, and so do the health changes and reloads
// that follow (the managed services and quorum states it recorded are
// the same).
func TestFirstApplyStreamedEqualsWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	ctx := t.Context()
	defer func(n int) { streamPiece = n }(streamPiece)
	for seed := range uint64(6) {
		rng := rand.New(rand.NewPCG(seed, 29))
		m := newIncModel(rng)
		streamed, whole := newApplyTwin(t), newApplyTwin(t)
		load := func(step, text string) {
			mustWrite(t, path, []byte(text))
			for _, w := range []*applyTwin{streamed, whole} {
				p, _, err := loadData(path, []byte(text), anyInterface)
				if err != nil {
					return // a rejected edit: both keep their plans
				}
				streamPiece = 2
				if w == whole {
					streamPiece = 0
				}
				err = w.r.Load(ctx, p)
				streamPiece = 2
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
		}
		load(fmt.Sprintf("seed %d start", seed), applyDecorate(m.render()))
		n := len(streamed.r.plan.Services)
		if streamed.k.calls < (n+1)/2 || whole.k.calls != 1 {
			t.Fatalf("seed %d: %d services in %d kernel calls streamed, %d whole: want one a piece of 2, one in all", seed, n, streamed.k.calls, whole.k.calls)
		}
		if a, b := streamed.state(), whole.state(); a != b {
			t.Fatalf("seed %d: the streamed first apply differs:\n--- streamed\n%s\n--- whole\n%s", seed, a, b)
		}
		for step := range 20 {
			name := fmt.Sprintf("seed %d step %d", seed, step)
			if rng.IntN(3) == 0 {
				next := m.clone()
				text, edit := incEdit(rng, next, step)
				load(name+" ("+edit+")", applyDecorate(text))
				m = next
			} else {
				p := streamed.r.plan
				vs := &p.Services[rng.IntN(len(p.Services))]
				rs := &vs.Reals[rng.IntN(len(vs.Reals))]
				if len(rs.Checks) > 0 {
					tr := check.Transition{ID: rs.Checks[0].ID, Kind: check.StateChange, Up: rng.IntN(2) == 0}
					streamed.r.onCheck(tr)
					whole.r.onCheck(tr)
				}
				for _, w := range []*applyTwin{streamed, whole} {
					if err := w.r.apply(ctx); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
				}
			}
			if a, b := streamed.state(), whole.state(); a != b {
				t.Fatalf("%s: differs after a streamed first apply:\n--- streamed\n%s\n--- whole\n%s", name, a, b)
			}
		}
	}
}

// TestReloadMovesQuorumState: a service's quorum state (kept by position
// in the plan) follows the service when a reload moves it. With quorum 2
// and hysteresis 1, a service lost below 1 is regained only at 3: after
// both its real servers went down and one came back it is still without
// quorum, and stays so (the sorry server in the kernel) once a virtual
// server added ahead of it moves it; a state forgotten would let it
// start afresh with quorum (1 >= 2-1).
func TestReloadMovesQuorumState(t *testing.T) {
	vs := func(i int) string {
		return fmt.Sprintf(`virtual_server 10.0.0.%d 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    quorum 2
    hysteresis 1
    quorum_up /bin/echo up %d
    quorum_down /bin/echo down %d
    sorry_server 10.9.9.9 80
    real_server 10.1.%d.1 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.1.%d.2 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`, i, i, i, i, i)
	}
	w := newApplyTwin(t)
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	ctx := t.Context()
	load := func(text string) {
		t.Helper()
		mustWrite(t, path, []byte(text))
		p, _, err := loadData(path, []byte(text), anyInterface)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.r.Load(ctx, p); err != nil {
			t.Fatal(err)
		}
		w.settle()
	}
	// health sets the state of real server j of the plan's last service.
	health := func(j int, up bool) {
		t.Helper()
		p := w.r.plan
		id := p.Services[len(p.Services)-1].Reals[j].Checks[0].ID
		w.r.onCheck(check.Transition{ID: id, Kind: check.StateChange, Up: up})
		if err := w.r.apply(ctx); err != nil {
			t.Fatal(err)
		}
		w.settle()
	}
	dests := func() string {
		p := w.r.plan
		s := w.k.svcs[p.Services[len(p.Services)-1].Service.Key()]
		if s == nil {
			t.Fatal("service 2 not in the kernel")
		}
		var out []string
		for _, d := range s.Destinations {
			out = append(out, d.Addr.String())
		}
		return fmt.Sprint(out)
	}
	load(vs(1) + vs(2))
	health(0, true)
	health(1, true)
	health(0, false)
	health(1, false)
	health(0, true)
	const sorry = "[10.9.9.9:80]"
	if got := fmt.Sprint(w.scripts); got != "[/bin/echo down 2]" || dests() != sorry {
		t.Fatalf("before the reload: scripts %s, destinations %s; want [/bin/echo down 2], %s", got, dests(), sorry)
	}
	load(vs(1) + vs(3) + vs(2))
	if got := fmt.Sprint(w.scripts); got != "[/bin/echo down 2]" || dests() != sorry {
		t.Errorf("after the reload: scripts %s, destinations %s; want [/bin/echo down 2], %s", got, dests(), sorry)
	}
}
