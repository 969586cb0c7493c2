package sched

// rrAlgo is ip_vs_rr.c: a cursor into the list that moves to the next
// usable destination.
type rrAlgo struct {
	s   *Scheduler
	cur *dest // sched_data: a list node or the head
}

func (a *rrAlgo) init(s *Scheduler)  { a.s, a.cur = s, &s.head }
func (a *rrAlgo) added(*dest)        {}
func (a *rrAlgo) updated(*dest)      {}
func (a *rrAlgo) connsChanged(*dest) {}

// removed mirrors ip_vs_rr_del_dest: a cursor on the removed node steps
// back to its predecessor (reached through the still valid next pointer).
func (a *rrAlgo) removed(d *dest) {
	if a.cur == d {
		a.cur = d.next.prev
	}
}

func (a *rrAlgo) pick(Key) *dest {
	head := &a.s.head
	p := a.cur
	last := p
	x := p
	for pass := 0; ; {
		for x = x.next; x != head; x = x.next {
			if x.usable() {
				a.cur = x
				return x
			}
			if x == last {
				return nil
			}
		}
		pass++
		if pass >= 2 || p == head {
			return nil
		}
	}
}

// wrrAlgo is ip_vs_wrr.c: passes over the list with a current weight that
// steps down from the maximum by the weights' gcd.
type wrrAlgo struct {
	s          *Scheduler
	cl         *dest
	cw, mw, di int
}

func (a *wrrAlgo) init(s *Scheduler) {
	a.s = s
	a.cl = &s.head
	a.di = a.gcd()
	a.mw = a.maxWeight() - (a.di - 1)
	a.cw = a.mw
}

func (a *wrrAlgo) gcd() int {
	g := 0
	for x := a.s.head.next; x != &a.s.head; x = x.next {
		if w := x.d.Weight; w > 0 {
			if g > 0 {
				g = gcd(w, g)
			} else {
				g = w
			}
		}
	}
	if g == 0 {
		return 1
	}
	return g
}

func (a *wrrAlgo) maxWeight() int {
	m := 0
	for x := a.s.head.next; x != &a.s.head; x = x.next {
		m = max(m, x.d.Weight)
	}
	return m
}

// changed is ip_vs_wrr_dest_changed, run on every add, edit and delete.
func (a *wrrAlgo) changed() {
	a.cl = &a.s.head
	a.di = a.gcd()
	a.mw = a.maxWeight() - (a.di - 1)
	if a.cw > a.mw || a.cw == 0 {
		a.cw = a.mw
	} else if a.di > 1 {
		a.cw = (a.cw/a.di)*a.di + 1
	}
}

func (a *wrrAlgo) added(*dest)        { a.changed() }
func (a *wrrAlgo) removed(*dest)      { a.changed() }
func (a *wrrAlgo) updated(*dest)      { a.changed() }
func (a *wrrAlgo) connsChanged(*dest) {}

func (a *wrrAlgo) pick(Key) *dest {
	head := &a.s.head
	x := a.cl
	if a.mw == 0 {
		return nil
	}
	last := x
	var stop *dest
	lastPass, restarted := false, false
	// Every round either finds a destination, lowers cw, or stops; cw
	// restarts at most once, so the loop is bounded by 2*mw/di rounds.
	for {
		for x = x.next; x != head; x = x.next {
			if !x.d.Overloaded && x.d.Weight >= a.cw {
				a.cl = x
				return x
			}
			if x == stop {
				a.cl = x
				return nil
			}
		}
		a.cw -= a.di
		if a.cw <= 0 {
			a.cw = a.mw
			if lastPass || last == head {
				a.cl = x
				return nil
			}
			restarted = true
		}
		lastPass = a.cw <= a.di
		if lastPass && restarted && last != head {
			stop = last
		}
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
