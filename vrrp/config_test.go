package vrrp

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestConfigNormalize(t *testing.T) {
	v4 := []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/32")}}
	v6 := []VIP{{Prefix: netip.MustParsePrefix("fd00::100/128")}}
	good := Config{Interface: "eth0", VRID: 1, VIPs: v4}
	if err := good.normalize(); err != nil {
		t.Fatal(err)
	}
	if good.Version != 2 || good.Priority != 100 || good.Interval != time.Second || good.GARP.Repeat != 5 || good.Name != "VI_1" {
		t.Fatalf("defaults: %+v", good)
	}
	g6 := Config{Interface: "eth0", VRID: 1, VIPs: v6}
	if err := g6.normalize(); err != nil || g6.Version != 3 {
		t.Fatalf("IPv6 default version: %v %d", err, g6.Version)
	}
	vm6 := Config{Interface: "eth0", VRID: 7, VIPs: v6, VMAC: true}
	if err := vm6.normalize(); err != nil || vm6.VMACName != "vrrp.7" {
		t.Fatalf("IPv6 VMAC: %v, name %q", err, vm6.VMACName)
	}
	if got := VirtualMAC(7, true).String(); got != "00:00:5e:00:02:07" {
		t.Fatalf("IPv6 virtual MAC %s", got)
	}
	for name, c := range map[string]Config{
		"no vrid":       {Interface: "eth0", VIPs: v4},
		"no interface":  {VRID: 1, VIPs: v4},
		"no vips":       {Interface: "eth0", VRID: 1},
		"mixed":         {Interface: "eth0", VRID: 1, VIPs: append(append([]VIP{}, v4...), v6...)},
		"v2 ipv6":       {Interface: "eth0", VRID: 1, VIPs: v6, Version: 2},
		"v2 fractional": {Interface: "eth0", VRID: 1, VIPs: v4, Version: 2, Interval: 1500 * time.Millisecond},
		"v3 ms":         {Interface: "eth0", VRID: 1, VIPs: v4, Version: 3, Interval: 15 * time.Millisecond},
		"v3 auth":       {Interface: "eth0", VRID: 1, VIPs: v4, Version: 3, AuthType: AuthSimple},
		"long pass":     {Interface: "eth0", VRID: 1, VIPs: v4, AuthType: AuthSimple, AuthPass: "123456789"},
		"source family": {Interface: "eth0", VRID: 1, VIPs: v4, Source: netip.MustParseAddr("fe80::1")},
		"peer family":   {Interface: "eth0", VRID: 1, VIPs: v4, Peers: []netip.Addr{netip.MustParseAddr("fe80::1")}},
		"empty script":  {Interface: "eth0", VRID: 1, VIPs: v4, TrackScripts: []TrackScript{{Name: "x"}}},
		"bad version":   {Interface: "eth0", VRID: 1, VIPs: v4, Version: 4},
		"bad auth type": {Interface: "eth0", VRID: 1, VIPs: v4, AuthType: 7},
	} {
		if err := c.normalize(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
	ah := Config{Interface: "eth0", VRID: 1, VIPs: v4, AuthType: AuthAH}
	if err := ah.normalize(); !errors.Is(err, ErrAuthAH) {
		t.Errorf("AH: err %v, want ErrAuthAH", err)
	}
}

func TestGARPFrame(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	f := appendGARP(nil, mac, netip.MustParseAddr("10.0.0.100"))
	want := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06,
		0, 1, 8, 0, 6, 4, 0, 1,
		2, 0, 0, 0, 0, 1, 10, 0, 0, 100,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 10, 0, 0, 100,
	}
	if string(f) != string(want) {
		t.Fatalf("frame % x\nwant  % x", f, want)
	}
}

func TestGARPPacing(t *testing.T) {
	cfg := GARP{Repeat: 3, Interval: 10 * time.Millisecond, Delay: time.Second, Refresh: 5 * time.Second, RefreshRepeat: 2}
	var g garpState
	g.start(t0, &cfg)
	// Walk the deadlines, counting what would be sent when.
	sent := map[time.Duration]int{}
	now := t0
	for range 100 {
		if n := g.due(now); n > 0 {
			sent[now.Sub(t0)] += n
		}
		d := g.deadline()
		if d.IsZero() || d.Sub(t0) > 6*time.Second {
			break
		}
		now = d
	}
	ms := time.Millisecond
	// With an interval a burst is at most two messages, as keepalived
	// sends them.
	want := map[time.Duration]int{0: 1, 10 * ms: 1, time.Second: 1, time.Second + 10*ms: 1,
		5 * time.Second: 1, 5*time.Second + 10*ms: 1}
	if len(sent) != len(want) {
		t.Fatalf("sent %v, want %v", sent, want)
	}
	for k, v := range want {
		if sent[k] != v {
			t.Fatalf("sent %v, want %v", sent, want)
		}
	}
}

func TestTrackStatus(t *testing.T) {
	for _, tc := range []struct {
		up     bool
		weight int
		want   trackStatus
	}{
		{true, 0, trackStatus{}},
		{false, 0, trackStatus{fault: true}},
		{true, 10, trackStatus{delta: 10}},
		{false, 10, trackStatus{}},
		{true, -10, trackStatus{}},
		{false, -10, trackStatus{delta: -10}},
	} {
		if got := scriptStatus(tc.up, tc.weight); got != tc.want {
			t.Errorf("scriptStatus(%v, %d) = %+v, want %+v", tc.up, tc.weight, got, tc.want)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if got := fileStatus(TrackFile{Path: p}); got != (trackStatus{}) {
		t.Errorf("missing file: %+v", got)
	}
	if err := os.WriteFile(p, []byte(" 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := fileStatus(TrackFile{Path: p}); got != (trackStatus{fault: true}) {
		t.Errorf("weight 0, value 3: %+v", got)
	}
	if got := fileStatus(TrackFile{Path: p, Weight: -5}); got != (trackStatus{delta: -15}) {
		t.Errorf("weight -5, value 3: %+v", got)
	}
	if err := os.WriteFile(p, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readTrackFile(p); err == nil {
		t.Error("junk track file accepted")
	}
}

func TestCoalesce(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	for _, tc := range []struct {
		in   time.Time
		ivl  time.Duration
		want time.Time
	}{
		{base, time.Second, base},
		{base.Add(time.Microsecond), time.Second, base.Add(5 * time.Millisecond)},
		{base.Add(4999 * time.Microsecond), time.Second, base.Add(5 * time.Millisecond)},
		{base.Add(time.Microsecond), 64 * time.Millisecond, base.Add(time.Millisecond)},
		{base.Add(time.Nanosecond), 10 * time.Nanosecond, base.Add(time.Nanosecond)},
	} {
		if got := coalesce(tc.in, tc.ivl); !got.Equal(tc.want) {
			t.Errorf("coalesce(%v, %v) = %v, want %v", tc.in.Sub(base), tc.ivl, got.Sub(base), tc.want.Sub(base))
		}
	}
}
