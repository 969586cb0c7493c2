package vrrp

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// The instance's own trackers: its interface and VMAC unless
// DontTrackPrimary; a source it picked itself always, a configured one
// only with TrackSource.
func TestOwnKeys(t *testing.T) {
	src := netip.MustParseAddr("10.0.0.1")
	for _, tc := range []struct {
		cfg  Config
		want []string
	}{
		{Config{Interface: "eth0"}, []string{"primary:eth0", "source"}},
		{Config{Interface: "eth0", VMAC: true, VMACName: "vrrp.1"}, []string{"primary:eth0", "primary:vrrp.1", "source"}},
		{Config{Interface: "eth0", DontTrackPrimary: true, Source: src}, nil},
		{Config{Interface: "eth0", Source: src, TrackSource: true}, []string{"primary:eth0", "source"}},
	} {
		if got := ownKeys(&tc.cfg); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %q, want %q", tc.cfg, got, tc.want)
		}
		keys := trackKeys(&tc.cfg)
		for _, k := range tc.want {
			if !keys[k] {
				t.Errorf("%+v: trackKeys lacks %q", tc.cfg, k)
			}
		}
	}
}

// DownTimerAdverts replaces the RFC's 3 in Master_Down_Interval.
func TestDownTimerAdverts(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{0, 3*time.Second + 609375*time.Microsecond}, {1, time.Second + 609375*time.Microsecond}} {
		m, err := NewMachine(Election{Priority: 100, Interval: time.Second, DownTimerAdverts: tc.n}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.MasterDownInterval(); got != tc.want {
			t.Errorf("%d: %v, want %v", tc.n, got, tc.want)
		}
	}
	if _, err := NewMachine(Election{Priority: 100, Interval: time.Second, DownTimerAdverts: 101}, nil); err == nil {
		t.Error("101 accepted")
	}
	c := Config{Name: "x", Interface: "eth0", VRID: 1, Priority: 100, VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.1/32")}}, DownTimerAdverts: -1}
	if err := Validate(c); err == nil {
		t.Error("-1 accepted")
	}
}
