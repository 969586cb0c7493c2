package check

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"unsafe"
)

// TestTargetSet checks the targets' hash table against a map through
// random adds and deletes, growing and shrinking it.
func TestTargetSet(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	s := newTargetSet()
	ref := map[string]*entry{}
	for step := range 200000 {
		// Phases of mostly adds then mostly deletes, so the table both
		// grows and shrinks.
		id := strconv.Itoa(rnd.IntN(5000))
		adding := step/20000%2 == 0
		if e := s.get(id); e != ref[id] {
			t.Fatalf("step %d: get(%q) = %p, want %p", step, id, e, ref[id])
		}
		switch e := ref[id]; {
		case e == nil && (adding || rnd.IntN(4) == 0):
			e = &entry{id: id}
			s.add(e)
			ref[id] = e
		case e != nil && (!adding || rnd.IntN(4) == 0):
			s.del(e)
			delete(ref, id)
		}
		if s.len() != len(ref) {
			t.Fatalf("step %d: len %d, want %d", step, s.len(), len(ref))
		}
	}
	n := 0
	for e := range s.all() {
		if ref[e.id] != e {
			t.Fatalf("all yields %q, not in the reference", e.id)
		}
		n++
	}
	if n != len(ref) {
		t.Fatalf("all yields %d entries, want %d", n, len(ref))
	}
	for id, e := range ref {
		if s.get(id) != e {
			t.Fatalf("get(%q) lost", id)
		}
	}
}

// TestEntrySize keeps a target's entry in the 96-byte size class: at
// 40,000 targets every 16 bytes more is 640 KiB.
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 96 {
		t.Errorf("entry is %d bytes, want at most 96", n)
	}
}

// TestShrinkerDropsBurstArrays: a scratch slice grown by a burst keeps
// its array through a short lull and gives it back after a long one; one
// in steady use keeps it.
func TestShrinkerDropsBurstArrays(t *testing.T) {
	var sh shrinker
	s := sh.reuse(0, make([]job, 5000))
	for range shrinkAfter - 1 {
		s = sh.reuse(0, append(s, job{}))
	}
	if cap(s) < 5000 {
		t.Fatalf("array dropped after %d small uses", shrinkAfter-1)
	}
	if s = sh.reuse(0, append(s, job{})); s != nil {
		t.Fatalf("array of %d kept after %d small uses", cap(s), shrinkAfter)
	}
	busy := make([]job, 0, 5000)
	for range 2 * shrinkAfter {
		busy = sh.reuse(1, busy[:2000])
	}
	if cap(busy) != 5000 {
		t.Fatal("array in steady use dropped")
	}
}
