package main

import (
	"maps"
	"net/netip"
	"testing"
	"unsafe"

	"github.com/lvskit/lvskit/ipvs"
)

// TestOpsRealsKeepsEveryAddress: what opsState remembers of real servers
// comes back under the same service and address, for IPv4, IPv6, an
// IPv4-mapped IPv6 address and a zoned one, with its transitions; a
// service's quorum is listed once reported; and a real server's entry
// stays small and free of pointers.
func TestOpsRealsKeepsEveryAddress(t *testing.T) {
	var o opsState
	o.reals.reserve(4, 4, 2)
	s4 := ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80")}
	s6 := ipvs.ServiceKey{Family: ipvs.IPv6, FWMark: 7}
	want := map[realKey]realStatus{}
	for _, k := range []realKey{
		{s4, netip.MustParseAddrPort("10.1.0.1:80")},
		{s4, netip.MustParseAddrPort("[::ffff:10.1.0.1]:80")},
		{s6, netip.MustParseAddrPort("[2001:db8::1]:0")},
		{s6, netip.MustParseAddrPort("[fe80::1%eth0]:0")},
	} {
		o.realState(k.Service, k.Dest, true)
		o.realState(k.Service, k.Dest, false)
		want[k] = realStatus{up: false, transitions: 1}
	}
	o.realState(s4, netip.MustParseAddrPort("10.1.0.1:80"), true)
	want[realKey{s4, netip.MustParseAddrPort("10.1.0.1:80")}] = realStatus{up: true, transitions: 2}
	if got := maps.Collect(o.reals.all()); !maps.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	// Services: only the ones with a quorum reported are listed.
	o.serviceState(s6, false)
	if got, want := maps.Collect(o.reals.services()), map[ipvs.ServiceKey]bool{s6: false}; !maps.Equal(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
	o.serviceState(s6, true)
	o.serviceState(s4, true)
	if got, want := maps.Collect(o.reals.services()), map[ipvs.ServiceKey]bool{s4: true, s6: true}; !maps.Equal(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
	if got := maps.Collect(o.reals.all()); !maps.Equal(got, want) {
		t.Errorf("the services' quorum changed the real servers: %v", got)
	}
	if n := unsafe.Sizeof(realSlot{}) + unsafe.Sizeof(realStatus{}); n > 32 {
		t.Errorf("a real server's entry takes %d bytes", n)
	}
	if n := unsafe.Sizeof(realSlot4{}) + unsafe.Sizeof(realStatus{}); n > 20 {
		t.Errorf("an IPv4 real server's entry takes %d bytes", n)
	}
	if len(o.reals.m4) != 1 || len(o.reals.m) != 2 || len(o.reals.zoned) != 1 {
		t.Errorf("%d IPv4, %d other and %d zoned entries, want 1, 2 and 1", len(o.reals.m4), len(o.reals.m), len(o.reals.zoned))
	}
}
