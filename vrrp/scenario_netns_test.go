//go:build netns

package vrrp

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/vishvananda/netlink"
)

// v3 at 200 ms keeps these scenarios short; keepalived accepts fractional
// advert_int with version 3.
const scIvl = 200 * time.Millisecond

var scVIP = netip.MustParsePrefix("10.77.0.100/32")

func scLvskit(l *lan, host int, prio uint8) Config {
	return Config{Name: "VI_1", Interface: "eth0", VRID: 51, Version: 3, Priority: prio, Interval: scIvl,
		VIPs: []VIP{{Prefix: scVIP}}, Source: l.v4(host, 24).Addr(), GARP: GARP{Delay: -1}}
}

func scKeepalived(prio int) kaInstance {
	return kaInstance{name: "VI_1", version: 3, vrid: 51, priority: prio, advert: "0.2", vip: scVIP}
}

const (
	scTimeout = 15 * time.Second
	scHold    = 3 * scIvl / 2
)

// TestInteropPreempt: a higher-priority router that starts later takes
// over from a running master, in both directions.
func TestInteropPreempt(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 2)
	vip := scVIP.Addr()
	both := []int{0, 1}
	// keepalived (low) master first; lvskit (high) joins and preempts.
	k := startKeepalived(t, l.hosts[1], kaConf("ka", scKeepalived(100)))
	l.waitMaster(vip, 1, []int{1}, scTimeout, scHold)
	p := startLvskit(t, l.hosts[0], scLvskit(l, 0, 200))
	l.waitMaster(vip, 0, both, scTimeout, scHold)
	// lvskit (now low) master alone; keepalived (high) joins and preempts.
	k.kill()
	p.stop(t)
	p = startLvskit(t, l.hosts[0], scLvskit(l, 0, 100))
	l.waitMaster(vip, 0, []int{0}, scTimeout, scHold)
	startKeepalived(t, l.hosts[1], kaConf("ka", scKeepalived(200)))
	l.waitMaster(vip, 1, both, scTimeout, scHold)
	p.stop(t)
}

// TestInteropNoPreempt: with nopreempt a higher-priority backup leaves a
// lower-priority master alone, in both directions.
func TestInteropNoPreempt(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 2)
	vip := scVIP.Addr()
	both := []int{0, 1}
	k := startKeepalived(t, l.hosts[1], kaConf("ka", scKeepalived(100)))
	l.waitMaster(vip, 1, []int{1}, scTimeout, scHold)
	cfg := scLvskit(l, 0, 200)
	cfg.NoPreempt = true
	p := startLvskit(t, l.hosts[0], cfg)
	p.waitState(t, "VI_1", "BACKUP", scTimeout)
	l.waitMaster(vip, 1, both, scTimeout, 6*scIvl) // longer than lvskit's Master_Down_Interval
	k.kill()
	p.stop(t)

	p = startLvskit(t, l.hosts[0], scLvskit(l, 0, 100))
	l.waitMaster(vip, 0, []int{0}, scTimeout, scHold)
	ka := scKeepalived(200)
	ka.nopreempt = true
	k = startKeepalived(t, l.hosts[1], kaConf("ka", ka))
	k.waitVRRPChild(t)
	l.waitMaster(vip, 0, both, scTimeout, 6*scIvl)
	p.stop(t)
}

// TestInteropResign: a master that stops gracefully sends priority 0 and
// the backup takes over (after its skew time, not Master_Down_Interval).
func TestInteropResign(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 2)
	vip := scVIP.Addr()
	both := []int{0, 1}
	k := startKeepalived(t, l.hosts[1], kaConf("ka", scKeepalived(200)))
	p := startLvskit(t, l.hosts[0], scLvskit(l, 0, 100))
	l.waitMaster(vip, 1, both, scTimeout, scHold)
	k.stop(t)
	l.waitMaster(vip, 0, both, scTimeout, scHold)
	tr := p.transitions()
	t.Logf("lvskit took over after keepalived resigned: %v", tr[len(tr)-1])

	k = startKeepalived(t, l.hosts[1], kaConf("ka", scKeepalived(50)))
	k.waitVRRPChild(t)
	l.waitMaster(vip, 0, both, scTimeout, scHold)
	p.stop(t)
	l.waitMaster(vip, 1, both, scTimeout, scHold)
}

