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
	e := &entry{counts: [2]count32{math.MaxUint32, math.MaxUint32}}
	e.count(false)
	e.count(true)
	if got, want := e.total(checksAt), uint64(1<<32+1); got != want {
		t.Errorf("checks %d, want %d", got, want)
	}
	if got, want := e.total(failuresAt), uint64(1<<32); got != want {
		t.Errorf("failures %d, want %d", got, want)
	}
	for _, d := range []time.Duration{0, time.Millisecond, time.Duration(dur32Far) - 1, time.Duration(dur32Far), 5 * time.Second, -3, time.Microsecond} {
		e.setDur(lastLatencyAt, d)
		if got := e.dur(lastLatencyAt); got != d {
			t.Errorf("setDur(%v): latency %v", d, got)
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
		if got := e.dur(maxLatenessAt); got != c.want {
			t.Errorf("noteLateness(%v): lateness %v, want %v", c.late, got, c.want)
		}
	}
}

// TestEntryStatsStayInline: ordinary statistics need no entryExt.
func TestEntryStatsStayInline(t *testing.T) {
	e := &entry{}
	e.count(true)
	e.count(false)
	e.setDur(lastLatencyAt, 4*time.Second)
	e.noteLateness(time.Second)
	if e.x != nil {
		t.Error("ordinary statistics made an entryExt")
	}
	if e.total(checksAt) != 2 || e.total(failuresAt) != 1 || e.dur(lastLatencyAt) != 4*time.Second || e.dur(maxLatenessAt) != time.Second {
		t.Errorf("checks %d failures %d latency %v lateness %v", e.total(checksAt), e.total(failuresAt), e.dur(lastLatencyAt), e.dur(maxLatenessAt))
	}
}
