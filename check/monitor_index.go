package check

import (
	"hash/maphash"
	"iter"
)

// targetSet is a Monitor's targets by ID: an open-addressing hash table
// (linear probing) of entries keyed by their own id. A slot is a pointer,
// 8 bytes, where a map[string]*entry spends 24 and a control byte on a key
// the entry holds already; at 40,000 targets that is 13 bytes a target
// instead of 42.
type targetSet struct {
	seed  maphash.Seed
	slots []*entry // nil, or a power of two long and at most 3/4 full
	n     int
}

func newTargetSet() targetSet { return targetSet{seed: maphash.MakeSeed()} }

func (s *targetSet) len() int { return s.n }

func (s *targetSet) home(id string) int {
	return int(maphash.String(s.seed, id) & uint64(len(s.slots)-1))
}

// get returns the entry with the given id, or nil.
func (s *targetSet) get(id string) *entry {
	if s.n == 0 {
		return nil
	}
	mask := len(s.slots) - 1
	for i := s.home(id); ; i = (i + 1) & mask {
		switch e := s.slots[i]; {
		case e == nil:
			return nil
		case e.id == id:
			return e
		}
	}
}

// add inserts e, whose id must not be in s.
func (s *targetSet) add(e *entry) {
	if overLoad(s.n+1, len(s.slots)) {
		s.resize(max(16, 2*len(s.slots)))
	}
	s.put(e)
	s.n++
}

func (s *targetSet) put(e *entry) { s.slots[s.find(e.id, nil)] = e }

// find returns the first slot on id's probe sequence that holds want (nil:
// a free slot); there must be one.
func (s *targetSet) find(id string, want *entry) int {
	mask := len(s.slots) - 1
	i := s.home(id)
	for s.slots[i] != want {
		i = (i + 1) & mask
	}
	return i
}

// del removes e, which must be in s.
func (s *targetSet) del(e *entry) {
	mask := len(s.slots) - 1
	i := s.find(e.id, e)
	s.slots[i] = nil
	s.n--
	// Close the gap: move back each entry of the run that follows it
	// whose home is not between the gap and its slot (backward-shift
	// deletion, so no tombstones).
	for j := (i + 1) & mask; s.slots[j] != nil; j = (j + 1) & mask {
		h := s.home(s.slots[j].id)
		if (j-h)&mask >= (j-i)&mask {
			s.slots[i], s.slots[j] = s.slots[j], nil
			i = j
		}
	}
	if len(s.slots) > 16 && s.n*8 < len(s.slots) {
		s.resize(len(s.slots) / 4)
	}
}

// grow resizes s once so that n more entries fit without another resize.
func (s *targetSet) grow(n int) {
	want := s.n + n
	size := max(16, len(s.slots))
	for overLoad(want, size) {
		size *= 2
	}
	if size > len(s.slots) {
		s.resize(size)
	}
}

// overLoad reports whether n entries in size slots are more than the
// three quarters a set keeps below.
func overLoad(n, size int) bool { return n*4 > size*3 }

func (s *targetSet) resize(n int) {
	old := s.slots
	s.slots = make([]*entry, n)
	for _, e := range old {
		if e != nil {
			s.put(e)
		}
	}
}

// all yields every entry.
func (s *targetSet) all() iter.Seq[*entry] {
	return func(yield func(*entry) bool) {
		for _, e := range s.slots {
			if e != nil && !yield(e) {
				return
			}
		}
	}
}
