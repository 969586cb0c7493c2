package vrrp

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
)

// The Router's one subscription reaches only the trackers a change is for:
// a link's reports go to the trackers of that name (with their weights),
// an address to the trackers of that address on that link and only when
// its presence changes; a tracker added reports what the kernel has, a
// removed one hears nothing more, and lost reports make one read of
// everything reach every tracker.
func TestIfWatchDispatch(t *testing.T) {
	src := netip.MustParseAddr("10.0.0.1")
	kernel := ifState{
		links: map[string]linkState{"eth0": {index: 3, up: true}, "eth1": {index: 4}},
		addrs: map[netip.Addr][]int32{src: {3}},
	}
	var reads []string
	w := ifWatch{log: slog.New(slog.DiscardHandler), read: func(names []string, addrs bool) (ifState, error) {
		reads = append(reads, fmt.Sprint(names, addrs))
		return kernel, nil
	}}
	var got []string
	link := func(name string, tracked ...TrackInterface) *linkTracker {
		return &linkTracker{prefix: name + ":", tracked: tracked,
			post: func(key string, st trackStatus) { got = append(got, key+" "+statusText(st)) }}
	}
	a := link("a", TrackInterface{Name: "eth0"}, TrackInterface{Name: "eth1", Weight: -20}, TrackInterface{Name: "eth9"})
	b := link("b", TrackInterface{Name: "eth0", Weight: 10})
	s := &srcTracker{src: src, ifname: "eth0",
		post: func(p bool) { got = append(got, "src "+map[bool]string{true: "present", false: "missing"}[p]) }}
	for _, err := range []error{w.addLinks(a), w.addLinks(b), w.addSource(s)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: reported\n%q\nwant\n%q", what, got, want)
		}
		got = nil
	}
	check("adding", "a:eth0 +0", "a:eth1 -20", "b:eth0 +10", "src present")
	if want := []string{"[eth0 eth1 eth9] false", "[eth0] false", "[eth0] true"}; !slices.Equal(reads, want) {
		t.Errorf("read %q, want %q", reads, want)
	}

	linkChange := func(name string, up, del bool) netChange {
		return netChange{key: netKey{kind: keyLink, ifindex: 3}, name: name, up: up, del: del}
	}
	addrChange := func(a string, ifindex int, del bool) netChange {
		return netChange{key: addrKey(ifindex, netip.PrefixFrom(netip.MustParseAddr(a), 32)), del: del}
	}
	for _, c := range []netChange{
		linkChange("eth0", false, false),
		linkChange("eth1", true, false),
		linkChange("eth2", false, false), // nobody tracks it
		linkChange("eth0", true, true),   // deleted: down whatever its flags
		addrChange("10.0.0.2", 3, true),  // another address
		addrChange("10.0.0.1", 4, true),  // on another link
		addrChange("10.0.0.1", 3, false), // present already
		addrChange("10.0.0.1", 3, true),
		addrChange("10.0.0.1", 3, true), // no change
		addrChange("10.0.0.1", 3, false),
	} {
		w.changed(c)
	}
	check("changes",
		"a:eth0 fault", "b:eth0 +0",
		"a:eth1 +0",
		"a:eth0 fault", "b:eth0 +0",
		"src missing", "src present")

	reads = nil
	kernel.addrs = nil // the source address went while reports were lost
	w.resync()
	if want := []string{"[] true"}; !slices.Equal(reads, want) {
		t.Errorf("resync read %q, want %q (everything once)", reads, want)
	}
	got = slices.Sorted(slices.Values(got))
	check("resync", "a:eth0 +0", "a:eth1 -20", "b:eth0 +10", "src missing")

	w.removeLinks(a)
	w.removeSource(s)
	w.changed(linkChange("eth1", false, false))
	w.changed(linkChange("eth0", false, false))
	w.changed(addrChange("10.0.0.1", 3, false))
	check("after removing a and the source tracker", "b:eth0 +0")
	w.removeLinks(b)
	if len(w.links) != 0 || len(w.srcs) != 0 {
		t.Errorf("left registered: %v %v", w.links, w.srcs)
	}
}

func statusText(st trackStatus) string {
	if st.fault {
		return "fault"
	}
	return fmt.Sprintf("%+d", st.delta)
}
