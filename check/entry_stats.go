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
	checksHi, failuresHi     uint32 // carries of checks and failures
	lastLatency, maxLateness time.Duration
}

// fits reports whether d fits a dur32.
func fits(d time.Duration) bool { return d >= 0 && d < time.Duration(dur32Far) }

// count counts a check, and a failure unless up.
func (e *entry) count(up bool) {
	e.checks++
	if e.checks == 0 {
		e.ext().wide.checksHi++
	}
	if !up {
		e.failures++
		if e.failures == 0 {
			e.ext().wide.failuresHi++
		}
	}
}

// checksTotal is Stats.Checks.
func (e *entry) checksTotal() uint64 {
	n := uint64(e.checks)
	if e.x != nil {
		n |= uint64(e.x.wide.checksHi) << 32
	}
	return n
}

// failuresTotal is Stats.Failures.
func (e *entry) failuresTotal() uint64 {
	n := uint64(e.failures)
	if e.x != nil {
		n |= uint64(e.x.wide.failuresHi) << 32
	}
	return n
}

// setLatency sets Stats.LastLatency.
func (e *entry) setLatency(d time.Duration) {
	if fits(d) {
		e.lastLatency = dur32(d)
		return
	}
	e.lastLatency = dur32Far
	e.ext().wide.lastLatency = d
}

// latency is Stats.LastLatency.
func (e *entry) latency() time.Duration {
	if e.lastLatency == dur32Far {
		return e.x.wide.lastLatency
	}
	return time.Duration(e.lastLatency)
}

// noteLateness raises Stats.MaxLateness to late if it is more.
func (e *entry) noteLateness(late time.Duration) {
	if late <= e.lateness() {
		return
	}
	if fits(late) {
		e.maxLateness = dur32(late)
		return
	}
	e.maxLateness = dur32Far
	e.ext().wide.maxLateness = late
}

// lateness is Stats.MaxLateness.
func (e *entry) lateness() time.Duration {
	if e.maxLateness == dur32Far {
		return e.x.wide.maxLateness
	}
	return time.Duration(e.maxLateness)
}
