package sched

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// twosAlgo is ip_vs_twos.c (power of two choices, Linux 6.2+; not built in
// the Debian 6.1 kernel): two weighted random draws over the list, keep the
// less loaded of the two.
//
// The kernel finds each draw by walking the list and subtracting weights.
// Here two structures answer the same question. Picks normally use a flat
// one: the usable destinations in list order with their running weight
// sums, and a guide table (Chen and Asau's method for inverse-CDF sampling)
// that maps the top bits of the random number to the first destination its
// bucket can reach, so a draw is one guide load and a forward scan of
// usually no more than one step. Weight changes (edits, overload flips,
// adds and removes) make the flat arrays stale; they go to a wide
// prefix-sum tree over list positions that takes every change in O(log n),
// and picks draw from the tree (one cache line per level: four levels for
// 10,000 destinations) until enough picks have passed to pay for
// rebuilding the flat arrays in O(n). Connection counts change no sums:
// they update one slot in each structure. Positions are the destinations'
// add sequence numbers: the list runs from the highest to the lowest.
type twosAlgo struct {
	s *Scheduler
	// tree holds the levels root first, each a run of twosFan-entry nodes.
	// Entry k of a node is the sum of the node's children before child k
	// (so entry 0 is always 0); a level's entry i is node i of the level
	// below, and a leaf-level entry i is position i. Sums are kept modulo
	// 2^32: every one is at most the total, so they are exact whenever
	// draws use them (total below 2^31, else pickScan runs). Two entries
	// share a word (entry 2j in the low half of word j), so that a node is
	// eight words, one 64-byte cache line, compared two entries at a time.
	tree []twosNode
	off  []int      // first node of each level in tree, root first
	at   []twosSlot // per position
	sum  int64
	base uint64 // seq of position 0

	// flat holds the destinations with a usable weight in list order,
	// guide the first flat index each bucket of random numbers (the top
	// bits of the number, 32-shift of them) can land on. Both are valid
	// only while stale is false; staleFor counts the tree picks since they
	// went stale.
	flat     []twosFlat
	guide    []twosGuide
	shift    uint
	stale    bool
	staleFor int
}

// twosSlot is one list position: its destination with the two numbers a
// pick compares, so that the loser of the two draws is never read.
type twosSlot struct {
	x  *dest
	w  int32 // usable weight (the weight whenever a draw lands here)
	oh int32 // connection overhead, truncated as the kernel's int
	k  int32 // index in flat while the destination has a usable weight
}

// twosFlat is one usable destination of the flat sampler.
type twosFlat struct {
	end uint32 // the running weight through this destination, in list order
	w   int32
	oh  int32
	x   *dest
}

// twosGuide is one bucket of the guide table: the first flat index a
// number of the bucket can draw, and that destination's running weight.
type twosGuide struct {
	k   int32
	end uint32
}

// staleLimit is how many picks the tree answers after a weight change
// before the flat arrays are rebuilt: half the positions and 64 more. A
// rebuild costs a few nanoseconds per position (BenchmarkTwosBuildFlat), so
// even when weights change all the time the rebuilds add about a dozen
// nanoseconds per pick to the tree's cost, and never O(n).
func (a *twosAlgo) staleLimit() int { return len(a.at)/2 + 64 }

// twosFan is the tree's fan-out: a cache line of 32-bit sums.
const twosFan = 16

// twosNode is one node of the twos tree: twosFan sums, two to a word.
type twosNode [twosFan / 2]uint64

// twosHigh is the top bit of both halves of a word.
const twosHigh = 0x8000_0000_8000_0000

func (a *twosAlgo) init(s *Scheduler) { a.s = s; a.rebuild(0) }

func twosWeight(x *dest) int64 {
	if x.available && !x.d.Overloaded && x.d.Weight > 0 {
		return int64(x.d.Weight)
	}
	return 0
}

// rebuild renumbers the destinations 1..n from the list's tail (keeping
// their order, all that sequence numbers are for; position 0 stays empty)
// and sizes the tree with room to grow.
func (a *twosAlgo) rebuild(extra int) {
	head := &a.s.head
	var seq uint64
	for x := head.prev; x != head; x = x.prev {
		seq++
		x.seq = seq
	}
	a.s.seq = seq
	a.base = 0
	// Level sizes, leaves first, each a whole number of nodes.
	n := (int(seq) + 1 + extra + twosFan - 1) / twosFan * twosFan
	sizes := []int{n}
	for n > twosFan {
		n = (n/twosFan + twosFan - 1) / twosFan * twosFan
		sizes = append(sizes, n)
	}
	a.off = a.off[:0]
	nodes := 0
	for l := len(sizes) - 1; l >= 0; l-- {
		a.off = append(a.off, nodes)
		nodes += sizes[l] / twosFan
	}
	a.tree = make([]twosNode, nodes)
	a.at = make([]twosSlot, sizes[0])
	a.sum = 0
	a.stale = true
	for x := head.next; x != head; x = x.next {
		i := int(x.seq - a.base)
		a.at[i] = twosSlot{x: x, w: int32(twosWeight(x)), oh: int32(x.overhead())}
		a.sum += int64(a.at[i].w)
	}
	// Bottom-up: each node's exclusive prefix sums; its total is the
	// weight of its entry one level up.
	vals := make([]uint32, sizes[0])
	for i, sl := range a.at {
		vals[i] = uint32(sl.w)
	}
	for l := len(a.off) - 1; l >= 0; l-- {
		level := a.tree[a.off[l]:]
		next := make([]uint32, len(vals)/twosFan)
		for j := range next {
			node := &level[j]
			var run uint32
			for k, v := range vals[j*twosFan : (j+1)*twosFan] {
				if k&1 == 0 {
					node[k/2] = uint64(run)
				} else {
					node[k/2] |= uint64(run) << 32
				}
				run += v
			}
			next[j] = run
		}
		if rem := len(next) % twosFan; rem != 0 {
			next = append(next, make([]uint32, twosFan-rem)...)
		}
		vals = next
	}
}

