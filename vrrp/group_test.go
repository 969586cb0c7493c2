package vrrp

import (
	"errors"
	"net/netip"
	"testing"
)

// TestTrackInterfaceWeightsAsKeepalived: a positive weight is added while
// the interface is up, a negative one while it is down, 0 faults while
// down; reverse turns each round (keepalived 2.2.7 vrrp_track.c).
func TestTrackInterfaceWeightsAsKeepalived(t *testing.T) {
	for _, c := range []struct {
		weight  int
		reverse bool
		up      bool
		want    trackStatus
	}{
		{10, false, true, trackStatus{delta: 10}},
		{10, false, false, trackStatus{}},
		{-10, false, true, trackStatus{}},
		{-10, false, false, trackStatus{delta: -10}},
		{0, false, false, trackStatus{fault: true}},
		{0, false, true, trackStatus{}},
		{10, true, true, trackStatus{delta: -10}},
		{10, true, false, trackStatus{}},
		{-10, true, true, trackStatus{}},
		{-10, true, false, trackStatus{delta: 10}},
		{0, true, true, trackStatus{fault: true}},
		{0, true, false, trackStatus{}},
	} {
		if got := ifaceStatus(TrackInterface{Name: "eth1", Weight: c.weight, Reverse: c.reverse}, c.up); got != c.want {
			t.Errorf("weight %d reverse %v up %v: %+v, want %+v", c.weight, c.reverse, c.up, got, c.want)
		}
	}
}

// TestSkipCheckAdvAddrChecksNewMasters: with CheckNewMasterAddrs a
// backup skips the address list only for the master it last heard; a
// master, and a backup that has heard no master, check every advert.
func TestSkipCheckAdvAddrChecksNewMasters(t *testing.T) {
	m, other := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	for _, c := range []struct {
		state       State
		master, src netip.Addr
		want        bool
	}{
		{StateBackup, m, m, false},
		{StateBackup, m, other, true},
		{StateBackup, netip.Addr{}, m, true},
		{StateMaster, netip.Addr{}, m, true},
	} {
		if got := checkAddrsFrom(c.state, c.master, c.src); got != c.want {
			t.Errorf("%v, master %v, advert from %v: check %v, want %v", c.state, c.master, c.src, got, c.want)
		}
	}
	// Expect.Check with CheckAddrs drops a differing list either way.
	e := Expect{Version: 2, VRID: 1, Interval: 1e9, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}, CheckAddrs: true}
	p := &Packet{Version: 2, VRID: 1, Priority: 100, Interval: 1e9, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.101")}}
	if r := e.Check(p, RecvInfo{Src: other, TTL: 255}); r != DropAddrList {
		t.Errorf("differing list: %v, want %v", r, DropAddrList)
	}
	e.CheckAddrs = false
	if r := e.Check(p, RecvInfo{Src: other, TTL: 255}); r != DropNone {
		t.Errorf("differing list, not checked: %v", r)
	}
}

// TestGroupAndExcludedValidation: Group must be a multicast address of
// the VIPs' family (link-local for IPv6); excluded VIPs may be of either
// family.
func TestGroupAndExcludedValidation(t *testing.T) {
	base := Config{Interface: "eth0", VRID: 1, VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/32")}}}
	for _, c := range []struct {
		group string
		ok    bool
	}{
		{"224.0.0.19", true}, {"239.1.2.3", true}, {"10.0.0.1", false}, {"ff02::12", false},
	} {
		cfg := base
		cfg.Group = netip.MustParseAddr(c.group)
		err := Validate(cfg)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("Group %s: %v, want ok %v", c.group, err, c.ok)
		}
	}
	v6 := Config{Interface: "eth0", VRID: 1, VIPs: []VIP{{Prefix: netip.MustParsePrefix("2001:db8::1/128")}}}
	for _, c := range []struct {
		group string
		ok    bool
	}{{"ff02::13", true}, {"ff05::12", false}} {
		cfg := v6
		cfg.Group = netip.MustParseAddr(c.group)
		if err := Validate(cfg); (err == nil) != c.ok {
			t.Errorf("IPv6 Group %s: %v, want ok %v", c.group, err, c.ok)
		}
	}
	cfg := base
	cfg.ExcludedVIPs = []VIP{{Prefix: netip.MustParsePrefix("2001:db8::5/128")}, {Prefix: netip.MustParsePrefix("10.0.0.101/32")}}
	if err := Validate(cfg); err != nil {
		t.Errorf("excluded VIPs of both families: %v", err)
	}
	if got := cfg.group(); got != MulticastIPv4 {
		t.Errorf("default group %v", got)
	}
}
