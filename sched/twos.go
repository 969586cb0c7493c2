package sched

import "math"

// twosAlgo is ip_vs_twos.c (power of two choices, Linux 6.2+; not built in
// the Debian 6.1 kernel): two weighted random draws over the list, keep the
// less loaded of the two.
//
// The kernel finds each draw by walking the list and subtracting weights.
// Here a Fenwick tree over list positions holds the usable weights, so a
// draw is an O(log n) prefix search. Positions are the destinations' add
// sequence numbers: the list runs from the highest to the lowest.
type twosAlgo struct {
	s *Scheduler
	// fw is the Fenwick tree, 1-based, indexed by seq. Its sums are kept
	// modulo 2^32: every partial sum is below the total, so they are exact
	// whenever draws use them (total below 2^31, else pickScan runs), and
	// half the size of int64 keeps the tree in cache.
	fw   []uint32
	w    []int64 // usable weight per seq
	at   []*dest // destination per seq
	sum  int64
	base uint64 // seq of index 1 minus 1
}

func (a *twosAlgo) init(s *Scheduler) { a.s = s; a.rebuild(0) }

func twosWeight(x *dest) int64 {
	if x.available && !x.d.Overloaded && x.d.Weight > 0 {
		return int64(x.d.Weight)
	}
	return 0
}

// rebuild renumbers the destinations 1..n from the list's tail (keeping
// their order, all that sequence numbers are for) and sizes the tree with
// room to grow.
func (a *twosAlgo) rebuild(extra int) {
	head := &a.s.head
	var seq uint64
	for x := head.prev; x != head; x = x.prev {
		seq++
		x.seq = seq
	}
	a.s.seq = seq
	a.base = 0
	n := int(seq) + extra
	size := 16
	for size <= n {
		size *= 2
	}
	a.fw = make([]uint32, size+1)
	a.w = make([]int64, size+1)
	a.at = make([]*dest, size+1)
	a.sum = 0
	for x := head.next; x != head; x = x.next {
		i := int(x.seq - a.base)
		a.at[i] = x
		a.w[i] = twosWeight(x)
		a.sum += a.w[i]
	}
	// Linear-time Fenwick construction.
	for i, w := range a.w {
		a.fw[i] = uint32(w)
	}
	for i := 1; i < len(a.fw); i++ {
		if j := i + i&-i; j < len(a.fw) {
			a.fw[j] += a.fw[i]
		}
	}
}

func (a *twosAlgo) set(x *dest, w int64) {
	i := int(x.seq - a.base)
	if i <= 0 || i >= len(a.fw) || a.at[i] != x {
		return
	}
	d := w - a.w[i]
	if d == 0 {
		return
	}
	a.w[i] = w
	a.sum += d
	for ; i < len(a.fw); i += i & -i {
		a.fw[i] += uint32(d)
	}
}

func (a *twosAlgo) added(x *dest) {
	i := int(x.seq - a.base)
	if i >= len(a.fw) {
		a.rebuild(a.s.n/2 + 16)
		return
	}
	a.at[i] = x
	a.set(x, twosWeight(x))
}

func (a *twosAlgo) removed(x *dest) {
	a.set(x, 0)
	i := int(x.seq - a.base)
	if i > 0 && i < len(a.at) && a.at[i] == x {
		a.at[i] = nil
	}
}
func (a *twosAlgo) updated(x *dest)      { a.set(x, twosWeight(x)) }
func (a *twosAlgo) connsChanged(x *dest) { a.set(x, twosWeight(x)) }

// draw2 returns, for r1 and r2 (both >= 1), the first destination in list
// order (highest index first) at which the running weight reaches r: the
// largest index i whose suffix sum from i is at least r. The two descents
// run interleaved so that their memory loads overlap.
func (a *twosAlgo) draw2(r1, r2 int64) (*dest, *dest) {
	// Largest j with prefix(j) <= sum - r; the answer is j+1. len(fw)
	// is a power of two plus one.
	t1, t2 := uint32(a.sum-r1), uint32(a.sum-r2)
	fw := a.fw
	j1, j2 := 0, 0
	// fw[size] is the total, above both targets, so j+step stays below
	// len(fw); the loop body is written to compile to conditional moves.
	for step := len(fw) - 1; step > 0; step >>= 1 {
		v1, v2 := fw[j1+step], fw[j2+step]
		n1, n2 := j1+step, j2+step
		u1, u2 := t1-v1, t2-v2
		if v1 <= t1 {
			j1, t1 = n1, u1
		}
		if v2 <= t2 {
			j2, t2 = n2, u2
		}
	}
	return a.at[j1+1], a.at[j2+1]
}

// randMax is prandom_u32_max: a uniform value in [0, n).
func randMax(r func() uint32, n uint32) int64 {
	return int64((uint64(r()) * uint64(n)) >> 32)
}

func (a *twosAlgo) pick(Key) *dest {
	if a.sum == 0 {
		return nil
	}
	if a.sum >= math.MaxInt32 {
		return a.pickScan()
	}
	tw := uint32(a.sum + 1)
	r1 := max(randMax(a.s.cfg.rand, tw), 1)
	r2 := max(randMax(a.s.cfg.rand, tw), 1)
	c1, c2 := a.draw2(r1, r2)
	w1, w2 := int32(c1.d.Weight), int32(c2.d.Weight)
	o1, o2 := int32(c1.overhead()), int32(c2.overhead())
	if w2*o1 > w1*o2 {
		return c2
	}
	return c1
}

// pickScan is the kernel's literal loop, kept for weight sums that overflow
// its 32-bit arithmetic.
func (a *twosAlgo) pickScan() *dest {
	head := &a.s.head
	var c1, c2 *dest
	total := int32(0)
	for x := head.next; x != head; x = x.next {
		if !x.d.Overloaded && x.d.Weight > 0 {
			total += int32(x.d.Weight)
			c1 = x
		}
	}
	if c1 == nil {
		return nil
	}
	tw := uint32(total + 1)
	r1 := int32(randMax(a.s.cfg.rand, tw))
	r2 := int32(randMax(a.s.cfg.rand, tw))
	w1, w2 := int32(-1), int32(-1)
	var o1, o2 int32
	for x := head.next; x != head; x = x.next {
		if x.d.Overloaded || x.d.Weight <= 0 {
			continue
		}
		w := int32(x.d.Weight)
		r1 -= w
		r2 -= w
		if r1 <= 0 && w1 == -1 {
			c1, w1, o1 = x, w, int32(x.overhead())
		}
		if r2 <= 0 && w2 == -1 {
			c2, w2, o2 = x, w, int32(x.overhead())
		}
		if w1 != -1 && w2 != -1 {
			break
		}
	}
	if c2 != nil && w2*o1 > w1*o2 {
		c1 = c2
	}
	return c1
}