// set refreshes x's slot from x, its overhead and its usable weight w.
func (a *twosAlgo) set(x *dest, w int64) {
	i := int(x.seq - a.base)
	if i <= 0 || i >= len(a.at) || a.at[i].x != x {
		return
	}
	sl := &a.at[i]
	sl.oh = int32(x.overhead())
	if !a.stale && sl.w != 0 {
		a.flat[sl.k].oh = sl.oh
	}
	d := w - int64(sl.w)
	if d == 0 {
		return
	}
	sl.w = int32(w)
	a.sum += d
	a.stale = true
	// Every later sibling's prefix grows by d, at each level: a lone high
	// half by a plain add (its carry falls off the word), whole words by
	// adding both halves apart, the top bits added without carry.
	ud := uint64(uint32(d))
	both := ud * (1<<32 + 1)
	for l := len(a.off) - 1; l >= 0; l-- {
		node := &a.tree[a.off[l]+i/twosFan]
		k := i%twosFan + 1
		if k&1 == 1 {
			node[k/2] += ud << 32
			k++
		}
		for j := k / 2; j < len(node); j++ {
			x := node[j]
			node[j] = (x&^twosHigh + both&^twosHigh) ^ (x^both)&twosHigh
		}
		i /= twosFan
	}
}

func (a *twosAlgo) added(x *dest) {
	i := int(x.seq - a.base)
	if i >= len(a.at) {
		a.rebuild(a.s.n/2 + 16)
		return
	}
	a.at[i] = twosSlot{x: x}
	a.set(x, twosWeight(x))
}

func (a *twosAlgo) removed(x *dest) {
	a.set(x, 0)
	i := int(x.seq - a.base)
	if i > 0 && i < len(a.at) && a.at[i].x == x {
		a.at[i] = twosSlot{}
	}
}
func (a *twosAlgo) updated(x *dest)      { a.set(x, twosWeight(x)) }
func (a *twosAlgo) connsChanged(x *dest) { a.set(x, twosWeight(x)) }

// draw2 returns, for r1 and r2 (both in [1, sum]), the first position in
// list order (highest position first) at which the running weight reaches
// r: the lowest position p whose prefix sum over 0..p exceeds sum - r. The
// two descents run interleaved so that their memory loads overlap.
func (a *twosAlgo) draw2(r1, r2 int64) (int, int) {
	t1, t2 := uint32(a.sum-r1), uint32(a.sum-r2)
	tree := a.tree
	p1, p2 := 0, 0
	for _, off := range a.off {
		n1, n2 := &tree[off+p1], &tree[off+p2]
		// The child to enter is the last whose entry is at most t:
		// 15 less the number of entries above t. Every entry is below
		// 2^31, so in each half of (x | twosHigh) - (t+1) the top bit
		// stays set exactly when that entry exceeds t, and no borrow
		// crosses the halves.
		u1 := uint64(t1+1) * (1<<32 + 1)
		u2 := uint64(t2+1) * (1<<32 + 1)
		m1 := twosAbove(n1[0], u1) + twosAbove(n1[1], u1) + twosAbove(n1[2], u1) + twosAbove(n1[3], u1) +
			twosAbove(n1[4], u1) + twosAbove(n1[5], u1) + twosAbove(n1[6], u1) + twosAbove(n1[7], u1)
		m2 := twosAbove(n2[0], u2) + twosAbove(n2[1], u2) + twosAbove(n2[2], u2) + twosAbove(n2[3], u2) +
			twosAbove(n2[4], u2) + twosAbove(n2[5], u2) + twosAbove(n2[6], u2) + twosAbove(n2[7], u2)
		c1 := uint(twosFan-1-uint32(m1)-uint32(m1>>32)) % twosFan
		c2 := uint(twosFan-1-uint32(m2)-uint32(m2>>32)) % twosFan
		t1 -= uint32(n1[c1/2] >> (32 * (c1 & 1)))
		t2 -= uint32(n2[c2/2] >> (32 * (c2 & 1)))
		p1 = p1*twosFan + int(c1)
		p2 = p2*twosFan + int(c2)
	}
	return p1, p2
}

