//go:build netns

package vrrp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// cell is one interop matrix cell.
type cell struct {
	version int
	ipv6    bool
	unicast bool
	pass    string
}

func (c cell) String() string {
	fam := "ipv4"
	if c.ipv6 {
		fam = "ipv6"
	}
	mode := "multicast"
	if c.unicast {
		mode = "unicast"
	}
	auth := "none"
	if c.pass != "" {
		auth = "PASS"
	}
	return fmt.Sprintf("v%d/%s/%s/%s", c.version, fam, mode, auth)
}

// interval is the advertisement interval used for the cell: v2 can only
// do whole seconds, v3 runs 5× faster to keep the tier short.
func (c cell) interval() (time.Duration, string) {
	if c.version == 2 {
		return time.Second, "1"
	}
	return 200 * time.Millisecond, "0.2"
}

// setup builds a two-host LAN (host 0 runs lvskit, host 1 keepalived) and
// returns the configurations for both with the given priorities.
func (c cell) setup(l *lan, lvPrio, kaPrio int) (Config, kaInstance) {
	ivl, adv := c.interval()
	vip := netip.MustParsePrefix("10.77.0.100/32")
	src := []netip.Addr{l.v4(0, 24).Addr(), l.v4(1, 24).Addr()}
	if c.ipv6 {
		vip = netip.MustParsePrefix("fd00:77::100/128")
		src = []netip.Addr{l.ll(0), l.ll(1)}
	}
	lv := Config{Name: "VI_1", Interface: "eth0", VRID: 51, Version: uint8(c.version), Priority: uint8(lvPrio),
		Interval: ivl, VIPs: []VIP{{Prefix: vip}}, Source: src[0], GARP: GARP{Delay: -1}}
	ka := kaInstance{name: "VI_1", version: c.version, vrid: 51, priority: kaPrio, advert: adv, vip: vip, pass: c.pass}
	if c.pass != "" {
		lv.AuthType, lv.AuthPass = AuthSimple, c.pass
	}
	if c.unicast {
		lv.Peers = []netip.Addr{src[1]}
		ka.src, ka.peers = src[1], []netip.Addr{src[0]}
	}
	return lv, ka
}

func matrix() []cell {
	var cs []cell
	for _, u := range []bool{false, true} {
		for _, pass := range []string{"", "s3cr3t"} {
			cs = append(cs, cell{version: 2, unicast: u, pass: pass})
		}
		cs = append(cs, cell{version: 3, unicast: u}, cell{version: 3, ipv6: true, unicast: u})
	}
	return cs
}

// TestInteropMatrix runs every cell of the interop matrix against
// keepalived: lvskit (higher) becomes master, a crash hands over to
// keepalived; lvskit comes back lower, and a keepalived crash hands back.
func TestInteropMatrix(t *testing.T) {
	for _, c := range matrix() {
		t.Run(c.String(), func(t *testing.T) {
			t.Parallel()
			l := newLAN(t, 2)
			ivl, _ := c.interval()
			lv, ka := c.setup(l, 200, 100)
			vip := lv.VIPs[0].Prefix.Addr()
			k := startKeepalived(t, l.hosts[1], kaConf("ka1", ka))
			k.waitVRRPChild(t)
			p := startLvskit(t, l.hosts[0], lv)
			both := []int{0, 1}
			timeout := 10*ivl + 5*time.Second
			hold := 3 * ivl / 2

			// lvskit master, keepalived backup.
			l.waitMaster(vip, 0, both, timeout, hold)
			// Crash lvskit: keepalived takes over.
			p.kill()
			l.waitMaster(vip, 1, []int{1}, timeout, hold)

			// lvskit back at lower priority stays backup.
			lv.Priority = 50
			p = startLvskit(t, l.hosts[0], lv)
			p.waitState(t, "VI_1", "BACKUP", timeout)
			l.waitMaster(vip, 1, both, timeout, hold)
			// Crash keepalived: lvskit takes over.
			k.kill()
			l.waitMaster(vip, 0, []int{0}, timeout, hold)
			p.stop(t)
		})
	}
}