// TestInteropEqualPriority: when two masters of equal priority meet (the
// only time RFC 9568 compares addresses; a backup of equal priority stays
// backup) the higher primary address wins, whichever side has it.
func TestInteropEqualPriority(t *testing.T) {
	for _, lvHost := range []int{0, 1} {
		t.Run([]string{"keepalived-higher-address", "lvskit-higher-address"}[lvHost], func(t *testing.T) {
			t.Parallel()
			l := newLAN(t, 2)
			kaHost := 1 - lvHost
			vip := scVIP.Addr()
			heal := l.partition(t, 2) // host 1's port
			startKeepalived(t, l.hosts[kaHost], kaConf("ka", scKeepalived(100)))
			p := startLvskit(t, l.hosts[lvHost], scLvskit(l, lvHost, 100))
			waitFor(t, scTimeout, "both masters while partitioned", func() bool {
				return hasAddr(l.hosts[0], vip) && hasAddr(l.hosts[1], vip)
			})
			heal()
			l.waitMaster(vip, 1, []int{0, 1}, scTimeout, 4*scIvl)
			p.stop(t)
		})
	}
}

// TestInteropThreeNodes: lvskit between two keepalived routers; the
// highest wins, and when it crashes lvskit (next highest) takes over.
func TestInteropThreeNodes(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 3)
	all := []int{0, 1, 2}
	k1 := startKeepalived(t, l.hosts[1], kaConf("ka1", scKeepalived(200)))
	startKeepalived(t, l.hosts[2], kaConf("ka2", scKeepalived(100)))
	p := startLvskit(t, l.hosts[0], scLvskit(l, 0, 150))
	l.waitMaster(scVIP.Addr(), 1, all, scTimeout, scHold)
	k1.kill()
	l.waitMaster(scVIP.Addr(), 0, []int{0, 2}, scTimeout, scHold)
	p.kill()
	l.waitMaster(scVIP.Addr(), 2, []int{2}, scTimeout, scHold)
}

// TestInteropClientFollowsVIP: a client's ARP (or neighbour) cache moves to
// lvskit's MAC through our gratuitous ARP / unsolicited NA, without the
// client asking, and the client reaches the VIP.
func TestInteropClientFollowsVIP(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		name := "ipv4-garp"
		if v6 {
			name = "ipv6-na"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLAN(t, 3) // 0 lvskit, 1 keepalived, 2 client
			vip := scVIP
			lv := scLvskit(l, 0, 100)
			ka := scKeepalived(200)
			if v6 {
				vip = netip.MustParsePrefix("fd00:77::100/128")
				lv.VIPs[0].Prefix, lv.Source, ka.vip = vip, l.ll(0), vip
			}
			k := startKeepalived(t, l.hosts[1], kaConf("ka", ka))
			p := startLvskit(t, l.hosts[0], lv)
			l.waitMaster(vip.Addr(), 1, []int{0, 1}, scTimeout, scHold)
			client := l.hosts[2]
			serveName(t, l.hosts[0], "lvskit")
			serveName(t, l.hosts[1], "keepalived")
			waitFor(t, scTimeout, "client reaches VIP on keepalived", func() bool { return askName(client, vip.Addr()) == "keepalived" })
			kaMAC := linkMAC(t, l.hosts[1])
			lvMAC := linkMAC(t, l.hosts[0])
			if got := neighMAC(client, vip.Addr()); got.String() != kaMAC.String() {
				t.Fatalf("client neighbour entry %v, want keepalived's %v", got, kaMAC)
			}
			k.kill()
			l.waitMaster(vip.Addr(), 0, []int{0}, scTimeout, 0)
			waitFor(t, 5*time.Second, "client's cache to point at lvskit", func() bool {
				return neighMAC(client, vip.Addr()).String() == lvMAC.String()
			})
			waitFor(t, scTimeout, "client reaches VIP on lvskit", func() bool { return askName(client, vip.Addr()) == "lvskit" })
			if st := p.transitions(); len(st) == 0 || st[len(st)-1].state != "MASTER" {
				t.Fatalf("lvskit transitions %v", st)
			}
		})
	}
}

func linkMAC(t testing.TB, h interface {
	Handle() *netlink.Handle
}) net.HardwareAddr {
	t.Helper()
	l, err := h.Handle().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().HardwareAddr
}

