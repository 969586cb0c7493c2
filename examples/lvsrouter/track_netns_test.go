//go:build netns

package main

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
)

// trackConf is the configuration of the tracking scenarios, read by both
// keepalived and lvsrouter: one instance (priority 200, advert_int 1)
// with a VIP, a virtual route and a virtual rule, static entries, and
// room for a second instance and a sync group. %[2]s..%[7]s are the
// no_track words of the VIP, virtual route, virtual rule, static
// address, static route, static rule.
const trackConf = `global_defs {
  router_id %[1]s
}
static_ipaddress {
  10.88.0.1/24 dev eth0 %[5]s
}
static_routes {
  10.99.0.0/16 via 10.77.0.254 dev eth0 %[6]s
}
static_rules {
  from 10.66.0.0/16 table 100 preference 1000 %[7]s
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority %[9]d
  advert_int 1
  virtual_ipaddress {
    10.77.0.100/24 dev eth0 %[2]s
  }
  virtual_routes {
    10.55.0.0/16 via 10.77.0.254 dev eth0 %[3]s
  }
  virtual_rules {
    from 10.77.0.100/32 table 100 preference 100 %[4]s
  }
}
%[8]s`

// trackSync is the second instance and the sync group of the sync group
// scenario.
const trackSync = `vrrp_instance VI_2 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority 200
  advert_int 1
  virtual_ipaddress {
    10.77.0.200/24 dev eth0
  }
}
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
}
`

var trackVIP2 = netip.MustParseAddr("10.77.0.200")

// trackScenario is one deletion and what the router should do about it.
type trackScenario struct {
	name string
	// noTrack: which no_track words are set (indexes 0..5 as in
	// trackConf's %[2]s..%[7]s).
	noTrack [6]bool
	sync    bool // add VI_2 and the sync group
	peer    bool // a keepalived backup (priority 100) on the LAN
	// del is the ip(8) command that deletes the entry.
	del []string
	// present tells whether the entry is there.
	present func(t *testing.T, ns *netns.NS) bool
	// wantBackup: the instance leaves MASTER; wantBack: the entry comes
	// back (retaken or restored).
	wantBackup, wantBack bool
}

// trackOutcome is what a router did after the deletion.
type trackOutcome struct {
	backup, back  bool
	toBackup      time.Duration // deletion to "(VI_1) Entering BACKUP STATE"
	toBack        time.Duration // deletion to the entry present again
	vi2Backup     bool          // VI_2 left MASTER too (sync group)
	peerMaster    bool          // the keepalived peer entered MASTER
	holderAfter   string        // who holds the VIP 3 s after
	restoreLogged bool
}

func routePresent(dst string) func(*testing.T, *netns.NS) bool {
	return func(t *testing.T, ns *netns.NS) bool {
		return ipOut(t, ns, "route", "show", "table", "all", dst) != ""
	}
}

func rulePresent(pref string) func(*testing.T, *netns.NS) bool {
	return func(t *testing.T, ns *netns.NS) bool { return ipOut(t, ns, "rule", "show", "pref", pref) != "" }
}

func addrPresent(a string) func(*testing.T, *netns.NS) bool {
	ip := netip.MustParseAddr(a)
	return func(_ *testing.T, ns *netns.NS) bool { return hasAddr(ns, ip) }
}

