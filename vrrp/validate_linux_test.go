package vrrp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestValidateMatchesAdd: for every configuration of a corpus, Validate
// accepts exactly what Router.Add accepts, so a caller's check (lvsrouter
// -t) and its start agree.
func TestValidateMatchesAdd(t *testing.T) {
	v4 := []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/32")}}
	v6 := []VIP{{Prefix: netip.MustParsePrefix("fd00::100/128")}}
	corpus := map[string][]Config{
		"good":           {{Interface: "eth0", VRID: 1, VIPs: v4}},
		"good pair":      {{Interface: "eth0", VRID: 1, VIPs: v4}, {Interface: "eth0", VRID: 1, VIPs: v6}},
		"v2 half second": {{Interface: "eth0", VRID: 1, VIPs: v4, Interval: 500 * time.Millisecond}},
		"v3 half second": {{Interface: "eth0", VRID: 1, VIPs: v4, Version: 3, Interval: 500 * time.Millisecond}},
		"negative":       {{Interface: "eth0", VRID: 1, VIPs: v4, Interval: -time.Second}},
		"dup vrid":       {{Interface: "eth0", VRID: 1, VIPs: v4}, {Name: "b", Interface: "eth0", VRID: 1, VIPs: v4}},
		"vrid elsewhere": {{Interface: "eth0", VRID: 1, VIPs: v4}, {Name: "b", Interface: "eth1", VRID: 1, VIPs: v4}},
		"no user":        {{Interface: "eth0", VRID: 1, VIPs: v4, TrackScripts: []TrackScript{{Command: []string{"/bin/true"}, User: "no-such-user-lvskit"}}}},
		"notify user":    {{Interface: "eth0", VRID: 1, VIPs: v4, Notify: Notify{Master: []string{"/bin/true"}, User: "root", Group: "no-such-group-lvskit"}}},
		"known user":     {{Interface: "eth0", VRID: 1, VIPs: v4, TrackScripts: []TrackScript{{Command: []string{"/bin/true"}, User: "root"}}}},
		"ah":             {{Interface: "eth0", VRID: 1, VIPs: v4, AuthType: AuthAH}},
		"no vips":        {{Interface: "eth0", VRID: 1}},
	}
	for name, cfgs := range corpus {
		t.Run(name, func(t *testing.T) {
			verr := Validate(cfgs...)
			r, err := NewRouter(nil)
			if err != nil {
				t.Fatal(err)
			}
			var aerr error
			for _, c := range cfgs {
				if _, err := r.Add(c); err != nil {
					aerr = err
					break
				}
			}
			if (verr == nil) != (aerr == nil) {
				t.Fatalf("Validate: %v; Add: %v", verr, aerr)
			}
		})
	}
}

// TestValidateReportsEveryReason: one call names every problem, each with
// its instance and field.
func TestValidateReportsEveryReason(t *testing.T) {
	v4 := []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/32")}}
	err := Validate(
		Config{Name: "a", VRID: 1, VIPs: v4, Interval: 1500 * time.Millisecond, AuthType: AuthSimple, AuthPass: "123456789"},
		Config{Name: "b", Interface: "eth0", VRID: 2, VIPs: v4},
		Config{Name: "c", Interface: "eth0", VRID: 2, VIPs: v4, Peers: []netip.Addr{netip.MustParseAddr("fe80::1")}},
	)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, want := range []string{
		"instance a: Interface: required",
		"instance a: Interval: 1.5s: VRRPv2 needs whole seconds",
		"instance a: AuthPass: longer than 8 bytes",
		"instance c: Peers[0]: fe80::1: family differs",
		"instance c: VRID: 2 on eth0 already used by b",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 5 {
		t.Errorf("%d errors, want 5:\n%v", n, err)
	}
	// The caller's slices keep their values.
	ts := []TrackScript{{Command: []string{"/bin/true"}}}
	if err := Validate(Config{Interface: "eth0", VRID: 1, VIPs: v4, TrackScripts: ts}); err != nil {
		t.Fatal(err)
	}
	if ts[0].Interval != 0 || ts[0].Rise != 0 {
		t.Fatalf("Validate wrote defaults into the caller's TrackScripts: %+v", ts[0])
	}
}
