//go:build netns

package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvskit/lvskit/internal/netns"
	"github.com/lvskit/lvskit/internal/testenv"
	"github.com/mdlayher/packet"
)

// garpConf is one owner instance with keepalived's GARP pacing settings
// away from their defaults: 3 messages 100 ms apart on takeover, the
// second burst 2 s later (keepalived sends two of the three).
const garpConf = `global_defs {
    router_id %s
    vrrp_garp_master_repeat 3
    vrrp_garp_master_delay 2
    vrrp_garp_interval 0.1
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

// garpTimes captures, from a watcher host on the LAN, the gratuitous ARPs
// for the VIP that the router on lb sends, and returns their offsets from
// the first one, over window after it.
func garpTimes(t *testing.T, watcher *netns.NS, start func(), window time.Duration) []time.Duration {
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
	vip := interopVIP.As4()
	var first time.Time
	var out []time.Duration
	buf := make([]byte, 1500)
	deadline := time.Now().Add(30 * time.Second)
	for {
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
		// ARP request (opcode 1) with sender and target address the VIP.
		f := buf[:n]
		if len(f) < 42 || f[20] != 0 || f[21] != 1 || string(f[28:32]) != string(vip[:]) || string(f[38:42]) != string(vip[:]) {
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

// TestGARPPacingLikeKeepalived runs the same configuration through
// keepalived and lvsrouter and compares the gratuitous ARPs a neighbour
// sees on takeover: how many, and when (vrrp_garp_master_repeat,
// vrrp_garp_master_delay, vrrp_garp_interval).
func TestGARPPacingLikeKeepalived(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "keepalived")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := func(name string) []time.Duration {
		sw := netns.NewSwitch(t)
		lb, watcher := netns.New(t), netns.New(t)
		sw.Connect(lb, "eth0", netip.MustParsePrefix("10.77.0.1/24"))
		sw.Connect(watcher, "eth0", netip.MustParsePrefix("10.77.0.9/24"))
		dir := t.TempDir()
		conf := filepath.Join(dir, "conf")
		if err := os.WriteFile(conf, fmt.Appendf(nil, garpConf, name), 0o644); err != nil {
			t.Fatal(err)
		}
		var p *netns.Process
		start := func() {
			if name == "keepalived" {
				p = lb.Start("keepalived", "-n", "-l", "-D", "-G", "-R", "-P", "-f", conf,
					"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
			} else {
				p = lb.StartEnv([]string{"LVSROUTER_AS_MAIN=1"}, self, "-f", conf)
			}
		}
		got := garpTimes(t, watcher, start, 4*time.Second)
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
	// keepalived keeps at most one message per address waiting for
	// vrrp_garp_interval: a burst of 3 is two messages.
	want := []time.Duration{0, 100 * time.Millisecond, 2 * time.Second, 2100 * time.Millisecond}
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
