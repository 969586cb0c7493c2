package vrrp

import "time"

// A schedule orders the timers of a Router's instances by the time they
// fire, so that one goroutine waits for the earliest of them all instead
// of every instance keeping a goroutine and a runtime timer: a thousand
// masters then cost one wake-up per grid tick (see coalesce), not a
// thousand. It is a binary min-heap of slots; a slot knows its index, so
// moving or removing one costs O(log n) and allocates nothing. It is not
// safe for concurrent use (the Router's lock guards it).
type schedule struct {
	h []*slot
}

// slot is one timer's place in a schedule.
type slot struct {
	// at is when the timer fires; zero when the slot is not scheduled.
	at time.Time
	// precise asks the waiter to wake spinWindow early and spin the last
	// stretch (a backup's Master_Down_Timer, which decides takeover time).
	precise bool
	// id names the slot's owner (the instance's index in its Router).
	id  int
	idx int // position in schedule.h; -1 while absent
}

func newSlot(id int) slot { return slot{id: id, idx: -1} }

// set (re)schedules s to fire at at; a zero at removes it.
func (q *schedule) set(s *slot, at time.Time, precise bool) {
	s.precise = precise
	if at.IsZero() {
		if s.idx >= 0 {
			q.remove(s.idx)
		}
		s.at = time.Time{}
		return
	}
	s.at = at
	if s.idx < 0 {
		s.idx = len(q.h)
		q.h = append(q.h, s)
		q.up(s.idx)
		return
	}
	if !q.up(s.idx) {
		q.down(s.idx)
	}
}

// peek returns the slot that fires first, nil if none is scheduled.
func (q *schedule) peek() *slot {
	if len(q.h) == 0 {
		return nil
	}
	return q.h[0]
}

// popDue removes and returns the first slot if it fires at or before now.
func (q *schedule) popDue(now time.Time) *slot {
	if len(q.h) == 0 || q.h[0].at.After(now) {
		return nil
	}
	s := q.h[0]
	q.remove(0)
	s.at = time.Time{}
	return s
}

// fire pops every slot due at now, in order, and calls tick with its id;
// tick must reschedule the slot later than now or leave it out. At most
// limit slots fire, so that a tick breaking that rule cannot loop forever.
func (q *schedule) fire(now time.Time, limit int, tick func(id int, now time.Time)) {
	for range limit {
		s := q.popDue(now)
		if s == nil {
			return
		}
		tick(s.id, now)
	}
}

// wake returns when a waiter must next wake up: the first slot's time,
// spinWindow early if it is precise; zero when nothing is scheduled.
func (q *schedule) wake() time.Time {
	s := q.peek()
	if s == nil {
		return time.Time{}
	}
	if s.precise {
		return s.at.Add(-spinWindow)
	}
	return s.at
}

func (q *schedule) len() int { return len(q.h) }

func (q *schedule) remove(i int) {
	last := len(q.h) - 1
	s := q.h[i]
	if i != last {
		q.swap(i, last)
	}
	q.h[last] = nil
	q.h = q.h[:last]
	s.idx = -1
	if i != last && !q.up(i) {
		q.down(i)
	}
}

func (q *schedule) less(i, j int) bool {
	a, b := q.h[i], q.h[j]
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	return a.id < b.id // deterministic order for timers due together
}

func (q *schedule) swap(i, j int) {
	q.h[i], q.h[j] = q.h[j], q.h[i]
	q.h[i].idx, q.h[j].idx = i, j
}

// up moves element i towards the root; it reports whether it moved.
func (q *schedule) up(i int) bool {
	moved := false
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.swap(i, p)
		i, moved = p, true
	}
	return moved
}

func (q *schedule) down(i int) {
	n := len(q.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			return
		}
		q.swap(i, m)
		i = m
	}
}

// fireAt says when the timer of a machine in state st with the given
// Deadline should fire: a master's next advert rounded up to the shared
// grid (coalesce) so that the adverts of many instances leave together, a
// backup's Master_Down_Timer exactly and precisely; zero when no timer
// runs.
func fireAt(st State, deadline time.Time, ivl time.Duration) (at time.Time, precise bool) {
	if deadline.IsZero() {
		return time.Time{}, false
	}
	switch st {
	case StateMaster:
		return coalesce(deadline, ivl), false
	case StateBackup:
		return deadline, true
	}
	return deadline, false
}
