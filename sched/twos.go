package sched

// twosAlgo is ip_vs_twos.c (power of two choices, Linux 6.2+; not built in
// the Debian 6.1 kernel): two weighted random draws, keep the less loaded.
type twosAlgo struct{ s *Scheduler }

func (a *twosAlgo) init(s *Scheduler)  { a.s = s }
func (a *twosAlgo) added(*dest)        {}
func (a *twosAlgo) removed(*dest)      {}
func (a *twosAlgo) updated(*dest)      {}
func (a *twosAlgo) connsChanged(*dest) {}

// randMax is prandom_u32_max: a uniform value in [0, n).
func randMax(r func() uint32, n uint32) int64 {
	return int64((uint64(r()) * uint64(n)) >> 32)
}

func (a *twosAlgo) pick(*Key) *dest {
	head := &a.s.head
	var c1, c2 *dest
	total := 0
	for x := head.next; x != head; x = x.next {
		if !x.d.Overloaded && x.d.Weight > 0 {
			total += x.d.Weight
			c1 = x
		}
	}
	if c1 == nil {
		return nil
	}
	// The kernel sums into an int; keep its 32-bit arithmetic.
	tw := uint32(int32(total) + 1)
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