// twosAbove counts, in bit 0 and bit 32, whether each half of x exceeds
// t where u holds t+1 in both halves.
func twosAbove(x, u uint64) uint64 { return (x | twosHigh - u) & twosHigh >> 31 }

// randMax is prandom_u32_max: v scaled to a uniform value in [0, n).
func randMax(v, n uint32) int64 {
	return int64((uint64(v) * uint64(n)) >> 32)
}

// rand2 returns the pick's two random numbers, in the order the kernel
// draws them: from Config.Rand when set, else both halves of one
// math/rand/v2 number (a direct call, half the generator's work).
func (a *twosAlgo) rand2() (uint32, uint32) {
	if r := a.s.cfg.rand; r != nil {
		v1 := r()
		return v1, r()
	}
	v := rand.Uint64()
	return uint32(v), uint32(v >> 32)
}

func (a *twosAlgo) pick(Key) *dest {
	if a.sum == 0 {
		return nil
	}
	if a.sum >= math.MaxInt32 {
		return a.pickScan()
	}
	v1, v2 := a.rand2()
	if a.stale {
		if a.staleFor < a.staleLimit() {
			a.staleFor++
			return a.pickTree(v1, v2)
		}
		a.buildFlat()
	}
	tw := uint64(a.sum) + 1
	r1 := max(uint32(uint64(v1)*tw>>32), 1)
	r2 := max(uint32(uint64(v2)*tw>>32), 1)
	flat := a.flat
	g1, g2 := a.guide[v1>>a.shift], a.guide[v2>>a.shift]
	k1, k2 := g1.k, g2.k
	// Usually the draw is the bucket's first destination or the next:
	// step past the first without a branch, then scan (rarely).
	if r1 > g1.end {
		k1++
	}
	if r2 > g2.end {
		k2++
	}
	for flat[k1].end < r1 {
		k1++
	}
	for flat[k2].end < r2 {
		k2++
	}
	// The second wins when c2.w*c1.oh > c1.w*c2.oh (int products, as in
	// the kernel). Which one that is, is a coin toss to the branch
	// predictor, so the choice is made by a mask: the difference of the
	// two products widened to 64 bits is negative exactly then.
	c1, c2 := &flat[k1], &flat[k2]
	second := int32((int64(c1.w*c2.oh) - int64(c2.w*c1.oh)) >> 63)
	return flat[k1^(k1^k2)&second].x
}

// pickTree is pick drawing from the tree, while the flat arrays are stale.
func (a *twosAlgo) pickTree(v1, v2 uint32) *dest {
	tw := uint32(a.sum + 1)
	r1 := max(randMax(v1, tw), 1)
	r2 := max(randMax(v2, tw), 1)
	p1, p2 := a.draw2(r1, r2)
	c1, c2 := &a.at[p1], &a.at[p2]
	second := (int64(c1.w*c2.oh) - int64(c2.w*c1.oh)) >> 63
	return a.at[p1^(p1^p2)&int(second)].x
}

// buildFlat rebuilds the flat arrays from the positions: the usable
// destinations from the highest position down, and a guide of more buckets
// than destinations (a power of two), so that a draw lands on its bucket's
// first destination or the next nearly always. Only while the sum is below
// 2^31.
func (a *twosAlgo) buildFlat() {
	a.stale, a.staleFor = false, 0
	clear(a.flat)
	flat := a.flat[:0]
	var run uint32
	for i := len(a.at) - 1; i > 0; i-- {
		sl := &a.at[i]
		if sl.w == 0 {
			continue
		}
		run += uint32(sl.w)
		sl.k = int32(len(flat))
		flat = append(flat, twosFlat{end: run, w: sl.w, oh: sl.oh, x: sl.x})
	}
	a.flat = flat
	b := min(bits.Len(uint(len(flat))), 32)
	a.shift = uint(32 - b)
	if cap(a.guide) < 1<<b {
		a.guide = make([]twosGuide, 1<<b)
	}
	a.guide = a.guide[:1<<b]
	// Bucket j holds the numbers v with v>>shift == j; the lowest of them
	// draws the lowest r, so its destination is where a scan starts.
	tw := uint64(a.sum) + 1
	k := 0
	for j := range a.guide {
		r := max(uint32(uint64(j)<<a.shift*tw>>32), 1)
		for flat[k].end < r {
			k++
		}
		a.guide[j] = twosGuide{k: int32(k), end: flat[k].end}
	}
}

// drawFlat is one flat draw for random number v: the index in flat.
func (a *twosAlgo) drawFlat(v uint32) int {
	r := max(uint32(uint64(v)*(uint64(a.sum)+1)>>32), 1)
	k := int(a.guide[v>>a.shift].k)
	for a.flat[k].end < r {
		k++
	}
	return k
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
	v1, v2 := a.rand2()
	tw := uint32(total + 1)
	r1 := int32(randMax(v1, tw))
	r2 := int32(randMax(v2, tw))
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
