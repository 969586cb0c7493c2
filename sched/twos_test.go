package sched

import (
	"math"
	"math/rand/v2"
	"testing"
)

// twosFenwick is the binary indexed tree the twos scheduler used before
// its wide tree, kept as a second reference: the same positions, the same
// "first position whose prefix exceeds sum-r" search, built from scratch.
type twosFenwick struct {
	fw  []int64
	at  []*dest
	sum int64
}

func newTwosFenwick(s *Scheduler) *twosFenwick {
	n := 0
	for x := s.head.next; x != &s.head; x = x.next {
		n = max(n, int(x.seq))
	}
	size := 1
	for size <= n {
		size *= 2
	}
	f := &twosFenwick{fw: make([]int64, size+1), at: make([]*dest, size+1)}
	for x := s.head.next; x != &s.head; x = x.next {
		w := twosWeight(x)
		f.at[x.seq] = x
		f.sum += w
		for i := int(x.seq); i < len(f.fw); i += i & -i {
			f.fw[i] += w
		}
	}
	return f
}

// draw is the old descent: the largest j with prefix(j) <= sum-r, plus one.
func (f *twosFenwick) draw(r int64) *dest {
	t := f.sum - r
	j := 0
	for step := len(f.fw) - 1; step > 0; step >>= 1 {
		if f.fw[j+step] <= t {
			j += step
			t -= f.fw[j]
		}
	}
	return f.at[j+1]
}

// twosPickBoth picks with the tree and with the kernel's loop, both drawing
// v1 then v2, and restores the scheduler's random source.
func twosPickBoth(s *Scheduler, v1, v2 uint32) (tree, loop *dest) {
	a := s.alg.(*twosAlgo)
	orig := s.cfg.rand
	defer func() { s.cfg.rand = orig }()
	replay := func() func() uint32 {
		n := 0
		return func() uint32 { n++; return [2]uint32{v1, v2}[(n-1)%2] }
	}
	s.cfg.rand = replay()
	loop = a.pickScan()
	s.cfg.rand = replay()
	return a.pick(Key{}), loop
}

// TestTwosWideTreeMatchesFenwick drives the twos scheduler with up to 4,000
// destinations (trees of up to four levels, grown by rebuilds) through
// a random stream of adds, removals, weight edits and overloads, and checks
// that every draw of the wide tree equals the Fenwick reference's, and every
// pick the kernel loop's for the same random numbers.
func TestTwosWideTreeMatchesFenwick(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	s := mustNew(t, "twos", Config{Rand: rng.Uint32})
	a := s.alg.(*twosAlgo)
	drawn, checks := 0, 0
	check := func(step int) {
		checks++
		t.Helper()
		f := newTwosFenwick(s)
		if f.sum != a.sum {
			t.Fatalf("step %d: sum %d, reference %d", step, a.sum, f.sum)
		}
		var rs []int64
		// The trees answer draws only while the sum fits the kernel's
		// 32-bit arithmetic; beyond, pick runs the loop itself.
		if a.sum > 0 && a.sum < math.MaxInt32 {
			rs = []int64{1, a.sum, (a.sum + 1) / 2}
			for i := 0; i < 64; i++ {
				rs = append(rs, 1+rng.Int64N(a.sum))
			}
		}
		if len(rs) > 0 {
			drawn++
		}
		for i := 0; i+1 < len(rs); i += 2 {
			p1, p2 := a.draw2(rs[i], rs[i+1])
			g1, g2 := a.at[p1].x, a.at[p2].x
			w1, w2 := f.draw(rs[i]), f.draw(rs[i+1])
			if g1 != w1 || g2 != w2 {
				t.Fatalf("step %d: draws %d,%d: tree %v,%v, Fenwick %v,%v",
					step, rs[i], rs[i+1], addrOf(g1), addrOf(g2), addrOf(w1), addrOf(w2))
			}
		}
		if len(rs) > 0 {
			twosCheckFlat(t, a, f, rng, step)
		}
		for i := 0; i < 16; i++ {
			if got, want := twosPickBoth(s, rng.Uint32(), rng.Uint32()); got != want {
				t.Fatalf("step %d: tree picked %v, kernel loop %v", step, addrOf(got), addrOf(want))
			}
		}
	}
	const addrs = 4000
	var huge []int
	for step := 0; step < 16000; step++ {
		i := 1 + rng.IntN(addrs)
		addr := rs(i)
		switch op := rng.IntN(100); {
		case op < 50:
			_ = s.Add(Dest{Addr: addr, Weight: rng.IntN(12), UpperThreshold: uint32(rng.IntN(4))})
		case op < 65:
			_ = s.Edit(Dest{Addr: addr, Weight: rng.IntN(12)})
		case op < 73:
			_ = s.Remove(addr)
		case op < 83:
			_ = s.SetConns(addr, rng.IntN(4), rng.IntN(4))
		case op < 85:
			// Now and then huge weights carry the sum past 2^31, and
			// back below when they are edited down again.
			if s.Edit(Dest{Addr: addr, Weight: 1 << 29}) == nil {
				huge = append(huge, i)
			}
		case op < 90 && len(huge) > 0:
			_ = s.Edit(Dest{Addr: rs(huge[0]), Weight: 1})
			huge = huge[1:]
		default:
			_ = s.Bind(addr, rng.IntN(2) == 0)
		}
		if step%97 == 0 || step > 15900 {
			check(step)
		}
	}
	t.Logf("%d destinations, %d tree levels, draws compared at %d of %d checks", s.n, len(a.off), drawn, checks)
	if len(a.off) < 4 || drawn < checks/2 {
		t.Fatalf("%d tree levels, draws compared at %d of %d checks: the stream no longer covers deep trees", len(a.off), drawn, checks)
	}
}

