package main

import "testing"

// dont_track_primary and track_src_ip reach vrrp.Config; without them an
// instance tracks its interface and not a configured source.
func TestTranslateOwnTracking(t *testing.T) {
	for _, tc := range []struct {
		inst                string
		dontTrack, trackSrc bool
	}{
		{"", false, false},
		{"dont_track_primary", true, false},
		{"mcast_src_ip 10.0.0.1\ntrack_src_ip", false, true},
	} {
		p, err := translateText(t, behaviourConf("", tc.inst))
		if err != nil {
			t.Fatalf("%q: %v", tc.inst, err)
		}
		c := p.Instances[0]
		if c.DontTrackPrimary != tc.dontTrack || c.TrackSource != tc.trackSrc {
			t.Errorf("%q: DontTrackPrimary %v TrackSource %v", tc.inst, c.DontTrackPrimary, c.TrackSource)
		}
	}
}
