//go:build netns

package vrrp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// TestSetStaticInNamespace: SetStatic adds static addresses, routes (a
// gatewayed one and a blackhole) and rules with keepalived's protocol;
// moving to another Static removes only what is gone and adds what is
// new, leaving the rest untouched; moving to nil removes everything.
func TestSetStaticInNamespace(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "ip")
	a, b := netns.New(t), netns.New(t)
	netns.Veth(t, a, "eth0", b, "eth0")
	a.AddAddr("eth0", netip.MustParsePrefix("10.77.0.1/24"))
	ip := func(args ...string) string {
		t.Helper()
		out, err := a.Command(t.Context(), "ip", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	s1 := &Static{
		Addrs: []VIP{{Prefix: netip.MustParsePrefix("10.88.0.1/24"), Dev: "eth0"}},
		Routes: []Route{
			{Dst: netip.MustParsePrefix("10.99.0.0/16"), Gw: netip.MustParseAddr("10.77.0.254"), Dev: "eth0", Protocol: 18},
			{Dst: netip.MustParsePrefix("10.98.0.0/16"), Type: 6, Protocol: 18, Table: 100},
		},
		Rules: []Rule{{From: netip.MustParsePrefix("10.66.0.0/16"), Table: 100, Priority: 1000, Protocol: 18}},
	}
	cfg := &StaticConfig{NetNS: a.Path()}
	if err := SetStatic(t.Context(), cfg, nil, s1); err != nil {
		t.Fatal(err)
	}
	routes, rules, addrs := ip("route", "show", "table", "all"), ip("rule"), ip("-4", "addr")
	for _, want := range []string{"10.99.0.0/16 via 10.77.0.254 dev eth0 proto keepalived", "blackhole 10.98.0.0/16 table 100 proto keepalived"} {
		if !strings.Contains(routes, want) {
			t.Errorf("routes lack %q:\n%s", want, routes)
		}
	}
	if !strings.Contains(rules, "1000:\tfrom 10.66.0.0/16 lookup 100 proto keepalived") || !strings.Contains(addrs, "10.88.0.1/24") {
		t.Errorf("rules or addresses:\n%s\n%s", rules, addrs)
	}
	// Applying the same again is no error (start after a crash).
	if err := SetStatic(t.Context(), cfg, nil, s1); err != nil {
		t.Fatalf("again: %v", err)
	}
	s2 := &Static{Addrs: s1.Addrs, Routes: s1.Routes[:1],
		Rules: []Rule{{To: netip.MustParsePrefix("10.58.0.0/16"), Table: 100, Priority: 200, Protocol: 18}}}
	if err := SetStatic(t.Context(), cfg, s1, s2); err != nil {
		t.Fatal(err)
	}
	routes, rules = ip("route", "show", "table", "all"), ip("rule")
	if strings.Contains(routes, "10.98.0.0") || !strings.Contains(routes, "10.99.0.0/16") ||
		strings.Contains(rules, "10.66.0.0") || !strings.Contains(rules, "200:\tfrom all to 10.58.0.0/16 lookup 100 proto keepalived") {
		t.Errorf("after the move:\n%s\n%s", routes, rules)
	}
	if err := SetStatic(t.Context(), cfg, s2, nil); err != nil {
		t.Fatal(err)
	}
	routes, rules, addrs = ip("route", "show", "table", "all"), ip("rule"), ip("-4", "addr")
	if strings.Contains(routes, "proto keepalived") || strings.Contains(rules, "lookup 100") || strings.Contains(addrs, "10.88.0.1") {
		t.Errorf("left after removal:\n%s\n%s\n%s", routes, rules, addrs)
	}
	// An entry naming a missing interface fails with its name; the others
	// still apply.
	bad := &Static{Addrs: []VIP{{Prefix: netip.MustParsePrefix("10.88.0.2/24"), Dev: "nope0"}, {Prefix: netip.MustParsePrefix("10.88.0.3/24"), Dev: "eth0"}}}
	err := SetStatic(t.Context(), cfg, nil, bad)
	if err == nil || !strings.Contains(err.Error(), "nope0") || !strings.Contains(ip("-4", "addr"), "10.88.0.3/24") {
		t.Errorf("missing interface: %v", err)
	}
}