// twosCheckFlat rebuilds a's flat arrays and checks that a flat draw lands
// where the Fenwick reference does for the same random number: at every
// bucket's edges, the extremes and random numbers.
func twosCheckFlat(t *testing.T, a *twosAlgo, f *twosFenwick, rng *rand.Rand, step int) {
	t.Helper()
	a.buildFlat()
	vs := []uint32{0, 1, math.MaxUint32, math.MaxUint32 - 1}
	for i := 0; i < 32; i++ {
		j := uint32(rng.IntN(len(a.guide)))
		vs = append(vs, j<<a.shift, j<<a.shift-1, j<<a.shift+1, rng.Uint32())
	}
	for _, v := range vs {
		r := max(randMax(v, uint32(a.sum+1)), 1)
		if got, want := a.flat[a.drawFlat(v)].x, f.draw(r); got != want {
			t.Fatalf("step %d: v %#x (r %d of %d): flat %v, Fenwick %v", step, v, r, a.sum, addrOf(got), addrOf(want))
		}
	}
	if n := len(a.flat); len(a.guide) <= n || len(a.guide) > 2*n {
		t.Fatalf("step %d: %d guide buckets for %d destinations", step, len(a.guide), n)
	}
}

// twosOps applies one operation, chosen by op, to destination i of s
// (weights up to 11, a few connections and thresholds, overload flips).
func twosOps(s *Scheduler, op, i, v int) {
	addr := rs(1 + i)
	switch op % 8 {
	case 0, 1:
		_ = s.Add(Dest{Addr: addr, Weight: v % 12, UpperThreshold: uint32(v/12) % 4})
	case 2:
		_ = s.Edit(Dest{Addr: addr, Weight: v % 12, UpperThreshold: uint32(v/12) % 4})
	case 3:
		_ = s.Remove(addr)
	case 4:
		_ = s.SetConns(addr, v%4, v/4%4)
	case 5:
		_ = s.Bind(addr, v&1 == 0)
	case 6:
		_ = s.Unbind(addr, v&1 == 0)
	default:
		if v&1 == 0 {
			_ = s.Activate(addr)
		} else {
			_ = s.Deactivate(addr)
		}
	}
}