// runTrack runs sc with impl (keepalived or lvsrouter) as the router
// under test on host 10.77.0.1.
func runTrack(t *testing.T, impl string, sc trackScenario) trackOutcome {
	sw := netns.NewSwitch(t)
	a := netns.New(t)
	sw.Connect(a, "eth0", netip.MustParsePrefix("10.77.0.1/24"))
	words := make([]any, 6)
	for i, on := range sc.noTrack {
		words[i] = ""
		if on {
			words[i] = "no_track"
		}
	}
	extra := ""
	if sc.sync {
		extra = trackSync
	}
	conf := func(id string, prio int) string {
		return fmt.Sprintf(trackConf, append(append([]any{id}, words...), extra, prio)...)
	}
	var other *peer
	if sc.peer {
		b := netns.New(t)
		sw.Connect(b, "eth0", netip.MustParsePrefix("10.77.0.2/24"))
		other = startKeepalivedVRRP(t, b, conf("peer", 100))
	}
	var p *peer
	if impl == "keepalived" {
		p = startKeepalivedVRRP(t, a, conf("keepalived", 200))
	} else {
		p = startLvsrouterConf(t, a, conf("lvsrouter", 200))
	}
	masters := 1
	if sc.sync {
		masters = 2
	}
	if !waitFor(20*time.Second, func() bool {
		return strings.Count(p.p.Output(), "Entering MASTER STATE") >= masters && sc.present(t, a) && hasAddr(a, interopVIP)
	}) {
		t.Fatalf("%s: did not become master with the entry in place", impl)
	}
	time.Sleep(1500 * time.Millisecond) // settle: adverts flowing, GARPs sent
	backups := func(name string) int { return strings.Count(p.p.Output(), "("+name+") Entering BACKUP STATE") }
	b1, b2 := backups("VI_1"), backups("VI_2")
	peerMasters := 0
	if other != nil {
		peerMasters = strings.Count(other.p.Output(), "Entering MASTER STATE")
	}
	var o trackOutcome
	t0 := time.Now()
	if out, err := a.Command(t.Context(), "ip", sc.del...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(sc.del, " "), err, out)
	}
	gone := false
	for end := t0.Add(3 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		now := time.Since(t0)
		if !o.backup && backups("VI_1") > b1 {
			o.backup, o.toBackup = true, now
		}
		here := sc.present(t, a)
		if !here {
			gone = true
		}
		if gone && here && !o.back {
			o.back, o.toBack = true, now
		}
	}
	if !gone && sc.present(t, a) {
		// Restored before the first look: it is back.
		o.back = true
	}
	o.vi2Backup = backups("VI_2") > b2
	if other != nil {
		o.peerMaster = strings.Count(other.p.Output(), "Entering MASTER STATE") > peerMasters
		switch {
		case hasAddr(a, interopVIP) && !hasAddr(other.ns, interopVIP):
			o.holderAfter = impl
		case hasAddr(other.ns, interopVIP) && !hasAddr(a, interopVIP):
			o.holderAfter = "peer"
		default:
			o.holderAfter = fmt.Sprintf("both %v / %v", hasAddr(a, interopVIP), hasAddr(other.ns, interopVIP))
		}
	}
	o.restoreLogged = strings.Contains(strings.ToLower(p.p.Output()), "restoring deleted static")
	return o
}

// TestTrackDeletionsLikeKeepalived deletes, behind the router's back, a
// VIP, a virtual route, a virtual rule and the static address, route and
// rule, with and without no_track, a sync group and a backup peer, and
// runs each scenario with keepalived 2.2.7 and with lvsrouter on the same
// configuration: both must react alike (leave MASTER and take it back
// after the skew time, restore a static entry at once, or leave a
// no_track entry alone). The times from the deletion to BACKUP and to
// the entry back are logged side by side.
func TestTrackDeletionsLikeKeepalived(t *testing.T) {
	needKeepalivedPeer(t)
	testenv.NeedTool(t, "ip")
	vip := addrPresent("10.77.0.100")
	scenarios := []trackScenario{
		{name: "vip", del: []string{"addr", "del", "10.77.0.100/24", "dev", "eth0"}, present: vip, wantBackup: true, wantBack: true},
		{name: "vip no_track", noTrack: [6]bool{true}, del: []string{"addr", "del", "10.77.0.100/24", "dev", "eth0"}, present: vip},
		{name: "vip with backup peer", peer: true, del: []string{"addr", "del", "10.77.0.100/24", "dev", "eth0"}, present: vip, wantBackup: true, wantBack: true},
		{name: "vip in sync group", sync: true, del: []string{"addr", "del", "10.77.0.100/24", "dev", "eth0"}, present: vip, wantBackup: true, wantBack: true},
		{name: "virtual route", del: []string{"route", "del", "10.55.0.0/16"}, present: routePresent("10.55.0.0/16"), wantBackup: true, wantBack: true},
		{name: "virtual route no_track", noTrack: [6]bool{1: true}, del: []string{"route", "del", "10.55.0.0/16"}, present: routePresent("10.55.0.0/16")},
		{name: "virtual rule", del: []string{"rule", "del", "pref", "100"}, present: rulePresent("100"), wantBackup: true, wantBack: true},
		{name: "virtual rule no_track", noTrack: [6]bool{2: true}, del: []string{"rule", "del", "pref", "100"}, present: rulePresent("100")},
		{name: "static address", del: []string{"addr", "del", "10.88.0.1/24", "dev", "eth0"}, present: addrPresent("10.88.0.1"), wantBack: true},
		{name: "static address no_track", noTrack: [6]bool{3: true}, del: []string{"addr", "del", "10.88.0.1/24", "dev", "eth0"}, present: addrPresent("10.88.0.1")},
		{name: "static route", del: []string{"route", "del", "10.99.0.0/16"}, present: routePresent("10.99.0.0/16"), wantBack: true},
		{name: "static route no_track", noTrack: [6]bool{4: true}, del: []string{"route", "del", "10.99.0.0/16"}, present: routePresent("10.99.0.0/16")},
		{name: "static rule", del: []string{"rule", "del", "pref", "1000"}, present: rulePresent("1000"), wantBack: true},
		{name: "static rule no_track", noTrack: [6]bool{5: true}, del: []string{"rule", "del", "pref", "1000"}, present: rulePresent("1000")},
	}
	if s := os.Getenv("LVSKIT_TRACK_ONLY"); s != "" {
		var keep []trackScenario
		for _, sc := range scenarios {
			if strings.Contains(sc.name, s) {
				keep = append(keep, sc)
			}
		}
		scenarios = keep
	}
	for _, sc := range scenarios {
		t.Run(strings.ReplaceAll(sc.name, " ", "_"), func(t *testing.T) {
			got := map[string]trackOutcome{}
			for _, impl := range []string{"keepalived", "lvsrouter"} {
				o := runTrack(t, impl, sc)
				got[impl] = o
				t.Logf("%-10s backup=%v (after %v) back=%v (after %v) vi2Backup=%v peerMaster=%v holder=%q restoreLog=%v",
					impl, o.backup, o.toBackup.Round(time.Millisecond), o.back, o.toBack.Round(time.Millisecond),
					o.vi2Backup, o.peerMaster, o.holderAfter, o.restoreLogged)
				if o.backup != sc.wantBackup || o.back != sc.wantBack {
					t.Errorf("%s: left MASTER %v, entry back %v; want %v, %v", impl, o.backup, o.back, sc.wantBackup, sc.wantBack)
				}
			}
			k, l := got["keepalived"], got["lvsrouter"]
			if k.backup != l.backup || k.back != l.back || k.vi2Backup != l.vi2Backup || k.peerMaster != l.peerMaster ||
				(k.holderAfter == "peer") != (l.holderAfter == "peer") || k.restoreLogged != l.restoreLogged {
				t.Errorf("keepalived and lvsrouter differ:\nkeepalived %+v\nlvsrouter  %+v", k, l)
			}
		})
	}
}

