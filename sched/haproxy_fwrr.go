package sched

// HAProxy's "balance roundrobin" (src/lb_fwrr.c), for the active servers
// of a backend with fixed weights and no maxconn. Servers sit in one of
// three ordered trees: "init" and "next" sorted by weight (heaviest first),
// "curr" by the position of their next turn; the trees here are small
// slices scanned for their minimum, equal keys in insertion order as in
// HAProxy's ebtrees.

const (
	srvEWghtMax   = 256 * 16 // SRV_EWGHT_MAX
	srvUWghtRange = 256      // SRV_UWGHT_RANGE
	beWeightScale = 16       // BE_WEIGHT_SCALE
)

type fwrrTree struct {
	items []fwrrItem
	seq   uint64
}

type fwrrItem struct {
	key uint32
	seq uint64
	s   *hsrv
}

func (t *fwrrTree) insert(s *hsrv, key uint32) {
	t.seq++
	t.items = append(t.items, fwrrItem{key: key, seq: t.seq, s: s})
}

func (t *fwrrTree) first() *hsrv {
	var best *fwrrItem
	for i := range t.items {
		it := &t.items[i]
		if best == nil || it.key < best.key || (it.key == best.key && it.seq < best.seq) {
			best = it
		}
	}
	if best == nil {
		return nil
	}
	return best.s
}

func (t *fwrrTree) remove(s *hsrv) bool {
	for i := range t.items {
		if t.items[i].s == s {
			t.items = append(t.items[:i], t.items[i+1:]...)
			return true
		}
	}
	return false
}

type fwrrGroup struct {
	currPos, currWeight, nextWeight int
	curr                            fwrrTree
	init, next                      *fwrrTree
	t0, t1                          fwrrTree
}

func (h *HAProxy) fwrrInit() {
	g := &fwrrGroup{}
	g.currPos, g.currWeight, g.nextWeight = h.totW, h.totW, h.totW
	g.init, g.next = &g.t0, &g.t1
	for _, s := range h.srv {
		if s.eweight > 0 {
			g.init.insert(s, uint32(srvEWghtMax-s.eweight))
		}
	}
	h.rr = g
}

func (g *fwrrGroup) fromGroup() *hsrv {
	s1 := g.curr.first()
	if s1 != nil && s1.eweight > 0 && s1.npos <= g.currPos {
		return s1
	}
	if s2 := g.init.first(); s2 != nil && s2.eweight > 0 {
		s2.npos, s2.rweight = 0, 0
		return s2
	}
	return s1
}

func (g *fwrrGroup) updatePosition(s *hsrv) {
	ew := s.eweight
	if ew == 0 {
		return
	}
	if s.npos == 0 {
		s.npos = g.currPos
	}
	s.lpos = s.npos
	s.npos += g.nextWeight / ew
	s.rweight += g.nextWeight % ew
	if s.rweight >= ew {
		s.rweight -= ew
		s.npos++
	}
}

func (g *fwrrGroup) queue(s *hsrv) {
	if s.eweight <= 0 || s.npos >= 2*g.currWeight || s.npos >= g.currWeight+g.nextWeight {
		s.npos -= g.currWeight
		g.next.insert(s, uint32(srvEWghtMax-s.eweight))
		return
	}
	key := uint32(srvUWghtRange*s.npos) + uint32(srvEWghtMax+s.rweight-s.eweight)/beWeightScale
	g.curr.insert(s, key)
}

func (h *HAProxy) fwrrNext() *hsrv {
	g := h.rr
	switched := false
	if g.currWeight == 0 {
		g.currPos, g.currWeight = g.nextWeight, g.nextWeight
	}
	var s *hsrv
	for {
		s = g.fromGroup()
		if s != nil {
			break
		}
		if switched {
			return nil
		}
		switched = true
		g.init, g.next = g.next, g.init
		g.currWeight = g.nextWeight
		g.currPos = g.currWeight
	}
	g.updatePosition(s)
	if !g.curr.remove(s) && !g.init.remove(s) {
		g.next.remove(s)
	}
	g.currPos++
	g.queue(s)
	return s
}
