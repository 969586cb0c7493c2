package sched

import "math/bits"

var mhPrimes = []int{251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071}

func isMHPrime(p int) bool {
	for _, q := range mhPrimes {
		if p == q {
			return true
		}
	}
	return false
}

// The kernel's fixed hash secrets (generate_hash_secret).
var (
	mhKey1 = hsiphashKey{2654435761, 2654435761}
	mhKey2 = hsiphashKey{2654446892, 2654446892}
)

// mhAlgo is ip_vs_mh.c: Maglev hashing. Each destination walks its own
// permutation of a prime-sized table (offset and skip from hsiphash of its
// address and port) and takes "turns" slots per round, turns being its last
// non-zero weight divided by the weights' gcd and shifted right so that the
// largest fits in MH_TAB_BITS bits.
type mhAlgo struct {
	s      *Scheduler
	size   int
	lookup []*dest
	gcd    int
	rshift int
	// scratch for populate, kept to avoid reallocating
	setup []mhSetup
	taken []uint64
}

type mhSetup struct {
	offset, skip, perm uint32
	turns              int
}

const mhTabBits = 12 / 2 // CONFIG_IP_VS_MH_TAB_INDEX / 2, fixed in the kernel

func (a *mhAlgo) init(s *Scheduler) {
	a.s = s
	a.size = s.cfg.mhPrime
	a.lookup = make([]*dest, a.size)
	a.changed()
}
func (a *mhAlgo) added(*dest)        { a.changed() }
func (a *mhAlgo) removed(*dest)      { a.changed() }
func (a *mhAlgo) updated(*dest)      { a.changed() }
func (a *mhAlgo) connsChanged(*dest) {}

func (a *mhAlgo) changed() {
	head := &a.s.head
	g := 0
	mw := 0
	for x := head.next; x != head; x = x.next {
		w := x.lastWeight
		if w > 0 {
			if g > 0 {
				g = gcd(w, g)
			} else {
				g = w
			}
		}
		mw = max(mw, w)
	}
	a.gcd = g
	a.rshift = 0
	if g >= 1 {
		shift := bits.Len(uint(mw/g)) - mhTabBits
		a.rshift = max(shift, 0)
	}
	// ip_vs_mh_reassign: too many destinations leaves the old table.
	if a.s.n > a.size {
		return
	}
	a.permutate()
	a.populate()
}

func mhHash(x *dest, k *hsiphashKey) uint32 {
	return hsiphash32(uint32(x.d.Addr.Port())+fold(x.d.Addr.Addr()), k)
}

func (a *mhAlgo) permutate() {
	a.setup = a.setup[:0]
	if a.gcd < 1 {
		return
	}
	size := uint32(a.size)
	head := &a.s.head
	for x := head.next; x != head; x = x.next {
		off := mhHash(x, &mhKey1) % size
		skip := mhHash(x, &mhKey2)%(size-1) + 1
		lw := x.lastWeight
		turns := (lw / a.gcd) >> a.rshift
		if turns == 0 && lw != 0 {
			turns = 1
		}
		a.setup = append(a.setup, mhSetup{offset: off, skip: skip, perm: off, turns: turns})
	}
}

func (a *mhAlgo) populate() {
	if a.gcd < 1 {
		clear(a.lookup)
		return
	}
	words := (a.size + 63) / 64
	if cap(a.taken) < words {
		a.taken = make([]uint64, words)
	}
	taken := a.taken[:words]
	clear(taken)
	head := &a.s.head
	size := uint32(a.size)
	n, dt := 0, 0
	p := head
	for n < a.size {
		if p == head {
			p = p.next
		}
		i := 0
		for p != head {
			ds := &a.setup[i]
			if ds.turns < 1 {
				p = p.next
				i++
				continue
			}
			c := ds.perm
			for taken[c>>6]&(1<<(c&63)) != 0 {
				ds.perm += ds.skip
				if ds.perm >= size {
					ds.perm -= size
				}
				c = ds.perm
			}
			taken[c>>6] |= 1 << (c & 63)
			a.lookup[c] = p
			n++
			if n == a.size {
				return
			}
			dt++
			if dt >= ds.turns {
				dt = 0
				p = p.next
				i++
			}
		}
	}
}

func (a *mhAlgo) pick(k Key) *dest {
	var port uint16
	if a.s.cfg.flags&FlagPort != 0 {
		port = portOf(&k)
	}
	v := uint32(port) + fold(k.Src.Addr())
	size := uint32(a.size)
	ihash := hsiphash32(v, &mhKey1) % size
	return hashPick(a.lookup[ihash], a.s.cfg.flags&FlagFallback != 0, size, ihash,
		func(r uint32) *dest { return a.lookup[hsiphash32(r+v, &mhKey1)%size] })
}
