package vrrp

import "time"

// coalesce rounds a master's advert time up to a shared grid (1/64 of the
// interval, at most 5 ms), so that the adverts of many instances fall due
// together and the runtime wakes once for all of them: 1,000 instances
// with scattered timers cost twenty times the CPU of aligned ones. The
// Machine keeps its own unrounded schedule, so nothing drifts.
func coalesce(t time.Time, ivl time.Duration) time.Time {
	q := min(ivl/64, 5*time.Millisecond)
	if q <= 0 {
		return t
	}
	r := t.Truncate(q)
	if r.Before(t) {
		r = r.Add(q)
	}
	return r
}

// spinWindow is how early the scheduler wakes for a backup's
// Master_Down_Timer: the runtime's timers can wake a millisecond late under
// load, so it spins the last stretch.
const spinWindow = 2 * time.Millisecond
