//go:build netns

package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/mdlayher/packet"
)

// extraIfConf is one owner instance advertising on eth0 with a second VIP
// on eth1: garp_extra_if 2 all re-announces that one every 2 s while
// master. The takeover bursts are one message, no second burst, so that
// what follows is garp_extra_if's alone.
const extraIfConf = `global_defs {
    router_id %s
    vrrp_garp_master_repeat 1
    vrrp_garp_master_delay 0
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 61
    priority 255
    advert_int 1
    %s
    virtual_ipaddress {
        10.77.0.100/24 dev eth0
        10.78.0.100/24 dev eth1
    }
}
`

// groupConf is garpConf's pacing with the spacing from a garp_group for
// eth0 (0.1 s) over a global vrrp_garp_interval of 0.5 s.
const groupConf = `global_defs {
    router_id %s
    vrrp_garp_master_repeat 3
    vrrp_garp_master_delay 2
    vrrp_garp_interval 0.5
}

garp_group {
    garp_interval 0.1
    interface eth0
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 61
    priority 255
    advert_int 1
    virtual_ipaddress {
        10.77.0.100/24 dev eth0
    }
}
`

// arpTimes captures on watcher's eth0 the gratuitous ARPs for vip and
// returns their offsets from the first, over window after it.
func arpTimes(t *testing.T, watcher *netns.NS, vip netip.Addr, start func(), window time.Duration) []time.Duration {
	t.Helper()
	var conn *packet.Conn
	err := watcher.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		conn, err = packet.Listen(ifi, packet.Raw, 0x0806, nil) // ETH_P_ARP
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start()
	a := vip.As4()
	var first time.Time
	var out []time.Duration
	buf := make([]byte, 1500)
	deadline := time.Now().Add(30 * time.Second)
	for range 1000 {
		if !first.IsZero() {
			deadline = first.Add(window)
		}
		if err := conn.SetReadDeadline(deadline); err != nil {
			t.Fatal(err)
		}
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			break // the deadline
		}
		now := time.Now()
		f := buf[:n]
		if len(f) < 42 || f[20] != 0 || f[21] != 1 || string(f[28:32]) != string(a[:]) || string(f[38:42]) != string(a[:]) {
			continue
		}
		if first.IsZero() {
			first = now
		}
		out = append(out, now.Sub(first))
	}
	if first.IsZero() {
		t.Fatal("no gratuitous ARP seen")
	}
	return out
}

// compareARPs runs conf (with the router's name and extra filled in)
// through keepalived and lvsrouter on lb, whose eth0 is on one LAN and
// eth1 on another, captures the gratuitous ARPs for vip on the LAN of
// lan ("eth0" or "eth1"), and checks both against want (offsets from the
// first, -30 ms to +60 ms).
func compareARPs(t *testing.T, conf, extra, lan string, vip netip.Addr, window time.Duration, want []time.Duration) {
	self := needKeepalivedPeer(t)
	run := func(name string) []time.Duration {
		sw0, sw1 := netns.NewSwitch(t), netns.NewSwitch(t)
		lb, w0, w1 := netns.New(t), netns.New(t), netns.New(t)
		sw0.Connect(lb, "eth0", netip.MustParsePrefix("10.77.0.1/24"))
		sw1.Connect(lb, "eth1", netip.MustParsePrefix("10.78.0.1/24"))
		sw0.Connect(w0, "eth0", netip.MustParsePrefix("10.77.0.9/24"))
		sw1.Connect(w1, "eth0", netip.MustParsePrefix("10.78.0.9/24"))
		watcher := w0
		if lan == "eth1" {
			watcher = w1
		}
		path := filepath.Join(t.TempDir(), "conf")
		if err := os.WriteFile(path, fmt.Appendf(nil, conf, name, extra), 0o644); err != nil {
			t.Fatal(err)
		}
		var p *netns.Process
		got := arpTimes(t, watcher, vip, func() { p = startPeerConf(t, lb, name, self, path) }, window)
		p.Kill()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.Output())
		}
		return got
	}
	ka := run("keepalived")
	lr := run("lvsrouter")
	t.Logf("keepalived: %v", ka)
	t.Logf("lvsrouter:  %v", lr)
	for _, side := range []struct {
		name string
		got  []time.Duration
	}{{"keepalived", ka}, {"lvsrouter", lr}} {
		if len(side.got) != len(want) {
			t.Errorf("%s: %d gratuitous ARPs %v, want %d", side.name, len(side.got), side.got, len(want))
			continue
		}
		for i, w := range want {
			if d := side.got[i] - w; d < -30*time.Millisecond || d > 60*time.Millisecond {
				t.Errorf("%s: ARP %d at %v, want %v", side.name, i, side.got[i], w)
			}
		}
	}
}

// TestGARPExtraIfLikeKeepalived: garp_extra_if 2 all (and the global
// vrrp_garp_extra_if 2 all) re-announce the VIP on eth1 every 2 s after
// the takeover's, as keepalived does; without "all" (and no VMAC
// interface among the VIPs') nothing follows the takeover's, as with
// keepalived.
func TestGARPExtraIfLikeKeepalived(t *testing.T) {
	vip := netip.MustParseAddr("10.78.0.100")
	every2s := []time.Duration{0, 2 * time.Second, 4 * time.Second, 6 * time.Second}
	t.Run("instance", func(t *testing.T) {
		compareARPs(t, extraIfConf, "garp_extra_if 2 all", "eth1", vip, 7*time.Second, every2s)
	})
	t.Run("global", func(t *testing.T) {
		conf := strings.Replace(extraIfConf, "vrrp_garp_master_delay 0\n", "vrrp_garp_master_delay 0\n    vrrp_garp_extra_if 2 all\n", 1)
		compareARPs(t, conf, "", "eth1", vip, 7*time.Second, every2s)
	})
	t.Run("without all", func(t *testing.T) {
		compareARPs(t, extraIfConf, "garp_extra_if 2", "eth1", vip, 5*time.Second, []time.Duration{0})
	})
	// On the instance's own interface garp_extra_if sends nothing.
	t.Run("own interface", func(t *testing.T) {
		compareARPs(t, extraIfConf, "garp_extra_if 2 all", "eth0", interopVIP, 5*time.Second, []time.Duration{0})
	})
}

// TestGARPGroupLikeKeepalived: a garp_group's garp_interval for eth0
// spaces the takeover's messages there (0.1 s), over the global
// vrrp_garp_interval (0.5 s), as with keepalived.
func TestGARPGroupLikeKeepalived(t *testing.T) {
	conf := strings.Replace(groupConf, "router_id %s", "router_id %s%s", 1)
	compareARPs(t, conf, "", "eth0", interopVIP, 4*time.Second,
		[]time.Duration{0, 100 * time.Millisecond, 2 * time.Second, 2100 * time.Millisecond})
}