func neighMAC(h interface{ Handle() *netlink.Handle }, a netip.Addr) net.HardwareAddr {
	fam := netlink.FAMILY_V4
	if a.Is6() {
		fam = netlink.FAMILY_V6
	}
	ns, err := h.Handle().NeighList(0, fam)
	if err != nil {
		return nil
	}
	for _, n := range ns {
		if ip, _ := netip.AddrFromSlice(n.IP); ip.Unmap() == a {
			return n.HardwareAddr
		}
	}
	return nil
}

// TestInteropSplitBrain: partition the LAN so both sides become master,
// heal it, and exactly one master remains.
func TestInteropSplitBrain(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 2)
	vip := scVIP.Addr()
	startKeepalived(t, l.hosts[1], kaConf("ka", scKeepalived(100)))
	p := startLvskit(t, l.hosts[0], scLvskit(l, 0, 200))
	l.waitMaster(vip, 0, []int{0, 1}, scTimeout, scHold)
	heal := l.partition(t, 2) // keepalived's switch port
	waitFor(t, scTimeout, "both masters while partitioned", func() bool {
		return hasAddr(l.hosts[0], vip) && hasAddr(l.hosts[1], vip)
	})
	healed := time.Now()
	heal()
	l.waitMaster(vip, 0, []int{0, 1}, scTimeout, scHold)
	t.Logf("one master again %v after healing (advert interval %v, includes the hold)", time.Since(healed), scIvl)
	p.stop(t)
}

// TestInteropSyncGroupAndTracking: two lvskit instances in a sync group
// against two keepalived instances. A track_file fault in one moves both
// to keepalived; a failing track_script with negative weight lowers the
// priority so that keepalived preempts.
func TestInteropSyncGroupAndTracking(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 2)
	dir := t.TempDir()
	faultFile := filepath.Join(dir, "fault")
	okFile := filepath.Join(dir, "ok")
	for _, f := range []string{faultFile, okFile} {
		if err := os.WriteFile(f, []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vip2 := netip.MustParsePrefix("10.77.0.101/32")
	a := scLvskit(l, 0, 200)
	a.TrackFiles = []TrackFile{{Path: faultFile, Interval: 50 * time.Millisecond}}
	b := scLvskit(l, 0, 200)
	b.Name, b.VRID, b.VIPs = "VI_2", 52, []VIP{{Prefix: vip2}}
	b.TrackScripts = []TrackScript{{Name: "ok", Command: []string{"test", "-e", okFile}, Interval: 50 * time.Millisecond, Weight: -150}}
	ka1, ka2 := scKeepalived(100), scKeepalived(100)
	ka2.name, ka2.vrid, ka2.vip = "VI_2", 52, vip2
	startKeepalived(t, l.hosts[1], kaConf("ka", ka1, ka2))
	p := startLvskitGroup(t, l.hosts[0], []Config{a, b})
	both := []int{0, 1}
	l.waitMaster(scVIP.Addr(), 0, both, scTimeout, scHold)
	l.waitMaster(vip2.Addr(), 0, both, scTimeout, scHold)

	// Fault VI_1 through its track file: the group takes VI_2 down too.
	if err := os.WriteFile(faultFile, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l.waitMaster(scVIP.Addr(), 1, both, scTimeout, scHold)
	l.waitMaster(vip2.Addr(), 1, both, scTimeout, scHold)
	p.waitState(t, "VI_1", "FAULT", scTimeout)
	p.waitState(t, "VI_2", "FAULT", scTimeout)
	// Clear it: both come back (lvskit has the higher priority).
	if err := os.WriteFile(faultFile, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l.waitMaster(scVIP.Addr(), 0, both, scTimeout, scHold)
	l.waitMaster(vip2.Addr(), 0, both, scTimeout, scHold)

	// The script fails: VI_2 drops to priority 50, keepalived preempts it,
	// and the group follows with VI_1.
	if err := os.Remove(okFile); err != nil {
		t.Fatal(err)
	}
	l.waitMaster(vip2.Addr(), 1, both, scTimeout, scHold)
	l.waitMaster(scVIP.Addr(), 1, both, scTimeout, 6*scIvl) // VI_1 follows and stays
	p.stop(t)
}

var _ = syscall.SIGKILL
var _ = testenv.CI
