package main

import (
	"slices"
	"strings"
	"testing"
)

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

// dynamic_interfaces lets the plan name an interface the host lacks and
// marks every unit to wait for its interfaces; its allow_if_changes
// option is refused with its place.
func TestTranslateDynamicInterfaces(t *testing.T) {
	none := func(string) bool { return false }
	p, err := translateText(t, behaviourConf("", ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPlan(p, none); err == nil || !strings.Contains(err.Error(), "Non-existent interface") {
		t.Errorf("without dynamic_interfaces: %v", err)
	}
	p, err = translateText(t, behaviourConf("dynamic_interfaces", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !p.DynamicInterfaces {
		t.Error("DynamicInterfaces not set")
	}
	if err := checkPlan(p, none); err != nil {
		t.Errorf("with dynamic_interfaces: %v", err)
	}
	for _, u := range units(p) {
		if !u.DynamicInterfaces {
			t.Errorf("unit %s does not wait for its interfaces", u.Key)
		}
	}
	_, err = translateText(t, behaviourConf("dynamic_interfaces allow_if_changes", ""))
	if err == nil || !strings.Contains(err.Error(), "t.conf:2:20: global_defs: dynamic_interfaces allow_if_changes is not supported by lvsrouter") {
		t.Errorf("allow_if_changes: %v", err)
	}
}

// A waiting unit starts once the host has its interfaces.
func TestUnitInterfaces(t *testing.T) {
	p, err := translateText(t, behaviourConf("dynamic_interfaces", ""))
	if err != nil {
		t.Fatal(err)
	}
	u := units(p)[0]
	u.Instances[0].VIPs[0].Dev = "eth1"
	if got := unitInterfaces(u); !slices.Equal(got, []string{"eth0", "eth1"}) {
		t.Errorf("unitInterfaces %q", got)
	}
	r := &Router{hasInterface: func(n string) bool { return n == "eth1" }}
	if got := r.unitReady(u); !slices.Equal(got, []string{"eth0"}) {
		t.Errorf("missing %q", got)
	}
}
