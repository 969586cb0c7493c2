package check

import "time"

// dueHeap is a 4-ary min-heap of due times. A target leaves it lazily: a
// place whose time is no longer its entry's due time is stale (an Update
// or a Resume moved it, a check's end set the next), as is one of a
// removed or suspended entry, and pop drops those as they come up. So the
// heap never needs an index into itself, and sifting touches nothing but
// its own array: at 10,000 targets the entries are scattered over
// megabytes, and visiting them cost more than the comparisons. A place is
// 16 bytes, so the four children of a node share a cache line.
//
// An entry can hold two places that look valid, both at its due time,
// when a new due time equals a stale place's; they come up together, and
// the first one popped marks the entry running, which makes the second
// stale.
type dueHeap []dueItem

type dueItem struct {
	at time.Duration // due time, from the Monitor's epoch
	e  *entry
}

// first returns the earliest due time; the heap must not be empty.
func (h dueHeap) first(epoch time.Time) time.Time { return epoch.Add(h[0].at) }

func (h *dueHeap) push(e *entry) {
	*h = append(*h, dueItem{e.due, e})
	h.up(len(*h) - 1)
}

// pop removes the earliest place and returns its entry; ok is false if
// the place was stale (or its entry is suspended).
func (h *dueHeap) pop() (e *entry, ok bool) {
	old := *h
	it := old[0]
	n := len(old) - 1
	old[0] = old[n]
	old[n] = dueItem{}
	*h = old[:n]
	h.down(0)
	return it.e, it.at == it.e.due && !it.e.gone && !it.e.running && !it.e.suspended
}

func (h dueHeap) up(j int) {
	it := h[j]
	for j > 0 {
		i := (j - 1) / 4
		if h[i].at <= it.at {
			break
		}
		h[j] = h[i]
		j = i
	}
	h[j] = it
}

func (h dueHeap) down(i int) {
	n := len(h)
	if n == 0 {
		return
	}
	it := h[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		min := c
		for k := c + 1; k < c+4 && k < n; k++ {
			if h[k].at < h[min].at {
				min = k
			}
		}
		if h[min].at >= it.at {
			break
		}
		h[i] = h[min]
		i = min
	}
	h[i] = it
}