// TestReloadKeepsStaticWatch: a reload that leaves the static entries as
// they were keeps the one watch on them (no moment in which a deletion
// goes unseen), and one that changes them starts a new one; a static
// address deleted after either reload is restored.
func TestReloadKeepsStaticWatch(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "ip")
	sw := netns.NewSwitch(t)
	a := netns.New(t)
	sw.Connect(a, "eth0", netip.MustParsePrefix("10.77.0.1/24"))
	conf := func(prio int, static string) string {
		c := fmt.Sprintf(trackConf, "lvsrouter", "", "", "", "", "", "", "", prio)
		return strings.Replace(c, "10.88.0.1/24 dev eth0", static, 1)
	}
	p := startLvsrouterConf(t, a, conf(200, "10.88.0.1/24 dev eth0"))
	watches := func() int { return strings.Count(p.p.Output(), "static entries watched") }
	reloads := func() int { return strings.Count(p.p.Output(), "msg=reloaded") }
	if !waitFor(20*time.Second, func() bool { return watches() == 1 && hasAddr(a, netip.MustParseAddr("10.88.0.1")) }) {
		t.Fatalf("no static watch at start:\n%s", p.p.Output())
	}
	reload := func(c string) {
		t.Helper()
		n := reloads()
		if err := os.WriteFile(p.conf, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		p.p.Signal(syscall.SIGHUP)
		if !waitFor(10*time.Second, func() bool { return reloads() > n }) {
			t.Fatalf("no reload logged:\n%s", p.p.Output())
		}
	}
	restored := func(addr string) {
		t.Helper()
		if out, err := a.Command(t.Context(), "ip", "addr", "del", addr, "dev", "eth0").CombinedOutput(); err != nil {
			t.Fatalf("ip addr del: %v\n%s", err, out)
		}
		ip := netip.MustParsePrefix(addr).Addr()
		if !waitFor(3*time.Second, func() bool { return hasAddr(a, ip) }) {
			t.Fatalf("%s not restored:\n%s", addr, p.p.Output())
		}
	}
	reload(conf(150, "10.88.0.1/24 dev eth0")) // static entries unchanged
	if got := watches(); got != 1 {
		t.Errorf("after a reload leaving the static entries alone: %d watches started, want 1 (the start's)", got)
	}
	restored("10.88.0.1/24")
	reload(conf(150, "10.88.0.2/24 dev eth0"))
	if got := watches(); got != 2 {
		t.Errorf("after a reload changing the static entries: %d watches started, want 2", got)
	}
	if hasAddr(a, netip.MustParseAddr("10.88.0.1")) {
		t.Errorf("10.88.0.1 still present after the reload removed it")
	}
	restored("10.88.0.2/24")
}
