package sched

import (
	"net/netip"
	"time"
)

// Constants shared by ip_vs_lblc.c and ip_vs_lblcr.c.
const (
	lblcBits            = 10
	lblcSize            = 1 << lblcBits
	lblcMask            = lblcSize - 1
	lblcMaxSize         = lblcSize * 16
	lblcCheckInterval   = 60 * time.Second
	lblcEntryTimeout    = 6 * 60 * time.Second
	lblcFullExpireCount = 30
)

// lblcCache is the part lblc and lblcr share: a 1024-bucket table keyed by
// the connection's destination address, and the garbage collector the
// kernel runs from a timer every minute, replayed here from the injected
// clock.
type lblcCache[E any] struct {
	buckets  [lblcSize][]*E
	entries  int
	rover    int
	counter  int
	nextTick time.Time
	addr     func(*E) netip.Addr
	lastuse  func(*E) time.Time
}

func (c *lblcCache[E]) start(now time.Time) {
	c.counter = 1
	c.nextTick = now.Add(lblcCheckInterval)
}

func lblcHash(a netip.Addr) uint32 { return hash32(fold(a), lblcBits) }

func (c *lblcCache[E]) get(a netip.Addr) (*E, int) {
	b := lblcHash(a)
	for i, e := range c.buckets[b] {
		if c.addr(e) == a {
			return e, i
		}
	}
	return nil, -1
}

func (c *lblcCache[E]) add(a netip.Addr, e *E) {
	b := lblcHash(a)
	c.buckets[b] = append(c.buckets[b], e)
	c.entries++
}

func (c *lblcCache[E]) del(a netip.Addr, i int) {
	b := &c.buckets[lblcHash(a)]
	n := len(*b) - 1
	(*b)[i] = (*b)[n]
	(*b)[n] = nil
	*b = (*b)[:n]
	c.entries--
}

// sweep deletes, in bucket j, every entry whose age reaches limit, and
// returns how many it deleted.
func (c *lblcCache[E]) sweep(j int, now time.Time, limit time.Duration) int {
	b := &c.buckets[j]
	n := 0
	for i := 0; i < len(*b); {
		e := (*b)[i]
		if now.Before(c.lastuse(e).Add(limit)) {
			i++
			continue
		}
		last := len(*b) - 1
		(*b)[i] = (*b)[last]
		(*b)[last] = nil
		*b = (*b)[:last]
		c.entries--
		n++
	}
	return n
}

// advance runs every timer tick due by now (ip_vs_lblc_check_expire).
func (c *lblcCache[E]) advance(now time.Time, expiration time.Duration) {
	for !now.Before(c.nextTick) {
		if c.entries == 0 {
			// Nothing to collect: only the counter moves, through
			// its cycle 1..30; skip ahead in one step.
			k := int(now.Sub(c.nextTick)/lblcCheckInterval) + 1
			c.counter = (c.counter-1+k)%lblcFullExpireCount + 1
			c.nextTick = c.nextTick.Add(time.Duration(k) * lblcCheckInterval)
			continue
		}
		c.tick(c.nextTick, expiration)
		c.nextTick = c.nextTick.Add(lblcCheckInterval)
	}
}

func (c *lblcCache[E]) tick(now time.Time, expiration time.Duration) {
	if c.counter%lblcFullExpireCount == 0 {
		j := c.rover
		for i := 0; i < lblcSize; i++ {
			j = (j + 1) & lblcMask
			c.sweep(j, now, expiration)
		}
		c.rover = j
		c.counter = 1
		return
	}
	if c.entries <= lblcMaxSize {
		c.counter++
		return
	}
	goal := (c.entries - lblcMaxSize) * 4 / 3
	goal = min(goal, lblcMaxSize/2)
	j := c.rover
	for i := 0; i < lblcSize; i++ {
		j = (j + 1) & lblcMask
		goal -= c.sweep(j, now, lblcEntryTimeout)
		if goal <= 0 {
			break
		}
	}
	c.rover = j
}

// lblcLoaded is is_overloaded of lblc/lblcr: the cached server has more
// active connections than its weight while some server is below half its
// weight.
func (s *Scheduler) lblcLoaded(x *dest) bool {
	return x.d.ActiveConns > x.d.Weight && s.underHalf > 0
}

type lblcEntry struct {
	addr    netip.Addr
	dest    *dest
	lastuse time.Time
}

// lblcAlgo is ip_vs_lblc.c: locality-based least connection. A cache maps
// each destination address to the server last chosen for it; a miss, or a
// cached server that is gone, quiesced or loaded, falls back to wlc.
type lblcAlgo struct {
	wlcBacked
	cache lblcCache[lblcEntry]
}

// wlcBacked is what lblc and lblcr share: the scheduler and the wlc they
// fall back to, which follows every destination change.
type wlcBacked struct {
	s   *Scheduler
	wlc *leastAlgo
}