// TestTwosFlatLazy interleaves picks with adds, removals, weight edits,
// connection counts and overload flips, at rates from a change every pick
// to one every few hundred, and checks every pick against the kernel loop
// for the same random numbers, whichever structure answered it. Both must
// answer many picks, and however often weights change, the flat arrays
// are rebuilt at most once per staleLimit picks.
func TestTwosFlatLazy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, every := range []int{1, 3, 40, 400} {
		s := mustNew(t, "twos", Config{Rand: rng.Uint32})
		a := s.alg.(*twosAlgo)
		for i := 0; i < 200; i++ {
			twosOps(s, 0, rng.IntN(300), rng.IntN(48))
		}
		var flat, tree, builds, picks int
		for step := 0; step < 20000; step++ {
			if step%every == 0 {
				twosOps(s, rng.IntN(8), rng.IntN(300), rng.IntN(48))
			}
			was := a.stale
			got, want := twosPickBoth(s, rng.Uint32(), rng.Uint32())
			if got != want {
				t.Fatalf("change every %d picks, step %d: picked %v, kernel loop %v", every, step, addrOf(got), addrOf(want))
			}
			if a.sum == 0 {
				continue
			}
			picks++
			switch {
			case was && a.stale:
				tree++
			case was:
				builds++
				flat++
			default:
				flat++
			}
		}
		t.Logf("change every %d picks: %d destinations, %d flat picks, %d tree picks, %d rebuilds", every, s.n, flat, tree, builds)
		// Changing weights every pick or so keeps the tree answering, yet
		// the flat arrays are still rebuilt now and then; rarer changes
		// leave most picks to the flat arrays.
		if every <= 3 && (tree < picks/2 || builds < picks/(a.staleLimit()+1)/2) ||
			every > 3 && (flat < picks/3 || tree == 0) {
			t.Errorf("change every %d picks: %d flat picks, %d tree picks of %d, %d rebuilds", every, flat, tree, picks, builds)
		}
		if most := picks/a.staleLimit() + 1; builds > most {
			t.Errorf("change every %d picks: %d rebuilds in %d picks, want at most %d", every, builds, picks, most)
		}
	}
}

// FuzzTwos reads a byte stream as operations, picks and flat rebuilds on
// up to 64 destinations, with the random numbers from the stream too, and
// checks every pick against the kernel loop and every flat draw against
// the Fenwick reference.
func FuzzTwos(f *testing.F) {
	f.Add([]byte{0, 1, 5, 0, 2, 7, 0, 3, 1, 9, 0, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0, 9, 11, 1, 8, 3, 8, 0, 0, 0, 0, 3, 9, 0, 9, 255, 255, 255, 255, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var rnd []byte
		next := func() uint32 {
			var v uint32
			for i := 0; i < 4 && len(rnd) > 0; i++ {
				v = v<<8 | uint32(rnd[0])
				rnd = rnd[1:]
			}
			return v
		}
		s := mustNew(t, "twos")
		a := s.alg.(*twosAlgo)
		for len(ops) >= 3 {
			op, i, v := ops[0], ops[1], ops[2]
			ops = ops[3:]
			switch {
			case op < 8:
				twosOps(s, int(op), int(i%64), int(v))
			case op == 8 || op == 9:
				if op == 9 && a.sum > 0 && a.sum < math.MaxInt32 {
					a.buildFlat()
				}
				rnd = ops[:min(8, len(ops))]
				ops = ops[len(rnd):]
				v1 := next()
				if got, want := twosPickBoth(s, v1, next()); got != want {
					t.Fatalf("picked %v, kernel loop %v", addrOf(got), addrOf(want))
				}
			default:
				if a.sum == 0 || a.sum >= math.MaxInt32 {
					continue
				}
				a.buildFlat()
				v := uint32(i)<<24 | uint32(v)<<16 | uint32(op)
				r := max(randMax(v, uint32(a.sum+1)), 1)
				if got, want := a.flat[a.drawFlat(v)].x, newTwosFenwick(s).draw(r); got != want {
					t.Fatalf("v %#x (r %d of %d): flat %v, Fenwick %v", v, r, a.sum, addrOf(got), addrOf(want))
				}
			}
		}
	})
}

// TestTwosPickAllocs checks that a pick allocates nothing, from the flat
// arrays and from the tree.
func TestTwosPickAllocs(t *testing.T) {
	s := mustNew(t, "twos")
	for i := 0; i < 1000; i++ {
		twosOps(s, 0, i, 1+i%11)
	}
	a := s.alg.(*twosAlgo)
	for _, stale := range []bool{false, true} {
		a.buildFlat()
		a.stale = stale
		if n := testing.AllocsPerRun(100, func() { s.Pick(Key{}) }); n != 0 {
			t.Errorf("stale %v: %v allocations per pick", stale, n)
		}
	}
}
