package vrrp

import "testing"

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
	} {
		if got := externalStatus(TrackExternal{Weight: c.weight, Reverse: c.reverse}, c.up); got != c.want {
			t.Errorf("weight %d reverse %v up %v: %+v, want %+v", c.weight, c.reverse, c.up, got, c.want)
		}
	}
}
