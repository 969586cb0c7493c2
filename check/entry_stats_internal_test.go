package check

import (
	"math"
	"testing"
	"time"
)

// TestEntryStatsOutgrow32Bits: counters past 2^32 and durations of 4.29 s
// or more (or negative) report their whole values, as they did when the
// entry kept them 64 bits wide.
func TestEntryStatsOutgrow32Bits(t *testing.T) {
	e := &entry{checks: math.MaxUint32, failures: math.MaxUint32}
	e.count(false)
	e.count(true)
	if got, want := e.checksTotal(), uint64(1<<32+1); got != want {
		t.Errorf("checks %d, want %d", got, want)
	}
	if got, want := e.failuresTotal(), uint64(1<<32); got != want {
		t.Errorf("failures %d, want %d", got, want)
	}
	for _, d := range []time.Duration{0, time.Millisecond, time.Duration(dur32Far) - 1, time.Duration(dur32Far), 5 * time.Second, -3, time.Microsecond} {
		e.setLatency(d)
		if got := e.latency(); got != d {
			t.Errorf("setLatency(%v): latency %v", d, got)
		}
	}
	for _, c := range []struct{ late, want time.Duration }{
		{-time.Second, 0},
		{time.Millisecond, time.Millisecond},
		{time.Microsecond, time.Millisecond},
		{6 * time.Second, 6 * time.Second},
		{5 * time.Second, 6 * time.Second},
		{7 * time.Second, 7 * time.Second},
	} {
		e.noteLateness(c.late)
		if got := e.lateness(); got != c.want {
			t.Errorf("noteLateness(%v): lateness %v, want %v", c.late, got, c.want)
		}
	}
}

// TestEntryStatsStayInline: ordinary statistics need no entryExt.
func TestEntryStatsStayInline(t *testing.T) {
	e := &entry{}
	e.count(true)
	e.count(false)
	e.setLatency(4 * time.Second)
	e.noteLateness(time.Second)
	if e.x != nil {
		t.Error("ordinary statistics made an entryExt")
	}
	if e.checksTotal() != 2 || e.failuresTotal() != 1 || e.latency() != 4*time.Second || e.lateness() != time.Second {
		t.Errorf("checks %d failures %d latency %v lateness %v", e.checksTotal(), e.failuresTotal(), e.latency(), e.lateness())
	}
}
