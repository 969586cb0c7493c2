package vrrp

import (
	"net/netip"
	"slices"
	"testing"
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
