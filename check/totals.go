package check

import (
	"math"
	"slices"
	"time"
)

// latenessBuckets are the upper bounds of the buckets of Totals.Lateness;
// the last bucket holds everything above the last bound. Unexported, so
// that no caller can move them under a running Monitor.
var latenessBuckets = [...]time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second,
}

// Totals are counters over all targets of a Monitor.
type Totals struct {
	// Checks and Failures count check results.
	Checks, Failures uint64
	// MaxLateness is the worst delay between a check's due time and its
	// start.
	MaxLateness time.Duration
	// Lateness counts checks by lateness: Lateness[i] those up to
	// LatenessBuckets()[i], the last those above every bound.
	Lateness [len(latenessBuckets) + 1]uint64
}

// LatenessBuckets returns the upper bounds of the buckets of
// Totals.Lateness (1 ms to 2 s); the last bucket holds everything above
// the last bound. The slice is a copy.
func LatenessBuckets() []time.Duration { return slices.Clone(latenessBuckets[:]) }

// LatenessQuantile returns the bucket bound below which the fraction q of
// checks started (the bound above the last bucket is MaxLateness).
func (t Totals) LatenessQuantile(q float64) time.Duration {
	want := uint64(math.Ceil(q * float64(t.Checks)))
	var n uint64
	for i, c := range t.Lateness {
		n += c
		if n >= want && c > 0 || n >= t.Checks {
			if i < len(latenessBuckets) {
				return latenessBuckets[i]
			}
			break
		}
	}
	return t.MaxLateness
}

// Totals returns the counters over all targets.
func (m *Monitor) Totals() Totals {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.totals
}
