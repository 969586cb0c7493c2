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
	"github.com/vishvananda/netlink"
)

// ownTrackConf is an owner on eth0; %s holds the keywords under test.
const ownTrackConf = `vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 67
    priority 255
    advert_int 1
%s
    virtual_ipaddress {
        10.77.0.100/24 dev eth0
    }
}
`

// ownTrackRun starts name (keepalived or lvsrouter) on ownTrackConf with
// extra in a namespace of its own on a switch, its eth0 holding
// 10.77.0.1/24 and more, waits for it to hold the
// VIP and returns the namespace.
func ownTrackRun(t *testing.T, name, extra string, more ...netip.Prefix) *netns.NS {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sw := netns.NewSwitch(t)
	lb := netns.New(t)
	sw.Connect(lb, "eth0", append([]netip.Prefix{netip.MustParsePrefix("10.77.0.1/24")}, more...)...)
	conf := filepath.Join(t.TempDir(), "conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(ownTrackConf, extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startPeerConf(t, lb, name, self, conf)
	t.Cleanup(func() {
		stopPeer(p)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Output())
		}
	})
	if !waitFor(20*time.Second, func() bool { return hasAddr(lb, interopVIP) }) {
		t.Fatalf("%s did not become master", name)
	}
	return lb
}

// holds tells whether ns still holds the VIP after a few advert intervals.
func holds(ns *netns.NS) bool {
	for range 15 {
		time.Sleep(200 * time.Millisecond)
		if !hasAddr(ns, interopVIP) {
			return false
		}
	}
	return true
}

// TestDontTrackPrimaryLikeKeepalived: by default an instance whose own
// interface goes down goes to FAULT and drops its VIP, and takes it back
// when the link returns; with dont_track_primary it keeps the VIP. Run
// through keepalived and lvsrouter alike.
func TestDontTrackPrimaryLikeKeepalived(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "keepalived")
	for _, name := range []string{"keepalived", "lvsrouter"} {
		t.Run(name, func(t *testing.T) {
			lb := ownTrackRun(t, name, "")
			link := lbLink(t, lb)
			if err := lb.Handle().LinkSetDown(link); err != nil {
				t.Fatal(err)
			}
			if !waitFor(5*time.Second, func() bool { return !hasAddr(lb, interopVIP) }) {
				t.Fatalf("%s kept the VIP with its interface down", name)
			}
			if err := lb.Handle().LinkSetUp(link); err != nil {
				t.Fatal(err)
			}
			if !waitFor(10*time.Second, func() bool { return hasAddr(lb, interopVIP) }) {
				t.Fatalf("%s did not take the VIP back with its interface up", name)
			}

			lb = ownTrackRun(t, name, "    dont_track_primary")
			if err := lb.Handle().LinkSetDown(lbLink(t, lb)); err != nil {
				t.Fatal(err)
			}
			if !holds(lb) {
				t.Fatalf("%s with dont_track_primary dropped the VIP with its interface down", name)
			}
		})
	}
}

// TestTrackSrcIPLikeKeepalived: with track_src_ip, removing the configured
// mcast_src_ip from the interface puts the instance in FAULT (VIP
// removed) and adding it back ends the fault; without track_src_ip the
// instance keeps the VIP.
func TestTrackSrcIPLikeKeepalived(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedTool(t, "keepalived")
	src := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("10.77.0.2").To4(), Mask: net.CIDRMask(24, 32)}}
	for _, name := range []string{"keepalived", "lvsrouter"} {
		t.Run(name, func(t *testing.T) {
			for _, track := range []bool{true, false} {
				extra := "    mcast_src_ip 10.77.0.2"
				if track {
					extra += "\n    track_src_ip"
				}
				lb := ownTrackRun(t, name, extra, netip.MustParsePrefix("10.77.0.2/24"))
				link := lbLink(t, lb)
				if err := lb.Handle().AddrDel(link, src); err != nil {
					t.Fatal(err)
				}
				if !track {
					if !holds(lb) {
						t.Fatalf("%s without track_src_ip dropped the VIP when its source went", name)
					}
					continue
				}
				if !waitFor(5*time.Second, func() bool { return !hasAddr(lb, interopVIP) }) {
					t.Fatalf("%s with track_src_ip kept the VIP with its source address gone", name)
				}
				if err := lb.Handle().AddrAdd(link, src); err != nil {
					t.Fatal(err)
				}
				if !waitFor(10*time.Second, func() bool { return hasAddr(lb, interopVIP) }) {
					t.Fatalf("%s did not take the VIP back with its source address back", name)
				}
			}
		})
	}
}

func lbLink(t *testing.T, ns *netns.NS) netlink.Link {
	t.Helper()
	l, err := ns.Handle().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}