func (b *wlcBacked) initWLC(s *Scheduler) {
	b.s = s
	b.wlc = newLeastAlgo("wlc")
	b.wlc.init(s)
}
func (b *wlcBacked) added(d *dest)        { b.wlc.added(d) }
func (b *wlcBacked) removed(d *dest)      { b.wlc.removed(d) }
func (b *wlcBacked) updated(d *dest)      { b.wlc.updated(d) }
func (b *wlcBacked) connsChanged(d *dest) { b.wlc.connsChanged(d) }

func (a *lblcAlgo) init(s *Scheduler) {
	a.initWLC(s)
	a.cache.addr = func(e *lblcEntry) netip.Addr { return e.addr }
	a.cache.lastuse = func(e *lblcEntry) time.Time { return e.lastuse }
	a.cache.start(s.cfg.now())
}

func (a *lblcAlgo) pick(k Key) *dest {
	now := a.s.cfg.now()
	a.cache.advance(now, a.s.cfg.expiration)
	addr := k.Dst.Addr()
	en, i := a.cache.get(addr)
	if en != nil {
		en.lastuse = now
		x := en.dest
		if x.available && x.d.Weight > 0 && !a.s.lblcLoaded(x) {
			return x
		}
	}
	x := a.wlc.pick(k)
	if x == nil {
		return nil
	}
	// ip_vs_lblc_new
	if en != nil {
		if en.dest == x {
			return x
		}
		a.cache.del(addr, i)
	}
	if a.cache.entries >= lblcMaxSize*3/2 {
		return x
	}
	a.cache.add(addr, &lblcEntry{addr: addr, dest: x, lastuse: now})
	return x
}

type lblcrEntry struct {
	addr    netip.Addr
	set     []*dest // newest first, like list_add_rcu
	lastmod time.Time
	lastuse time.Time
}

// lblcrAlgo is ip_vs_lblcr.c: like lblc, but each destination address maps
// to a set of servers that grows under load and sheds its most loaded
// member once it has not changed for the expiration time.
type lblcrAlgo struct {
	wlcBacked
	cache lblcCache[lblcrEntry]
}

func (a *lblcrAlgo) init(s *Scheduler) {
	a.initWLC(s)
	a.cache.addr = func(e *lblcrEntry) netip.Addr { return e.addr }
	a.cache.lastuse = func(e *lblcrEntry) time.Time { return e.lastuse }
	a.cache.start(s.cfg.now())
}

// setMin is ip_vs_dest_set_min.
func setMin(set []*dest) *dest {
	var least *dest
	i := 0
	for ; i < len(set); i++ {
		x := set[i]
		if x.d.Overloaded {
			continue
		}
		if x.d.Weight > 0 && x.available {
			least = x
			break
		}
	}
	if least == nil {
		return nil
	}
	loh := least.overhead()
	for _, x := range set[i+1:] {
		if x.d.Overloaded {
			continue
		}
		doh := x.overhead()
		if loh*int64(x.d.Weight) > doh*int64(least.d.Weight) && x.available {
			least, loh = x, doh
		}
	}
	return least
}

// setMax is ip_vs_dest_set_max.
func setMax(set []*dest) *dest {
	var most *dest
	i := 0
	for ; i < len(set); i++ {
		if set[i].d.Weight > 0 {
			most = set[i]
			break
		}
	}
	if most == nil {
		return nil
	}
	moh := most.overhead()
	for _, x := range set[i+1:] {
		doh := x.overhead()
		if moh*int64(x.d.Weight) < doh*int64(most.d.Weight) && x.d.Weight > 0 {
			most, moh = x, doh
		}
	}
	return most
}

func (e *lblcrEntry) insert(x *dest, now time.Time) {
	for _, y := range e.set {
		if y == x {
			return
		}
	}
	e.set = append(e.set, nil)
	copy(e.set[1:], e.set)
	e.set[0] = x
	e.lastmod = now
}

func (e *lblcrEntry) erase(x *dest, now time.Time) {
	for i, y := range e.set {
		if y == x {
			e.set = append(e.set[:i], e.set[i+1:]...)
			e.lastmod = now
			return
		}
	}
}

func (a *lblcrAlgo) pick(k Key) *dest {
	now := a.s.cfg.now()
	a.cache.advance(now, a.s.cfg.expiration)
	addr := k.Dst.Addr()
	en, _ := a.cache.get(addr)
	if en != nil {
		en.lastuse = now
		x := setMin(en.set)
		if len(en.set) > 1 && now.After(en.lastmod.Add(a.s.cfg.expiration)) {
			if m := setMax(en.set); m != nil {
				en.erase(m, now)
			}
		}
		if x != nil && !a.s.lblcLoaded(x) {
			return x
		}
		x = a.wlc.pick(k)
		if x == nil {
			return nil
		}
		en.insert(x, now)
		return x
	}
	x := a.wlc.pick(k)
	if x == nil {
		return nil
	}
	if a.cache.entries >= lblcMaxSize*3/2 {
		return x
	}
	a.cache.add(addr, &lblcrEntry{addr: addr, set: []*dest{x}, lastmod: now, lastuse: now})
	return x
}
