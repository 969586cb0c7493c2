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
	s := mustNew(t, "twos", Rand(rng.Uint32))
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
