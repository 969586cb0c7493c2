package check

import (
	"math"
	"time"
)

// A target's statistics are kept 32 bits wide in its entry, which saves
// 16 bytes a target (a size class: 640 KiB at 40,000 targets), and whole
// in its entryExt once they outgrow that: a counter past 2^32 checks, a
// latency or lateness of 4.29 s or more (or a negative one). Stats
// reports the same values either way.

// The entry's counters (entry.counts) and durations (entry.durs).
const (
	checksAt, failuresAt         = 0, 1
	lastLatencyAt, maxLatenessAt = 0, 1
)

// count32 is the low 32 bits of a counter; its carries are counted in
// the entryExt.
type count32 uint32

// dur32 is a duration in nanoseconds below dur32Far; dur32Far means that
// the duration is kept whole in the entryExt.
type dur32 uint32

// dur32Far marks a dur32 whose value is in the entryExt.
const dur32Far = dur32(math.MaxUint32)

// wideStats holds what an entry's 32-bit statistics do not.
type wideStats struct {
	carries [2]uint32        // of entry.counts
	durs    [2]time.Duration // of entry.durs equal to dur32Far
}

// count counts a check, and a failure unless up.
func (e *entry) count(up bool) {
	e.add(checksAt)
	if !up {
		e.add(failuresAt)
	}
}

// add adds one to counter k.
func (e *entry) add(k int) {
	e.counts[k]++
	if e.counts[k] == 0 {
		e.ext().wide.carries[k]++
	}
}

// total is counter k's whole value.
func (e *entry) total(k int) uint64 {
	n := uint64(e.counts[k])
	if e.x != nil {
		n |= uint64(e.x.wide.carries[k]) << 32
	}
	return n
}

// dur is duration k's whole value.
func (e *entry) dur(k int) time.Duration {
	if e.durs[k] == dur32Far {
		return e.x.wide.durs[k]
	}
	return time.Duration(e.durs[k])
}

// setDur sets duration k to d.
func (e *entry) setDur(k int, d time.Duration) {
	if d >= 0 && d < time.Duration(dur32Far) {
		e.durs[k] = dur32(d)
		return
	}
	e.durs[k] = dur32Far
	e.ext().wide.durs[k] = d
}

// noteLateness raises Stats.MaxLateness to late if it is more.
func (e *entry) noteLateness(late time.Duration) {
	if late > e.dur(maxLatenessAt) {
		e.setDur(maxLatenessAt, late)
	}
}
