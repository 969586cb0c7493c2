package sched

// The kernel's lc, wlc, sed, nq, fo and ovf scan the whole list on every
// connection, keeping the first destination that no later one beats. Each
// of them orders destinations by a total preorder, so "first in list among
// the best" is the minimum of a strict total order (preorder, then list
// position). A tournament tree over the destinations keeps that minimum at
// its root: Pick reads it in O(1) and a counter or weight change replays
// O(log n) matches. The literal scans live in least_ref.go and the tests
// prove both give the same picks.

// better reports whether a beats b under the scheduler's order; both are
// eligible.
type betterFunc func(a, b *dest) bool

type leastAlgo struct {
	s        *Scheduler
	eligible func(*dest) bool
	better   betterFunc
	t        tourney
}

func newLeastAlgo(name string) *leastAlgo {
	a := &leastAlgo{}
	switch name {
	case "lc":
		a.eligible = (*dest).usable
		a.better = func(x, y *dest) bool { return x.overhead() < y.overhead() }
	case "wlc":
		a.eligible = (*dest).usable
		a.better = func(x, y *dest) bool {
			return x.overhead()*int64(y.d.Weight) < y.overhead()*int64(x.d.Weight)
		}
	case "sed":
		a.eligible = (*dest).usable
		a.better = func(x, y *dest) bool { return sedBetter(x, y) }
	case "nq":
		a.eligible = (*dest).usable
		a.better = func(x, y *dest) bool {
			xi, yi := x.d.ActiveConns == 0, y.d.ActiveConns == 0
			if xi || yi {
				// The kernel returns the first idle destination at once.
				return xi && !yi
			}
			return sedBetter(x, y)
		}
	case "fo":
		a.eligible = (*dest).usable
		a.better = func(x, y *dest) bool { return x.d.Weight > y.d.Weight }
	case "ovf":
		a.eligible = func(x *dest) bool { return x.usable() && x.d.ActiveConns <= x.d.Weight }
		a.better = func(x, y *dest) bool { return x.d.Weight > y.d.Weight }
	}
	return a
}

func sedBetter(x, y *dest) bool {
	return int64(x.d.ActiveConns+1)*int64(y.d.Weight) < int64(y.d.ActiveConns+1)*int64(x.d.Weight)
}

func (a *leastAlgo) init(s *Scheduler) {
	a.s = s
	a.t.win = func(x, y *dest) bool {
		ex, ey := a.eligible(x), a.eligible(y)
		if ex != ey {
			return ex
		}
		if !ex {
			return x.seq > y.seq
		}
		if a.better(x, y) {
			return true
		}
		if a.better(y, x) {
			return false
		}
		return x.seq > y.seq // earlier in the kernel's list
	}
}

func (a *leastAlgo) added(d *dest)        { a.t.insert(d) }
func (a *leastAlgo) removed(d *dest)      { a.t.remove(d) }
func (a *leastAlgo) updated(d *dest)      { a.t.fix(d) }
func (a *leastAlgo) connsChanged(d *dest) { a.t.fix(d) }

func (a *leastAlgo) pick(Key) *dest {
	x := a.t.root()
	if x == nil || !a.eligible(x) {
		return nil
	}
	return x
}

// tourney is a tournament (winner) tree: leaves are destinations, every
// inner node holds the winner of its two children, the root the overall
// winner. Freed leaves are reused.
type tourney struct {
	win  func(a, b *dest) bool
	size int     // leaves, a power of two
	node []*dest // 1-based heap layout; leaves at size..2*size-1
	free []int
	used int
}

func (t *tourney) root() *dest {
	if t.size == 0 {
		return nil
	}
	return t.node[1]
}

func (t *tourney) insert(d *dest) {
	if len(t.free) == 0 && t.used == t.size {
		t.grow()
	}
	var slot int
	if n := len(t.free); n > 0 {
		slot = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		slot = t.used
		t.used++
	}
	d.slot = slot
	t.node[t.size+slot] = d
	t.replay(slot)
}

func (t *tourney) remove(d *dest) {
	if d.slot < 0 {
		return
	}
	t.node[t.size+d.slot] = nil
	t.replay(d.slot)
	t.free = append(t.free, d.slot)
	d.slot = -1
}

func (t *tourney) fix(d *dest) {
	if d.slot >= 0 {
		t.replay(d.slot)
	}
}

func (t *tourney) match(a, b *dest) *dest {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case t.win(b, a):
		return b
	}
	return a
}

func (t *tourney) replay(slot int) {
	for i := (t.size + slot) >> 1; i >= 1; i >>= 1 {
		t.node[i] = t.match(t.node[2*i], t.node[2*i+1])
	}
}

func (t *tourney) grow() {
	old, oldSize := t.node, t.size
	t.size = max(4, 2*t.size)
	t.node = make([]*dest, 2*t.size)
	for i := 0; i < oldSize; i++ {
		if d := old[oldSize+i]; d != nil {
			t.node[t.size+i] = d
		}
	}
	for i := t.size - 1; i >= 1; i-- {
		t.node[i] = t.match(t.node[2*i], t.node[2*i+1])
	}
}
