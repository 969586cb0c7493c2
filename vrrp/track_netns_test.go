//go:build netns

package vrrp

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// TestTrackedDeletionsOnlyOthers: a master's own deletions never make it
// leave MASTER (an Update removing a VIP, a route and a rule; stepping
// down for a higher-priority peer), while a VIP someone else deletes
// does: the instance resigns, and with no other router advertising takes
// MASTER back after its skew time, adding the VIP again.
func TestTrackedDeletionsOnlyOthers(t *testing.T) {
	l := newLAN(t, 2)
	vip := scVIP.Addr()
	vip2 := netip.MustParsePrefix("10.77.0.101/32")
	route := Route{Dst: netip.MustParsePrefix("10.99.0.0/24"), Gw: l.v4(1, 24).Addr(), Dev: "eth0", Protocol: 18}
	rule := Rule{From: netip.MustParsePrefix("10.77.0.100/32"), Table: 100, Priority: 100, Protocol: 18}
	cfg := scLvskit(l, 0, 200)
	cfg.VIPs = append(cfg.VIPs, VIP{Prefix: vip2})
	cfg.Routes, cfg.Rules = []Route{route}, []Rule{rule}
	var logBuf lockedBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("router log:\n%s", logBuf.String())
		}
	})
	_, in, _ := runRouter(t, l.hosts[0].Path(), slog.New(slog.NewTextHandler(&logBuf, nil)), cfg)
	waitFor(t, scTimeout, "master", func() bool { return in.State() == StateMaster && hasAddr(l.hosts[0], vip2.Addr()) })
	h := l.hosts[0].Handle()
	hasRule := func() bool {
		rs, _ := h.RuleList(netlink.FAMILY_V4)
		for _, r := range rs {
			if r.Priority == 100 && r.Table == 100 {
				return true
			}
		}
		return false
	}
	waitFor(t, scTimeout, "route and rule", func() bool { return hasRoute(h, route) && hasRule() })
	before := in.Stats().Transitions

	// An Update drops the second VIP, the route and the rule: its own
	// deletions, no reaction.
	next := cfg
	next.VIPs, next.Routes, next.Rules = cfg.VIPs[:1], nil, nil
	if err := in.Update(next); err != nil {
		t.Fatal(err)
	}
	waitFor(t, scTimeout, "entries removed", func() bool { return !hasAddr(l.hosts[0], vip2.Addr()) && !hasRoute(h, route) && !hasRule() })
	time.Sleep(5 * scIvl)
	if in.State() != StateMaster || in.Stats().Transitions != before || strings.Contains(logBuf.String(), "reason=deleted") {
		t.Fatalf("after Update: state %v, transitions %d -> %d", in.State(), before, in.Stats().Transitions)
	}

	// Someone deletes the VIP: BACKUP (reason deleted), then MASTER again
	// after the skew time ((256-200)/256 * 200 ms = 44 ms) with the VIP.
	l0, _ := h.LinkByName("eth0")
	if err := h.AddrDel(l0, &netlink.Addr{IPNet: ipNet(scVIP)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, scTimeout, "VIP back", func() bool { return hasAddr(l.hosts[0], vip) && in.State() == StateMaster })
	if got := in.Stats().Transitions - before; got != 2 || !strings.Contains(logBuf.String(), "reason=deleted") {
		t.Fatalf("after the VIP was deleted: %d transitions (want 2: BACKUP, MASTER), log:\n%s", got, logBuf.String())
	}

	// A higher-priority peer: the instance steps down, deleting its VIP
	// itself, and stays BACKUP.
	before = in.Stats().Transitions
	startLvskit(t, l.hosts[1], scLvskit(l, 1, 250))
	waitFor(t, scTimeout, "backup", func() bool { return in.State() == StateBackup && !hasAddr(l.hosts[0], vip) })
	time.Sleep(5 * scIvl)
	if in.State() != StateBackup || in.Stats().Transitions != before+1 {
		t.Fatalf("after the peer took over: state %v, transitions %d -> %d", in.State(), before, in.Stats().Transitions)
	}
}
