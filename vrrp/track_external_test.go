package vrrp

import "testing"

// The reverse cases were checked against keepalived 2.2.7 (track_bfd with
// "weight ±10 reverse", priority 100, its SIGUSR1 data dump): weight 10
// reverse gives 90 while the session is up and 100 while down; weight -10
// reverse gives 100 while up and 110 while down.
func TestExternalStatusFollowsKeepalivedTrackBFDWeights(t *testing.T) {
	for _, c := range []struct {
		weight  int
		reverse bool
		up      bool
		want    trackStatus
	}{
		{0, false, false, trackStatus{fault: true}},
		{0, false, true, trackStatus{}},
		{0, true, true, trackStatus{fault: true}}, // "weight 0 reverse": down while the object is up
		{0, true, false, trackStatus{}},
		{10, false, true, trackStatus{delta: 10}},
		{10, false, false, trackStatus{}},
		{-10, false, false, trackStatus{delta: -10}},
		{-10, false, true, trackStatus{}},
		{10, true, true, trackStatus{delta: -10}}, // reverse: priority decreased while up
		{10, true, false, trackStatus{}},
		{-10, true, true, trackStatus{}},
		{-10, true, false, trackStatus{delta: 10}}, // reverse: priority increased while down
	} {
		if got := externalStatus(TrackExternal{Weight: c.weight, Reverse: c.reverse}, c.up); got != c.want {
			t.Errorf("weight %d reverse %v up %v: %+v, want %+v", c.weight, c.reverse, c.up, got, c.want)
		}
	}
}
