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

// down_timer_adverts and vrrp_down_timer_adverts reach vrrp with the
// instance over the global and 3 as vrrp's zero; out of range is an
// error with its place, and vrrp_strict resets it with a warning.
func TestTranslateDownTimerAdverts(t *testing.T) {
	for _, tc := range []struct {
		global, inst string
		want         int
	}{
		{"", "", 0},
		{"", "down_timer_adverts 1", 1},
		{"vrrp_down_timer_adverts 5", "", 5},
		{"vrrp_down_timer_adverts 5", "down_timer_adverts 2", 2},
		{"vrrp_down_timer_adverts 5", "down_timer_adverts 3", 0},
	} {
		p, err := translateText(t, behaviourConf(tc.global, tc.inst))
		if err != nil {
			t.Fatalf("%q %q: %v", tc.global, tc.inst, err)
		}
		if got := p.Instances[0].DownTimerAdverts; got != tc.want {
			t.Errorf("%q %q: %d, want %d", tc.global, tc.inst, got, tc.want)
		}
	}
	_, err := translateText(t, behaviourConf("", "down_timer_adverts 0"))
	if err == nil || !strings.Contains(err.Error(), "t.conf:12:24: vrrp_instance VI_1: invalid down_timer_adverts [1:100]") {
		t.Errorf("0: %v", err)
	}
	p, err := translateText(t, behaviourConf("vrrp_strict", "down_timer_adverts 1"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Instances[0].DownTimerAdverts != 0 || !slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.Contains(w, "incompatible with strict mode") }) {
		t.Errorf("strict: %d %q", p.Instances[0].DownTimerAdverts, p.Warnings)
	}
}

// notify_priority_changes: instance over sync group over global, bare is
// true; the unit carries its instances' names to install OnPriority.
func TestTranslateNotifyPriorityChanges(t *testing.T) {
	group := "vrrp_sync_group G {\n    group {\n        VI_1\n    }\n    %s\n}\n"
	for _, tc := range []struct {
		global, group, inst string
		want                bool
	}{
		{"", "", "", false},
		{"vrrp_notify_priority_changes", "", "", true},
		{"vrrp_notify_priority_changes", "notify_priority_changes off", "", false},
		{"", "notify_priority_changes", "", true},
		{"", "notify_priority_changes", "notify_priority_changes no", false},
		{"vrrp_notify_priority_changes false", "", "notify_priority_changes yes", true},
	} {
		text := behaviourConf(tc.global, tc.inst) + strings.Replace(group, "%s", tc.group, 1)
		p, err := translateText(t, text)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		if got := slices.Contains(p.NotifyPriority, "VI_1"); got != tc.want {
			t.Errorf("%+v: %v", tc, got)
		}
		u := units(p)[0]
		if got := slices.Contains(u.NotifyPriority, "VI_1"); got != tc.want {
			t.Errorf("%+v: unit %v", tc, got)
		}
	}
	_, err := translateText(t, behaviourConf("", "")+strings.Replace(group, "%s", "notify_priority_changes maybe", 1))
	if err == nil || !strings.Contains(err.Error(), `t.conf:18:29: invalid value "maybe" for notify_priority_changes`) {
		t.Errorf("maybe: %v", err)
	}
	p, err := translateText(t, behaviourConf("vrrp_notify_priority_changes maybe", ""))
	if err == nil && len(p.Warnings) == 0 {
		t.Error("global maybe: accepted without a report")
	}
}
