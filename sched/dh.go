package sched

const (
	dhBits = 8
	dhSize = 1 << dhBits
)

// dhAlgo is ip_vs_dh.c: 256 buckets filled round-robin from the list, the
// bucket chosen by hashing the connection's destination address.
type dhAlgo struct {
	s       *Scheduler
	buckets [dhSize]*dest
}

func (a *dhAlgo) init(s *Scheduler)  { a.s = s; a.reassign() }
func (a *dhAlgo) added(*dest)        { a.reassign() }
func (a *dhAlgo) removed(*dest)      { a.reassign() }
func (a *dhAlgo) updated(*dest)      { a.reassign() }
func (a *dhAlgo) connsChanged(*dest) {}

func (a *dhAlgo) reassign() { fillBuckets(a.s, a.buckets[:], false) }

// fillBuckets is ip_vs_dh_reassign and ip_vs_sh_reassign: the buckets take
// the destinations in list order, round and round; sh (weighted) repeats
// each destination weight times, at least once.
func fillBuckets(s *Scheduler, buckets []*dest, weighted bool) {
	head := &s.head
	p := head
	empty := head.next == head
	n := 0
	for i := range buckets {
		if empty {
			buckets[i] = nil
			continue
		}
		if p == head {
			p = p.next
		}
		buckets[i] = p
		n++
		if !weighted || n >= p.d.Weight {
			p = p.next
			n = 0
		}
	}
}

// hashPick is ip_vs_sh_get / ip_vs_mh_get and their _fallback variants:
// x, the destination in the original slot ihash, if it is usable; else,
// with fallback, the first usable one of the slots at(roffset) for every
// offset from ihash on, stopping at an empty slot.
func hashPick(x *dest, fallback bool, size, ihash uint32, at func(roffset uint32) *dest) *dest {
	if x == nil {
		return nil
	}
	if x.usable() {
		return x
	}
	if !fallback {
		return nil
	}
	for off := uint32(0); off < size; off++ {
		x := at((off + ihash) % size)
		if x == nil {
			return nil
		}
		if x.usable() {
			return x
		}
	}
	return nil
}

func (a *dhAlgo) pick(k Key) *dest {
	x := a.buckets[hash32(fold(k.Dst.Addr()), dhBits)]
	if x == nil || !x.available || x.d.Weight <= 0 || x.d.Overloaded {
		return nil
	}
	return x
}

const (
	shBits = 8
	shSize = 1 << shBits
	shMask = shSize - 1
)

// shAlgo is ip_vs_sh.c: 256 buckets, each destination repeated weight
// times (at least once), the bucket chosen by hashing the source address
// (and port with FlagPort).
type shAlgo struct {
	s       *Scheduler
	buckets [shSize]*dest
}

func (a *shAlgo) init(s *Scheduler)  { a.s = s; a.reassign() }
func (a *shAlgo) added(*dest)        { a.reassign() }
func (a *shAlgo) removed(*dest)      { a.reassign() }
func (a *shAlgo) updated(*dest)      { a.reassign() }
func (a *shAlgo) connsChanged(*dest) {}

func (a *shAlgo) reassign() { fillBuckets(a.s, a.buckets[:], true) }

func shHash(v uint32, port uint16, offset uint32) uint32 {
	return (offset + hash32(uint32(port)+v, shBits)) & shMask
}

func (a *shAlgo) pick(k Key) *dest {
	var port uint16
	if a.s.cfg.flags&FlagPort != 0 {
		port = portOf(&k)
	}
	v := fold(k.Src.Addr())
	ihash := shHash(v, port, 0)
	return hashPick(a.buckets[ihash], a.s.cfg.flags&FlagFallback != 0, shSize, ihash,
		func(r uint32) *dest { return a.buckets[shHash(v, port, r)] })
}
